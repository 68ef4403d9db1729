"""The command-line programs, installed as console scripts (setup.py) and run by the
files in scripts/: `art-paint` is `python scripts/paint.py`, the same code.

Each module's `main(argv)` parses, runs and returns the exit status;
`art.commands.cli.run_main` turns errors and Ctrl-C into one line and an exit code.
"""

import contextlib
import importlib
import io
import os
import sys

from art.commands import cli

# Each command imports only its own module: `art-fetch-vgg` need not load the painter.


def paint():
    from art.commands.paint import main
    cli.run_main(main)


def reconstruct():
    from art.commands.reconstruct import main
    cli.run_main(main)


def fetch_vgg():
    from art.commands.fetch_vgg import main
    cli.run_main(main)


def score():
    from art.commands.score import main
    cli.run_main(main)


# The scripts, in the order the flags page lists them.
SCRIPTS = ("paint", "reconstruct", "score", "fetch_vgg")


def flags_page():
    """docs/flags.md: every script's --help, as the parsers print it at 100 columns. The
    help is the one place a flag is described; this page is made from it
    (`python docs/flags.py`), and a test holds the committed page to it."""
    # argparse's layout changes between Python versions: the page says which made it.
    parts = ["# Every flag\n\nMade by `python docs/flags.py` from each script's `--help` "
             "(Python %d.%d); do not edit by hand.\n" % sys.version_info[:2]]
    saved = os.environ.get("COLUMNS"), sys.argv[0]
    os.environ["COLUMNS"] = "100"
    try:
        for name in SCRIPTS:
            sys.argv[0] = name + ".py"      # argparse's program name
            text = io.StringIO()
            with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
                importlib.import_module("art.commands." + name).main(["--help"])
            parts.append("\n## scripts/%s.py\n\n```text\n%s```\n" % (name, text.getvalue()))
    finally:
        if saved[0] is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved[0]
        sys.argv[0] = saved[1]
    return "".join(parts)
