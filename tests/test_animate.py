"""The frame recorder: which frames it keeps, their size, and the GIF it writes."""

import os

import numpy as np
import pytest
from PIL import Image, ImageSequence

from art.errors import ArtError
from art.files import animate
from art.files.animate import downscale, Recorder, VideoRecorder


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
    ("run.mov", "video is written as .mp4 or .webm"),
    ("run.png", "unknown extension"),
    ("missing/run.mp4", "does not exist"),
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


def test_video_without_the_extra_is_refused_naming_the_install(tmp_path, monkeypatch):
    monkeypatch.setattr(animate, "_ffmpeg", lambda: None)
    for name in ("run.mp4", "run.webm"):
        with pytest.raises(ArtError, match=r"video needs imageio's ffmpeg plugin; install it with "
                                           r"pip install -c constraints.txt -e \"\.\[video\]\""):
            animate.recorder(tmp_path / name)
    assert isinstance(animate.recorder(tmp_path / "run.gif"), Recorder)
    assert os.listdir(tmp_path) == []


def read_video(path):
    import imageio.v2 as imageio
    with imageio.get_reader(path, format="FFMPEG") as reader:
        return [np.asarray(f) for f in reader]


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_a_video_streams_its_frames_and_holds_the_last(tmp_path, ext):
    """Frames go to ffmpeg as they come (none kept in memory), even-sided; the video
    appears only at `write`, holding the last frame `hold` frames."""
    path = tmp_path / ("run" + ext)
    rec = animate.recorder(path, every=2)
    assert isinstance(rec, VideoRecorder)
    rec.hold = 3
    for i in range(1, 11):
        rec.add(i, frame(i, (75, 101)))
    assert rec.frames == [] and not path.exists()
    assert rec.write() == 5
    frames = read_video(path)
    assert len(frames) == 5 + 2 and frames[0].shape == (74, 100, 3)
    # Lossy, but each frame is the one recorded: its red level, away from the stripe.
    np.testing.assert_allclose([f[40:70, 80:95, 0].mean() for f in frames],
                               [(i * 37) % 256 for i in (2, 4, 6, 8, 10, 10, 10)], atol=6)
    assert sorted(os.listdir(tmp_path)) == ["run" + ext]


def test_a_print_s_frames_shrink_to_full_hd(tmp_path):
    rec = animate.recorder(tmp_path / "big.mp4")
    assert rec.frame_shape((2160, 3840)) == (1080, 1920)
    assert rec.frame_shape((4961, 7016)) == (1358, 1920)
    assert rec.frame_shape((75, 101)) == (74, 100)
    assert animate.recorder(tmp_path / "big.gif").frame_shape((2160, 3840)) == (288, 512)


def test_a_discarded_video_leaves_nothing(tmp_path):
    rec = animate.recorder(tmp_path / "run.mp4", every=1)
    rec.add(1, frame(1))
    assert len(os.listdir(tmp_path)) == 1      # the temporary file being written
    rec.discard()
    assert os.listdir(tmp_path) == [] and rec.write() == 0
