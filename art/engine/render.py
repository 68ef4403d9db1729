"""The one render loop: every picture, from one piece to a print of coarse-to-fine
levels, each painted whole or tile by tile, resumable after any iteration.

A render is a list of `Level`s; a picture in one piece is a list of one. The
coarsest starts from `config.init`; each finer one starts from the level before,
upsampled. At every level the content photo is resized to the level's size and
the style images are scaled with it (`config.style_scale` of the level's long
side), so brush strokes keep their proportion to the picture, and the targets
are computed again.

Each level paints a canvas a little larger than its picture (`Level.margin`
px beyond every edge, `config.edge_margin`): there the photo is mirrored, and
the painting's margin is cropped off the level's result. The network then never
sees the picture's own border as an edge (under zero padding, black beyond it;
under any padding, a boundary its deeper layers paint against), so the border
is painted like the middle. Callbacks, `on_level` and the `Result` see the
picture; the optimiser's state and `Progress.state` hold the canvas.

A level larger than a tile is painted in tiles. In the default exact mode each
evaluation is `art.engine.tiled`'s map over tiles and reduce: the picture is painted
as a whole, in memory bounded by a tile. In independent mode (the classic
method, for comparison) each tile's outer box is painted on its own and the
overlaps are feathered together.

The optimiser is a strategy the loop is given (`art.engine.optim`: L-BFGS or Adam,
whole or tiled alike); both keep their state in plain arrays, so a render can
stop after any iteration and continue from its `state` to the same picture. The
library never writes files: checkpoints go out through the callback, and the
caller keeps them (see `art.files.workdir`).
"""

import dataclasses
import signal
import time

import numpy as np

from art.engine import lbfgs, optim, terms, tiled, untiled
from art.engine.optim import NonFiniteLoss
from art.errors import ArtError, Stopped
from art.files import images
from art.plan import layers, tiling
from art.plan.levels import MAXCOR, piece_work, style_shape, tile_size

@dataclasses.dataclass
class Progress:
    """One finished iteration, as handed to the callback."""
    iteration: int           # of this level (or independent tile)
    iterations: int          # the level's
    evaluations: int
    losses: dict             # 'total', 'content', 'style', 'tv', and 'style/conv1_1', ...
    elapsed: float           # seconds of painting so far, the whole render's
    image: callable          # () -> the level's picture at this iterate, H x W x 3 float32
    level: int = 1
    levels: int = 1
    shape: tuple = None
    tile: int = 0            # independent mode: the tile being painted, from 1; else 0
    tiles: int = 0           # tiles of this level; 0: painted whole
    left: float = None       # seconds left for the whole render, once it can be estimated
    state: callable = None   # () -> everything needed to continue from here (see `render`)
    # Seconds an iteration of this level (or tile) takes, as measured from its second
    # iteration on; None before.
    seconds_per_iteration: float = None

    @property
    def seconds_left(self):
        return self.left


@dataclasses.dataclass
class Result:
    image: np.ndarray        # H x W x 3 float32 RGB 0-255
    status: str              # 'done', 'interrupted' (Ctrl-C), 'stopped' (the tile work
                             # stopped: a lost cluster) or 'nonfinite' (last good image kept)
    message: str
    iterations: int
    evaluations: int
    elapsed: float
    history: list            # per iteration: the losses dict of `Progress`, and its level
    state: dict = None       # unless done: pass to `render(state=...)` to continue
    signal: int = None       # interrupted: the signal's number (SIGINT for Ctrl-C)
    error: Exception = None  # stopped: what stopped it (`errors.Stopped` or a subclass)


class _Clock:
    """Time left for a whole render, from the cost of the evaluations so far."""

    def __init__(self, levels, config, elapsed=0.0):
        self.levels, self.config = levels, config
        self.seconds_per_work = None
        self.evaluations_per_iteration = 1.1
        self.elapsed_before = elapsed
        self.started = time.perf_counter()

    @property
    def elapsed(self):
        return self.elapsed_before + time.perf_counter() - self.started

    def measure(self, seconds, iterations, evaluations, work):
        if iterations and evaluations:
            self.seconds_per_work = seconds / (evaluations * work)
            self.evaluations_per_iteration = evaluations / iterations

    def per_iteration(self, level, piece):
        """Seconds an iteration of `level`'s piece `piece` takes, at the measured rate."""
        if self.seconds_per_work is None:
            return None
        return self.seconds_per_work * self.evaluations_per_iteration * piece_work(level)[piece]

    def left(self, level, piece, iterations_done):
        """Seconds left: the rest of this level's piece `piece`, its later pieces and
        all finer levels."""
        if self.seconds_per_work is None:
            return None
        per_work = self.seconds_per_work * self.evaluations_per_iteration
        pieces = piece_work(level)
        total = per_work * (pieces[piece] * (level.iterations - iterations_done)
                            + sum(pieces[piece + 1:]) * level.iterations)
        for finer in self.levels[level.index + 1:]:
            total += per_work * sum(piece_work(finer)) * finer.iterations
        return total


def feather_weights(tile, shape):
    """Blending weights of an independent tile over its outer box: 1 inside, falling
    linearly to 0 across each overlap with a neighbour (twice the margin wide)."""
    h, w = shape
    y0, y1, x0, x1 = tile.outer
    iy0, iy1, ix0, ix1 = tile.inner

    def ramp(lo, hi, inner_lo, inner_hi, side):
        pos = np.arange(lo, hi) + 0.5
        weight = np.ones(hi - lo)
        if lo > 0:    # overlap [lo, 2 * inner_lo - lo) shared with the neighbour before
            weight = np.minimum(weight, (pos - lo) / (2.0 * (inner_lo - lo)))
        if hi < side:
            weight = np.minimum(weight, (hi - pos) / (2.0 * (hi - inner_hi)))
        return np.clip(weight, 0.0, 1.0)

    return np.outer(ramp(y0, y1, iy0, iy1, h), ramp(x0, x1, ix0, ix1, w))[..., None]


def feather(tiles, crops, shape):
    """The picture from independently painted outer boxes, overlaps feathered."""
    total = np.zeros(tuple(shape) + (3,), np.float64)
    weights = np.zeros(tuple(shape) + (1,), np.float64)
    for tile, crop in zip(tiles, crops):
        y0, y1, x0, x1 = tile.outer
        w = feather_weights(tile, shape)
        total[y0:y1, x0:x1] += w * crop
        weights[y0:y1, x0:x1] += w
    return (total / weights).astype(np.float32)


class Targets:
    """Content and style targets of each level, computed tile by tile when the
    render has tiles, so a level's targets never need more than a tile's memory.

    `tile_map` runs the tile work (a `tiled.LocalTiles` by default, or an
    `art.engine.cluster.ClusterTiles`); the levels' tiled evaluators share it."""

    def __init__(self, weights, config, content, styles, tile_size=None, tile_map=None):
        self.weights, self.config = weights, config
        self.content, self.styles = content, styles
        self.tile_size = tile_size
        self.own_map = tile_map is None and bool(tile_size)
        if self.own_map:
            tile_map = tiled.LocalTiles(tiled.TileRunner(weights, terms.GraphSpec.of(config)))
        self.tile_map = tile_map if tile_size else None

    def close(self):
        if self.own_map:
            self.tile_map.close()

    def _tiles(self, shape, config):
        return tiling.tiles_for(shape, tile_size=self.tile_size, names=config.layer_names)

    def content_at(self, level, config):
        """The content photo's targets on `level`'s canvas, painted with `config`."""
        content = canvas(images.resize(self.content, level.picture), level.margin)
        if self.tile_map is None:
            return untiled.content_targets(self.weights, content, config)
        return tiled.content_targets(self.tile_map, content, self._tiles(level.shape, config),
                                     config)

    def style_at(self, level, config):
        """The style targets of a level: the styles scaled to its picture (not its canvas,
        so the margin leaves the strokes' size alone)."""
        names = config.layer_names
        found = []
        for style in self.styles:
            style = images.resize(style, style_shape(level, config, style.shape[:2]))
            if min(style.shape[:2]) < layers.min_size(names):
                raise ArtError("the style image scaled to %dx%d is too small for layer %s; "
                               "raise --style-scale" % (style.shape[1], style.shape[0],
                                                        layers.deepest(names)))
            if self.tile_map is None:
                found.append(untiled.style_targets(self.weights, [style], None, config))
            else:
                found.append(tiled.style_targets(self.tile_map, style,
                                                 self._tiles(style.shape[:2], config), config))
        return untiled.blend(found, config.style_blend)


def canvas(image, margin):
    """`image` with `margin` px of itself mirrored beyond each edge (the edge pixel not
    repeated, as the reflect padding of the network's convolutions)."""
    if not margin:
        return image
    return np.pad(image, ((margin, margin), (margin, margin), (0, 0)), mode="reflect")


def picture(image, level):
    """A canvas of `level` without its margin."""
    m = level.margin
    return image[m:image.shape[0] - m, m:image.shape[1] - m] if m else image


def render(weights, content, styles, config, levels, callback=None, on_level=None, init=None,
           state=None, tile_map=None, optimizer=None):
    """Render `content` in the style of `styles` through `levels`: every picture, in one
    piece (a plan of one level) or a print.

    Args:
      weights: `art.files.weights.VGGWeights`.
      content: H x W x 3 float32 RGB 0-255, any size (resized per level).
      styles: list of style images at any size (scaled per level).
      config: `art.config.PaintConfig`.
      levels: from `art.plan.levels.plan` (or `art.plan.levels.one_piece`).
      callback: called with a `Progress` after every iteration.
      on_level: called as on_level(level, image, state) when a level is finished;
        `state` continues the render from the start of the next level (after the
        last: it holds the finished picture, and `render` returns it at once).
      init: optional starting image for the coarsest level (resized to it).
      state: from an earlier run's `Progress.state()`, `on_level` or
        `Result.state`: continue from there.
      tile_map: runs the exact tiles' work: an `art.engine.cluster.ClusterTiles` to paint
        them on a Dask cluster; default here, in this process.
      optimizer: the strategy: a function of a `Level` that returns the
        `art.engine.optim.Optimizer` to paint it with. Default: `config.optimizer`'s,
        for the level's iterations (`new_optimizer`).

    Returns:
      `Result` with the final level's image; when interrupted (Ctrl-C), the
      image of the last finished iteration and the `state` to continue from;
      likewise when the tile work stops (`errors.Stopped`: a lost cluster).
    """
    config.check()
    config.check_size(levels[0].shape)
    if levels[0].config != config:
        # Each level paints with its own config, made from this one by the plan.
        raise ValueError("the levels were planned with another config than the render's")
    run = _Render(weights, config, levels, callback, optimizer or (
        lambda level: new_optimizer(config, level.iterations)),
        float(state["elapsed"]) if state is not None else 0.0)
    if state is not None and int(state["level"]) == len(levels):
        # Painted to the end, its picture not yet written (a full disk, a signal): the
        # state holds the picture itself.
        image = np.asarray(state["start"], np.float32)
        if image.shape[:2] != levels[-1].picture:
            raise ArtError("the saved state is for another render (a finished %dx%d picture)"
                           % (image.shape[1], image.shape[0]))
        return Result(image=image, status="done", message="", iterations=0, evaluations=0,
                      elapsed=float(state["elapsed"]), history=[])
    if state is not None:
        first, start = int(state["level"]), np.asarray(state["start"], np.float32)
        if first >= len(levels) or start.shape[:2] != levels[first].shape:
            raise ArtError("the saved state is for another render (level %d of %dx%d)"
                           % (first + 1, start.shape[1], start.shape[0]))
    else:
        first = 0
        level = levels[0]
        if init is not None:
            start = canvas(images.resize(init, level.picture), level.margin)
        else:
            start = untiled.initial_image(
                config, canvas(images.resize(content, level.picture), level.margin),
                np.random.default_rng(config.seed))
    targets = Targets(weights, config, content, styles, tile_size(levels), tile_map)
    run.keep(levels[first], lambda: start, lambda: _level_state(first, start, run.clock))
    try:
        for level in levels[first:]:
            resumed = state if state is not None and int(state["level"]) == level.index else None
            image = picture(run.level(level, start, targets, resumed), level)
            after = state_after(levels, level.index, image, config, run.clock.elapsed)
            start = after["start"]
            if on_level is not None:
                on_level(level, image, after)
        status, message, signum, error = "done", "", None, None
    except KeyboardInterrupt as e:
        # Ctrl-C, or SIGTERM / SIGHUP as `art.errors.Interrupted`
        status, message, signum, error = "interrupted", str(e) or "interrupted", \
            getattr(e, "signum", signal.SIGINT), None
    except Stopped as e:
        status, message, signum, error = "stopped", str(e), None, e
    except NonFiniteLoss as e:
        status, message, signum, error = "nonfinite", str(e), None, None
    finally:
        targets.close()
    if status != "done" and len(levels) > 1:
        message += " at level %d/%d" % (run.current.index + 1, len(levels))
    return Result(image=start if status == "done" else picture(run.image(), run.current),
                  status=status,
                  message=message, iterations=run.iterations, evaluations=run.evaluations,
                  elapsed=run.clock.elapsed, history=run.history,
                  state=None if status == "done" else run.state(), signal=signum, error=error)


def state_after(levels, index, image, config, elapsed=0.0):
    """The state that continues a render of `levels` with `config` from level `index`'s
    finished picture `image`: the next level's start, or after the last level the
    picture itself (a render that ended before its picture was written)."""
    if index + 1 < len(levels):
        finer = levels[index + 1]
        # The finer canvas's margin starts as the painting mirrored, as its content
        # target is the photo mirrored.
        start = canvas(images.resize(image, finer.picture), finer.margin)
        return dict(level=np.int64(index + 1), start=fine_start(start, finer, config),
                    elapsed=np.float64(elapsed))
    return dict(level=np.int64(len(levels)), start=image, elapsed=np.float64(elapsed))


def fine_start(start, level, config):
    """A finer level's start with `config.fine_start_noise`: the same noise for one seed
    and level, so a render resumed from a level's picture starts it as it began."""
    if not config.fine_start_noise:
        return start
    rng = np.random.default_rng([config.seed, level.index])
    noise = rng.standard_normal(start.shape, np.float32) * np.float32(config.fine_start_noise)
    return np.clip(start + noise, 0.0, 255.0)


def _position_targets(config, content_t, start):
    """The level's per-position targets: the content layers', and those the terms take
    from the level's start (the anchor's low-pass of it, when the level is anchored)."""
    return dict(content_t, **terms.start_targets(config, start))


def _level_state(index, start, clock, **more):
    return dict(level=np.int64(index), start=start, elapsed=np.float64(clock.elapsed), **more)


def _saved_optimizer(state, prefix="opt/"):
    if state is None or prefix + "x" not in state:
        return None
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


class _Render:
    """The loop's own state: the clock, the history and counts, and where an
    interruption would leave the render (`current`, `image`, `state`)."""

    def __init__(self, weights, config, levels, callback, optimizer, elapsed):
        self.weights, self.config, self.levels = weights, config, levels
        self.callback, self.optimizer = callback, optimizer
        self.clock = _Clock(levels, config, elapsed)
        self.history = []
        self.iterations = self.evaluations = 0

    def keep(self, level, image, state):
        """What an interruption now keeps: the level, and functions of its picture and state."""
        self.current, self.image, self.state = level, image, state

    def level(self, level, start, targets, state):
        """Paint one level from `start`; returns its image."""
        config = level.config
        self.keep(level, lambda: start, lambda: _level_state(level.index, start, self.clock))
        style_t = targets.style_at(level, config)
        if level.tiles and config.tile_mode == "independent":
            content = canvas(images.resize(targets.content, level.picture), level.margin)
            return self.independent(level, config, start, content, style_t, state)
        # A finer level's start carries its noise, so the anchor holds the noise's low-pass
        # too (sigma 12 leaves 4.2). Holding the clean start instead was measured (issue 28):
        # the same mesh and detail, the native-texture distance 5-6% worse, the pyramid
        # within 2%, the pictures alike at 200%.
        content_t = _position_targets(config, targets.content_at(level, config), start)
        if level.tiles:
            evaluator = tiled.TiledEvaluator(self.weights, config, level.shape, content_t,
                                             style_t, level.tiles, tile_map=targets.tile_map)
        else:
            evaluator = untiled.WholeEvaluator(self.weights, config, level.shape, content_t,
                                               style_t)
        with evaluator:
            x = self.optimize(evaluator, level, start, _saved_optimizer(state))
        return x.reshape(level.shape + (3,))

    def independent(self, level, config, start, content, style_t, state):
        """The classic method: each tile's outer box painted as a picture of its own (its
        own content targets, the level's style targets), the overlaps feathered."""
        done = []
        if state is not None:
            done = [np.asarray(state["done/%d" % j], np.float32) for j in range(int(state["tile"]))]
        for j, tile in enumerate(level.tiles):
            if j < len(done):
                continue
            saved = _saved_optimizer(state) if state is not None and j == int(state["tile"]) \
                else None
            content_t = _position_targets(config, untiled.content_targets(
                self.weights, tiling.crop(content, tile.outer), config),
                tiling.crop(start, tile.outer))
            with untiled.WholeEvaluator(self.weights, config, tile.outer_shape, content_t,
                                        style_t) as evaluator:
                x = self.optimize(evaluator, level, tiling.crop(start, tile.outer), saved,
                                  _Piece(j, list(done), start))
            done.append(x.reshape(tile.outer_shape + (3,)))
        return feather(level.tiles, done, level.shape)

    def optimize(self, evaluator, level, start, saved, piece=None):
        """The strategy's optimiser on one picture (a level, or an independent tile of
        one) from `start`, or from its `saved` state; returns the flat float32 result."""
        optimizer = self.optimizer(level)
        if saved is not None:
            if np.size(saved["x"]) != start.size:
                raise ArtError("the saved state is for another render (its picture has %d "
                               "values, this level's %d)" % (np.size(saved["x"]), start.size))
            optimizer.restore(saved)
        index = 0 if piece is None else piece.tile
        work = piece_work(level)[index]
        level_start = start if piece is None else piece.start
        latest = {}

        def level_picture(x):
            if piece is None:
                return x.reshape(start.shape)
            return piece.picture(level, x.reshape(start.shape))

        def state():
            # Before the optimiser's first evaluation has finished, the level's start is
            # the whole state: a checkpoint holds only what resumes.
            extra = {"opt/" + k: v for k, v in optimizer.state().items()} \
                if optimizer.started else {}
            if piece is not None:
                extra["tile"] = np.int64(piece.tile)
                extra.update({"done/%d" % j: crop for j, crop in enumerate(piece.done)})
            return _level_state(level.index, level_start, self.clock, **extra)

        def loss_callback(loss, terms):
            latest.update(terms, total=loss)

        def step_callback(x):
            self.history.append(dict(latest, level=level.index + 1))
            now = time.perf_counter()
            if first_step:
                # The rate from the second iteration on: the first one's time is mostly
                # building and warming up the graph (10.7 s of a 4K render's first level,
                # whose iterations take 0.5 s), and would put hours on the clock.
                self.clock.measure(now - first_step[0], optimizer.iterations - first_step[1],
                                   optimizer.evaluations - first_step[2], work)
            else:
                first_step.extend((now, optimizer.iterations, optimizer.evaluations))
            if self.callback is not None:
                self.callback(Progress(
                    iteration=optimizer.iterations, iterations=level.iterations,
                    evaluations=optimizer.evaluations, losses=dict(latest),
                    elapsed=self.clock.elapsed, image=lambda x=x: picture(level_picture(x), level),
                    level=level.index + 1, levels=len(self.levels), shape=level.picture,
                    tile=0 if piece is None else piece.tile + 1,
                    tiles=len(level.tiles) if level.tiles else 0,
                    left=self.clock.left(level, index, optimizer.iterations), state=state,
                    seconds_per_iteration=self.clock.per_iteration(level, index)))

        self.keep(level, lambda: level_picture(optimizer.x) if optimizer.started else level_start,
                  state)
        first_step = []         # (time, iterations, evaluations) at this run's first step
        done_before, evaluations_before = optimizer.iterations, optimizer.evaluations
        try:
            return optimizer.minimize(evaluator, None if saved is not None else start,
                                      step_callback=step_callback, loss_callback=loss_callback)
        finally:
            # This run's share, whatever ended it (the start's evaluation included).
            self.iterations += optimizer.iterations - done_before
            self.evaluations += optimizer.evaluations - evaluations_before


class _Piece:
    """An independent tile being painted: its index, the tiles finished before it, and
    the level's start."""

    def __init__(self, tile, done, start):
        self.tile, self.done, self.start = tile, done, start

    def picture(self, level, crop):
        """The level so far: the start, with the finished tiles and this one pasted."""
        image = self.start.copy()
        for tile, part in zip(level.tiles, self.done + [crop]):
            y0, y1, x0, x1 = tile.inner
            image[y0:y1, x0:x1] = tiling.crop(part, tile.inner_in_outer())
        return image


def new_optimizer(config, maxiter):
    """The optimiser `config.optimizer` names, for a picture of `maxiter` iterations."""
    if config.optimizer == "lbfgs":
        return lbfgs.LBFGS(maxiter, maxcor=MAXCOR, stop_below=config.stop_below)
    if config.optimizer == "adam":
        return optim.Adam(maxiter, stop_below=config.stop_below,
                          learning_rate=config.learning_rate)
    raise ArtError("unknown --optimizer %r; valid: %s" % (config.optimizer,
                                                           ", ".join(optim.CHOICES)))
