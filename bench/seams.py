#!/usr/bin/env python
"""Seams and style of tiled renders: exact tiles vs the classic independent tiles.

    python bench/seams.py                       # tubingen + starry_night, 2048 px, 6 tiles
    python bench/seams.py --iterations 300      # the full default schedule (~1 hour on 2 cores)

One coarse-to-fine render (`art.plan.levels.plan`, default schedule for the size)
shares its untiled coarse levels; from the last untiled level on, it is
finished three ways from the same image:

  untiled      the next level painted whole (a reference where it still fits)
  exact        every level from there in exact tiles (the default)
  independent  the same levels in independent tiles, overlaps feathered

and measured:

  SDR, HFR     `art.quality.seams` at every inner tile border of each tiled level
               (and at the same places in the untiled reference)
  style loss   the global style loss of each result, evaluated whole or in
               exact tiles against the same targets

Writes bench/results/seams.json, and PNG crops around one tile corner of the
final level to bench/results/seams-<mode>.png for looking at.
"""

import argparse
import dataclasses
import json
import os
import time

import common  # noqa: F401  (puts the project on sys.path)
import numpy as np

from art.config import PaintConfig
from art.engine import startup
from art.files import images
from art.plan import levels as plans
from art.quality import seams


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--content", default=common.DEFAULT_CONTENT)
    parser.add_argument("--style", default=common.DEFAULT_STYLE)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--tiles", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=100,
                        help="of the coarsest level; the default schedule's quarters follow")
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    args = parser.parse_args()

    startup.quiet_tensorflow()
    from art.engine import render
    from art.engine import tiled
    from art.files import weights as weights_mod
    weights = weights_mod.load(args.weights)
    content = images.load_image(args.content)
    shape = images.target_shape(content.shape[:2], args.size)
    content = images.resize(content, shape)
    style = images.load_image(args.style)
    config = PaintConfig(tiles=args.tiles, iterations=args.iterations, print_every=0)
    levels = plans.plan(shape, config)
    first_tiled = min(lv.index for lv in levels if lv.tiles)
    print("levels:", ", ".join("%dx%d %d it %d tiles" % (lv.shape[1], lv.shape[0], lv.iterations,
                                                          len(lv.tiles or ())) for lv in levels),
          flush=True)

    def paint(levels_, start, mode):
        began = time.time()
        result = render.render(weights, content, [style], dataclasses.replace(config, tile_mode=mode),
                               levels_, init=start)
        print("%s: %s, %.0f s" % (mode, result.status, time.time() - began), flush=True)
        return result.image, time.time() - began

    base, base_seconds = paint(levels[:first_tiled], None, "exact")
    untiled_level = dataclasses.replace(levels[first_tiled], tiles=None)
    results = {"untiled": {first_tiled: paint([untiled_level], base, "exact")[0]}}
    for mode in ("exact", "independent"):
        results[mode] = {}
        start = base
        for lv in levels[first_tiled:]:
            start, _ = paint([dataclasses.replace(lv, index=0)], start, mode)
            results[mode][lv.index] = start

    report = {"date": common.now(), "content": args.content, "iterations": args.iterations,
              "style": args.style,
              "size": [shape[1], shape[0]], "tiles": args.tiles,
              "levels": [{"size": [lv.shape[1], lv.shape[0]], "iterations": lv.iterations,
                          "tiles": len(lv.tiles or ())} for lv in levels],
              "coarse_seconds": base_seconds, "levels_measured": []}
    targets = render.Targets(weights, config, content, [style], plans.tile_size(levels))
    try:
        for lv in levels[first_tiled:]:
            rows, cols = seams.borders(lv.tiles, lv.shape)
            content_t = targets.content_at(lv.shape)
            style_t = targets.style_at(lv.shape)
            with tiled.TiledEvaluator(weights, config, lv.shape, content_t, style_t, lv.tiles,
                                      tile_map=targets.tile_map) as evaluator:
                entry = {"size": [lv.shape[1], lv.shape[0]], "rows": rows, "cols": cols}
                for mode, by_level in results.items():
                    if lv.index not in by_level:
                        continue
                    image = by_level[lv.index]
                    ratios = seams.sdr(image, rows, cols)
                    _, _, terms = evaluator.evaluate(image)
                    entry[mode] = {"sdr": {"%s %d" % k: v for k, v in ratios.items()},
                                   "sdr_mean": float(np.mean(list(ratios.values()))),
                                   "sdr_max": float(np.max(list(ratios.values()))),
                                   "sdr_min": float(np.min(list(ratios.values()))),
                                   "hfr": seams.hfr(image, rows, cols),
                                   "style_loss": terms["style"], "content_loss": terms["content"],
                                   "total_loss": terms["content"] + terms["style"] + terms["tv"]}
                    print("%dx%d %-11s SDR mean %.3f [%.3f, %.3f]  HFR %.3f  style %.4g" % (
                        lv.shape[1], lv.shape[0], mode, entry[mode]["sdr_mean"],
                        entry[mode]["sdr_min"], entry[mode]["sdr_max"], entry[mode]["hfr"],
                        terms["style"]), flush=True)
                report["levels_measured"].append(entry)
    finally:
        targets.close()

    final = levels[-1]
    y, x = seams.borders(final.tiles, final.shape)[0][0], seams.borders(final.tiles, final.shape)[1][0]
    for mode in ("exact", "independent"):
        crop = results[mode][final.index][max(0, y - 256):y + 256, max(0, x - 256):x + 256]
        images.save_image(os.path.join(common.RESULTS, "seams-%s.png" % mode), crop)
    with open(os.path.join(common.RESULTS, "seams.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("wrote bench/results/seams.json and seams-exact.png, seams-independent.png")


if __name__ == "__main__":
    main()
