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

# Measured peak memory of one evaluation (VGG19 to conv5_1): ~1.9 GB at 256^2,
# 2.5 GB at 512^2, 4.5 GB at 1024^2: a fixed part and ~2.7 kB per pixel.
FIXED_BYTES, BYTES_PER_PIXEL = 1.6e9, 2.9e3
# scipy's L-BFGS-B keeps float64 vectors the size of the picture: 2 per
# history entry (maxcor 10) and a few of its own, for 3 channels.
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


def check_memory(shape, tiles):
    """Refuse a picture that would not fit, saying what it needs and what to do."""
    pixels = shape[0] * shape[1]
    piece = max(((t.outer[1] - t.outer[0]) * (t.outer[3] - t.outer[2]) for t in tiles)) if tiles \
        else pixels
    need = FIXED_BYTES + BYTES_PER_PIXEL * piece + LBFGS_BYTES_PER_PIXEL * pixels
    have = available_memory()
    if have is None or need <= have:
        return
    advice = "use more --tiles or a smaller --size" if tiles else "paint it in tiles (--tiles N) " \
        "or choose a smaller --size"
    raise ArtError("a %dx%d picture needs about %.1f GB %s and this machine has %.1f GB "
                   "available; %s" % (shape[1], shape[0], need / 1e9,
                                      "in these tiles" if tiles else "in one piece", have / 1e9, advice))


def format_losses(losses):
    return "  ".join("%s %.4g" % (k, losses[k]) for k in ("total", "content", "style", "tv") if k in losses)


def checkpoint_path(out, iteration):
    root, ext = os.path.splitext(out)
    return "%s.%04d%s" % (root, iteration, ext)


def load_inputs(config):
    """Read and scale the images, checking everything cheap before anything expensive."""
    content_path = config.content or images.EXAMPLE_CONTENT
    style_paths = config.style or [images.EXAMPLE_STYLE]
    size = images.parse_size(config.size)
    content = images.load_image(content_path)
    shape = images.target_shape(content.shape[:2], size)
    tiles = config.check(shape)
    check_memory(shape, tiles)
    init_path = config.init if config.init not in ("content", "noise") else None
    inputs = [content_path] + list(style_paths) + ([init_path] if init_path else [])
    images.check_output_path(config.out, inputs)
    if config.report:
        images.check_output_path(config.report, inputs, extensions=(".json",))
    if config.animate:
        animate.Recorder(config.animate, config.animate_every, inputs=inputs)
    content = images.resize(content, shape)
    styles = []
    for path in style_paths:
        style = images.load_image(path)
        # The style image's long side follows the output's, so brush strokes
        # keep their proportion to the picture whatever --size is.
        long_side = max(1, round(config.style_scale * max(shape)))
        styles.append(images.fit(style, long_side))
    init = images.resize(images.load_image(init_path), shape) if init_path else None
    return inputs, content, styles, init, tiles


def main():
    parser = cli.parser_from_dataclass(PaintConfig, __doc__.strip().splitlines()[0])
    config = cli.config_from_args(PaintConfig, parser.parse_args())
    config.check()
    inputs, content, styles, init, tiles = load_inputs(config)
    content_path, style_paths = inputs[0], inputs[1:1 + len(styles)]

    from art import fetch, weights as weights_mod
    if config.weights is None and not os.path.exists(fetch.DEFAULT_WEIGHTS):
        print("no VGG19 weights in %s: fetching the default..." % os.path.dirname(fetch.DEFAULT_WEIGHTS),
              flush=True)
        fetch.fetch_default(fetch.DEFAULT_WEIGHTS, progress=lambda msg: print(msg, flush=True))
        print("wrote %s" % fetch.DEFAULT_WEIGHTS, flush=True)
    weights_path = fetch.find_weights(config.weights)
    weights = weights_mod.load(weights_path)

    cli.quiet_tensorflow()
    from art import color, stylize
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
        return color.luminance_transfer(image, content) if config.preserve_colors else image

    h, w = content.shape[:2]
    print("painting %dx%d%s: %s in the style of %s; %s, %d iterations" % (
        w, h, " in %d tiles" % len(tiles) if tiles else "", content_path, ", ".join(style_paths),
        config.optimizer, config.iterations), flush=True)

    def progress(p):
        if config.print_every and (p.iteration % config.print_every == 0 or p.iteration == p.iterations
                                   or p.iteration == 1):
            print("iteration %d/%d  %s  %.2f s/it  %s left" % (
                p.iteration, p.iterations, format_losses(p.losses), p.seconds_per_iteration,
                cli.format_seconds(p.seconds_left)), flush=True)
        if config.save_every and p.iteration % config.save_every == 0:
            images.save_image(checkpoint_path(config.out, p.iteration), finish(p.image()), inputs)
        if recorder is not None and p.iteration % recorder.every == 0:
            recorder.add(p.iteration, finish(p.image()))

    recorder = None
    if config.animate:
        recorder = animate.Recorder(config.animate, config.animate_every, inputs=inputs)

    started = time.time()
    result = stylize.paint(weights, paint_content, styles, config, callback=progress, init=init)
    images.save_image(config.out, finish(result.image), inputs)
    if recorder is not None:
        recorder.add(result.iterations, finish(result.image), force=True)
        recorder.write()
    wall = time.time() - started
    if result.status == "interrupted":
        print("interrupted: wrote the image of iteration %d to %s" % (result.iterations, config.out),
              file=sys.stderr)
    elif result.status == "nonfinite":
        print("error: %s; wrote it to %s" % (result.message, config.out), file=sys.stderr)
    else:
        print("wrote %s (%d iterations, %d evaluations, %s)" % (
            config.out, result.iterations, result.evaluations, cli.format_seconds(wall)))
    if config.report:
        report = {
            "config": config.to_dict(),
            "weights": weights_path, "weights_source": weights.source,
            "size": [w, h], "status": result.status, "message": result.message,
            "iterations": result.iterations, "evaluations": result.evaluations,
            "wall_seconds": wall, "optimizer_seconds": result.elapsed,
            "seconds_per_evaluation": result.elapsed / max(result.evaluations, 1),
            "peak_memory_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "output": os.path.abspath(config.out),
            "losses": result.history,
        }
        from art.files import atomic_path
        with atomic_path(config.report, inputs) as tmp:
            with open(tmp, "w") as f:
                json.dump(report, f, indent=1)
    return {"done": 0, "nonfinite": 1, "interrupted": 130}[result.status]


if __name__ == "__main__":
    cli.run_main(main)
