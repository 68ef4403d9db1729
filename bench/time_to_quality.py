#!/usr/bin/env python
"""Time to quality: art's defaults against the classic method, loss against wall time.

    python bench/time_to_quality.py                          # every pair, 512 and 1024 px
    python bench/time_to_quality.py --pairs tubingen:starry_night --sizes 1024
    python bench/time_to_quality.py --table                  # print the table and plot, run nothing
    python bench/time_to_quality.py --sizes 1024 --art-flags "--schedule 300,150"   # a lever

(a) classic: one piece at the full size, scipy's L-BFGS-B from the content photo,
    500 iterations, float32 (the reference tool's method and default count).
(b) art: what `scripts/paint.py --size N` does with every other option at its
    default (coarse-to-fine levels, `--precision auto`, `--stop-below` at its default).

Both use the same loss weights (PaintConfig's defaults) and the style image scaled
to the output's long side. Both are judged by one yardstick, the pyramid of
art/quality/yardstick.py (fixed weights, every scale from the full size to ~512 px): (b)
is as good as (a) once the sum of its L_k is no higher than (a)'s final picture's
AND its full-size L_0 is within 5% of (a)'s. (b) keeps its full-size iterates and
scores them afterwards, outside the timed run: a few for the curve, and a
bisection for the first one as good as (a). The time (b) needs is the wall time
at which that iterate was finished. Wall time counts everything from the targets
to the last iteration.

(a) may be a kept render instead of a run (--classic-reference PNG REPORT, e.g.
../shared/reference's): its picture is scored, and its time is its report's
evaluation count times this machine's seconds per evaluation at that size,
float32, measured here (median of 3) in the same session as (b).

Each run is kept in bench/results/time_to_quality.json as soon as it finishes,
so the 1024-px classic runs (55-68 minutes each here) are not run twice; --rerun
runs them again. The final pictures go to bench/results/ttq/ (not kept in git).
Time it on a quiet machine: anything else running slows one side only.
"""

import argparse
import dataclasses
import json
import os
import time

import common
import numpy as np

RESULTS = os.path.join(common.RESULTS, "time_to_quality.json")
PICTURES = os.path.join(common.RESULTS, "ttq")
PLOT = os.path.join(common.RESULTS, "time_to_quality.png")
# Renders of the shared test photos, which no committed picture may hold: kept beside the
# final pictures, in the git-ignored results/ttq/.
SIDE_BY_SIDE = os.path.join(PICTURES, "side-by-side.jpg")
PAIRS = ("tubingen:starry_night", "golden_gate:hokusai_great_wave", "hoovertowernight:the_scream")
CLASSIC_ITERATIONS = 500
CURVE_POINTS = 12


def cpu_model():
    """The model, and whether it has native bfloat16: boxes sold under one name differ."""
    import peak
    info = peak.cpu_info()
    return "%s, %s" % (info["model"], "avx512_bf16" if info["avx512_bf16"] else "no native bf16")


def image_path(name):
    for ext in (".jpg", ".png"):
        path = os.path.join(common.SHARED_IMAGES, name + ext)
        if os.path.exists(path):
            return path
    raise SystemExit("no image %r in %s" % (name, common.SHARED_IMAGES))


def load_results(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"runs": {}}


def save_results(results, path):
    from art.files import atomic
    with atomic.atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)


def save_picture(name, image):
    from art.files import images
    os.makedirs(PICTURES, exist_ok=True)
    path = os.path.join(PICTURES, name + ".png")
    images.save_image(path, image)
    return os.path.relpath(path, common.ROOT)


class Recorder:
    """Wall time and loss of every iteration; the full-size iterates when asked."""

    def __init__(self, shape, keep_iterates):
        self.shape, self.keep = tuple(shape), keep_iterates
        self.began = time.perf_counter()
        self.times, self.losses, self.iterates = [], [], []
        self.levels = []        # every iteration of every level: (level, seconds, its own loss)

    def __call__(self, progress):
        seconds = time.perf_counter() - self.began
        self.levels.append((getattr(progress, "level", 1), seconds, progress.losses["total"]))
        if tuple(getattr(progress, "shape", None) or self.shape[:2]) != self.shape[:2]:
            return      # a coarse level: neither its loss nor its picture is of the full size
        self.times.append(seconds)
        self.losses.append(progress.losses["total"])
        if self.keep:
            self.iterates.append(np.array(progress.image(), np.float32))


def run_classic(weights, content, style, config, iterations):
    # No stopping rule: the classic method runs its full count, with scipy's L-BFGS-B.
    config = dataclasses.replace(config, iterations=iterations, precision="float32",
                                 schedule=None, stop_below=0.0)
    recorder = Recorder(content.shape, keep_iterates=False)
    result = common.paint_one(weights, content, [style], config, progress=recorder,
                              optimizer=lambda level: common.ScipyLBFGSB(level.iterations))
    seconds = time.perf_counter() - recorder.began
    return result, seconds, recorder


def run_art(weights, content, style, config):
    from art.plan import levels as plans
    from art.plan import precision
    chosen = precision.choose(config.precision)
    recorder = Recorder(content.shape, keep_iterates=True)
    plan = plans.plan(content.shape[:2], config)
    result = common.render_with(weights, content, [style], plan, progress=recorder)
    seconds = time.perf_counter() - recorder.began
    return result, seconds, recorder, chosen, plan


def judge(weights, content_path, style_path, shape):
    """The yardstick of both runs, for pictures of `shape`."""
    from art.files import images
    from art.quality import yardstick
    return yardstick.Yardstick(weights, images.load_image(content_path),
                               [images.load_image(style_path)], shape)


def as_good(score, classic):
    """The yardstick's "as good as the classic picture": the pyramid's sum no higher and
    the full-size loss within 5%."""
    return score["sum"] <= classic["sum"] and score["scales"][0] <= 1.05 * classic["scales"][0]


def summary(score):
    """What the results keep of a `yardstick.Score`."""
    return dict(sum=score.sum, scales=[s["total"] for s in score.scales], fine=score.fine,
                detail=score.detail, style0={k: v for k, v in score.scales[0].items()
                                             if k.startswith("style/")})


def seconds_per_evaluation(weights, content, style, config, repeats=3):
    """This machine's median seconds per float32 loss+gradient evaluation of the whole
    picture: what the classic method's time is made of."""
    from art.engine import untiled
    config = dataclasses.replace(config, precision="float32")
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], None, config)
    with untiled.WholeEvaluator(weights, config, content.shape, content_t, style_t) as evaluator:
        evaluator.evaluate(content)
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            evaluator.evaluate(content)
            times.append(time.perf_counter() - began)
    return float(np.median(times))


def first_good(good, count):
    """The first index in range(count) for which good(i), by bisection (the iterates
    improve iteration by iteration), or None. `good(i)` is cached by the caller."""
    if count == 0 or not good(count - 1):
        return None
    lo, hi = 0, count - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if good(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def art_config(flags):
    """The PaintConfig of paint.py with these extra flags (a lever being measured)."""
    import shlex
    from art.commands import cli
    from art.config import PaintConfig
    parser = cli.parser_from_dataclass(PaintConfig, "art")
    config = dataclasses.replace(
        cli.config_from_args(PaintConfig, parser.parse_args(shlex.split(flags))), print_every=0)
    config.check()
    return config


def classic_from_reference(args, weights, content, style, config, shape):
    """The classic side from a kept render: its picture, and its time on this machine."""
    from art.files import images
    path, report = args.classic_reference
    with open(report) as f:
        kept = json.load(f)
    if tuple(kept["size"][::-1]) != tuple(shape) and list(kept["size"]) != [shape[1], shape[0]]:
        raise SystemExit("%s is of %s, not %dx%d" % (report, kept["size"], shape[1], shape[0]))
    per = seconds_per_evaluation(weights, content, style, config)
    seconds = kept["evaluations"] * per
    losses = [row["total"] for row in kept["losses"]]
    curve = [[seconds * (i + 1) / len(losses), loss] for i, loss in enumerate(losses)]
    return dict(date=common.now(), cpu=cpu_model(), shape=list(shape), seconds=seconds,
                seconds_per_evaluation=per, iterations=kept["iterations"],
                evaluations=kept["evaluations"], final_loss=losses[-1], curve=curve,
                picture=os.path.relpath(path, common.ROOT), image=images.load_image(path),
                reference=report)


def measure(args, results, weights, pair, size):
    content_name, style_name = pair.split(":")
    content_path, style_path = image_path(content_name), image_path(style_name)
    content, style = common.load_pair(content_path, style_path, size)
    config = art_config("")
    key = "%s+%s/%d" % (content_name, style_name, size)
    runs = results["runs"]
    label = "%s %dx%d" % (pair, content.shape[1], content.shape[0])
    shape = content.shape[:2]
    stick = None
    if "classic" in args.methods and (args.rerun or key + "/classic" not in runs):
        if args.classic_reference:
            print("%s: classic, from %s ..." % (label, args.classic_reference[0]), flush=True)
            run = classic_from_reference(args, weights, content, style, config, shape)
            image = run.pop("image")
        else:
            print("%s: classic, %d iterations ..." % (label, args.classic_iterations), flush=True)
            result, seconds, recorder = run_classic(weights, content, style, config,
                                                    args.classic_iterations)
            image = result.image
            run = dict(
                date=common.now(), cpu=cpu_model(), shape=list(shape), seconds=seconds,
                iterations=result.iterations, evaluations=result.evaluations,
                final_loss=recorder.losses[-1],
                curve=[list(p) for p in zip(recorder.times, recorder.losses)],
                picture=save_picture(key.replace("/", "-") + "-classic", image))
        stick = judge(weights, content_path, style_path, shape)
        run["score"] = summary(stick.score(image))
        runs[key + "/classic"] = run
        save_results(results, args.results)
    classic = runs.get(key + "/classic")
    if classic is None:
        print("%s: no classic run to compare with; run it first" % label)
        return
    if classic["cpu"] != cpu_model():
        # Wall times of two CPUs are no speed-up.
        print("%s: the classic run kept is from another CPU (%s); --rerun to time it here"
              % (label, classic["cpu"]))
        return
    name = "/art" + (" " + args.art_flags if args.art_flags else "")
    if "art" in args.methods and (args.rerun or key + name not in runs):
        print("%s: art's defaults %s..." % (label, args.art_flags + " " if args.art_flags else ""),
              flush=True)
        result, seconds, recorder, chosen, plan = run_art(weights, content, style,
                                                          art_config(args.art_flags))
        count = len(recorder.iterates)
        cache = {}
        stick = stick or judge(weights, content_path, style_path, shape)

        def score(i):
            if i not in cache:
                cache[i] = summary(stick.score(recorder.iterates[i]))
            return cache[i]

        for i in np.linspace(0, count - 1, min(count, CURVE_POINTS)).round().astype(int):
            score(int(i))
        reached = first_good(lambda i: as_good(score(i), classic["score"]), count)
        runs[key + name] = dict(
            date=common.now(), cpu=cpu_model(), shape=list(shape), flags=args.art_flags,
            seconds=seconds, iterations=result.iterations, evaluations=result.evaluations,
            precision=chosen, levels=[[list(level.shape), level.iterations] for level in plan],
            score=score(count - 1), own_final_loss=recorder.losses[-1],
            trace=[list(row) for row in recorder.levels],
            curve=[[recorder.times[i], cache[i]["scales"][0]] for i in sorted(cache)],
            scores=[[recorder.times[i], cache[i]] for i in sorted(cache)],
            reached_seconds=None if reached is None else recorder.times[reached],
            picture=save_picture((key + name).replace("/", "-").replace(" ", "_"), result.image))
        save_results(results, args.results)
    if stick is not None:
        stick.close()


def pairs_and_sizes(runs):
    keys = {k.rsplit("/", 1)[0] for k in runs}
    return sorted(keys, key=lambda k: (int(k.split("/")[1]), k))


def _pyramid(score):
    return "%s (sum %.4g)" % (" / ".join("%.4g" % v for v in score["scales"]), score["sum"])


def table(results):
    """The Markdown table of art's defaults against the classic method, per pair and size."""
    rows = ["| pair | size | classic: time, L_0 / L_1 / ... (sum) | art's defaults: time, "
            "L_0 / L_1 / ... (sum), precision | art as good as classic at | speed-up |",
            "|---|---|---|---|---|---|"]
    runs = results["runs"]
    for key in pairs_and_sizes(runs):
        classic, art = runs.get(key + "/classic"), runs.get(key + "/art")
        if not (classic and art and "score" in classic and "score" in art):
            continue
        pair, _ = key.split("/")
        h, w = art["shape"]
        reached = art["reached_seconds"]
        rows.append("| %s | %dx%d | %s, %s | %s, %s (L_0 %+.1f%%), %s | %s | %s |" % (
            pair, w, h, clock(classic["seconds"]), _pyramid(classic["score"]),
            clock(art["seconds"]), _pyramid(art["score"]),
            100 * (art["score"]["scales"][0] / classic["score"]["scales"][0] - 1),
            art["precision"][0], clock(reached) if reached is not None else "not reached",
            "%.1fx" % (classic["seconds"] / reached) if reached else "-"))
    return "\n".join(rows)


def levers(results):
    """Every run of art (the defaults, and with the flags of a lever) against the classic one."""
    rows = ["| pair | size | art's defaults plus | levels (iterations run) | evaluations | time "
            "| L_0 vs classic | sum vs classic | as good as classic at | speed-up |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    runs = results["runs"]
    for key in pairs_and_sizes(runs):
        classic = runs.get(key + "/classic")
        variants = sorted(k for k in runs if k.startswith(key + "/art"))
        if not classic or "score" not in classic:
            continue
        for name in variants:
            art = runs[name]
            if "score" not in art:
                continue
            done = {}
            for level, _, _ in art["trace"]:
                done[level] = done.get(level, 0) + 1
            plan = ", ".join("%dx%d: %d/%d" % (shape[1], shape[0], done.get(i + 1, 0), iterations)
                             for i, (shape, iterations) in enumerate(art["levels"]))
            reached = art["reached_seconds"]
            rows.append("| %s | %s | %s | %s | %d | %s | %+.1f%% | %+.1f%% | %s | %s |" % (
                key.split("/")[0], key.split("/")[1], art.get("flags") or "-", plan,
                art["evaluations"], clock(art["seconds"]),
                100 * (art["score"]["scales"][0] / classic["score"]["scales"][0] - 1),
                100 * (art["score"]["sum"] / classic["score"]["sum"] - 1),
                clock(reached) if reached is not None else "not reached",
                "%.1fx" % (classic["seconds"] / reached) if reached else "-"))
    return "\n".join(rows)


def clock(seconds):
    seconds = int(round(seconds))
    return "%d:%02d" % (seconds // 60, seconds % 60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), metavar="CONTENT:STYLE",
                        help="image names in ../shared/images (default: %s)" % " ".join(PAIRS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024], metavar="PX")
    parser.add_argument("--methods", nargs="+", default=["classic", "art"],
                        choices=("classic", "art"))
    parser.add_argument("--rerun", action="store_true", help="run again what the results hold")
    parser.add_argument("--table", action="store_true", help="only print the table and draw the plot")
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    parser.add_argument("--art-flags", default="", metavar="FLAGS",
                        help="paint.py flags added to art's defaults, to measure a lever; kept "
                             "apart from the defaults' runs, in the levers table")
    parser.add_argument("--classic-reference", nargs=2, metavar=("PNG", "REPORT"),
                        help="the classic side from a kept render and its --report, timed by "
                             "this machine's seconds per evaluation")
    parser.add_argument("--classic-iterations", type=int, default=CLASSIC_ITERATIONS,
                        help="fewer only to try the script out")
    parser.add_argument("--results", default=RESULTS, help="results file (default: %(default)s)")
    args = parser.parse_args()
    results = load_results(args.results)
    if not args.table:
        from art.engine import startup
        startup.quiet_tensorflow()
        from art.files import weights as weights_mod
        weights = weights_mod.load(args.weights)
        for size in args.sizes:
            for pair in args.pairs:
                measure(args, results, weights, pair, size)
    print("CPU: %s" % cpu_model())
    print(table(results))
    print()
    print(levers(results))
    import ttq_plot
    from art.files import atomic
    plot = ttq_plot.draw(results)
    if plot is not None:
        with atomic.atomic_path(PLOT) as tmp:
            plot.save(tmp)
        print("plot: %s" % os.path.relpath(PLOT, common.ROOT))
    write_side_by_side(results)


def write_side_by_side(results):
    """The two final pictures of the first pair at the largest size both ran, to look at."""
    import ttq_plot
    from art.files import atomic
    runs = results["runs"]
    done = [k.rsplit("/", 1)[0] for k in runs if k.endswith("/art") and "score" in runs[k]
            and "score" in runs.get(k.replace("/art", "/classic"), {})]
    if not done:
        return
    order = {pair.replace(":", "+"): i for i, pair in enumerate(PAIRS)}
    key = min(done, key=lambda k: (-int(k.split("/")[1]), order.get(k.split("/")[0], 99), k))
    classic, art = runs[key + "/classic"], runs[key + "/art"]
    paths = [os.path.join(common.ROOT, run["picture"]) for run in (classic, art)]
    if not all(os.path.exists(p) for p in paths):
        return
    captions = ["classic: 500 L-BFGS iterations, %s, %s" % (clock(classic["seconds"]),
                                                             _pyramid(classic["score"])),
                "art's defaults: %s, %s" % (clock(art["seconds"]), _pyramid(art["score"]))]
    with atomic.atomic_path(SIDE_BY_SIDE) as tmp:
        ttq_plot.side_by_side(paths[0], paths[1], captions).save(tmp, quality=90)
    print("pictures: %s" % os.path.relpath(SIDE_BY_SIDE, common.ROOT))


if __name__ == "__main__":
    main()
