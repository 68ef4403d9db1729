"""Print-ready files: sizes in cm and inches at a DPI, the resolution every output
carries, 16-bit PNG and TIFF (read back by independent decoders), colour profiles in
and out."""

import io
import struct
import time

import numpy as np
import pytest
from PIL import Image, ImageCms

from art.errors import ArtError
from art.files import encode, images
from art.files.images import load_image, parse_size, save_image


def smooth(h=40, w=60):
    """A float picture with values between the 8-bit levels: what a painting is."""
    y, x = np.mgrid[:h, :w]
    return np.stack([x * 255.0 / (w - 1), y * 255.0 / (h - 1),
                     (x + y) * 127.5 / (h + w - 2)], axis=-1).astype(np.float32)


# --- sizes ------------------------------------------------------------------

@pytest.mark.parametrize("text, dpi, expected", [
    ("30x20cm", 300, (3543, 2362)),      # 30 / 2.54 * 300 = 3543.3
    ("30 x 20 CM", 300, (3543, 2362)),
    ("300x200mm", 300, (3543, 2362)),
    ("24x16in", 300, (7200, 4800)),
    ("24x16in", 150, (3600, 2400)),
    ("8.5x11in", 300, (2550, 3300)),
    ("a2", 300, (7016, 4961)), ("A1", 300, (9933, 7016)), ("a0", 300, (14043, 9933)),
    ("a4", 300, (3508, 2480)), ("a3", 150, (2480, 1754)), ("a2", 150, (3508, 2480)),
    ("4k", 150, (3840, 2160)),           # pixel sizes do not follow the DPI
])
def test_print_sizes_follow_the_dpi(text, dpi, expected):
    assert parse_size(text, dpi) == expected


@pytest.mark.parametrize("text, message", [
    ("30x20ft", "unknown unit 'ft'; use cm, mm or in"),
    ("0x20cm", "must have a positive width and height"),
    ("30xcm", "is not valid"),
])
def test_bad_print_sizes(text, message):
    with pytest.raises(ArtError, match=message):
        parse_size(text)


@pytest.mark.parametrize("dpi", [0, 9, 4801, 10000, float("nan"), float("inf"), -300])
def test_bad_dpi(dpi):
    with pytest.raises(ArtError, match="--dpi must be 10-4800"):
        images.check_dpi(dpi)


def test_the_print_size_of_a_picture():
    assert images.print_size((2362, 3543), 300) == "30.0x20.0 cm at 300 dpi"
    assert images.print_size((2160, 3840), 150) == "65.0x36.6 cm at 150 dpi"


# --- resolution and profile in every file -------------------------------------

@pytest.mark.parametrize("ext, bits", [(".png", 8), (".jpg", 8), (".tif", 8), (".png", 16),
                                       (".tif", 16)])
def test_every_output_carries_its_resolution_and_the_srgb_profile(tmp_path, ext, bits):
    path = tmp_path / ("out" + ext)
    save_image(path, smooth(), dpi=150, bit_depth=bits)
    with Image.open(path) as im:
        assert im.size == (60, 40) and im.mode == "RGB"
        # PNG stores pixels per metre: 150 dpi is 5906 px/m, 150.01 dpi read back.
        assert im.info["dpi"] == pytest.approx((150, 150), abs=0.02)
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(profile)


@pytest.mark.parametrize("ext, bits", [(".png", 8), (".tif", 16)])   # Pillow's, and ours
def test_the_same_picture_gives_the_same_file_whatever_the_clock(tmp_path, ext, bits,
                                                                  monkeypatch):
    """LittleCMS stamps a profile with the time it was made: a fresh profile a second
    (and a year) later must still give a file identical byte for byte."""
    save_image(tmp_path / ("a" + ext), smooth(), bit_depth=bits)
    made = ImageCms.createProfile
    monkeypatch.setattr(images, "_SRGB", None)
    monkeypatch.setattr(images.ImageCms, "createProfile", lambda name: (
        time.sleep(1.1), made(name))[1])
    save_image(tmp_path / ("b" + ext), smooth(), bit_depth=bits)
    assert (tmp_path / ("a" + ext)).read_bytes() == (tmp_path / ("b" + ext)).read_bytes()
    assert struct.unpack(">6H", images.srgb_profile()[24:36]) == images.PROFILE_DATE


def test_a_grey_picture_is_written_untagged(tmp_path):
    save_image(tmp_path / "g.png", np.full((3, 4), 77.0))
    with Image.open(tmp_path / "g.png") as im:
        assert im.mode == "L" and "icc_profile" not in im.info


# --- 16 bits -------------------------------------------------------------------

def test_to_uint16_rounds_once_onto_the_16_bit_scale():
    values = np.array([0.0, 0.5, 1.0, 127.3, 254.999, 255.0, 300.0, -4.0, np.nan], np.float32)
    assert images.to_uint16(values).tolist() == [0, 128, 257, 32716, 65535, 65535, 65535, 0, 0]


def test_a_16_bit_png_is_read_back_exactly_by_pypng(tmp_path):
    import png
    picture = smooth()
    save_image(tmp_path / "out.png", picture, bit_depth=16)
    width, height, rows, info = png.Reader(filename=str(tmp_path / "out.png")).asDirect()
    assert (width, height, info["bitdepth"], info["planes"]) == (60, 40, 16, 3)
    pixels = np.array([np.asarray(row, np.uint16) for row in rows]).reshape(40, 60, 3)
    np.testing.assert_array_equal(pixels, images.to_uint16(picture))
    # A sky's gentle gradient, 100 to 110 over 600 px: 11 bands in 8 bits, every step in 16.
    sky = np.repeat(np.linspace(100, 110, 600, dtype=np.float32)[None, :, None], 3, axis=2)
    save_image(tmp_path / "sky.png", np.repeat(sky, 2, axis=0), bit_depth=16)
    rows = png.Reader(filename=str(tmp_path / "sky.png")).asDirect()[2]
    assert len(np.unique(np.asarray(next(iter(rows))))) == 600
    assert len(np.unique(images.to_uint8(sky))) == 11


def test_a_16_bit_tiff_is_read_back_exactly_by_tifffile(tmp_path):
    import tifffile
    picture = smooth(37, 53)
    save_image(tmp_path / "out.tif", picture, dpi=300, bit_depth=16)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        page = tif.pages[0]
        pixels = page.asarray()
        tags = {tag.name: tag.value for tag in page.tags.values()}
    assert pixels.dtype == np.uint16 and pixels.shape == (37, 53, 3)
    np.testing.assert_array_equal(pixels, images.to_uint16(picture))
    assert tags["XResolution"] == tags["YResolution"] == (300000, 1000)
    assert int(tags["ResolutionUnit"]) == 2       # inches
    assert bytes(tags["InterColorProfile"]) == images.srgb_profile()


def test_the_16_bit_encoders_match_pillows_8_bit_reading(tmp_path):
    """Pillow reads 16-bit RGB files as their high bytes: a check of the files'
    structure (chunks, filter, strips) by a third decoder."""
    pixels = np.random.default_rng(3).integers(0, 65536, (150, 70, 3)).astype(np.uint16)
    for encoder in (encode.png, encode.tiff):
        f = io.BytesIO()
        encoder(f, pixels, lambda rows: rows, 16, 300, None)
        with Image.open(io.BytesIO(f.getvalue())) as im:
            np.testing.assert_array_equal(np.asarray(im), (pixels >> 8).astype(np.uint8))


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".gif"])
def test_16_bits_only_where_the_format_holds_them(tmp_path, ext):
    with pytest.raises(ArtError):
        save_image(tmp_path / ("out" + ext), smooth(), bit_depth=16)
    assert list(tmp_path.iterdir()) == []


# --- colour profiles in -------------------------------------------------------

def _tag_table(icc):
    count = struct.unpack(">I", icc[128:132])[0]
    return {icc[132 + 12 * i:136 + 12 * i]: struct.unpack(">II", icc[136 + 12 * i:144 + 12 * i])
            for i in range(count)}


def linear_srgb_profile():
    """sRGB's primaries and white with a straight-line tone curve (gamma 1): an ICC v2
    matrix/TRC profile assembled here from the D50 colorants of Pillow's sRGB profile.
    A picture tagged with it holds linear light, so converting it to sRGB must apply the
    sRGB curve to every channel: a change of up to ~60 levels in the mid-tones."""
    srgb = images.srgb_profile()
    table = _tag_table(srgb)
    tags = {}
    for name in (b"rXYZ", b"gXYZ", b"bXYZ", b"wtpt"):
        offset, size = table[name]
        tags[name] = srgb[offset:offset + size]
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", 256) + b"\0\0"
    for name in (b"rTRC", b"gTRC", b"bTRC"):
        tags[name] = curve
    text = b"linear sRGB (test)\0"
    tags[b"desc"] = (b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text
                     + b"\0" * 8 + b"\0" * 3 + b"\0" * 67)
    tags[b"cprt"] = b"text" + b"\0" * 4 + b"no copyright\0\0\0\0"
    names = sorted(tags)
    offset = 128 + 4 + 12 * len(names)
    table_bytes, body = b"", b""
    for name in names:
        data = tags[name] + b"\0" * (-len(tags[name]) % 4)
        table_bytes += name + struct.pack(">II", offset + len(body), len(tags[name]))
        body += data
    size = offset + len(body)
    header = bytearray(srgb[:128])
    header[0:4] = struct.pack(">I", size)
    header[8:12] = bytes([2, 0x10, 0, 0])          # version 2.1
    header[84:100] = b"\0" * 16                     # no profile ID
    return bytes(header) + struct.pack(">I", len(names)) + table_bytes + body


def srgb_encode(linear):
    """The sRGB transfer function (IEC 61966-2-1), the numpy reference."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def test_a_profile_that_changes_the_pixels_is_converted_to_srgb(tmp_path):
    grey_ramp = np.repeat(np.linspace(0, 255, 64)[None, :], 8, axis=0)
    pixels = np.stack([grey_ramp, grey_ramp[:, ::-1], np.full_like(grey_ramp, 128)], -1)
    pixels = np.rint(pixels).astype(np.uint8)
    path = tmp_path / "linear.png"
    Image.fromarray(pixels).save(path, icc_profile=linear_srgb_profile())
    got = load_image(path)
    expected = 255.0 * srgb_encode(pixels / 255.0)
    np.testing.assert_allclose(got, expected, atol=1.5)
    assert np.abs(got - pixels).max() > 50          # the profile did change them
    # Without the profile the same pixels are taken as sRGB, unchanged.
    Image.fromarray(pixels).save(tmp_path / "plain.png")
    np.testing.assert_array_equal(load_image(tmp_path / "plain.png"), pixels)


def test_an_srgb_tagged_picture_reads_as_it_is(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (9, 13, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "s.png", icc_profile=images.srgb_profile())
    np.testing.assert_array_equal(load_image(tmp_path / "s.png"), pixels)


@pytest.mark.parametrize("name", ["bad.png", "bad.jpg"])
def test_a_damaged_profile_is_refused_in_one_line(tmp_path, name):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / name,
                                                        icc_profile=b"not a profile" * 20)
    with pytest.raises(ArtError, match="embedded colour profile is damaged") as info:
        load_image(tmp_path / name)
    assert "\n" not in str(info.value)


def test_a_grey_picture_tagged_srgb_keeps_its_grey_levels(tmp_path):
    Image.fromarray(np.full((4, 4), 90, np.uint8)).save(tmp_path / "g.png",
                                                        icc_profile=images.srgb_profile())
    assert load_image(tmp_path / "g.png")[0, 0].tolist() == [90, 90, 90]


def test_a_cmyk_picture_with_an_rgb_profile_is_refused(tmp_path):
    Image.new("CMYK", (4, 4), (0, 50, 100, 0)).save(tmp_path / "c.jpg",
                                                    icc_profile=images.srgb_profile())
    with pytest.raises(ArtError, match="does not fit its CMYK pixels"):
        load_image(tmp_path / "c.jpg")


@pytest.mark.parametrize("name,bit_depth", [("out.png", 8), ("out.png", 16), ("out.tif", 8),
                                            ("out.tif", 16)])
def test_pngs_and_tiffs_are_written_a_band_of_rows_at_a_time(tmp_path, name, bit_depth):
    """A picture many bands tall reads back whole, colour and grey; and writing it holds
    no second copy of it: numpy's allocations while it is written (tracemalloc sees them)
    stay a small part of the picture's own size."""
    import tracemalloc
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(4)
    picture = rng.uniform(0, 255, (encode.BAND * 40 + 5, 301, 3)).astype(np.float32)
    convert = images.to_uint16 if bit_depth == 16 else images.to_uint8
    tracemalloc.start()
    try:
        save_image(tmp_path / name, picture, dpi=300, bit_depth=bit_depth)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * picture.nbytes, peak
    if name.endswith(".tif") and bit_depth == 16:
        with tifffile.TiffFile(tmp_path / name) as tif:
            np.testing.assert_array_equal(tif.pages[0].asarray(), convert(picture))
    elif bit_depth == 16:
        # Pillow reads a 16-bit RGB PNG as its high bytes.
        with Image.open(tmp_path / name) as im:
            np.testing.assert_array_equal(np.asarray(im), (convert(picture) >> 8).astype(np.uint8))
    else:
        with Image.open(tmp_path / name) as im:
            np.testing.assert_array_equal(np.asarray(im), convert(picture))
            assert im.info["dpi"][0] == pytest.approx(300, abs=0.01)
            assert im.info["icc_profile"] == images.srgb_profile()
    grey = picture[..., 0]
    save_image(tmp_path / ("grey" + name), grey, bit_depth=8)
    with Image.open(tmp_path / ("grey" + name)) as im:
        assert im.mode == "L" and "icc_profile" not in im.info
        np.testing.assert_array_equal(np.asarray(im), images.to_uint8(grey))
