"""What the benchmarks share: the project on sys.path, default inputs, result files.

Benchmarks are scripts, not tests: they do not run in CI. Import this module
first; it puts the project root on sys.path and does nothing else.
"""

import datetime
import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# The shared test images live beside the project and are read in place, never copied.
SHARED_IMAGES = os.path.join(os.path.dirname(ROOT), "shared", "images")
DEFAULT_CONTENT = os.path.join(SHARED_IMAGES, "tubingen.jpg")
DEFAULT_STYLE = os.path.join(SHARED_IMAGES, "starry_night.jpg")
DEFAULT_WEIGHTS = os.path.join(ROOT, "vgg", "vgg19.npz")
RESULTS = os.path.join(BENCH, "results")


def now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def load_pair(content_path, style_path, size, square=False):
    """Content resized to `size` (long side, or size x size if `square`), style to the same long side.

    This is what scripts/paint.py does with --size N --style-scale 1.
    """
    from art import images
    content = images.load_image(content_path)
    shape = (size, size) if square else images.target_shape(content.shape[:2], size)
    content = images.resize(content, shape)
    style = images.load_image(style_path)
    style = images.fit(style, max(shape))
    return content, style
