#!/usr/bin/env python
"""Paint the README's gallery: photos of clear licence in the style of public-domain paintings.

    python docs/gallery.py                # all of it, into docs/gallery-*.jpg
    python docs/gallery.py --only cat     # one picture

The photos come from the scikit-image wheel on the package index (downloaded once into
--cache; the project keeps none of them): Eileen Collins (NASA, public domain), Chelsea
the cat (CC0, Stefan van der Walt), a SpaceX launch (public domain), and the project's own
coffee (CC0). The paintings are read from ../shared/images, beside the project, and are
not committed either: only the small renders are.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "images")
WHEEL = "scikit-image==0.26.0"

# name: (photo, where it comes from, painting in ../shared/images)
PICTURES = {
    "coffee": ("examples/coffee.png", None, "starry_night.jpg"),
    "astronaut": ("astronaut.png", "skimage/data/astronaut.png", "hokusai_great_wave.jpg"),
    "cat": ("chelsea.png", "skimage/data/chelsea.png", "the_scream.jpg"),
    "rocket": ("rocket.jpg", "skimage/data/rocket.jpg", "shipwreck.jpg"),
}


def photo(name, cache):
    path, member, _ = PICTURES[name]
    if member is None:
        return os.path.join(ROOT, path)
    target = os.path.join(cache, path)
    if not os.path.exists(target):
        wheels = [f for f in os.listdir(cache) if f.startswith("scikit_image")]
        if not wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL,
                            "-d", cache], check=True)
            wheels = [f for f in os.listdir(cache) if f.startswith("scikit_image")]
        with zipfile.ZipFile(os.path.join(cache, wheels[0])) as wheel:
            with open(target, "wb") as f:
                f.write(wheel.read(member))
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(PICTURES), default=sorted(PICTURES))
    parser.add_argument("--size", default="512")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "art-gallery"))
    parser.add_argument("--flags", default="", help="more paint.py flags for every picture")
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    for name in args.only:
        painting = os.path.join(SHARED, PICTURES[name][2])
        painted = os.path.join(args.cache, "gallery-%s.png" % name)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "paint.py"),
                        "--content", photo(name, args.cache), "--style", painting,
                        "--size", args.size, "--out", painted, "--print-every", "100"]
                       + args.flags.split(), check=True)
        # Small for the README: quality 85 (paint.py writes 95 with full-size colour).
        with Image.open(painted) as im:
            im.convert("RGB").save(os.path.join(ROOT, "docs", "gallery-%s.jpg" % name), quality=85)


if __name__ == "__main__":
    main()
