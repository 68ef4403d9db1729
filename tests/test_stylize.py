"""The picture in one piece on random weights: targets, blending, the one-variable graph,
and a one-level render painting with it (the loss falling, reproducibility)."""

import dataclasses

import numpy as np
import pytest

from art.config import PaintConfig
from art.errors import ArtError
from conftest import paint_one
from test_terms import numpy_gram

rng = np.random.default_rng(0)
CONTENT = rng.uniform(0, 255, (32, 40, 3)).astype(np.float32)
STYLES = [rng.uniform(0, 255, (24, 24, 3)).astype(np.float32),
          np.tile(np.linspace(0, 255, 36, dtype=np.float32)[:, None, None], (1, 28, 3))]


def small_config(**kw):
    base = dict(iterations=8, print_every=0, style_weight=1.0, style_layers={"conv1_1": 1.0, "conv2_1": 1.0},
                content_layers={"conv2_2": 1.0})
    base.update(kw)
    return PaintConfig(**base)


def test_style_targets_blend_the_grams(tf1, random_weights):
    from art.engine import untiled
    config = small_config()
    single = [untiled.style_targets(random_weights, [s], None, config) for s in STYLES]
    blended = untiled.style_targets(random_weights, STYLES, [3.0, 1.0], config)
    assert sorted(blended) == ["style/conv1_1", "style/conv2_1"]
    for key in blended:
        np.testing.assert_allclose(blended[key], 0.75 * single[0][key] + 0.25 * single[1][key],
                                   rtol=1e-5)
    # The Gram is the numpy Gram of the features.
    features = untiled.content_targets(random_weights, STYLES[0],
                                       PaintConfig(content_layers={"conv1_1": 1.0}))
    np.testing.assert_allclose(single[0]["style/conv1_1"], numpy_gram(features["conv1_1"]),
                               rtol=1e-4)


def test_bad_blends_are_refused(tf1, random_weights):
    from art.engine import untiled
    with pytest.raises(ArtError, match="2 weights for 1 style"):
        untiled.style_targets(random_weights, STYLES[:1], [1.0, 2.0], small_config())
    with pytest.raises(ArtError, match=">= 0"):
        untiled.style_targets(random_weights, STYLES, [1.0, -2.0], small_config())


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_paint_lowers_the_loss_and_repeats_exactly(tf1, random_weights, optimizer):
    config = small_config(optimizer=optimizer, init="noise", seed=3, learning_rate=5.0)
    seen = []
    result = paint_one(random_weights, CONTENT, STYLES[:1], config, progress=seen.append)
    assert result.status == "done" and result.iterations == 8 == len(seen) == len(result.history)
    assert result.evaluations >= result.iterations
    assert result.history[-1]["total"] < 0.5 * result.history[0]["total"]
    assert set(result.history[0]) >= {"total", "content", "style", "tv", "style/conv1_1",
                                      "content/conv2_2"}
    assert result.image.shape == CONTENT.shape
    assert result.image.min() >= 0 and result.image.max() <= 255
    np.testing.assert_array_equal(seen[-1].image(), result.image)
    again = paint_one(random_weights, CONTENT, STYLES[:1], config)
    np.testing.assert_array_equal(again.image, result.image)


def test_too_small_for_the_layers(tf1, random_weights):
    config = small_config(style_layers={"conv5_1": 1.0})
    with pytest.raises(ArtError, match="needs at least 16 px"):
        paint_one(random_weights, CONTENT[:12], STYLES[:1], config)


def test_interrupt_keeps_the_last_iterate(tf1, random_weights):
    config = small_config(iterations=50)
    seen = []

    def callback(p):
        seen.append(p.image())
        if p.iteration == 3:
            raise KeyboardInterrupt
    result = paint_one(random_weights, CONTENT, STYLES[:1], config, progress=callback)
    assert result.status == "interrupted" and result.iterations == 3
    np.testing.assert_array_equal(result.image, seen[-1])


def test_config_round_trips_through_the_report():
    config = small_config(style_blend=[1.0, 2.0])
    assert PaintConfig(**config.to_dict()) == config
    assert dataclasses.asdict(PaintConfig())["content_layers"] == {"conv4_2": 1.0}


def test_style_only_and_content_only_runs(tf1, random_weights):
    """Reconstructions are paintings with one of the layer dicts empty."""
    for kw in (dict(content_layers={}), dict(style_layers={})):
        config = small_config(init="noise", iterations=5, **kw)
        result = paint_one(random_weights, CONTENT, STYLES[:1], config)
        assert result.history[-1]["total"] < result.history[0]["total"]
    with pytest.raises(ArtError, match="no content or style layers"):
        paint_one(random_weights, CONTENT, STYLES[:1], small_config(content_layers={}, style_layers={}))


def test_the_one_piece_graph_has_one_variable_and_frozen_targets(tf1, random_weights):
    """The users' promise: the picture is the graph's one trainable variable, and the
    targets are constants in it (no placeholder feeds them)."""
    from art.engine import untiled
    config = small_config()
    content_t = untiled.content_targets(random_weights, CONTENT, config)
    style_t = untiled.style_targets(random_weights, STYLES[:1], None, config)
    with untiled.WholeEvaluator(random_weights, config, CONTENT.shape, content_t, style_t) as ev:
        with ev.graph.as_default():
            variables = tf1.trainable_variables()
        assert variables == [ev.image] and ev.image.shape == (1,) + CONTENT.shape
        placeholders = [op.name for op in ev.graph.get_operations() if op.type == "Placeholder"]
        assert placeholders == ["initial"]   # the variable's initial value, nothing else
        constants = [op.get_attr("value") for op in ev.graph.get_operations() if op.type == "Const"]
        target = content_t["conv2_2"]
        assert any(tuple(d.size for d in c.tensor_shape.dim) == target.shape for c in constants)


def test_whole_evaluator_matches_the_graph(tf1, random_weights):
    """The numpy-facing evaluator gives the loss of `evaluate` and TF's own gradient."""
    from art.engine import untiled
    config = small_config()
    content_t = untiled.content_targets(random_weights, CONTENT, config)
    style_t = untiled.style_targets(random_weights, STYLES[:1], None, config)
    x = np.random.default_rng(3).uniform(0, 255, CONTENT.shape).astype(np.float32)
    with untiled.WholeEvaluator(random_weights, config, CONTENT.shape, content_t, style_t) as ev:
        loss, grad, terms = ev.evaluate(x)
        step = np.zeros_like(x)
        step[5, 7, 1] = 0.5
        slope = (ev.evaluate(x + step)[0] - ev.evaluate(x - step)[0]) / 1.0
    reference = untiled.evaluate(random_weights, [x], config, content_t, style_t)[0]
    assert loss == pytest.approx(reference["total"], rel=1e-5)
    assert terms["style"] == pytest.approx(reference["style"], rel=1e-5)
    assert grad.shape == x.shape
    assert slope == pytest.approx(grad[5, 7, 1], rel=0.05, abs=1e-3 * float(np.abs(grad).max()))


def test_tiling_settings_are_checked():
    with pytest.raises(ArtError, match="not both"):
        small_config(tiles=2, tile_size=64).check()
    with pytest.raises(ArtError, match=">= 0"):
        small_config(tiles=-1).check()
    from art.plan import levels
    with pytest.raises(ArtError, match="10000 tiles is more than a 64x64 picture's 16 cells"):
        levels.plan((64, 64), small_config(tiles=10_000, edge_margin=0))
