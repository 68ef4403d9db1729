#!/usr/bin/env python
"""One piece's evaluation in memory: a process's peak RSS beside `levels.piece_bytes`.

    python bench/piece_memory.py                       # 1024 and 2048 px, coarse and fine, both precisions
    python bench/piece_memory.py --sides 2900 --depths fine --precisions bfloat16

Each case runs in a process of its own: the whole picture of SIDE x SIDE px as one piece
(`untiled.WholeEvaluator`) with a coarse level's settings (down to conv5_1) or a finer
level's (`levels.fine_config`), random pictures, its targets made first. The peak is the
process's VmHWM over two evaluations, from its start: what the memory model's
`piece_bytes` (a fixed part and bytes per pixel of the piece) estimates. One JSON line per
case goes to bench/results/piece_memory.jsonl.
"""

import argparse
import json
import os
import subprocess
import sys

import common

RESULTS = os.path.join(common.RESULTS, "piece_memory.jsonl")


def child(side, depth, precision, weights_path):
    from art.engine import startup
    startup.quiet_tensorflow()   # graph mode, as paint.py runs
    import numpy as np
    from art.config import PaintConfig
    from art.engine import terms, untiled
    from art.files import weights as weights_mod
    from art.plan import layers, levels
    config = PaintConfig(precision=precision)
    if depth == "fine":
        config = levels.fine_config(config)
    weights = weights_mod.load(weights_path)
    rng = np.random.default_rng(0)
    content = rng.uniform(0, 255, (side, side, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (512, 512, 3)).astype(np.float32)
    content_t = untiled.content_targets(weights, content, config)
    if config.anchor_weight:
        content_t["anchor"] = terms.anchor_target(content)
    style_t = untiled.style_targets(weights, [style], None, config)
    with untiled.WholeEvaluator(weights, config, (side, side), content_t, style_t) as ev:
        before = common.proc_status("VmRSS")
        ev.evaluate(content)
        ev.evaluate(content)
        peak = common.proc_status("VmHWM")
    names = config.layer_names
    return dict(side=side, pixels=side * side, depth=depth, deepest=layers.deepest(names),
                precision=precision, rss_before=before, peak=peak,
                model=levels.piece_bytes(side * side, names))


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--sides", default="1024,2048")
    parser.add_argument("--depths", default="coarse,fine")
    parser.add_argument("--precisions", default="bfloat16,float32")
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, depth, precision = args.child
        print(json.dumps(child(int(side), depth, precision, args.weights)))
        return
    import peak
    cpu = peak.cpu_info()
    for precision in args.precisions.split(","):
        for depth in args.depths.split(","):
            for side in args.sides.split(","):
                out = subprocess.run([sys.executable, __file__, "--weights", args.weights,
                                      "--child", side, depth, precision],
                                     capture_output=True, text=True, check=True).stdout
                row = dict(json.loads(out.splitlines()[-1]), date=common.now(), cpu=cpu)
                print("%-8s %-6s %5s px (%.2f Mpx, to %s): peak %.2f GB, model %.2f GB (%+.0f%%)" % (
                    precision, depth, side, row["pixels"] / 1e6, row["deepest"], row["peak"] / 1e9,
                    row["model"] / 1e9, 100 * (row["model"] / row["peak"] - 1)), flush=True)
                with open(args.results, "a") as f:
                    f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
