"""The loss-against-time plot of bench/time_to_quality.py, drawn with Pillow.

Pillow is already a dependency; a plotting library would be one more for a
single figure of two lines per panel.
"""

import math

from PIL import Image, ImageDraw, ImageFont

PANEL = (520, 330)
MARGIN = dict(left=70, right=16, top=34, bottom=46)
COLORS = {"classic": (90, 90, 90), "art": (214, 96, 20)}
GRID = (225, 225, 225)


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:       # Pillow without FreeType: one fixed size
        return ImageFont.load_default()


def nice_minutes(top):
    """Tick step (minutes) giving 4-8 ticks up to `top`."""
    for step in (0.5, 1, 2, 5, 10, 15, 20, 30, 60):
        if top / step <= 8:
            return step
    return 120


def panel(draw, box, title, classic, art):
    x0, y0, x1, y1 = box
    left, top = x0 + MARGIN["left"], y0 + MARGIN["top"]
    right, bottom = x1 - MARGIN["right"], y1 - MARGIN["bottom"]
    small, label = font(12), font(14)
    draw.text((left, y0 + 8), title, fill=(0, 0, 0), font=label)
    curves = {"classic": classic["curve"], "art": art["curve"]}
    t_max = max(t for curve in curves.values() for t, _ in curve) / 60.0 * 1.03
    losses = [loss for curve in curves.values() for _, loss in curve]
    lo = math.log10(min(losses) * 0.9)
    # The classic run starts at the photo, whose loss is orders of magnitude above
    # where both end: show the last two decades, where the runs differ.
    hi = min(math.log10(max(losses) * 1.1), lo + 2.0)

    def at(t, loss):
        u = (t / 60.0) / t_max
        v = (min(math.log10(loss), hi) - lo) / (hi - lo)
        return left + u * (right - left), bottom - v * (bottom - top)

    step = nice_minutes(t_max)
    k = 0
    while k * step <= t_max:
        x, _ = at(k * step * 60, 10 ** lo)
        draw.line([(x, top), (x, bottom)], fill=GRID)
        draw.text((x, bottom + 4), "%g" % (k * step), fill=(0, 0, 0), font=small, anchor="mt")
        k += 1
    for decade in range(math.floor(lo), math.ceil(hi) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10 ** decade
            if lo <= math.log10(value) <= hi:
                _, y = at(0, value)
                draw.line([(left, y), (right, y)], fill=GRID)
                draw.text((left - 4, y), "%.0e" % value, fill=(0, 0, 0), font=small, anchor="rm")
    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    draw.text(((left + right) / 2, bottom + 22), "wall time (minutes)", fill=(0, 0, 0),
              font=small, anchor="mt")
    # (a)'s final picture's full-size score, the bar (b)'s L_0 has to come within 5% of.
    bar = classic["score"]["scales"][0]
    _, y = at(0, bar)
    for x in range(int(left), int(right), 8):
        draw.line([(x, y), (min(x + 4, right), y)], fill=COLORS["classic"])
    for name, curve in curves.items():
        points = [at(t, loss) for t, loss in curve]
        if len(points) > 1:
            draw.line(points, fill=COLORS[name], width=2)
        else:
            draw.ellipse([points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2],
                         fill=COLORS[name])
    if art.get("reached_seconds") is not None:
        x, y = at(art["reached_seconds"], bar)
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], outline=COLORS["art"], width=2)
    legend = [("classic: L-BFGS, 500 iterations, float32", "classic"),
              ("art's defaults (%s)" % art["precision"][0], "art")]
    for i, (text, name) in enumerate(legend):
        y = top + 10 + 18 * i
        draw.line([(right - 250, y), (right - 226, y)], fill=COLORS[name], width=2)
        draw.text((right - 220, y), text, fill=(0, 0, 0), font=small, anchor="lm")


def draw(results):
    """One panel per pair and size that has both runs, rows by size: a PIL image, or None."""
    runs = results["runs"]
    # Runs judged by the pyramid yardstick (they carry a score) on both sides.
    keys = sorted({k.rsplit("/", 1)[0] for k in runs
                   if all("score" in runs.get(k.rsplit("/", 1)[0] + side, {})
                          for side in ("/classic", "/art"))},
                  key=lambda k: (int(k.split("/")[1]), k))
    if not keys:
        return None
    sizes = sorted({int(k.split("/")[1]) for k in keys})
    pairs = sorted({k.split("/")[0] for k in keys})
    image = Image.new("RGB", (PANEL[0] * len(pairs), PANEL[1] * len(sizes)), "white")
    pen = ImageDraw.Draw(image)
    for key in keys:
        pair, size = key.split("/")
        col, row = pairs.index(pair), sizes.index(int(size))
        box = (col * PANEL[0], row * PANEL[1], (col + 1) * PANEL[0], (row + 1) * PANEL[1])
        h, w = runs[key + "/art"]["shape"]
        panel(pen, box, "%s, %dx%d: total loss (float32, full size)" % (pair.replace("+", " + "),
                                                                          w, h),
              runs[key + "/classic"], runs[key + "/art"])
    return image


def side_by_side(classic_path, art_path, captions, width=640, crop=320):
    """Both final pictures scaled to `width` side by side, with 100% crops of their
    centres below: a PIL image."""
    pictures = [Image.open(path).convert("RGB") for path in (classic_path, art_path)]
    w, h = pictures[0].size
    scaled = [p.resize((width, round(h * width / w)), Image.LANCZOS) for p in pictures]
    top = 26
    sheet = Image.new("RGB", (2 * width + 8, top + scaled[0].height + 8 + crop + top), "white")
    pen = ImageDraw.Draw(sheet)
    box = (w // 2 - crop, h // 2 - crop // 2, w // 2, h // 2 + crop // 2)
    for i, (picture, small, caption) in enumerate(zip(pictures, scaled, captions)):
        x = i * (width + 8)
        pen.text((x + 4, 6), caption, fill=(0, 0, 0), font=font(14))
        sheet.paste(small, (x, top))
        y = top + small.height + 8
        sheet.paste(picture.crop(box), (x, y))
        sheet.paste(picture.crop((box[0] + crop, box[1], box[2] + crop, box[3])), (x + crop, y))
        pen.text((x + 4, y + crop + 6), "100%% crop, %dx%d px from the centre" % (2 * crop, crop),
                 fill=(0, 0, 0), font=font(12))
    return sheet
