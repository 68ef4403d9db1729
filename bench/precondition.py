#!/usr/bin/env python
"""A lever of bench/time_to_quality.py tried and not kept: a multiscale preconditioner
for art's L-BFGS. Loss per iteration, from the content photo, one picture.

    python bench/precondition.py --size 256 --iterations 150 base P:2:4 P:4:4 m:30

Variants: `base` is `art.engine.lbfgs.LBFGS` as the renderer runs it (history 10);
`m:N` the same with a history of N; `P:c:K` the initial inverse-Hessian estimate
gamma*P instead of gamma*I, with P v = v + sum_{k=1..K} c^k G_{2^k} v (G_s: a
Gaussian blur of s px, zero outside the picture, so P is symmetric positive
definite). P lets smooth changes of the picture, which the content term asks for,
move faster than the fine ones, which the first style layers' curvature holds
back. The step still lands on the bounds by projection. Prints the loss every 25
iterations and the final terms; writes results/precondition.json.
"""

import argparse
import json
import os
import time

import common
import numpy as np
import scipy.ndimage


def preconditioner(shape, c, levels):
    def apply(v):
        image = v.reshape(shape)
        out = image.copy()
        for k in range(1, levels + 1):
            out += np.float32(c ** k) * scipy.ndimage.gaussian_filter(
                image, (2.0 ** k, 2.0 ** k, 0), mode="constant")
        return out.ravel()
    return apply


def make_lbfgs():
    from art.engine import lbfgs

    class Preconditioned(lbfgs.LBFGS):
        """L-BFGS with H0 = gamma P in its two-loop recursion (Nocedal & Wright, 7.2)."""
        P = None

        def _initial(self, q):
            if self.P is None:
                return super()._initial(q)
            if self.s:
                gamma = lbfgs.dot(self.s[-1], self.y[-1]) / lbfgs.dot(self.y[-1],
                                                                      self.P(self.y[-1]))
                return np.float32(gamma) * self.P(q)
            q = self.P(q)
            return q * np.float32(self.first_step / max(float(np.max(np.abs(q))), 1e-12))

    return Preconditioned


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("variants", nargs="+", metavar="VARIANT")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    args = parser.parse_args()
    from art.engine import startup
    startup.quiet_tensorflow()
    from art.engine import untiled
    from art.files import weights as weights_mod
    from art.config import PaintConfig
    content, style = common.load_pair(os.path.join(common.SHARED_IMAGES, "tubingen.jpg"),
                                      os.path.join(common.SHARED_IMAGES, "starry_night.jpg"),
                                      args.size)
    config = PaintConfig(precision="float32")
    weights = weights_mod.load(args.weights)
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], None, config)
    shape, results = content.shape, {}
    Preconditioned = make_lbfgs()
    with untiled.WholeEvaluator(weights, config, shape, content_t, style_t) as evaluator:
        for variant in args.variants:
            name, *params = variant.split(":")
            optimizer = Preconditioned(args.iterations)
            if name == "P":
                optimizer.P = preconditioner(shape, float(params[0]), int(params[1]))
            elif name == "m":
                optimizer.maxcor = int(params[0])
            elif name != "base":
                raise SystemExit("unknown variant %r: base, m:N or P:c:K" % variant)
            began, curve = time.perf_counter(), []

            def step(_, optimizer=optimizer, curve=curve, variant=variant, began=began):
                if optimizer.iterations % 25 == 0:
                    curve.append([optimizer.iterations, optimizer.evaluations, optimizer.f,
                                  time.perf_counter() - began])
                    print("%-8s iteration %3d  evaluations %3d  loss %.0f" % tuple(
                        [variant] + curve[-1][:3]), flush=True)
            optimizer.minimize(evaluator, content.ravel(), step_callback=step)
            terms = evaluator.evaluate(optimizer.x.reshape(shape))[2]
            results[variant] = dict(curve=curve, final=optimizer.f,
                                    terms={k: terms[k] for k in ("content", "style", "tv")})
            print("%-8s final loss %.0f (content %.0f, style %.0f)" % (
                variant, optimizer.f, terms["content"], terms["style"]), flush=True)
    path = os.path.join(common.RESULTS, "precondition.json")
    with open(path, "w") as f:
        json.dump(dict(date=common.now(), size=list(shape[:2]), iterations=args.iterations,
                       runs=results), f, indent=1)


if __name__ == "__main__":
    main()
