"""See what each layer sees: per-layer style and content reconstructions (Gatys et al., Fig. 1).

    python scripts/reconstruct.py --style painting.jpg --content photo.jpg
    python scripts/reconstruct.py --style painting.jpg --layers single --animate style.gif

Each panel is a painting by the same engine as scripts/paint.py, with only one
loss term on a subset of layers, started from white noise (fixed seed) and run
with L-BFGS. Writes one PNG per panel and sheet.png (inputs first, a row for
style, a row for content) into --out-dir.
"""

import argparse
import dataclasses
import os
import sys
import time

from art.commands import cli, painting, sheet
from art.config import option, PaintConfig
from art.engine import startup
from art.errors import ArtError
from art.files import animate, atomic, fetch, images, weights as weights_mod
from art.plan import levels
from art.plan.layers import PADDINGS

EPILOG = """\
--layers:
  paper       style: conv1_1; +conv2_1; +conv3_1; +conv4_1; +conv5_1 (cumulative)
              content: conv1_2, conv2_2, conv3_2, conv4_2, conv5_2 (one each)
  single      style: conv1_1, conv2_1, conv3_1, conv4_1, conv5_1 (one each);
              content as in paper
  cumulative  both rows cumulative
  "A;B,C;..." explicit subsets, one panel each, used for every row asked for;
              layers weigh equally unless written name=weight
              e.g. --layers "conv1_1;conv1_1,conv2_1;conv3_1=1,conv4_1=2"

Outputs in --out-dir: style_<layers>.png, content_<layers>.png, sheet.png.
Ctrl-C stops cleanly: the panels finished so far and their sheet are kept.
"""


@dataclasses.dataclass
class ReconstructConfig:
    style: str = option(None, "style image: reconstruct its style (Gram matrices) from noise")
    content: str = option(None, "content image: reconstruct its features from noise")
    layers: str = option("paper", "panels: a preset (%s) or subsets like \"conv1_1;conv1_1,conv2_1\" "
                         "(see below)" % ", ".join(sheet.PRESETS))
    size: str = option("256", "long side of each input, in pixels (or WxH)")
    iterations: int = option(200, "L-BFGS iterations per panel")
    seed: int = option(0, "seed of the white-noise start; the same seed gives the same sheet")
    pooling: str = option("avg", "VGG pooling; Gatys et al. prefer average", choices=("avg", "max"))
    padding: str = option(PaintConfig.padding, "what the convolutions see beyond the border "
                          "(as scripts/paint.py --padding)", choices=PADDINGS)
    weights: str = option(None, "VGG19 weights (.npz, .mat, .h5; default vgg/vgg19.npz)")
    out_dir: str = option("reconstructions", "folder for the panels and sheet.png (created if missing)")
    animate: str = option(None, "also record the run as an animated .gif (or .mp4, .webm) "
                                "of the sheet filling up")
    every: int = option(10, "with --animate: one frame every N iterations of each panel")
    print_every: int = option(10, "print progress every N iterations (0: only per panel)")


def make_out_dir(path):
    """Create the output folder before any work: some folders only the attempt can
    refuse (/sys as root, where access() says yes; `atomic.check_folder` checked the rest),
    and that must be one line now, not an internal error once panels are painted."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise ArtError("cannot create %s: %s" % (path, e.strerror or e)) from None


def load(path, size, names):
    """The image at `path` fitted to `size`, refused before it is scaled if a panel of
    that size (painting down to layer `names`' deepest) would not fit in memory."""
    image = images.load_image(path)
    shape = levels.target_shape(image.shape[:2], size)
    need, have = levels.one_piece_need(shape, names), painting.available_memory()
    if have is not None and need > 0.9 * have:
        raise levels.too_big("a %dx%d panel" % (shape[1], shape[0]), need, have,
                             "choose a smaller --size")
    return images.resize(image, shape)


def main(argv=None):
    parser = cli.parser_from_dataclass(ReconstructConfig, __doc__.strip().splitlines()[0])

    class Formatter(parser.formatter_class, argparse.RawDescriptionHelpFormatter):
        pass
    parser.formatter_class = Formatter
    parser.epilog = EPILOG
    job = Reconstruction(cli.config_from_args(ReconstructConfig, parser.parse_args(argv)))
    job.prepare()
    return job.run()


def check(config):
    """Refuse settings that cannot work, before anything is read."""
    if config.style is None and config.content is None:
        raise ArtError("nothing to reconstruct: give --style IMAGE, --content IMAGE or both")
    for name in ("iterations", "every"):
        if getattr(config, name) < 1:
            raise ArtError("--%s must be at least 1, got %d" % (name, getattr(config, name)))
    if config.print_every < 0:
        raise ArtError("--print-every must be >= 0, got %d" % config.print_every)


class Reconstruction:
    """One run of scripts/reconstruct.py. Made, it has checked everything cheap (nothing
    imports TensorFlow or writes a file before `prepare`); `prepare` makes the folder and
    loads the weights; `run` paints the panels one by one and writes the sheet."""

    def __init__(self, config):
        check(config)
        self.config = config
        size = images.parse_size(config.size)
        self.inputs = [p for p in (config.style, config.content) if p]
        plan = [(kind, path, sheet.parse_panels(config.layers, kind))
                for kind, path in (("style", config.style), ("content", config.content)) if path]
        self.rows = [(kind, path, load(path, size, [name for p in panels for name in p.names]),
                      panels) for kind, path, panels in plan]
        self.out_dir = atomic.check_folder(config.out_dir)
        outputs = [os.path.join(self.out_dir, p.name + ".png")
                   for *_, panels in self.rows for p in panels]
        outputs.append(os.path.join(self.out_dir, "sheet.png"))
        if os.path.isdir(self.out_dir):
            for path in outputs:
                images.check_output_path(path, self.inputs)
        self.recorder = None
        if config.animate:
            self.recorder = animate.recorder(config.animate, every=config.every,
                                             inputs=self.inputs)
        self.work = self._panels()      # (kind, image, panel, PaintConfig)
        # What each panel costs by the render's own time model (`art.plan.levels.piece_work`:
        # a panel is one level), to tell the time the panels still to come will take.
        self.costs = [levels.piece_work(levels.one_piece(image.shape[:2], paint_config)[0])[0]
                      for _, image, _, paint_config in self.work]
        self.done = {}                  # panel name -> finished image
        self.weights = None

    def _panels(self):
        config, work = self.config, []
        for kind, _, image, panels in self.rows:
            for panel in panels:
                paint_config = sheet.panel_config(panel, config.iterations, config.seed,
                                                  config.pooling, padding=config.padding)
                try:
                    paint_config.check()
                    paint_config.check_size(image.shape[:2])
                except ArtError as e:
                    raise ArtError("%s panel %s: %s; choose a larger --size"
                                   % (kind, panel.label, e)) from None
                work.append((kind, image, panel, paint_config))
        return work

    def prepare(self):
        make_out_dir(self.out_dir)
        weights_path = fetch.ensure_weights(self.config.weights,
                                            say=lambda line: print(line, flush=True))
        startup.quiet_tensorflow()
        self.weights = weights_mod.load(weights_path)

    def sheet_rows(self, pending):
        """The sheet's rows; unfinished panels drawn as grey placeholders if `pending`."""
        drawn = []
        for kind, path, image, panels in self.rows:
            cells = [(image, "%s image\n%s" % (kind, os.path.basename(path)))]
            for panel in panels:
                if panel.name in self.done:
                    cells.append((self.done[panel.name], panel.label))
                elif pending is not None:
                    cells.append((pending.get(panel.name, sheet.placeholder(image.shape)),
                                  panel.label))
            drawn.append(cells)
        return drawn

    def progress(self, index, panel, p):
        config, recorder = self.config, self.recorder
        if config.print_every and (p.iteration % config.print_every == 0 or p.iteration == 1):
            # Both None until a second iteration has been timed.
            left, rate = p.seconds_left, p.seconds_per_iteration
            later = None if rate is None else \
                sum(self.costs[index + 1:]) / self.costs[index] * rate * config.iterations
            print("  iteration %d/%d  loss %.4g  %s s/it  %s left (all panels: %s)" % (
                p.iteration, p.iterations, p.losses["total"],
                "?" if rate is None else "%.2f" % rate,
                "?" if left is None else cli.format_seconds(left),
                "?" if left is None else cli.format_seconds(left + later)), flush=True)
        if recorder is not None and p.iteration % recorder.every == 0:
            recorder.add(p.iteration, sheet.draw_sheet(self.sheet_rows({panel.name: p.image()})))

    def paint(self, index, kind, image, panel, paint_config):
        """Paint one panel and write it; returns the render's status."""
        h, w = image.shape[:2]
        print("panel %d/%d %s %s (%dx%d)" % (index + 1, len(self.work), kind, panel.label, w, h),
              flush=True)
        result = sheet.reconstruct(self.weights, image, panel, paint_config,
                                   callback=lambda p: self.progress(index, panel, p))
        if result.status == "interrupted":
            raise KeyboardInterrupt
        if result.status == "nonfinite":
            print("  %s: %s; panel skipped" % (panel.label, result.message), file=sys.stderr)
            return result.status
        self.done[panel.name] = result.image
        images.save_image(os.path.join(self.out_dir, panel.name + ".png"), result.image,
                          self.inputs)
        first, last = result.history[0]["total"], result.history[-1]["total"]
        print("  done: loss %.4g -> %.4g in %d iterations (%d evaluations), %s" % (
            first, last, result.iterations, result.evaluations,
            cli.format_seconds(result.elapsed)), flush=True)
        if self.recorder is not None:
            self.recorder.add(0, sheet.draw_sheet(self.sheet_rows({})), force=True)
        return result.status

    def run(self):
        """Paint every panel, then write the sheet (and the animation); returns the exit
        status: 0, 1 when a panel's loss turned non-finite, 130 when interrupted."""
        print("reconstructing %d panels, %d L-BFGS iterations each, into %s"
              % (len(self.work), self.config.iterations, self.out_dir), flush=True)
        started = time.time()
        status = "done"
        try:
            for index, panel in enumerate(self.work):
                if self.paint(index, *panel) == "nonfinite":
                    status = "nonfinite"
        except KeyboardInterrupt:
            status = "interrupted"
            print("\ninterrupted: keeping the %d finished panels" % len(self.done),
                  file=sys.stderr, flush=True)
        sheet_path = os.path.join(self.out_dir, "sheet.png")
        images.save_image(sheet_path, sheet.draw_sheet(self.sheet_rows(None)), self.inputs)
        print("wrote %s (%d of %d panels, %s)" % (sheet_path, len(self.done), len(self.work),
                                                  cli.format_seconds(time.time() - started)))
        if self.recorder is not None:
            frames = self.recorder.write()
            if frames:
                print("wrote %s (%d frames)" % (self.config.animate, frames))
        return {"done": 0, "nonfinite": 1, "interrupted": 130}[status]
