"""The optimisers' one interface: convergence, bounds, callbacks, counting, failure
modes, exact continuation; Adam against TF1's own AdamOptimizer."""

import numpy as np
import pytest
import scipy.optimize

from art.config import PaintConfig
from art.engine import optim
from art.engine.lbfgs import LBFGS
from art.engine.render import new_optimizer
from art.errors import ArtError
from conftest import Function


def rosenbrock(x):
    x = x.astype(np.float64)
    return scipy.optimize.rosen(x), scipy.optimize.rosen_der(x).astype(np.float32)


def quadratic(x):
    """sum (x - 2)^2: its minimum at 2."""
    d = x.astype(np.float64) - 2.0
    return float(np.sum(d * d)), (2 * d).astype(np.float32)


def both(maxiter, bounds=(-5.0, 5.0), **kw):
    return [LBFGS(maxiter, bounds=bounds, first_step=0.1, **kw),
            optim.Adam(maxiter, bounds=bounds, learning_rate=0.05, **kw)]


def test_both_converge_within_bounds():
    # The minimum is at 2; bounded above by 1.5 the answer sits on the bound.
    for optimizer in both(400, bounds=(-1.0, 1.5)):
        seen = []
        optimizer.minimize(Function(quadratic, 3), np.array([3.0, -4.0, 0.0], np.float32),
                           step_callback=lambda x, seen=seen: seen.append(x.copy()))
        assert all(x.min() >= -1.0 and x.max() <= 1.5 for x in seen)
        np.testing.assert_allclose(optimizer.x, 1.5, atol=1e-3)


def test_lbfgs_converges_on_rosenbrock_where_adam_would_crawl():
    optimizer = LBFGS(300, bounds=(-5.0, 5.0), first_step=0.1)
    optimizer.minimize(Function(rosenbrock, 4), np.array([-1.2, 1.0, -0.5, 0.8], np.float32))
    np.testing.assert_allclose(optimizer.x, 1.0, atol=1e-3)


@pytest.mark.parametrize("kind", ["lbfgs", "adam"])
def test_callbacks_and_counts(kind):
    optimizer = {"lbfgs": both(15)[0], "adam": both(15)[1]}[kind]
    losses, steps = [], []
    optimizer.minimize(Function(rosenbrock, 2), np.array([-1.2, 1.0], np.float32),
                       loss_callback=lambda loss, terms: losses.append(loss),
                       step_callback=lambda x: steps.append(x.copy()))
    assert optimizer.iterations == len(steps) == 15
    # A line search may take several evaluations per iteration; Adam's takes one.
    assert optimizer.evaluations == len(losses)
    assert optimizer.evaluations > 15 if kind == "lbfgs" else optimizer.evaluations == 15
    np.testing.assert_array_equal(optimizer.x, steps[-1])
    assert len(optimizer.trace) == optimizer.iterations + 1


def test_adam_is_tf1s_adam(tf1):
    """Step for step what tf.compat.v1.train.AdamOptimizer does, clipping included (the
    minimum, at 2, lies beyond the upper bound)."""
    import tensorflow as tf
    start = np.array([1.0, -0.5, 0.5, 1.4], np.float32)
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.Variable(start, use_resource=False)
        loss = tf.reduce_sum(tf.square(x - 2.0) * tf.constant([1.0, 3.0, 0.5, 2.0]))
        adam = tf1.train.AdamOptimizer(0.3)
        step = adam.minimize(loss, var_list=[x])
        with tf.control_dependencies([step]):
            clip = x.assign(tf.clip_by_value(x, -1.0, 1.5))
        with tf1.Session(graph=graph) as session:
            session.run(tf1.global_variables_initializer())
            expected = [session.run(clip).copy() for _ in range(25)]

    def weighted(v):
        d = v.astype(np.float64) - 2.0
        w = np.array([1.0, 3.0, 0.5, 2.0])
        return float(np.sum(w * d * d)), (2 * w * d).astype(np.float32)
    steps = []
    optim.Adam(25, bounds=(-1.0, 1.5), learning_rate=0.3).minimize(
        Function(weighted, 4), start, step_callback=lambda v: steps.append(v.copy()))
    np.testing.assert_allclose(steps, expected, rtol=1e-5, atol=1e-6)
    assert np.sum(np.asarray(expected) == 1.5) > 10      # the bound was met


@pytest.mark.parametrize("kind", ["lbfgs", "adam"])
def test_state_continues_exactly(kind):
    def make(maxiter):
        return {"lbfgs": both(maxiter)[0], "adam": both(maxiter)[1]}[kind]
    x0 = np.linspace(-2, 2, 8).astype(np.float32)
    whole = make(30)
    whole.minimize(Function(rosenbrock, 8), x0)
    first = make(11)
    first.minimize(Function(rosenbrock, 8), x0)
    second = make(30)
    second.restore({k: (list(v) if isinstance(v, list) else np.array(v))
                    for k, v in first.state().items()})
    second.minimize(Function(rosenbrock, 8))
    np.testing.assert_array_equal(second.x, whole.x)
    assert (second.iterations, second.evaluations) == (whole.iterations, whole.evaluations)


@pytest.mark.parametrize("kind", ["lbfgs", "adam"])
def test_nonfinite_loss_stops_and_keeps_the_last_good_iterate(kind):
    # Finite for x > 0, NaN once x crosses 0: the minimiser walks towards it.
    def fun(x):
        value = float(np.sum(3.0 * x)) if np.all(x > 0) else float("nan")
        return value, np.full_like(x, 3.0)
    optimizer = {"lbfgs": LBFGS(100, bounds=(-5.0, 5.0), first_step=0.5),
                 "adam": optim.Adam(100, bounds=(-5.0, 5.0), learning_rate=0.3)}[kind]
    with pytest.raises(optim.NonFiniteLoss, match="loss became nan"):
        optimizer.minimize(Function(fun, 1), np.array([1.0], np.float32))
    assert np.all(optimizer.x > 0)


@pytest.mark.parametrize("kind", ["lbfgs", "adam"])
def test_the_stopping_rule_ends_minimize(kind):
    """minimize ends at the first iteration `stalled` holds."""
    def lifted(x):
        f, g = rosenbrock(x)
        return f + 1.0, g
    optimizer = {"lbfgs": LBFGS(400, bounds=(-5.0, 5.0), first_step=0.1, stop_below=1e-3),
                 "adam": optim.Adam(400, bounds=(-5.0, 5.0), learning_rate=0.01,
                                    stop_below=1e-3)}[kind]
    optimizer.minimize(Function(lifted, 4), np.array([-1.2, 1.0, 0.5, -0.3], np.float32))
    assert 10 < optimizer.iterations < 400
    assert optim.stalled(optimizer.trace, 1e-3) and not optim.stalled(optimizer.trace[:-1], 1e-3)


def test_new_optimizer_follows_the_config():
    lbfgs = new_optimizer(PaintConfig(stop_below=0.01), 7)
    assert isinstance(lbfgs, LBFGS) and lbfgs.maxiter == 7 and lbfgs.stop_below == 0.01
    adam = new_optimizer(PaintConfig(optimizer="adam", learning_rate=3.0), 5)
    assert isinstance(adam, optim.Adam) and adam.learning_rate == 3.0
    assert (adam.low, adam.high) == optim.PIXEL_BOUNDS
    with pytest.raises(ArtError, match="unknown --optimizer 'sgd'; valid: lbfgs, adam"):
        new_optimizer(PaintConfig(optimizer="sgd"), 5)
