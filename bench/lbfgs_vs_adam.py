#!/usr/bin/env python
"""L-BFGS against Adam at several learning rates, on the real painting engine.

    python bench/lbfgs_vs_adam.py                          # 256 px, 100 iterations, rates 1..32
    python bench/lbfgs_vs_adam.py --size 128 --iterations 5 --rates 4 8    # a quick check

Every run is a one-piece render (`art.engine.render`) with the default PaintConfig (weights, layers,
start from the content photo), changing only the optimiser, its learning rate
and the iteration count. The final loss of each run is the total loss of the
image it returns, evaluated afresh in one forward pass, so the two optimisers
are judged on the same footing (Adam's own per-step loss is the loss *before*
its step, and its bounds are enforced by clipping after it).

If Adam's best rate is at an edge of the grid, the grid is extended past that
edge (x2 or /2) until the best rate is inside, at most --max-extend times.

Writes bench/results/lbfgs_vs_adam.json and, with Pillow, a plot of total
loss against evaluations (bench/results/lbfgs_vs_adam.png). The losses do not
depend on the machine's speed; the seconds recorded do.
"""

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the project root on sys.path)
import peak  # noqa: E402


def final_loss_fn(weights, config, content, style):
    """A function image -> (total, breakdown) using the engine's own loss graph and targets."""
    import tensorflow as tf
    from art.engine import untiled
    tf1 = tf.compat.v1
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], config.style_blend, config)
    graph = tf.Graph()
    with graph.as_default():
        image = tf1.placeholder(tf.float32, (1,) + content.shape)
        total, terms = untiled.build_loss(image, weights, config, content_t, style_t)
        fetch = {"total": total, "content": terms["content"], "style": terms["style"],
                 "tv": terms["tv"]}
    session = tf1.Session(graph=graph)

    def evaluate(x):
        return {k: float(v) for k, v in session.run(fetch, {image: x[None]}).items()}
    return evaluate


def run_one(weights, content, style, base, optimizer, rate, evaluate):
    import dataclasses
    config = dataclasses.replace(base, optimizer=optimizer,
                                 learning_rate=rate if rate is not None else base.learning_rate)
    curve = []

    def callback(p):
        # For L-BFGS the latest evaluation is at the accepted iterate; for Adam
        # it is the point the step started from.
        curve.append((p.iteration, p.evaluations, p.losses["total"]))

    started = time.perf_counter()
    result = common.paint_one(weights, content, [style], config, progress=callback)
    seconds = time.perf_counter() - started
    final = evaluate(result.image)
    return {"optimizer": optimizer, "learning_rate": rate, "status": result.status,
            "message": result.message, "iterations": result.iterations,
            "evaluations": result.evaluations, "final_loss": final["total"], "final_terms": final,
            "seconds": seconds, "seconds_per_evaluation": result.elapsed / max(result.evaluations, 1),
            "curve": curve}


def label(run):
    return "lbfgs" if run["optimizer"] == "lbfgs" else "adam lr=%g" % run["learning_rate"]


def loss_at_evaluations(curve, evaluations):
    """The last reported loss of a run whose evaluation count had not passed `evaluations`."""
    within = [loss for _, ev, loss in curve if ev <= evaluations]
    return within[-1] if within else None


def best_adam(runs):
    adam = [r for r in runs if r["optimizer"] == "adam" and math.isfinite(r["final_loss"])]
    return min(adam, key=lambda r: r["final_loss"])


def plot(runs, path, title):
    """Total loss (log scale) against evaluations, drawn with Pillow."""
    from PIL import Image, ImageDraw
    width, height, left, right, top, bottom = 900, 560, 70, 190, 40, 50
    points = [(ev, loss) for r in runs for _, ev, loss in r["curve"] if loss > 0]
    if not points:
        return
    xmax = max(ev for ev, _ in points)
    ylo = math.floor(math.log10(min(loss for _, loss in points)) * 4) / 4
    yhi = math.ceil(math.log10(max(loss for _, loss in points)) * 4) / 4
    if yhi <= ylo:
        yhi = ylo + 0.25

    def xy(ev, loss):
        x = left + (width - left - right) * ev / max(xmax, 1)
        y = top + (height - top - bottom) * (yhi - math.log10(loss)) / (yhi - ylo)
        return x, y

    im = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(im)
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    draw.text((left, 12), title, fill="black")
    draw.text((left + (width - left - right) // 2 - 30, height - 22), "evaluations", fill="black")
    for decade in range(math.ceil(ylo * 4), math.floor(yhi * 4) + 1):
        value = 10 ** (decade / 4)
        _, y = xy(0, value)
        draw.line([left - 4, y, left, y], fill="black")
        draw.text((4, y - 6), "%.3g" % value, fill="black")
    for tick in range(0, xmax + 1, max(10, (xmax // 10) // 10 * 10 or 10)):
        x, _ = xy(tick, 10 ** yhi)
        draw.line([x, height - bottom, x, height - bottom + 4], fill="black")
        draw.text((x - 8, height - bottom + 6), str(tick), fill="black")
    colours = ["black", "#d62728", "#ff7f0e", "#bcbd22", "#2ca02c", "#17becf", "#1f77b4",
               "#9467bd", "#e377c2", "#8c564b", "#7f7f7f"]
    for i, run in enumerate(runs):
        colour = colours[i % len(colours)]
        line = [xy(ev, loss) for _, ev, loss in run["curve"] if loss > 0]
        if len(line) > 1:
            draw.line(line, fill=colour, width=3 if run["optimizer"] == "lbfgs" else 1)
        y = top + 10 + 16 * i
        draw.line([width - right + 10, y + 6, width - right + 30, y + 6], fill=colour, width=3)
        draw.text((width - right + 36, y), "%s  %.4g" % (label(run), run["final_loss"]), fill="black")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    im.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="long side of the picture, px")
    parser.add_argument("--iterations", type=int, default=100, help="iterations of each optimiser")
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 2, 4, 8, 16, 32],
                        help="Adam learning rates, pixel units (0-255)")
    parser.add_argument("--max-extend", type=int, default=4,
                        help="extend the rate grid at most this many times if the best is at an edge")
    parser.add_argument("--content", default=common.DEFAULT_CONTENT, help="content photo")
    parser.add_argument("--style", default=common.DEFAULT_STYLE, help="style image")
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS, help="VGG19 weights")
    parser.add_argument("--out", default=os.path.join(common.RESULTS, "lbfgs_vs_adam.json"),
                        help="JSON results")
    parser.add_argument("--plot", default=os.path.join(common.RESULTS, "lbfgs_vs_adam.png"),
                        help="PNG plot of loss against evaluations ('' for none)")
    args = parser.parse_args()
    if args.size < 16 or args.iterations < 1 or not args.rates or min(args.rates) <= 0:
        parser.error("need --size >= 16, --iterations >= 1 and positive --rates")

    from art.engine import startup
    startup.quiet_tensorflow()
    from art.files import weights as weights_mod
    from art.config import PaintConfig

    base = PaintConfig(iterations=args.iterations, size=str(args.size))
    weights = weights_mod.load(args.weights)
    content, style = common.load_pair(args.content, args.style, args.size)
    evaluate = final_loss_fn(weights, base, content, style)
    h, w = content.shape[:2]
    print("%dx%d, %d iterations each; content %s, style %s" % (
        w, h, args.iterations, os.path.basename(args.content), os.path.basename(args.style)), flush=True)
    print("loss of the start (the content photo): %.5g" % evaluate(content)["total"], flush=True)

    def report(run):
        print("%-14s final loss %-10.5g %3d it %4d ev  %6.1f s  %s" % (
            label(run), run["final_loss"], run["iterations"], run["evaluations"], run["seconds"],
            run["status"]), flush=True)

    runs = [run_one(weights, content, style, base, "lbfgs", None, evaluate)]
    report(runs[0])
    rates = sorted(set(args.rates))
    for rate in rates:
        runs.append(run_one(weights, content, style, base, "adam", rate, evaluate))
        report(runs[-1])
    for _ in range(args.max_extend):
        best = best_adam(runs)["learning_rate"]
        tried = sorted(r["learning_rate"] for r in runs if r["optimizer"] == "adam")
        if best == tried[-1]:
            rate = best * 2
        elif best == tried[0]:
            rate = best / 2
        else:
            break
        print("best Adam rate %g is at the edge of the grid: trying %g" % (best, rate), flush=True)
        runs.append(run_one(weights, content, style, base, "adam", rate, evaluate))
        report(runs[-1])

    lbfgs, adam = runs[0], best_adam(runs)
    adam_runs = sorted((r for r in runs if r["optimizer"] == "adam"), key=lambda r: r["learning_rate"])
    edge = adam["learning_rate"] in (adam_runs[0]["learning_rate"], adam_runs[-1]["learning_rate"])
    # At equal work: L-BFGS's loss when it had used no more evaluations than Adam.
    lbfgs_at_adam_work = loss_at_evaluations(lbfgs["curve"], adam["evaluations"])
    summary = {
        "lbfgs_final_loss": lbfgs["final_loss"], "lbfgs_iterations": lbfgs["iterations"],
        "lbfgs_evaluations": lbfgs["evaluations"],
        "adam_best_learning_rate": adam["learning_rate"], "adam_best_final_loss": adam["final_loss"],
        "adam_best_evaluations": adam["evaluations"], "adam_best_at_grid_edge": edge,
        "lbfgs_beats_adam_best": lbfgs["final_loss"] < adam["final_loss"],
        "adam_best_over_lbfgs": adam["final_loss"] / lbfgs["final_loss"],
        "lbfgs_loss_at_adam_evaluations": lbfgs_at_adam_work,
    }

    print()
    print("| optimizer | learning rate | final total loss | / L-BFGS | iterations | evaluations | status |")
    print("|---|---|---|---|---|---|---|")
    for run in [lbfgs] + adam_runs:
        print("| %s | %s | %.5g | %.3f | %d | %d | %s |" % (
            run["optimizer"], "-" if run["learning_rate"] is None else "%g" % run["learning_rate"],
            run["final_loss"], run["final_loss"] / lbfgs["final_loss"], run["iterations"],
            run["evaluations"], run["status"]))
    print()
    print("Adam's best rate: %g (loss %.5g)%s" % (adam["learning_rate"], adam["final_loss"],
                                                  "  -- still at the grid's edge" if edge else ""))
    print("L-BFGS %s Adam's best: %.5g vs %.5g (Adam/L-BFGS = %.3f); evaluations %d vs %d" % (
        "beats" if summary["lbfgs_beats_adam_best"] else "does NOT beat", lbfgs["final_loss"],
        adam["final_loss"], summary["adam_best_over_lbfgs"], lbfgs["evaluations"], adam["evaluations"]))
    if lbfgs_at_adam_work is not None:
        print("L-BFGS's reported loss after <= %d evaluations: %.5g"
              % (adam["evaluations"], lbfgs_at_adam_work))

    record = {"date": common.now(), "cpu": peak.cpu_info(), "size": [w, h],
              "content": args.content, "style": args.style, "weights": args.weights,
              "config": base.to_dict(), "rates": [r["learning_rate"] for r in adam_runs],
              "summary": summary, "runs": runs,
              "notes": "final_loss: total loss of the returned image, evaluated afresh. curve: "
                       "(iteration, evaluations, total loss the engine reported at that iteration; "
                       "for Adam, the loss before the step). seconds depend on machine load."}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)
    print("wrote %s" % args.out)
    if args.plot:
        plot([lbfgs] + adam_runs, args.plot, "%dx%d, %d iterations: total loss vs evaluations (log)"
             % (w, h, args.iterations))
        print("wrote %s" % args.plot)


if __name__ == "__main__":
    main()
