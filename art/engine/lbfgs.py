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

Every operation on a picture-sized vector runs a chunk at a time (`art.files.history.CHUNK`
values), into arrays made once: an iteration holds the iterate, its gradient, the
direction and the trial iterate, and no temporaries of their size. The history is a
list of pairs kept by a store: in memory (`MemoryStore`), or on disk in the work
folder (`art.files.history.DiskStore`) when a print's finest levels would not fit.
Both meet the same arithmetic chunk by chunk, so they give the same bits.
"""

import json

import numpy as np

from art.engine.optim import Optimizer, PIXEL_BOUNDS
from art.files.history import spans

ARMIJO = 1e-4
BACKTRACKS = 20
F64 = np.float64


def dot(a, b):
    """Dot product of float32 vectors of up to ~10^8 values, summed in float64 a chunk at
    a time: float32 accumulation would lose ~4 digits at print size."""
    return _dot_chunks(_chunks(a), _chunks(b))


def _chunks(v):
    return (v[i:j] for i, j in spans(v.size))


def _dot_chunks(a, b):
    """Sum over chunks of their float64 dot products, in order (as `dot`)."""
    total = 0
    for p, q in zip(a, b):
        total += float(np.dot(p.astype(F64), q.astype(F64)))
    return total


class MemoryPair:
    """One pair in memory: s, y and their dot products sy = dot(s, y), yy = dot(y, y)."""

    def __init__(self, s, y, sy, yy):
        self.s, self.y, self.sy, self.yy = s, y, sy, yy

    def s_chunks(self):
        return _chunks(self.s)

    def y_chunks(self):
        return _chunks(self.y)


class _MemoryWriter:
    def __init__(self, size):
        self.s, self.y = np.empty(size, np.float32), np.empty(size, np.float32)
        self.at = 0

    def put(self, s, y):
        n = s.size
        self.s[self.at:self.at + n], self.y[self.at:self.at + n] = s, y
        self.at += n

    def finish(self, sy, yy):
        return MemoryPair(self.s, self.y, sy, yy)


class MemoryStore:
    """The history in memory: 2 float32 vectors the size of the picture per pair."""

    on_disk = False

    def begin(self):
        pass

    def writer(self, size):
        return _MemoryWriter(size)

    def discard(self, pair):
        pass

    def manifest(self, pairs):
        return {"s": [p.s for p in pairs], "y": [p.y for p in pairs]}

    def restore(self, state):
        s = [np.asarray(v, np.float32) for v in state["s"]]
        y = [np.asarray(v, np.float32) for v in state["y"]]
        return [MemoryPair(a, b, dot(a, b), dot(b, b)) for a, b in zip(s, y)]


class LBFGS(Optimizer):
    """L-BFGS over float32 vectors within bounds (see `art.engine.optim.Optimizer` for
    `minimize`, `maxiter`, `bounds` and `stop_below`).

    Args:
      maxcor: history length; each entry costs 2 float32 vectors the size of x.
      first_step: largest change of any coordinate in the first iteration,
        before there is any curvature to scale the step with.
      store: where the history's pairs are kept: `MemoryStore` (default) or
        `art.files.history.DiskStore`.

    Attributes:
      iterations, evaluations: counted apart, as in `art.engine.optim`.
      x, f, g: the last finished iterate, its loss and gradient.
      pairs: the history, oldest first (`s` and `y`: its vectors, in memory).
      trace: the loss at the start and after each iteration (for `stalled`).
    """

    def __init__(self, maxiter, maxcor=10, bounds=PIXEL_BOUNDS, first_step=8.0, stop_below=0.0,
                 store=None):
        super().__init__(maxiter, bounds, stop_below)
        self.maxcor = maxcor
        self.first_step = first_step
        self.store = store or MemoryStore()
        self.g = None
        self.pairs = []

    @property
    def started(self):
        return self.g is not None

    @property
    def s(self):
        return [p.s for p in self.pairs]

    @property
    def y(self):
        return [p.y for p in self.pairs]

    def _start(self, x0):
        """Begin at `x0`: one evaluation. Nothing is kept until it has finished, so an
        interruption inside it leaves an optimiser that has not `started`."""
        f, g = self._evaluate(x0)
        self.store.begin()
        self.x, self.f, self.g = x0, f, g
        self.pairs = []
        self.trace = [self.f]

    def _free_chunks(self):
        """The gradient without the coordinates a bound holds (it pushes them
        outwards), a chunk at a time."""
        for i, j in spans(self.x.size):
            x, g = self.x[i:j], self.g[i:j]
            held = ((x <= self.low) & (g > 0)) | ((x >= self.high) & (g < 0))
            yield np.where(held, np.float32(0), g)

    def _direction(self, pairs):
        """-H g by the two-loop recursion, H the inverse-Hessian estimate of `pairs`
        and g the free gradient: a new vector."""
        q = np.empty(self.x.size, np.float32)
        for (i, j), part in zip(spans(q.size), self._free_chunks()):
            q[i:j] = part
        alphas = []
        for pair in reversed(pairs):
            rho = 1.0 / pair.sy
            alpha = rho * _dot_chunks(pair.s_chunks(), _chunks(q))
            for (i, j), y in zip(spans(q.size), pair.y_chunks()):
                q[i:j] -= np.float32(alpha) * y
            alphas.append((rho, alpha))
        self._initial(pairs, q)
        for pair, (rho, alpha) in zip(pairs, reversed(alphas)):
            beta = rho * _dot_chunks(pair.y_chunks(), _chunks(q))
            for (i, j), s in zip(spans(q.size), pair.s_chunks()):
                q[i:j] += np.float32(alpha - beta) * s
        q *= -1
        return q

    def _initial(self, pairs, q):
        """q := H0 q: the latest pair's curvature scale (Nocedal & Wright, 7.20), or
        before any pair, the step that moves no coordinate more than `first_step`."""
        if pairs:
            q *= np.float32(pairs[-1].sy / pairs[-1].yy)
            return
        largest = max(float(np.max(np.abs(part))) for part in _chunks(q))
        q *= np.float32(self.first_step / max(largest, 1e-12))

    def _step(self):
        """One iteration. Returns False when no step lowers the loss (converged).

        The state changes only when the iteration is complete, so an
        interruption inside it leaves the last finished iterate's state.
        """
        found = self._search(self.pairs)
        if found is None and self.pairs:
            # The history can go stale where bounds cut the steps: start afresh once.
            found = self._search([])
        if found is None:
            return False
        x, f, g_new, pairs = found
        pair = self._pair(x, g_new)
        pairs = list(pairs)
        # Keep a pair only when it shows positive curvature, so H stays positive definite.
        if pair.sy > 1e-10 * pair.yy:
            pairs = (pairs + [pair])[-self.maxcor:]
        else:
            self.store.discard(pair)
        self.x, self.f, self.g, self.pairs = x, f, g_new, pairs
        self.trace.append(f)
        self.iterations += 1
        return True

    def _pair(self, x, g_new):
        """The new pair s = x - self.x, y = g_new - self.g, made a chunk at a time into
        the store, with its dot products."""
        writer = self.store.writer(x.size)
        sy = yy = 0
        for i, j in spans(x.size):
            s, y = x[i:j] - self.x[i:j], g_new[i:j] - self.g[i:j]
            writer.put(s, y)
            s64, y64 = s.astype(F64), y.astype(F64)
            sy += float(np.dot(s64, y64))
            yy += float(np.dot(y64, y64))
        return writer.finish(sy, yy)

    def _search(self, pairs):
        """Backtrack along the direction of `pairs`; (x, f, g, pairs) or None."""
        d = self._direction(pairs)
        if _dot_chunks(self._free_chunks(), _chunks(d)) >= 0:
            return None
        t = 1.0
        x = None
        for _ in range(BACKTRACKS):
            x = None        # the last trial's memory is free before the next is made
            x = np.empty(self.x.size, np.float32)
            slope = 0
            for i, j in spans(x.size):
                x[i:j] = np.clip(self.x[i:j] + np.float32(t) * d[i:j], self.low, self.high)
                step = x[i:j] - self.x[i:j]
                slope += float(np.dot(self.g[i:j].astype(F64), step.astype(F64)))
            if slope < 0:
                f, g_new = self._evaluate(x)
                if f <= self.f + ARMIJO * slope:
                    return x, f, g_new, pairs
            t *= 0.5
        return None

    def state(self):
        """Everything needed to continue exactly: name -> numpy array (s, y: lists of them;
        with the history on disk, `history`: its manifest)."""
        state = {"x": self.x, "g": self.g, "f": np.float64(self.f),
                 "trace": np.asarray(self.trace, np.float64),
                 "iterations": np.int64(self.iterations), "evaluations": np.int64(self.evaluations)}
        manifest = self.store.manifest(self.pairs)
        if self.store.on_disk:
            # One string, so that the work folder keeps it beside the arrays.
            state["history"] = np.array(json.dumps(manifest))
        else:
            state.update(manifest)
        return state

    def restore(self, state):
        """Continue from `state()` of an earlier run, without evaluating."""
        self.x = np.asarray(state["x"], np.float32)
        self.g = np.asarray(state["g"], np.float32)
        self.f = float(state["f"])
        # A checkpoint from before the stopping rule has no trace: the rule starts afresh.
        self.trace = [float(v) for v in state["trace"]] if "trace" in state else [self.f]
        self.pairs = self.store.restore(json.loads(str(state["history"])) if self.store.on_disk
                                        else state)
        self.iterations = int(state["iterations"])
        self.evaluations = int(state["evaluations"])
