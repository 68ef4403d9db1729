"""Write docs/flags.md from the scripts' --help (the one place a flag is described)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from art.commands import flags_page  # noqa: E402  (the path above must come first)

if __name__ == "__main__":
    with open(os.path.join(ROOT, "docs", "flags.md"), "w") as f:
        f.write(flags_page())
