"""Image files in and out, sizes, and resampling.

Every image inside `art` is a float32 array of shape (height, width, 3), RGB,
with values from 0 to 255. This module is the only place that knows about
file formats and Pillow's image modes; it never imports TensorFlow.
"""

import math
import os
import re
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps

from art.errors import ArtError
from art.files import atomic_path

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The built-in content photo (CC0; see examples/README.md).
EXAMPLE_CONTENT = os.path.join(_ROOT, "examples", "coffee.png")
#: The built-in style painting, made by examples/make_style.py.
EXAMPLE_STYLE = os.path.join(_ROOT, "examples", "style.jpg")

# Named sizes as (width, height). The paper sizes are ISO A at 300 dpi,
# landscape, for printing a result as a poster.
PRESETS = {
    "hd": (1280, 720), "720p": (1280, 720),
    "fhd": (1920, 1080), "1080p": (1920, 1080),
    "qhd": (2560, 1440), "1440p": (2560, 1440),
    "4k": (3840, 2160), "uhd": (3840, 2160),
    "5k": (5120, 2880),
    "8k": (7680, 4320),
    "a2": (7016, 4961),
    "a1": (9933, 7016),
    "a0": (14043, 9933),
}

# Output formats by extension, with the options each writer gets.
_WRITERS = {
    ".png": ("PNG", {}),
    # 4:4:4 chroma: the default 4:2:0 subsampling smears the thin coloured
    # strokes a painting is made of.
    ".jpg": ("JPEG", {"quality": 95, "subsampling": 0}),
    ".jpeg": ("JPEG", {"quality": 95, "subsampling": 0}),
    ".tif": ("TIFF", {"compression": "tiff_deflate"}),
    ".tiff": ("TIFF", {"compression": "tiff_deflate"}),
}

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def load_image(path):
    """Read an image file as float32 RGB, shape (height, width, 3), values 0..255.

    Any image Pillow can decode is converted rather than rejected: grey,
    16-bit grey, integer and float grey, palette (with transparency), CMYK,
    and images with an alpha channel, which are composited onto white. The
    EXIF orientation tag is applied, so a portrait photo from a phone comes
    out upright. Of a multi-frame file (GIF, multi-page TIFF) the first frame
    is used.

    Args:
      path: the image file.

    Returns:
      A new float32 array of shape (height, width, 3).

    Raises:
      ArtError: the file is missing, is not an image, or is corrupt,
        truncated or too large to decode.
    """
    path = os.fspath(path)
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS (~89 Mpx) and refuses above
            # twice that (~179 Mpx). An A0 print at 300 dpi is 139 Mpx and is a
            # legitimate input here, so the warning is silenced (the library
            # never prints) and Pillow's hard limit is kept as ours: beyond it
            # the float32 copies alone would take several GB.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                im = ImageOps.exif_transpose(im)
                return _to_rgb_array(im)
    except Image.DecompressionBombError:
        raise ArtError("cannot read image %s: it has more than %d pixels, which is beyond "
                       "what this tool decodes; scale it down first"
                       % (path, 2 * Image.MAX_IMAGE_PIXELS)) from None
    except FileNotFoundError:
        raise ArtError("cannot read image %s: no such file" % path) from None
    except IsADirectoryError:
        raise ArtError("cannot read image %s: it is a folder, not an image file" % path) from None
    except Image.UnidentifiedImageError:
        raise ArtError("cannot read image %s: not a known image format, or its header is "
                       "damaged (PNG, JPEG and TIFF are read)" % path) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as e:
        # Pillow reports damaged data with any of these, depending on the
        # format (struct.error leaks from some decoders on cut-off headers).
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        reason = " ".join(reason.split()) or type(e).__name__
        raise ArtError("cannot read image %s: %s" % (path, reason)) from None


def _to_rgb_array(im):
    """Convert a loaded Pillow image of any mode to float32 RGB 0..255."""
    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES:
        # 16-bit grey: 65535 is white, so divide by 257 (= 65535 / 255) rather
        # than clip at 255 or drop the low byte.
        grey = np.asarray(im, dtype=np.float32) / 257.0
        return _grey_to_rgb(grey)
    if mode == "I":
        # 32-bit integer grey has no fixed white. In practice it holds 16-bit
        # data (Pillow's own conversions of 16-bit images land here), so values
        # above 255 are taken as 0..65535; an image already within 0..255 is
        # taken as 8-bit.
        grey = np.asarray(im, dtype=np.float64)
        if grey.size and grey.max() > 255:
            grey = grey / 257.0
        return _grey_to_rgb(grey)
    if mode == "F":
        # Float grey is 0..1 by convention (e.g. float TIFFs from scientific
        # and HDR tools) unless its values say it is 0..255.
        grey = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        if grey.size and grey.max() <= 1.0:
            grey = grey * 255.0
        return _grey_to_rgb(grey)
    if mode in ("1", "L"):
        return _grey_to_rgb(np.asarray(im.convert("L"), dtype=np.float32))
    if "A" in mode or "a" in mode or "transparency" in im.info:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:] / 255.0
        # Transparent pixels are composited onto white, not black: a cut-out
        # or a logo is meant to sit on a light page, and the colour stored
        # under alpha 0 is usually black, which would otherwise become hard
        # dark borders that the style then paints over.
        return (rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.float32)
    # RGB, CMYK, YCbCr, LAB, HSV, ... Pillow converts them. Pillow decodes
    # 16-bit RGB to 8-bit by keeping the high byte, which is the proper 0..255
    # scale to within one level; the network does not need more precision.
    return np.asarray(im.convert("RGB"), dtype=np.float32).copy()


def _grey_to_rgb(grey):
    grey = np.clip(grey, 0.0, 255.0).astype(np.float32)
    return np.repeat(grey[:, :, None], 3, axis=2)


_SIZE_FORMS = ("a long side in pixels (e.g. 512), WIDTHxHEIGHT (e.g. 800x600), or one of "
               + ", ".join(PRESETS))


def parse_size(text):
    """Parse an output size as the command line spells it.

    Args:
      text: "512" (long side 512, aspect kept), "800x600" (exactly 800 wide,
        600 high), or a preset name such as "4k" or "a2" (see `PRESETS`),
        case-insensitive.

    Returns:
      An int (the long side) or a (width, height) tuple.

    Raises:
      ArtError: the text has none of these forms, or a number is not positive.
    """
    s = str(text).strip().lower()
    if s in PRESETS:
        return PRESETS[s]
    m = re.fullmatch(r"([+-]?\d+)", s)
    if m:
        side = int(m.group(1))
        if side <= 0:
            raise ArtError("size %r must be positive; use %s" % (text, _SIZE_FORMS))
        return side
    m = re.fullmatch(r"([+-]?\d+)\s*[x\u00d7]\s*([+-]?\d+)", s)
    if m:
        w, h = int(m.group(1)), int(m.group(2))
        if w <= 0 or h <= 0:
            raise ArtError("size %r must have a positive width and height; use %s"
                           % (text, _SIZE_FORMS))
        return (w, h)
    raise ArtError("size %r is not valid; use %s" % (text, _SIZE_FORMS))


def target_shape(image_hw, size):
    """The (height, width) an image of shape `image_hw` is resized to.

    Args:
      image_hw: (height, width) of the image.
      size: what `parse_size` returns: an int sets the long side and keeps the
        aspect ratio; a (width, height) tuple is taken exactly.

    Returns:
      (height, width), each at least 1.
    """
    h, w = int(image_hw[0]), int(image_hw[1])
    if isinstance(size, tuple):
        width, height = size
        return (int(height), int(width))
    side = int(size)
    if side <= 0 or h <= 0 or w <= 0:
        raise ValueError("target_shape needs positive sizes, got image %dx%d and size %d"
                         % (w, h, side))
    scale = side / max(h, w)
    # Round half up; Python's round() would round 0.5 to even.
    return (max(1, math.floor(h * scale + 0.5)), max(1, math.floor(w * scale + 0.5)))


def resize(image, shape):
    """Resample an image to `shape` = (height, width) with a Lanczos filter.

    Each channel is resampled as a 32-bit float image, so no precision is lost
    to 8-bit rounding between steps; Lanczos overshoot is clipped back to 0..255.

    Args:
      image: float array (height, width, channels), values 0..255.
      shape: (height, width) of the result.

    Returns:
      A new float32 array of shape (height, width, channels).
    """
    image = np.asarray(image, dtype=np.float32)
    h, w = int(shape[0]), int(shape[1])
    if h <= 0 or w <= 0:
        raise ValueError("resize needs a positive shape, got %r" % (shape,))
    if image.shape[:2] == (h, w):
        return np.clip(image, 0.0, 255.0)
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(image[:, :, c]))
                   .resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32)
        for c in range(image.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 255.0)


def cover(image, shape):
    """Resize to `shape` (height, width) without distorting: the centre of the image,
    cropped to the shape's aspect ratio, as a wallpaper fills a screen."""
    h, w = image.shape[:2]
    th, tw = int(shape[0]), int(shape[1])
    if h * tw > w * th:      # taller than the target: crop rows
        keep = max(1, round(w * th / tw))
        top = (h - keep) // 2
        image = image[top:top + keep]
    elif h * tw < w * th:    # wider: crop columns
        keep = max(1, round(h * tw / th))
        left = (w - keep) // 2
        image = image[:, left:left + keep]
    return resize(image, shape)


def fit(image, size):
    """`image` resized to `size` (a long side, or (w, h), as `parse_size` gives), keeping aspect."""
    return resize(image, target_shape(image.shape[:2], size))


def to_uint8(image):
    """Round and clip a 0..255 float image to uint8 (NaN becomes 0)."""
    image = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def check_output_path(path, inputs=(), extensions=None):
    """Refuse, before any work is done, an output that `save_image` could not write.

    Returns:
      `path` as a string.

    Raises:
      ArtError: an extension not among `extensions` (default: the image
        formats `save_image` writes), a missing folder, or `path` is one of `inputs`.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    extensions = tuple(_WRITERS) if extensions is None else extensions
    if ext not in extensions:
        raise ArtError("cannot write %s: unknown extension %r; use one of %s"
                       % (path, ext, ", ".join(extensions)))
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ArtError("cannot write %s: folder %s does not exist" % (path, folder))
    for other in inputs:
        if other and os.path.exists(other) and os.path.exists(path) and os.path.samefile(other, path):
            raise ArtError("refusing to overwrite the input %s; choose another output path" % path)
    return path


def save_image(path, image, inputs=()):
    """Write an image atomically, in the format its extension names.

    Args:
      path: the output file; its extension is one of .png, .jpg, .jpeg, .tif,
        .tiff (JPEG is written at quality 95).
      image: float array (height, width, 3) or (height, width), values 0..255;
        clipped and rounded to 8 bits.
      inputs: paths that must not be overwritten (the content and style files).

    Raises:
      ArtError: unknown extension, missing folder, `path` is one of `inputs`,
        or the file cannot be written.
    """
    path = check_output_path(path, inputs)
    ext = os.path.splitext(path)[1].lower()
    pixels = to_uint8(image)
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise ValueError("save_image needs an (h, w, 3) or (h, w) image, got shape %r"
                         % (pixels.shape,))
    fmt, options = _WRITERS[ext]
    with atomic_path(path, inputs) as tmp:
        try:
            Image.fromarray(pixels).save(tmp, format=fmt, **options)
        except OSError as e:
            reason = e.strerror or str(e)
            raise ArtError("cannot write %s: %s" % (path, reason)) from None
