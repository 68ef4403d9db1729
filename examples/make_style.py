"""Paint the built-in style image, examples/style.jpg.

An expressionist night landscape made only of brush strokes: a swirling sky,
a low sun with a halo, rolling hills and a dark flame-shaped tree. Strokes
follow a flow field of vortices and waves; each is a bundle of bristle lines
of jittered colour, drawn at twice the size and scaled down for soft edges.
Deterministic: the same seed gives the same picture.

    python examples/make_style.py [--out examples/style.jpg] [--size 768] [--seed 1889]

It is saved as JPEG (quality 92, no chroma subsampling): the bristle texture
is noise to PNG's compressor, which would make the file twice as large.
"""

import argparse
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PALETTE = np.array([
    (18, 32, 96),     # ultramarine deep
    (36, 72, 168),    # cobalt
    (70, 130, 210),   # cerulean
    (150, 200, 230),  # pale sky
    (250, 214, 60),   # cadmium yellow
    (245, 150, 40),   # orange
    (215, 60, 40),    # vermilion
    (30, 110, 80),    # viridian
    (90, 150, 60),    # sap green
    (60, 30, 80),     # deep violet
    (245, 240, 220),  # titanium white
    (20, 20, 30),     # ivory black
], dtype=np.float64)


class Scene:
    """Where things are, in unit coordinates: x right, y down, both 0..1."""

    def __init__(self, rng):
        self.sun = np.array([0.74, 0.24])
        self.vortices = [  # centre x, centre y, strength, radius
            (0.30, 0.22, 1.0, 0.16),
            (0.52, 0.38, -0.8, 0.12),
            (self.sun[0], self.sun[1], 1.2, 0.14),
            (0.12, 0.45, -0.6, 0.10),
        ]
        self.waves = rng.uniform(0, 2 * np.pi, size=4)

    def horizon(self, x):
        """y of the top of the hills at x."""
        return 0.56 + 0.06 * np.sin(5.0 * x + self.waves[0]) + 0.03 * np.sin(13.0 * x + self.waves[1])

    def tree(self, x, y):
        """True inside the flame-shaped tree on the left."""
        top, bottom = 0.18, 1.02
        t = np.clip((y - top) / (bottom - top), 0, 1)
        half_width = 0.075 * np.sqrt(t) * (1.0 + 0.25 * np.sin(30 * t))
        centre = 0.2 + 0.03 * np.sin(9 * t + self.waves[2])
        return (y > top) & (np.abs(x - centre) < half_width)

    def flow(self, x, y):
        """Stroke direction (dx, dy) at points x, y (arrays)."""
        dx = np.ones_like(x) * 0.6
        dy = 0.35 * np.sin(6.0 * x + 3.0 * y + self.waves[3])
        for cx, cy, strength, radius in self.vortices:
            rx, ry = x - cx, y - cy
            fall = strength * np.exp(-(rx * rx + ry * ry) / (radius * radius)) / radius
            dx += -ry * fall * 6
            dy += rx * fall * 6
        land = y > self.horizon(x)
        # The hills are brushed along their contours, the tree upwards.
        dx = np.where(land, 1.0, dx)
        dy = np.where(land, 0.3 * np.cos(5.0 * x + self.waves[0])
                      + 0.35 * np.sin(14 * x + 22 * y + self.waves[1]), dy)
        in_tree = self.tree(x, y)
        dx = np.where(in_tree, 0.15 * np.sin(40 * y), dx)
        dy = np.where(in_tree, -1.0, dy)
        norm = np.hypot(dx, dy) + 1e-9
        return dx / norm, dy / norm

    def colour(self, x, y, rng):
        """Index into PALETTE for a stroke starting at (x, y)."""
        d_sun = np.hypot(x - self.sun[0], y - self.sun[1])
        if self.tree(x, y):
            return rng.choice([11, 9, 7, 0], p=[0.35, 0.3, 0.25, 0.1])
        if y > self.horizon(x):
            depth = (y - self.horizon(x)) / 0.4
            if depth < 0.3:
                return rng.choice([0, 9, 1, 7], p=[0.35, 0.25, 0.2, 0.2])
            return rng.choice([7, 8, 5, 4, 9, 1], p=[0.3, 0.25, 0.12, 0.06, 0.15, 0.12])
        if d_sun < 0.06:
            return rng.choice([4, 10, 5], p=[0.6, 0.25, 0.15])
        if d_sun < 0.13:
            return rng.choice([4, 5, 3, 10], p=[0.4, 0.3, 0.15, 0.15])
        for cx, cy, _, radius in self.vortices[:2]:
            r = np.hypot(x - cx, y - cy) / radius
            if 0.35 < r < 0.9 and rng.random() < 0.6:
                return rng.choice([3, 10, 4, 2], p=[0.35, 0.2, 0.25, 0.2])
        return rng.choice([0, 1, 2, 3, 9], p=[0.25, 0.3, 0.25, 0.1, 0.1])


def stroke_path(scene, x, y, length, step):
    """Points (unit coordinates) of a stroke that follows the flow from (x, y)."""
    points = [(x, y)]
    for _ in range(int(length / step)):
        dx, dy = scene.flow(np.array(x), np.array(y))
        x, y = x + float(dx) * step, y + float(dy) * step
        if not (-0.05 < x < 1.05 and -0.05 < y < 1.05):
            break
        points.append((x, y))
    return np.array(points)


def draw_stroke(draw, path, colour, width, scale, rng):
    """Draw one stroke as a bundle of bristles of slightly different colour."""
    if len(path) < 2:
        return
    tangent = np.gradient(path, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True) + 1e-12
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    bristles = max(2, int(width * scale / 3))
    offsets = np.linspace(-0.5, 0.5, bristles) * width
    shade = rng.normal(1.0, 0.07)
    n = len(path)
    for offset in offsets:
        # Outer bristles touch down later and lift earlier, which rounds the
        # stroke's ends; some run out of paint before the end.
        trim = 0.9 * (offset / width) ** 2 * n
        start = int(trim * rng.uniform(0.5, 1.5))
        end = n - int(trim * rng.uniform(0.5, 1.5))
        if rng.random() < 0.3:
            end = min(end, int(rng.integers(max(2, n // 2), n + 1)))
        pts = path[start:end] + normal[start:end] * offset
        if len(pts) < 2:
            continue
        # Lighter towards one edge, darker towards the other: impasto ridges.
        tone = shade * (1.0 + 0.25 * offset / width) * rng.normal(1.0, 0.05)
        c = np.clip(colour * tone + rng.normal(0, 6, 3), 0, 255).astype(int)
        xy = [(float(px * scale), float(py * scale)) for px, py in pts]
        draw.line(xy, fill=tuple(c), width=max(1, round(width * scale / bristles * 1.6)),
                  joint="curve")


def paint(size=768, seed=1889):
    """Return the painting as a uint8 array (size, size, 3)."""
    rng = np.random.default_rng(seed)
    scene = Scene(rng)
    scale = 2 * size  # draw at twice the size, scale down at the end
    canvas = Image.new("RGB", (scale, scale), (40, 50, 90))
    draw = ImageDraw.Draw(canvas)
    # Broad underpainting first, then ever finer strokes on top.
    for spacing, width, length in ((0.022, 0.030, 0.07), (0.016, 0.020, 0.06),
                                   (0.012, 0.013, 0.045), (0.010, 0.008, 0.03)):
        n = int(1 / spacing)
        gy, gx = np.mgrid[0:n, 0:n]
        starts = (np.stack([gx.ravel(), gy.ravel()], axis=1) + rng.random((n * n, 2))) * spacing
        starts = starts[rng.permutation(len(starts))]
        for x, y in starts:
            index = scene.colour(x, y, rng)
            path = stroke_path(scene, x, y, length * rng.uniform(0.7, 1.3), step=0.004)
            w = width * rng.uniform(0.8, 1.2)
            draw_stroke(draw, path, PALETTE[index], w, scale, rng)
    image = canvas.resize((size, size), Image.Resampling.LANCZOS)
    # A faint canvas weave under the paint.
    yy, xx = np.mgrid[0:size, 0:size]
    weave = 1.0 + 0.03 * np.sin(xx * 2.1) * np.sin(yy * 2.1)
    pixels = np.asarray(image.filter(ImageFilter.SHARPEN), dtype=np.float64) * weave[..., None]
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default=os.path.join(here, "style.jpg"),
                        help="output file (.jpg or .png)")
    parser.add_argument("--size", type=int, default=768, help="width and height in pixels")
    parser.add_argument("--seed", type=int, default=1889, help="random seed")
    args = parser.parse_args()
    image = Image.fromarray(paint(args.size, args.seed))
    if os.path.splitext(args.out)[1].lower() in (".jpg", ".jpeg"):
        image.save(args.out, quality=92, subsampling=0)
    else:
        image.save(args.out)
    print("wrote %s" % args.out)


if __name__ == "__main__":
    main()
