"""Image files: every Pillow mode to float RGB, bad files, atomic saving, sizes."""

import os
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from art.errors import ArtError
from art.files import images
from art.files.images import load_image, parse_size, resize, save_image, to_uint8
from art.plan.levels import target_shape


def rgb_noise(h=12, w=17, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


def write_png16(path, pixels):
    """A 16-bit PNG written by hand: Pillow cannot write 16-bit RGB."""
    h, w, c = pixels.shape
    colour_type = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\0" + pixels[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n"
                + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def saved(tmp_path, im, name="in.png", **options):
    path = tmp_path / name
    im.save(path, **options)
    return path


# --- reading: modes ---------------------------------------------------------

def test_rgb_png_loads_exactly(tmp_path):
    pixels = rgb_noise()
    out = load_image(saved(tmp_path, Image.fromarray(pixels)))
    assert out.dtype == np.float32 and out.shape == (12, 17, 3)
    np.testing.assert_array_equal(out, pixels)


def test_grey_l_becomes_three_equal_channels(tmp_path):
    grey = np.array([[0, 100, 255]], np.uint8)
    out = load_image(saved(tmp_path, Image.fromarray(grey)))
    assert out.shape == (1, 3, 3)
    np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=2))


def test_bilevel(tmp_path):
    im = Image.new("1", (2, 1))
    im.putpixel((1, 0), 1)
    out = load_image(saved(tmp_path, im))
    np.testing.assert_array_equal(out[0, :, 0], [0, 255])


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path, ext):
    im = Image.fromarray(np.array([[0, 257, 32768, 65535]], np.uint16))
    path = saved(tmp_path, im, "g16." + ext)
    with Image.open(path) as stored:
        assert stored.mode.startswith("I;16")
    out = load_image(path)
    np.testing.assert_allclose(out[0, :, 1], [0, 1, 32768 / 257, 255], atol=1e-4)
    assert out[0, 2, 0] == pytest.approx(127.5, abs=0.01)


def test_sixteen_bit_rgb_png_is_scaled(tmp_path):
    path = tmp_path / "rgb16.png"
    write_png16(path, np.array([[[0, 32768, 65535], [65535, 65535, 0]]], np.uint16))
    out = load_image(path)
    np.testing.assert_allclose(out[0], [[0, 128, 255], [255, 255, 0]], atol=1)


def test_thirty_two_bit_integer_grey(tmp_path):
    im = Image.fromarray(np.array([[0, 32768, 65535]], np.int32))
    assert im.mode == "I"
    out = load_image(saved(tmp_path, im, "i.tif"))
    np.testing.assert_allclose(out[0, :, 0], [0, 127.5, 255], atol=0.01)
    small = Image.fromarray(np.array([[0, 100, 255]], np.int32))
    np.testing.assert_allclose(load_image(saved(tmp_path, small, "i8.tif"))[0, :, 0], [0, 100, 255])


def test_float_grey_zero_to_one(tmp_path):
    im = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32))
    assert im.mode == "F"
    out = load_image(saved(tmp_path, im, "f.tif"))
    np.testing.assert_allclose(out[0, :, 2], [0, 127.5, 255])


def test_palette_with_transparency_goes_onto_white(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    im.putpixel((1, 0), 1)
    path = saved(tmp_path, im, transparency=0)
    out = load_image(path)
    np.testing.assert_array_equal(out[0], [[255, 255, 255], [255, 0, 0]])


def test_rgba_is_composited_onto_white(tmp_path):
    px = np.array([[[255, 0, 0, 255], [0, 0, 0, 0], [0, 0, 255, 51]]], np.uint8)
    out = load_image(saved(tmp_path, Image.fromarray(px, "RGBA")))
    a = 51 / 255
    np.testing.assert_allclose(out[0], [[255, 0, 0], [255, 255, 255],
                                        [255 * (1 - a), 255 * (1 - a), 255]], atol=1e-3)


def test_la_is_composited_onto_white(tmp_path):
    px = np.array([[[100, 255], [0, 0], [0, 102]]], np.uint8)
    out = load_image(saved(tmp_path, Image.fromarray(px, "LA")))
    np.testing.assert_allclose(out[0, :, 0], [100, 255, 255 * (1 - 102 / 255)], atol=1e-3)
    assert np.all(out[..., 0] == out[..., 2])


def test_cmyk(tmp_path):
    im = Image.new("CMYK", (3, 1))
    im.putpixel((0, 0), (0, 0, 0, 0))
    im.putpixel((1, 0), (255, 0, 0, 0))
    im.putpixel((2, 0), (0, 0, 0, 255))
    out = load_image(saved(tmp_path, im, "c.tif"))
    np.testing.assert_array_equal(out[0], [[255, 255, 255], [0, 255, 255], [0, 0, 0]])


@pytest.mark.parametrize("ext", ["png", "jpg"])
@pytest.mark.parametrize("orientation, corner", [(1, (0, 0)), (6, (0, -1)), (8, (-1, 0)), (3, (-1, -1))])
def test_exif_orientation(tmp_path, ext, orientation, corner):
    # 48 wide, 32 high, a red block in the top-left corner of the stored pixels.
    px = np.zeros((32, 48, 3), np.uint8)
    px[:8, :8] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = saved(tmp_path, Image.fromarray(px), "o." + ext, exif=exif)
    out = load_image(path)
    assert out.shape == ((48, 32, 3) if orientation in (6, 8) else (32, 48, 3))
    y, x = corner
    assert out[y, x, 0] > 200 and out[y, x, 2] < 60
    # The opposite corner is still black.
    assert out[-1 - y, -1 - x].max() < 60


def test_first_frame_of_an_animation(tmp_path):
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    out = load_image(path)
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50


# --- reading: bad files -----------------------------------------------------

def assert_read_error(path, *words):
    with pytest.raises(ArtError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert message.startswith("cannot read image ")
    for word in words:
        assert word in message
    return message


def test_missing_file(tmp_path):
    assert_read_error(tmp_path / "nope.png", "no such file")


def test_directory(tmp_path):
    assert_read_error(tmp_path, "folder")


def test_corrupt_bytes(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes())
    assert_read_error(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a picture\n")
    assert_read_error(path, "not a known image format")


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_truncated_file(tmp_path, ext):
    full = saved(tmp_path, Image.fromarray(rgb_noise(64, 64)), "full." + ext)
    data = full.read_bytes()
    path = tmp_path / ("cut." + ext)
    path.write_bytes(data[:len(data) // 2])
    assert_read_error(path)


def test_corrupt_png_data(tmp_path):
    full = saved(tmp_path, Image.fromarray(rgb_noise(64, 64)), "full.png")
    data = bytearray(full.read_bytes())
    data[100:140] = b"\xff" * 40
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(data))
    assert_read_error(path)


def test_decompression_bomb_is_an_art_error(tmp_path, monkeypatch):
    path = saved(tmp_path, Image.fromarray(rgb_noise(10, 10)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40)
    assert_read_error(path, "pixels")


def test_large_image_below_the_limit_loads_without_a_warning(tmp_path, monkeypatch):
    path = saved(tmp_path, Image.fromarray(rgb_noise(10, 10)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60)  # warns above 60, refuses above 120
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(path).shape == (10, 10, 3)


# --- writing ----------------------------------------------------------------

@pytest.mark.parametrize("ext", ["png", "tif", "tiff", "PNG"])
def test_lossless_round_trip(tmp_path, ext):
    pixels = rgb_noise()
    path = tmp_path / ("out." + ext)
    save_image(path, pixels.astype(np.float32))
    np.testing.assert_array_equal(load_image(path), pixels)
    assert sorted(os.listdir(tmp_path)) == ["out." + ext]


@pytest.mark.parametrize("ext", ["jpg", "jpeg"])
def test_jpeg_round_trip_is_close(tmp_path, ext):
    y, x = np.mgrid[0:64, 0:96]
    smooth = np.stack([x * 2.5, y * 3.5, 128 + 0 * x], axis=2).astype(np.float32)
    path = tmp_path / ("out." + ext)
    save_image(path, smooth)
    with Image.open(path) as im:
        assert im.format == "JPEG"
    assert np.abs(load_image(path) - smooth).mean() < 2.0


def test_save_rounds_and_clips(tmp_path):
    path = tmp_path / "c.png"
    save_image(path, np.array([[[-5.0, 127.6, 300.0]]], np.float32))
    np.testing.assert_array_equal(load_image(path)[0, 0], [0, 128, 255])


def test_save_grey_2d(tmp_path):
    path = tmp_path / "g.png"
    save_image(path, np.full((3, 4), 77.0))
    assert load_image(path)[0, 0].tolist() == [77, 77, 77]


def test_refuses_to_overwrite_an_input(tmp_path):
    path = saved(tmp_path, Image.fromarray(rgb_noise()), "content.png")
    before = path.read_bytes()
    with pytest.raises(ArtError, match="content.png"):
        save_image(path, np.zeros((5, 5, 3)), inputs=[str(path)])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["content.png"]


def test_overwrites_an_old_output(tmp_path):
    path = tmp_path / "out.png"
    save_image(path, np.zeros((5, 5, 3)))
    save_image(path, np.full((5, 5, 3), 200.0), inputs=[str(tmp_path / "other.png")])
    assert load_image(path)[0, 0, 0] == 200


def test_unknown_extension(tmp_path):
    with pytest.raises(ArtError, match=r"\.bmp.*\.png.*\.jpg.*\.tif") as info:
        save_image(tmp_path / "out.bmp", np.zeros((5, 5, 3)))
    assert "out.bmp" in str(info.value)
    with pytest.raises(ArtError):
        save_image(tmp_path / "noext", np.zeros((5, 5, 3)))
    assert os.listdir(tmp_path) == []


def test_missing_folder(tmp_path):
    with pytest.raises(ArtError, match="does not exist"):
        save_image(tmp_path / "no" / "out.png", np.zeros((5, 5, 3)))
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    save_image(path, np.full((5, 5, 3), 9.0))
    before = path.read_bytes()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    # Where a file system reports a full disk late (delayed allocation): at the fsync.
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(ArtError, match="the disk is full"):
        save_image(path, np.zeros((5, 5, 3)))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.png"]


def test_to_uint8():
    out = to_uint8(np.array([-1.0, 0.4, 0.5, 1.5, 254.6, 999.0, np.nan]))
    assert out.dtype == np.uint8
    assert out.tolist() == [0, 0, 0, 2, 255, 255, 0]


# --- sizes ------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("hd", (1280, 720)), ("720P", (1280, 720)), ("FHD", (1920, 1080)), ("1080p", (1920, 1080)),
    ("qhd", (2560, 1440)), ("1440p", (2560, 1440)), ("4k", (3840, 2160)), ("UHD", (3840, 2160)),
    ("5K", (5120, 2880)), ("8k", (7680, 4320)), ("a2", (7016, 4961)), ("A1", (9933, 7016)),
    ("a0", (14043, 9933)), (" 4k ", (3840, 2160)),
])
def test_parse_size_presets(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("512", 512), ("1", 1), ("800x600", (800, 600)), ("800X600", (800, 600)),
    ("800 x 600", (800, 600)), ("1x1", (1, 1)),
])
def test_parse_size_numbers(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["4kk", "38400x", "x600", "-5", "0", "0x600", "800x0",
                                  "800x-600", "", "big", "1.5", "512px", "800x600x3"])
def test_parse_size_rejects(text):
    with pytest.raises(ArtError) as info:
        parse_size(text)
    message = str(info.value)
    assert repr(text) in message and "WIDTHxHEIGHT" in message and "4k" in message
    assert "\n" not in message


@pytest.mark.parametrize("hw, size, expected", [
    ((400, 600), 512, (341, 512)),
    ((600, 400), 512, (512, 341)),
    ((300, 300), 64, (64, 64)),
    ((3, 1000), 10, (1, 10)),
    ((101, 200), 100, (51, 100)),  # 50.5 rounds up
    ((400, 600), (800, 600), (600, 800)),
    ((400, 600), parse_size("a0"), (9933, 14043)),
])
def test_target_shape(hw, size, expected):
    assert target_shape(hw, size) == expected


# --- resampling -------------------------------------------------------------

def test_resize_shape_and_dtype():
    out = resize(rgb_noise(20, 30).astype(np.float32), (7, 11))
    assert out.shape == (7, 11, 3) and out.dtype == np.float32


def test_resize_keeps_constant_and_clips_overshoot():
    np.testing.assert_allclose(resize(np.full((10, 10, 3), 42.0), (23, 5)), 42.0, atol=1e-3)
    step = np.zeros((8, 8, 3), np.float32)
    step[:, 4:] = 255
    up = resize(step, (8, 64))
    assert up.min() >= 0 and up.max() <= 255
    assert up[:, 0].max() == 0 and up[:, -1].min() == 255


def test_resize_filters_when_shrinking():
    # A 1-pixel checkerboard shrunk 8x must average to grey, not alias to
    # black or white as nearest-neighbour sampling would.
    board = (np.indices((64, 64)).sum(axis=0) % 2 * 255.0)[..., None].repeat(3, axis=2)
    small = resize(board, (8, 8))
    np.testing.assert_allclose(small, 127.5, atol=3)


def test_resize_keeps_fractional_values():
    ramp = np.linspace(0, 1, 50, dtype=np.float32)[None, :, None].repeat(4, 0).repeat(3, 2)
    out = resize(ramp, (4, 25))
    assert 0 < out.max() < 1  # no rounding to 8 bits in between


# --- examples ---------------------------------------------------------------

def test_examples_exist_and_load():
    content = load_image(images.EXAMPLE_CONTENT)
    style = load_image(images.EXAMPLE_STYLE)
    assert os.path.isabs(images.EXAMPLE_CONTENT) and os.path.isabs(images.EXAMPLE_STYLE)
    assert content.shape == (400, 600, 3) and style.shape == (768, 768, 3)
    for image in (content, style):
        chroma = np.abs(image - image.mean(axis=2, keepdims=True)).mean()
        assert chroma > 10  # colour images, not grey
