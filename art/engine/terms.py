"""The loss terms, each written once: the whole picture's graph, its tiles, and the
cluster's workers all read them from here.

Every term is a function of sums over positions, its statistics. That is what
makes exact tiles possible: a tile computes the statistics of the positions it
owns, the sums add up over the tiles, and the term's loss and its derivative
with respect to each statistic (the cotangent) come from the totals; each tile
then back-propagates the cotangents through its own statistics
(`gradients(stats, crop, grad_ys=cotangents)`), and the tiles' gradients add
up to the whole picture's. One piece is the same with one tile.

Normalisation: every term is an average, not a sum, so the default weights
work across picture sizes (Gatys et al. sum over positions, which makes the
balance between content and style drift with the size):
  content  mean over positions and channels of (F - P)^2
  style    sum over entries of (G - A)^2 / (4 C^2), with G = F^T F / M
           (the paper's E_l = 1/(4 N^2 M^2) sum (F^T F - A)^2, with A scaled by M
           so a target from a differently sized style image still fits)
  tv       mean over pixels and channels of the squared differences of neighbours
  moments  mean over channels of (mu - mu_t)^2 + (sigma - sigma_t)^2, the mean and
           standard deviation of each channel (off unless --moment-weight is set)
  anchor   mean over pixels and channels of (low-pass of x - low-pass of the start)^2:
           a finer level holds the coarser level's picture, upsampled, and adds the
           detail above it (--fine-anchor-weight)

A new term needs, in a class here, and a `PaintConfig` field with its flag:
  1. `name`, the layers it reads (`layers`, name -> weight; none for a pixel term)
     and its overall `weight`; `terms_of` makes it from the config (a weight of 0
     leaves it out), `of_layers` with placeholder weights from a `GraphSpec`, and
     `KINDS` names it. The tile graph's spec is derived from `terms_of`, so the tiled
     evaluator and a cluster's workers build the new term with nothing more
     (tests/test_terms.py holds every term to that);
  2. `stats(view)`: TF, its sums over the positions `view` owns, a dict key -> tensor
     with keys "<name>/<layer>[/...]"; a term compared position by position with a
     target (content, anchor) names it in `inputs` (key -> (depth, channels)) and
     finds it in `view.inputs[key]`;
  3. `loss(totals, targets, shape, dtype)`: TF, from the totals (in `dtype`, float64
     in both the whole picture's graph and the tiles' reduce) and its frozen numpy
     targets to (total, {layer: term});
  4. for a per-position target taken from the level's start (as the anchor's is):
     `start_target(start)`, which the render loop adds to the content targets;
  5. for a target taken from the style images (as the Gram matrices are): `target`,
     from the style image's totals to numpy arrays keyed like its stats, which
     `art.engine.untiled.style_targets` and `art.engine.tiled.style_targets` compute and blend;
  6. a test that the tiled loss and gradient equal the untiled ones (tests/test_tiled.py)
     and one against a numpy reference (tests/test_terms.py).
"""

import dataclasses

import numpy as np
import tensorflow as tf
from scipy import ndimage

from art.plan import layers, precision

tf1 = tf.compat.v1

# Added to each channel's variance under the square root: a channel that is zero
# everywhere (a dead ReLU) would otherwise have an infinite derivative.
MOMENT_EPSILON = 1.0


def positions(shape, name):
    """How many positions the layer `name` has on a picture of `shape`: VALID
    pooling rounds each side down at every pooling."""
    d = layers.depth(name)
    return (int(shape[0]) >> d) * (int(shape[1]) >> d)


class View:
    """What a term's statistics are computed from: the features of the positions a piece
    owns (layer -> [1, h, w, C]), the per-position targets there (content layer ->
    [1, h, w, C]), the piece's pixels ([1, H, W, 3], margins included) and the box of
    them it owns, (y0, y1, x0, x1) in its own pixels."""

    def __init__(self, features, inputs, pixels, box):
        self.features, self.inputs, self.pixels, self.box = features, inputs, pixels, box


def _weighted(weight, breakdown, dtype):
    terms = {name: weight * term for name, term in breakdown.items()}
    # No layers (a style-only or content-only run) is a term of zero.
    return (in_order(list(terms.values())) if terms else tf.constant(0.0, dtype)), terms


class _LayerTerm:
    """A term on VGG layers: its layers (name -> weight) and its overall weight."""
    inputs = {}

    def __init__(self, layer_weights, weight):
        self.layers, self.weight = dict(layer_weights), weight

    @classmethod
    def of_layers(cls, names):
        """The term on `names` with placeholder weights (a tile graph's: see `GraphSpec`)."""
        return cls(dict.fromkeys(names, 1.0), 1.0)

    @staticmethod
    def _flat(view, name):
        """The features of `name` as positions x channels."""
        return tf.reshape(view.features[name], [-1, layers.channels(name)])


class Content(_LayerTerm):
    """Each content layer's features against the content photo's, position by position."""
    name = "content"

    @property
    def inputs(self):
        return {n: (layers.depth(n), layers.channels(n)) for n in self.layers}

    def stats(self, view):
        return {"content/" + n: tf.reduce_sum(tf.square(view.features[n] - view.inputs[n]))
                for n in self.layers}

    def loss(self, totals, targets, shape, dtype):
        return _weighted(self.weight, {
            n: w * totals["content/" + n] / tf.constant(positions(shape, n) * layers.channels(n),
                                                        dtype)
            for n, w in self.layers.items()}, dtype)


class Style(_LayerTerm):
    """Each style layer's Gram matrix against the style images' (blended)."""
    name = "style"

    def stats(self, view):
        out = {}
        for n in self.layers:
            flat = self._flat(view, n)
            out["style/" + n] = tf.matmul(flat, flat, transpose_a=True)
        return out

    def target(self, totals, shape):
        return {"style/" + n: (np.asarray(totals["style/" + n], np.float64)
                               / positions(shape, n)).astype(np.float32) for n in self.layers}

    def loss(self, totals, targets, shape, dtype):
        breakdown = {}
        for n, w in self.layers.items():
            gram = totals["style/" + n] / tf.constant(positions(shape, n), dtype)
            c = layers.channels(n)
            diff = gram - tf.constant(targets["style/" + n], dtype)
            breakdown[n] = w * tf.reduce_sum(tf.square(diff)) / (4.0 * c * c)
        return _weighted(self.weight, breakdown, dtype)


class _PixelTerm:
    """A term on the picture's pixels, not on VGG layers: its overall weight."""
    layers = {}
    inputs = {}

    def __init__(self, weight):
        self.weight = weight

    @classmethod
    def of_layers(cls, names):
        """The term with a placeholder weight (a tile graph's: see `GraphSpec`)."""
        return cls(1.0)


class TotalVariation(_PixelTerm):
    """Squared differences of vertical and horizontal neighbours: a pair belongs to the
    piece that owns its first pixel."""
    name = "tv"

    def stats(self, view):
        y0, y1, x0, x1 = (view.box[k] for k in range(4))
        x = view.pixels
        # Slices clamp at the piece's edge: a pair whose second pixel lies beyond the
        # picture does not exist, and the margin holds every other one.
        dy = (x[:, 1:, :, :] - x[:, :-1, :, :])[:, y0:y1, x0:x1, :]
        dx = (x[:, :, 1:, :] - x[:, :, :-1, :])[:, y0:y1, x0:x1, :]
        return {"tv/dy": tf.reduce_sum(tf.square(dy)), "tv/dx": tf.reduce_sum(tf.square(dx))}

    def loss(self, totals, targets, shape, dtype):
        size = tf.constant(int(shape[0]) * int(shape[1]) * 3, dtype)
        term = self.weight * (totals["tv/dy"] + totals["tv/dx"]) / size
        return term, {"tv": term}


class Moments(_LayerTerm):
    """Each style layer's per-channel mean and standard deviation against the style
    images': a first- and second-order match beside the Gram's (Risser et al. match
    whole histograms; this is the part of that a sum over positions can give)."""
    name = "moments"

    def stats(self, view):
        out = {}
        for n in self.layers:
            flat = self._flat(view, n)
            out["moments/%s/sum" % n] = tf.reduce_sum(flat, axis=0)
            out["moments/%s/squares" % n] = tf.reduce_sum(tf.square(flat), axis=0)
        return out

    @staticmethod
    def _mean_std(total, squares, m, module=np):
        mean = total / m
        return mean, module.sqrt(module.maximum(squares / m - mean * mean, 0.0) + MOMENT_EPSILON)

    def target(self, totals, shape):
        out = {}
        for n in self.layers:
            mean, std = self._mean_std(np.asarray(totals["moments/%s/sum" % n], np.float64),
                                       np.asarray(totals["moments/%s/squares" % n], np.float64),
                                       positions(shape, n))
            out["moments/%s/mean" % n] = mean.astype(np.float32)
            out["moments/%s/std" % n] = std.astype(np.float32)
        return out

    def loss(self, totals, targets, shape, dtype):
        breakdown = {}
        for n, w in self.layers.items():
            mean, std = self._mean_std(totals["moments/%s/sum" % n],
                                       totals["moments/%s/squares" % n],
                                       tf.constant(positions(shape, n), dtype), tf)
            want_mean = tf.constant(targets["moments/%s/mean" % n], dtype)
            want_std = tf.constant(targets["moments/%s/std" % n], dtype)
            breakdown[n] = w * (tf.reduce_sum(tf.square(mean - want_mean))
                                + tf.reduce_sum(tf.square(std - want_std))) / layers.channels(n)
        return _weighted(self.weight, breakdown, dtype)


# The anchor's low-pass: a Gaussian of this many pixels (fine level's), on 2 * RADIUS + 1
# taps. It holds what the coarser level painted (its response is 0.45 at 0.25 cycles/px,
# the coarser picture's own limit) and frees the band above it in every direction and
# phase, where a level paints its detail.
ANCHOR_SIGMA, ANCHOR_RADIUS = 0.8, 3


def anchor_kernel():
    """The anchor's separable low-pass taps, summing to 1."""
    t = np.arange(-ANCHOR_RADIUS, ANCHOR_RADIUS + 1, dtype=np.float64)
    k = np.exp(-0.5 * (t / ANCHOR_SIGMA) ** 2)
    return k / k.sum()


class Anchor(_PixelTerm):
    """The picture's low-pass against the start's (a finer level's start is the coarser
    level's picture, upsampled): the coarser level's picture is held, and the level
    paints the detail above it. Its target is `anchor_target(start)`.

    A low-pass, not 2x2 block means: the block means leave free exactly the patterns
    inside each block, a 2-px grid locked to the blocks, and a level whose style asks
    for fine detail painted that grid (a mesh, measured by `art.quality.yardstick.mesh_index`).
    Beyond the picture the low-pass sees zeros, in the whole picture and its tiles
    alike; its reach (3 px) is within every tile's margin."""
    name = "anchor"
    inputs = {"anchor": (0, 3)}

    def stats(self, view):
        y0, y1, x0, x1 = (view.box[k] for k in range(4))
        blurred = _low_pass(view.pixels)
        return {"anchor/blurred": tf.reduce_sum(tf.square(blurred[:, y0:y1, x0:x1, :]
                                                          - view.inputs["anchor"]))}

    def loss(self, totals, targets, shape, dtype):
        size = tf.constant(int(shape[0]) * int(shape[1]) * 3, dtype)
        term = self.weight * totals["anchor/blurred"] / size
        return term, {"anchor": term}

    @staticmethod
    def start_target(start):
        return {"anchor": anchor_target(start)}


def _low_pass(pixels):
    """`anchor_kernel` along rows and columns of [1, H, W, 3] pixels, zeros beyond."""
    k = tf.constant(anchor_kernel(), pixels.dtype)
    rows = tf.tile(tf.reshape(k, (-1, 1, 1, 1)), (1, 1, 3, 1))
    cols = tf.tile(tf.reshape(k, (1, -1, 1, 1)), (1, 1, 3, 1))
    out = tf.nn.depthwise_conv2d(pixels, rows, (1, 1, 1, 1), "SAME")
    return tf.nn.depthwise_conv2d(out, cols, (1, 1, 1, 1), "SAME")


# Rows of the anchor's target computed at a time: its float64 work stays a few hundred
# MB at any size (a whole A0 picture in float64 would be 3.3 GB, three times over).
ANCHOR_BAND = 256


def anchor_target(image):
    """The anchor's target: `image` (H x W x 3) low-passed as `Anchor` does, [1, H, W, 3].

    Computed in bands of rows, each with the rows its filter reaches beyond it (zeros
    beyond the picture, as a whole one): every value is the same sum of the same
    products, so the bands give the whole picture's bits."""
    k = anchor_kernel()
    image = np.asarray(image)
    h = image.shape[0]
    out = np.empty((1,) + image.shape, np.float32)
    for y0 in range(0, h, ANCHOR_BAND):
        y1 = min(h, y0 + ANCHOR_BAND)
        top, bottom = max(0, y0 - ANCHOR_RADIUS), min(h, y1 + ANCHOR_RADIUS)
        band = np.zeros((y1 - y0 + 2 * ANCHOR_RADIUS,) + image.shape[1:], np.float64)
        at = ANCHOR_RADIUS - (y0 - top)
        band[at:at + bottom - top] = image[top:bottom]
        rows = ndimage.correlate1d(band, k, axis=0, mode="constant")
        rows = rows[ANCHOR_RADIUS:ANCHOR_RADIUS + y1 - y0]
        out[0, y0:y1] = ndimage.correlate1d(rows, k, axis=1, mode="constant")
    return out


def terms_of(config):
    """The terms a config paints with, in the order of the breakdown. Content and style
    are always there (an empty layer dict is a term of zero, as a reconstruction has);
    TV and the moments only with a weight."""
    found = [Content(config.content_layers, config.content_weight),
             Style(config.style_layers, config.style_weight)]
    if config.tv_weight:
        found.append(TotalVariation(config.tv_weight))
    if config.moment_weight and config.style_layers:
        found.append(Moments(config.style_layers, config.moment_weight))
    if config.anchor_weight:
        found.append(Anchor(config.anchor_weight))
    return found


# Every kind of term, by its name: how a tile graph is built again from a `GraphSpec`.
KINDS = {kind.name: kind for kind in (Content, Style, TotalVariation, Moments, Anchor)}


@dataclasses.dataclass(frozen=True)
class GraphSpec:
    """What a tile graph computes, derived from the terms a config paints with: each
    term's name and layers, the pooling, the padding and the precision ('auto' resolved
    here, on the driver: every tile of an evaluation is painted in one arithmetic,
    whatever CPU a worker has). The terms' weights are not in it: only the reduce reads
    them, so one graph serves every weighting. Hashable and small: it names a graph in
    a cache and travels to a cluster's workers."""
    terms: tuple            # ((name, (layer, ...)), ...) in the order of `terms_of`
    pooling: str
    padding: str
    precision: str

    @classmethod
    def of(cls, config):
        return cls(tuple((term.name, tuple(term.layers)) for term in terms_of(config)),
                   config.pooling, config.padding, precision.of(config))

    def placeholder_terms(self):
        """The terms again, with placeholder weights: enough to build their statistics."""
        return [KINDS[name].of_layers(names) for name, names in self.terms]


def start_targets(config, start):
    """The per-position targets taken from a level's start (the anchor's), key -> array,
    for the terms of `config` that hold the start (those with a `start_target`)."""
    found = {}
    for term in terms_of(config):
        if hasattr(term, "start_target"):
            found.update(term.start_target(start))
    return found


def inputs_of(used):
    """Every per-position target the terms read: key -> (depth, channels)."""
    return {k: v for term in used for k, v in term.inputs.items()}


def with_targets(config):
    """The config's terms whose targets come from the style images (those with a
    `target`), computed by `art.engine.untiled.style_targets` and `art.engine.tiled.style_targets`."""
    return [term for term in terms_of(config) if hasattr(term, "target") and term.layers]


def layers_read(terms):
    """The layers the terms read, each once, in the order first asked for."""
    return list(dict.fromkeys(n for term in terms for n in term.layers))


def in_order(tensors):
    """The sum of `tensors`, added two at a time in their order: see `gradients`."""
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    return total


def gradients(ys, xs, grad_ys=None):
    """`tf.gradients`, with every sum of several gradients made as a chain of two-input
    adds rather than one AddN.

    TensorFlow's AddN accumulates into whichever of its input buffers it may reuse at run
    time and starts the sum there, so a sum of three or more changes its float order
    from run to run. Measured: the picture's gradient at one fixed input differed by up
    to 1.9e-6 between evaluations (the sum of the picture's five gradients, four from
    the total-variation term), and two renders of one 480x270 command by 18-40 grey
    levels. A sum of two is the same either way round: a render repeats itself exactly.
    """
    return tf.gradients(ys, xs, grad_ys=grad_ys,
                        aggregation_method=tf.AggregationMethod.EXPERIMENTAL_TREE)


def combine(terms, totals, targets, shape, dtype):
    """Every term's loss from the totals: (total, breakdown) with the breakdown keys of
    a report: 'content', 'style', 'tv', ... and '<term>/<layer>'."""
    breakdown, parts = {}, []
    for term in terms:
        total, by = term.loss(totals, targets, shape, dtype)
        parts.append(total)
        breakdown[term.name] = total
        if term.layers:
            breakdown.update({"%s/%s" % (term.name, n): v for n, v in by.items()})
    # Reports always carry a tv figure, 0 when the term is off.
    breakdown.setdefault("tv", tf.constant(0.0, dtype))
    return tf.identity(in_order(parts), name="total_loss"), breakdown
