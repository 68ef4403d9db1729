"""The quality yardstick: any picture scored on a pyramid of scales, with fixed weights.

The loss a method optimises is no fair judge between methods: a picture painted
whole at full size wins the full-size loss by construction, one painted coarse
to fine wins at the coarser sizes. So a picture is scored at every scale a
viewer sees it at: L_k is the Gatys loss of the picture downsampled by 2^k
(Lanczos), k = 0 (full size) up to the scale whose long side is about
`COARSEST_SIDE`, against the photo resized to that size and the style images
scaled so their long side equals that size's (the way the levels of a render
scale them). The weights are fixed (`SCORING`: content conv4_2, the five style
layers of the paper with equal weights, style weight 3e-3; no TV term, which is
a smoothness prior and would reward blur), whatever the picture was painted
with, so pictures painted with other settings or by other tools score alike.

Beside the pyramid, two figures of the fine scale: the conv1_1 and conv2_1
style terms at full size (how well the finest brushwork matches the painting's)
and `detail`, the mean squared Laplacian of the luminance (`art.quality.seams`), which
means something against another picture of the same size: the classic
method's, say.

And three figures of the picture at 100%, as a print is seen with the nose on it.
The pyramid scales the painting to every size it scores, so a print's full size
is judged against the painting enlarged; these judge it against the painting as
it was painted:
  native   the conv1_1 + conv2_1 + conv3_1 style terms (`SCORING`'s weights) of
           full-resolution crops of the picture (`NATIVE_SIDE` px, `crop_boxes`)
           against the style images at their own size: does the print show the
           painting's own brushwork at its own scale? 0 for the painting itself.
  detail/painting  the picture's `detail` over the painting's at its own size
           (blended as the styles are): the painting's sharpness is the goal.
  mesh     `mesh_index`: the strongest isolated peak of the luminance power
           spectrum, a regular pattern that no painting has (the shared paintings
           score 3.8-5.2, a print's fine levels' 2-px grid 15-36).
"""

import dataclasses
import math

import numpy as np
from scipy import ndimage

from art.config import PaintConfig
from art.engine import color, render, terms, tiled, untiled
from art.errors import ArtError
from art.files import images
from art.plan import layers, levels, tiling
from art.quality import seams

COARSEST_SIDE = 512
# Inner side of the tiles a picture is scored in: one piece up to this, and memory
# bounded by it for prints (the forward pass alone, no gradients).
TILE_SIDE = 1024

SCORING = dataclasses.replace(
    PaintConfig(), content_layers={"conv4_2": 1.0},
    style_layers={name: 1.0 for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")},
    content_weight=1.0, style_weight=3e-3, tv_weight=0.0, moment_weight=0.0,
    precision="float32", pooling="avg", padding="zero")
FINE_LAYERS = ("conv1_1", "conv2_1")
# The native-texture figure's layers and crops: the layers whose Grams describe
# brushwork (conv4_1 and conv5_1 describe composition, which the pyramid judges), and
# crops large enough for conv3_1's statistics, small enough to be cheap.
NATIVE_LAYERS = ("conv1_1", "conv2_1", "conv3_1")
NATIVE_SIDE = 1024
# The mesh index: crops of this side, how many, and the frequencies it looks at (beyond
# which a painting's own spectrum is smooth: its strokes are wider than ~7 px).
MESH_SIDE, MESH_CROPS, MESH_MIN_FREQUENCY, MESH_NEIGHBOURHOOD = 256, 8, 0.15, 9
NATIVE = dataclasses.replace(SCORING, content_layers={},
                             style_layers={name: 1.0 for name in NATIVE_LAYERS})


def scale_count(shape):
    """How many scales a picture of `shape` is scored at: 1 + the k whose long side
    is nearest `COARSEST_SIDE` (a 1024-px picture: 2; 3840 px: 4, the last 480 px)."""
    return 1 + max(0, round(math.log2(max(shape[:2]) / COARSEST_SIDE)))


def scale_shapes(shape):
    """(height, width) of every scale, full size first: halved as a render's levels are
    (`art.plan.levels.level_shapes`)."""
    return levels.level_shapes(shape[:2], scale_count(shape))[::-1]


def crop_boxes(shape):
    """(y0, y1, x0, x1) of the native-texture crops of a picture of `shape`: squares of
    `NATIVE_SIDE` (or the picture's short side) centred on a grid of one or two per
    axis, two where the picture holds two without overlap."""
    side = min(NATIVE_SIDE, shape[0], shape[1])
    boxes = []
    for cy in _centres(shape[0], side):
        for cx in _centres(shape[1], side):
            # Inside the picture: an odd side's centre rounds up (171 px: 86), and a box
            # of the whole side would then end a pixel beyond it.
            y0 = min(max(0, cy - side // 2), shape[0] - side)
            x0 = min(max(0, cx - side // 2), shape[1] - side)
            boxes.append((y0, y0 + side, x0, x0 + side))
    return boxes


def _centres(length, side):
    count = 2 if length >= 2 * side else 1
    return [round(length * (2 * k + 1) / (2 * count)) for k in range(count)]


def mesh_index(picture, crops=MESH_CROPS, side=MESH_SIDE, seed=0):
    """How strongly a regular pattern stands out of a picture's fine scale: the luminance
    power spectrum of `crops` random `side`-px crops (each Hann-windowed, its mean
    removed) averaged, and its strongest peak beyond `MESH_MIN_FREQUENCY` cycles/px
    over the median of its `MESH_NEIGHBOURHOOD`-wide neighbourhood. A painting's
    spectrum falls smoothly (3-4: noise); a mesh of period p px is a sharp peak at
    1/p cycles/px. Returns (index, (fy, fx) of the peak in cycles/px)."""
    grey = color.luminance(np.asarray(picture, np.float64))[..., 0]
    side = min(side, grey.shape[0], grey.shape[1])
    rng = np.random.default_rng(seed)
    window = np.outer(np.hanning(side), np.hanning(side))
    power = np.zeros((side, side))
    for _ in range(crops):
        y = rng.integers(0, grey.shape[0] - side + 1)
        x = rng.integers(0, grey.shape[1] - side + 1)
        crop = grey[y:y + side, x:x + side]
        power += np.abs(np.fft.fft2((crop - crop.mean()) * window)) ** 2
    # The spectrum is periodic: its neighbourhoods wrap around.
    background = ndimage.median_filter(power, size=MESH_NEIGHBOURHOOD, mode="wrap")
    f = np.fft.fftfreq(side)
    radius = np.hypot(f[:, None], f[None, :])
    ratio = np.where(radius > MESH_MIN_FREQUENCY, power / np.maximum(background, 1e-30), 0.0)
    iy, ix = np.unravel_index(np.argmax(ratio), ratio.shape)
    return float(ratio[iy, ix]), (float(abs(f[iy])), float(abs(f[ix])))


@dataclasses.dataclass
class Score:
    """A picture's score: `scales[k]` is L_k's breakdown (keys of a `--report`'s
    losses: total, content, style, style/conv1_1, ...) with its `shape`; and its
    figures at 100% (the module's docstring): `native` (with `native_layers`, its
    terms by layer), `detail_ratio` (`detail` over the painting's) and `mesh` (with
    the peak's frequency, `mesh_at`)."""
    scales: list
    detail: float
    native: float = None
    native_layers: dict = None
    detail_ratio: float = None
    mesh: float = None
    mesh_at: tuple = None

    @property
    def sum(self):
        return sum(s["total"] for s in self.scales)

    @property
    def fine(self):
        """The full-size conv1_1 + conv2_1 style terms."""
        return sum(self.scales[0]["style/" + n] for n in FINE_LAYERS)

    def to_dict(self):
        return dict(sum=self.sum, fine=self.fine, detail=self.detail, scales=self.scales,
                    native=self.native, native_layers=self.native_layers,
                    detail_painting=self.detail_ratio, mesh=self.mesh,
                    mesh_at=list(self.mesh_at) if self.mesh_at else None)


class Yardstick:
    """Scores pictures of one `shape` (height, width) against a photo and style images.

    The targets of every scale are computed once, so scoring several pictures (a
    render's iterates, another tool's picture) costs one forward pass per tile
    and scale each.

    Args:
      weights: `art.files.weights.VGGWeights`.
      content: the photo, H x W x 3 float32 RGB 0-255, any size.
      styles: style images at any size.
      shape: the size of the pictures to score.
      style_blend: as `PaintConfig.style_blend`.
    """

    def __init__(self, weights, content, styles, shape, style_blend=None):
        self.shape = (int(shape[0]), int(shape[1]))
        config = dataclasses.replace(SCORING, style_blend=style_blend)
        names = config.layer_names
        self.tile_map = tiled.LocalTiles(tiled.TileRunner(weights, terms.GraphSpec.of(config)))
        self.evaluators = []
        self.native = None
        # Each scale's targets as a render's level of that size has them: the photo
        # resized to it, the styles scaled to its long side.
        targets = render.Targets(weights, config, content, styles, TILE_SIDE, self.tile_map)
        try:
            for at in scale_shapes(self.shape):
                level = levels.one_piece(at, config)[0]
                cut = tiling.tiles_for(at, tile_size=TILE_SIDE, names=names)
                self.evaluators.append(tiled.TiledEvaluator(
                    weights, config, at, targets.content_at(level),
                    targets.style_at(level), cut, tile_map=self.tile_map))
            self._native_targets(weights, styles, style_blend)
        except BaseException:
            self.close()
            raise

    def _native_targets(self, weights, styles, style_blend):
        """The evaluator of the native-texture crops, against the styles' Grams at
        their own size, and the painting's own detail (blended as the Grams). It
        shares the pyramid's tile map, which switches to its graph at each use."""
        config = dataclasses.replace(NATIVE, style_blend=style_blend)
        names = list(NATIVE_LAYERS)
        box = crop_boxes(self.shape)[0]
        crop = (box[1] - box[0], box[3] - box[2])
        if min(crop) < layers.min_size(names) or \
                any(min(style.shape[:2]) < layers.min_size(names) for style in styles):
            return
        found = [tiled.style_targets(
            self.tile_map, style,
            tiling.tiles_for(style.shape[:2], tile_size=TILE_SIDE, names=names), config)
            for style in styles]
        self.native = tiled.TiledEvaluator(
            weights, config, crop, {}, untiled.blend(found, style_blend),
            tiling.tiles_for(crop, tile_size=TILE_SIDE, names=names), tile_map=self.tile_map)
        self.painting_detail = float(untiled.blend(
            [{"detail": np.float64(seams.detail(style))} for style in styles],
            style_blend)["detail"])

    def close(self):
        for evaluator in self.evaluators:
            evaluator.close()
        if self.native is not None:
            self.native.close()
        self.tile_map.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def score(self, picture):
        """The `Score` of `picture`, H x W x 3 RGB 0-255 of this yardstick's shape."""
        if picture.shape[:2] != self.shape:
            raise ArtError("a %dx%d picture given to the yardstick of %dx%d ones"
                           % (picture.shape[1], picture.shape[0], self.shape[1], self.shape[0]))
        found = []
        for k, evaluator in enumerate(self.evaluators):
            total, breakdown = evaluator.loss(images.resize(picture, evaluator.shape))
            breakdown.pop("tv", None)
            found.append(dict(breakdown, total=total, k=k, shape=list(evaluator.shape)))
        detail = seams.detail(picture)
        mesh, mesh_at = mesh_index(picture)
        if self.native is None:
            return Score(found, detail, mesh=mesh, mesh_at=mesh_at)
        by_crop = [self.native.loss(picture[y0:y1, x0:x1])[1]
                   for y0, y1, x0, x1 in crop_boxes(self.shape)]
        by_layer = {n: float(np.mean([b["style/" + n] for b in by_crop])) for n in NATIVE_LAYERS}
        return Score(found, detail, native=sum(by_layer.values()), native_layers=by_layer,
                     detail_ratio=detail / self.painting_detail, mesh=mesh, mesh_at=mesh_at)
