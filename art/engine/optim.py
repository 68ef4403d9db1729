"""The optimisers the render loop is given: L-BFGS (`art.engine.lbfgs`) and Adam, one interface.

Shaped like TF1's ScipyOptimizerInterface: an optimiser is made with its
options and bounds, and ``minimize(evaluator, x0, step_callback, loss_callback)``
runs it, where the evaluator plays the part of the session: anything with an
``image_shape`` and ``evaluate(image) -> (loss, gradient, terms)`` (the whole
picture's graph, `art.engine.untiled.WholeEvaluator`, or its tiles, `art.engine.tiled`).
`loss_callback(loss, terms)` follows every evaluation, `step_callback(x)`
every iteration. Iterations and evaluations are counted apart: an L-BFGS
iteration may take several evaluations (its line search), an Adam one takes one.

Both work in numpy, in float32, on a flat vector of the picture, and keep
their whole state in plain arrays (`state`, `restore`): a render can stop
after any iteration and continue to the same picture, tiled or not.
"""

import numpy as np

from art.errors import ArtError

# The pixel range every picture is painted in.
PIXEL_BOUNDS = (0.0, 255.0)
# Iterations the stopping rule averages over: L-BFGS's loss falls unevenly from
# one iteration to the next (a step that lands on a bound, a fresh history).
STALL_WINDOW = 10


class NonFiniteLoss(ArtError):
    """The loss or its gradient turned NaN/inf; `x` holds the last good iterate."""


def stalled(trace, tolerance, window=STALL_WINDOW):
    """True when the loss has fallen by less than `tolerance` of itself per iteration,
    on average over the last `window` iterations.

    Args:
      trace: the loss at the start and after each iteration since.
      tolerance: relative; 0 never stops.
    """
    if not tolerance or len(trace) <= window:
        return False
    before, now = trace[-1 - window], trace[-1]
    return before - now < tolerance * window * abs(now)


class Optimizer:
    """What L-BFGS and Adam share: the `minimize` loop, counting, the stopping rule.

    A subclass provides `_start(x0)` (begin at x0), `_step()` (one iteration;
    False when no step lowers the loss), `started`, `state()` and
    `restore(state)`; it evaluates through `_evaluate`, and keeps `x` at the
    last finished iterate and `trace` (the loss at the start and after each
    iteration).

    Args:
      maxiter: `minimize` runs until `iterations` reaches this (a restored
        optimiser counts the iterations it had done).
      bounds: (low, high), elementwise.
      stop_below: end early when `stalled` at this tolerance; 0: run maxiter.
    """

    def __init__(self, maxiter, bounds=PIXEL_BOUNDS, stop_below=0.0):
        self.maxiter = maxiter
        self.low, self.high = bounds
        self.stop_below = stop_below
        self.iterations = 0
        self.evaluations = 0
        self.x = None
        self.f = None
        self.trace = []
        self._fun = None

    def _evaluate(self, x):
        f, g = self._fun(x)
        self.evaluations += 1
        g = np.asarray(g, np.float32).ravel()
        if not (np.isfinite(f) and np.all(np.isfinite(g))):
            raise NonFiniteLoss("the loss became %s at evaluation %d" % (f, self.evaluations))
        return float(f), g

    @property
    def started(self):
        """True once `state()` can continue the run: its first evaluation has finished.
        Before that (an interruption inside the first evaluation, which builds the
        graph) there is nothing of the optimiser's own to keep: the caller keeps the
        start it gave."""
        raise NotImplementedError

    def stalled(self, tolerance=None):
        """True when the loss has stopped falling by `tolerance` (default: this
        optimiser's `stop_below`) per iteration; see `stalled`."""
        return stalled(self.trace, self.stop_below if tolerance is None else tolerance)

    def minimize(self, evaluator, x0=None, step_callback=None, loss_callback=None):
        """Run from `x0`, or with x0 None from the state `restore` gave.

        Args:
          evaluator: has `image_shape` and `evaluate(image) -> (loss, grad, terms)`.
          x0: the starting picture (any shape of `image_shape`'s size).
          step_callback: called with the flat iterate after every iteration.
          loss_callback: called as (loss, terms) after every finite evaluation.

        Returns:
          The last iterate, flat float32. On an exception (Ctrl-C, `NonFiniteLoss`,
          a lost cluster) `x` and `state()` are those of the last finished iteration.
        """
        shape = tuple(evaluator.image_shape)

        def fun(x):
            loss, grad, terms = evaluator.evaluate(x.reshape(shape))
            if loss_callback is not None and np.isfinite(loss):
                loss_callback(loss, terms)
            return loss, grad

        self._fun = fun
        try:
            if x0 is not None:
                self._start(np.clip(np.asarray(x0, np.float32).ravel(), self.low, self.high))
            elif self.x is None:
                raise ValueError("minimize needs x0, or a state given to restore()")
            while self.iterations < self.maxiter and not self.stalled():
                if not self._step():
                    break
                if step_callback is not None:
                    step_callback(self.x)
            return self.x
        finally:
            # `fun` holds the callbacks, and they often hold this optimiser (a render's
            # steps keep it for its checkpoints): a cycle, which only Python's collector
            # frees, and it runs rarely beside TensorFlow's objects. An A0 level's history
            # in memory (8.5 GB) outlived its level that way and the kernel killed the render.
            self._fun = None


class Adam(Optimizer):
    """Adam (Kingma & Ba), as TF1's AdamOptimizer computes it, clipped to the bounds.

    The loss reported with an iteration is the loss at the point it started
    from (the one evaluation it makes), as TF's returns it.
    """

    # Seven parameters: TF1's AdamOptimizer's four (learning rate, beta1, beta2, epsilon),
    # whose names and defaults a reader checks this against, and the interface's three.
    def __init__(self, maxiter, bounds=PIXEL_BOUNDS, stop_below=0.0, learning_rate=1.0,
                 beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(maxiter, bounds, stop_below)
        self.learning_rate, self.beta1, self.beta2, self.epsilon = (
            learning_rate, beta1, beta2, epsilon)
        self.m = self.v = None
        self._good = None

    @property
    def started(self):
        # Adam's first evaluation is its first iteration's: until then f is unknown.
        return self.f is not None

    def _start(self, x0):
        self.x = x0
        self.m = np.zeros_like(x0)
        self.v = np.zeros_like(x0)
        self.trace = []

    def _step(self):
        try:
            f, g = self._evaluate(self.x)
        except NonFiniteLoss:
            # This iterate is the one whose loss came back NaN: keep the one before.
            if self._good is not None:
                self.x = self._good
            raise
        self._good = self.x
        if not self.trace:
            self.trace.append(f)
        t = self.iterations + 1
        m = self.beta1 * self.m + (1 - self.beta1) * g
        v = self.beta2 * self.v + (1 - self.beta2) * g * g
        # TF's form: the bias corrections folded into the step, epsilon added to sqrt(v).
        rate = self.learning_rate * np.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)
        x = np.clip(self.x - np.float32(rate) * m / (np.sqrt(v) + np.float32(self.epsilon)),
                    self.low, self.high)
        self.x, self.m, self.v, self.f = x.astype(np.float32), m, v, f
        self.trace.append(f)
        self.iterations = t
        return True

    def state(self):
        return {"x": self.x, "m": self.m, "v": self.v, "f": np.float64(self.f),
                "trace": np.asarray(self.trace, np.float64),
                "iterations": np.int64(self.iterations), "evaluations": np.int64(self.evaluations)}

    def restore(self, state):
        self.x = np.asarray(state["x"], np.float32)
        self.m = np.asarray(state["m"], np.float32)
        self.v = np.asarray(state["v"], np.float32)
        self.f = float(state["f"])
        self.trace = [float(v) for v in state["trace"]]
        self.iterations = int(state["iterations"])
        self.evaluations = int(state["evaluations"])

