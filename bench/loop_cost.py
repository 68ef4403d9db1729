#!/usr/bin/env python
"""What the render loop costs on top of the graph: seconds per evaluation of a whole
one-piece render against a plain tf.compat.v1 loop of the same graph, in one run.

    python bench/loop_cost.py                      # 256x192 and 512x384, tubingen + starry_night
    python bench/loop_cost.py --sizes 512 --short 6 --long 26

The render's figure is differenced: two renders of --short and --long iterations,
(wall time of the long - of the short) / (evaluations of the long - of the short),
so that start-up (weights into the graph, targets, the first run's kernel choice)
cancels. The plain figure is the median of --repeats session.run calls of loss and
gradient on a placeholder, after two warm-up runs: the graph's own speed, with no
optimiser, feeds of a variable, callbacks or bookkeeping. Appends a JSON line to
bench/results/loop_cost.jsonl.
"""

import argparse
import json
import os
import statistics
import time

import common
import peak


def plain_seconds(weights, config, content, style, repeats):
    import numpy as np
    import tensorflow as tf
    from art.engine import terms, untiled
    tf1 = tf.compat.v1
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], None, config)
    graph = tf.Graph()
    with graph.as_default():
        image = tf1.placeholder(tf.float32, (1,) + content.shape)
        total, _ = untiled.build_loss(image, weights, config, content_t, style_t)
        grad = terms.gradients(total, image)[0]
    x = np.random.default_rng(0).uniform(0, 255, (1,) + content.shape).astype(np.float32)
    times = []
    with untiled.new_session(graph) as session:
        for k in range(repeats + 2):
            began = time.perf_counter()
            session.run([total, grad], {image: x})
            if k >= 2:
                times.append(time.perf_counter() - began)
    return statistics.median(times)


def render_seconds(weights, config, content, style, iterations):
    import dataclasses
    began = time.perf_counter()
    result = common.paint_one(weights, content, [style],
                              dataclasses.replace(config, iterations=iterations))
    return time.perf_counter() - began, result.evaluations


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512],
                        help="long sides (default: %(default)s)")
    parser.add_argument("--short", type=int, default=6)
    parser.add_argument("--long", type=int, default=26)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    args = parser.parse_args()
    from art.engine import startup
    startup.quiet_tensorflow()
    from art.files import weights as weights_mod
    from art.config import PaintConfig
    weights = weights_mod.load(args.weights)
    config = PaintConfig(print_every=0, precision="float32")
    rows = []
    for size in args.sizes:
        content, style = common.load_pair(common.DEFAULT_CONTENT, common.DEFAULT_STYLE, size)
        plain = plain_seconds(weights, config, content, style, args.repeats)
        short_s, short_e = render_seconds(weights, config, content, style, args.short)
        long_s, long_e = render_seconds(weights, config, content, style, args.long)
        loop = (long_s - short_s) / (long_e - short_e)
        row = {"size": [content.shape[1], content.shape[0]], "plain_seconds": plain,
               "render_seconds_per_evaluation": loop, "ratio": loop / plain,
               "runs": {"short": [args.short, short_e, short_s], "long": [args.long, long_e, long_s]}}
        rows.append(row)
        print("%dx%d: plain graph %.3f s per evaluation, render %.3f s (%d-%d evaluations): "
              "%.3fx" % (content.shape[1], content.shape[0], plain, loop, long_e, short_e,
                         loop / plain), flush=True)
    with open(os.path.join(common.RESULTS, "loop_cost.jsonl"), "a") as f:
        f.write(json.dumps({"date": common.now(), "cpu": peak.cpu_info(), "rows": rows}) + "\n")


if __name__ == "__main__":
    main()
