"""The frame recorder: which frames it keeps, their size, and the GIF it writes."""

import os

import numpy as np
import pytest
from PIL import Image, ImageSequence

from art.animate import Recorder, downscale
from art.errors import ArtError


def frame(i, shape=(30, 60)):
    """A picture that differs from frame to frame (identical ones would be merged in the GIF)."""
    image = np.zeros(shape + (3,), np.float32)
    image[..., 0] = (i * 37) % 256
    image[:, : (i % shape[1]) + 1, 1] = 255
    return image


def read_gif(path):
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


def test_keeps_every_kth_frame_and_writes_them_all(tmp_path):
    path = tmp_path / "run.gif"
    rec = Recorder(path, every=5)
    kept = [rec.add(i, frame(i)) for i in range(1, 26)]
    assert sum(kept) == 5 and rec.iterations == [5, 10, 15, 20, 25]
    assert rec.add(26, frame(26), force=True)
    assert rec.write() == 6
    frames = read_gif(path)
    assert len(frames) == 6
    assert frames[0].shape == (30, 60, 3)
    # What was recorded is what is shown (up to the palette): the red level of each frame.
    assert [int(f[0, -1, 0]) for f in frames] == [(i * 37) % 256 for i in (5, 10, 15, 20, 25, 26)]
    assert sorted(os.listdir(tmp_path)) == ["run.gif"]   # no temporary file left behind


def test_frames_are_downscaled_to_the_long_side(tmp_path):
    rec = Recorder(tmp_path / "big.gif", every=1, max_side=64)
    rec.add(1, frame(1, (100, 200)))
    rec.add(2, frame(2, (100, 200)))
    assert rec.frames[0].shape == (32, 64, 3) and rec.frames[0].dtype == np.uint8
    rec.write()
    assert read_gif(tmp_path / "big.gif")[0].shape == (32, 64, 3)
    small = frame(3, (10, 20))
    np.testing.assert_array_equal(downscale(small, 64), small.astype(np.uint8))   # never enlarged


def test_nothing_recorded_writes_nothing(tmp_path):
    rec = Recorder(tmp_path / "none.gif", every=10)
    rec.add(3, frame(3))
    assert rec.write() == 0
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name, message", [
    ("run.mp4", "video needs ffmpeg"),
    ("run.png", "unknown extension"),
    ("missing/run.gif", "does not exist"),
])
def test_bad_paths_are_refused_up_front(tmp_path, name, message):
    with pytest.raises(ArtError, match=message):
        Recorder(tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_bad_every_and_mismatched_frames(tmp_path):
    with pytest.raises(ArtError, match=">= 1"):
        Recorder(tmp_path / "a.gif", every=0)
    rec = Recorder(tmp_path / "a.gif", every=1)
    rec.add(1, frame(1))
    with pytest.raises(ValueError, match="one size"):
        rec.add(2, frame(2, (31, 60)))
