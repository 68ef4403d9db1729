"""The levels of a render: sizes, iterations and tiles, and what they cost in
memory and time. Pure Python: the command line plans (and refuses) a render
before TensorFlow is imported.
"""

import dataclasses
import math

from art.errors import ArtError
from art.plan import layers, precision, tiling

# The default coarsest level's long side: small enough that its many
# iterations are cheap, large enough for conv5_1 to see structure.
COARSEST_SIDE = 512
# Each finer level gets this many times fewer iterations than the one before: 4x the
# pixels for a quarter of the iterations. The published multi-resolution recipes use
# 2.5-3x per doubling (Gatys et al. 2017: 500 at 512 px, 200 at 1024), paid for by
# finer levels that read fewer layers; measured here, a level down to conv3_1 costs
# 56% of a full one per pixel (the first blocks' memory traffic, not their 31% of the
# FLOPs), so 2.5x would make a 4K print's finer levels dearer than the whole loss's
# at 4x, and the shallow levels are sharp after few iterations (docs/prints.md).
# The floor keeps fine detail worked.
FINE_RATIO = 4
MIN_FINE_ITERATIONS = 10
# L-BFGS history length (each entry: 2 float32 vectors the size of the picture).
MAXCOR = 10

# Memory. One evaluation of VGG19 to conv5_1 measured ~1.9 GB at 256^2, 2.5 GB at
# 512^2, 4.5 GB at 1024^2: a fixed part and ~2.9 kB per pixel of the piece
# evaluated. The fixed part is 1.65 GB, not 1.6: the coarsest levels of renders in
# bfloat16 (a 4K's, a 6000x4498's) peaked up to 50 MB above 1.6.
FIXED_BYTES, PIECE_BYTES_PER_PIXEL = 1.65e9, 2.9e3
# A tile in bfloat16 takes less: the last levels of the prints measured (4K, 6000x4498, A2,
# A1, A0; docs/prints.md) needed up to 2.6 kB a pixel of the share, and 2.7 leaves a margin.
# One piece in bfloat16 keeps the float32 figure: the 4K print in one piece took 2.8 kB, its
# targets and the whole picture's terms in one graph. A tile in float32 was not measured
# in a render, so it keeps it too.
BF16_TILE_BYTES_PER_PIXEL = 2.7e3
# The picture's own arrays are float32 RGB, 12 bytes a pixel of the level's canvas.
# Whatever its history, a level holds the optimiser's iterate, gradient, direction and
# trial iterate, the gradient being summed over the tiles, the anchor's target and the
# level's start (`art.engine.lbfgs` works a chunk at a time: no temporaries of their
# size), and the render holds the content photo at the print's size throughout. Seven
# by that count; eight keep the estimate above every render measured (docs/prints.md).
ARRAY_BYTES_PER_PIXEL = 12
WORKING_ARRAYS = 8
# L-BFGS's history, when it is kept in memory, 2 arrays a pair; Adam's moments, 2.
HISTORY_ARRAYS = {"lbfgs": 2 * MAXCOR, "adam": 2}
# A style image as read, scaled and converted: a few float32 copies of it.
STYLE_BYTES_PER_PIXEL = 4 * 3 * 4
# Disk. A checkpoint holds the iterate, its gradient and the level's start (and the
# history when it is in memory), written beside the one before: twice that. A level's
# history on disk may hold a pair being written beyond its MAXCOR.
CHECKPOINT_ARRAYS = 3
SPARE_PAIRS = 1
# A level's picture (8-bit PNG) at most, uncompressed.
PICTURE_FILE_BYTES_PER_PIXEL = 3


@dataclasses.dataclass(frozen=True)
class Level:
    """One level of a render.

    Attributes:
      index: 0 for the coarsest.
      shape: (height, width) of the canvas painted: the picture and its margin.
      iterations: L-BFGS iterations at this level.
      tiles: `art.plan.tiling.Tile`s of the canvas when the level is painted in tiles;
        None: whole.
      margin: pixels of canvas beyond each edge of the picture (`config.edge_margin`),
        cropped off the level's result.
      config: the `PaintConfig` this level paints with, made once by the plan: the
        render's own at the coarsest level, with `fine_config`'s loss at the finer ones.
      history_on_disk: the optimiser's history is kept in the work folder, not in
        memory (`fit` decides, for a level that would not fit otherwise).
    """
    index: int
    shape: tuple
    iterations: int
    tiles: tuple = None
    margin: int = 0
    config: object = dataclasses.field(default=None, repr=False)
    history_on_disk: bool = False

    @property
    def picture(self):
        """(height, width) of the level's picture: the canvas without its margin."""
        return (self.shape[0] - 2 * self.margin, self.shape[1] - 2 * self.margin)

    @property
    def pixels(self):
        return self.shape[0] * self.shape[1]

    @property
    def piece_pixels(self):
        """Pixels of the largest piece one evaluation runs the network on."""
        if not self.tiles:
            return self.pixels
        return max(t.outer_shape[0] * t.outer_shape[1] for t in self.tiles)


def fine_config(config):
    """What the levels after the coarsest paint with: the config with the style layers
    down to `config.fine_layers`, the anchor in place of the content layers when
    `config.fine_anchor_weight` is set, and `config.fine_tv_weight`."""
    style = dict(config.style_layers)
    if config.fine_layers != "all":
        last = layers.NAMES.index(config.fine_layers)
        kept = {n: w for n, w in style.items() if layers.NAMES.index(n) <= last}
        # Style layers all deeper than fine_layers: keep them rather than paint no style.
        style = kept or style
    settings = dict(style_layers=style, tv_weight=config.fine_tv_weight)
    if config.fine_anchor_weight:
        settings.update(content_layers={}, anchor_weight=config.fine_anchor_weight)
    return dataclasses.replace(config, **settings)


def level_count(shape, names):
    """Levels of the default schedule: halve until the long side is at most
    `COARSEST_SIDE`, never below the smallest side the layers can see."""
    count = 1
    need = layers.min_size(names)
    while max(shape) / 2 ** (count - 1) > COARSEST_SIDE and min(shape) / 2 ** count >= need:
        count += 1
    return count


def default_schedule(iterations, count):
    """`iterations` at the coarsest level, `FINE_RATIO` times fewer at each finer one."""
    return [iterations] + [max(MIN_FINE_ITERATIONS, iterations // FINE_RATIO ** k)
                           for k in range(1, count)]


def level_shapes(shape, count):
    """(height, width) of each level, coarsest first: the long side halves per level."""
    h, w = shape
    return [(max(1, round(h / 2 ** k)), max(1, round(w / 2 ** k))) for k in range(count - 1, -1, -1)]


def asked_tiles(config, shape, names=None):
    """The tiles `config.tiles` or `config.tile_size` cut a canvas of `shape` into, or None;
    refused when they are narrower than the margin the layers need around each
    (`names`: the layers of the level they cut; default the config's)."""
    if not (config.tiles or config.tile_size):
        return None
    names = config.layer_names if names is None else names
    try:
        tiles = tiling.tiles_for(shape, n_tiles=config.tiles or None,
                                 tile_size=config.tile_size or None, names=names)
    except ArtError as e:
        if not config.edge_margin:
            raise
        m = config.edge_margin
        raise ArtError("%s (the %dx%d picture with its %d-px --edge-margin is the %dx%d painted)"
                       % (e, shape[1] - 2 * m, shape[0] - 2 * m, m, shape[1], shape[0])) from None
    margin = tiling.required_margin(names)
    side = min(min(t.inner[1] - t.inner[0], t.inner[3] - t.inner[2]) for t in tiles)
    if len(tiles) > 1 and side < margin:
        raise ArtError("tiles of %d px are narrower than the %d-px margin layer %s needs around "
                       "each; every evaluation would be mostly margin. Use fewer --tiles or a "
                       "--tile-size of at least %d" % (side, margin, layers.deepest(names), margin))
    return tiles


def plan(shape, config, tile_size=None):
    """The levels of a render of `shape` (height, width) with `config`.

    Tiles: `config.tiles` or `config.tile_size` cut the final level; coarser
    levels are cut into tiles of the same size, so every level's memory is
    bounded by the same tile, and a level that fits in one tile is painted
    whole. `tile_size` (when the config gives no tiling) is the caller's
    choice for a picture that would not fit (see `choose_tile_size`).

    Returns:
      list of `Level`, coarsest first.
    """
    names = config.layer_names
    config.check_size(shape)
    schedule = config.schedule or default_schedule(config.iterations, level_count(shape, names))
    shapes = level_shapes(shape, len(schedule))
    need = layers.min_size(names)
    if min(shapes[0]) < need:
        raise ArtError("--schedule has %d levels: the coarsest, %dx%d, is too small for layer %s "
                       "(it needs %d px a side); use fewer levels"
                       % (len(schedule), shapes[0][1], shapes[0][0], layers.deepest(names), need))
    # Each level's own config, made once: every level of a render after the first paints
    # with the fine one.
    coarse = dataclasses.replace(config)
    fine = fine_config(config) if len(schedule) > 1 else coarse
    final_names = fine.layer_names
    margin = config.edge_margin
    canvases = [(h + 2 * margin, w + 2 * margin) for h, w in shapes]
    final_tiles = asked_tiles(config, canvases[-1], final_names)
    if final_tiles is None and tile_size:
        final_tiles = tiling.tiles_for(canvases[-1], tile_size=tile_size, names=final_names)
    inner = None
    if final_tiles and len(final_tiles) > 1:
        inner = max(max(t.inner[1] - t.inner[0], t.inner[3] - t.inner[2]) for t in final_tiles)
    levels = []
    for k, (level_shape, iterations) in enumerate(zip(canvases, schedule)):
        # Each level's tiles get the margin of its own deepest layer.
        level_names = final_names if k else names
        if k == len(schedule) - 1:
            tiles = final_tiles
        else:
            tiles = tiling.tiles_for(level_shape, tile_size=inner, names=level_names) \
                if inner else None
        levels.append(Level(k, tuple(level_shape), iterations,
                            tuple(tiles) if tiles and len(tiles) > 1 else None, margin,
                            fine if k else coarse))
    return levels


def one_piece(shape, config):
    """The plan of a picture painted whole at `shape`, in one level of `config.iterations`
    (a reconstruction)."""
    return [Level(0, (int(shape[0]), int(shape[1])), int(config.iterations),
                  config=dataclasses.replace(config))]


def tile_size(levels):
    """The inner side of the render's tiles (every tiled level has the same), or None."""
    tiled = [level for level in levels if level.tiles]
    if not tiled:
        return None
    return max(max(t.inner[1] - t.inner[0], t.inner[3] - t.inner[2]) for t in tiled[-1].tiles)


def memory_need(levels):
    """Estimated peak bytes of a render: its most demanding level (`level_need`)."""
    final = levels[-1].picture[0] * levels[-1].picture[1]
    return max(level_need(level, final) for level in levels)


def level_need(level, final_pixels):
    """Estimated peak bytes of painting `level`: one piece's evaluation, the level's own
    arrays and its history where it is kept in memory, and the content photo at the
    print's size (`final_pixels`)."""
    return piece_bytes(level.piece_pixels, level.config.layer_names, piece_rate(level)) \
        + ARRAY_BYTES_PER_PIXEL * (in_memory_arrays(level) * level.pixels + final_pixels)


def in_memory_arrays(level):
    """How many picture-sized arrays `level` holds in memory."""
    if level.history_on_disk:
        return WORKING_ARRAYS
    return WORKING_ARRAYS + HISTORY_ARRAYS.get(level.config.optimizer, 2 * MAXCOR)


def disk_need(levels):
    """Bytes a render's work folder needs at most: its most demanding level's checkpoint
    (twice: the new one is written beside the last) and history on disk, and every
    level's picture."""
    most = 0
    for level in levels:
        arrays = 2 * CHECKPOINT_ARRAYS
        if level.history_on_disk:
            arrays += 2 * (MAXCOR + SPARE_PAIRS)
        else:
            arrays += 2 * HISTORY_ARRAYS.get(level.config.optimizer, 2 * MAXCOR)
        most = max(most, ARRAY_BYTES_PER_PIXEL * arrays * level.pixels)
    return most + sum(PICTURE_FILE_BYTES_PER_PIXEL * level.picture[0] * level.picture[1]
                      for level in levels)


def place_history(levels, budget):
    """`levels` with the history of each that would not fit in `budget` bytes (None: any)
    kept on disk, or of every one with `config.history` "disk" (L-BFGS only: Adam's two
    moments stay in memory)."""
    final = levels[-1].picture[0] * levels[-1].picture[1]

    def on_disk(level):
        config = level.config
        if config.optimizer != "lbfgs" or config.history == "memory":
            return False
        return config.history == "disk" or (budget is not None
                                            and level_need(level, final) > budget)
    return [dataclasses.replace(level, history_on_disk=on_disk(level)) for level in levels]


def piece_bytes(pixels, names, per_pixel=PIECE_BYTES_PER_PIXEL):
    """Bytes of one evaluation of a piece of `pixels` down to `names`' deepest layer, with
    the process's fixed share: what every memory estimate here is made of. `per_pixel`:
    bytes a pixel of a piece to conv5_1 (`piece_rate`)."""
    return FIXED_BYTES + per_pixel * pixels * layers.activation_share(layers.deepest(names))


def piece_rate(level):
    """Bytes a pixel of `level`'s largest piece takes to conv5_1: a tile's in bfloat16 is
    less than one piece's (`BF16_TILE_BYTES_PER_PIXEL`)."""
    if level.tiles and precision.of(level.config) == "bfloat16":
        return BF16_TILE_BYTES_PER_PIXEL
    return PIECE_BYTES_PER_PIXEL


def target_shape(image_hw, size):
    """The (height, width) an image of shape `image_hw` is resized to.

    Args:
      image_hw: (height, width) of the image.
      size: what `parse_size` returns: an int sets the long side and keeps the
        aspect ratio; a (width, height) tuple is taken exactly.

    Returns:
      (height, width), each at least 1.
    """
    h, w = int(image_hw[0]), int(image_hw[1])
    if isinstance(size, tuple):
        width, height = size
        return (int(height), int(width))
    side = int(size)
    if side <= 0 or h <= 0 or w <= 0:
        raise ValueError("target_shape needs positive sizes, got image %dx%d and size %d"
                         % (w, h, side))
    scale = side / max(h, w)
    # Round half up; Python's round() would round 0.5 to even.
    return (max(1, math.floor(h * scale + 0.5)), max(1, math.floor(w * scale + 0.5)))


def style_shape(level, style_hw):
    """(height, width) a style image of shape `style_hw` is scaled to on `level`: its
    config's `style_scale` of the level's picture (not its canvas: the margin leaves the
    strokes' size alone), long side to long side; on the levels after the coarsest,
    never more than `config.fine_style_limit` times its own size (Gatys et al. 2017,
    "Controlling Perceptual Factors", section 5: the composition's strokes from the
    coarse scale, the texture from the painting at its own). An enlarged painting's
    Grams describe blur, which is all a print's fine levels could then paint."""
    config = level.config
    long_side = max(1, round(config.style_scale * max(level.picture)))
    if level.index and config.fine_style_limit:
        long_side = min(long_side, max(1, round(config.fine_style_limit * max(style_hw))))
    return target_shape(style_hw, long_side)


def check_styles(levels, style_shapes, available=None):
    """Refuse, before any style is scaled, one too small for the layers of a level or
    too large for `available` bytes (a style scaled to a 100000-px picture)."""
    for level in levels:
        config, names = level.config, level.config.layer_names
        need = layers.min_size(names)
        for hw in style_shapes:
            h, w = style_shape(level, hw)
            if min(h, w) < need:
                raise ArtError("the style image scaled to %dx%d (--style-scale %g of the %dx%d "
                               "picture) is too small for layer %s: it needs %d px a side; raise "
                               "--style-scale" % (w, h, config.style_scale, level.picture[1],
                                                  level.picture[0], layers.deepest(names), need))
            # Its targets are evaluated in the level's tiles, or whole.
            piece = min(h * w, level.piece_pixels) if level.tiles else h * w
            bytes_needed = piece_bytes(piece, names) + STYLE_BYTES_PER_PIXEL * h * w
            if available is not None and bytes_needed > available:
                raise too_big("the style image scaled to %dx%d (--style-scale %g of the %dx%d "
                              "picture)" % (w, h, config.style_scale, level.picture[1],
                                            level.picture[0]),
                              bytes_needed, available, "lower --style-scale or --size")


def one_piece_need(shape, names):
    """Estimated peak bytes of painting a picture of `shape` in one piece with `names`."""
    pixels = shape[0] * shape[1]
    arrays = WORKING_ARRAYS + 2 * MAXCOR + 1
    return piece_bytes(pixels, names) + ARRAY_BYTES_PER_PIXEL * arrays * pixels


def picture_need(shape, config):
    """Bytes a render of `shape` needs whatever its tiles: its canvas's own arrays, the
    history on disk."""
    margin = 2 * config.edge_margin
    return FIXED_BYTES + ARRAY_BYTES_PER_PIXEL * (
        WORKING_ARRAYS * (shape[0] + margin) * (shape[1] + margin) + shape[0] * shape[1])


def choose_tile_size(shape, config, available, disk=False):
    """The largest tiles (of 2048, 1536, 1024, 768, 512 px a side) with which a render of
    `shape` fits in `available` bytes; None if even the smallest do not. `disk`: a
    level's history may go to disk (`place_history`)."""
    # A picture too large for its own arrays is refused without cutting it into (for
    # 100000x100000 px) ~100k tiles first.
    if picture_need(shape, config) > available:
        return None
    for size in (2048, 1536, 1024, 768, 512):
        if size >= max(shape):
            continue
        levels = place_history(plan(shape, config, tile_size=size), available if disk else None)
        if memory_need(levels) <= available:
            return size
    return None


def piece_work(level):
    """Relative cost of one evaluation of each piece of a level: pixels run through
    the network, weighted by the time of the network down to the level's deepest
    layer (`art.plan.layers.time_share`); an exact tiled evaluation's extra forward pass
    (for the Grams) counted as a third of a forward+backward."""
    share = layers.time_share(layers.deepest(level.config.layer_names))
    if not level.tiles:
        return [share * level.pixels]
    outer = [share * t.outer_shape[0] * t.outer_shape[1] for t in level.tiles]
    return outer if level.config.tile_mode == "independent" else [sum(outer) * 4.0 / 3.0]


def too_big(what, need, available, remedy, how="about", where=""):
    """The one refusal of work that does not fit in memory: what needs how many GB, what
    this machine has, and what to do."""
    return ArtError("%s needs %s %.1f GB%s and this machine has %.1f GB available; %s"
                    % (what, how, need / 1e9, where, available / 1e9, remedy))


def fit(shape, config, available=None):
    """The levels of a render of `shape` (height, width) fitted to `available` bytes.

    A picture that would not fit gets tiles chosen for it, unless the config gives
    them; then, if it still would not fit, its finest levels' L-BFGS history goes to
    the work folder (`place_history`): a level's history is 20 pictures' worth, its
    other arrays 8. One that fits in no tiling is refused, with what it needs.

    Returns:
      (levels, note): the `Level`s, and a line saying what was chosen for the user
      (None when nothing was).
    """
    what = "a %dx%d picture" % (shape[1], shape[0])
    # The picture's own arrays are needed whatever the tiles: a picture too large for
    # them is refused before any plan is made (one of 1000000 px would be cut into
    # millions of tiles first).
    floor = picture_need(shape, config)
    if available is not None and floor > 0.9 * available:
        raise too_big(what, floor, available, "choose a smaller --size", how="at least",
                      where=" even in tiles with its history on disk (its own arrays)")
    levels = place_history(plan(shape, config), None)
    asked = bool(config.tiles or config.tile_size)
    # What art chooses for the user (one piece, or tiles) leaves a tenth of the memory
    # spare: the estimate is within ~10% (measured in docs/prints.md), and running out
    # of memory would kill the render. Tiles the user asked for are refused only when
    # they do not fit at all.
    if available is None or memory_need(levels) <= (1.0 if asked else 0.9) * available:
        return levels, None
    budget = (1.0 if asked else 0.9) * available
    note = None
    if not asked:
        # Tiles first, with every history in memory: a print that fitted before this
        # could go to disk is painted as it was.
        size = choose_tile_size(shape, config, budget)
        if size is None:
            size = choose_tile_size(shape, config, budget, disk=True)
        if size is None:
            smallest = place_history(plan(shape, config, tile_size=512), budget)
            raise too_big(what, memory_need(smallest), available, "choose a smaller --size",
                          where=" even in tiles of 512 px with its history on disk")
        levels = plan(shape, config, tile_size=size)
        note = "%s does not fit in one piece here: painting it in %d tiles of about %d px" \
            % (what, len(levels[-1].tiles), size)
    levels = place_history(levels, budget)
    if memory_need(levels) > budget:
        raise too_big(what, memory_need(levels), available,
                      "use more --tiles or a smaller --size", where=" in these tiles")
    on_disk = [level for level in levels if level.history_on_disk]
    if on_disk:
        gb = sum(ARRAY_BYTES_PER_PIXEL * 2 * MAXCOR * level.pixels for level in on_disk[-1:]) / 1e9
        note = (note + "; " if note else "") + "the optimiser's history of level%s %s " \
            "(%.0f GB) in the work folder, not in memory" % (
                "s"[:len(on_disk) > 1], ", ".join(str(lv.index + 1) for lv in on_disk), gb)
    return levels, note
