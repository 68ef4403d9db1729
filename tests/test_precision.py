"""--precision: the choice `auto` makes, and bfloat16 staying close to float32.

bfloat16 keeps 8 bits of mantissa, so its losses differ from float32's by a
fraction of a percent per layer. The tolerances here are what this project
promises (docs/performance.md), checked on a small picture with random weights.
"""

import numpy as np
import pytest

from art.config import PaintConfig
from art.errors import ArtError
from art.plan import precision
from conftest import paint_one

rng = np.random.default_rng(5)
CONTENT = rng.uniform(0, 255, (48, 64, 3)).astype(np.float32)
# As large as the content's long side: a render scales the style to it (--style-scale 1).
STYLE = rng.uniform(0, 255, (64, 64, 3)).astype(np.float32)
# The promises: one evaluation's total loss, and a painted picture's loss
# (judged in float32), within these fractions of float32's; the gradients point
# the same way (cosine).
LOSS_TOLERANCE = 0.02
PAINTED_TOLERANCE = 0.05
GRADIENT_COSINE = 0.99


def config(**kw):
    base = dict(iterations=30, print_every=0, style_layers={"conv1_1": 1.0, "conv2_1": 1.0,
                                                            "conv3_1": 1.0})
    base.update(kw)
    return PaintConfig(**base)


# conftest makes 'auto' float32 for every test; these tests look at the real rule.
NATIVE_BFLOAT16 = precision.native_bfloat16


@pytest.fixture
def real_rule(monkeypatch):
    monkeypatch.setattr(precision, "native_bfloat16", NATIVE_BFLOAT16)


def test_auto_picks_float32_without_native_bfloat16(monkeypatch, real_rule):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "fma", "avx512f"})
    assert precision.choose("auto") == ("float32", "auto: this CPU has no native bfloat16")
    assert precision.of(PaintConfig()) == "float32"


def test_auto_picks_bfloat16_with_native_bfloat16(monkeypatch, real_rule):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert precision.choose("auto") == ("bfloat16", "auto: this CPU has avx512_bf16")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"amx_bf16"})
    assert precision.choose("auto")[0] == "bfloat16"


def test_unreadable_flags_mean_float32(monkeypatch, real_rule):
    def refuse(*args, **kw):
        raise OSError("no /proc here")
    monkeypatch.setattr("builtins.open", refuse)
    assert precision.cpu_flags() == set()
    assert precision.choose("auto")[0] == "float32"


def test_an_explicit_choice_is_kept(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: set())
    assert precision.choose("bfloat16") == ("bfloat16", "asked for")
    assert precision.choose("float32") == ("float32", "asked for")


def test_unknown_precision_is_refused():
    with pytest.raises(ArtError, match="unknown --precision 'fp16'; valid: auto, float32, bfloat16"):
        PaintConfig(precision="fp16").check()


def test_end_points_are_float32_in_bfloat16(tf1, random_weights):
    import tensorflow as tf
    from art.engine import vgg
    with tf.Graph().as_default():
        rgb = tf1.placeholder(tf.float32, (1, 32, 32, 3))
        net = vgg.build(rgb, random_weights, last="conv3_1", precision="bfloat16")
        assert all(t.dtype == tf.float32 for t in net.values())
        convs = [op for op in tf1.get_default_graph().get_operations() if op.type == "Conv2D"]
        assert len(convs) == 5 and all(op.get_attr("T") == tf.bfloat16 for op in convs)


def evaluation(weights, cfg, image):
    from art.engine import untiled
    content_t = untiled.content_targets(weights, CONTENT, cfg)
    style_t = untiled.style_targets(weights, [STYLE], None, cfg)
    with untiled.WholeEvaluator(weights, cfg, CONTENT.shape, content_t, style_t) as evaluator:
        return evaluator.evaluate(image)


@pytest.mark.slow
def test_bfloat16_loss_and_gradient_are_close_to_float32(tf1, random_weights):
    x = np.random.default_rng(1).uniform(0, 255, CONTENT.shape).astype(np.float32)
    loss32, grad32, terms32 = evaluation(random_weights, config(precision="float32"), x)
    loss16, grad16, terms16 = evaluation(random_weights, config(precision="bfloat16"), x)
    assert loss16 != loss32          # the arithmetic did change
    assert loss16 == pytest.approx(loss32, rel=LOSS_TOLERANCE)
    assert terms16["style"] == pytest.approx(terms32["style"], rel=LOSS_TOLERANCE)
    assert terms16["content"] == pytest.approx(terms32["content"], rel=LOSS_TOLERANCE)
    cosine = np.dot(grad16.ravel(), grad32.ravel()) / (np.linalg.norm(grad16) * np.linalg.norm(grad32))
    assert cosine > GRADIENT_COSINE


@pytest.mark.slow
def test_bfloat16_paints_as_well_as_float32(tf1, random_weights):
    """Painted in each precision, both results judged by the float32 loss."""
    results = {p: paint_one(random_weights, CONTENT, [STYLE], config(precision=p)).image
               for p in ("float32", "bfloat16")}
    judge = config(precision="float32")
    loss32 = evaluation(random_weights, judge, results["float32"])[0]
    loss16 = evaluation(random_weights, judge, results["bfloat16"])[0]
    start = evaluation(random_weights, judge, CONTENT)[0]
    assert loss32 < 0.8 * start          # it did paint
    assert loss16 == pytest.approx(loss32, rel=PAINTED_TOLERANCE)
    assert np.abs(results["bfloat16"] - results["float32"]).mean() < 255 * PAINTED_TOLERANCE


def test_the_choice_goes_into_the_render(tf1, random_weights, monkeypatch, real_rule):
    """'auto' is resolved when the graph is built: on a CPU without native bfloat16 it
    paints exactly what float32 paints, on one with it exactly what bfloat16 paints."""

    def painted(precision_name):
        # Two shallow layers: emulated bfloat16 is slow, and the choice shows at any depth.
        return paint_one(random_weights, CONTENT, [STYLE], config(
            iterations=2, precision=precision_name, style_layers={"conv1_1": 1.0},
            content_layers={"conv1_2": 1.0})).image

    monkeypatch.setattr(precision, "cpu_flags", lambda: set())
    without = painted("auto")
    np.testing.assert_array_equal(without, painted("float32"))
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    native = painted("auto")
    np.testing.assert_array_equal(native, painted("bfloat16"))
    assert not np.array_equal(native, without)
