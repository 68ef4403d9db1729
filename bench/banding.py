#!/usr/bin/env python
"""Banding in a smooth region of a 16-bit render, against the same picture in 8 bits.

    python bench/banding.py render16.png --box X Y W H
    python bench/banding.py render16.png --smoothest 256   # the box most prone to banding

Reads a 16-bit PNG that `scripts/paint.py --bit-depth 16` wrote, and over the box
(a sky, say) compares it with its own rounding to 8 bits, which is what
`--bit-depth 8` writes of the same painting:

* distinct levels per channel (on the 16-bit scale);
* the mean run length of equal values along a row, in pixels: where a gradient
  is smoother than one 8-bit level per pixel, 8 bits turn it into flat bands this
  wide, with a one-level step between them, which is what a print shows as banding.

One JSON line goes to bench/results/banding.jsonl.
"""

import argparse
import json
import os

import numpy as np

import common

RESULTS = os.path.join(common.RESULTS, "banding.jsonl")


def read_png16(path):
    import png
    width, height, rows, info = png.Reader(filename=path).asDirect()
    if info["bitdepth"] != 16:
        raise SystemExit("%s is %d-bit; paint it with --bit-depth 16" % (path, info["bitdepth"]))
    return np.array([np.asarray(row, np.uint16) for row in rows]).reshape(height, width, -1)


def mean_run(channel):
    """Mean length of the runs of equal values along the rows of a 2-D array."""
    changes = (np.diff(channel.astype(np.int64), axis=1) != 0).sum()
    return channel.size / (changes + channel.shape[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("png16")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--box", nargs=4, type=int, metavar=("X", "Y", "W", "H"))
    where.add_argument("--smoothest", type=int, metavar="SIDE",
                       help="search the picture's SIDE x SIDE boxes (on a grid of SIDE/2) for "
                            "the one whose 8-bit rounding has the longest flat runs")
    parser.add_argument("--results", default=RESULTS)
    args = parser.parse_args()
    picture = read_png16(args.png16)[..., :3]
    if args.smoothest:
        side, step = args.smoothest, args.smoothest // 2
        boxes = [(x, y) for y in range(0, picture.shape[0] - side + 1, step)
                 for x in range(0, picture.shape[1] - side + 1, step)]
        x, y = max(boxes, key=lambda b: np.mean([mean_run(np.rint(
            picture[b[1]:b[1] + side, b[0]:b[0] + side, c] / 257.0)) for c in range(3)]))
        args.box = [x, y, side, side]
    x, y, w, h = args.box
    sixteen = picture[y:y + h, x:x + w]
    # What --bit-depth 8 writes of the same float picture v: the 16-bit file holds
    # round(257 v), so round(value / 257) is round(v), the 8-bit level, to within the
    # 1/514 of a level where the two roundings can disagree.
    eight = np.rint(sixteen / 257.0).astype(np.uint16) * 257
    row = dict(date=common.now(), picture=os.path.abspath(args.png16), box=args.box,
               levels_16=[int(len(np.unique(sixteen[..., c]))) for c in range(3)],
               levels_8=[int(len(np.unique(eight[..., c]))) for c in range(3)],
               run_16=[round(float(mean_run(sixteen[..., c])), 2) for c in range(3)],
               run_8=[round(float(mean_run(eight[..., c])), 2) for c in range(3)])
    print("box %dx%d at (%d, %d): distinct levels R/G/B 16-bit %s, 8-bit %s; mean flat run "
          "along a row 16-bit %s px, 8-bit %s px" % (w, h, x, y, row["levels_16"],
                                                     row["levels_8"], row["run_16"], row["run_8"]))
    with open(args.results, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
