#!/usr/bin/env python
"""What exact tiling costs: seconds per evaluation and peak memory, whole vs in tiles.

    python bench/tile_cost.py                                # 1536 px, whole and tiles of 1024/768/512
    python bench/tile_cost.py --size 1536 --tile-sizes 768 --repeats 3
    python bench/tile_cost.py --whole 1240x1440               # one piece of that size (a 4K tile)

Every case runs in its own subprocess, so its peak RSS (ru_maxrss) is its own:
TensorFlow, the weights, the targets and one evaluator (`art.engine.untiled.WholeEvaluator`
or `art.engine.tiled.TiledEvaluator`, the default PaintConfig's layers). The time is
the median of --repeats evaluations after one warm-up. Tiles cost extra
compute (each tile runs its margin too, and the Gram pass runs the network
forward once more), and save memory.

Appends one JSON line per run to bench/results/tile_cost.jsonl.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import common
import numpy as np


def child(args):
    from art.engine import startup
    from art.files import images
    from art.plan.levels import one_piece, target_shape
    from art.plan import tiling
    startup.quiet_tensorflow()
    from art.engine import render
    from art.engine import untiled
    from art.engine import tiled
    from art.files import weights as weights_mod
    from art.config import PaintConfig
    weights = weights_mod.load(args.weights)
    config = PaintConfig()
    if args.whole:
        w, h = map(int, args.whole.split("x"))
        shape = (h, w)
        content = images.cover(images.load_image(args.content), shape)
    else:
        content = images.load_image(args.content)
        shape = target_shape(content.shape[:2], args.size)
        content = images.resize(content, shape)
    style = images.load_image(args.style)
    tiles = tiling.tiles_for(shape, tile_size=args.tile_size, names=["conv4_2", "conv5_1"]) \
        if args.tile_size else None
    targets = render.Targets(weights, config, content, [style], args.tile_size or None)
    # The targets as a render's one level of this size has them.
    level = one_piece(shape, config)[0]
    content_t = targets.content_at(level)
    style_t = targets.style_at(level)
    if tiles:
        evaluator = tiled.TiledEvaluator(weights, config, shape, content_t, style_t, tiles,
                                         tile_map=targets.tile_map)
    else:
        evaluator = untiled.WholeEvaluator(weights, config, shape, content_t, style_t)
    x = content + np.random.default_rng(0).normal(0, 8, content.shape).astype(np.float32)
    evaluator.evaluate(x)
    times = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        evaluator.evaluate(x)
        times.append(time.perf_counter() - began)
    print(json.dumps({"shape": list(shape), "tile_size": args.tile_size,
                      "tiles": len(tiles) if tiles else 0,
                      "largest_piece": max((t.outer_shape for t in tiles),
                                           key=lambda s: s[0] * s[1]) if tiles else list(shape),
                      "seconds": float(np.median(times)), "all_seconds": times,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--content", default=common.DEFAULT_CONTENT)
    parser.add_argument("--style", default=common.DEFAULT_STYLE)
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    parser.add_argument("--size", type=int, default=1536)
    parser.add_argument("--tile-sizes", type=int, nargs="*", default=[1024, 768, 512])
    parser.add_argument("--whole", help="one piece of WxH instead (e.g. the largest tile of a render)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tile-size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    from peak import cpu_info
    cases = [0] if args.whole else [0] + list(args.tile_sizes)
    rows = []
    for tile_size in cases:
        cmd = [sys.executable, __file__, "--child", "--content", args.content, "--style", args.style,
               "--weights", args.weights, "--size", str(args.size), "--repeats", str(args.repeats),
               "--tile-size", str(tile_size)] + (["--whole", args.whole] if args.whole else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        base = rows[0]["seconds"]
        print("%dx%d  %-14s largest piece %5dx%-5d  %6.2f s/evaluation (x%.2f)  peak %.2f GB" % (
            row["shape"][1], row["shape"][0],
            "%d tiles of %d" % (row["tiles"], tile_size) if tile_size else "whole",
            row["largest_piece"][1], row["largest_piece"][0], row["seconds"], row["seconds"] / base,
            row["peak_rss_bytes"] / 1e9), flush=True)
    with open(os.path.join(common.RESULTS, "tile_cost.jsonl"), "a") as f:
        f.write(json.dumps({"date": common.now(), "cpu": cpu_info(), "repeats": args.repeats,
                            "rows": rows}) + "\n")


if __name__ == "__main__":
    main()
