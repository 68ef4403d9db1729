"""The loss of a picture in one piece: frozen targets, the loss graph, its evaluator.

`art.engine.render` paints every picture with these (a picture in one piece is a
render of one level) or with their tiled counterpart, `art.engine.tiled`.
"""

import numpy as np
import tensorflow as tf

from art.config import check_style_blend
from art.engine import terms, vgg
from art.engine.optim import PIXEL_BOUNDS
from art.errors import ArtError
from art.plan import layers, precision

tf1 = tf.compat.v1


def new_session(graph, threads=None):
    """A session on `graph`; `threads` caps TensorFlow's CPU threads (default: all cores),
    for processes that share a machine, such as several Dask workers.

    TensorFlow sizes its thread pools once, at a process's first session (measured:
    a later session asking for 1 thread still ran on 2), so a cap must come with
    the first one; a Dask worker's tile graph is its first."""
    config = tf1.ConfigProto()
    if threads:
        config.intra_op_parallelism_threads = threads
        config.inter_op_parallelism_threads = threads
    # Users with a GPU share it with other programs; take memory as needed.
    config.gpu_options.allow_growth = True
    return tf1.Session(graph=graph, config=config)


def _whole_view(net, names, inputs, image):
    """The whole picture as one piece: every position and every pixel is its own."""
    h, w = image.shape.as_list()[1:3]
    return terms.View({n: net[n] for n in names}, inputs, image, (0, h, 0, w))


def _run(weights, image, config, names, fetches):
    """Run the network once on `image` (numpy) and fetch `fetches(net, rgb)`, in the
    precision the picture is painted in, so that the targets are what the painting's
    own features can match."""
    graph = tf.Graph()
    with graph.as_default():
        rgb = tf1.placeholder(tf.float32, (1,) + image.shape)
        net = vgg.build(rgb, weights, config.pooling, last=layers.deepest(names),
                        precision=precision.of(config), padding=config.padding)
        wanted = fetches(net, rgb)
        with new_session(graph) as session:
            return session.run(wanted, {rgb: image[None]})


def content_targets(weights, content, config):
    """The content image's features at the content layers, frozen as numpy arrays."""
    names = list(config.content_layers)
    if not names:
        return {}
    return _run(weights, content, config, names, lambda net, rgb: {n: net[n] for n in names})


def blend(targets, weights=None):
    """sum_i w_i * targets_i per key, the weights normalised to sum 1 (default equal).

    Gram matrices are normalised by the number of positions, so style images
    of any size blend on an equal footing.
    """
    if weights is None:
        weights = [1.0] * len(targets)
    check_style_blend(weights, len(targets))
    weights = np.asarray(weights, np.float64)
    weights = weights / weights.sum()
    keys = list(targets[0]) if targets else []
    return {key: sum(w * np.asarray(t[key], np.float64) for t, w in zip(targets, weights))
            .astype(np.float32) for key in keys}


def style_targets(weights, styles, style_blend, config):
    """The frozen targets the style images give (Gram matrices, and the moments when that
    term is on), keyed like the terms' statistics, blended over the styles (`blend`)."""
    wanted = terms.with_targets(config)
    if not wanted:
        return {}
    names = terms.layers_read(wanted)
    found = []
    for style in styles:
        def fetches(net, rgb):
            view = _whole_view(net, names, {}, rgb)
            return {k: v for term in wanted for k, v in term.stats(view).items()}
        totals = _run(weights, style, config, names, fetches)
        found.append({k: v for term in wanted for k, v in term.target(totals, style.shape).items()})
    return blend(found, style_blend)


def build_loss(image, weights, config, content_t, style_t):
    """The total loss and its breakdown for `image`, every term of `art.engine.terms` on the
    whole picture, with the targets frozen in the graph as constants.

    Returns:
      (total tensor, dict of named scalar tensors: content, style, tv and per layer).
    """
    used = terms.terms_of(config)
    names = terms.layers_read(used)
    net = vgg.build(image, weights, config.pooling, last=layers.deepest(names),
                    precision=precision.of(config), padding=config.padding)
    # The per-position targets: the content layers' features, and the anchor's low-pass.
    inputs = {key: tf.constant(content_t[key]) for key in terms.inputs_of(used)}
    view = _whole_view(net, names, inputs, image)
    # The losses from the statistics in float64, as the tiles' reduce computes them: a
    # variance from sums (the moments term) loses digits in float32. Only the small
    # tensors (C x C at most) are double.
    totals = {k: tf.cast(v, tf.float64) for term in used for k, v in term.stats(view).items()}
    total, breakdown = terms.combine(used, totals, style_t, image.shape.as_list()[1:3], tf.float64)
    return tf.cast(total, tf.float32), {k: tf.cast(v, tf.float32) for k, v in breakdown.items()}


def evaluate(weights, images, config, content_t, style_t):
    """The loss terms of each image in `images` (no optimisation), for comparisons.

    Returns:
      list of dicts like `Progress.losses`, one per image.
    """
    graph = tf.Graph()
    with graph.as_default():
        image = tf1.placeholder(tf.float32, (1,) + images[0].shape)
        total, terms = build_loss(image, weights, config, content_t, style_t)
        terms = dict(terms, total=total)
        with new_session(graph) as session:
            return [{k: float(v) for k, v in session.run(terms, {image: x[None]}).items()}
                    for x in images]


class WholeEvaluator:
    """The picture in one piece: an explicit TF1 graph whose one trainable variable is
    the picture, with the content and style targets frozen in it as numpy constants
    (`build_loss`). Each evaluation feeds the optimiser's iterate to that variable
    and returns the loss and its gradient (`terms.gradients`) from a single session.run.

    It has the interface of `art.engine.tiled.TiledEvaluator`, which computes the same loss
    and gradient tile by tile.
    """

    def __init__(self, weights, config, shape, content_t, style_t):
        self.shape = (int(shape[0]), int(shape[1]))
        self.image_shape = self.shape + (3,)
        self.graph = tf.Graph()
        with self.graph.as_default():
            # A reference variable: it honours a feed (a resource variable would
            # silently read its stored value instead), so the optimiser's iterate
            # goes in with the run that evaluates it. Initialised from a placeholder,
            # so that the picture is not copied into the graph as a constant.
            initial = tf1.placeholder(tf.float32, (1,) + self.image_shape, name="initial")
            self.image = tf1.Variable(initial, name="image", use_resource=False)
            total, breakdown = build_loss(self.image, weights, config, content_t, style_t)
            self.fetches = (total, terms.gradients(total, self.image)[0], breakdown)
        self.graph.finalize()
        self.session = new_session(self.graph)
        self.session.run(self.image.initializer,
                         {initial: np.zeros((1,) + self.image_shape, np.float32)})

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def evaluate(self, image):
        """(total loss, H x W x 3 float32 gradient, terms) at the H x W x 3 `image`."""
        image = np.asarray(image, np.float32).reshape(self.image_shape)
        total, grad, terms = self.session.run(self.fetches, {self.image: image[None]})
        return float(total), grad[0], {k: float(v) for k, v in terms.items()}


def initial_image(config, content, rng):
    if config.init == "content":
        return content.copy()
    if config.init == "noise":
        # White noise, as in Gatys et al.; uniform over the pixel range.
        return rng.uniform(*PIXEL_BOUNDS, size=content.shape).astype(np.float32)
    raise ArtError("--init %r: expected content, noise or an image path" % config.init)
