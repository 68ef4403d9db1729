#!/usr/bin/env python
"""Score pictures with the quality yardstick: the loss at every scale of a pyramid.

    python scripts/score.py out.png --content photo.jpg --style painting.jpg
    python scripts/score.py ours.png theirs.png --content photo.jpg --style painting.jpg \\
        --reference classic.png --report score.json

Any picture can be scored (this tool's, the classic method's, another tool's): the
weights are fixed, whatever it was painted with (see art/yardstick.py). Lower is
better at every scale. `detail` is each picture's fine detail relative to the
--reference picture's (the first picture's without one), resized to its size.
"""

import os
import sys

# Run from a checkout without installing: the project root on the path first.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from art import cli  # noqa: E402  (the path above must come first)
from art.commands.score import main  # noqa: E402

if __name__ == "__main__":
    cli.run_main(main)
