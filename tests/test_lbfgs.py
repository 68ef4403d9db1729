"""The float32 L-BFGS of print renders: convergence, bounds, exact continuation."""

import numpy as np
import pytest
import scipy.optimize

from art.engine.lbfgs import dot, LBFGS
from art.engine.optim import NonFiniteLoss
from conftest import Function


def rosenbrock(x):
    x = x.astype(np.float64)
    return scipy.optimize.rosen(x), scipy.optimize.rosen_der(x).astype(np.float32)


def lbfgs(maxiter, **kw):
    return LBFGS(maxiter, **dict(dict(bounds=(-5, 5), first_step=0.1), **kw))


def copied(state):
    """A state as a checkpoint gives it back: fresh arrays."""
    return {k: (list(v) if isinstance(v, list) else np.array(v)) for k, v in state.items()}


def test_converges_on_rosenbrock():
    optimizer = lbfgs(500)
    optimizer.minimize(Function(rosenbrock, 10), np.full(10, -1.0, np.float32))
    np.testing.assert_allclose(optimizer.x, 1.0, atol=1e-3)
    assert optimizer.evaluations >= optimizer.iterations + 1


def test_bounded_minimum_matches_scipy():
    low, high = -5.0, 0.5
    optimizer = lbfgs(500, bounds=(low, high))
    optimizer.minimize(Function(rosenbrock, 10), np.full(10, -1.0, np.float32))
    reference = scipy.optimize.minimize(scipy.optimize.rosen, np.full(10, -1.0), method="L-BFGS-B",
                                        jac=scipy.optimize.rosen_der, bounds=[(low, high)] * 10)
    assert optimizer.x.max() <= high and optimizer.x.min() >= low
    assert optimizer.f == pytest.approx(reference.fun, rel=1e-3)


def test_history_is_float32_and_bounded():
    optimizer = lbfgs(20, maxcor=3)
    optimizer.minimize(Function(rosenbrock, 6), np.full(6, -1.0, np.float32))
    assert len(optimizer.s) == len(optimizer.y) <= 3
    assert all(v.dtype == np.float32 for v in optimizer.s + optimizer.y + [optimizer.x, optimizer.g])


def test_minimize_needs_a_start():
    with pytest.raises(ValueError, match="needs x0"):
        lbfgs(3).minimize(Function(rosenbrock, 4))


def test_interruption_inside_an_iteration_keeps_the_last_state():
    calls = []

    def fun(x):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return rosenbrock(x)
    optimizer = lbfgs(50)
    with pytest.raises(KeyboardInterrupt):
        optimizer.minimize(Function(fun, 4), np.zeros(4, np.float32))
    assert optimizer.evaluations == 5
    assert optimizer.f == pytest.approx(rosenbrock(optimizer.x)[0])


def test_non_finite_loss_is_an_error():
    optimizer = LBFGS(10)
    with pytest.raises(NonFiniteLoss, match="nan"):
        optimizer.minimize(Function(lambda x: (float("nan"), np.zeros_like(x)), 3),
                           np.zeros(3, np.float32))


def test_dot_accumulates_in_double():
    a = np.full(3_000_001, 0.1, np.float32)
    assert dot(a, a) == pytest.approx(3_000_001 * float(np.float32(0.1)) ** 2, rel=1e-12)


def test_stalled_rule():
    from art.engine.optim import stalled
    falling = [100.0 * 0.9 ** k for k in range(12)]
    assert not stalled(falling, 0.01)                 # 10% an iteration
    assert stalled(falling, 0.2)
    assert not stalled(falling[:10], 0.2)             # not a window of 10 yet
    assert not stalled([5.0] * 20, 0.0)               # 0: never
    assert stalled([5.0] * 11, 1e-9)
    # Judged over the window, not one iteration: a flat step amid falling ones is no stop.
    bumpy = [100.0 - 5 * k for k in range(11)]
    bumpy[-1] = bumpy[-2]
    assert not stalled(bumpy, 0.01)


def lifted(x):
    """Rosenbrock plus 1: a minimum above 0, as a painting's loss has, so that the
    relative rule can stall before the optimum is reached."""
    f, g = rosenbrock(x)
    return f + 1.0, g


def test_stops_when_stalled_and_resumes_to_the_same_stop():
    x0 = np.linspace(-2, 2, 12).astype(np.float32)
    whole = lbfgs(500, stop_below=1e-3)
    whole.minimize(Function(lifted, 12), x0)
    assert 10 < whole.iterations < 500 and whole.stalled()
    assert len(whole.trace) == whole.iterations + 1 and whole.trace[-1] == whole.f
    first = lbfgs(whole.iterations - 3, stop_below=1e-3)
    first.minimize(Function(lifted, 12), x0)
    second = lbfgs(500, stop_below=1e-3)
    second.restore(copied(first.state()))
    second.minimize(Function(lifted, 12))
    np.testing.assert_array_equal(second.x, whole.x)
    assert second.iterations == whole.iterations
