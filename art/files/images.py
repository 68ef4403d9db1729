"""Image files in and out, sizes, and resampling.

Every image inside `art` is a float32 array of shape (height, width, 3), RGB,
with values from 0 to 255. This module is the only place that knows about
file formats and Pillow's image modes; it never imports TensorFlow.
"""

import errno
import io
import math
import os
import re
import struct
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageOps

from art import PROJECT_ROOT
from art.errors import ArtError
from art.files import atomic, encode
from art.plan.levels import target_shape


#: The built-in content photo (CC0; see examples/README.md).
EXAMPLE_CONTENT = os.path.join(PROJECT_ROOT, "examples", "coffee.png")
#: The built-in style painting, made by examples/make_style.py.
EXAMPLE_STYLE = os.path.join(PROJECT_ROOT, "examples", "style.jpg")

# Named screen sizes as (width, height) in pixels.
PRESETS = {
    "hd": (1280, 720), "720p": (1280, 720),
    "fhd": (1920, 1080), "1080p": (1920, 1080),
    "qhd": (2560, 1440), "1440p": (2560, 1440),
    "4k": (3840, 2160), "uhd": (3840, 2160),
    "5k": (5120, 2880),
    "8k": (7680, 4320),
}
# ISO 216 A paper sizes, landscape, (width, height) in millimetres: their pixels
# follow --dpi (A2 at 300 dpi: 7016x4961).
PAPER_MM = {"a4": (297, 210), "a3": (420, 297), "a2": (594, 420), "a1": (841, 594),
            "a0": (1189, 841)}
MM_PER_UNIT = {"mm": 1.0, "cm": 10.0, "in": 25.4}
DEFAULT_DPI = 300
# Print resolutions accepted: below 10 dpi a pixel is a visible square at any distance;
# 4800 is the finest any printer claims.
DPI_RANGE = (10, 4800)

# Output formats by extension, with the options each writer gets.
_WRITERS = {
    ".png": ("PNG", {}),
    # 4:4:4 chroma: the default 4:2:0 subsampling smears the thin coloured
    # strokes a painting is made of.
    ".jpg": ("JPEG", {"quality": 95, "subsampling": 0}),
    ".jpeg": ("JPEG", {"quality": 95, "subsampling": 0}),
    ".tif": ("TIFF", {}),
    ".tiff": ("TIFF", {}),
}

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
BIT_DEPTHS = (8, 16)
SIXTEEN_BIT_EXTENSIONS = (".png", ".tif", ".tiff")


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
                icc = im.info.get("icc_profile")
                im = ImageOps.exif_transpose(im)
                if icc:
                    im = _to_srgb(im, icc, path)
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


# Modes LittleCMS converts, and what each becomes in sRGB.
_TO_SRGB = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB", "L": "RGB", "LA": "RGBA"}


def _to_srgb(im, icc, path):
    """An image with an embedded ICC profile, converted to sRGB (what the network and
    every output assume): a Display P3 or Adobe RGB photo read as sRGB comes out dull or
    shifted. Modes LittleCMS does not convert (16-bit grey, float) are taken as they are."""
    if im.mode not in _TO_SRGB:
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError) as e:
        raise ArtError("cannot read image %s: its embedded colour profile is damaged (%s); "
                       "save the image again without it (or in sRGB)"
                       % (path, " ".join(str(e).split()) or type(e).__name__)) from None
    space = source.profile.xcolor_space.strip()
    if im.mode in ("L", "LA") and space != "GRAY":
        # A grey picture tagged with a colour profile (some tools tag everything
        # sRGB): its grey levels are all there is to read.
        return im
    mode = _TO_SRGB[im.mode]
    try:
        return ImageCms.profileToProfile(im, source, ImageCms.ImageCmsProfile(
            io.BytesIO(srgb_profile())), outputMode=mode)
    except (ImageCms.PyCMSError, ValueError, OSError) as e:
        raise ArtError("cannot read image %s: its embedded colour profile does not fit its %s "
                       "pixels (%s); save the image again without it (or in sRGB)"
                       % (path, im.mode, " ".join(str(e).split()) or type(e).__name__)) from None


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


_SIZE_FORMS = ("a long side in pixels (e.g. 512), WIDTHxHEIGHT (e.g. 800x600), a print size "
               "WIDTHxHEIGHT in cm, mm or in (e.g. 60x40cm, 24x16in), or one of "
               + ", ".join(list(PRESETS) + list(PAPER_MM)))


def check_dpi(dpi):
    """Refuse a print resolution outside `DPI_RANGE`."""
    lo, hi = DPI_RANGE
    if not (isinstance(dpi, (int, float)) and math.isfinite(dpi) and lo <= dpi <= hi):
        raise ArtError("--dpi must be %d-%d (300 is a print shop's usual), got %s"
                       % (lo, hi, "%g" % dpi if isinstance(dpi, (int, float)) else repr(dpi)))
    return dpi


def print_size(shape, dpi):
    """'30.0x20.0 cm at 300 dpi': the print a picture of `shape` (height, width) makes."""
    h, w = shape[:2]
    return "%.1fx%.1f cm at %g dpi" % (w / dpi * 2.54, h / dpi * 2.54, dpi)


def millimetres_to_pixels(mm, dpi):
    return max(1, math.floor(mm / 25.4 * dpi + 0.5))


def parse_size(text, dpi=DEFAULT_DPI):
    """Parse an output size as the command line spells it.

    Args:
      text: "512" (long side 512, aspect kept), "800x600" (exactly 800 wide,
        600 high), a print size "60x40cm", "600x400mm" or "24x16in" (at `dpi`),
        or a preset name such as "4k" or "a2" (see `PRESETS`, `PAPER_MM`),
        case-insensitive.
      dpi: pixels per inch of a print size.

    Returns:
      An int (the long side) or a (width, height) tuple.

    Raises:
      ArtError: the text has none of these forms, or a number is not positive.
    """
    s = str(text).strip().lower()
    if s in PRESETS:
        return PRESETS[s]
    if s in PAPER_MM:
        return tuple(millimetres_to_pixels(mm, dpi) for mm in PAPER_MM[s])
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*[x\u00d7]\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)", s)
    if m:
        unit = m.group(3)
        if unit not in MM_PER_UNIT:
            raise ArtError("size %r: unknown unit %r; use cm, mm or in (e.g. 60x40cm)"
                           % (text, unit))
        w, h = (float(m.group(k)) * MM_PER_UNIT[unit] for k in (1, 2))
        if w <= 0 or h <= 0:
            raise ArtError("size %r must have a positive width and height; use %s"
                           % (text, _SIZE_FORMS))
        return (millimetres_to_pixels(w, dpi), millimetres_to_pixels(h, dpi))
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
    out = np.stack(channels, axis=2)
    del channels
    # In place: a print's finer start is made at a level's end, while the memory the
    # network took is still the process's. With `art.engine.state.fine_start` in place too,
    # a 6000x4498 print's 3000x2249 level peaked 0.8 GB lower (6.25 GB: 5.45).
    return np.clip(out, 0.0, 255.0, out=out)


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
        formats `save_image` writes), `path` is a folder or one of `inputs`, or
        its folder is missing or read-only.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    extensions = tuple(_WRITERS) if extensions is None else extensions
    if ext not in extensions:
        raise ArtError("cannot write %s: unknown extension %r; use one of %s"
                       % (path, ext, ", ".join(extensions)))
    return atomic.check_writable(path, inputs)


def to_uint16(image):
    """Round and clip a 0..255 float image to uint16 0..65535 (NaN becomes 0)."""
    image = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(image.astype(np.float64) * 257.0), 0, 65535).astype(np.uint16)


def check_bit_depth(path, bit_depth):
    """Refuse a bit depth the format of `path` cannot hold, before any work."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if bit_depth not in BIT_DEPTHS:
        raise ArtError("--bit-depth must be 8 or 16, got %s" % bit_depth)
    if bit_depth == 16 and ext not in SIXTEEN_BIT_EXTENSIONS:
        raise ArtError("cannot write %s with --bit-depth 16: %s holds 8 bits per channel; use "
                       ".png or .tif" % (path, ext or "a file without an extension"))


# LittleCMS stamps the profile it makes with the moment it made it (ICC header bytes
# 24-35: year, month, day, hour, minute, second as big-endian uint16), so every run's
# files would differ by those bytes alone. A fixed stamp makes the same inputs and seed
# give the same file; the profile carries no checksum over them (its ID is left zero).
PROFILE_DATE = (2024, 1, 1, 0, 0, 0)


def srgb_profile():
    """The bytes of an sRGB ICC profile (LittleCMS's built-in one, through Pillow), with
    the fixed creation date PROFILE_DATE."""
    global _SRGB
    if _SRGB is None:
        made = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
        made[24:36] = struct.pack(">6H", *PROFILE_DATE)
        _SRGB = bytes(made)
    return _SRGB


_SRGB = None


def save_image(path, image, inputs=(), dpi=DEFAULT_DPI, bit_depth=8):
    """Write an image atomically, in the format its extension names, with its print
    resolution and the sRGB profile embedded.

    Args:
      path: the output file; its extension is one of .png, .jpg, .jpeg, .tif,
        .tiff (JPEG is written at quality 95).
      image: float array (height, width, 3) or (height, width), values 0..255;
        clipped and rounded to `bit_depth` bits, once, here.
      inputs: paths that must not be overwritten (the content and style files).
      dpi: the resolution the file carries (PNG pHYs, TIFF X/YResolution in
        inches, JPEG JFIF density), so a layout program opens it at its print size.
      bit_depth: 8, or 16 for PNG and TIFF (RGB only).

    Raises:
      ArtError: unknown extension, missing folder, `path` is one of `inputs`,
        a bit depth the format cannot hold, or the file cannot be written.
    """
    path = check_output_path(path, inputs)
    check_bit_depth(path, bit_depth)
    ext = os.path.splitext(path)[1].lower()
    image = np.asarray(image)
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError("save_image needs an (h, w, 3) or (h, w) image, got shape %r"
                         % (image.shape,))
    fmt, options = _WRITERS[ext]
    # sRGB is a profile of colour pictures; a grey one goes untagged.
    icc = srgb_profile() if image.ndim == 3 else None
    if fmt == "JPEG":
        atomic.write_with(path, lambda f: Image.fromarray(to_uint8(image)).save(
            f, format=fmt, dpi=(dpi, dpi), **({"icc_profile": icc} if icc else {}), **options),
            inputs)
        return
    # PNG and TIFF a band of rows at a time, never a second copy of the picture.
    write = encode.png if fmt == "PNG" else encode.tiff
    convert = to_uint16 if bit_depth == 16 else to_uint8
    counted = [0]

    def whole(tmp):
        # A write that stored less than it was given and said nothing is what a full disk
        # looks like to some writers: the file must hold every byte the encoder wrote.
        if os.path.getsize(tmp) != counted[0]:
            raise OSError(errno.ENOSPC, "only %d of %d bytes were written"
                          % (os.path.getsize(tmp), counted[0]))

    with atomic.atomic_path(path, inputs, verify=whole) as tmp:
        with open(tmp, "wb") as f:
            write(_Counting(f, counted), image, convert, bit_depth, dpi, icc)


class _Counting:
    """A binary file that keeps in count[0] how long what it was given makes the file."""

    def __init__(self, f, count):
        self.f, self.count, self.at = f, count, 0

    def write(self, data):
        self.at += len(data)
        self.count[0] = max(self.count[0], self.at)
        return self.f.write(data)

    def seek(self, offset):
        self.at = offset
        return self.f.seek(offset)
