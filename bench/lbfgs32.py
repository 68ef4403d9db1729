#!/usr/bin/env python
"""The float32 L-BFGS of print renders (`art.engine.lbfgs`) against scipy's L-BFGS-B.

    python bench/lbfgs32.py                   # 256 px, 100 iterations, tubingen + starry_night

Both paint the same picture in one piece with the default PaintConfig for the
same number of iterations, through the one render loop (`art.engine.render.render`):
scipy's as the strategy it is given (`common.ScipyLBFGSB`, the classic method's
optimiser), the float32 one as art paints every picture. Each result's total loss is
evaluated afresh with one evaluator, so both are judged alike. The losses do
not depend on the machine's speed. Appends a JSON line to bench/results/lbfgs32.jsonl.
"""

import argparse
import json
import os
import time

import common
import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    args = parser.parse_args()
    from art.engine import startup
    startup.quiet_tensorflow()
    from art.engine import untiled
    from art.files import weights as weights_mod
    from art.config import PaintConfig
    weights = weights_mod.load(args.weights)
    content, style = common.load_pair(common.DEFAULT_CONTENT, common.DEFAULT_STYLE, args.size)
    config = PaintConfig(iterations=args.iterations, print_every=0)
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], None, config)
    rows = {}
    for name in ("scipy L-BFGS-B (float64)", "art.engine.lbfgs (float32)"):
        began = time.perf_counter()
        scipy = name.startswith("scipy")
        result = common.paint_one(weights, content, [style], config, optimizer=(
            lambda level: common.ScipyLBFGSB(level.iterations)) if scipy else None)
        with untiled.WholeEvaluator(weights, config, content.shape, content_t, style_t) as ev:
            loss = ev.evaluate(result.image)[0]
        rows[name] = {"final_loss": loss, "iterations": result.iterations,
                      "evaluations": result.evaluations, "seconds": time.perf_counter() - began}
        print("%-26s final loss %.6g  %d iterations, %d evaluations" % (
            name, loss, result.iterations, result.evaluations), flush=True)
    with open(os.path.join(common.RESULTS, "lbfgs32.jsonl"), "a") as f:
        f.write(json.dumps({"date": common.now(), "size": args.size, "shape": list(content.shape),
                            "rows": rows}) + "\n")
    assert np.isfinite(list(r["final_loss"] for r in rows.values())).all()


if __name__ == "__main__":
    main()
