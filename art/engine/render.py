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
is painted like the middle. The hooks and the `Result` see the
picture; the optimiser's state and `Progress.state` hold the canvas.

A level larger than a tile is painted in tiles. In the default exact mode each
evaluation is `art.engine.tiled`'s map over tiles and reduce: the picture is painted
as a whole, in memory bounded by a tile. In independent mode (the classic
method, for comparison) each tile's outer box is painted on its own and the
overlaps are feathered together.

The optimiser is a strategy the loop is given (`art.engine.optim`: L-BFGS or Adam,
whole or tiled alike); both keep their state in plain arrays, so a render can
stop after any iteration and continue from its `state` to the same picture. The
library never writes files: checkpoints go out through the hooks, and the
caller keeps them (see `art.files.workdir`).
"""

import dataclasses
import signal
import time

import numpy as np

from art.config import OPTIMIZERS
from art.engine import lbfgs, optim, terms, tiled, untiled
from art.engine.optim import NonFiniteLoss
from art.engine.state import canvas, picture, RenderState, state_after
from art.errors import ArtError, Stopped
from art.files import images
from art.plan import layers, tiling
from art.plan.levels import MAXCOR, piece_work, style_shape, tile_size

@dataclasses.dataclass
class Progress:
    """One finished iteration, as handed to `Hooks.progress`."""
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
    level_left: float = None  # ... and for this level
    state: callable = None   # () -> the `RenderState` that continues from here
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
    state: RenderState = None  # unless done: pass as `Request.state` to continue
    signal: int = None       # interrupted: the signal's number (SIGINT for Ctrl-C)
    error: Exception = None  # stopped: what stopped it (`errors.Stopped` or a subclass)


@dataclasses.dataclass
class Request:
    """What to paint.

    Attributes:
      weights: `art.files.weights.VGGWeights`.
      content: H x W x 3 float32 RGB 0-255, any size (resized per level).
      styles: list of style images at any size (scaled per level).
      levels: from `art.plan.levels.plan` (or `one_piece`); each paints with its own
        `Level.config`, the coarsest with the render's own.
      init: optional starting image for the coarsest level (resized to it).
      state: a `RenderState` from an earlier run (`Progress.state()`, `Hooks.level_done`
        or `Result.state`): continue from there.
    """
    weights: object
    content: np.ndarray
    styles: list
    levels: list
    init: np.ndarray = None
    state: RenderState = None

    @property
    def config(self):
        """The render's `PaintConfig`: the coarsest level's."""
        return self.levels[0].config


@dataclasses.dataclass
class Hooks:
    """How the caller follows a render, and the strategies it paints with.

    Attributes:
      progress: called with a `Progress` after every iteration.
      level_done: called as level_done(level, image, state) when a level is finished;
        `state` continues the render from the start of the next level (after the last:
        it holds the finished picture, and `render` returns it at once).
      tile_map: runs the exact tiles' work: an `art.engine.cluster.ClusterTiles` to paint
        them on a Dask cluster; default here, in this process.
      optimizer: a function of a `Level` that returns the `art.engine.optim.Optimizer` to
        paint it with. Default: `config.optimizer`'s, for the level's iterations
        (`new_optimizer`).
    """
    progress: callable = None
    level_done: callable = None
    tile_map: object = None
    optimizer: callable = None


class _Clock:
    """Time left for a whole render, from the cost of the evaluations so far."""

    def __init__(self, levels, elapsed=0.0):
        self.levels = levels
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

    def level_left(self, level, piece, iterations_done):
        """Seconds left of this level: the rest of its piece `piece` and its later pieces."""
        if self.seconds_per_work is None:
            return None
        per_work = self.seconds_per_work * self.evaluations_per_iteration
        pieces = piece_work(level)
        return per_work * (pieces[piece] * (level.iterations - iterations_done)
                           + sum(pieces[piece + 1:]) * level.iterations)

    def left(self, level, piece, iterations_done):
        """Seconds left: the rest of this level (`level_left`) and all finer levels."""
        total = self.level_left(level, piece, iterations_done)
        if total is None:
            return None
        per_work = self.seconds_per_work * self.evaluations_per_iteration
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

    def content_at(self, level):
        """The content photo's targets on `level`'s canvas, for the level's own config."""
        config = level.config
        if not config.content_layers:
            # A finer level's anchor stands in for the content layers: no photo to resize.
            return {}
        content = canvas(images.resize(self.content, level.picture), level.margin)
        if self.tile_map is None:
            return untiled.content_targets(self.weights, content, config)
        return tiled.content_targets(self.tile_map, content, self._tiles(level.shape, config),
                                     config)

    def style_at(self, level):
        """The style targets of a level: the styles scaled to its picture (not its canvas,
        so the margin leaves the strokes' size alone)."""
        config = level.config
        names = config.layer_names
        found = []
        for style in self.styles:
            style = images.resize(style, style_shape(level, style.shape[:2]))
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


def render(request, hooks=None):
    """Paint `request` (a `Request`): every picture, in one piece (a plan of one level) or
    a print, followed and steered by `hooks` (a `Hooks`).

    Returns:
      `Result` with the final level's image; when interrupted (Ctrl-C), the
      image of the last finished iteration and the `state` to continue from;
      likewise when the tile work stops (`errors.Stopped`: a lost cluster).
    """
    hooks = hooks or Hooks()
    config, levels, state = request.config, request.levels, request.state
    config.check()
    config.check_size(levels[0].shape)
    run = _Render(request.weights, levels, hooks.progress, hooks.optimizer or (
        lambda level: new_optimizer(level.config, level.iterations)),
        state.elapsed if state is not None else 0.0)
    if state is not None and state.level == len(levels):
        # Painted to the end, its picture not yet written (a full disk, a signal): the
        # state holds the picture itself.
        image = np.asarray(state.start, np.float32)
        if image.shape[:2] != levels[-1].picture:
            raise ArtError("the saved state is for another render (a finished %dx%d picture)"
                           % (image.shape[1], image.shape[0]))
        return Result(image=image, status="done", message="", iterations=0, evaluations=0,
                      elapsed=state.elapsed, history=[])
    first, start = _first_start(request)
    if state is not None:
        # Consumed, as its optimiser's arrays are (`_Render.optimize`): resumed at A0's
        # level 5, its start would otherwise be held all through level 6.
        state.start = None
    targets = Targets(request.weights, config, request.content, request.styles,
                      tile_size(levels), hooks.tile_map)
    run.keep(levels[first], lambda: start, lambda: RenderState(first, start, run.clock.elapsed))
    try:
        for level in levels[first:]:
            resumed = state if state is not None and state.level == level.index else None
            painted = run.level(level, start, targets, resumed)
            image = picture(painted, level)
            # Let the level's optimiser go before the finer level's start is made: its
            # history in memory (an A0 poster's level 5: 8.5 GB) and the finer start with
            # its temporaries did not fit together (an A0 run was killed there at 24.4 GB).
            run.keep(level, lambda painted=painted: painted,
                     lambda level=level, image=image: state_after(
                         levels, level.index, image, run.clock.elapsed))
            after = state_after(levels, level.index, image, run.clock.elapsed)
            start = after.start
            if hooks.level_done is not None:
                hooks.level_done(level, image, after)
            # The finished picture is a view of its optimiser's iterate: not held through
            # the finer level (A0's level 5 beside level 6: 0.4 GB).
            del painted, image
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


def _first_start(request):
    """The level a render begins at and its start: the saved state's, or the coarsest
    level's from `init` or the config's `init`."""
    levels, state = request.levels, request.state
    if state is not None:
        start = np.asarray(state.start, np.float32)
        if state.level >= len(levels) or start.shape[:2] != levels[state.level].shape:
            raise ArtError("the saved state is for another render (level %d of %dx%d)"
                           % (state.level + 1, start.shape[1], start.shape[0]))
        return state.level, start
    level = levels[0]
    if request.init is not None:
        return 0, canvas(images.resize(request.init, level.picture), level.margin)
    return 0, untiled.initial_image(
        level.config, canvas(images.resize(request.content, level.picture), level.margin),
        np.random.default_rng(level.config.seed))


def _position_targets(config, content_t, start):
    """The level's per-position targets: the content layers', and those the terms take
    from the level's start (the anchor's low-pass of it, when the level is anchored)."""
    return dict(content_t, **terms.start_targets(config, start))


class _Render:
    """The loop's own state: the clock, the history and counts, and where an
    interruption would leave the render (`current`, `image`, `state`)."""

    def __init__(self, weights, levels, callback, optimizer, elapsed):
        self.weights, self.levels = weights, levels
        self.callback, self.optimizer = callback, optimizer
        self.clock = _Clock(levels, elapsed)
        self.history = []
        self.iterations = self.evaluations = 0

    def keep(self, level, image, state):
        """What an interruption now keeps: the level, and functions of its picture and state."""
        self.current, self.image, self.state = level, image, state

    def level(self, level, start, targets, state):
        """Paint one level from `start` (or from `state`, saved within it); returns its image."""
        config = level.config
        self.keep(level, lambda: start, lambda: RenderState(level.index, start,
                                                            self.clock.elapsed))
        style_t = targets.style_at(level)
        if level.tiles and config.tile_mode == "independent":
            content = canvas(images.resize(targets.content, level.picture), level.margin)
            return self.independent(level, start, content, style_t, state)
        # A finer level's start carries its noise, so the anchor holds the noise's low-pass
        # too (sigma 12 leaves 4.2). Holding the clean start instead was measured (issue 28):
        # the same mesh and detail, the native-texture distance 5-6% worse, the pyramid
        # within 2%, the pictures alike at 200%.
        content_t = _position_targets(config, targets.content_at(level), start)
        if level.tiles:
            evaluator = tiled.TiledEvaluator(self.weights, config, level.shape, content_t,
                                             style_t, level.tiles, tile_map=targets.tile_map)
        else:
            evaluator = untiled.WholeEvaluator(self.weights, config, level.shape, content_t,
                                               style_t)
        # The evaluator keeps what it reads of them (each tile's slice): at a print's
        # finest level the whole targets would be a picture's worth more, all the level.
        content_t = None
        with evaluator:
            x = self.optimize(evaluator, level, start, state and state.optimizer)
        return x.reshape(level.shape + (3,))

    def independent(self, level, start, content, style_t, state):
        """The classic method: each tile's outer box painted as a picture of its own (its
        own content targets, the level's style targets), the overlaps feathered."""
        config = level.config
        done = list(state.done) if state is not None and state.tile is not None else []
        for j, tile in enumerate(level.tiles):
            if j < len(done):
                continue
            saved = state.optimizer if state is not None and j == state.tile else None
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
            # The optimiser now holds the saved arrays (not copies); the state keeps none,
            # or they would outlive the pairs the optimiser drops, all the level: at A0,
            # a resumed level's 10 pairs in memory beside 10 new ones.
            saved.clear()
        steps = _Steps(self, level, optimizer, start, piece)
        self.keep(level, steps.level_picture, steps.state)
        done_before, evaluations_before = optimizer.iterations, optimizer.evaluations
        try:
            return optimizer.minimize(evaluator, None if saved is not None else start,
                                      step_callback=steps.step, loss_callback=steps.losses)
        finally:
            # This run's share, whatever ended it (the start's evaluation included).
            self.iterations += optimizer.iterations - done_before
            self.evaluations += optimizer.evaluations - evaluations_before


class _Steps:
    """One optimiser's run on a level (or an independent tile): its losses, the clock's
    measurements, a `Progress` after every iteration, and the state to resume from."""

    def __init__(self, run, level, optimizer, start, piece):
        self.run, self.level, self.optimizer, self.start, self.piece = \
            run, level, optimizer, start, piece
        self.index = 0 if piece is None else piece.tile
        self.work = piece_work(level)[self.index]
        self.latest = {}
        self.first = None       # (time, iterations, evaluations) at this run's first step

    def level_picture(self, x=None):
        """The level's canvas at the iterate `x` (default: the optimiser's, or the start
        before its first evaluation)."""
        if x is None:
            if not self.optimizer.started:
                return self.start if self.piece is None else self.piece.start
            x = self.optimizer.x
        if self.piece is None:
            return x.reshape(self.start.shape)
        return self.piece.picture(self.level, x.reshape(self.start.shape))

    def state(self):
        # Before the optimiser's first evaluation has finished, the level's start is the
        # whole state: a checkpoint holds only what resumes.
        optimizer = self.optimizer
        state = RenderState(self.level.index, self.start if self.piece is None
                            else self.piece.start, self.run.clock.elapsed,
                            optimizer=optimizer.state() if optimizer.started else None)
        if self.piece is not None:
            state.tile, state.done = self.piece.tile, list(self.piece.done)
        return state

    def losses(self, loss, terms):
        self.latest.update(terms, total=loss)

    def step(self, x):
        run, level, optimizer = self.run, self.level, self.optimizer
        run.history.append(dict(self.latest, level=level.index + 1))
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, optimizer.iterations, optimizer.evaluations)
        else:
            # The rate from the second iteration on: the first one's time is mostly
            # building and warming up the graph (10.7 s of a 4K render's first level,
            # whose iterations take 0.5 s), and would put hours on the clock.
            run.clock.measure(now - self.first[0], optimizer.iterations - self.first[1],
                              optimizer.evaluations - self.first[2], self.work)
        if run.callback is None:
            return
        run.callback(Progress(
            iteration=optimizer.iterations, iterations=level.iterations,
            evaluations=optimizer.evaluations, losses=dict(self.latest),
            elapsed=run.clock.elapsed,
            image=lambda x=x: picture(self.level_picture(x), level),
            level=level.index + 1, levels=len(run.levels), shape=level.picture,
            tile=0 if self.piece is None else self.piece.tile + 1,
            tiles=len(level.tiles) if level.tiles else 0,
            left=run.clock.left(level, self.index, optimizer.iterations),
            level_left=run.clock.level_left(level, self.index, optimizer.iterations),
            state=self.state,
            seconds_per_iteration=run.clock.per_iteration(level, self.index)))


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


def new_optimizer(config, maxiter, store=None):
    """The optimiser `config.optimizer` names, for a picture of `maxiter` iterations;
    `store`: where L-BFGS keeps its history (`art.engine.lbfgs.MemoryStore` by default,
    or `art.files.history.DiskStore`)."""
    if config.optimizer == "lbfgs":
        return lbfgs.LBFGS(maxiter, maxcor=MAXCOR, stop_below=config.stop_below, store=store)
    if config.optimizer == "adam":
        return optim.Adam(maxiter, stop_below=config.stop_below,
                          learning_rate=config.learning_rate)
    raise ArtError("unknown --optimizer %r; valid: %s" % (config.optimizer,
                                                           ", ".join(OPTIMIZERS)))
