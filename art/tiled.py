"""Exact tiled evaluation of the painting loss and its gradient.

The loss of `art.stylize.build_loss` is a sum of terms that are either sums
over positions (content, TV) or functions of Gram matrices, which are sums
over positions too. One evaluation is therefore a map over tiles and a reduce
(`art.tiling` has the geometry; a tile's inner positions at every layer are
the whole picture's, exactly):

  pass 1 (map, forward only)  each tile: S_t = F_in^T F_in at every style layer,
                              F_in its inner positions' features (M_t x C).
  reduce (numpy, float64)     G = sum_t S_t / M, M the whole layer's positions;
                              E = sum (G - A)^2 / (4 C^2);
                              D = dL/dG = beta w (G - A) / (2 C^2);
                              K = (D + D^T) / M, so that dL/dF_in = F_in K.
  pass 2 (map, fwd + bwd)     each tile: back-propagate to its pixels the surrogate
                              sum(stop_gradient(F_in K) * F_in) at every style layer
                              plus sum(stop_gradient(c (F_in - P_in)) * F_in),
                              c = 2 alpha w / (M C), at every content layer.
  reduce                      add each tile's pixel gradient, over its OUTER box,
                              into the picture's gradient.

Why the outer box, not the inner one: a pixel near a seam feeds positions that
the neighbouring tile owns. Each tile back-propagates only the positions it
owns, and its gradient over its whole outer box is exactly those positions'
share (their receptive fields lie inside the outer box); summing the shares of
all tiles gives every position once. Keeping only inner pixels would instead
need the gradient of every position whose field reaches the inner box, i.e.
twice the margin.

The TV term is a sum over neighbouring pairs of pixels; it is computed in
numpy over the picture, a band of rows at a time.

Memory: one tile's activations (and their gradients) at a time, plus numpy
arrays the size of the picture (image, gradient) and of the layers' features
where content targets are kept.
"""

import numpy as np
import tensorflow as tf

from art import layers, precision, tiling, vgg
from art.stylize import new_session
from art.errors import ArtError

tf1 = tf.compat.v1

# Rows of the picture the TV term handles at once (bounds its float64 temporaries).
TV_ROWS = 256


def _slice(features, box):
    return features[:, box[0]:box[1], box[2]:box[3], :]


def layer_names(config):
    """The layers a tile evaluation reads, content layers first, each once."""
    return list(config.content_layers) + [n for n in config.style_layers
                                          if n not in config.content_layers]


class TileRunner:
    """The per-tile work, as plain functions of numpy arrays an executor can call.

    One graph serves every tile: its input has a free height and width, and the
    inner boxes come in as fed integers, so no graph is built per tile or per
    evaluation (nor one per outer shape, which would copy VGG's weights into
    each graph).

    Args:
      weights: `art.weights.VGGWeights`.
      config: `art.config.PaintConfig` (layers, their weights, pooling).
      threads: TensorFlow's CPU threads (default: all cores).
    """

    def __init__(self, weights, config, threads=None):
        self.content_layers = dict(config.content_layers)
        self.style_layers = dict(config.style_layers)
        self.names = layer_names(config)
        if not self.names:
            raise ArtError("no content or style layers to paint with")
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.crop = tf1.placeholder(tf.float32, (1, None, None, 3), name="crop")
            net = vgg.build(self.crop, weights, config.pooling, last=layers.deepest(self.names),
                            precision=precision.of(config))
            # One fed box per resolution: the tile's inner box there, in its own positions.
            self.boxes = {}
            inner = {}
            for name in self.names:
                p = tiling.depth(name)
                if p not in self.boxes:
                    self.boxes[p] = tf1.placeholder(tf.int32, (4,), name="inner_box%d" % p)
                inner[name] = _slice(net[name], self.boxes[p])
            self.channels = {name: int(net[name].shape[-1]) for name in self.names}
            self.inner = {name: inner[name] for name in self.content_layers}

            self.partials, self.gram_grads, surrogate = {}, {}, []
            for name in self.style_layers:
                flat = tf.reshape(inner[name], [-1, self.channels[name]])
                self.partials[name] = tf.matmul(flat, flat, transpose_a=True)
                k = tf1.placeholder(tf.float32, (self.channels[name],) * 2, name="K_" + name)
                self.gram_grads[name] = k
                surrogate.append(tf.reduce_sum(tf.stop_gradient(tf.matmul(flat, k)) * flat))
            self.targets, self.scales, self.sums = {}, {}, {}
            for name in self.content_layers:
                target = tf1.placeholder(tf.float32, (1, None, None, self.channels[name]),
                                         name="P_" + name)
                scale = tf1.placeholder(tf.float32, (), name="c_" + name)
                diff = inner[name] - target
                self.targets[name], self.scales[name] = target, scale
                self.sums[name] = tf.reduce_sum(tf.square(diff))
                surrogate.append(tf.reduce_sum(tf.stop_gradient(scale * diff) * inner[name]))
            self.grad = tf.gradients(tf.add_n(surrogate), self.crop)[0]
        # Evaluations only feed and run; an op added later would be a per-call rebuild.
        self.graph.finalize()
        self.session = new_session(self.graph, threads)

    def close(self):
        self.session.close()

    def _box_feed(self, tile):
        feed = {}
        for p, placeholder in self.boxes.items():
            y0, y1, x0, x1 = tile.boxes[p]
            oy, ox = tile.outer[0] >> p, tile.outer[2] >> p
            feed[placeholder] = (y0 - oy, y1 - oy, x0 - ox, x1 - ox)
        return feed

    def gram_partials(self, tile, crop):
        """Pass 1 of one tile.

        Args:
          tile: `art.tiling.Tile`.
          crop: the picture's outer box of `tile`, H x W x 3 RGB 0-255.

        Returns:
          style layer -> F_in^T F_in (C x C float32, not normalised; the reduce sums
          the tiles' in float64).
        """
        if not self.partials:
            return {}
        feed = self._box_feed(tile)
        feed[self.crop] = crop[None]
        return self.session.run(self.partials, feed)

    def features(self, tile, crop):
        """The content layers' features of the tile's inner positions, [1, h, w, C] float32."""
        if not self.inner:
            return {}
        feed = self._box_feed(tile)
        feed[self.crop] = crop[None]
        return self.session.run(self.inner, feed)

    def backward(self, tile, crop, gram_grads, content_crops, content_scales):
        """Pass 2 of one tile.

        Args:
          tile, crop: as in `gram_partials`.
          gram_grads: style layer -> K (C x C), from `reduce_style`.
          content_crops: content layer -> the content target at `tile.at(layer)`,
            [1, h, w, C].
          content_scales: content layer -> c, from `content_scales`.

        Returns:
          (gradient over the outer box, H x W x 3 float32 -- to be ADDED into the
          picture's gradient; content layer -> sum over the inner positions of
          (F - P)^2).
        """
        feed = self._box_feed(tile)
        feed[self.crop] = crop[None]
        for name, k in gram_grads.items():
            feed[self.gram_grads[name]] = k
        for name in self.content_layers:
            feed[self.targets[name]] = content_crops[name]
            feed[self.scales[name]] = content_scales[name]
        grad, sums = self.session.run([self.grad, self.sums], feed)
        return grad[0], {k: float(v) for k, v in sums.items()}


class LocalTiles:
    """The maps of a tiled evaluation, run in this process one tile after another.

    `art.cluster.ClusterTiles` has the same methods and runs each map on a Dask
    cluster's workers. Per-tile inputs go through `share` first: here they are
    kept as they are; there they are sent to the workers once and referred to.

    Args:
      runner: the `TileRunner` to use (closed with this object).
    """

    def __init__(self, runner):
        self.runner = runner

    def close(self):
        self.runner.close()

    def share(self, items):
        """Per-tile inputs (one per tile) that several maps will read."""
        return items

    def release(self, shared):
        """Done with what `share` returned."""

    def partials(self, tiles, crops):
        """Pass 1 of every tile: `TileRunner.gram_partials`."""
        return [self.runner.gram_partials(tile, crop) for tile, crop in zip(tiles, crops)]

    def features(self, tiles, crops):
        """`TileRunner.features` of every tile."""
        return [self.runner.features(tile, crop) for tile, crop in zip(tiles, crops)]

    def backward(self, tiles, crops, gram_grads, content_crops, scales):
        """Pass 2 of every tile: `TileRunner.backward`."""
        return [self.runner.backward(tile, crop, gram_grads, content, scales)
                for tile, crop, content in zip(tiles, crops, content_crops)]


def content_targets(tile_map, image, tiles):
    """The content layers' features of a whole picture, assembled from its tiles' inner
    boxes: what `art.stylize.content_targets` gives, in memory bounded by a tile.
    `tile_map` is a `LocalTiles` or `art.cluster.ClusterTiles`."""
    shape = image.shape[:2]
    crops = tile_map.share([tiling.crop(image, tile.outer) for tile in tiles])
    try:
        found = tile_map.features(tiles, crops)
    finally:
        tile_map.release(crops)
    targets = {}
    for tile, features in zip(tiles, found):
        for name, part in features.items():
            if name not in targets:
                targets[name] = np.zeros((1, shape[0] >> tiling.depth(name),
                                          shape[1] >> tiling.depth(name), part.shape[-1]),
                                         np.float32)
            y0, y1, x0, x1 = tile.at(name)
            targets[name][:, y0:y1, x0:x1] = part
    return targets


def grams(tile_map, image, tiles):
    """The style layers' Gram matrices F^T F / M of a whole picture (`art.losses.gram`),
    summed over its tiles."""
    crops = tile_map.share([tiling.crop(image, tile.outer) for tile in tiles])
    try:
        partials = tile_map.partials(tiles, crops)
    finally:
        tile_map.release(crops)
    return {name: (sum(part[name].astype(np.float64) for part in partials)
                   / positions(image.shape[:2], name)).astype(np.float32)
            for name in partials[0]}


def positions(shape, name):
    """How many positions the layer `name` has on a picture of `shape`: VALID
    pooling rounds each side down at every pooling."""
    p = tiling.depth(name)
    return (shape[0] >> p) * (shape[1] >> p)


def reduce_style(partials, targets, layer_weights, weight, shape):
    """The style term from the tiles' Gram partial sums, and what pass 2 needs.

    Args:
      partials: list over tiles of `TileRunner.gram_partials` dicts.
      targets: style layer -> A (C x C), the frozen Gram targets.
      layer_weights, weight: the config's style layers and style weight (beta).
      shape: the picture's (height, width).

    Returns:
      (style layer -> beta w E, the term of `art.losses.style_loss`;
       style layer -> K = (D + D^T) / M with D = dL/dG = beta w (G - A) / (2 C^2),
       so that dL/dF = F K for the features F of any positions).
    """
    breakdown, grads = {}, {}
    for name, w in layer_weights.items():
        m = positions(shape, name)
        g = sum(part[name].astype(np.float64) for part in partials) / m
        a = np.asarray(targets[name], np.float64)
        c = g.shape[0]
        breakdown[name] = weight * w * np.sum((g - a) ** 2) / (4.0 * c * c)
        d = weight * w * (g - a) / (2.0 * c * c)
        # TF differentiates F^T F as F (D + D^T); a blended target is symmetric only
        # up to rounding, so do the same rather than assume D = D^T.
        grads[name] = ((d + d.T) / m).astype(np.float32)
    return breakdown, grads


def content_scales(layer_weights, weight, shape, channels):
    """c = 2 alpha w / (M C): dL/dF = c (F - P) for the mean-square content term."""
    return {name: 2.0 * weight * w / (positions(shape, name) * channels[name])
            for name, w in layer_weights.items()}


def reduce_content(sums, layer_weights, weight, shape, channels):
    """The content term from the tiles' sums of squares: alpha w sum / (M C) per layer."""
    return {name: weight * w * sum(s[name] for s in sums)
            / (positions(shape, name) * channels[name])
            for name, w in layer_weights.items()}


def tv(image, weight):
    """The TV term of `art.losses.tv_loss` and its gradient, in numpy.

    A band of rows at a time, each band with the row below it, so that every
    vertical pair is counted once and no float64 copy of the picture is made.

    Returns:
      (loss, H x W x 3 float32 gradient).
    """
    h = image.shape[0]
    scale = weight / image.size
    total = 0.0
    grad = np.zeros(image.shape, np.float32)
    for r0 in range(0, h, TV_ROWS):
        r1 = min(h, r0 + TV_ROWS)
        band = image[r0:min(h, r1 + 1)].astype(np.float64)
        dy = np.diff(band, axis=0)
        dx = np.diff(band[:r1 - r0], axis=1)
        total += np.sum(dy ** 2) + np.sum(dx ** 2)
        g = np.zeros_like(band)
        g[1:] += dy
        g[:-1] -= dy
        g[:r1 - r0, 1:] += dx
        g[:r1 - r0, :-1] -= dx
        grad[r0:r0 + len(band)] += (2.0 * scale * g).astype(np.float32)
    return scale * total, grad


class TiledEvaluator:
    """The painting loss of `art.stylize.build_loss` and its gradient, tile by tile.

    Args:
      weights: `art.weights.VGGWeights`.
      config: `art.config.PaintConfig`.
      shape: the picture's (height, width[, 3]).
      content_t: content layer -> the whole picture's content features [1, H_l, W_l, C]
        (`art.stylize.content_targets`).
      style_t: style layer -> Gram target (`art.stylize.style_targets`).
      tiles: from `art.tiling.tiles_for`, for the config's layers.
      check: refuse tiles that cannot be exact (`art.tiling.check`). Only tests
        that show a short margin breaking exactness turn it off.
      tile_map: what runs the maps over tiles, to share: a `LocalTiles` or an
        `art.cluster.ClusterTiles`. Default: a new `LocalTiles`, closed with the
        evaluator.
    """

    def __init__(self, weights, config, shape, content_t, style_t, tiles, check=True,
                 tile_map=None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.image_shape = self.shape + (3,)
        self.config = config
        names = list(config.content_layers) + list(config.style_layers)
        if check:
            tiling.check(tiles, self.shape, names)
        self.tiles = list(tiles)
        self.style_t = style_t
        self.own_map = tile_map is None
        self.tile_map = LocalTiles(TileRunner(weights, config)) if tile_map is None else tile_map
        channels = {name: layers.channels(name) for name in config.content_layers}
        self.scales = content_scales(config.content_layers, config.content_weight, self.shape,
                                     channels)
        self.channels = channels
        # Each tile's slice of the content targets, cut (and shared) once.
        self.content_crops = self.tile_map.share([
            {name: np.ascontiguousarray(tiling.crop(content_t[name][0], tile.at(name))[None])
             for name in config.content_layers}
            for tile in self.tiles])

    def close(self):
        self.tile_map.release(self.content_crops)
        if self.own_map:
            self.tile_map.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def evaluate(self, image):
        """Loss and gradient at `image`.

        Args:
          image: H x W x 3 (or 1 x H x W x 3) RGB 0-255.

        Returns:
          (total loss float, gradient float32 of the image's shape, terms: the keys of
          `build_loss`'s breakdown -- content, style, tv, content/<layer>, style/<layer>).
        """
        image = np.asarray(image, np.float32)
        batched = image.ndim == 4
        pixels = image[0] if batched else image
        if pixels.shape[:2] != self.shape:
            raise ArtError("image of %dx%d px given to a tiled evaluator for %dx%d"
                           % (pixels.shape[1], pixels.shape[0], self.shape[1], self.shape[0]))
        config = self.config
        crops = self.tile_map.share([tiling.crop(pixels, tile.outer) for tile in self.tiles])
        try:
            partials = self.tile_map.partials(self.tiles, crops)
            style_by, gram_grads = reduce_style(partials, self.style_t, config.style_layers,
                                                config.style_weight, self.shape)
            backward = self.tile_map.backward(self.tiles, crops, gram_grads, self.content_crops,
                                              self.scales)
        finally:
            self.tile_map.release(crops)

        grad = np.zeros(pixels.shape, np.float32)
        for tile, (tile_grad, _) in zip(self.tiles, backward):
            y0, y1, x0, x1 = tile.outer
            grad[y0:y1, x0:x1] += tile_grad
        content_by = reduce_content([sums for _, sums in backward], config.content_layers,
                                    config.content_weight, self.shape, self.channels)
        tv_loss, tv_grad = tv(pixels, config.tv_weight)
        grad += tv_grad

        terms = {"content": sum(content_by.values()), "style": sum(style_by.values()),
                 "tv": tv_loss}
        terms.update({"content/" + k: v for k, v in content_by.items()})
        terms.update({"style/" + k: v for k, v in style_by.items()})
        terms = {k: float(v) for k, v in terms.items()}
        total = terms["content"] + terms["style"] + terms["tv"]
        return total, (grad[None] if batched else grad), terms
