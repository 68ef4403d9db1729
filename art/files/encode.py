"""PNG and TIFF, 8 or 16 bits, written by hand a band of rows at a time: Pillow cannot
write 16-bit RGB (it has no 48-bit RGB mode), and it encodes a picture it holds whole,
a second copy of it (an A0 print is 139.5 Mpx). Here each band is converted, filtered
and compressed, and goes to the file before the next is made. Both formats carry the
print resolution and an ICC profile.

Pure numpy and the standard library; `art.files.images.save_image` is the way in.
"""

import struct
import zlib

import numpy as np

METRES_PER_INCH = 0.0254
# Rows converted and compressed at a time: a few MB of a print's width.
BAND = 64
# Compressed bytes gathered into one PNG IDAT chunk.
IDAT_BYTES = 1 << 18


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _write_chunk(f, kind, parts):
    """A chunk of the bytes `parts`, written part by part (no copy of them joined)."""
    crc = zlib.crc32(kind)
    for part in parts:
        crc = zlib.crc32(part, crc)
    f.write(struct.pack(">I", sum(map(len, parts))) + kind)
    for part in parts:
        f.write(part)
    f.write(struct.pack(">I", crc))


def _bands(image, convert):
    """(y0, rows) of `image` converted by `convert`, BAND rows at a time, as H x W x C."""
    for y0 in range(0, image.shape[0], BAND):
        rows = convert(image[y0:y0 + BAND])
        yield y0, rows if rows.ndim == 3 else rows[..., None]


def png(f, image, convert, bit_depth, dpi, icc):
    """Write a PNG of `image` (H x W x 3, or H x W grey) to the binary file `f`.

    Args:
      convert: a band of `image`'s rows -> uint8 (bit_depth 8) or uint16 (16) pixels.
      dpi: the resolution for the pHYs chunk (PNG stores pixels per metre).
      icc: the ICC profile's bytes for the iCCP chunk, or None.
    """
    h, w = image.shape[:2]
    channels = 3 if image.ndim == 3 else 1
    f.write(b"\x89PNG\r\n\x1a\n")
    f.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth,
                                        2 if channels == 3 else 0, 0, 0, 0)))
    if icc:
        f.write(_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(icc)))
    per_metre = round(dpi / METRES_PER_INCH)
    f.write(_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)))
    deflate, pending, above = zlib.compressobj(6), [], None
    for _, pixels in _bands(image, convert):
        rows = np.ascontiguousarray(pixels, dtype=">u2" if bit_depth == 16 else np.uint8)
        rows = rows.view(np.uint8).reshape(len(rows), -1)
        # Filter type 2 (Up) on every row: each byte minus the byte above it, mod 256. A
        # painting's bytes change slowly down a column, which deflate then finds.
        up = rows.copy()
        up[1:] -= rows[:-1]
        if above is not None:
            up[0] -= above
        above = rows[-1].copy()
        lines = np.concatenate([np.full((len(rows), 1), 2, np.uint8), up], axis=1)
        pending.append(deflate.compress(lines))
        if sum(map(len, pending)) >= IDAT_BYTES:
            _write_chunk(f, b"IDAT", pending)
            pending = []
    pending.append(deflate.flush())
    _write_chunk(f, b"IDAT", pending)
    f.write(_chunk(b"IEND", b""))


# TIFF field types.
_SHORT, _LONG, _RATIONAL, _UNDEFINED = 3, 4, 5, 7
_SIZES = {_SHORT: 2, _LONG: 4, _RATIONAL: 8, _UNDEFINED: 1}
_FORMATS = {_SHORT: "H", _LONG: "I", _RATIONAL: "I"}
ROWS_PER_STRIP = 16


def _rational(value):
    """A resolution as a TIFF RATIONAL: numerator, denominator (to 1/1000 dpi)."""
    return (int(round(value * 1000)), 1000)


def tiff(f, image, convert, bit_depth, dpi, icc):
    """Write a little-endian, deflate-compressed TIFF of `image` (H x W x 3, or H x W
    grey) to the seekable binary file `f`: its strips first, as they are made, then
    the directory that points at them, then the header's pointer to that directory.

    Args:
      convert: a band of rows -> uint8 (bit_depth 8) or uint16 (16) pixels.
      dpi: the resolution, in pixels per inch.
      icc: the ICC profile (tag 34675), or None.
    """
    h, w = image.shape[:2]
    channels = 3 if image.ndim == 3 else 1
    f.write(b"II*\x00" + struct.pack("<I", 0))
    offsets, counts, at = [], [], 8
    for _, pixels in _bands(image, convert):
        data = np.ascontiguousarray(pixels, dtype="<u2" if bit_depth == 16 else np.uint8)
        for y in range(0, len(data), ROWS_PER_STRIP):
            strip = zlib.compress(data[y:y + ROWS_PER_STRIP].tobytes(), 6)
            f.write(strip)
            offsets.append(at)
            counts.append(len(strip))
            at += len(strip)
    if at & 1:
        f.write(b"\x00")
        at += 1
    # (tag, type, values): values are a tuple of numbers, or bytes for UNDEFINED.
    fields = [
        (256, _LONG, (w,)), (257, _LONG, (h,)), (258, _SHORT, (bit_depth,) * channels),
        (259, _SHORT, (8,)),                        # Adobe deflate
        (262, _SHORT, (2 if channels == 3 else 1,)),  # RGB, or black is zero
        (273, _LONG, tuple(offsets)),
        (277, _SHORT, (channels,)), (278, _LONG, (ROWS_PER_STRIP,)),
        (279, _LONG, tuple(counts)),
        (282, _RATIONAL, _rational(dpi)), (283, _RATIONAL, _rational(dpi)),
        (284, _SHORT, (1,)),                        # chunky: RGBRGB...
        (296, _SHORT, (2,)),                        # resolution in inches
    ]
    if icc:
        fields.append((34675, _UNDEFINED, bytes(icc)))
    f.write(_directory(fields, at))
    f.seek(4)
    f.write(struct.pack("<I", at))


def _directory(fields, at):
    """The bytes of an image file directory placed at offset `at`, followed by its
    values of over 4 bytes, each at a word boundary."""
    def packed(kind, values):
        if kind == _UNDEFINED:
            return values
        return struct.pack("<%d%s" % (len(values), _FORMATS[kind]), *values)

    head = [struct.pack("<H", len(fields))]
    tail, extra = [], at + 2 + 12 * len(fields) + 4
    for tag, kind, values in fields:
        count = len(values) // 2 if kind == _RATIONAL else len(values)
        body = packed(kind, values)
        if len(body) > 4:
            head.append(struct.pack("<HHII", tag, kind, count, extra))
            tail.append(body + b"\x00" * (len(body) & 1))
            extra += len(body) + (len(body) & 1)
        else:
            head.append(struct.pack("<HHI", tag, kind, count) + body.ljust(4, b"\x00"))
    head.append(struct.pack("<I", 0))   # no next directory
    return b"".join(head + tail)
