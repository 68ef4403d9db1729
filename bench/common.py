"""What the benchmarks share: the project on sys.path, default inputs, result files.

Benchmarks are scripts, not tests: they do not run in CI. Import this module
first; it puts the project root on sys.path and does nothing else.
"""

import datetime
import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# The shared test images live beside the project and are read in place, never copied.
SHARED_IMAGES = os.path.join(os.path.dirname(ROOT), "shared", "images")
DEFAULT_CONTENT = os.path.join(SHARED_IMAGES, "tubingen.jpg")
DEFAULT_STYLE = os.path.join(SHARED_IMAGES, "starry_night.jpg")
DEFAULT_WEIGHTS = os.path.join(ROOT, "vgg", "vgg19.npz")
RESULTS = os.path.join(BENCH, "results")


def proc_status(key):
    """A byte figure of /proc/self/status: "VmRSS" (now) or "VmHWM" (the process's peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def load_pair(content_path, style_path, size, square=False):
    """Content resized to `size` (long side, or size x size if `square`), style to the same long side.

    This is what scripts/paint.py does with --size N --style-scale 1.
    """
    from art.files import images
    from art.plan.levels import target_shape
    content = images.load_image(content_path)
    shape = (size, size) if square else target_shape(content.shape[:2], size)
    content = images.resize(content, shape)
    style = images.load_image(style_path)
    style = images.fit(style, max(shape))
    return content, style


class ScipyLBFGSB:
    """The classic method's optimiser, scipy's L-BFGS-B (float64, Fortran), as a strategy
    for `art.engine.render.render(optimizer=...)`: art's `art.engine.optim` interface, for benchmarks
    that compare against it. Not resumable (no `state`), so not in art itself."""

    def __init__(self, maxiter, maxcor=10, bounds=(0.0, 255.0)):
        self.maxiter, self.maxcor, self.bounds = maxiter, maxcor, bounds
        self.iterations = self.evaluations = 0
        self.x = None

    def minimize(self, evaluator, x0, step_callback=None, loss_callback=None):
        import numpy as np
        import scipy.optimize
        shape = tuple(evaluator.image_shape)

        def fun(x):
            loss, grad, terms = evaluator.evaluate(x.reshape(shape).astype(np.float32))
            self.evaluations += 1
            if loss_callback is not None:
                loss_callback(loss, terms)
            # scipy's Fortran code works in double precision.
            return float(loss), np.asarray(grad, np.float64).ravel()

        def callback(xk):
            self.iterations += 1
            self.x = xk.astype(np.float32)
            if step_callback is not None:
                step_callback(self.x)

        low, high = self.bounds
        self.x = np.clip(np.asarray(x0, np.float32).ravel(), low, high)
        scipy.optimize.minimize(
            fun, self.x.astype(np.float64), jac=True, method="L-BFGS-B", callback=callback,
            bounds=scipy.optimize.Bounds(np.full(self.x.size, low), np.full(self.x.size, high)),
            # The iteration count ends the run, not scipy's tolerances (they compare
            # single iterations, which a style loss's float32 noise trips early).
            options={"maxiter": self.maxiter, "maxcor": self.maxcor, "ftol": 0.0, "gtol": 0.0,
                     "maxfun": 20 * self.maxiter})
        return self.x


def render_with(weights, content, styles, levels, init=None, state=None, **hooks):
    """`render.render` with its `Request` and `Hooks` given as keywords."""
    from art.engine import render
    return render.render(render.Request(weights, content, styles, levels, init=init,
                                        state=state), render.Hooks(**hooks))


def paint_one(weights, content, styles, config, **kw):
    """A picture in one piece at the content's size: the render of a one-level plan."""
    from art.plan import levels
    return render_with(weights, content, styles, levels.one_piece(content.shape[:2], config),
                       **kw)


class Objective:
    """An evaluator (`art.engine.optim`'s interface) of a plain function of a vector:
    fun(x) -> (loss, gradient), for benchmarks of the optimisers alone."""

    def __init__(self, fun, size):
        self.fun, self.image_shape = fun, (size,)

    def evaluate(self, x):
        loss, grad = self.fun(x)
        return loss, grad, {}
