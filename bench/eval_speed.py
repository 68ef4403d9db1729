#!/usr/bin/env python
"""Seconds per loss+gradient evaluation of the real painting graph, against the sgemm peak.

    python bench/eval_speed.py                                 # 256 and 512 px, oneDNN as set (default on)
    python bench/eval_speed.py --sizes 256 512 1024 --repeats 5
    python bench/eval_speed.py --onednn 0 1                    # oneDNN off and on, side by side
    python bench/eval_speed.py --precision float32 bfloat16    # the convolutions' arithmetic
    python bench/eval_speed.py --padding zero reflect          # what the convolutions see past the border

The graph is the engine's: `art.engine.untiled.build_loss` on a reference variable
with the default PaintConfig (content conv4_2; style conv1_1..conv5_1; TV), its
gradient by `art.engine.terms.gradients`,
targets from tubingen.jpg and starry_night.jpg, and each evaluation is what
L-BFGS does: one session.run of [loss, gradient, loss breakdown] with the image
variable fed. The time is the median over --repeats runs after --warmup runs;
the float32<->float64 packing L-BFGS adds around each run is not timed.

Each (oneDNN setting, precision, size) runs in its own subprocess, so TF_ENABLE_ONEDNN_OPTS
is set before TensorFlow is imported, and the peak RSS (ru_maxrss) is that
size's alone: the whole process (TF, weights, target graphs, the loss graph).
The parent measures the numpy sgemm peak first (bench/peak.py), in the same run, and
without the OpenBLAS settings that throttle numpy on these machines (its real peak).

FLOPs counted (the figure GFLOP/s is computed from):
  convolutions  2*H*W*Cin*Cout*9 per convolution, at that convolution's
                resolution, up to the deepest loss layer (13 convolutions to
                conv5_1); x2 for the backward pass to the input (one
                Conv2DBackpropInput of the same cost per Conv2D).
  Gram matrices 2*M*C^2 per style layer (M positions, C channels) forward, x3
                with the backward pass (TF's MatMul gradient is two more
                products of the same size).
Not counted: weight gradients, which are not computed: the weights are
constants, and although tf.gradients adds Conv2DBackpropFilter nodes to the
graph, the session prunes them (the child traces one run and records which
op types executed); bias, ReLU, pooling and the loss arithmetic (<0.1%).
At 512x512 this gives 378.7 (conv) + 27.4 (Gram) = 406.1 GFLOP, FACTS.md's
~406; TF's own profiler (float_operation) agrees on the conv and MatMul parts.

Appends one JSON line per invocation to bench/results/eval_speed.jsonl.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (puts the project root on sys.path)
import peak  # noqa: E402
from art.engine import startup
from art.plan import layers  # noqa: E402  (pure data, no TensorFlow)


def conv_flops(height, width, last):
    """[(name, H, W, Cin, Cout, forward FLOPs)] for the convolutions up to `last`.

    Pooling is 2x2, stride 2, VALID, so each pool halves the side, rounding down.
    """
    rows, h, w, cin = [], height, width, 3
    for name, cout in layers.TABLE:
        if cout is None:
            h, w = h // 2, w // 2
        else:
            rows.append((name, h, w, cin, cout, 2 * h * w * cin * cout * 9))
            cin = cout
        if name == last:
            break
    return rows


def gram_flops(height, width, style_layers):
    """Forward FLOPs of the style Grams, 2*M*C^2 per layer (M positions, C channels)."""
    sizes = {}
    h, w, c = height, width, 3
    for name, cout in layers.TABLE:
        if cout is None:
            h, w = h // 2, w // 2
        else:
            c = cout
        sizes[name] = (h * w, c)
    return sum(2 * sizes[n][0] * sizes[n][1] ** 2 for n in style_layers)


def evaluation_flops(height, width, config):
    """FLOPs of one loss+gradient evaluation: {'conv', 'gram', 'total'} (see the module doc)."""
    names = config.layer_names
    order = [name for name, _ in layers.TABLE]
    forward = sum(row[-1] for row in conv_flops(height, width, max(names, key=order.index)))
    conv, gram = 2 * forward, 3 * gram_flops(height, width, config.style_layers)
    return {"conv": conv, "gram": gram, "total": conv + gram}


def child(args):
    """Measure one size in this process; print one JSON line."""
    tf = startup.quiet_tensorflow()
    tf1 = tf.compat.v1
    import numpy as np
    from art.engine import terms, untiled
    from art.files import weights as weights_mod
    from art.config import PaintConfig

    size = args.child
    config = PaintConfig(precision=args.precision[0], padding=args.padding[0])
    weights = weights_mod.load(args.weights)
    content, style = common.load_pair(args.content, args.style, size, square=True)
    rss_before = common.proc_status("VmRSS")
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], config.style_blend, config)

    graph = tf.Graph()
    with graph.as_default():
        image_var = tf1.Variable(content[None], name="image", use_resource=False)
        total, breakdown = untiled.build_loss(image_var, weights, config, content_t, style_t)
        grads = terms.gradients(total, [image_var])
        fetches = [total, grads, [breakdown[k] for k in sorted(breakdown)]]
    kinds = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MatMul")
    types = [op.type for op in graph.get_operations()]
    in_graph = {t: types.count(t) for t in kinds}

    rng = np.random.default_rng(0)
    seconds = []
    with untiled.new_session(graph) as session:
        session.run(image_var.initializer)
        for i in range(args.warmup + args.repeats):
            # A new point each time, as L-BFGS would feed.
            x = np.clip(content + rng.normal(0, 1, content.shape), 0, 255).astype(np.float32)[None]
            start = time.perf_counter()
            loss, _, _ = session.run(fetches, {image_var: x})
            if i >= args.warmup:
                seconds.append(time.perf_counter() - start)
        # One more run, traced and untimed: which op types really execute.
        # Forward convolutions run fused with bias and ReLU under the ReLU's
        # name, so they are not counted here; the backward ones keep their names.
        metadata = tf1.RunMetadata()
        session.run(fetches, {image_var: x}, run_metadata=metadata,
                    options=tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE))
    executed = dict.fromkeys(kinds, 0)
    names = {node.node_name for dev in metadata.step_stats.dev_stats for node in dev.node_stats}
    for name in names:
        try:
            kind = graph.get_operation_by_name(name).type
        except (KeyError, ValueError):
            continue  # nodes grappler made up (constant folding, accumulators)
        if kind in executed:
            executed[kind] += 1
    print(json.dumps({
        "size": size, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "precision": config.precision, "padding": config.padding,
        "tensorflow": tf.__version__, "seconds": seconds, "median_seconds": statistics.median(seconds),
        "loss": float(loss), "ops_in_graph": in_graph, "ops_executed": executed,
        "rss_before_targets_bytes": rss_before,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def run_child(args, size, onednn, precision, padding):
    env = dict(os.environ)
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    command = [sys.executable, os.path.abspath(__file__), "--child", str(size),
               "--repeats", str(args.repeats), "--warmup", str(args.warmup),
               "--content", args.content, "--style", args.style, "--weights", args.weights,
               "--precision", precision, "--padding", padding]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit("the %d px run (oneDNN %s, %s, %s padding) failed with status %d"
                         % (size, onednn, precision, padding, done.returncode))
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="square picture sides, px")
    parser.add_argument("--repeats", type=int, default=5, help="timed evaluations per size (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed evaluations first")
    parser.add_argument("--onednn", nargs="+", choices=("0", "1"), default=None,
                        help="TF_ENABLE_ONEDNN_OPTS for the runs, one subprocess each (default: the "
                             "environment's, else 1 as art.commands.cli.quiet_tensorflow sets it)")
    parser.add_argument("--precision", nargs="+", choices=("float32", "bfloat16"),
                        default=["float32"], help="arithmetic of the convolutions (--precision of "
                        "paint.py), one subprocess each")
    parser.add_argument("--padding", nargs="+", choices=("zero", "reflect", "replicate"),
                        default=["zero"], help="padding of the convolutions (--padding of "
                        "paint.py), one subprocess each")
    parser.add_argument("--peak-repeats", type=int, default=5, help="sgemm runs for the peak (0: skip)")
    parser.add_argument("--content", default=common.DEFAULT_CONTENT, help="content photo")
    parser.add_argument("--style", default=common.DEFAULT_STYLE, help="style image")
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS, help="VGG19 weights")
    parser.add_argument("--out", default=os.path.join(common.RESULTS, "eval_speed.jsonl"),
                        help="JSON lines file to append to ('' for none)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0 or min(args.sizes) < 16:
        parser.error("need --repeats >= 1, --warmup >= 0 and --sizes >= 16")
    if args.child is not None:
        return child(args)

    from art.config import PaintConfig
    config = PaintConfig()
    cpu = peak.cpu_info()
    print("CPU: %s (%d logical CPUs), avx512_bf16: %s" % (
        cpu["model"], cpu["cpus"], "yes" if cpu["avx512_bf16"] else "no"), flush=True)
    sgemm = peak.real_peak(repeats=args.peak_repeats) if args.peak_repeats else None
    if sgemm:
        print("numpy sgemm n=4096: %.1f GFLOP/s (median of %d)" % (sgemm["gflops"], sgemm["repeats"]),
              flush=True)
    settings = args.onednn or [os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1")]

    rows = []
    for size in args.sizes:
        flops = evaluation_flops(size, size, config)
        runs = [(o, p, pad) for o in settings for p in args.precision for pad in args.padding]
        for onednn, precision, padding in runs:
            result = run_child(args, size, onednn, precision, padding)
            result.update(gflop=flops["total"] / 1e9, conv_gflop=flops["conv"] / 1e9,
                          gram_gflop=flops["gram"] / 1e9,
                          gflops=flops["total"] / 1e9 / result["median_seconds"])
            result["fraction_of_peak"] = result["gflops"] / sgemm["gflops"] if sgemm else None
            rows.append(result)
            print("%4d px oneDNN %s %s %s padding: %.3f s (runs %s)" % (
                size, onednn, precision, padding, result["median_seconds"],
                  " ".join("%.3f" % s for s in result["seconds"])), flush=True)

    print()
    print("| size | oneDNN | precision | padding | s / evaluation | GFLOP / evaluation | GFLOP/s | "
          "of sgemm float32 peak | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %dx%d | %s | %s | %s | %.3f | %.1f | %.1f | %s | %.2f GB |" % (
            r["size"], r["size"], r["onednn"], r["precision"], r["padding"], r["median_seconds"],
            r["gflop"],
            r["gflops"],
            "%.0f%%" % (100 * r["fraction_of_peak"]) if r["fraction_of_peak"] else "-",
            r["peak_rss_bytes"] / 1e9))
    print("\nGFLOP per evaluation = convolutions (forward + backward to the input) + Gram "
          "products (forward + backward): %s" % ", ".join(
              "%.1f + %.1f at %d" % (r["conv_gflop"], r["gram_gflop"], r["size"])
              for r in rows[::len(settings) * len(args.precision) * len(args.padding)]))
    print("ops in the graph: %s; executed: %s" % (rows[-1]["ops_in_graph"], rows[-1]["ops_executed"]))

    if args.out:
        record = {"date": common.now(), "cpu": cpu, "peak": sgemm, "sizes": args.sizes,
                  "repeats": args.repeats, "warmup": args.warmup, "loadavg": os.getloadavg(),
                  "medians": {"%d/onednn%s/%s/%s" % (r["size"], r["onednn"], r["precision"],
                                                      r["padding"]):
                              r["median_seconds"] for r in rows},
                  "runs": rows}
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(record) + "\n")
        print("appended to %s" % args.out)


if __name__ == "__main__":
    main()
