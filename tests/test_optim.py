"""The optimiser interface: convergence, bounds, callbacks, counting, failure modes."""

import numpy as np
import pytest


@pytest.fixture
def tf(tf1):
    import tensorflow
    return tensorflow


def rosenbrock(tf, x):
    return tf.reduce_sum(100.0 * tf.square(x[1:] - tf.square(x[:-1])) + tf.square(1.0 - x[:-1]))


def make(tf, tf1, kind, start, bounds=None, maxiter=200, loss_fn=rosenbrock, **kw):
    from art import optim
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.Variable(np.asarray(start, np.float32), use_resource=False)
        loss = loss_fn(tf, x)
        cls = optim.ScipyOptimizerInterface if kind == "lbfgs" else optim.AdamInterface
        opt = cls(loss, [x], var_to_bounds={x: bounds} if bounds else None, maxiter=maxiter, **kw)
        session = tf1.Session(graph=graph)
        session.run(x.initializer)
    return graph, session, x, loss, opt


def test_lbfgs_converges_on_rosenbrock(tf, tf1):
    _, s, x, loss, opt = make(tf, tf1, "lbfgs", [-1.2, 1.0, -0.5, 0.8])
    opt.minimize(s)
    np.testing.assert_allclose(s.run(x), 1.0, atol=1e-3)
    assert s.run(loss) < 1e-6


def test_lbfgs_respects_bounds(tf, tf1):
    # The unconstrained minimum is at 1; bounded above by 0.5 the answer sits on the bound.
    _, s, x, _, opt = make(tf, tf1, "lbfgs", [0.0, 0.0], bounds=(-2.0, 0.5))
    seen = []
    opt.minimize(s, step_callback=lambda xk: seen.append(np.array(xk)))
    assert all(np.all(xk <= 0.5 + 1e-12) and np.all(xk >= -2.0) for xk in seen)
    assert s.run(x)[0] == pytest.approx(0.5, abs=1e-6)


def test_callbacks_and_counts(tf, tf1):
    _, s, x, loss, opt = make(tf, tf1, "lbfgs", [-1.2, 1.0], maxiter=15)
    losses, steps = [], []
    opt.minimize(s, fetches=[loss, x], loss_callback=lambda value, xv: losses.append((value, xv.copy())),
                 step_callback=steps.append)
    assert opt.iterations == len(steps) == 15
    # A line search may take several evaluations per iteration.
    assert opt.evaluations == len(losses) >= opt.iterations
    # The fetches are evaluated at the point being tried: the loss matches numpy.
    for value, xv in losses:
        ref = 100 * (xv[1] - xv[0] ** 2) ** 2 + (1 - xv[0]) ** 2
        assert value == pytest.approx(ref, rel=1e-4)
    # On return the variable holds the last iterate.
    np.testing.assert_allclose(s.run(x), steps[-1], rtol=1e-6)


def test_adam_shares_the_interface(tf, tf1):
    _, s, x, loss, opt = make(tf, tf1, "adam", [3.0, -4.0], bounds=(-1.0, 10.0), maxiter=300,
                              loss_fn=lambda tf, x: tf.reduce_sum(tf.square(x - 2.0)),
                              learning_rate=0.1)
    losses, steps = [], []
    opt.minimize(s, fetches=[loss], loss_callback=losses.append, step_callback=steps.append)
    assert opt.iterations == opt.evaluations == len(losses) == len(steps) == 300
    np.testing.assert_allclose(s.run(x), 2.0, atol=1e-2)
    assert all(np.all(xk >= -1.0) for xk in steps)
    # The loss reported with a step is the loss before it: the first is the start's.
    assert losses[0] == pytest.approx((3 - 2) ** 2 + (-4 - 2) ** 2)


def test_adam_clips_to_bounds(tf, tf1):
    _, s, x, _, opt = make(tf, tf1, "adam", [0.0], bounds=(-1.0, 0.25), maxiter=50,
                           loss_fn=lambda tf, x: tf.reduce_sum(tf.square(x - 2.0)), learning_rate=0.5)
    opt.minimize(s)
    assert s.run(x)[0] == pytest.approx(0.25)


@pytest.mark.parametrize("kind", ["lbfgs", "adam"])
def test_nonfinite_loss_stops_and_keeps_the_last_good_iterate(tf, tf1, kind):
    from art import optim

    # Finite for x > 0, NaN once x crosses 0: the minimiser walks towards it.
    def loss_fn(tf, x):
        return tf.reduce_sum(x * 3.0 + tf.sqrt(x) * 0.0)
    _, s, x, _, opt = make(tf, tf1, kind, [1.0], maxiter=100, loss_fn=loss_fn,
                           **({"learning_rate": 0.3} if kind == "adam" else {}))
    with pytest.raises(optim.NonFiniteLoss, match="loss became nan|image became non-finite"):
        opt.minimize(s)
    value = s.run(x)
    assert np.all(np.isfinite(value)) and value[0] >= 0


def test_resource_variables_are_refused(tf, tf1):
    from art import optim
    with tf.Graph().as_default():
        x = tf1.Variable([1.0])  # a resource variable would silently ignore the feed
        with pytest.raises(ValueError, match="resource variable"):
            optim.ScipyOptimizerInterface(tf.reduce_sum(x * x), [x])


def test_lbfgs_stops_when_the_loss_stalls(tf, tf1):
    """scipy's run ends at the first iteration `stalled` holds, with the variable at it."""
    from art.optim import stalled
    _, s, x, loss, opt = make(tf, tf1, "lbfgs", [-1.2, 1.0, 0.5, -0.3], maxiter=400,
                              stop_below=1e-3)
    steps = []
    opt.minimize(s, step_callback=lambda xk: steps.append(np.array(xk)))
    trace = opt._lbfgs.trace
    assert 10 < opt.iterations == len(steps) == len(trace) - 1 < 400
    assert stalled(trace, 1e-3) and not stalled(trace[:-1], 1e-3)
    np.testing.assert_allclose(s.run(x), steps[-1], rtol=1e-6)
    assert trace[-1] == pytest.approx(s.run(loss), rel=1e-5)
