"""Optimisers behind one interface shaped like TF1's ScipyOptimizerInterface.

Both take a loss and its variables at construction and expose
``minimize(session, feed_dict=None, fetches=None, step_callback=None,
loss_callback=None)``: `loss_callback(*fetched)` after every loss+gradient
evaluation, `step_callback(x)` after every iteration with the packed
variables. Iterations and evaluations are counted apart: an L-BFGS iteration
may take several evaluations (its line search), an Adam iteration takes one.
"""

import numpy as np
import scipy.optimize
import tensorflow as tf

from art.errors import ArtError

tf1 = tf.compat.v1


class NonFiniteLoss(ArtError):
    """The loss or its gradient turned NaN/inf; the variables hold the last good iterate."""


# Iterations the stopping rule averages over: L-BFGS's loss falls unevenly from
# one iteration to the next (a step that lands on a bound, a fresh history).
STALL_WINDOW = 10


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


class _Stalled(Exception):
    """Ends scipy's run from its callback."""


def _check_ref_variables(var_list):
    for var in var_list:
        # A resource variable silently ignores a feed_dict entry (measured:
        # the loss came back computed from the stored value), which would make
        # every L-BFGS evaluation lie. Reference variables honour the feed.
        if var.op.type not in ("Variable", "VariableV2"):
            raise ValueError("variable %s is a resource variable; create it with "
                             "tf.compat.v1.Variable(..., use_resource=False)" % var.name)


class _Packer:
    """Packs a list of variables into one float64 vector and back."""

    def __init__(self, var_list):
        self.shapes = [tuple(v.shape.as_list()) for v in var_list]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.offsets = np.cumsum([0] + self.sizes)

    def pack(self, arrays):
        # float64 because scipy's L-BFGS-B (Fortran) works in double precision;
        # handing it float32 would only add a conversion per call.
        return np.concatenate([np.ravel(a).astype(np.float64) for a in arrays])

    def unpack(self, x, dtype=np.float32):
        return [x[a:b].reshape(s).astype(dtype)
                for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]


class _Interface:
    def __init__(self, loss, var_list=None, var_to_bounds=None):
        self.loss = loss
        self.var_list = list(var_list if var_list is not None else tf1.trainable_variables())
        if not self.var_list:
            raise ValueError("no variables to optimise")
        self.var_to_bounds = dict(var_to_bounds or {})
        self._packer = _Packer(self.var_list)
        with tf1.name_scope("assign_variables"):
            self._placeholders = [tf1.placeholder(v.dtype.base_dtype, v.shape) for v in self.var_list]
            self._assign = tf.group(*[v.assign(p) for v, p in zip(self.var_list, self._placeholders)])

    def _assign_packed(self, session, x):
        session.run(self._assign, dict(zip(self._placeholders, self._packer.unpack(x))))

    def _bounds_vector(self):
        lows, highs = [], []
        for var, size in zip(self.var_list, self._packer.sizes):
            low, high = self.var_to_bounds.get(var, (-np.inf, np.inf))
            lows.append(np.full(size, low, np.float64))
            highs.append(np.full(size, high, np.float64))
        return np.concatenate(lows), np.concatenate(highs)


class LBFGS:
    """L-BFGS-B through scipy on a Python objective, counting iterations and evaluations.

    The objective may be anything that returns a loss and its gradient: one
    session.run (`ScipyOptimizerInterface`), or a map over tiles and a reduce
    (`art.tiled`). After `run` returns or raises, `x` holds the last finished
    iterate, so an interruption loses nothing that was done.

    Args:
      maxiter: iterations at most.
      maxcor: history length; each entry costs 2 float64 vectors the size of x
        (scipy's Fortran code works in double precision).
      bounds: (low, high) vectors or scalars, elementwise; None for none.
      stop_below: end early when `stalled` at this tolerance; 0: run maxiter.
    """

    def __init__(self, maxiter=100, maxcor=10, bounds=None, stop_below=0.0):
        self.maxiter = maxiter
        self.stop_below = stop_below
        self.trace = []
        self.maxcor = maxcor
        self.bounds = bounds
        self.iterations = 0
        self.evaluations = 0
        self.x = None

    def run(self, fun, x0, step_callback=None):
        """Minimise `fun(x) -> (loss, gradient)` from `x0`; returns the last iterate.

        Raises:
          NonFiniteLoss: an evaluation gave NaN/inf (`x` is the last good iterate).
          KeyboardInterrupt: passed on (`x` is the last finished iterate).
        """
        x0 = np.asarray(x0, np.float64)
        low, high = (np.broadcast_to(np.asarray(b, np.float64), x0.shape) for b in
                     (self.bounds or (-np.inf, np.inf)))
        self.x = np.clip(x0, low, high)
        self.trace, latest = [], []

        def evaluate(x):
            loss, grad = fun(x)
            self.evaluations += 1
            if not (np.isfinite(loss) and np.all(np.isfinite(grad))):
                raise NonFiniteLoss("the loss became %s at evaluation %d" % (loss, self.evaluations))
            if not self.trace:
                self.trace.append(float(loss))
            latest[:] = [float(loss)]
            return np.float64(loss), np.asarray(grad, np.float64)

        def callback(xk):
            self.iterations += 1
            self.x = np.array(xk)
            # L-BFGS-B's line search ends on the point it accepts: its loss is the last evaluated.
            self.trace.append(latest[0])
            if step_callback is not None:
                step_callback(xk)
            if stalled(self.trace, self.stop_below):
                raise _Stalled

        bounded = np.isfinite(low).any() or np.isfinite(high).any()
        try:
            result = scipy.optimize.minimize(
                evaluate, self.x, jac=True, method="L-BFGS-B",
                bounds=scipy.optimize.Bounds(low, high) if bounded else None, callback=callback,
                # Stop on the iteration count or our own rule (`stalled`, over a
                # window), not on scipy's tolerances: its ftol compares single
                # iterations, which a style loss's float32 noise trips early.
                options={"maxiter": self.maxiter, "maxcor": self.maxcor, "ftol": 0.0, "gtol": 0.0,
                         "maxfun": 20 * self.maxiter})
        except _Stalled:
            return self.x
        self.x = result.x
        return self.x


class ScipyOptimizerInterface(_Interface):
    """L-BFGS-B through scipy, one session.run per loss+gradient evaluation.

    The variables are fed (not assigned) at each evaluation, so loss and
    gradient come back from a single run. They must be reference variables
    (see `_check_ref_variables`).

    Args:
      loss: scalar tensor.
      var_list: variables to optimise (default: the trainable ones).
      var_to_bounds: variable -> (low, high), applied elementwise.
      maxiter: iterations at most.
      maxcor: L-BFGS history length (see `LBFGS`).
      stop_below: end early when the loss stalls (see `stalled`); 0: run maxiter.
    """

    def __init__(self, loss, var_list=None, var_to_bounds=None, maxiter=100, maxcor=10,
                 stop_below=0.0):
        super().__init__(loss, var_list, var_to_bounds)
        _check_ref_variables(self.var_list)
        self._lbfgs = LBFGS(maxiter, maxcor, self._bounds_vector(), stop_below)
        self._grads = tf.gradients(loss, self.var_list)

    @property
    def iterations(self):
        return self._lbfgs.iterations

    @property
    def evaluations(self):
        return self._lbfgs.evaluations

    def minimize(self, session, feed_dict=None, fetches=None, step_callback=None,
                 loss_callback=None):
        """Run L-BFGS-B; on return (or interruption) the variables hold the last iterate.

        Raises:
          NonFiniteLoss: an evaluation gave NaN/inf; the last good iterate is kept.
          KeyboardInterrupt: re-raised after the last finished iteration is assigned.
        """
        fetches = list(fetches or [])

        def fun(x):
            feed = dict(feed_dict or {})
            feed.update(zip(self.var_list, self._packer.unpack(x)))
            loss, grads, fetched = session.run([self.loss, self._grads, fetches], feed)
            if loss_callback is not None and np.isfinite(loss):
                loss_callback(*fetched)
            return loss, self._packer.pack(grads)

        try:
            return self._lbfgs.run(fun, self._packer.pack(session.run(self.var_list)), step_callback)
        finally:
            if self._lbfgs.x is not None:
                self._assign_packed(session, self._lbfgs.x)


class AdamInterface(_Interface):
    """Adam (tf.compat.v1.train.AdamOptimizer) with the same `minimize` shape.

    Bounds are enforced by clipping after each step.
    """

    def __init__(self, loss, var_list=None, var_to_bounds=None, maxiter=100,
                 learning_rate=1.0, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(loss, var_list, var_to_bounds)
        self.maxiter = maxiter
        self.iterations = 0
        self.evaluations = 0
        optimizer = tf1.train.AdamOptimizer(learning_rate, beta1, beta2, epsilon)
        grads_and_vars = optimizer.compute_gradients(loss, self.var_list)
        # The loss fetched with a step must be the loss before that step.
        with tf.control_dependencies([loss]):
            apply = optimizer.apply_gradients(grads_and_vars)
        with tf.control_dependencies([apply]):
            clips = [v.assign(tf.clip_by_value(v, *self.var_to_bounds[v]))
                     for v in self.var_list if v in self.var_to_bounds]
            step = tf.group(apply, *clips)
        # The variables after the step come back from the same run as the step.
        with tf.control_dependencies([step]):
            self._after = [tf.identity(v.read_value()) for v in self.var_list]
        self._init = tf1.variables_initializer(optimizer.variables())

    def minimize(self, session, feed_dict=None, fetches=None, step_callback=None,
                 loss_callback=None):
        fetches = list(fetches or [])
        session.run(self._init)
        # `at` is where the next step's loss is evaluated; `good` the last point
        # whose loss came back finite, which is what a NaN stop keeps.
        at = good = self._packer.pack(session.run(self.var_list))
        try:
            for _ in range(self.maxiter):
                after, loss, fetched = session.run([self._after, self.loss, fetches], feed_dict)
                self.evaluations += 1
                if not np.isfinite(loss):
                    at = good
                    raise NonFiniteLoss("the loss became %s at iteration %d" % (loss, self.iterations + 1))
                good = at
                if loss_callback is not None:
                    loss_callback(*fetched)
                self.iterations += 1
                at = self._packer.pack(after)
                if step_callback is not None:
                    step_callback(at)
        finally:
            self._assign_packed(session, at if np.all(np.isfinite(at)) else good)
        return at
