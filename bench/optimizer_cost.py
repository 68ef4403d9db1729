#!/usr/bin/env python
"""The optimisers' own cost per iteration, without the network: what L-BFGS adds to
each evaluation (history, dot products, float64 copies) at a picture's size.

    python bench/optimizer_cost.py                 # 1024x768, 30 iterations, history 10
    python bench/optimizer_cost.py --size 2048x1536

The objective is a separable quadratic of the picture's size, so each iteration's
time is the optimiser's alone (the objective itself, a few vector operations, is
timed apart and subtracted). Compare with seconds per evaluation of the network
(bench/eval_speed.py) to see the share. Median over the iterations after 10 warm-ups
(the history is full by then).
"""

import argparse
import statistics
import time

import common
import numpy as np


def objective(n, seed=0):
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 10.0, n).astype(np.float32)
    centre = rng.uniform(50, 200, n).astype(np.float32)

    def fun(x):
        d = x - centre
        return float(np.dot(d * scale, d)), (2 * scale * d).astype(np.float32)
    return fun


def timed(fun):
    stamps = []

    def wrapped(x):
        began = time.perf_counter()
        out = fun(x)
        stamps.append(time.perf_counter() - began)
        return out
    return wrapped, stamps


def per_iteration(optimizer, fun, x0):
    """Seconds of each iteration of `optimizer` (an `art.engine.optim` interface) on `fun`
    from `x0`, the objective's own time taken out."""
    f, own = timed(fun)
    marks = []
    optimizer.minimize(common.Objective(f, x0.size), x0,
                       step_callback=lambda _: marks.append((time.perf_counter(), len(own))))
    return [(t1 - t0) - sum(own[c0:c1]) for (t0, c0), (t1, c1) in zip(marks, marks[1:])]


def art_lbfgs(fun, x0, iterations, maxcor):
    from art.engine import lbfgs
    return per_iteration(lbfgs.LBFGS(iterations, maxcor=maxcor), fun, x0)


def scipy_lbfgs(fun, x0, iterations, maxcor):
    return per_iteration(common.ScipyLBFGSB(iterations, maxcor=maxcor), fun, x0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--size", default="1024x768", help="WxH (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--maxcor", type=int, default=10)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    n = w * h * 3
    fun = objective(n)
    x0 = np.full(n, 128.0, np.float32)
    for name, run in (("art.engine.lbfgs (float32, art's)", art_lbfgs),
                      ("scipy L-BFGS-B (float64, the classic method's)", scipy_lbfgs)):
        per = run(fun, x0, args.iterations, args.maxcor)[10:]
        print("%-46s %s, history %d: %.3f s per iteration (median of %d)"
              % (name, args.size, args.maxcor, statistics.median(per), len(per)))


if __name__ == "__main__":
    main()
