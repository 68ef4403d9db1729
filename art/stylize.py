"""Painting one picture: frozen targets, one loss graph, one optimiser run.

The library computes and never prints: progress goes out as a `Progress`
record to a callback, and the caller owns the terminal and the files.
"""

import dataclasses
import time

import numpy as np
import tensorflow as tf

from art import layers, losses, optim, vgg
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


def new_session(graph):
    config = tf1.ConfigProto()
    # Users with a GPU share it with other programs; take memory as needed.
    config.gpu_options.allow_growth = True
    return tf1.Session(graph=graph, config=config)


def _features(weights, image, names, pooling, grams):
    """Run the network once on `image` and return numpy features (or Grams) for `names`."""
    if not names:
        return {}
    graph = tf.Graph()
    with graph.as_default():
        rgb = tf1.placeholder(tf.float32, (1,) + image.shape)
        net = vgg.build(rgb, weights, pooling, last=layers.deepest(names))
        wanted = {name: losses.gram(net[name]) if grams else net[name] for name in names}
        with new_session(graph) as session:
            return session.run(wanted, {rgb: image[None]})


def content_targets(weights, content, config):
    """The content image's features at the content layers, frozen as numpy arrays."""
    return _features(weights, content, list(config.content_layers), config.pooling, grams=False)


def style_targets(weights, styles, blend, config):
    """Blended Gram targets: sum_i blend_i * Gram_i at each style layer.

    Gram matrices are normalised by the number of positions, so style images
    of any size blend on an equal footing.
    """
    if not config.style_layers:
        return {}
    if blend is None:
        blend = [1.0] * len(styles)
    if len(blend) != len(styles):
        raise ArtError("--style-blend has %d weights for %d style images; give one per style"
                       % (len(blend), len(styles)))
    blend = np.asarray(blend, np.float64)
    if np.any(blend < 0) or blend.sum() <= 0:
        raise ArtError("--style-blend weights must be >= 0 and not all zero, got %s"
                       % " ".join("%g" % b for b in blend))
    blend = blend / blend.sum()
    names = list(config.style_layers)
    targets = {name: 0.0 for name in names}
    for style, w in zip(styles, blend):
        for name, g in _features(weights, style, names, config.pooling, grams=True).items():
            targets[name] = targets[name] + w * g
    return {name: t.astype(np.float32) for name, t in targets.items()}


def build_loss(image, weights, config, content_t, style_t):
    """The total loss and its breakdown for `image`, with targets frozen as constants.

    Returns:
      (total tensor, dict of named scalar tensors: content, style, tv and per layer).
    """
    names = list(config.content_layers) + list(config.style_layers)
    net = vgg.build(image, weights, config.pooling, last=layers.deepest(names))
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
      config: `art.config.PaintConfig`. With `tiles` or `tile_size` set, every
        evaluation runs tile by tile (`art.tiled`): the same loss and gradient,
        in memory bounded by a tile.
      callback: called with a `Progress` after every iteration.
      init: optional starting image (HxWx3); otherwise from `config.init`.

    Returns:
      `Result`. Ctrl-C and a non-finite loss end the run early with the last
      good image, not with an exception.
    """
    tiles = config.check(content.shape[:2])
    content_t = content_targets(weights, content, config)
    style_t = style_targets(weights, styles, config.style_blend, config)
    rng = np.random.default_rng(config.seed)
    start = initial_image(config, content, rng) if init is None else init.astype(np.float32)
    run = _Run(config, content.shape, callback)
    if tiles:
        return _paint_tiled(weights, config, content_t, style_t, start, tiles, run)

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
            run.optimizer = optim.ScipyOptimizerInterface(total, **kwargs)
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


def _paint_tiled(weights, config, content_t, style_t, start, tiles, run):
    from art import tiled
    run.optimizer = optim.LBFGS(config.iterations, bounds=PIXEL_BOUNDS)

    def fun(x):
        loss, grad, terms = evaluator.evaluate(x.reshape(start.shape).astype(np.float32))
        if np.isfinite(loss):
            run.losses(dict(terms, total=loss))
        return loss, grad.ravel()

    with tiled.TiledEvaluator(weights, config, start.shape, content_t, style_t, tiles) as evaluator:
        status, message = run.minimize(run.optimizer.run, fun, start.ravel(), run.step)
    image = run.optimizer.x.reshape(start.shape).astype(np.float32)
    return run.result(image, status, message)
