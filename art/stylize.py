"""Painting one picture: frozen targets, one loss graph, one optimiser run.

The library computes and never prints: progress goes out as a `Progress`
record to a callback, and the caller owns the terminal and the files.
"""

import dataclasses
import time

import numpy as np
import tensorflow as tf

from art import layers, losses, optim, precision, vgg
from art.errors import ArtError

tf1 = tf.compat.v1

PIXEL_BOUNDS = (0.0, 255.0)


@dataclasses.dataclass
class Progress:
    """One finished iteration, as handed to the callback."""
    iteration: int
    iterations: int
    evaluations: int
    losses: dict          # 'total', 'content', 'style', 'tv', and 'style/conv1_1', ...
    elapsed: float        # seconds since the optimiser started
    image: callable       # () -> HxWx3 float32 RGB 0-255 of this iterate; computed on demand

    @property
    def seconds_per_iteration(self):
        return self.elapsed / max(self.iteration, 1)

    @property
    def seconds_left(self):
        return self.seconds_per_iteration * (self.iterations - self.iteration)


@dataclasses.dataclass
class Result:
    image: np.ndarray     # HxWx3 float32 RGB 0-255
    status: str           # 'done', 'interrupted' (Ctrl-C) or 'nonfinite' (last good image kept)
    message: str
    iterations: int
    evaluations: int
    elapsed: float
    history: list         # per iteration: the losses dict of `Progress`


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


def _features(weights, image, names, config, grams):
    """Run the network once on `image` and return numpy features (or Grams) for `names`.

    In the precision the picture is painted in, so that the targets are what the
    painting's own features can match."""
    if not names:
        return {}
    graph = tf.Graph()
    with graph.as_default():
        rgb = tf1.placeholder(tf.float32, (1,) + image.shape)
        net = vgg.build(rgb, weights, config.pooling, last=layers.deepest(names),
                        precision=precision.of(config))
        wanted = {name: losses.gram(net[name]) if grams else net[name] for name in names}
        with new_session(graph) as session:
            return session.run(wanted, {rgb: image[None]})


def content_targets(weights, content, config):
    """The content image's features at the content layers, frozen as numpy arrays."""
    return _features(weights, content, list(config.content_layers), config, grams=False)


def blend(grams, weights=None):
    """sum_i w_i * grams_i per layer, the weights normalised to sum 1 (default equal).

    Gram matrices are normalised by the number of positions, so style images
    of any size blend on an equal footing.
    """
    if weights is None:
        weights = [1.0] * len(grams)
    if len(weights) != len(grams):
        raise ArtError("--style-blend has %d weights for %d style images; give one per style"
                       % (len(weights), len(grams)))
    weights = np.asarray(weights, np.float64)
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ArtError("--style-blend weights must be >= 0 and not all zero, got %s"
                       % " ".join("%g" % b for b in weights))
    weights = weights / weights.sum()
    names = list(grams[0]) if grams else []
    return {name: sum(w * np.asarray(g[name], np.float64) for g, w in zip(grams, weights))
            .astype(np.float32) for name in names}


def style_targets(weights, styles, style_blend, config):
    """Blended Gram targets at the style layers (see `blend`)."""
    if not config.style_layers:
        return {}
    names = list(config.style_layers)
    return blend([_features(weights, style, names, config, grams=True) for style in styles],
                 style_blend)


def build_loss(image, weights, config, content_t, style_t):
    """The total loss and its breakdown for `image`, with targets frozen as constants.

    Returns:
      (total tensor, dict of named scalar tensors: content, style, tv and per layer).
    """
    names = list(config.content_layers) + list(config.style_layers)
    net = vgg.build(image, weights, config.pooling, last=layers.deepest(names),
                    precision=precision.of(config))
    content, content_by = losses.content_loss(net, content_t, config.content_layers,
                                              config.content_weight)
    style, style_by = losses.style_loss(net, style_t, config.style_layers, config.style_weight)
    tv, _ = losses.tv_loss(image, config.tv_weight)
    terms = {"content": content, "style": style, "tv": tv}
    terms.update({"content/" + k: v for k, v in content_by.items()})
    terms.update({"style/" + k: v for k, v in style_by.items()})
    total = tf.add_n([content, style, tv], name="total_loss")
    return total, terms


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
    """The loss of `build_loss` and its gradient for a whole picture, one session.run
    each, as numpy: the same interface as `art.tiled.TiledEvaluator`."""

    def __init__(self, weights, config, shape, content_t, style_t):
        self.shape = (int(shape[0]), int(shape[1]))
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.image = tf1.placeholder(tf.float32, (1,) + self.shape + (3,))
            total, terms = build_loss(self.image, weights, config, content_t, style_t)
            self.fetches = (total, tf.gradients(total, self.image)[0], terms)
        self.graph.finalize()
        self.session = new_session(self.graph)

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def evaluate(self, image):
        """(total loss, H x W x 3 float32 gradient, terms) at the H x W x 3 `image`."""
        image = np.asarray(image, np.float32).reshape(self.shape + (3,))
        total, grad, terms = self.session.run(self.fetches, {self.image: image[None]})
        return float(total), grad[0], {k: float(v) for k, v in terms.items()}


def initial_image(config, content, rng):
    if config.init == "content":
        return content.copy()
    if config.init == "noise":
        # White noise, as in Gatys et al.; uniform over the pixel range.
        return rng.uniform(*PIXEL_BOUNDS, size=content.shape).astype(np.float32)
    raise ArtError("--init %r: expected content, noise or an image path" % config.init)


class _Run:
    """What every painting run shares: the loss history, progress records, the Result."""

    def __init__(self, config, shape, callback):
        self.config, self.shape, self.callback = config, shape, callback
        self.history, self.latest = [], {}
        self.started = time.perf_counter()
        self.optimizer = None

    def losses(self, terms):
        self.latest = dict(terms)

    def step(self, x):
        self.history.append(dict(self.latest))
        if self.callback is not None:
            self.callback(Progress(
                iteration=self.optimizer.iterations, iterations=self.config.iterations,
                evaluations=self.optimizer.evaluations, losses=dict(self.latest),
                elapsed=time.perf_counter() - self.started,
                image=lambda: np.asarray(x, np.float32).reshape(self.shape)))

    def minimize(self, minimize, *args, **kwargs):
        """Call minimize(); Ctrl-C and a non-finite loss become a status, not an exception."""
        try:
            minimize(*args, **kwargs)
        except KeyboardInterrupt:
            return "interrupted", "interrupted at iteration %d" % self.optimizer.iterations
        except optim.NonFiniteLoss as e:
            return "nonfinite", "%s; kept the image of iteration %d" % (e, self.optimizer.iterations)
        return "done", ""

    def result(self, image, status, message):
        return Result(image=image, status=status, message=message,
                      iterations=self.optimizer.iterations, evaluations=self.optimizer.evaluations,
                      elapsed=time.perf_counter() - self.started, history=self.history)


def paint(weights, content, styles, config, callback=None, init=None):
    """Paint `content` in the style of `styles`.

    Args:
      weights: `art.weights.VGGWeights`.
      content: HxWx3 float32 RGB 0-255, already at the output size.
      styles: list of HxWx3 float32 RGB 0-255 style images, already scaled.
      config: `art.config.PaintConfig`, without tiles (see `art.render`).
      callback: called with a `Progress` after every iteration.
      init: optional starting image (HxWx3); otherwise from `config.init`.

    Returns:
      `Result`. Ctrl-C and a non-finite loss end the run early with the last
      good image, not with an exception.
    """
    if config.check(content.shape[:2]):
        raise ArtError("stylize.paint paints in one piece; tiled pictures go through art.render")
    content_t = content_targets(weights, content, config)
    style_t = style_targets(weights, styles, config.style_blend, config)
    rng = np.random.default_rng(config.seed)
    start = initial_image(config, content, rng) if init is None else init.astype(np.float32)
    run = _Run(config, content.shape, callback)

    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(config.seed)
        # The one trainable variable. A reference variable, because L-BFGS feeds
        # its value at each evaluation (see art.optim).
        image_var = tf1.Variable(start[None], name="image", use_resource=False)
        total, terms = build_loss(image_var, weights, config, content_t, style_t)
        kwargs = dict(var_list=[image_var], var_to_bounds={image_var: PIXEL_BOUNDS},
                      maxiter=config.iterations)
        if config.optimizer == "lbfgs":
            run.optimizer = optim.ScipyOptimizerInterface(total, stop_below=config.stop_below,
                                                          **kwargs)
        else:
            run.optimizer = optim.AdamInterface(total, learning_rate=config.learning_rate, **kwargs)
        names = ["total"] + sorted(terms)
        fetches = [total] + [terms[k] for k in sorted(terms)]
        with new_session(graph) as session:
            session.run(image_var.initializer)
            status, message = run.minimize(
                run.optimizer.minimize, session, fetches=fetches, step_callback=run.step,
                loss_callback=lambda *values: run.losses(
                    {k: float(v) for k, v in zip(names, values)}))
            image = session.run(image_var)[0]
    return run.result(image, status, message)
