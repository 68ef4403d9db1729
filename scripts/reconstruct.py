#!/usr/bin/env python
"""See what each layer sees: per-layer style and content reconstructions (Gatys et al., Fig. 1).

The code, and its usage, is art/commands/reconstruct.py; `art-reconstruct` runs it too.
"""

import os
import sys

# Run from a checkout without installing: the project root on the path first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from art.commands import cli  # noqa: E402  (the path above must come first)
from art.commands.reconstruct import main  # noqa: E402

if __name__ == "__main__":
    cli.run_main(main)
