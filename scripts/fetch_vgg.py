#!/usr/bin/env python
"""Put VGG19 weights where the painter looks for them (vgg/vgg19.npz by default).

The code, and its usage, is art/commands/fetch_vgg.py; `art-fetch-vgg` runs it too.
"""

import os
import sys

# Run from a checkout without installing: the project root on the path first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from art.commands import cli  # noqa: E402  (the path above must come first)
from art.commands.fetch_vgg import main  # noqa: E402

if __name__ == "__main__":
    cli.run_main(main)
