"""Each loss term against an independent numpy reference, through its statistics
and its loss, as the whole picture's graph and the tiles' reduce use them."""

import numpy as np
import pytest

from art.config import PaintConfig


def numpy_gram(f):
    flat = f.reshape(-1, f.shape[-1]).astype(np.float64)
    return flat.T @ flat / flat.shape[0]


rng = np.random.default_rng(0)
# A 6x5 picture: conv1_1 has its positions, conv2_1 (after one pooling) 3x2; real channels.
SHAPE = (6, 5)
F = {"conv1_1": rng.uniform(0, 3, (1, 6, 5, 64)).astype(np.float32),
     "conv2_1": rng.uniform(0, 3, (1, 3, 2, 128)).astype(np.float32)}
T = {k: rng.uniform(0, 3, v.shape).astype(np.float32) for k, v in F.items()}
PIXELS = rng.uniform(0, 255, (1, 6, 5, 3)).astype(np.float32)
# The anchor's target: one low-passed value per pixel and channel.
T["anchor"] = rng.uniform(0, 255, (1, 6, 5, 3)).astype(np.float32)


@pytest.fixture
def run(tf1):
    """run(term, targets, features=F, pixels=PIXELS, box=whole, shape=SHAPE):
    (stats, total, breakdown) of `term`, in float32 as the whole picture's graph."""
    import tensorflow as tf
    from art.engine import terms

    def run(term, targets=None, features=F, pixels=PIXELS, box=None, shape=SHAPE,
            dtype=tf.float32, inputs=T):
        graph = tf.Graph()
        with graph.as_default():
            view = terms.View({k: tf.constant(v) for k, v in features.items()},
                              {k: tf.constant(v) for k, v in inputs.items()}, tf.constant(pixels),
                              box or (0, pixels.shape[1], 0, pixels.shape[2]))
            stats = term.stats(view)
            total, by = term.loss({k: tf.cast(v, dtype) for k, v in stats.items()},
                                  targets or {}, shape, dtype)
            with tf1.Session(graph=graph) as s:
                return s.run([stats, total, by])
    return run


def test_gram_target(run):
    from art.engine import terms
    term = terms.Style({"conv1_1": 1.0}, 1.0)
    stats, _, _ = run(term, {"style/conv1_1": np.zeros((64, 64), np.float32)})
    target = term.target(stats, SHAPE)
    np.testing.assert_allclose(target["style/conv1_1"], numpy_gram(F["conv1_1"]), rtol=1e-5)


def test_content_loss(run):
    from art.engine import terms
    w = {"conv1_1": 0.5, "conv2_1": 2.0}
    _, total, by = run(terms.Content(w, 3.0))
    ref = {k: 3.0 * w[k] * np.mean((F[k].astype(np.float64) - T[k]) ** 2) for k in w}
    for k in w:
        np.testing.assert_allclose(by[k], ref[k], rtol=1e-5)
    np.testing.assert_allclose(total, sum(ref.values()), rtol=1e-5)


def test_a_term_without_layers_is_zero(run):
    from art.engine import terms
    _, total, by = run(terms.Content({}, 1.0))
    assert total == 0 and by == {}


def test_style_loss(run):
    from art.engine import terms
    targets = {"style/" + k: numpy_gram(v).astype(np.float32) for k, v in T.items()}
    w = {"conv1_1": 1.0, "conv2_1": 0.25}
    _, total, by = run(terms.Style(w, 10.0), targets)
    for k in w:
        c = F[k].shape[-1]
        ref = 10.0 * w[k] * np.sum((numpy_gram(F[k]) - targets["style/" + k]) ** 2) / (4 * c * c)
        np.testing.assert_allclose(by[k], ref, rtol=1e-4)
    np.testing.assert_allclose(total, sum(by.values()), rtol=1e-6)


def test_style_loss_is_zero_at_its_target_and_size_invariant(run):
    """The Gram is normalised by positions: a texture tiled 2x2 has the same Gram."""
    from art.engine import terms
    f = F["conv1_1"]
    target = {"style/conv1_1": numpy_gram(f).astype(np.float32)}
    _, total, _ = run(terms.Style({"conv1_1": 1.0}, 1.0), target,
                      features={"conv1_1": np.tile(f, (1, 2, 2, 1))}, shape=(12, 10))
    assert abs(total) < 1e-6


def test_tv_loss_and_the_pairs_a_piece_owns(run):
    from art.engine import terms
    x = PIXELS.astype(np.float64)
    stats, total, by = run(terms.TotalVariation(0.5))
    ref = 0.5 * (np.sum(np.diff(x, axis=1) ** 2) + np.sum(np.diff(x, axis=2) ** 2)) / x.size
    np.testing.assert_allclose(total, ref, rtol=1e-5)
    assert by == {"tv": total}
    # A piece owning rows 2..3 and columns 1..4 counts the pairs whose first pixel is its
    # own, the second one in its margin included; none past the picture's edge.
    owned, _, _ = run(terms.TotalVariation(0.5), box=(2, 4, 1, 5))
    dy = np.diff(x, axis=1)[:, 2:4, 1:5]
    dx = np.diff(x, axis=2)[:, 2:4, 1:4]
    np.testing.assert_allclose(owned["tv/dy"], np.sum(dy ** 2), rtol=1e-5)
    np.testing.assert_allclose(owned["tv/dx"], np.sum(dx ** 2), rtol=1e-5)


def test_moments_loss(run):
    from art.engine import terms
    term = terms.Moments({"conv1_1": 1.0, "conv2_1": 0.5}, 2.0)
    stats, _, _ = run(term, {k: np.zeros(c, np.float32) for k, c in (
        ("moments/conv1_1/mean", 64), ("moments/conv1_1/std", 64),
        ("moments/conv2_1/mean", 128), ("moments/conv2_1/std", 128))})
    targets = term.target({k: v * 0.5 for k, v in stats.items()}, SHAPE)
    _, total, by = run(term, targets)
    for k, w in term.layers.items():
        f = F[k].reshape(-1, F[k].shape[-1]).astype(np.float64)
        mean, std = f.mean(0), np.sqrt(f.var(0) + terms.MOMENT_EPSILON)
        half = f * np.sqrt(0.5)      # a half of both sums: mean / 2, mean of squares / 2
        want_mean = f.mean(0) / 2
        want_std = np.sqrt(np.maximum((half ** 2).mean(0) - want_mean ** 2, 0) + terms.MOMENT_EPSILON)
        np.testing.assert_allclose(targets["moments/%s/mean" % k], want_mean, rtol=1e-5)
        ref = 2.0 * w * (np.sum((mean - want_mean) ** 2) + np.sum((std - want_std) ** 2)) / f.shape[1]
        np.testing.assert_allclose(by[k], ref, rtol=1e-4)


def numpy_low_pass(x, sigma, radius):
    """A Gaussian of `sigma` px on 2 * radius + 1 taps (normalised), zeros beyond the
    picture: the sum over the window, written out."""
    t = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k2 = np.outer(k, k) / k.sum() ** 2
    h, w = x.shape[:2]
    padded = np.zeros((h + 2 * radius, w + 2 * radius, x.shape[2]))
    padded[radius:radius + h, radius:radius + w] = x
    return sum(k2[i, j] * padded[i:i + h, j:j + w]
               for i in range(2 * radius + 1) for j in range(2 * radius + 1))


def test_anchor_loss_and_the_pixels_a_piece_owns(run):
    from art.engine import terms
    blurred = numpy_low_pass(PIXELS[0].astype(np.float64), terms.ANCHOR_SIGMA,
                             terms.ANCHOR_RADIUS)
    np.testing.assert_allclose(terms.anchor_target(PIXELS[0])[0], blurred, rtol=1e-5, atol=1e-3)
    stats, total, by = run(terms.Anchor(4.0))
    np.testing.assert_allclose(total, 4.0 * np.sum((blurred - T["anchor"][0]) ** 2) / blurred.size,
                               rtol=1e-5)
    assert by == {"anchor": total}
    # A piece owning rows 2..5 and columns 2..4 sums those pixels only, its low-pass still
    # reading the pixels beyond its box.
    owned, _, _ = run(terms.Anchor(4.0), box=(2, 6, 2, 5),
                      inputs={"anchor": T["anchor"][:, 2:6, 2:5]})
    np.testing.assert_allclose(owned["anchor/blurred"],
                               np.sum((blurred[2:6, 2:5] - T["anchor"][0, 2:6, 2:5]) ** 2),
                               rtol=1e-5)


def test_the_anchor_holds_coarse_shapes_and_frees_a_2_px_grid_in_any_phase():
    # The low-pass passes what a coarser level painted and removes a 2-px grid whatever
    # its phase: the anchor neither fights the detail a level adds nor locks it to blocks.
    from art.engine import terms
    y = np.arange(64)[:, None, None] * np.ones((64, 64, 3))
    for phase in (0, 1):
        grid = np.cos(np.pi * (y + phase))
        assert np.abs(terms.anchor_target(grid)[0, 8:-8, 8:-8]).max() < 0.1
    broad = np.cos(2 * np.pi * y / 16)
    assert np.abs(terms.anchor_target(broad)[0, 8:-8, 8:-8]).max() > 0.9


def test_the_config_chooses_the_terms():
    from art.engine import terms
    names = [t.name for t in terms.terms_of(PaintConfig())]
    assert names == ["content", "style", "tv"]
    assert [t.name for t in terms.terms_of(PaintConfig(tv_weight=0, moment_weight=0.1))] == [
        "content", "style", "moments"]
    assert [t.name for t in terms.terms_of(PaintConfig(anchor_weight=1.0))] == [
        "content", "style", "tv", "anchor"]
    assert terms.layers_read(terms.terms_of(PaintConfig())) == [
        "conv4_2", "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


# --- a term added in one place reaches every graph --------------------------------------

def every_term_config():
    """A config with every weight that names a term set (the fine_* fields are a finer
    level's settings of these, not terms of their own)."""
    import dataclasses
    weights = {f.name: 1.0 for f in dataclasses.fields(PaintConfig)
               if f.name.endswith("_weight") and not f.name.startswith("fine_")}
    return PaintConfig(content_layers={"conv2_1": 1.0},
                       style_layers={"conv1_1": 1.0, "conv2_1": 1.0}, precision="float32",
                       **weights)


def test_every_term_the_config_names_is_in_the_whole_tiled_and_cluster_graphs(tf1,
                                                                              random_weights):
    import pickle

    import tensorflow as tf

    from art.engine import render, terms, tiled, untiled

    config = every_term_config()
    named = {term.name for term in terms.terms_of(config)}
    assert named == set(terms.KINDS)
    image = np.random.default_rng(1).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    content_t = render._position_targets(
        config, untiled.content_targets(random_weights, image, config), image)
    style_t = untiled.style_targets(random_weights, [image], None, config)
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, (1, 32, 32, 3))
        _, breakdown = untiled.build_loss(x, random_weights, config, content_t, style_t)
    assert named <= set(breakdown)
    # The cluster's workers build their tile graph from the spec the driver sends them.
    spec = terms.GraphSpec.of(config)
    for sent in (spec, pickle.loads(pickle.dumps(spec))):
        runner = tiled.TileRunner(random_weights, sent)
        try:
            assert {key.split("/")[0] for key in runner.keys} == named
            assert set(runner.inputs) == set(content_t)
        finally:
            runner.close()
