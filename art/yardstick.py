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
and `detail`, the mean squared Laplacian of the luminance (`art.seams`), which
means something against another picture of the same size: the classic
method's, say.
"""

import dataclasses
import math

from art import images, levels, seams, stylize, tiled, tiling
from art.config import PaintConfig
from art.errors import ArtError

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


def scale_count(shape):
    """How many scales a picture of `shape` is scored at: 1 + the k whose long side
    is nearest `COARSEST_SIDE` (a 1024-px picture: 2; 3840 px: 4, the last 480 px)."""
    return 1 + max(0, round(math.log2(max(shape[:2]) / COARSEST_SIDE)))


def scale_shapes(shape):
    """(height, width) of every scale, full size first: halved as a render's levels are
    (`art.levels.level_shapes`)."""
    return levels.level_shapes(shape[:2], scale_count(shape))[::-1]


@dataclasses.dataclass
class Score:
    """A picture's score: `scales[k]` is L_k's breakdown (keys of a `--report`'s
    losses: total, content, style, style/conv1_1, ...) with its `shape`."""
    scales: list
    detail: float

    @property
    def sum(self):
        return sum(s["total"] for s in self.scales)

    @property
    def fine(self):
        """The full-size conv1_1 + conv2_1 style terms."""
        return sum(self.scales[0]["style/" + n] for n in FINE_LAYERS)

    def to_dict(self):
        return dict(sum=self.sum, fine=self.fine, detail=self.detail, scales=self.scales)


class Yardstick:
    """Scores pictures of one `shape` (height, width) against a photo and style images.

    The targets of every scale are computed once, so scoring several pictures (a
    render's iterates, another tool's picture) costs one forward pass per tile
    and scale each.

    Args:
      weights: `art.weights.VGGWeights`.
      content: the photo, H x W x 3 float32 RGB 0-255, any size.
      styles: style images at any size.
      shape: the size of the pictures to score.
      style_blend: as `PaintConfig.style_blend`.
    """

    def __init__(self, weights, content, styles, shape, style_blend=None):
        self.shape = (int(shape[0]), int(shape[1]))
        config = dataclasses.replace(SCORING, style_blend=style_blend)
        names = list(config.content_layers) + list(config.style_layers)
        self.tile_map = tiled.LocalTiles(tiled.TileRunner(weights, config))
        self.evaluators = []
        try:
            for at in scale_shapes(self.shape):
                cut = tiling.tiles_for(at, tile_size=TILE_SIDE, names=names)
                content_t = tiled.content_targets(self.tile_map, images.resize(content, at), cut,
                                                  config)
                found = []
                for style in styles:
                    style = images.fit(style, max(at))
                    found.append(tiled.style_targets(
                        self.tile_map, style,
                        tiling.tiles_for(style.shape[:2], tile_size=TILE_SIDE, names=names),
                        config))
                style_t = stylize.blend(found, style_blend)
                self.evaluators.append(tiled.TiledEvaluator(weights, config, at, content_t,
                                                            style_t, cut, tile_map=self.tile_map))
        except BaseException:
            self.close()
            raise

    def close(self):
        for evaluator in self.evaluators:
            evaluator.close()
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
        return Score(found, seams.detail(picture))
