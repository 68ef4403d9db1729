"""The pyramid yardstick: known answers, the whole-picture loss it must equal, its scales."""

import dataclasses

import numpy as np
import pytest

from art.errors import ArtError
from art.files import images
from art.quality import yardstick
from conftest import run_script


def smooth(shape, seed=0):
    """A picture of broad shapes, with little energy at the finest scale."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (shape[0] // 16 + 1, shape[1] // 16 + 1, 3)).astype(np.float32)
    return images.resize(coarse, shape)


@pytest.fixture(scope="module")
def small_scales():
    """Scales down to 32 px and tiles of 48, so a 128x96 picture has three scales and
    its full size is scored in tiles."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yardstick, "COARSEST_SIDE", 32)
        patch.setattr(yardstick, "TILE_SIDE", 48)
        patch.setattr(yardstick, "NATIVE_SIDE", 48)
        yield


@pytest.fixture(scope="module")
def itself(tf1, random_weights, small_scales):
    """The yardstick of a smooth picture that is its own photo and style."""
    picture = smooth((96, 128))
    with yardstick.Yardstick(random_weights, picture, [picture], picture.shape[:2]) as stick:
        yield picture, stick


@pytest.mark.parametrize("side, count", [(300, 1), (512, 1), (1024, 2), (1536, 3),
                                         (3840, 4), (7680, 5)])
def test_scale_count_ends_near_512_px(side, count):
    assert yardstick.scale_count((side // 2, side)) == count


@pytest.mark.slow
def test_a_picture_scored_against_itself_is_zero_at_every_scale(itself):
    picture, stick = itself
    score = stick.score(picture)
    assert [s["shape"] for s in score.scales] == [[96, 128], [48, 64], [24, 32]]
    for s in score.scales:
        assert s["total"] == pytest.approx(0.0, abs=1e-6)
    assert score.detail_ratio == pytest.approx(1.0)


@pytest.mark.slow
def test_a_painting_scored_at_100_percent_against_itself_is_zero(tf1, random_weights,
                                                                  small_scales):
    # One crop, the whole picture: its Grams are the painting's.
    painting = noise((40, 40, 3))
    with yardstick.Yardstick(random_weights, painting, [painting], (40, 40)) as stick:
        score = stick.score(painting)
    assert score.native == pytest.approx(0.0, abs=1e-6)
    assert score.detail_ratio == pytest.approx(1.0)


@pytest.mark.slow
def test_fine_noise_scores_worse_at_full_size_than_at_a_quarter(tf1, random_weights, small_scales):
    # The style is the smooth picture; the picture adds 1-px noise, which a 4x
    # downsampling removes: the style term must see it at k=0 and hardly at k=2.
    style = smooth((96, 128))
    noisy = np.clip(style + np.random.default_rng(1).normal(0, 30, style.shape), 0, 255)
    with yardstick.Yardstick(random_weights, style, [style], style.shape[:2]) as stick:
        score = stick.score(noisy.astype(np.float32))
    by_k = [s["style"] for s in score.scales]
    assert by_k[0] > by_k[1] > by_k[2] > 0
    assert score.fine == pytest.approx(score.scales[0]["style/conv1_1"]
                                       + score.scales[0]["style/conv2_1"])
    assert score.sum == pytest.approx(sum(s["total"] for s in score.scales))


@pytest.mark.slow
def test_each_scale_is_the_whole_picture_loss_at_that_size(tf1, random_weights, small_scales):
    """Tiles or not, L_k is `art.engine.untiled`'s loss (minus TV) of the downsampled picture
    against targets of the resized photo and style."""
    from art.engine import untiled
    content, style = smooth((96, 128), 2), smooth((60, 90), 3)
    picture = np.random.default_rng(4).uniform(0, 255, (96, 128, 3)).astype(np.float32)
    with yardstick.Yardstick(random_weights, content, [style], (96, 128)) as stick:
        score = stick.score(picture)
    config = dataclasses.replace(yardstick.SCORING, tv_weight=0.0)
    for s in score.scales:
        at = tuple(s["shape"])
        content_t = untiled.content_targets(random_weights, images.resize(content, at), config)
        style_t = untiled.style_targets(random_weights, [images.fit(style, max(at))], None, config)
        want = untiled.evaluate(random_weights, [images.resize(picture, at)], config, content_t,
                                style_t)[0]
        for key in ("total", "content", "style/conv1_1", "style/conv5_1"):
            assert s[key] == pytest.approx(want[key], rel=1e-4), (s["k"], key)
    # At 100%: each 48-px crop of the 2x2 grid against the style at its own 60x90.
    native = dataclasses.replace(yardstick.NATIVE)
    style_t = untiled.style_targets(random_weights, [style], None, native)
    boxes = yardstick.crop_boxes((96, 128))
    assert boxes == [(0, 48, 8, 56), (0, 48, 72, 120), (48, 96, 8, 56), (48, 96, 72, 120)]
    by_crop = [untiled.evaluate(random_weights, [picture[y0:y1, x0:x1]], native, {},
                                style_t)[0] for y0, y1, x0, x1 in boxes]
    for n in yardstick.NATIVE_LAYERS:
        assert score.native_layers[n] == pytest.approx(
            np.mean([b["style/" + n] for b in by_crop]), rel=1e-4)
    assert score.native == pytest.approx(sum(score.native_layers.values()))
    from art.quality import seams
    assert score.detail_ratio == pytest.approx(seams.detail(picture) / seams.detail(style))


def test_crops_at_100_percent_are_one_centred_or_a_grid_of_two_per_axis(monkeypatch):
    monkeypatch.setattr(yardstick, "NATIVE_SIDE", 1024)
    assert yardstick.crop_boxes((768, 1024)) == [(0, 768, 128, 896)]
    assert yardstick.crop_boxes((1536, 2048)) == [(256, 1280, 0, 1024), (256, 1280, 1024, 2048)]
    assert len(yardstick.crop_boxes((2160, 3840))) == 4


@pytest.mark.parametrize("shape", [(171, 256), (255, 256), (1023, 2047), (1025, 3000)])
def test_every_crop_lies_inside_the_picture_of_any_size(shape):
    """A 256x171 picture's crop was once (1, 172): a pixel beyond its 171 rows."""
    for y0, y1, x0, x1 in yardstick.crop_boxes(shape):
        assert 0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]
        assert y1 - y0 == x1 - x0 == min(yardstick.NATIVE_SIDE, *shape)


def noise(shape, seed=0, sigma=20.0):
    """Smooth shapes with fine noise: a broad spectrum without a peak."""
    rng = np.random.default_rng(seed)
    return np.clip(smooth(shape, seed) + rng.normal(0, sigma, shape), 0, 255).astype(np.float32)


def test_a_picture_without_a_pattern_has_a_low_mesh_index():
    index, _ = yardstick.mesh_index(noise((512, 512, 3)))
    assert index < 6


@pytest.mark.parametrize("period, axis", [(2, 0), (2, 1), (4, 0), (3, 1)])
def test_a_planted_mesh_scores_high_at_its_frequency(period, axis):
    # A pattern of +-4 grey levels, under noise of 20: faint to the eye at 100%, as
    # the fine levels' mesh was; its peak stands far out of the noise's spectrum.
    picture = noise((512, 512, 3))
    wave = 4.0 * np.cos(2 * np.pi * np.arange(512) / period)
    picture += (wave[:, None, None] if axis == 0 else wave[None, :, None])
    index, at = yardstick.mesh_index(picture)
    assert index > 30
    assert at[axis] == pytest.approx(1.0 / period, abs=1.0 / 256)
    assert at[1 - axis] == 0.0


def test_the_mesh_index_looks_only_beyond_the_broad_strokes():
    # A 10-px stripe (0.1 cycles/px) is a painting's stroke, not a mesh.
    picture = noise((512, 512, 3))
    picture += 8.0 * np.cos(2 * np.pi * np.arange(512) / 10.0)[:, None, None]
    assert yardstick.mesh_index(picture)[0] < 6


@pytest.mark.slow
def test_a_picture_of_another_size_is_refused(itself):
    picture, stick = itself
    with pytest.raises(ArtError, match=r"a 64x48 picture given to the yardstick of 128x96 ones"):
        stick.score(picture[:48, :64])


def test_score_cli_refuses_a_missing_picture_in_one_line(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    images.save_image(str(photo), smooth((40, 40)))
    code, out, err = run_script("score", [tmp_path / "nope.png", "--content", photo,
                                          "--style", photo], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "nope.png" in err
