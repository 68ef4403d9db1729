"""Every setting of a painting, with its default, in one place.

`scripts/paint.py` derives its command line from these fields (flag, type,
choices and help come from each field's metadata), and `--report` writes the
whole dataclass out, so a run can be repeated from its report.
"""

import dataclasses
import math
import os
import re


from art.errors import ArtError
from art.files import images
from art.plan import layers, precision


# A margin wider than this paints more canvas than picture at the coarsest level.
MAX_EDGE_MARGIN = 256
# More than any painting needs (L-BFGS has converged long before), and counts that fit a
# checkpoint's int64 and a progress line.
MAX_ITERATIONS = 10 ** 7
# The optimisers the render loop can be given (`art.engine.render.new_optimizer`).
OPTIMIZERS = ("lbfgs", "adam")


def parse_layer_weights(text):
    """'conv1_1=1,conv2_1=0.5' or 'conv1_1,conv2_1' (weight 1) -> {name: weight}."""
    result = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, weight = item.partition("=")
        name = name.strip()
        layers.check_names([name])
        if name in result:
            raise ArtError("layer %s is named twice in %r; give each layer once" % (name, text))
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            value = None
        if value is None or not (math.isfinite(value) and value >= 0):
            raise ArtError("bad weight %r for layer %s; expected a finite number >= 0, e.g. "
                           "%s=0.5" % (weight, name, name))
        result[name] = value
    if not result:
        raise ArtError("no layers in %r; expected name=weight,... e.g. conv4_2=1" % text)
    return result


def parse_schedule(text):
    """'300,75,18' -> [300, 75, 18]: iterations per level, coarsest first."""
    try:
        # An empty entry ('1,,2') is refused like any other bad count, not dropped: the
        # user meant some number of levels.
        schedule = [int(part) for part in text.split(",")]
    except ValueError:
        raise ArtError("--schedule %r: expected iterations per level, coarsest first, "
                       "e.g. 300,75,18,10" % text) from None
    if not schedule or min(schedule) < 1:
        raise ArtError("--schedule %r: expected one or more whole numbers >= 1, coarsest level "
                       "first, e.g. 300,75,18,10" % text)
    return schedule


def parse_address(text):
    """A Dask scheduler's address: 'tcp://HOST:PORT' (or HOST:PORT, taken as tcp).

    Checked here, before anything connects, so a typo is one line at once."""
    given = (text or "").strip()
    address = given if "://" in given else "tcp://" + given
    match = re.fullmatch(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})", address)
    if not match or not 0 < int(match.group(3)) < 65536:
        raise ArtError("--cluster %r is not a scheduler address; expected tcp://HOST:PORT, "
                       "e.g. tcp://10.0.0.5:8786" % given)
    return address


def check_style_blend(weights, count):
    """Refuse --style-blend weights that cannot blend `count` style images: one finite
    weight >= 0 per style, not all 0."""
    if not (all(math.isfinite(w) and w >= 0 for w in weights) and sum(weights) > 0):
        raise ArtError("--style-blend weights must be finite numbers >= 0, not all 0; got %s"
                       % " ".join("%g" % w for w in weights))
    if len(weights) != count:
        raise ArtError("--style-blend has %d weights for %d style images; give one per style"
                       % (len(weights), count))


def format_layer_weights(weights):
    return ",".join("%s=%g" % item for item in weights.items())


def option(default, help, **cli):
    """A dataclass field carrying its command-line help and argparse options."""
    factory = {"default_factory": default} if callable(default) else {"default": default}
    return dataclasses.field(**factory, metadata=dict(help=help, **cli))


# Frozen: a render's levels each hold one made by the plan (`art.plan.levels.Level`), and
# a setting changed afterwards would paint one level with another loss than it was planned.
@dataclasses.dataclass(frozen=True)
class PaintConfig:
    content: str = option(None, "content photo (default: the built-in example photo)",
                          metavar="PATH")
    style: list = option(None, "one or more style images (default: the built-in example painting)",
                         nargs="+", metavar="PATH")
    style_blend: list = option(None, "blend weights of the style images' Gram targets, one per "
                               "--style (normalised to sum 1; default equal)", nargs="+", type=float,
                               metavar="W")
    out: str = option("out.png", "output image; .png, .jpg or .tif", metavar="PATH")
    size: str = option("512", "output size: long side in pixels (e.g. 512), WxH (e.g. 800x600), "
                       "a print size WxH in cm, mm or in at --dpi (e.g. 60x40cm, 24x16in), or a "
                       "preset (hd, fhd, qhd, 4k, 5k, 8k; a4, a3, a2, a1, a0 at --dpi)",
                       metavar="SIZE")
    dpi: float = option(300, "print resolution, pixels per inch: the pixels of a print size "
                        "(--size 30x20cm at 300 dpi: 3543x2362), and what every output file "
                        "says, so a print shop or layout program opens it at its size",
                        type=float, metavar="DPI")
    bit_depth: int = option(8, "bits per channel of the output: 16 (PNG and TIFF) keeps large "
                            "smooth skies free of banding; the painting is rounded once, when "
                            "written", type=int, choices=(8, 16))
    iterations: int = option(300, "optimiser iterations (of the coarsest level, when there are "
                             "several; see --schedule)", metavar="N")
    schedule: list = option(None, "coarse-to-fine: iterations per level, coarsest first, e.g. "
                            "300,75,18,10; each level doubles the long side and the last is "
                            "--size. Default: halve --size until the long side is at most 512 px; "
                            "--iterations at the coarsest level and a quarter as many at each "
                            "finer one (at least 10), so every level costs about the same",
                            type=parse_schedule, metavar="N,N,...")
    stop_below: float = option(0.0, "end a level early once the loss falls by less than this "
                               "fraction of itself per iteration, on average over the last 10 "
                               "(L-BFGS; 0: run every iteration the schedule gives)",
                               metavar="REL")
    optimizer: str = option("lbfgs", "L-BFGS (float32, with the projected steps of L-BFGS-B) or "
                            "Adam; either paints every level, tiled or not", choices=OPTIMIZERS)
    learning_rate: float = option(8.0, "Adam's step size, in pixel units (0-255)")
    content_weight: float = option(1.0, "weight of the content term")
    style_weight: float = option(3e-3, "weight of the style term")
    tv_weight: float = option(1e-2, "weight of the total-variation (smoothness) term")
    moment_weight: float = option(0.0, "weight of the moments term: each style layer's "
                                  "per-channel mean and standard deviation matched to the style "
                                  "images' (0: off)")
    fine_layers: str = option("conv3_1", "deepest style layer of every level after the coarsest: "
                              "a finer level's own contribution is fine texture, and its deeper "
                              "layers re-measure structure the coarser levels set, at most of "
                              "the cost (measured: to conv3_1 is sharper at 100%% and takes 56%% "
                              "of the whole loss's time); all: every level reads every style "
                              "layer, as the paper's single scale does", metavar="NAME|all")
    fine_anchor_weight: float = option(10.0, "levels after the coarsest: weight of the anchor "
                                       "that holds the coarser level's picture (the picture's "
                                       "low-pass against its upsampled start's) in place of "
                                       "the content layers; 0: the content layers, as at the "
                                       "coarsest")
    fine_tv_weight: float = option(0.0, "weight of the total-variation term at the levels "
                                   "after the coarsest (the published multi-resolution recipes "
                                   "use 0 there)")
    fine_start_noise: float = option(12.0, "levels after the coarsest: standard deviation (of "
                                     "0-255) of the noise added to the level's start, the "
                                     "coarser picture upsampled. From a smooth start the "
                                     "style terms grow their detail where the pooling cannot "
                                     "see it, a 2-px grid (a mesh at 100%%); noise gives them "
                                     "detail of every frequency and phase to shape instead. "
                                     "0: none", metavar="SIGMA")
    fine_style_limit: float = option(1.0, "levels after the coarsest: the style images are "
                                     "scaled with --style-scale but never beyond this multiple "
                                     "of their own size, so a print's fine levels paint the "
                                     "painting's own brushwork, not an enlargement of it (the "
                                     "coarsest level keeps --style-scale: the composition's "
                                     "strokes); 0: no limit, every level enlarges them as "
                                     "--style-scale asks", metavar="X")
    # The loss's own anchor weight: not a flag, set per level from fine_anchor_weight
    # (`art.plan.levels.fine_config`); a picture's first level has nothing to anchor to.
    anchor_weight: float = dataclasses.field(default=0.0, metadata=dict(cli=False))
    content_layers: dict = option(lambda: {"conv4_2": 1.0}, "content layers as name=weight,...",
                                  type=parse_layer_weights, metavar="NAME=W,...")
    style_layers: dict = option(
        lambda: {name: 1.0 for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")},
        "style layers as name=weight,...", type=parse_layer_weights, metavar="NAME=W,...")
    tiles: int = option(0, "split every evaluation into N tiles (exact: the same loss and gradient "
                        "as untiled, in memory bounded by a tile); 0: one piece", metavar="N")
    tile_size: int = option(0, "instead of --tiles: tiles of about PX pixels a side", metavar="PX")
    tile_mode: str = option("exact", "exact: every evaluation over the whole picture, tile by "
                            "tile (no seams); independent: the classic method, each tile "
                            "painted on its own and the overlaps feathered",
                            choices=("exact", "independent"))
    workdir: str = option(None, "keep finished levels and checkpoints here (default for "
                          "coarse-to-fine or tiled renders: next to --out, as OUT.work)",
                          metavar="DIR")
    resume: str = option(None, "continue the interrupted render in DIR (the other options "
                         "must be those it was started with)", metavar="DIR")
    history: str = option("auto", "where L-BFGS keeps its history (2 pictures' worth a pair, "
                          "10 pairs): auto: in memory, or in the work folder for a level that "
                          "would not fit otherwise (an A1 or A0 print); memory; disk: every "
                          "level's in the work folder. The picture is the same bits either way",
                          choices=("auto", "memory", "disk"))
    checkpoint_every: float = option(10.0, "minutes between checkpoints in the work folder; "
                                     "finished levels and Ctrl-C always write one",
                                     metavar="MIN")
    cluster: str = option(None, "paint the tiles on the workers of this Dask scheduler, e.g. "
                          "tcp://10.0.0.5:8786 (see docs/cluster.md)",
                          metavar="ADDRESS")
    workers: int = option(None, "paint the tiles on a Dask cluster of N worker processes "
                          "started on this machine (listening on 127.0.0.1 only)", type=int,
                          metavar="N")
    dashboard: bool = option(False, "with --workers: serve Dask's dashboard, on 127.0.0.1 "
                             "(its address is said at the start)")
    tls_ca_file: str = option(None, "with --cluster tls://...: the certificate authority that "
                              "signed the scheduler's and workers' certificates", metavar="PEM")
    tls_cert: str = option(None, "with --cluster tls://...: this client's certificate",
                           metavar="PEM")
    tls_key: str = option(None, "with --cluster tls://...: this client's private key",
                          metavar="PEM")
    precision: str = option("auto", "arithmetic of the network's convolutions: bfloat16 is "
                            "1.9-3.7x faster on CPUs with native bfloat16 (AVX512_BF16, AMX) and "
                            "much slower on others; auto picks by the CPU's flags and says which. "
                            "Losses and Grams are float32 either way",
                            choices=("auto", "float32", "bfloat16"))
    pooling: str = option("avg", "VGG pooling; Gatys et al. prefer average", choices=("avg", "max"))
    padding: str = option("reflect", "what the network's convolutions see beyond the picture's "
                          "border: zero (black, the paper's), reflect (the picture mirrored) or "
                          "replicate (its edge repeated)",
                          choices=layers.PADDINGS)
    edge_margin: int = option(16, "pixels of canvas painted beyond each edge of the picture at "
                              "every level, from the photo mirrored there, and cropped off at "
                              "the end, so the picture's own border is painted like its middle "
                              "(docs/edges.md); 0: paint up to the border, as the paper",
                              metavar="PX")
    init: str = option("content", "starting image: content, noise, or an image path",
                       metavar="{content,noise,PATH}")
    seed: int = option(0, "random seed (noise start); the same seed repeats a run exactly")
    preserve_colors: bool = option(False, "keep the content photo's colours: only the luminance "
                                   "of the painting is kept")
    match_colors: bool = option(False, "match the style images' colour statistics to the photo "
                                "before painting")
    style_scale: float = option(1.0, "size of the style image relative to the output (long sides); "
                                "larger gives larger brush strokes")
    print_every: int = option(10, "print progress every N iterations (0: never)", metavar="N")
    save_every: int = option(0, "write a numbered checkpoint image every N iterations (0: never)",
                             metavar="N")
    animate: str = option(None, "record the painting as it forms into this .gif, .mp4 or .webm "
                          "(video: the video extra, docs/prints.md)", metavar="PATH")
    animate_every: int = option(10, "one --animate frame every N iterations", metavar="N")
    weights: str = option(None, "VGG19 weights (.npz, .mat, .h5; default vgg/vgg19.npz, "
                          "fetched on first use)", metavar="PATH")
    report: str = option(None, "write a JSON report of the run to this path", metavar="PATH")

    def check(self):
        """Refuse settings that cannot work, before any expensive work starts; each error
        names the bad value and what would be valid. The picture's size is checked by
        `check_size`, its tiles by `art.plan.levels.plan`."""
        self._check_run()
        self._check_cluster()
        self._check_loss()
        self._check_output()

    def _check_run(self):
        """Iterations, schedule, optimiser, arithmetic, work folder, progress."""
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise ArtError("--iterations must be 1-%d, got %d" % (MAX_ITERATIONS, self.iterations))
        if self.schedule is not None and (not self.schedule or min(self.schedule) < 1
                                          or max(self.schedule) > MAX_ITERATIONS):
            raise ArtError("--schedule needs one or more iteration counts 1-%d, coarsest first"
                           % MAX_ITERATIONS)
        if self.optimizer not in OPTIMIZERS:
            raise ArtError("unknown --optimizer %r; valid: %s" % (self.optimizer,
                                                                ", ".join(OPTIMIZERS)))
        precision.choose(self.precision)
        if not 0 <= self.seed < 2 ** 32:
            raise ArtError("--seed must be a whole number 0-%d, got %d" % (2 ** 32 - 1, self.seed))
        if not (math.isfinite(self.checkpoint_every) and self.checkpoint_every > 0):
            raise ArtError("--checkpoint-every must be a number of minutes > 0, got %g"
                           % self.checkpoint_every)
        if self.workdir and self.resume and os.path.abspath(self.workdir) \
                != os.path.abspath(self.resume):
            raise ArtError("--workdir %s and --resume %s name different folders; --resume alone "
                           "is enough" % (self.workdir, self.resume))
        if self.animate_every < 1:
            raise ArtError("--animate-every must be at least 1, got %d" % self.animate_every)
        for name in ("print_every", "save_every"):
            if getattr(self, name) < 0:
                raise ArtError("--%s must be >= 0, got %d" % (name.replace("_", "-"),
                                                               getattr(self, name)))

    def _check_cluster(self):
        """Tiles, and the cluster they may be painted on."""
        if self.tile_mode not in ("exact", "independent"):
            raise ArtError("unknown --tile-mode %r; valid: exact, independent" % self.tile_mode)
        if self.tiles < 0 or self.tile_size < 0:
            raise ArtError("--tiles and --tile-size must be >= 0, got %d and %d"
                           % (self.tiles, self.tile_size))
        if self.tiles and self.tile_size:
            raise ArtError("give --tiles or --tile-size, not both")
        if self.cluster is not None and self.workers is not None:
            raise ArtError("give --cluster ADDRESS or --workers N, not both")
        if self.workers is not None and self.workers < 1:
            raise ArtError("--workers must be at least 1, got %d" % self.workers)
        if self.cluster is not None:
            parse_address(self.cluster)
        self.security()
        if self.dashboard and self.workers is None:
            raise ArtError("--dashboard serves the dashboard of the cluster --workers N starts; "
                           "a --cluster's scheduler serves its own")
        if (self.cluster is not None or self.workers is not None) \
                and self.tile_mode != "exact":
            raise ArtError("--cluster and --workers share out exact tiles; --tile-mode %s "
                           "paints on this machine only" % self.tile_mode)

    def _check_loss(self):
        """Layers, weights and every other number of the loss."""
        if self.fine_layers != "all":
            layers.check_names([self.fine_layers], what="--fine-layers layer (or all)")
        # Every number of the loss (a new term's weight too) is finite and >= 0; dpi and
        # the checkpoint interval have their own checks.
        for name in (f.name for f in dataclasses.fields(self)
                     if f.type is float and f.name not in ("dpi", "checkpoint_every")):
            value, positive = getattr(self, name), name in ("learning_rate", "style_scale")
            if not (math.isfinite(value) and value >= 0) or (positive and value == 0):
                raise ArtError("--%s must be a finite number %s, got %g"
                               % (name.replace("_", "-"), "> 0" if positive else ">= 0", value))
        names = self.layer_names
        if not names:
            raise ArtError("no content or style layers to paint with")
        layers.check_names(names)
        if self.style_blend is not None:
            check_style_blend(self.style_blend, len(self.style or self.style_blend))

    def _check_output(self):
        """The picture's file and its canvas."""
        if not 0 <= self.edge_margin <= MAX_EDGE_MARGIN:
            raise ArtError("--edge-margin must be 0-%d px, got %d" % (MAX_EDGE_MARGIN,
                                                                       self.edge_margin))
        images.check_dpi(self.dpi)
        images.check_bit_depth(self.out, self.bit_depth)

    def check_paints(self):
        """Refuse a painting with no style in it: a style weight of 0 (the moments term
        counts as style), or every style layer weighted 0, paints the photo back.
        Reconstructions (`art.commands.sheet`) paint one term alone and skip this."""
        if not (self.style_weight > 0 or self.moment_weight > 0):
            why = "--style-weight is 0"
        elif not any(w > 0 for w in self.style_layers.values()):
            why = "--style-layers %s gives every layer weight 0" % format_layer_weights(
                self.style_layers)
        else:
            return
        raise ArtError("nothing of the style would be painted: %s; give the style a "
                       "weight > 0 (default --style-weight 3e-3)" % why)

    def security(self):
        """The TLS files for a tls:// scheduler, checked: (ca, cert, key), or None when none
        is given (Dask's own configuration then applies)."""
        given = (self.tls_ca_file, self.tls_cert, self.tls_key)
        if not any(given):
            return None
        if self.cluster is None or not parse_address(self.cluster).startswith("tls://"):
            raise ArtError("--tls-ca-file, --tls-cert and --tls-key are for --cluster "
                           "tls://HOST:PORT")
        if not all(given):
            raise ArtError("give --tls-ca-file, --tls-cert and --tls-key together (the "
                           "scheduler checks this client's certificate)")
        for flag, path in zip(("--tls-ca-file", "--tls-cert", "--tls-key"), given):
            if not os.path.isfile(path):
                raise ArtError("%s %s: no such file" % (flag, path))
        return given

    @property
    def layer_names(self):
        """The layers this config's loss reads: the content layers, then the style layers."""
        return list(self.content_layers) + list(self.style_layers)

    def check_size(self, shape):
        """Refuse a picture of `shape` (height, width) too small for the deepest layer."""
        names = self.layer_names
        need = layers.min_size(names)
        if min(shape) < need:
            raise ArtError("a %dx%d picture is too small for layer %s: it needs at least %d px "
                           "on each side" % (shape[1], shape[0], layers.deepest(names), need))

    def to_dict(self):
        return dataclasses.asdict(self)

