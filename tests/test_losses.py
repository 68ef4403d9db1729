"""Each loss term against an independent numpy reference."""

import numpy as np
import pytest


def numpy_gram(f):
    flat = f.reshape(-1, f.shape[-1]).astype(np.float64)
    return flat.T @ flat / flat.shape[0]


@pytest.fixture
def run(tf1):
    import tensorflow as tf

    def run(fn, *arrays):
        graph = tf.Graph()
        with graph.as_default():
            out = fn(*[tf.constant(a) for a in arrays])
            with tf1.Session(graph=graph) as s:
                return s.run(out)
    return run


rng = np.random.default_rng(0)
F = {"conv1_1": rng.uniform(0, 3, (1, 6, 5, 4)).astype(np.float32),
     "conv2_1": rng.uniform(0, 3, (1, 3, 2, 8)).astype(np.float32)}
T = {k: rng.uniform(0, 3, v.shape).astype(np.float32) for k, v in F.items()}


def test_gram(run):
    from art import losses
    np.testing.assert_allclose(run(losses.gram, F["conv1_1"]), numpy_gram(F["conv1_1"]), rtol=1e-5)


def test_content_loss(run):
    from art import losses
    w = {"conv1_1": 0.5, "conv2_1": 2.0}
    total, by = run(lambda a, b: losses.content_loss({"conv1_1": a, "conv2_1": b}, T, w, 3.0),
                    F["conv1_1"], F["conv2_1"])
    ref = {k: 3.0 * w[k] * np.mean((F[k].astype(np.float64) - T[k]) ** 2) for k in w}
    for k in w:
        np.testing.assert_allclose(by[k], ref[k], rtol=1e-5)
    np.testing.assert_allclose(total, sum(ref.values()), rtol=1e-5)


def test_content_loss_skips_layers_without_weight(run):
    from art import losses
    total, by = run(lambda a: losses.content_loss({"conv1_1": a}, T, {"conv1_1": 1.0}), F["conv1_1"])
    assert list(by) == ["conv1_1"]


def test_style_loss(run):
    from art import losses
    targets = {k: numpy_gram(v).astype(np.float32) for k, v in T.items()}
    w = {"conv1_1": 1.0, "conv2_1": 0.25}
    total, by = run(lambda a, b: losses.style_loss({"conv1_1": a, "conv2_1": b}, targets, w, 10.0),
                    F["conv1_1"], F["conv2_1"])
    for k in w:
        c = F[k].shape[-1]
        ref = 10.0 * w[k] * np.sum((numpy_gram(F[k]) - targets[k]) ** 2) / (4 * c * c)
        np.testing.assert_allclose(by[k], ref, rtol=1e-4)
    np.testing.assert_allclose(total, sum(by.values()), rtol=1e-6)


def test_style_loss_is_zero_at_its_target_and_size_invariant(run):
    """The Gram is normalised by positions: a texture tiled 2x2 has the same Gram."""
    from art import losses
    f = F["conv1_1"]
    tiled = np.tile(f, (1, 2, 2, 1))
    target = {"conv1_1": numpy_gram(f).astype(np.float32)}
    total, _ = run(lambda a: losses.style_loss({"conv1_1": a}, target, {"conv1_1": 1.0}), tiled)
    assert abs(total) < 1e-6


def test_tv_loss(run):
    from art import losses
    image = rng.uniform(0, 255, (1, 7, 9, 3)).astype(np.float32)
    total, by = run(lambda x: losses.tv_loss(x, 0.5), image)
    x = image.astype(np.float64)
    ref = 0.5 * (np.sum(np.diff(x, axis=1) ** 2) + np.sum(np.diff(x, axis=2) ** 2)) / x.size
    np.testing.assert_allclose(total, ref, rtol=1e-5)
    assert by == {"tv": total}
