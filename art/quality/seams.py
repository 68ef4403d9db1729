"""Seam metrics of a tiled picture, on luminance at known seam positions (no network).

SDR (step-to-detail ratio): the mean squared step across the seam, divided by
the same step measured at control offsets beside it (+-8, 16, 32, 64 px). About
1 means the seam is as smooth as the picture around it; a hard seam between two
textures gives ~15.

HFR (high-frequency ratio): the mean squared Laplacian within 8 px of the
seams, divided by the same away from them. About 1 is right; a hard seam
raises it (~3.5), a wide linear feather lowers it (~0.5: texture lost).
"""

import numpy as np

from art.engine.color import luminance

OFFSETS = (8, 16, 32, 64)
BAND = 8


def borders(tiles, shape):
    """Seam positions of tiles' inner boxes: (rows, columns) strictly inside the picture."""
    h, w = shape[:2]
    rows = sorted({t.inner[0] for t in tiles if 0 < t.inner[0] < h})
    cols = sorted({t.inner[2] for t in tiles if 0 < t.inner[2] < w})
    return rows, cols


def _grey(image):
    image = np.asarray(image, np.float64)
    return luminance(image)[..., 0] if image.ndim == 3 else image


def _step(grey, c):
    """Mean over rows of the squared difference between columns c and c-1."""
    return float(np.mean((grey[:, c] - grey[:, c - 1]) ** 2))


def sdr(image, rows, cols):
    """Step-to-detail ratio of each seam: {('col', c) or ('row', r): ratio}."""
    grey = _grey(image)
    result = {}
    for axis, positions, plane in (("col", cols, grey), ("row", rows, grey.T)):
        side = plane.shape[1]
        for c in positions:
            controls = [_step(plane, c + d) for o in OFFSETS for d in (-o, o) if 1 <= c + d < side]
            result[(axis, c)] = _step(plane, c) / max(np.mean(controls), 1e-12)
    return result


def _laplacian_squared(grey):
    return (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1]
            - 4 * grey[1:-1, 1:-1]) ** 2


def detail(image):
    """The mean squared Laplacian of the luminance over the whole picture: its fine
    detail, the HFR's measure. One picture's over another's of the same size (the
    classic method's) says which is sharper at 100%."""
    return float(_laplacian_squared(_grey(image)).mean())


def hfr(image, rows, cols):
    """High-frequency ratio near all the seams against away from them (> 4 bands off)."""
    grey = _grey(image)
    lap = _laplacian_squared(grey)
    h, w = grey.shape
    y = np.arange(1, h - 1)[:, None]
    x = np.arange(1, w - 1)[None, :]
    dist = np.full(lap.shape, np.inf)
    for r in rows:
        dist = np.minimum(dist, np.abs(y - r + 0.5) + 0 * x)
    for c in cols:
        dist = np.minimum(dist, np.abs(x - c + 0.5) + 0 * y)
    near, far = dist <= BAND, dist > 4 * BAND
    return float(lap[near].mean() / max(lap[far].mean(), 1e-12))
