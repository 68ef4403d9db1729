#!/usr/bin/env python
"""See what each layer sees: per-layer style and content reconstructions (Gatys et al., Fig. 1).

    python scripts/reconstruct.py --style painting.jpg --content photo.jpg
    python scripts/reconstruct.py --style painting.jpg --layers single --animate style.gif

Each panel is a painting by the same engine as scripts/paint.py, with only one
loss term on a subset of layers, started from white noise (fixed seed) and run
with L-BFGS. Writes one PNG per panel and sheet.png (inputs first, a row for
style, a row for content) into --out-dir.
"""

import os
import sys

# Run from a checkout without installing: the project root on the path first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from art import cli  # noqa: E402  (the path above must come first)
from art.commands.reconstruct import main  # noqa: E402

if __name__ == "__main__":
    cli.run_main(main)
