"""Colour preservation: statistics of match_color, YCbCr checks of luminance transfer."""

import numpy as np
import pytest

from art.engine.color import luminance, luminance_transfer, match_color, match_luminance


def stats(image):
    pixels = np.asarray(image, np.float64).reshape(-1, 3)
    return pixels.mean(axis=0), np.cov(pixels, rowvar=False, bias=True)


def style_and_content(seed=0):
    rng = np.random.default_rng(seed)
    style = rng.uniform(90, 160, (40, 50, 3))
    style[..., 2] = 0.5 * style[..., 0] + 0.5 * rng.uniform(90, 160, (40, 50))
    mix = np.array([[14.0, 0, 0], [6, 9, 0], [-3, 4, 7]])
    content = np.array([120.0, 100.0, 90.0]) + rng.normal(size=(30, 20, 3)) @ mix.T
    return style.astype(np.float32), content.astype(np.float32)


def ycbcr(image):
    """JPEG's full-range YCbCr (ITU-T T.871), written out independently of art.engine.color."""
    r, g, b = (np.asarray(image, np.float64)[..., i] for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b
    return y, cb, cr


def test_match_color_gives_the_content_mean_and_covariance():
    style, content = style_and_content()
    out = match_color(style, content)
    assert out.shape == style.shape and out.dtype == np.float32
    assert 0 < out.min() and out.max() < 255  # no clipping: the statistics are exact
    mean_out, cov_out = stats(out)
    mean_c, cov_c = stats(content)
    np.testing.assert_allclose(mean_out, mean_c, atol=1e-3)
    np.testing.assert_allclose(cov_out, cov_c, atol=1e-2)
    assert not np.allclose(stats(style)[1], cov_c, atol=1)  # the test is not trivial


def test_match_color_treats_channels_alike():
    # The symmetric square-root map commutes with a permutation of the
    # channels; a Cholesky-factor map would not.
    style, content = style_and_content(1)
    order = [2, 0, 1]
    out = match_color(style, content)
    permuted = match_color(style[..., order], content[..., order])
    np.testing.assert_allclose(permuted, out[..., order], atol=1e-3)


def test_match_color_leaves_a_matching_style_alone():
    style, _ = style_and_content(2)
    np.testing.assert_allclose(match_color(style, style), style, atol=1e-3)


def test_match_color_onto_grey_content_is_grey():
    style, _ = style_and_content(3)
    grey = np.random.default_rng(3).uniform(50, 200, (16, 16, 1)).repeat(3, axis=2)
    out = match_color(style, grey.astype(np.float32))
    assert np.abs(out - out.mean(axis=2, keepdims=True)).max() < 0.05
    assert out.std() > 10


def test_match_color_of_a_flat_style_is_the_content_mean():
    _, content = style_and_content(4)
    out = match_color(np.full((8, 8, 3), 30.0, np.float32), content)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[3, 3], content.reshape(-1, 3).mean(axis=0), atol=1e-3)


def test_match_color_clips():
    rng = np.random.default_rng(5)
    out = match_color(rng.uniform(0, 255, (20, 20, 3)), rng.uniform(0, 255, (20, 20, 3)))
    assert out.min() >= 0 and out.max() <= 255


def test_luminance_transfer_keeps_stylised_luma_and_content_chroma():
    rng = np.random.default_rng(6)
    stylised = rng.uniform(70, 190, (20, 30, 3)).astype(np.float32)
    content = (rng.uniform(80, 180, (20, 30, 1)) + rng.uniform(-25, 25, (20, 30, 3))).astype(np.float32)
    out = luminance_transfer(stylised, content)
    assert out.shape == content.shape and out.dtype == np.float32
    assert 0 < out.min() and out.max() < 255  # in gamut, so nothing was clipped
    y_out, cb_out, cr_out = ycbcr(out)
    y_s, _, _ = ycbcr(stylised)
    _, cb_c, cr_c = ycbcr(content)
    np.testing.assert_allclose(y_out, y_s, atol=1e-3)
    np.testing.assert_allclose(cb_out, cb_c, atol=1e-3)
    np.testing.assert_allclose(cr_out, cr_c, atol=1e-3)
    assert not np.allclose(y_out, ycbcr(content)[0], atol=1)


def test_luminance_transfer_with_grey_content_is_grey():
    rng = np.random.default_rng(7)
    stylised = rng.uniform(0, 255, (10, 10, 3)).astype(np.float32)
    grey = np.full((10, 10, 3), 128.0, np.float32)
    out = luminance_transfer(stylised, grey)
    np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-3)
    np.testing.assert_allclose(out[..., 1], out[..., 2], atol=1e-3)
    np.testing.assert_allclose(out[..., 0], ycbcr(stylised)[0], atol=1e-3)


def test_luminance_transfer_clips_and_checks_shapes():
    white = np.full((4, 4, 3), 255.0, np.float32)
    red = np.zeros((4, 4, 3), np.float32)
    red[..., 0] = 255
    out = luminance_transfer(white, red)
    assert out.min() >= 0 and out.max() <= 255
    with pytest.raises(ValueError, match="shape"):
        luminance_transfer(white, np.zeros((4, 5, 3), np.float32))


def test_luminance():
    image = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [90, 90, 90]]], np.float32)
    out = luminance(image)
    assert out.shape == image.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, 1], [76.245, 149.685, 29.07, 90], atol=1e-3)
    assert np.all(out[..., 0] == out[..., 2])


def test_match_luminance():
    style, content = style_and_content(8)
    out = match_luminance(style, content)
    assert out.shape == style.shape
    y_out, y_c = ycbcr(out)[0], ycbcr(content)[0]
    assert y_out.mean() == pytest.approx(y_c.mean(), abs=1e-3)
    assert y_out.std() == pytest.approx(y_c.std(), abs=1e-3)
    np.testing.assert_allclose(out[..., 0], out[..., 1])
