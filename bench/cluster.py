#!/usr/bin/env python
"""Exact tiles on Dask: seconds per evaluation here, bytes per evaluation, and a model of
scaling to k machines, checked against this machine and used to predict an 8K render.

    python bench/cluster.py                       # 1024 px in 4 tiles; median of 5 after a warm-up
    python bench/cluster.py --size 1024 --tiles 4 --repeats 5

Measured, one after another on this machine (tubingen + starry_night, default PaintConfig):

  local 1x2   `tiled.TiledEvaluator` in this process: TensorFlow on both cores
  dask 1x2    the same maps on a local Dask cluster of 1 worker process x 2 threads
  dask 2x1    ... of 2 worker processes x 1 thread (each tile on one core)
  whole 1x2   the picture in one piece (`untiled.WholeEvaluator`), for the cost of tiles

and, for the model, the parts of one evaluation:

  tile time   pass 1 + pass 2 of each tile alone (`TileRunner`, 1 and 2 threads)
  driver      everything the driver does per evaluation but the maps: the reduces,
              the TV term, cutting crops and adding gradients (the maps replayed
              from memory), plus one float32 L-BFGS iteration's own work
  transfer    the same bytes through Dask with no work on the workers (loopback here)

The model: time per evaluation on k machines = max over machines of the tile time
of its tiles (tiles dealt round robin) + transfer (bytes / bandwidth) + driver. It
is checked against `dask 2x1` and `dask 1x2` here, then used for an 8K render
(default schedule, 1024-px tiles as this machine picks for 8K) on 1, 4 and 16
machines like this one, on 1 Gbit/s and 10 Gbit/s links. Coarse levels that fit
one tile run on the driver, as `scripts/paint.py` does.

Writes bench/results/cluster.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import common
import numpy as np

GBIT = 1e9 / 8 * 0.94      # bytes/s a 1 Gbit/s link carries (TCP over Ethernet, ~94%)


def median_time(function, repeats):
    function()                                  # warm-up: graph build, first allocations
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times), times


class Replay:
    """A tile map that returns stored results: what is left is the driver's work."""

    def __init__(self, partials, backward):
        self._partials, self._backward = partials, backward

    def use(self, spec):
        pass

    def share(self, items):
        return items

    def release(self, shared):
        pass

    def statistics(self, tiles, crops, inputs, names=None):
        return self._partials

    def backward_into(self, tiles, crops, inputs, cotangents, add):
        for j, grad in enumerate(self._backward):
            add(j, grad)

    def close(self):
        pass


GRAM_FLOATS = sum(c * c for c in (64, 128, 256, 512, 512))


def noop_partials(spec, tile, crop):
    """Pass 1's bytes (a tile's float32 Gram partials back; its other statistics are a
    few numbers) and no work."""
    return np.zeros(GRAM_FLOATS, np.float32)


def noop_backward(spec, tile, crop, common):
    """Pass 2's bytes (the cotangents in, the tile's gradient back) and no work."""
    return np.zeros_like(crop)


def tile_times_child(args, weights, config):
    """Each tile's pass 1 + pass 2, and pass 1 alone, in TensorFlow of --tile-threads
    threads; prints one JSON line."""
    from art.engine import untiled
    from art.engine import terms
    from art.engine import tiled
    from art.plan import tiling
    content, style = common.load_pair(args.content, args.style, args.size)
    shape = content.shape[:2]
    tiles = tiling.tiles_for(shape, n_tiles=args.tiles, names=terms.layers_read(terms.terms_of(config)))
    image = content + np.random.default_rng(0).normal(0, 8, content.shape).astype(np.float32)
    runner = tiled.TileRunner(weights, terms.GraphSpec.of(config), threads=args.tile_threads)
    local = tiled.LocalTiles(runner)
    content_t = tiled.content_targets(local, content, tiles, config)
    style_t = untiled.style_targets(weights, [style], None, config)
    crops = [tiling.crop(image, tile.outer) for tile in tiles]
    inputs = [{name: np.ascontiguousarray(tiling.crop(content_t[name][0], tile.at(name))[None])
               for name in config.content_layers} for tile in tiles]
    found = local.statistics(tiles, crops, inputs)
    reducer = tiled.Reducer(terms.terms_of(config), style_t, shape, found[0])
    cotangents = reducer(tiled.totals(found))[2]
    reducer.close()
    times, forward = [], []
    for tile, crop, given in zip(tiles, crops, inputs):

        def both(tile=tile, crop=crop, given=given):
            runner.statistics(tile, crop, given)
            runner.backward(tile, crop, given, cotangents)
        times.append(median_time(both, max(1, args.repeats // 2))[0])
        forward.append(median_time(lambda tile=tile, crop=crop, given=given:
                                   runner.statistics(tile, crop, given),
                                   max(1, args.repeats // 2))[0])
    print(json.dumps({"tile": times, "forward": forward}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--content", default=common.DEFAULT_CONTENT)
    parser.add_argument("--style", default=common.DEFAULT_STYLE)
    parser.add_argument("--weights", default=common.DEFAULT_WEIGHTS)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--tiles", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tile-threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--model-only", action="store_true", help="measure nothing: the "
                        "predictions again from results/cluster.json's measurements")
    args = parser.parse_args()
    path = os.path.join(common.RESULTS, "cluster.json")
    if args.model_only:
        with open(path) as f:
            report = json.load(f)
        style = common.load_pair(args.content, args.style, report["size"][0])[1]
        predictions(report, style.shape[0] / style.shape[1])
        with open(path, "w") as f:
            json.dump(report, f, indent=1)
        print("wrote %s" % path)
        return

    from art.engine import startup
    from art.files import atomic
    from art.plan import levels as plans
    from art.engine import lbfgs
    from art.plan import tiling
    startup.quiet_tensorflow()
    from art.engine import cluster
    from art.engine import untiled
    from art.engine import terms
    from art.engine import tiled
    from art.files import weights as weights_mod
    from art.config import PaintConfig
    import peak

    weights = weights_mod.load(args.weights)
    config = PaintConfig()
    if args.tile_threads:
        return tile_times_child(args, weights, config)
    content, style = common.load_pair(args.content, args.style, args.size)
    shape = content.shape[:2]
    names = terms.layers_read(terms.terms_of(config))
    tiles = tiling.tiles_for(shape, n_tiles=args.tiles, names=names)
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], None, config)
    image = content + np.random.default_rng(0).normal(0, 8, content.shape).astype(np.float32)
    sha = atomic.sha256(args.weights)
    report = {"date": common.now(), "cpu": peak.cpu_info(), "size": [shape[1], shape[0]],
              "tiles": len(tiles), "repeats": args.repeats,
              "command": "python bench/cluster.py --size %d --tiles %d --repeats %d"
              % (args.size, args.tiles, args.repeats), "measured": {}}
    measured = report["measured"]

    def record(name, seconds, times, **more):
        measured[name] = dict(seconds=seconds, all_seconds=times, **more)
        print("%-10s %6.2f s per evaluation  %s" % (
            name, seconds, "  ".join("%s %s" % kv for kv in more.items())), flush=True)

    with untiled.WholeEvaluator(weights, config, shape, content_t, style_t) as ev:
        record("whole 1x2", *median_time(lambda: ev.evaluate(image), args.repeats))
    with tiled.TiledEvaluator(weights, config, shape, content_t, style_t, tiles) as ev:
        record("local 1x2", *median_time(lambda: ev.evaluate(image), args.repeats))
        runner = ev.tile_map.runner
        crops = [tiling.crop(image, tile.outer) for tile in tiles]
        partials = [runner.statistics(t, c, i) for t, c, i in zip(tiles, crops, ev.inputs)]
        cotangents = ev.reducer(tiled.totals(partials))[2]
        backward = [runner.backward(t, c, i, cotangents)
                    for t, c, i in zip(tiles, crops, ev.inputs)]

    # Tile times, one tile at a time, at 1 and 2 threads. TensorFlow fixes its thread
    # pools at a process's first session, so each count runs in a process of its own.
    tile_times = {}
    for threads in (1, 2):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--content", args.content,
                              "--style", args.style, "--weights", args.weights, "--size",
                              str(args.size), "--tiles", str(args.tiles), "--repeats",
                              str(args.repeats), "--tile-threads", str(threads)],
                             capture_output=True, text=True, check=True).stdout
        found = json.loads(out.strip().splitlines()[-1])
        tile_times[threads] = found["tile"]
        report.setdefault("forward_seconds", {})[str(threads)] = found["forward"]
        print("tile time at %d thread%s: %s s (forward pass %s s)" % (
            threads, "s"[:threads > 1], ", ".join("%.2f" % x for x in found["tile"]),
            ", ".join("%.2f" % x for x in found["forward"])), flush=True)
    report["tile_seconds"] = {str(k): v for k, v in tile_times.items()}
    report["tile_outer_pixels"] = [t.outer_shape[0] * t.outer_shape[1] for t in tiles]

    # The driver's own work per evaluation, and per L-BFGS iteration.
    with tiled.TiledEvaluator(weights, config, shape, content_t, style_t, tiles,
                              tile_map=Replay(partials, backward)) as ev:
        driver = median_time(lambda: ev.evaluate(image), args.repeats)[0]
    x0 = image.ravel().copy()
    # 2 x the history: a late iteration's full cost, once the history is full.
    quadratic = lbfgs.LBFGS(2 * plans.MAXCOR, maxcor=plans.MAXCOR)
    marks = [time.perf_counter()]
    quadratic.minimize(common.Objective(lambda x: (0.5 * float(np.dot(x, x)), x.copy()), x0.size),
                       x0, step_callback=lambda _: marks.append(time.perf_counter()))
    steps = [b - a for a, b in zip(marks, marks[1:])]
    optimiser = statistics.median(steps[plans.MAXCOR:]) if len(steps) > plans.MAXCOR \
        else statistics.median(steps)
    report["driver_seconds"] = driver
    report["lbfgs_iteration_seconds"] = optimiser
    print("driver     %6.2f s per evaluation (reduces, TV, crops)  + %.2f s per L-BFGS iteration"
          % (driver, optimiser), flush=True)

    for workers in (1, 2):
        with cluster.Cluster(workers=workers, weights_path=args.weights, weights_sha=sha) as found:
            tile_map = cluster.ClusterTiles(found)
            with tiled.TiledEvaluator(weights, config, shape, content_t, style_t, tiles,
                                      tile_map=tile_map) as ev:
                ev.evaluate(image)
                sent, received = tile_map.sent, tile_map.received
                seconds, times = median_time(lambda: ev.evaluate(image), args.repeats)
                evaluations = args.repeats + 1
                per_sent = (tile_map.sent - sent) / evaluations
                per_received = (tile_map.received - received) / evaluations
                name = "dask %dx%d" % (workers, max(1, (os.cpu_count() or 1) // workers))
                # The same bytes through Dask, with no work: the transfer part.
                shared = tile_map.share(crops)
                try:
                    def moves(shared=shared, tile_map=tile_map):
                        shared.futures = None
                        tile_map._map(noop_partials, tiles, [shared])
                        tile_map._map(noop_backward, tiles, [shared], common=cotangents)
                    transfer = median_time(moves, args.repeats)[0]
                finally:
                    tile_map.release(shared)
            record(name, seconds, times, sent_bytes=int(per_sent), received_bytes=int(per_received),
                   transfer_seconds=round(transfer, 3))

    # The model, checked here.
    def model(k, threads, transfer):
        loads = [0.0] * k
        for j, t in enumerate(tile_times[threads]):
            loads[j % k] += t
        return max(loads) + transfer + driver

    checks = {
        "dask 2x1": model(2, 1, measured["dask 2x1"]["transfer_seconds"]),
        "dask 1x2": model(1, 2, measured["dask 1x2"]["transfer_seconds"]),
        "local 1x2": model(1, 2, 0.0),
    }
    report["model_check"] = {name: {"predicted": p, "measured": measured[name]["seconds"]}
                             for name, p in checks.items()}
    for name, predicted in checks.items():
        print("model      %-10s predicted %6.2f s, measured %6.2f s (%+.0f%%)" % (
            name, predicted, measured[name]["seconds"],
            100 * (predicted / measured[name]["seconds"] - 1)), flush=True)

    predictions(report, style.shape[0] / style.shape[1])
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote %s" % path)


def history_seconds_per_pixel():
    """The L-BFGS history's work on disk per iteration and per pixel, from the newest
    10-pair line of results/history_cost.jsonl (a --cold one if there is one), or None
    when there is none."""
    path = os.path.join(common.RESULTS, "history_cost.jsonl")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    lines = [line for line in lines if line["pairs"] == 10]
    # Read from the disk (--cold), as at A0, where the render leaves the page cache little.
    lines = [line for line in lines if line.get("cold")] or lines
    if not lines:
        return None
    newest = lines[-1]
    return newest["per_iteration_seconds"] / (newest["size"][0] * newest["size"][1])


def predictions(report, style_aspect):
    """The model with `report`'s measurements: a 4K render on one machine (to hold against
    a render's --report), an 8K render and an A0 poster on 1, 4 and 16 machines like this
    one. Adds them to `report` and prints them."""
    from art.commands import cli
    from art.config import PaintConfig
    from art.plan import levels as plans
    shape = report["size"][1], report["size"][0]
    pixels_here = shape[0] * shape[1]
    tile_times = {int(k): v for k, v in report["tile_seconds"].items()}
    tile_rate = sum(tile_times[2]) / sum(report["tile_outer_pixels"])     # s per outer pixel
    whole_rate = report["measured"]["whole 1x2"]["seconds"] / pixels_here
    # Targets are forward passes only: pass 1's share of a tile's time.
    forward_share = sum(report["forward_seconds"]["2"]) / sum(tile_times[2])
    report["forward_share"] = forward_share
    driver_rate = report["driver_seconds"] / pixels_here
    lbfgs_rate = report["lbfgs_iteration_seconds"] / pixels_here
    # The history on disk is the driver's alone: one more machine does not shorten it.
    history_rate = history_seconds_per_pixel()
    grams_bytes = 4 * GRAM_FLOATS
    evaluations_per_iteration = 413 / 403     # the 4K render (bench/results/render_4k.json)

    def predict(levels, k, bandwidth):
        total, per_level = 0.0, []
        for level in levels:
            pixels = level.shape[0] * level.shape[1]
            evaluations = level.iterations * evaluations_per_iteration
            per_iteration = lbfgs_rate * pixels
            if level.history_on_disk:
                per_iteration += history_rate * pixels
            if not level.tiles:
                seconds = evaluations * whole_rate * pixels + level.iterations * per_iteration
                # Targets: content + style, forward once, on the driver.
                seconds += (1 + style_aspect) * whole_rate * pixels * forward_share
            else:
                outer = [t.outer_shape[0] * t.outer_shape[1] for t in level.tiles]
                loads = [0.0] * k
                for j, o in enumerate(outer):
                    loads[j % k] += tile_rate * o
                moved = 2 * 12 * sum(outer) + grams_bytes * (len(outer) + 1)
                transfer = 0.0 if k == 1 else moved / bandwidth
                per_eval = max(loads) + transfer + driver_rate * pixels
                seconds = evaluations * per_eval + level.iterations * per_iteration
                seconds += (1 + style_aspect) * forward_share * max(loads)
            per_level.append(seconds)
            total += seconds
        return total, per_level

    # The model on one machine, for a 4K render in 6 tiles: to hold against a render's own
    # --report on a machine of this kind (docs/cluster.md).
    four_k = plans.plan((2160, 3840), PaintConfig(size="4k", tiles=6))
    predicted_4k, levels_4k = predict(four_k, 1, GBIT)
    report["predicted_4k"] = {"seconds": predicted_4k, "levels": levels_4k}
    print("model      4K render on 1 machine: predicted %s (levels %s)" % (
        cli.format_seconds(predicted_4k), ", ".join(cli.format_seconds(s) for s in levels_4k)))

    # 8K as this machine picks it for 1024-px tiles; A0 as the A0 render here painted it:
    # 70 tiles of 1536 px, the last level's history in the work folder.
    prints = {"8k": plans.plan((4320, 7680), PaintConfig(size="8k"), tile_size=1024)}
    if history_rate is None:
        print("model      no A0 line in results/history_cost.jsonl: run bench/history_cost.py "
              "for the A0 prediction")
    else:
        a0 = plans.plan((9933, 14043), PaintConfig(size="a0"), tile_size=1536)
        prints["a0"] = plans.place_history(a0, 0.9 * 22.7e9)
    for name, big in prints.items():
        table = []
        last = big[-1]
        outer = [t.outer_shape[0] * t.outer_shape[1] for t in last.tiles]
        for k in (1, 2, 4, 16):
            for link, bandwidth in (("1 Gbit/s", GBIT), ("10 Gbit/s", 10 * GBIT)):
                if k == 1 and bandwidth != GBIT:
                    continue
                seconds, per_level = predict(big, k, bandwidth)
                table.append({"machines": k, "link": "none" if k == 1 else link,
                              "seconds": seconds, "levels": per_level,
                              "bytes_per_evaluation": 2 * 12 * sum(outer)
                              + grams_bytes * (len(outer) + 1)})
                print("%-3s on %2d machine%s %-10s %s  (levels %s)" % (
                    name, k, "s"[:k > 1], "" if k == 1 else link, cli.format_seconds(seconds),
                    ", ".join(cli.format_seconds(s) for s in per_level)), flush=True)
        report["prediction_" + name] = {
            "levels": [{"size": [lv.shape[1], lv.shape[0]], "iterations": lv.iterations,
                        "tiles": len(lv.tiles or ()), "history_on_disk": lv.history_on_disk}
                       for lv in big],
            "table": table}
    if history_rate is not None:
        report["history_seconds_per_pixel"] = history_rate


if __name__ == "__main__":
    main()
