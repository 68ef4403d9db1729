"""The command-line programs, installed as console scripts (setup.py) and run by the
files in scripts/: `art-paint` is `python scripts/paint.py`, the same code.

Each module's `main(argv)` parses, runs and returns the exit status;
`art.commands.cli.run_main` turns errors and Ctrl-C into one line and an exit code.
"""

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
