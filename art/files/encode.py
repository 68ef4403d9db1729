"""16-bit RGB PNG and TIFF, written by hand: Pillow reads such files but cannot write
them (it has no 48-bit RGB mode). Both carry the print resolution and an ICC profile.

Pure numpy and the standard library; `art.files.images.save_image` is the way in.
"""

import struct
import zlib

import numpy as np

METRES_PER_INCH = 0.0254


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16(pixels, dpi, icc):
    """The bytes of a 16-bit RGB PNG of `pixels` (H x W x 3 uint16).

    Args:
      pixels: H x W x 3 uint16.
      dpi: the resolution for the pHYs chunk (PNG stores pixels per metre).
      icc: the ICC profile's bytes for the iCCP chunk, or None.
    """
    h, w, _ = pixels.shape
    rows = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(h, w * 6)
    # Filter type 2 (Up) on every row: each byte minus the byte above it, mod 256. A
    # painting's high bytes change slowly down a column, which deflate then finds.
    up = rows.copy()
    up[1:] -= rows[:-1]
    lines = np.concatenate([np.full((h, 1), 2, np.uint8), up], axis=1)
    parts = [b"\x89PNG\r\n\x1a\n",
             _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))]
    if icc:
        parts.append(_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(icc)))
    per_metre = round(dpi / METRES_PER_INCH)
    parts.append(_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)))
    parts.append(_chunk(b"IDAT", zlib.compress(lines.tobytes(), 6)))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


# TIFF field types.
_SHORT, _LONG, _RATIONAL, _UNDEFINED = 3, 4, 5, 7
_SIZES = {_SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1}
ROWS_PER_STRIP = 16


def _rational(value):
    """A resolution as a TIFF RATIONAL: numerator, denominator (to 1/1000 dpi)."""
    return (int(round(value * 1000)), 1000)


def tiff16(pixels, dpi, icc):
    """The bytes of a little-endian, deflate-compressed 16-bit RGB TIFF of `pixels`
    (H x W x 3 uint16), its resolution in pixels per inch, with `icc` (or None) as its
    ICC profile (tag 34675)."""
    h, w, _ = pixels.shape
    data = np.ascontiguousarray(pixels, dtype="<u2")
    strips = [zlib.compress(data[y:y + ROWS_PER_STRIP].tobytes(), 6)
              for y in range(0, h, ROWS_PER_STRIP)]
    n = len(strips)
    # (tag, type, values): values are a tuple of numbers, or bytes for UNDEFINED.
    fields = [
        (256, _LONG, (w,)), (257, _LONG, (h,)), (258, _SHORT, (16, 16, 16)),
        (259, _SHORT, (8,)),            # Adobe deflate
        (262, _SHORT, (2,)),            # RGB
        (273, _LONG, (0,) * n),         # strip offsets, filled in below
        (277, _SHORT, (3,)), (278, _LONG, (ROWS_PER_STRIP,)),
        (279, _LONG, tuple(len(s) for s in strips)),
        (282, _RATIONAL, _rational(dpi)), (283, _RATIONAL, _rational(dpi)),
        (284, _SHORT, (1,)),            # chunky: RGBRGB...
        (296, _SHORT, (2,)),            # resolution in inches
    ]
    if icc:
        fields.append((34675, _UNDEFINED, bytes(icc)))

    def size(kind, values):
        count = len(values) // 2 if kind == _RATIONAL else len(values)
        return count, count * _SIZES[kind]

    ifd_size = 2 + 12 * len(fields) + 4
    extra_at = 8 + ifd_size
    # Values over 4 bytes go after the directory, each at a word boundary.
    placed, at = {}, extra_at
    for tag, kind, values in fields:
        _, nbytes = size(kind, values)
        if nbytes > 4:
            placed[tag] = at
            at += nbytes + (nbytes & 1)
    offsets, position = [], at
    for strip in strips:
        offsets.append(position)
        position += len(strip)
    fields[5] = (273, _LONG, tuple(offsets))

    def packed(kind, values):
        if kind == _UNDEFINED:
            return values
        return struct.pack("<%d%s" % (len(values), {_SHORT: "H", _LONG: "I", _RATIONAL: "I"}[kind]),
                           *values)

    head = [b"II*\x00", struct.pack("<I", 8), struct.pack("<H", len(fields))]
    tail = []
    for tag, kind, values in fields:
        count, nbytes = size(kind, values)
        body = packed(kind, values)
        if nbytes > 4:
            head.append(struct.pack("<HHII", tag, kind, count, placed[tag]))
            tail.append(body + b"\x00" * (nbytes & 1))
        else:
            head.append(struct.pack("<HHI", tag, kind, count) + body.ljust(4, b"\x00"))
    head.append(struct.pack("<I", 0))   # no next directory
    return b"".join(head + tail + strips)
