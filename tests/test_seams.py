"""Seam metrics on pictures with and without seams."""

import numpy as np

from art.plan import tiling
from art.quality import seams

rng = np.random.default_rng(3)


def texture(shape, seed):
    return np.random.default_rng(seed).uniform(0, 255, shape)


def test_no_seam_scores_about_one():
    image = texture((256, 256, 3), 0)
    ratios = seams.sdr(image, [128], [128])
    assert all(0.8 < r < 1.25 for r in ratios.values()), ratios
    assert 0.8 < seams.hfr(image, [128], [128]) < 1.25


def test_a_hard_seam_is_found():
    """Two smooth textures meeting at column 128: a step there and nowhere else."""
    left = np.cumsum(rng.normal(0, 1, (256, 128)), axis=1)
    right = np.cumsum(rng.normal(0, 1, (256, 128)), axis=1) + 40
    image = np.concatenate([left, right], axis=1)
    assert seams.sdr(image, [], [128])[("col", 128)] > 10
    assert seams.hfr(image, [], [128]) > 1.5


def test_a_wide_feather_smooths_texture_away():
    a, b = texture((256, 256), 1), texture((256, 256), 2)
    ramp = np.clip((np.arange(256) - 96) / 64.0, 0, 1)[None, :]
    blended = a * (1 - ramp) + b * ramp
    assert seams.hfr(blended, [], [128]) < 0.8


def test_borders_are_the_inner_edges():
    tiles = tiling.tiles_for((300, 500), n_tiles=6, names=["conv5_1"])
    rows, cols = seams.borders(tiles, (300, 500))
    assert rows == [144] and cols == [160, 336]
