#!/usr/bin/env python
"""The README's edge figure: one corner of the photo and of each painting, at 300%.

    python docs/edges_figure.py --photo examples/coffee.png --out docs/edges.jpg \\
        zero.png reflect.png default.png

Each picture's top-left corner (--crop W H px) is scaled 3x with nearest-neighbour
(every pixel a 3x3 block, so a band one pixel wide stays one block wide), and the
strips are stacked, the photo's first.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from art.files import images  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("paintings", nargs="+")
    parser.add_argument("--photo", required=True)
    parser.add_argument("--crop", nargs=2, type=int, default=(160, 48), metavar=("W", "H"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    w, h = args.crop
    paintings = [images.load_image(path) for path in args.paintings]
    photo = images.resize(images.load_image(args.photo), paintings[0].shape[:2])
    gap = np.full((6, 3 * w, 3), 255, np.uint8)
    strips = []
    for picture in [photo] + paintings:
        corner = images.to_uint8(picture[:h, :w])
        strips += [np.asarray(Image.fromarray(corner).resize((3 * w, 3 * h), Image.NEAREST)), gap]
    Image.fromarray(np.concatenate(strips[:-1])).save(args.out, quality=92)


if __name__ == "__main__":
    main()
