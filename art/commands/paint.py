"""Paint a photo in the style of one or more artworks.

    python scripts/paint.py                      # the built-in example
    python scripts/paint.py --content photo.jpg --style painting.jpg --size 800 --out out.png
"""

import sys
import time

from art.commands import cli
from art.commands.painting import Painting
from art.config import PaintConfig


def say(line):
    print(line, flush=True)


def format_losses(losses):
    """The total, then every term's (the breakdown's names without a layer), as painted."""
    names = ["total"] + [k for k in losses if "/" not in k and k not in ("total", "level")]
    return "  ".join("%s %.4g" % (k, losses[k]) for k in names if k in losses)


class ProgressLines:
    """A line every --print-every iterations, and at least once a minute: an iteration of
    a print's last level can take longer than that."""

    def __init__(self, config, painting):
        self.every, self.painting = config.print_every, painting
        self.printed = time.time()

    def __call__(self, p):
        now = time.time()
        if not self.every or not (p.iteration % self.every == 0 or p.iteration in (1, p.iterations)
                                  or now - self.printed >= 60):
            return
        self.printed = now
        where = "level %d/%d %dx%d  " % (p.level, p.levels, p.shape[1], p.shape[0]) \
            if p.levels > 1 else ""
        if p.tile:
            where += "tile %d/%d  " % (p.tile, p.tiles)
        live = ""
        if self.painting.cluster is not None:
            count = self.painting.cluster.live()
            live = "  %s worker%s" % ("?" if count is None else count, "s"[:count != 1])
        left, rate = p.seconds_left, p.seconds_per_iteration
        # A print's finest levels take hours: the level's own time left, then the render's.
        level_left = "" if p.levels == 1 else "%s left of the level, " % (
            "?" if p.level_left is None else cli.format_seconds(p.level_left))
        say("%siteration %d/%d  %s  %s s/it%s  %s%s left" % (
            where, p.iteration, p.iterations, format_losses(p.losses),
            "?" if rate is None else "%.2f" % rate, live, level_left,
            "?" if left is None else cli.format_seconds(left)))


def main(argv=None):
    parser = cli.parser_from_dataclass(PaintConfig, __doc__.strip().splitlines()[0])
    config = cli.config_from_args(PaintConfig, parser.parse_args(argv))
    # Everything cheap is checked here (settings, images, plan, output paths), before
    # the weights are fetched or TensorFlow is imported.
    painting = Painting(config, say=say)
    with painting:
        painting.prepare()
        outcome = painting.run(progress=ProgressLines(config, painting))
    print(outcome.line, file=sys.stderr if outcome.code else sys.stdout)
    return outcome.code
