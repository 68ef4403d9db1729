#!/usr/bin/env python
"""A print's finer level alone, from a finished coarser one: what its settings buy, by the yardstick.

    python bench/fine_level.py --coarse level-1-512x384.png --size 1024 --iterations 100 \\
        --flags "--fine-layers conv3_1 --fine-anchor-weight 100 --fine-tv-weight 0"

Paints the last level of `scripts/paint.py --size N --schedule C,ITERATIONS` with
paint.py's FLAGS, starting from --coarse upsampled (as a render resumed at that
level does), and scores the iterate every --score-every iterations with the
pyramid yardstick (art/quality/yardstick.py), outside the timed painting. One JSON line
per run goes to bench/results/fine_level.jsonl: settings, seconds and evaluations
at each scored iterate, and its score (every L_k, their sum, the fine style terms,
detail against --reference when given).
"""

import argparse
import contextlib
import json
import os
import time

import common

RESULTS = os.path.join(common.RESULTS, "fine_level.jsonl")


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--coarse", required=True, help="the finished coarser level's picture")
    parser.add_argument("--content", default=common.DEFAULT_CONTENT)
    parser.add_argument("--style", default=common.DEFAULT_STYLE)
    parser.add_argument("--size", default="1024",
                        help="as paint.py's: a long side, WxH or a preset (4k: the photo's "
                             "centre, cropped to 16:9)")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--flags", default="", help="paint.py flags for the level")
    parser.add_argument("--pairs", type=int,
                        help="L-BFGS history pairs (default: paint.py's, art.plan.levels.MAXCOR)")
    parser.add_argument("--score-every", type=int, default=20)
    parser.add_argument("--reference", help="a picture of --size to compare detail with")
    parser.add_argument("--detail-only", action="store_true",
                        help="score only the detail (no network: for prints, where the pyramid "
                             "takes minutes an iterate)")
    parser.add_argument("--out", help="write the level's picture here")
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    parser.add_argument("--results", default=RESULTS)
    args = parser.parse_args()

    from art.engine import startup
    startup.quiet_tensorflow()
    import numpy as np
    import time_to_quality
    from art.files import images
    from art.plan.levels import target_shape
    from art.plan import levels as plans
    from art.engine import render
    from art.engine import state as states
    from art.quality import seams
    from art.files import weights as weights_mod
    from art.quality import yardstick
    if args.pairs:
        # The optimiser is made in art.engine.render with the MAXCOR it imported.
        render.MAXCOR = args.pairs
    weights = weights_mod.load(args.weights)
    size = images.parse_size(args.size)
    photo = images.load_image(args.content)
    # An exact size is filled by the photo's centre, as paint.py fills it. The style
    # goes in as read: the level scales it (art.plan.levels.style_shape), as paint.py's does.
    content = images.cover(photo, (size[1], size[0])) if isinstance(size, tuple) else \
        images.resize(photo, target_shape(photo.shape[:2], size))
    style = images.load_image(args.style)
    config = time_to_quality.art_config(args.flags + " --schedule 1,%d" % args.iterations)
    plan = plans.plan(content.shape[:2], config)
    level = plan[-1]
    # The level's start as a render makes it from the coarser level's picture.
    coarse = images.resize(images.load_image(args.coarse), plan[0].picture)
    state = states.state_after(plan, 0, coarse)
    start = states.picture(state.start, level)
    kept = []
    began = time.perf_counter()

    def keep(progress):
        if progress.iteration % args.score_every == 0 or progress.iteration == level.iterations:
            kept.append((progress.iteration, time.perf_counter() - began, progress.evaluations,
                         np.array(progress.image(), np.float32)))

    result = common.render_with(weights, content, [style], plan, progress=keep,
                           state=state)
    seconds = time.perf_counter() - began
    reference = seams.detail(images.load_image(args.reference)) if args.reference else None
    curve = []
    if args.detail_only:
        for iteration, at, evaluations, image in [(0, 0.0, 0, start)] + kept:
            detail = seams.detail(image)
            curve.append(dict(iteration=iteration, seconds=at, evaluations=evaluations,
                              detail=detail / reference if reference else detail))
            print("it %4d  %6.1f s  detail %.4g" % (iteration, at, curve[-1]["detail"]), flush=True)
    with contextlib.nullcontext() if args.detail_only else yardstick.Yardstick(
            weights, content, [style], level.picture) as stick:
        for iteration, at, evaluations, image in [] if args.detail_only else \
                [(0, 0.0, 0, start)] + kept:
            score = stick.score(image)
            row = dict(iteration=iteration, seconds=at, evaluations=evaluations, sum=score.sum,
                       scales=[s["total"] for s in score.scales], fine=score.fine,
                       detail=score.detail / reference if reference else score.detail,
                       native=score.native, detail_painting=score.detail_ratio,
                       mesh=score.mesh, mesh_at=score.mesh_at,
                       style0={k: v for k, v in score.scales[0].items() if k.startswith("style/")},
                       content0=score.scales[0]["content"])
            curve.append(row)
            print("it %4d  %6.1f s  L %s  sum %.4g  fine %.4g  detail %.3f  native %.4g  "
                  "detail/painting %.3f  mesh %.1f" % (
                      iteration, at, " ".join("%.4g" % v for v in row["scales"]), row["sum"],
                      row["fine"], row["detail"], row["native"], row["detail_painting"],
                      row["mesh"]), flush=True)
    if args.out:
        images.save_image(args.out, result.image)
    line = dict(date=common.now(), coarse=args.coarse, size=list(level.shape),
                flags=args.flags, pairs=render.MAXCOR, iterations=result.iterations,
                evaluations=result.evaluations,
                seconds=seconds, curve=curve, out=args.out)
    with open(args.results, "a") as f:
        f.write(json.dumps(line) + "\n")
    print("%s: %d iterations, %d evaluations, %.0f s" % (args.flags or "(defaults)",
                                                        result.iterations, result.evaluations,
                                                        seconds))


if __name__ == "__main__":
    main()
