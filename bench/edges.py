#!/usr/bin/env python
"""The border of a painting: mean luminance and the style loss's pull, by distance from the edge.

    python bench/edges.py --size 384 --paddings zero reflect replicate --edge-margins 0 8

Paints each pair with `scripts/paint.py`'s defaults, each --padding and each
--edge-margin, then
measures, for the photo and for the painting, at every distance d = 0..32 px
from the nearest edge (the ring of pixels d px in):

* the mean luminance (Rec. 601, 0-255);
* the mean magnitude of the style loss's gradient (the style term alone, with
  the render's own padding), the force that paints the border.

The edge offset at d is how much the painting's luminance minus the photo's
differs at d from its median over the inner rings (8..32 px): 0 means the
painting keeps the photo's own border profile; noise is the standard deviation
of that difference over the inner rings. One JSON line per render goes to
bench/results/edges.jsonl; the pictures stay in --out-dir.
"""

import argparse
import itertools
import json
import os
import subprocess
import sys
import time

import common
import peak

RESULTS = os.path.join(common.RESULTS, "edges.jsonl")
PAIRS = ("tubingen:starry_night", "golden_gate:hokusai_great_wave", "hoovertowernight:the_scream")
DEPTH = 32
INNER = slice(8, DEPTH + 1)


def ring_means(values):
    """Mean of `values` (H x W) over the pixels d px from the nearest edge, d = 0..DEPTH."""
    import numpy as np
    h, w = values.shape
    y, x = np.mgrid[:h, :w]
    distance = np.minimum(np.minimum(y, h - 1 - y), np.minimum(x, w - 1 - x))
    return [float(values[distance == d].mean()) for d in range(DEPTH + 1)]


def luminance(rgb):
    return rgb[..., :3].astype("float64") @ [0.299, 0.587, 0.114]


def style_pull(weights, pictures, style, padding):
    """|d style loss / d pixel| (L2 over the channels) of each of `pictures` (one size),
    the style term alone: one set of targets and one graph for all of them."""
    import dataclasses
    import numpy as np
    from art.engine import untiled
    from art.config import PaintConfig
    config = dataclasses.replace(PaintConfig(), content_layers={}, tv_weight=0.0,
                                 padding=padding)
    style_t = untiled.style_targets(weights, [style], None, config)
    with untiled.WholeEvaluator(weights, config, pictures[0].shape[:2], {}, style_t) as evaluator:
        grads = [evaluator.evaluate(picture.astype(np.float32))[1] for picture in pictures]
    return [np.sqrt((grad.astype(np.float64) ** 2).sum(axis=-1)) for grad in grads]


def offsets(painting, photo):
    import numpy as np
    difference = np.subtract(painting, photo)
    inner = difference[INNER]
    return [float(v) for v in difference - np.median(inner)], float(np.std(inner))


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=PAIRS, metavar="PHOTO:PAINTING",
                        help="names in ../shared/images, without .jpg")
    parser.add_argument("--paddings", nargs="+", default=("zero", "reflect", "replicate"))
    parser.add_argument("--edge-margins", nargs="+", type=int, default=(0, 8), metavar="PX")
    parser.add_argument("--size", default="384")
    parser.add_argument("--flags", default="", help="more paint.py flags, the same for every render")
    parser.add_argument("--out-dir", default="/tmp/edges")
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    parser.add_argument("--results", default=RESULTS)
    args = parser.parse_args()

    from art.engine import startup
    startup.quiet_tensorflow()
    import numpy as np
    from art.files import images
    from art.files import weights as weights_mod
    weights = weights_mod.load(args.weights)
    os.makedirs(args.out_dir, exist_ok=True)
    for pair in args.pairs:
        photo_name, painting_name = pair.split(":")
        photo_path = os.path.join(common.SHARED_IMAGES, photo_name + ".jpg")
        style_path = os.path.join(common.SHARED_IMAGES, painting_name + ".jpg")
        for padding, margin in itertools.product(args.paddings, args.edge_margins):
            out = os.path.join(args.out_dir, "%s-%s-%s-m%d.png" % (photo_name, painting_name,
                                                                   padding, margin))
            command = [sys.executable, os.path.join(common.ROOT, "scripts", "paint.py"),
                       "--content", photo_path, "--style", style_path, "--size", args.size,
                       "--padding", padding, "--edge-margin", str(margin), "--out", out,
                       "--print-every", "0", "--weights", args.weights] + args.flags.split()
            start = time.perf_counter()
            subprocess.run(command, check=True)
            seconds = time.perf_counter() - start
            painting = images.load_image(out)
            photo = images.resize(images.load_image(photo_path), painting.shape[:2])
            style = images.fit(images.load_image(style_path), max(painting.shape[:2]))
            lum_photo, lum_painting = ring_means(luminance(photo)), ring_means(luminance(painting))
            pull_photo, pull_painting = (ring_means(pull) for pull in
                                         style_pull(weights, [photo, painting], style, padding))
            edge, noise = offsets(lum_painting, lum_photo)
            row = dict(date=common.now(), command=" ".join(command[1:]), cpu=peak.cpu_info(),
                       pair=pair, padding=padding, edge_margin=margin,
                       shape=list(painting.shape[:2]),
                       seconds=round(seconds, 1), edge_offset=edge, noise=noise,
                       luminance_photo=lum_photo, luminance_painting=lum_painting,
                       pull_photo=pull_photo, pull_painting=pull_painting)
            print("%-34s %-9s margin %2d  offset at 0/1/2/4 px %+6.1f %+6.1f %+6.1f %+6.1f (noise %.1f); "
                  "pull at 0 px / inner: photo %.2f, painting %.2f"
                  % (pair, padding, margin, edge[0], edge[1], edge[2], edge[4], noise,
                     pull_photo[0] / np.median(pull_photo[INNER]),
                     pull_painting[0] / np.median(pull_painting[INNER])), flush=True)
            with open(args.results, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
