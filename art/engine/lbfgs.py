"""L-BFGS in float32 with its whole state in numpy arrays: small enough for print
sizes, and resumable exactly.

scipy's L-BFGS-B keeps every vector in float64: at 8K (7680x4320x3 values) its
history alone is ~16 GB. Here the history is float32, half that, and the state
(iterate, gradient, history) is plain arrays, so a render can be checkpointed
after any iteration and continued to the same result. Measured against scipy's
on the same picture and iterations: bench/lbfgs32.py.

The method is L-BFGS (Nocedal & Wright, Alg. 7.4 and 7.5) with two changes for
a box-bounded picture: the step is projected onto the bounds, and coordinates
held at a bound by their gradient are left out of the search direction. The
step length comes from backtracking on the Armijo condition from a unit step,
which L-BFGS's scaling makes the right size almost always.
"""

import numpy as np

from art.engine.optim import Optimizer, PIXEL_BOUNDS

# Dot products of float32 vectors of ~10^8 values, summed in float64 a chunk at
# a time: float32 accumulation would lose ~4 digits at print size.
CHUNK = 1 << 20
ARMIJO = 1e-4
BACKTRACKS = 20


def dot(a, b):
    return sum(float(np.dot(a[i:i + CHUNK].astype(np.float64), b[i:i + CHUNK].astype(np.float64)))
               for i in range(0, a.size, CHUNK))


class LBFGS(Optimizer):
    """L-BFGS over float32 vectors within bounds (see `art.engine.optim.Optimizer` for
    `minimize`, `maxiter`, `bounds` and `stop_below`).

    Args:
      maxcor: history length; each entry costs 2 float32 vectors the size of x.
      first_step: largest change of any coordinate in the first iteration,
        before there is any curvature to scale the step with.

    Attributes:
      iterations, evaluations: counted apart, as in `art.engine.optim`.
      x, f, g: the last finished iterate, its loss and gradient.
      s, y: the history.
      trace: the loss at the start and after each iteration (for `stalled`).
    """

    def __init__(self, maxiter, maxcor=10, bounds=PIXEL_BOUNDS, first_step=8.0, stop_below=0.0):
        super().__init__(maxiter, bounds, stop_below)
        self.maxcor = maxcor
        self.first_step = first_step
        self.g = None
        self.s, self.y = [], []

    @property
    def started(self):
        return self.g is not None

    def _start(self, x0):
        """Begin at `x0`: one evaluation. Nothing is kept until it has finished, so an
        interruption inside it leaves an optimiser that has not `started`."""
        f, g = self._evaluate(x0)
        self.x, self.f, self.g = x0, f, g
        self.s, self.y = [], []
        self.trace = [self.f]

    def _free_gradient(self):
        """The gradient without the coordinates a bound holds (it pushes them outwards)."""
        held = ((self.x <= self.low) & (self.g > 0)) | ((self.x >= self.high) & (self.g < 0))
        return np.where(held, np.float32(0), self.g)

    def _direction(self, g):
        """-H g by the two-loop recursion, H the inverse-Hessian estimate of the history."""
        q = g.copy()
        alphas = []
        for s, y in zip(reversed(self.s), reversed(self.y)):
            rho = 1.0 / dot(y, s)
            alpha = rho * dot(s, q)
            q -= np.float32(alpha) * y
            alphas.append((rho, alpha))
        q = self._initial(q)
        for (s, y), (rho, alpha) in zip(zip(self.s, self.y), reversed(alphas)):
            beta = rho * dot(y, q)
            q += np.float32(alpha - beta) * s
        q *= -1
        return q

    def _initial(self, q):
        """H0 q: the latest pair's curvature scale (Nocedal & Wright, 7.20), or before
        any pair, the step that moves no coordinate more than `first_step`."""
        if self.s:
            return q * np.float32(dot(self.s[-1], self.y[-1]) / dot(self.y[-1], self.y[-1]))
        return q * np.float32(self.first_step / max(float(np.max(np.abs(q))), 1e-12))

    def _step(self):
        """One iteration. Returns False when no step lowers the loss (converged).

        The state changes only when the iteration is complete, so an
        interruption inside it leaves the last finished iterate's state.
        """
        found = self._search(self.s, self.y)
        if found is None and self.s:
            # The history can go stale where bounds cut the steps: start afresh once.
            found = self._search([], [])
        if found is None:
            return False
        x, f, g_new, history_s, history_y = found
        s, y = x - self.x, g_new - self.g
        history_s, history_y = list(history_s), list(history_y)
        # Keep a pair only when it shows positive curvature, so H stays positive definite.
        if dot(s, y) > 1e-10 * dot(y, y):
            history_s.append(s)
            history_y.append(y)
            del history_s[:-self.maxcor], history_y[:-self.maxcor]
        self.x, self.f, self.g, self.s, self.y = x, f, g_new, history_s, history_y
        self.trace.append(f)
        self.iterations += 1
        return True

    def _search(self, history_s, history_y):
        """Backtrack along the direction of this history; (x, f, g, history) or None."""
        self.s, self.y, kept = history_s, history_y, (self.s, self.y)
        try:
            g = self._free_gradient()
            d = self._direction(g)
        finally:
            self.s, self.y = kept
        if dot(g, d) >= 0:
            return None
        t = 1.0
        for _ in range(BACKTRACKS):
            x = np.clip(self.x + np.float32(t) * d, self.low, self.high)
            slope = dot(self.g, x - self.x)
            if slope < 0:
                f, g_new = self._evaluate(x)
                if f <= self.f + ARMIJO * slope:
                    return x, f, g_new, history_s, history_y
            t *= 0.5
        return None

    def state(self):
        """Everything needed to continue exactly: name -> numpy array (s, y: lists of them)."""
        return {"x": self.x, "g": self.g, "f": np.float64(self.f),
                "s": list(self.s), "y": list(self.y), "trace": np.asarray(self.trace, np.float64),
                "iterations": np.int64(self.iterations), "evaluations": np.int64(self.evaluations)}

    def restore(self, state):
        """Continue from `state()` of an earlier run, without evaluating."""
        self.x = np.asarray(state["x"], np.float32)
        self.g = np.asarray(state["g"], np.float32)
        self.f = float(state["f"])
        # A checkpoint from before the stopping rule has no trace: the rule starts afresh.
        self.trace = [float(v) for v in state["trace"]] if "trace" in state else [self.f]
        self.s = [np.asarray(v, np.float32) for v in state["s"]]
        self.y = [np.asarray(v, np.float32) for v in state["y"]]
        self.iterations = int(state["iterations"])
        self.evaluations = int(state["evaluations"])
