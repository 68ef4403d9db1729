"""Tile geometry for exact tiled evaluation: pure numpy, no TensorFlow.

A picture is cut into a grid of inner boxes that cover it exactly once. Each
tile is evaluated on its outer box: the inner box plus a margin, clipped at
the picture's border. Two facts make the tiled loss and gradient equal to the
untiled ones (see `art.engine.tiled`):

* Alignment. Every box edge inside the picture lies on the 16-px grid of
  VGG19's four 2x2 poolings, so a tile's positions at every layer are the
  whole picture's positions, shifted by a whole number. At the right and
  bottom border a box ends at the picture's edge, and because pooling is
  VALID, a layer after p poolings has floor(side / 2**p) positions in both.
* Margin. A position of a layer depends on the pixels of its own 2**p-px cell
  plus a `reach` on each side (70 px for conv5_1: receptive field 16 + 2 * 70
  = 156 px). With a margin of at least the reach, a tile computes its inner
  positions' features, and their derivatives with respect to every pixel,
  exactly as the whole picture would.

Boxes are (y0, y1, x0, x1), half-open, in pixels or in a layer's positions.
"""

import dataclasses
import math

from art.errors import ArtError
from art.plan import layers

# 2**4: VGG19 pools four times. Boxes on this grid line up at every layer.
GRID = 16
def _round_up(value, step=GRID):
    return -(-value // step) * step


def required_margin(names):
    """The smallest margin that keeps tiles exact for the layers `names`: the
    deepest layer's reach, rounded up to the 16-px grid (conv5_1: 80)."""
    return _round_up(layers.reach(layers.deepest(names)))


@dataclasses.dataclass(frozen=True)
class Tile:
    """One tile: where its pixels come from and which positions it owns.

    Attributes:
      index: (row, column) in the grid.
      inner: box of the pixels this tile owns; the inner boxes of a grid cover
        the picture exactly once.
      outer: box of the pixels the tile is evaluated on: inner plus the margin,
        clipped at the border; its top-left corner is on the 16-px grid.
      boxes: `boxes[p]` is the inner box at the resolution after p poolings,
        in the whole picture's positions; they cover each layer's positions
        exactly once, too.
    """
    index: tuple
    inner: tuple
    outer: tuple
    boxes: tuple

    @property
    def outer_shape(self):
        y0, y1, x0, x1 = self.outer
        return (y1 - y0, x1 - x0)

    def at(self, name):
        """The inner box at the layer `name`, in the whole picture's positions."""
        return self.boxes[layers.depth(name)]

    def local(self, name):
        """The inner box at the layer `name`, in the positions of the tile's outer box."""
        p = layers.depth(name)
        y0, y1, x0, x1 = self.boxes[p]
        # The outer corner is on the 16-px grid, so the shift is exact.
        oy, ox = self.outer[0] >> p, self.outer[2] >> p
        return (y0 - oy, y1 - oy, x0 - ox, x1 - ox)

    def inner_in_outer(self):
        """The inner box in the pixels of the outer box."""
        y0, y1, x0, x1 = self.inner
        return (y0 - self.outer[0], y1 - self.outer[0], x0 - self.outer[2], x1 - self.outer[2])


def crop(array, box):
    """array[y0:y1, x0:x1] of an H x W x ... array."""
    y0, y1, x0, x1 = box
    return array[y0:y1, x0:x1]


def _check_shape(shape):
    if len(shape) < 2 or any(int(side) != side or side < 1 for side in shape[:2]):
        raise ArtError("picture shape %r: expected (height, width) of positive integers"
                       % (tuple(shape),))
    return int(shape[0]), int(shape[1])


def _cells(side):
    """How many parts a side can be cut into, each at least one 16-px cell."""
    return max(1, side // GRID)


def _layouts(n_tiles, h, w):
    return [(rows, n_tiles // rows) for rows in range(1, n_tiles + 1)
            if n_tiles % rows == 0 and rows <= _cells(h) and n_tiles // rows <= _cells(w)]


def grid(n_tiles, shape):
    """Rows and columns for `n_tiles` tiles on a picture of `shape` (height, width).

    Of the layouts with rows * columns == n_tiles, the one whose tiles are
    closest to square wins (6 on a landscape picture: 2 rows x 3 columns); a
    tie goes to fewer rows. A prime count can only be a strip (5: 1 x 5 on a
    landscape picture) and is accepted when the strip fits; every part must
    be at least 16 px.

    Returns:
      (rows, columns).
    """
    h, w = _check_shape(shape)
    if isinstance(n_tiles, bool) or int(n_tiles) != n_tiles or n_tiles < 1:
        raise ArtError("tile count %r: expected a whole number >= 1" % (n_tiles,))
    n_tiles = int(n_tiles)
    cells = _cells(h) * _cells(w)
    if n_tiles > cells:
        raise ArtError("%d tiles is more than a %dx%d picture's %d cells of %dx%d px; "
                       "use at most %d" % (n_tiles, w, h, cells, GRID, GRID, cells))
    layouts = _layouts(n_tiles, h, w)
    if not layouts:
        fits = [n for n in range(1, cells + 1) if _layouts(n, h, w)]
        near = sorted(fits, key=lambda n: (abs(n - n_tiles), n))[:2]
        raise ArtError("%d tiles cannot be laid out as rows x columns of at least %d px on a "
                       "%dx%d picture; valid nearby: %s" % (n_tiles, GRID, w, h,
                                                             ", ".join(map(str, sorted(near)))))
    # Rounded, so that mirror layouts (2x3 and 3x2 on a square) tie exactly.
    return min(layouts, key=lambda rc: (round(abs(math.log(w * rc[0] / (h * rc[1]))), 9), rc[0]))


def split(side, parts):
    """Boundaries 0 = b0 < b1 < ... < b_parts = side, inner ones on the 16-px grid, parts as
    even as the grid allows."""
    if parts > _cells(side):
        raise ArtError("cannot cut %d px into %d parts of at least %d px" % (side, parts, GRID))
    inner = [GRID * math.floor(k * side / (GRID * parts) + 0.5) for k in range(1, parts)]
    return [0] + inner + [side]


def tiles_for(shape, n_tiles=None, tile_size=None, margin=None, names=("conv5_1",)):
    """Cut a picture into tiles for exact tiled evaluation.

    Args:
      shape: (height, width, ...) of the picture.
      n_tiles: how many tiles (laid out by `grid`); or
      tile_size: the longest inner side wanted, in pixels (>= 16); inner sides
        come out at most this, give or take the 16-px grid's rounding.
        Neither: one tile.
      margin: pixels of context around each inner box; rounded up to the
        16-px grid. Default: the smallest exact one for `names`.
      names: the layers the loss reads; the deepest sets the required margin.

    Returns:
      list of `Tile`, row by row.
    """
    h, w = _check_shape(shape)
    names = list(names)
    layers.check_names(names)
    need = required_margin(names)
    if margin is None:
        margin = need
    if isinstance(margin, bool) or int(margin) != margin or margin < 0:
        raise ArtError("tile margin %r: expected a whole number of pixels >= 0" % (margin,))
    margin = _round_up(int(margin))
    if margin < need:
        raise ArtError("tile margin %d px is too small for layer %s: exact tiling needs at least "
                       "%d px (its reach of %d px, on the %d-px grid)"
                       % (margin, layers.deepest(names), need, layers.reach(layers.deepest(names)), GRID))
    if n_tiles is not None and tile_size is not None:
        raise ArtError("give a tile count or a tile size, not both (got %s tiles and %s px)"
                       % (n_tiles, tile_size))
    if tile_size is not None:
        if isinstance(tile_size, bool) or int(tile_size) != tile_size or tile_size < GRID:
            raise ArtError("tile size %r: expected a whole number of pixels >= %d"
                           % (tile_size, GRID))
        rows = min(-(-h // int(tile_size)), _cells(h))
        cols = min(-(-w // int(tile_size)), _cells(w))
    else:
        rows, cols = grid(1 if n_tiles is None else n_tiles, (h, w))
    ys, xs = split(h, rows), split(w, cols)
    tiles = []
    for r in range(rows):
        for c in range(cols):
            inner = (ys[r], ys[r + 1], xs[c], xs[c + 1])
            outer = (max(0, ys[r] - margin), min(h, ys[r + 1] + margin),
                     max(0, xs[c] - margin), min(w, xs[c + 1] + margin))
            tiles.append(Tile(index=(r, c), inner=inner, outer=outer,
                              boxes=tuple(_depth_box(inner, (h, w), p) for p in range(layers.DEPTHS))))
    return tiles


def _depth_box(box, shape, p):
    """`box` at the resolution after p poolings; an edge at the border maps to the
    layer's own edge, floor(side / 2**p), since VALID pooling drops the remainder."""
    h, w = shape
    y0, y1, x0, x1 = box
    return (y0 >> p, (h >> p) if y1 == h else y1 >> p,
            x0 >> p, (w >> p) if x1 == w else x1 >> p)


def check(tiles, shape, names):
    """Raise ArtError unless `tiles` evaluate the layers `names` of a `shape` picture exactly:
    inner boxes cover it once, outer boxes start on the grid and hold the required margin
    wherever they are not clipped by the border."""
    h, w = _check_shape(shape)
    need = required_margin(names)
    covered = 0
    for tile in tiles:
        y0, y1, x0, x1 = tile.inner
        oy0, oy1, ox0, ox1 = tile.outer
        if not (0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w):
            raise ArtError("tile %s: inner box %s is outside the %dx%d picture"
                           % (tile.index, tile.inner, w, h))
        for box in (tile.inner, tile.outer):
            if box[0] % GRID or box[2] % GRID or (box[1] != h and box[1] % GRID) \
                    or (box[3] != w and box[3] % GRID):
                raise ArtError("tile %s: box %s is not on the %d-px grid"
                               % (tile.index, box, GRID))
        if tuple(tile.boxes) != tuple(_depth_box(tile.inner, (h, w), p) for p in range(layers.DEPTHS)):
            raise ArtError("tile %s: its per-layer boxes do not match its inner box"
                           % (tile.index,))
        for inside, outside, border in ((y0 - oy0, oy0, 0), (oy1 - y1, oy1, h),
                                        (x0 - ox0, ox0, 0), (ox1 - x1, ox1, w)):
            if outside != border and inside < need:
                raise ArtError("tile %s: margin %d px is too small for layer %s; exact tiling "
                               "needs %d px" % (tile.index, inside, layers.deepest(names), need))
        covered += (y1 - y0) * (x1 - x0)
    # Boxes inside the picture whose areas sum to its area cover it once iff they do not
    # overlap; checking the pairwise overlaps is cheap for any sensible tile count.
    boxes = [t.inner for t in tiles]
    overlap = any(max(a[0], b[0]) < min(a[1], b[1]) and max(a[2], b[2]) < min(a[3], b[3])
                  for i, a in enumerate(boxes) for b in boxes[i + 1:])
    if covered != h * w or overlap:
        raise ArtError("the tiles' inner boxes do not cover the %dx%d picture exactly once"
                       % (w, h))
