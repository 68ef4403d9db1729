#!/usr/bin/env python
"""Paint a photo in the style of one or more artworks.

    python scripts/paint.py                      # the built-in example
    python scripts/paint.py --content photo.jpg --style painting.jpg --size 800 --out out.png
"""

import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from art import animate, cli, images  # noqa: E402  (the path above must come first)
from art.config import PaintConfig  # noqa: E402
from art.errors import ArtError  # noqa: E402

# One evaluation in one piece: see art.levels for the measurements. scipy's
# L-BFGS-B keeps float64 vectors the size of the picture: 2 per history entry
# (maxcor 10) and a few of its own, for 3 channels.
LBFGS_BYTES_PER_PIXEL = 8 * 3 * (2 * 10 + 6)


def available_memory():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def too_big(shape, need, have, advice):
    return ArtError("a %dx%d picture needs about %.1f GB %s and this machine has %.1f GB available; "
                    "%s" % (shape[1], shape[0], need / 1e9, advice[0], have / 1e9, advice[1]))


def plan_render(config, shape):
    """The levels to paint, or None for one piece painted by `stylize.paint` (scipy's
    L-BFGS-B or Adam). Picks tiles when the picture would not fit in one piece, and
    refuses a picture that fits in no tiling, saying how much it needs."""
    from art import levels as plans
    have = available_memory()
    levels = plans.plan(shape, config)
    tiled = config.tiles or config.tile_size
    if not (tiled or len(levels) > 1 or config.workdir or config.resume):
        need = plans.FIXED_BYTES + (plans.PIECE_BYTES_PER_PIXEL + LBFGS_BYTES_PER_PIXEL) \
            * shape[0] * shape[1]
        if have is None or need <= have:
            return None
    elif have is None or plans.memory_need(levels) <= have:
        return levels
    if tiled:
        raise too_big(shape, plans.memory_need(levels), have,
                      ("in these tiles", "use more --tiles or a smaller --size"))
    # Tiles picked for the user leave a tenth of the memory spare: the estimate is
    # within ~10% (a 4K render: 9.3 GB measured, 9.9 GB estimated), and running out
    # of memory would kill the plans.
    size = plans.choose_tile_size(shape, config, 0.9 * have)
    if size is None:
        smallest = plans.plan(shape, config, tile_size=512)
        raise too_big(shape, plans.memory_need(smallest), have,
                      ("even in tiles of 512 px", "choose a smaller --size"))
    levels = plans.plan(shape, config, tile_size=size)
    print("a %dx%d picture does not fit in one piece here: painting it in %d tiles of about "
          "%d px" % (shape[1], shape[0], len(levels[-1].tiles), size), flush=True)
    return levels


def format_losses(losses):
    return "  ".join("%s %.4g" % (k, losses[k]) for k in ("total", "content", "style", "tv") if k in losses)


def checkpoint_path(out, iteration, level=None):
    root, ext = os.path.splitext(out)
    if level is not None:
        return "%s.L%d.%04d%s" % (root, level, iteration, ext)
    return "%s.%04d%s" % (root, iteration, ext)


def load_inputs(config):
    """Read and scale the images, checking everything cheap before anything expensive."""
    content_path = config.content or images.EXAMPLE_CONTENT
    style_paths = config.style or [images.EXAMPLE_STYLE]
    size = images.parse_size(config.size)
    content = images.load_image(content_path)
    shape = images.target_shape(content.shape[:2], size)
    levels = plan_render(config, shape)
    init_path = config.init if config.init not in ("content", "noise") else None
    inputs = [content_path] + list(style_paths) + ([init_path] if init_path else [])
    images.check_output_path(config.out, inputs)
    if config.report:
        images.check_output_path(config.report, inputs, extensions=(".json",))
    if config.animate:
        animate.Recorder(config.animate, config.animate_every, inputs=inputs)
    # An exact WxH of another aspect (a 4K wallpaper from a 3:2 photo) is filled
    # by cropping the photo's centre, never by stretching it.
    content = images.cover(content, shape)
    styles = [images.load_image(path) for path in style_paths]
    if levels is None:
        # The style image's long side follows the output's, so brush strokes
        # keep their proportion to the picture whatever --size is (art.render
        # does the same at every level).
        long_side = max(1, round(config.style_scale * max(shape)))
        styles = [images.fit(style, long_side) for style in styles]
    init = images.cover(images.load_image(init_path), shape) if init_path else None
    return inputs, content, styles, init, levels


def main(argv=None):
    parser = cli.parser_from_dataclass(PaintConfig, __doc__.strip().splitlines()[0])
    config = cli.config_from_args(PaintConfig, parser.parse_args(argv))
    config.check()
    inputs, content, styles, init, levels = load_inputs(config)
    on_cluster = config.cluster is not None or config.workers is not None
    if on_cluster and not any(level.tiles for level in levels or ()):
        raise ArtError("--cluster and --workers share out a render's tiles, and this one has "
                       "none; add --tiles N (e.g. --tiles 6) or --tile-size PX")

    from art import fetch, weights as weights_mod
    if config.weights is None and not os.path.exists(fetch.DEFAULT_WEIGHTS):
        print("no VGG19 weights in %s: fetching the default..." % os.path.dirname(fetch.DEFAULT_WEIGHTS),
              flush=True)
        fetch.fetch_default(fetch.DEFAULT_WEIGHTS, progress=lambda msg: print(msg, flush=True))
        print("wrote %s" % fetch.DEFAULT_WEIGHTS, flush=True)
    weights_path = fetch.find_weights(config.weights)

    weights = weights_mod.load(weights_path)
    work, state = None, None
    if levels is not None:
        from art import workdir
        folder = config.resume or config.workdir or os.path.splitext(config.out)[0] + ".work"
        work = workdir.Workdir(folder)
        print_fingerprint = workdir.fingerprint(config, inputs, weights_path, levels)
        if config.resume:
            state = work.resume(print_fingerprint)
        else:
            work.check_start()
    cluster = connect_cluster(config, weights_path) if on_cluster else None
    try:
        if work is not None and not config.resume:
            work.start(print_fingerprint)
        return paint(config, inputs, content, styles, init, levels, weights, weights_path, work,
                     state, cluster)
    finally:
        if cluster is not None:
            cluster.close()


def connect_cluster(config, weights_path):
    """The Dask cluster to paint the tiles on, checked to run this art with these weights."""
    from art import files
    print("connecting to %s..." % (config.cluster or "a local Dask cluster of %d workers"
                                   % config.workers), flush=True)
    from art import cluster
    found = cluster.Cluster(address=config.cluster, workers=config.workers,
                            weights_path=weights_path, weights_sha=files.sha256(weights_path))
    live = found.live()
    print("painting the tiles on %d Dask worker%s (scheduler %s)"
          % (live, "s"[:live != 1], found.address), flush=True)
    return found


def paint(config, inputs, content, styles, init, levels, weights, weights_path, work, state,
          cluster):
    content_path, style_paths = inputs[0], inputs[1:1 + len(styles)]

    cli.quiet_tensorflow()
    from art import color, precision, stylize
    arithmetic, why = precision.choose(config.precision)
    if config.match_colors:
        styles = [color.match_color(style, content) for style in styles]
    if config.preserve_colors:
        # Luminance-only transfer: the network sees grey images, and the
        # content's colours are put back on the painted luminance at the end.
        paint_content = color.luminance(content)
        styles = [color.luminance(style) for style in styles]
        if init is not None:
            init = color.luminance(init)
    else:
        paint_content = content

    def finish(image):
        if not config.preserve_colors:
            return image
        same = image.shape[:2] == content.shape[:2]
        return color.luminance_transfer(image, content if same else images.resize(content, image.shape[:2]))

    h, w = content.shape[:2]
    if levels is None:
        plan = "%s, %d iterations" % (config.optimizer, config.iterations)
    else:
        plan = "%d level%s (%s)" % (len(levels), "s" [:len(levels) > 1], ", ".join(
            "%dx%d: %d it%s" % (lv.shape[1], lv.shape[0], lv.iterations,
                                ", %d tiles" % len(lv.tiles) if lv.tiles else "") for lv in levels))
        if any(lv.tiles for lv in levels):
            plan += ", %s tiles" % config.tile_mode
    print("painting %dx%d: %s in the style of %s; %s; %s convolutions (%s)" % (
        w, h, content_path, ", ".join(style_paths), plan, arithmetic, why), flush=True)
    if state is not None:
        print("resuming from %s: level %d/%d" % (work.path, int(state["level"]) + 1, len(levels)),
              flush=True)

    frame_shape = None
    if config.animate:
        recorder = animate.Recorder(config.animate, config.animate_every, inputs=inputs)
        frame_shape = images.target_shape((h, w), min(max(h, w), recorder.max_side))
    else:
        recorder = None
    clock = {"checkpoint": time.time(), "last": time.time(), "printed": time.time(), "frames": 0}

    def progress(p):
        now = time.time()
        per_iteration = now - clock["last"]
        clock["last"] = now
        where = ""
        if levels is not None and len(levels) > 1:
            where = "level %d/%d %dx%d  " % (p.level, p.levels, p.shape[1], p.shape[0])
        if getattr(p, "tile", 0):
            where += "tile %d/%d  " % (p.tile, p.tiles)
        # Every N iterations, and at least once a minute: an iteration of a print's
        # last level can take longer than that.
        if config.print_every and (p.iteration % config.print_every == 0 or p.iteration == p.iterations
                                   or p.iteration == 1 or now - clock["printed"] >= 60):
            clock["printed"] = now
            left = p.seconds_left
            live = ""
            if cluster is not None:
                count = cluster.live()
                live = "  %s worker%s" % ("?" if count is None else count, "s"[:count != 1])
            print("%siteration %d/%d  %s  %.2f s/it%s  %s left" % (
                where, p.iteration, p.iterations, format_losses(p.losses), per_iteration, live,
                "?" if left is None else cli.format_seconds(left)), flush=True)
        if config.save_every and p.iteration % config.save_every == 0:
            name = checkpoint_path(config.out, p.iteration, p.level if levels and len(levels) > 1 else None)
            images.save_image(name, finish(p.image()), inputs)
        clock["frames"] += 1
        if recorder is not None and clock["frames"] % recorder.every == 0:
            recorder.add(clock["frames"], images.resize(finish(p.image()), frame_shape))
        if work is not None and now - clock["checkpoint"] >= 60 * config.checkpoint_every:
            work.save_state(p.state())
            clock["checkpoint"] = time.time()

    def level_done(level, image, next_state):
        path = work.save_level(level, finish(image))
        if next_state is not None:
            work.save_state(next_state)
            clock["checkpoint"] = time.time()
            print("level %d/%d done: %s" % (level.index + 1, len(levels), path), flush=True)

    started = time.time()
    if levels is None:
        result = stylize.paint(weights, paint_content, styles, config, callback=progress, init=init)
    else:
        from art import render
        tile_map = None
        if cluster is not None:
            from art.cluster import ClusterTiles
            tile_map = ClusterTiles(cluster, config)
            tile_map.on_retry = lambda line: print(line, flush=True)
        result = render.render(weights, paint_content, styles, config, levels, callback=progress,
                               on_level=level_done, init=init, state=state, tile_map=tile_map)
    wall = time.time() - started
    final = result.image.shape[:2] == (h, w)
    if final:
        images.save_image(config.out, finish(result.image), inputs)
    if recorder is not None:
        recorder.add(clock["frames"], images.resize(finish(result.image), frame_shape), force=True)
        recorder.write()
    if result.status == "interrupted":
        if work is not None:
            work.save_state(result.state)
            print("interrupted (%s): checkpoint in %s; continue with the same options and "
                  "--resume %s" % (result.message, work.path, work.path), file=sys.stderr)
        else:
            print("interrupted: wrote the image of iteration %d to %s" % (result.iterations, config.out),
                  file=sys.stderr)
    elif result.status == "stopped":
        work.save_state(result.state)
        print("error: %s; checkpoint in %s: continue with the same options and --resume %s "
              "(on a cluster or on this machine)" % (result.message, work.path, work.path),
              file=sys.stderr)
    elif result.status == "nonfinite":
        print("error: %s%s" % (result.message, "; wrote it to %s" % config.out if final else ""),
              file=sys.stderr)
    else:
        if work is not None:
            work.finish()
        print("wrote %s (%d iterations, %d evaluations, %s)" % (
            config.out, result.iterations, result.evaluations, cli.format_seconds(wall)))
    if config.report:
        report = {
            "config": config.to_dict(),
            "weights": weights_path, "weights_source": weights.source,
            "size": [w, h], "status": result.status, "message": result.message,
            "levels": None if levels is None else [
                {"size": [lv.shape[1], lv.shape[0]], "iterations": lv.iterations,
                 "tiles": len(lv.tiles) if lv.tiles else 0} for lv in levels],
            "precision": {"used": arithmetic, "why": why},
            "iterations": result.iterations, "evaluations": result.evaluations,
            "wall_seconds": wall, "optimizer_seconds": result.elapsed,
            "seconds_per_evaluation": result.elapsed / max(result.evaluations, 1),
            "peak_memory_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "output": os.path.abspath(config.out) if final else None,
            "losses": result.history,
        }
        if cluster is not None:
            report["cluster"] = {"scheduler": cluster.address, "workers": cluster.live(),
                                 "retries": tile_map.retries, "sent_bytes": tile_map.sent,
                                 "received_bytes": tile_map.received}
        from art.files import atomic_path
        with atomic_path(config.report, inputs) as tmp:
            with open(tmp, "w") as f:
                json.dump(report, f, indent=1)
    return {"done": 0, "nonfinite": 1, "stopped": 1, "interrupted": 130}[result.status]


if __name__ == "__main__":
    cli.run_main(main)
