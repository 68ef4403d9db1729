"""Recording a run as an animated GIF, one frame every few iterations.

    rec = Recorder("run.gif", every=10)      # refuses a bad path before any work
    ... rec.add(progress.iteration, progress.image())   # from a paint callback
    rec.write()                              # atomic, like every output of `art`

Frames are downscaled as they arrive (uint8, long side at most `max_side`), so a
long run at print size keeps a few MB of frames in memory, not the pictures.
No TensorFlow here.
"""

import os

import numpy as np
from PIL import Image

from art.errors import ArtError
from art.files import atomic_path
from art.images import check_output_path, to_uint8

# GIF is written by Pillow, which the project needs anyway. MP4 would need
# ffmpeg (imageio-ffmpeg), which is not a dependency: refused with a hint.
FORMATS = (".gif",)


def check_animation_path(path):
    """Refuse, before any work, an animation path that `Recorder.write` could not write.

    Returns:
      `path` as a string.

    Raises:
      ArtError: not a .gif, or its folder does not exist.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in (".mp4", ".webm", ".mov", ".avi", ".mkv"):
        raise ArtError("cannot write %s: video needs ffmpeg, which this tool does not use; "
                       "write a .gif instead" % path)
    return check_output_path(path, extensions=FORMATS)


def downscale(image, max_side):
    """uint8 copy of a 0-255 image, shrunk (never enlarged) to a long side of at most `max_side`."""
    pixels = to_uint8(image)
    h, w = pixels.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return pixels
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


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
        with atomic_path(self.path, self.inputs) as tmp:
            try:
                # Pillow merges a frame identical to the one before into it
                # (adding up their durations), so a run that has converged
                # costs no extra bytes.
                pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:],
                                 duration=durations, loop=0, optimize=False, disposal=1)
            except OSError as e:
                raise ArtError("cannot write %s: %s" % (self.path, e.strerror or e)) from None
        return len(pictures)
