"""The state a render continues from, and how each level starts: pure numpy, no
TensorFlow, so a work folder's checkpoint is read and checked before the network is
loaded."""

import dataclasses

import numpy as np

from art.files import images


@dataclasses.dataclass
class RenderState:
    """Where a render continues from: what a checkpoint holds, and all it needs.

    The work folder stores it as arrays (`to_arrays`, `from_arrays`), under the keys every
    earlier version wrote, so a work folder resumes across versions.
    """
    level: int                  # the level to paint next, from 0; len(levels): finished
    start: np.ndarray           # that level's start (its canvas); finished: the picture
    elapsed: float = 0.0        # seconds of painting so far, over every run
    optimizer: dict = None      # mid-level: the optimiser's own state (None: the start)
    tile: int = None            # independent tiles: the tile being painted, from 0
    done: list = dataclasses.field(default_factory=list)   # ... and the tiles painted

    def to_arrays(self):
        """The state as a flat dict of arrays (lists for the optimiser's history)."""
        arrays = dict(level=np.int64(self.level), start=self.start,
                      elapsed=np.float64(self.elapsed))
        arrays.update({"opt/" + k: v for k, v in (self.optimizer or {}).items()})
        if self.tile is not None:
            arrays["tile"] = np.int64(self.tile)
            arrays.update({"done/%d" % j: crop for j, crop in enumerate(self.done)})
        return arrays

    @classmethod
    def from_arrays(cls, arrays):
        optimizer = {key[4:]: value for key, value in arrays.items() if key.startswith("opt/")}
        tile = int(arrays["tile"]) if "tile" in arrays else None
        return cls(level=int(arrays["level"]), start=np.asarray(arrays["start"], np.float32),
                   elapsed=float(arrays["elapsed"]),
                   optimizer=optimizer if "x" in optimizer else None, tile=tile,
                   done=[np.asarray(arrays["done/%d" % j], np.float32)
                         for j in range(tile or 0)])


def canvas(image, margin):
    """`image` with `margin` px of itself mirrored beyond each edge (the edge pixel not
    repeated, as the reflect padding of the network's convolutions)."""
    if not margin:
        return image
    return np.pad(image, ((margin, margin), (margin, margin), (0, 0)), mode="reflect")


def picture(image, level):
    """A canvas of `level` without its margin."""
    m = level.margin
    return image[m:image.shape[0] - m, m:image.shape[1] - m] if m else image


def state_after(levels, index, image, elapsed=0.0):
    """The state that continues a render of `levels` from level `index`'s finished
    picture `image`: the next level's start, or after the last level the picture itself
    (a render that ended before its picture was written)."""
    if index + 1 < len(levels):
        finer = levels[index + 1]
        # The finer canvas's margin starts as the painting mirrored, as its content
        # target is the photo mirrored.
        start = canvas(images.resize(image, finer.picture), finer.margin)
        return RenderState(index + 1, fine_start(start, finer), elapsed)
    return RenderState(len(levels), image, elapsed)


def fine_start(start, level):
    """A finer level's start with its config's `fine_start_noise`: the same noise for one
    seed and level, so a render resumed from a level's picture starts it as it began."""
    config = level.config
    if not config.fine_start_noise:
        return start
    rng = np.random.default_rng([config.seed, level.index])
    # In place, the same floats as clip(start + noise), with one array of the finer canvas
    # beside the start instead of three (`art.files.images.resize` says what that spared).
    noisy = rng.standard_normal(start.shape, np.float32)
    noisy *= np.float32(config.fine_start_noise)
    noisy += start
    return np.clip(noisy, 0.0, 255.0, out=noisy)
