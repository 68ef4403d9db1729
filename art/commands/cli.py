"""What every entry point shares: flags derived from a dataclass, one-line errors and exit
statuses, signals that end a run as Ctrl-C does."""

import argparse
import dataclasses
import os
import signal
import sys

from art.config import format_layer_weights
from art.errors import ArtError, Interrupted


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except where there is none to show (unset paths, off switches)."""

    def _get_help_string(self, action):
        if any(action.default is nothing for nothing in (None, False, argparse.SUPPRESS)):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """Bad flags get one line, like every other bad input, not argparse's usage block."""

    def error(self, message):
        print("error: %s (see --help)" % message, file=sys.stderr)
        sys.exit(2)


def parser_from_dataclass(cls, description):
    """An ArgumentParser with one --flag per field of `cls`, from the field's metadata."""
    parser = Parser(description=description, formatter_class=_HelpFormatter)
    defaults = cls()
    for field in dataclasses.fields(cls):
        meta = dict(field.metadata)
        if not meta.pop("cli", True):
            continue
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        if field.type is bool or field.type == "bool":
            parser.add_argument(flag, action="store_true", help=meta.pop("help"))
            continue
        if "type" not in meta and "nargs" not in meta and default is not None:
            meta["type"] = type(default)
            if "choices" not in meta:
                meta.setdefault("metavar", {int: "N", float: "X", str: "TEXT"}[type(default)])
        if isinstance(default, dict):
            meta["help"] += " (default: %s)" % format_layer_weights(default)
            parser.add_argument(flag, default=argparse.SUPPRESS, **meta)
        else:
            parser.add_argument(flag, default=default, **meta)
    return parser


def config_from_args(cls, args):
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**given)


def format_seconds(seconds):
    """1:05 or 1:02:05, for progress lines."""
    seconds = int(round(seconds))
    return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60) if seconds >= 3600 \
        else "%d:%02d" % (seconds // 60, seconds % 60)


# What docker stop, a job scheduler and a closing terminal send.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _on_signal(signum, frame):
    # One is enough: a second SIGTERM (a scheduler repeating itself) must not cut
    # short the checkpoint the first one is writing.
    for other in STOP_SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


def handle_signals():
    """Make SIGTERM and SIGHUP end a run as Ctrl-C does (`art.errors.Interrupted`)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)


def exit_status(signum=None):
    """128 + the signal's number: 130 for Ctrl-C (None), 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + (signum or signal.SIGINT)


def run_main(main, argv=None):
    """Call main(argv) (None: the command line's arguments) and exit with its status; an
    ArtError becomes 'error: ...' on stderr and exit status 2, Ctrl-C 130 (SIGTERM 143,
    SIGHUP 129), anything else one line and status 1."""
    handle_signals()
    try:
        status = main(argv)
    except ArtError as e:
        print("error: %s" % e, file=sys.stderr)
        status = 2
    except KeyboardInterrupt as e:
        # Outside the optimiser (which keeps its own last image), there is
        # nothing half-done worth keeping: outputs are only ever renamed in whole.
        print(str(e) if isinstance(e, Interrupted) else "interrupted", file=sys.stderr)
        status = exit_status(getattr(e, "signum", None))
    except MemoryError:
        print("error: out of memory; choose a smaller --size, or more --tiles", file=sys.stderr)
        status = 2
    except Exception as e:      # noqa: BLE001 -- a bug in art: one line, unless asked
        if os.environ.get("ART_TRACEBACK"):
            raise
        print("error: internal error, %s: %s (a bug in art; ART_TRACEBACK=1 shows where)"
              % (type(e).__name__, " ".join(str(e).split())), file=sys.stderr)
        status = 1
    sys.exit(status or 0)
