"""The float32 L-BFGS of print renders: convergence, bounds, exact continuation."""

import numpy as np
import pytest
import scipy.optimize

from art.lbfgs import LBFGS, dot
from art.optim import NonFiniteLoss


def rosenbrock(x):
    x = x.astype(np.float64)
    return scipy.optimize.rosen(x), scipy.optimize.rosen_der(x).astype(np.float32)


def run(optimizer, iterations):
    while optimizer.iterations < iterations and optimizer.step():
        pass
    return optimizer


def test_converges_on_rosenbrock():
    optimizer = LBFGS(rosenbrock, bounds=(-5, 5), first_step=0.1)
    optimizer.start(np.full(10, -1.0, np.float32))
    run(optimizer, 500)
    np.testing.assert_allclose(optimizer.x, 1.0, atol=1e-3)
    assert optimizer.evaluations >= optimizer.iterations + 1


def test_bounded_minimum_matches_scipy():
    low, high = -5.0, 0.5
    optimizer = LBFGS(rosenbrock, bounds=(low, high), first_step=0.1)
    optimizer.start(np.full(10, -1.0, np.float32))
    run(optimizer, 500)
    reference = scipy.optimize.minimize(scipy.optimize.rosen, np.full(10, -1.0), method="L-BFGS-B",
                                        jac=scipy.optimize.rosen_der, bounds=[(low, high)] * 10)
    assert optimizer.x.max() <= high and optimizer.x.min() >= low
    assert optimizer.f == pytest.approx(reference.fun, rel=1e-3)


def test_history_is_float32_and_bounded():
    optimizer = LBFGS(rosenbrock, maxcor=3, bounds=(-5, 5), first_step=0.1)
    optimizer.start(np.full(6, -1.0, np.float32))
    run(optimizer, 20)
    assert len(optimizer.s) == len(optimizer.y) <= 3
    assert all(v.dtype == np.float32 for v in optimizer.s + optimizer.y + [optimizer.x, optimizer.g])


def test_state_continues_exactly():
    """Stopping after any iteration and restoring the state gives the same iterates."""
    x0 = np.linspace(-2, 2, 12).astype(np.float32)
    whole = LBFGS(rosenbrock, bounds=(-5, 5), first_step=0.1)
    whole.start(x0)
    run(whole, 30)
    first = LBFGS(rosenbrock, bounds=(-5, 5), first_step=0.1)
    first.start(x0)
    run(first, 11)
    state = {k: (list(v) if isinstance(v, list) else np.array(v)) for k, v in first.state().items()}
    second = LBFGS(rosenbrock, bounds=(-5, 5), first_step=0.1)
    second.restore(state)
    run(second, 30)
    np.testing.assert_array_equal(second.x, whole.x)
    assert (second.iterations, second.evaluations) == (whole.iterations, whole.evaluations)


def test_interruption_inside_an_iteration_keeps_the_last_state():
    calls = []

    def fun(x):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return rosenbrock(x)
    optimizer = LBFGS(fun, bounds=(-5, 5), first_step=0.1)
    optimizer.start(np.zeros(4, np.float32))
    with pytest.raises(KeyboardInterrupt):
        run(optimizer, 50)
    assert optimizer.evaluations == 5
    assert optimizer.f == pytest.approx(rosenbrock(optimizer.x)[0])


def test_non_finite_loss_is_an_error():
    optimizer = LBFGS(lambda x: (float("nan"), np.zeros_like(x)))
    with pytest.raises(NonFiniteLoss, match="nan"):
        optimizer.start(np.zeros(3, np.float32))


def test_dot_accumulates_in_double():
    a = np.full(3_000_001, 0.1, np.float32)
    assert dot(a, a) == pytest.approx(3_000_001 * float(np.float32(0.1)) ** 2, rel=1e-12)


def test_stalled_rule():
    from art.optim import stalled
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
    whole = LBFGS(lifted, bounds=(-5, 5), first_step=0.1)
    whole.start(x0)
    while whole.iterations < 500 and not whole.stalled(1e-3) and whole.step():
        pass
    assert 10 < whole.iterations < 500 and whole.stalled(1e-3)
    assert len(whole.trace) == whole.iterations + 1 and whole.trace[-1] == whole.f
    first = LBFGS(lifted, bounds=(-5, 5), first_step=0.1)
    first.start(x0)
    run(first, whole.iterations - 3)
    second = LBFGS(lifted, bounds=(-5, 5), first_step=0.1)
    second.restore({k: (list(v) if isinstance(v, list) else np.array(v))
                    for k, v in first.state().items()})
    while second.iterations < 500 and not second.stalled(1e-3) and second.step():
        pass
    np.testing.assert_array_equal(second.x, whole.x)
    assert second.iterations == whole.iterations
