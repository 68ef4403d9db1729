"""Tile geometry, pure numpy: coverage, alignment, margins, per-layer boxes, refusals."""

import numpy as np
import pytest

from art.errors import ArtError
from art.plan import layers, tiling

DEEP = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv4_2"]
SHAPES = [(203, 317), (67, 93), (16, 16), (17, 300), (512, 256), (160, 224)]


def field_by_index_mapping(name):
    """Receptive field of one position of `name`, by mapping its index interval back to
    the input: a 3x3 SAME conv's output i reads inputs i-1..i+1, a 2x2 pool's output i
    reads 2i, 2i+1. An independent route to what `layers.reach` derives forwards."""
    lo = hi = 0
    for _, channels in reversed(layers.TABLE[:layers.NAMES.index(name) + 1]):
        lo, hi = (2 * lo, 2 * hi + 1) if channels is None else (lo - 1, hi + 1)
    return hi - lo + 1, -lo


def test_receptive_fields():
    # FACTS.md: relu4_2 ~84 px, relu5_1 156 px.
    assert layers.receptive_field("conv5_1") == 156
    assert layers.receptive_field("conv4_2") == 84
    assert layers.receptive_field("conv1_1") == 3
    for name in layers.NAMES:
        size, before = field_by_index_mapping(name)
        assert layers.receptive_field(name) == size
        assert layers.reach(name) == before
    assert tiling.required_margin(["conv5_1", "conv1_1"]) == 80
    assert tiling.required_margin(["conv3_1"]) == 16
    assert [layers.depth(n) for n in ("conv1_2", "pool1", "conv2_1", "conv5_1")] == [0, 1, 1, 4]


@pytest.mark.parametrize("n, shape, expected", [
    (6, (1080, 1920), (2, 3)), (6, (1920, 1080), (3, 2)), (4, (300, 300), (2, 2)),
    (6, (300, 300), (2, 3)), (1, (20, 20), (1, 1)), (5, (1080, 1920), (1, 5)),
    (7, (1920, 1080), (7, 1)), (8, (100, 1600), (1, 8)), (2, (16, 100), (1, 2)),
])
def test_grid_suits_the_aspect_ratio(n, shape, expected):
    assert tiling.grid(n, shape) == expected


@pytest.mark.parametrize("n, shape, message", [
    (0, (100, 100), "tile count 0"), (-2, (100, 100), "tile count -2"),
    (2.5, (100, 100), "tile count 2.5"), (True, (100, 100), "tile count True"),
    (37, (100, 100), "37 tiles is more than a 100x100 picture's 36 cells"),
    (7, (100, 100), "7 tiles cannot be laid out .* valid nearby: 6, 8"),
    (2, (15, 20), "2 tiles is more than a 20x15 picture's 1 cells"),
])
def test_grid_refusals_name_the_value(n, shape, message):
    with pytest.raises(ArtError, match=message):
        tiling.grid(n, shape)


def layouts():
    for shape in SHAPES:
        cells = max(1, shape[0] // 16) * max(1, shape[1] // 16)
        for n in range(1, min(cells, 8) + 1):
            if tiling._layouts(n, *shape):
                yield shape, dict(n_tiles=n)
        for size in (16, 50, 100, 1000):
            yield shape, dict(tile_size=size)


@pytest.mark.parametrize("shape, kw", list(layouts()))
def test_tiles_cover_every_layer_once_aligned_with_margins(shape, kw):
    h, w = shape
    tiles = tiling.tiles_for(shape, margin=96, **kw)
    if "n_tiles" in kw:
        assert len(tiles) == kw["n_tiles"]
    else:
        sides = [max(t.inner[1] - t.inner[0], t.inner[3] - t.inner[2]) for t in tiles]
        assert max(sides) <= kw["tile_size"] + tiling.GRID or len(tiles) == \
            max(1, h // 16) * max(1, w // 16)
    count = np.zeros(shape, int)
    for t in tiles:
        y0, y1, x0, x1 = t.inner
        oy0, oy1, ox0, ox1 = t.outer
        count[y0:y1, x0:x1] += 1
        assert 0 <= oy0 <= y0 < y1 <= oy1 <= h and 0 <= ox0 <= x0 < x1 <= ox1 <= w
        # The margin is the requested one, except where the border clips it.
        assert (y0 - oy0, oy1 - y1, x0 - ox0, ox1 - x1) == (
            min(96, y0), min(96, h - y1), min(96, x0), min(96, w - x1))
        # Every edge inside the picture is on the 16-px grid.
        for edge, border in ((y0, 0), (y1, h), (x0, 0), (x1, w), (oy0, 0), (oy1, h),
                             (ox0, 0), (ox1, w)):
            assert edge == border or edge % 16 == 0
        assert t.inner_in_outer() == (y0 - oy0, y1 - oy0, x0 - ox0, x1 - ox0)
    np.testing.assert_array_equal(count, 1)
    # At each layer, floor(side / 2**p) positions (VALID pooling), each owned by one tile,
    # and a tile's own positions of its outer box line up with the picture's.
    for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"):
        p = layers.depth(name)
        count = np.zeros((h >> p, w >> p), int)
        for t in tiles:
            y0, y1, x0, x1 = t.at(name)
            count[y0:y1, x0:x1] += 1
            oh, ow = t.outer_shape
            ly0, ly1, lx0, lx1 = t.local(name)
            assert 0 <= ly0 <= ly1 <= oh >> p and 0 <= lx0 <= lx1 <= ow >> p
            assert (ly0 + (t.outer[0] >> p), lx0 + (t.outer[2] >> p)) == (y0, x0)
            # An inner edge inside the picture is on the grid, so it maps exactly.
            assert y0 << p == t.inner[0] and x0 << p == t.inner[2]
            if t.inner[1] != h:
                assert y1 << p == t.inner[1]
        np.testing.assert_array_equal(count, 1)
    tiling.check(tiles, shape, DEEP)


def test_odd_sizes_end_each_layer_at_its_own_edge():
    tiles = tiling.tiles_for((203, 317), n_tiles=6)
    last = tiles[-1]
    assert last.inner[1:] == (203, 208, 317) and last.inner[0] % 16 == 0
    assert [last.boxes[p][1] for p in range(5)] == [203, 101, 50, 25, 12]
    assert [last.boxes[p][3] for p in range(5)] == [317, 158, 79, 39, 19]
    # The default margin is conv5_1's reach on the grid, 80 px.
    middle = tiles[1]
    assert middle.inner[2] - middle.outer[2] == 80 and middle.outer[3] - middle.inner[3] == 80


def test_margin_is_rounded_up_to_the_grid():
    tiles = tiling.tiles_for((64, 400), n_tiles=4, margin=20, names=["conv3_1"])
    assert tiles[1].inner[2] - tiles[1].outer[2] == 32


@pytest.mark.parametrize("kw, message", [
    (dict(margin=64), "margin 64 px is too small for layer conv5_1: .* at least 80 px"),
    (dict(margin=-16), "margin -16"),
    (dict(n_tiles=2, tile_size=64), "not both"),
    (dict(tile_size=8), "tile size 8: .* >= 16"),
    (dict(n_tiles=0), "tile count 0"),
    (dict(names=["conv9_9"]), "unknown layer 'conv9_9'"),
])
def test_tiles_for_refusals(kw, message):
    with pytest.raises(ArtError, match=message):
        tiling.tiles_for((100, 100), **kw)
    with pytest.raises(ArtError, match="picture shape"):
        tiling.tiles_for((0, 100))


def test_check_refuses_tiles_that_cannot_be_exact():
    tiles = tiling.tiles_for((32, 272), n_tiles=3, margin=64, names=["conv4_2"])
    tiling.check(tiles, (32, 272), ["conv4_2"])
    with pytest.raises(ArtError,
                       match=r"tile \(0, 0\): margin 64 px is too small for layer conv5_1"):
        tiling.check(tiles, (32, 272), ["conv5_1"])
    with pytest.raises(ArtError, match="exactly once"):
        tiling.check(tiles[:2], (32, 272), ["conv1_1"])
    with pytest.raises(ArtError, match="exactly once"):
        tiling.check(tiles + tiles[:1], (32, 272), ["conv1_1"])
    shifted = tiling.Tile(index=(0, 0), inner=(0, 32, 0, 100), outer=(0, 32, 0, 120),
                          boxes=tiles[0].boxes)
    with pytest.raises(ArtError, match="not on the 16-px grid"):
        tiling.check([shifted], (32, 272), ["conv1_1"])


def test_crop():
    a = np.arange(5 * 7).reshape(5, 7)
    np.testing.assert_array_equal(tiling.crop(a, (1, 3, 2, 5)), a[1:3, 2:5])
