"""Colour preservation, after Gatys, Bethge, Hertzmann and Shechtman,
"Preserving Color in Neural Artistic Style Transfer" (2016).

Two ways to keep the content photo's colours:

* `match_color` recolours the style image before painting, so that its pixel
  colours have the content photo's mean and covariance (the paper's
  "colour histogram matching").
* `luminance_transfer` paints as usual and then keeps only the luminance of
  the result, taking the colours (chrominance) from the content photo (the
  paper's "luminance-only transfer"). `luminance` and `match_luminance`
  prepare the grey images the network can be run on for that option.

All functions take and return float32 arrays (height, width, 3), RGB, 0..255.
Pure numpy.
"""

import numpy as np

# RGB -> YIQ (NTSC 1953), the space the paper uses. Y is Rec. 601 luma.
_RGB_TO_YIQ = np.array([
    [0.299, 0.587, 0.114],
    [0.595716, -0.274453, -0.321263],
    [0.211456, -0.522591, 0.311135],
])
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)

# Eigenvalues of a colour covariance below this (in 0..255 units squared, so
# a standard deviation of 0.01 grey levels) are treated as this: a flat or
# grey style image has a singular covariance that cannot be inverted.
_EPS = 1e-4


def _pixels(image):
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("expected an (h, w, 3) RGB image, got shape %r" % (image.shape,))
    return image.reshape(-1, 3)


def _sym_power(cov, power):
    """cov ** power for a symmetric positive semi-definite 3x3 matrix."""
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, _EPS)
    return (vectors * values ** power) @ vectors.T


def match_color(style, content):
    """Recolour `style` so its colour mean and covariance equal `content`'s.

    The paper gives two linear maps x' = A (x - mu_s) + mu_c with
    A cov_s A^T = cov_c: one from Cholesky factors, A = L_c L_s^-1, and the
    "Image Analogies" one from symmetric square roots,
    A = cov_c^(1/2) cov_s^(-1/2). This uses the second. Cholesky factors
    depend on the order of the channels (red is factored first and treated
    differently from blue), so that map can shift hues in a way that changes
    if the channels are permuted; the symmetric square roots treat R, G and B
    alike and give the map with no needless rotation of the colour cloud.

    Args:
      style: float array (h, w, 3), 0..255: the style image.
      content: float array (h2, w2, 3), 0..255; its size may differ.

    Returns:
      A new float32 array shaped like `style`, clipped to 0..255.
    """
    s = _pixels(style)
    c = _pixels(content)
    mu_s, mu_c = s.mean(axis=0), c.mean(axis=0)
    cov_s = np.cov(s, rowvar=False, bias=True)
    cov_c = np.cov(c, rowvar=False, bias=True)
    a = _sym_power(cov_c, 0.5) @ _sym_power(cov_s, -0.5)
    out = (s - mu_s) @ a.T + mu_c
    return np.clip(out, 0.0, 255.0).reshape(np.shape(style)).astype(np.float32)


def _to_yiq(image):
    return _pixels(image) @ _RGB_TO_YIQ.T


def _from_yiq(yiq, shape):
    rgb = yiq @ _YIQ_TO_RGB.T
    return np.clip(rgb, 0.0, 255.0).reshape(shape).astype(np.float32)


def luminance(image):
    """The luminance (Y of YIQ) of an RGB image, as a 3-channel grey image.

    The network expects three channels, so Y is repeated into R, G and B.
    """
    y = _to_yiq(image)[:, :1]
    return np.clip(np.repeat(y, 3, axis=1), 0.0, 255.0).reshape(np.shape(image)).astype(np.float32)


def match_luminance(style, content):
    """Shift and scale the style's luminance to the content's mean and spread.

    The paper does this before a luminance-only transfer so that a dark style
    image does not darken the photo: L_s' = sd_c / sd_s (L_s - mu_s) + mu_c.

    Args:
      style: float array (h, w, 3), 0..255.
      content: float array (h2, w2, 3), 0..255; its size may differ.

    Returns:
      The style's adjusted luminance as a 3-channel grey float32 image.
    """
    ls = _to_yiq(style)[:, 0]
    lc = _to_yiq(content)[:, 0]
    scale = lc.std() / max(ls.std(), np.sqrt(_EPS))
    y = (ls - ls.mean()) * scale + lc.mean()
    y = np.clip(y, 0.0, 255.0)
    return np.repeat(y[:, None], 3, axis=1).reshape(np.shape(style)).astype(np.float32)


def luminance_transfer(stylized, content):
    """Combine the luminance of `stylized` with the colours of `content`.

    In YIQ, Y is taken from the stylised image and I, Q (chrominance) from the
    content photo. Colours that fall outside RGB after the recombination are
    clipped, as in the paper.

    Args:
      stylized: float array (h, w, 3), 0..255: the painted result.
      content: float array of the same shape: the content photo.

    Returns:
      A new float32 array of that shape, 0..255.
    """
    if np.shape(stylized) != np.shape(content):
        raise ValueError("luminance_transfer needs images of one shape, got %r and %r"
                         % (np.shape(stylized), np.shape(content)))
    yiq = _to_yiq(content)
    yiq[:, 0] = _to_yiq(stylized)[:, 0]
    return _from_yiq(yiq, np.shape(content))
