"""Recording a run as an animated GIF or a video, one frame every few iterations.

    rec = recorder("run.mp4", every=10)      # refuses a bad path before any work
    ... rec.add(progress.iteration, progress.image())   # from a paint callback
    rec.write()                              # atomic, like every output of `art`

Frames are downscaled as they arrive (uint8, long side at most `max_side`). A GIF
keeps them (a few MB) and is written at the end; a video streams each frame to
ffmpeg as it comes, into a temporary file beside the destination that replaces it
only once complete. No TensorFlow here.
"""

import errno
import os
import tempfile

import numpy as np
from PIL import Image

from art.errors import ArtError
from art.files import atomic
from art.files.images import check_output_path, to_uint8

# GIF is written by Pillow, which the project needs anyway; video by imageio's
# ffmpeg plugin, whose wheel brings the ffmpeg binary: the optional "video" extra.
GIF = (".gif",)
VIDEO = {".mp4": "libx264", ".webm": "libvpx-vp9"}
FORMATS = GIF + tuple(VIDEO)
VIDEO_EXTRA = 'pip install -c constraints.txt -e ".[video]"'


def _ffmpeg():
    """imageio's v2 API, if its ffmpeg plugin and binary are installed; else None."""
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg
        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None
    return imageio


def check_animation_path(path):
    """Refuse, before any work, an animation path that the recorder could not write.

    Returns:
      `path` as a string.

    Raises:
      ArtError: not a .gif, .mp4 or .webm, video without the video extra, or its
        folder does not exist.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in (".mov", ".avi", ".mkv"):
        raise ArtError("cannot write %s: video is written as .mp4 or .webm" % path)
    check_output_path(path, extensions=FORMATS)
    if ext in VIDEO and _ffmpeg() is None:
        raise ArtError("cannot write %s: video needs imageio's ffmpeg plugin; install it with "
                       "%s, or write a .gif" % (path, VIDEO_EXTRA))
    return path


def _ffmpeg_binary():
    import imageio_ffmpeg
    return imageio_ffmpeg


# Free space below which a failed video is put down to a full disk.
FULL_DISK_BYTES = 1 << 20


def recorder(path, every=10, inputs=()):
    """The recorder for `path`: a GIF (`Recorder`) or a video (`VideoRecorder`)."""
    if os.path.splitext(os.fspath(path))[1].lower() in VIDEO:
        return VideoRecorder(path, every, inputs=inputs)
    return Recorder(path, every, inputs=inputs)


def frame_shape(shape, max_side, even=False):
    """(height, width) of the frames of pictures of `shape`: shrunk (never enlarged) to a
    long side of at most `max_side`; even sides for a video (its 4:2:0 colour has one
    sample per 2x2 pixels)."""
    h, w = shape[:2]
    scale = min(1.0, max_side / max(h, w))
    h, w = max(1, round(h * scale)), max(1, round(w * scale))
    if even:
        h, w = max(2, h - h % 2), max(2, w - w % 2)
    return h, w


def downscale(image, max_side, even=False):
    """uint8 copy of a 0-255 image at its `frame_shape`."""
    pixels = to_uint8(image)
    h, w = frame_shape(pixels.shape, max_side, even)
    if (h, w) == pixels.shape[:2]:
        return pixels
    return np.asarray(Image.fromarray(pixels).resize((w, h), Image.Resampling.LANCZOS))


class Recorder:
    """Collects every `every`-th frame of a run and writes them as one GIF.

    Args:
      path: the .gif to write (checked here, so a bad path fails before the run).
      every: keep the frames of iterations 0, every, 2*every, ...
      max_side: frames are downscaled to this long side (512 keeps a GIF shareable).
      seconds_per_frame: display time of each frame; the last one is held `hold` times longer.
      inputs: paths that must never be overwritten.
    """

    def __init__(self, path, every=10, max_side=512, seconds_per_frame=0.1, hold=10, inputs=()):
        self.path = check_animation_path(path)
        check_output_path(self.path, inputs, extensions=FORMATS)
        if int(every) < 1:
            raise ArtError("record every %r iterations: expected a whole number >= 1" % (every,))
        self.every = int(every)
        self.max_side = int(max_side)
        self.seconds_per_frame = float(seconds_per_frame)
        self.hold = max(1, int(hold))
        self.inputs = tuple(inputs)
        self.frames = []
        self.iterations = []

    def add(self, iteration, image, force=False):
        """Keep `image` (HxWx3, 0-255) if `iteration` is a multiple of `every`, or if `force`.

        Returns:
          True if the frame was kept.
        """
        if not force and iteration % self.every:
            return False
        frame = downscale(image, self.max_side)
        if self.frames and frame.shape != self.frames[0].shape:
            raise ValueError("frame of iteration %d is %dx%d, the first was %dx%d; "
                             "all frames of one animation must have one size"
                             % ((iteration,) + frame.shape[1::-1] + self.frames[0].shape[1::-1]))
        self.frames.append(frame)
        self.iterations.append(iteration)
        return True

    def frame_shape(self, shape):
        """(height, width) of the frames of pictures of `shape`."""
        return frame_shape(shape, self.max_side)

    def discard(self):
        """Drop what was recorded (nothing is on disk until `write`)."""
        self.frames, self.iterations = [], []

    def write(self):
        """Write the frames kept so far as a looping GIF, atomically.

        Returns:
          The number of frames written (0: nothing recorded, nothing written).
        """
        if not self.frames:
            return 0
        # One adaptive palette per frame: a painting drifts in colour as it
        # forms, and a palette fixed on the noise start would band it badly.
        pictures = [Image.fromarray(f).quantize(256, dither=Image.Dither.FLOYDSTEINBERG)
                    for f in self.frames]
        ms = int(round(1000 * self.seconds_per_frame))
        durations = [ms] * (len(pictures) - 1) + [ms * self.hold]
        # Pillow merges a frame identical to the one before into it (adding up their
        # durations), so a run that has converged costs no extra bytes.
        atomic.write_with(self.path, lambda f: pictures[0].save(
            f, format="GIF", save_all=True, append_images=pictures[1:], duration=durations,
            loop=0, optimize=False, disposal=1), self.inputs)
        return len(pictures)


class VideoRecorder(Recorder):
    """Streams every `every`-th frame of a run to ffmpeg (H.264 in .mp4, VP9 in .webm).

    Frames are at most `max_side` (1920: full HD, which every player plays) and even;
    nothing but the encoder's own buffers stays in memory. The video goes to a
    temporary file beside `path` and replaces `path` in `write`; `discard` removes it.
    """

    def __init__(self, path, every=10, max_side=1920, seconds_per_frame=0.1, hold=10, inputs=()):
        super().__init__(path, every, max_side, seconds_per_frame, hold, inputs)
        self.writer = self.tmp = self.shape = None
        self.count = 0

    def frame_shape(self, shape):
        return frame_shape(shape, self.max_side, even=True)

    def add(self, iteration, image, force=False):
        if not force and iteration % self.every:
            return False
        frame = downscale(image, self.max_side, even=True)
        if self.writer is None:
            self._open(frame.shape)
        elif frame.shape != self.shape:
            raise ValueError("frame of iteration %d is %dx%d, the first was %dx%d; all frames "
                             "of one video must have one size"
                             % ((iteration,) + frame.shape[1::-1] + self.shape[1::-1]))
        self._append(frame)
        self.last = frame
        return True

    def _open(self, shape):
        folder = os.path.dirname(os.path.abspath(self.path))
        ext = os.path.splitext(self.path)[1].lower()
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(self.path),
                                            suffix=ext, dir=folder)
            os.close(fd)
        except OSError as e:
            raise ArtError("cannot write %s: %s" % (self.path, e.strerror)) from None
        # macro_block_size=2: imageio would otherwise resize frames to multiples of 16.
        # ffmpeg says nothing (it would write its errors into our terminal, unasked):
        # whether the video is whole is checked by reading it back, in `write`.
        self.writer = _ffmpeg().get_writer(self.tmp, format="FFMPEG", mode="I",
                                           fps=1.0 / self.seconds_per_frame, codec=VIDEO[ext],
                                           macro_block_size=2, ffmpeg_log_level="quiet")
        self.shape = shape

    def _append(self, frame):
        try:
            self.writer.append_data(frame)
        except (OSError, RuntimeError) as e:
            self.discard()
            raise ArtError("cannot write %s: %s" % (self.path, self._failure(e))) from None
        self.count += 1

    def _failure(self, e):
        """Why ffmpeg failed, in a few words: it stops at a full disk without saying so
        to us (imageio's error is its command line)."""
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            stat = os.statvfs(folder)
            if stat.f_bavail * stat.f_frsize < FULL_DISK_BYTES:
                return "the disk is full"
        except OSError:
            pass
        return "ffmpeg failed (%s)" % (str(e).strip().splitlines() or [type(e).__name__])[0]

    def _verify(self, tmp):
        """Read the video back: ffmpeg ends with status 0 even when a full disk cut it."""
        try:
            frames, _ = _ffmpeg_binary().count_frames_and_secs(tmp)
        except (OSError, RuntimeError) as e:
            frames, error = 0, e
        else:
            error = "it holds %d of its %d frames" % (frames, self.count)
        if frames != self.count:
            raise OSError(errno.EIO, self._failure(error))

    def write(self):
        """Hold the last frame, close the video and move it into place.

        Returns:
          The number of frames written (0: nothing recorded, nothing written)."""
        if self.writer is None:
            return 0
        for _ in range(self.hold - 1):
            self._append(self.last)
        frames = self.count - (self.hold - 1)
        try:
            self.writer.close()
            self.writer = None
        except (OSError, RuntimeError) as e:
            self.discard()
            raise ArtError("cannot write %s: %s" % (self.path, e)) from None
        try:
            atomic.commit(self.tmp, self.path, verify=self._verify)
        finally:
            self.discard()
        return frames

    def discard(self):
        if self.writer is not None:
            try:
                self.writer.close()
            except (OSError, RuntimeError):
                pass
            self.writer = None
        if self.tmp and os.path.exists(self.tmp):
            os.unlink(self.tmp)
        self.tmp = None
