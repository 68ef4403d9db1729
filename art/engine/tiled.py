"""Exact tiled evaluation of the painting loss and its gradient.

Every term of `art.engine.terms` is a function of sums over positions, so one
evaluation is two maps over tiles with a small reduce between them (`art.plan.tiling`
has the geometry; a tile's inner positions at every layer are the whole
picture's, exactly):

  pass 1 (map, forward only)  each tile: every term's statistics over the
                              positions (and pixels) it owns: F_in^T F_in at a
                              style layer, sum (F_in - P_in)^2 at a content layer, ...
  reduce (float64)            the totals over the tiles; each term's loss from them
                              and its derivative with respect to each total, the
                              cotangents (one small graph, `Reducer`).
  pass 2 (map, fwd + bwd)     each tile: back-propagate the cotangents through its
                              own statistics to its pixels
                              (terms.gradients(stats, crop, grad_ys=cotangents)).
  reduce                      add each tile's pixel gradient, over its OUTER box,
                              into the picture's gradient.

Why the outer box, not the inner one: a pixel near a seam feeds positions that
the neighbouring tile owns. Each tile back-propagates only the positions it
owns, and its gradient over its whole outer box is exactly those positions'
share (their receptive fields lie inside the outer box); summing the shares of
all tiles gives every position once. Keeping only inner pixels would instead
need the gradient of every position whose field reaches the inner box, i.e.
twice the margin.

Memory: one tile's activations (and their gradients) at a time, plus numpy
arrays the size of the picture (image, gradient) and of the layers' features
where content targets are kept. Each tile's crop is cut, and its gradient added
in, one tile at a time.
"""

import numpy as np
import tensorflow as tf

from art.engine import terms, vgg
from art.engine.untiled import new_session
from art.errors import ArtError
from art.plan import layers, tiling

tf1 = tf.compat.v1

def _slice(features, box):
    return features[:, box[0]:box[1], box[2]:box[3], :]


class TileRunner:
    """The per-tile work, as plain functions of numpy arrays an executor can call.

    One graph serves every tile: its input has a free height and width, and the
    inner boxes come in as fed integers, so no graph is built per tile or per
    evaluation (nor one per outer shape, which would copy VGG's weights into
    each graph). The statistics do not depend on the terms' weights, which only
    the reduce reads.

    Args:
      weights: `art.files.weights.VGGWeights`.
      spec: `art.engine.terms.GraphSpec`: the terms and their layers, pooling, padding,
        precision.
      threads: TensorFlow's CPU threads (default: all cores).
    """

    def __init__(self, weights, spec, threads=None):
        used = spec.placeholder_terms()
        self.weights, self.threads, self.spec = weights, threads, spec
        self.content_layers = [n for term in used if term.name == "content" for n in term.layers]
        self.names = terms.layers_read(used)
        if not self.names:
            raise ArtError("no content or style layers to paint with")
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.crop = tf1.placeholder(tf.float32, (1, None, None, 3), name="crop")
            net = vgg.build(self.crop, weights, spec.pooling, last=layers.deepest(self.names),
                            precision=spec.precision, padding=spec.padding)
            # One fed box per depth: the tile's inner box there, in its own positions;
            # depth 0 is its pixels, for the terms on pixels.
            self.boxes = {0: tf1.placeholder(tf.int32, (4,), name="inner_box0")}
            inner = {}
            for name in self.names:
                d = layers.depth(name)
                if d not in self.boxes:
                    self.boxes[d] = tf1.placeholder(tf.int32, (4,), name="inner_box%d" % d)
                inner[name] = _slice(net[name], self.boxes[d])
            self.inner = {name: inner[name] for name in self.content_layers}
            self.inputs = {key: tf1.placeholder(tf.float32, (1, None, None, channels),
                                                name="P_" + key)
                           for key, (_, channels) in terms.inputs_of(used).items()}
            view = terms.View(inner, self.inputs, self.crop, self.boxes[0])
            self.stats = {k: v for term in used for k, v in term.stats(view).items()}
            self.keys = sorted(self.stats)
            self.cotangents = {k: tf1.placeholder(tf.float32, self.stats[k].shape,
                                                  name="cotangent_" + k.replace("/", "_"))
                               for k in self.keys}
            self.grad = terms.gradients([self.stats[k] for k in self.keys], self.crop,
                                        grad_ys=[self.cotangents[k] for k in self.keys])[0]
        # Evaluations only feed and run; an op added later would be a per-call rebuild.
        self.graph.finalize()
        self.session = new_session(self.graph, threads)

    def close(self):
        self.session.close()

    def _feed(self, tile, crop, inputs=None):
        feed = {self.crop: crop[None]}
        for d, placeholder in self.boxes.items():
            y0, y1, x0, x1 = tile.boxes[d]
            oy, ox = tile.outer[0] >> d, tile.outer[2] >> d
            feed[placeholder] = (y0 - oy, y1 - oy, x0 - ox, x1 - ox)
        for name, value in (inputs or {}).items():
            feed[self.inputs[name]] = value
        return feed

    def statistics(self, tile, crop, inputs, names=None):
        """Pass 1 of one tile: the terms' statistics over the positions it owns.

        Args:
          tile: `art.plan.tiling.Tile`.
          crop: the picture's outer box of `tile`, H x W x 3 RGB 0-255.
          inputs: content layer -> the content target at `tile.at(layer)`, [1, h, w, C]
            (needed only for the content statistics).
          names: the terms whose statistics are wanted (default: every term's).

        Returns:
          key -> float32 array (the reduce sums the tiles' in float64).
        """
        wanted = {k: self.stats[k] for k in self.keys
                  if names is None or k.split("/")[0] in names}
        return self.session.run(wanted, self._feed(tile, crop, inputs)) if wanted else {}

    def features(self, tile, crop):
        """The content layers' features of the tile's inner positions, [1, h, w, C] float32."""
        if not self.inner:
            return {}
        return self.session.run(self.inner, self._feed(tile, crop))

    def backward(self, tile, crop, inputs, cotangents):
        """Pass 2 of one tile: the gradient over its outer box (H x W x 3 float32, to be
        ADDED into the picture's), from every statistic's cotangent (`Reducer`)."""
        feed = self._feed(tile, crop, inputs)
        for k in self.keys:
            feed[self.cotangents[k]] = cotangents[k]
        return self.session.run(self.grad, feed)[0]


class LocalTiles:
    """The maps of a tiled evaluation, run in this process one tile after another.

    `art.engine.cluster.ClusterTiles` has the same methods and runs each map on a Dask
    cluster's workers. Per-tile inputs go through `share` first: here they are
    kept as they are; there they are sent to the workers once and referred to.

    Args:
      runner: the `TileRunner` to use (closed with this object).
    """

    def __init__(self, runner):
        self.runner = runner
        self.runners = {runner.spec: runner}

    def close(self):
        for runner in self.runners.values():
            runner.close()

    def use(self, spec):
        """The maps from now on compute the terms of `spec` (`terms.GraphSpec`: a
        level of a render may read fewer layers than the one before); each tile graph
        is built once."""
        if spec not in self.runners:
            self.runners[spec] = TileRunner(self.runner.weights, spec, self.runner.threads)
        self.runner = self.runners[spec]

    def share(self, items):
        """Per-tile inputs (one per tile) that several maps will read."""
        return items

    def release(self, shared):
        """Done with what `share` returned."""

    def statistics(self, tiles, crops, inputs, names=None):
        """Pass 1 of every tile: `TileRunner.statistics`."""
        return [self.runner.statistics(tile, crop, given, names)
                for tile, crop, given in zip(tiles, crops, inputs)]

    def features(self, tiles, crops):
        """`TileRunner.features` of every tile."""
        return [self.runner.features(tile, crop) for tile, crop in zip(tiles, crops)]

    def backward_into(self, tiles, crops, inputs, cotangents, add):
        """Pass 2 of every tile, each gradient handed to add(j, gradient) before the next
        is made: a print's tile gradients together are a picture's worth."""
        for j, (tile, crop, given) in enumerate(zip(tiles, crops, inputs)):
            add(j, self.runner.backward(tile, crop, given, cotangents))


class Crops:
    """The outer boxes of `tiles` in `pixels`, each cut when it is read: a print's crops
    together are a picture and a fifth, and the tile maps need one at a time."""

    def __init__(self, pixels, tiles):
        self.pixels, self.tiles = pixels, list(tiles)

    def __len__(self):
        return len(self.tiles)

    def __getitem__(self, j):
        return tiling.crop(self.pixels, self.tiles[j].outer)

    def __iter__(self):
        return (self[j] for j in range(len(self)))


def totals(found):
    """The tiles' statistics summed, key by key, in float64."""
    return {k: sum(np.asarray(part[k], np.float64) for part in found) for k in found[0]}


def content_targets(tile_map, image, tiles, config):
    """The content layers' features of a whole picture, assembled from its tiles' inner
    boxes: what `art.engine.untiled.content_targets` gives, in memory bounded by a tile.
    `tile_map` is a `LocalTiles` or `art.engine.cluster.ClusterTiles`."""
    shape = image.shape[:2]
    tile_map.use(terms.GraphSpec.of(config))
    crops = tile_map.share(Crops(image, tiles))
    try:
        found = tile_map.features(tiles, crops)
    finally:
        tile_map.release(crops)
    targets = {}
    for tile, features in zip(tiles, found):
        for name, part in features.items():
            if name not in targets:
                targets[name] = np.zeros((1, shape[0] >> layers.depth(name),
                                          shape[1] >> layers.depth(name), part.shape[-1]),
                                         np.float32)
            y0, y1, x0, x1 = tile.at(name)
            targets[name][:, y0:y1, x0:x1] = part
    return targets


def style_targets(tile_map, image, tiles, config):
    """The targets one style image gives (`art.engine.untiled.style_targets` of it alone, not
    blended), from its tiles' statistics."""
    wanted = terms.with_targets(config)
    tile_map.use(terms.GraphSpec.of(config))
    crops = tile_map.share([tiling.crop(image, tile.outer) for tile in tiles])
    inputs = tile_map.share([{} for _ in tiles])
    try:
        found = tile_map.statistics(tiles, crops, inputs, [term.name for term in wanted])
    finally:
        tile_map.release(crops)
        tile_map.release(inputs)
    summed = totals(found)
    return {k: v for term in wanted for k, v in term.target(summed, image.shape[:2]).items()}


class Reducer:
    """The terms' losses and cotangents from the tiles' totals: one small graph, in
    float64, with the targets frozen in it (the same `art.engine.terms` code the whole
    picture's graph runs in float32).

    Args:
      used: the terms (`art.engine.terms.terms_of`).
      targets: the style targets (`art.engine.untiled.style_targets`).
      shape: the picture's (height, width).
      example: key -> an array of each statistic's shape (a tile's pass 1).
    """

    def __init__(self, used, targets, shape, example):
        self.keys = sorted(example)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.totals = {k: tf1.placeholder(tf.float64, np.shape(example[k]),
                                              name="total_" + k.replace("/", "_"))
                           for k in self.keys}
            total, breakdown = terms.combine(used, self.totals, targets, shape, tf.float64)
            grads = terms.gradients(total, [self.totals[k] for k in self.keys])
            # A statistic the loss does not read (none today) has no gradient: zero.
            self.fetches = (total, breakdown, [tf.zeros_like(self.totals[k]) if g is None else g
                                               for k, g in zip(self.keys, grads)])
        self.graph.finalize()
        self.session = new_session(self.graph)

    def close(self):
        self.session.close()

    def __call__(self, totals):
        """(total, breakdown of floats, key -> float32 cotangent)."""
        total, breakdown, grads = self.session.run(
            self.fetches, {self.totals[k]: totals[k] for k in self.keys})
        cotangents = {k: np.asarray(g, np.float32) for k, g in zip(self.keys, grads)}
        return float(total), {k: float(v) for k, v in breakdown.items()}, cotangents


class TiledEvaluator:
    """The painting loss of `art.engine.untiled.build_loss` and its gradient, tile by tile.

    Args:
      weights: `art.files.weights.VGGWeights`.
      config: `art.config.PaintConfig`.
      shape: the picture's (height, width[, 3]).
      content_t: content layer -> the whole picture's content features [1, H_l, W_l, C]
        (`art.engine.untiled.content_targets`).
      style_t: the style targets (`art.engine.untiled.style_targets`).
      tiles: from `art.plan.tiling.tiles_for`, for the config's layers.
      check: refuse tiles that cannot be exact (`art.plan.tiling.check`). Only tests
        that show a short margin breaking exactness turn it off.
      tile_map: what runs the maps over tiles, to share: a `LocalTiles` or an
        `art.engine.cluster.ClusterTiles`. Default: a new `LocalTiles`, closed with the
        evaluator.
    """

    # WholeEvaluator's five parameters (a drop-in for it), the tiles, and two options.
    def __init__(self, weights, config, shape, content_t, style_t, tiles, check=True,
                 tile_map=None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.image_shape = self.shape + (3,)
        self.terms = terms.terms_of(config)
        if check:
            tiling.check(tiles, self.shape, terms.layers_read(self.terms))
        self.tiles = list(tiles)
        self.style_t = style_t
        self.reducer = None
        self.own_map = tile_map is None
        # Named once: a shared tile map is switched back to this graph at each evaluation.
        self.spec = terms.GraphSpec.of(config)
        self.tile_map = LocalTiles(TileRunner(weights, self.spec)) if tile_map is None \
            else tile_map
        # Each tile's slice of the per-position targets, cut (and shared) once.
        self.inputs = self.tile_map.share([
            {key: np.ascontiguousarray(tiling.crop(content_t[key][0], tile.boxes[d])[None])
             for key, (d, _) in terms.inputs_of(self.terms).items()}
            for tile in self.tiles])

    def close(self):
        self.tile_map.release(self.inputs)
        if self.reducer is not None:
            self.reducer.close()
        if self.own_map:
            self.tile_map.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _pixels(self, image):
        image = np.asarray(image, np.float32)
        pixels = image[0] if image.ndim == 4 else image
        if pixels.shape[:2] != self.shape:
            raise ArtError("image of %dx%d px given to a tiled evaluator for %dx%d"
                           % (pixels.shape[1], pixels.shape[0], self.shape[1], self.shape[0]))
        return pixels

    def loss(self, image):
        """The loss alone at `image`, (total, breakdown): pass 1 and the reduce, no
        backward pass (a third of an evaluation's work), for scoring pictures."""
        pixels = self._pixels(image)
        self.tile_map.use(self.spec)
        crops = self.tile_map.share(Crops(pixels, self.tiles))
        try:
            found = self.tile_map.statistics(self.tiles, crops, self.inputs)
        finally:
            self.tile_map.release(crops)
        total, breakdown, _ = self._reduce(found)
        return total, breakdown

    def _reduce(self, found):
        """The reduce of the tiles' statistics: (total, breakdown, cotangents)."""
        if self.reducer is None:
            self.reducer = Reducer(self.terms, self.style_t, self.shape, found[0])
        return self.reducer(totals(found))

    def evaluate(self, image):
        """Loss and gradient at `image`.

        Args:
          image: H x W x 3 (or 1 x H x W x 3) RGB 0-255.

        Returns:
          (total loss float, gradient float32 of the image's shape, terms: the keys of
          `build_loss`'s breakdown -- content, style, tv, content/<layer>, style/<layer>).
        """
        batched = np.ndim(image) == 4
        pixels = self._pixels(image)
        self.tile_map.use(self.spec)
        crops = self.tile_map.share(Crops(pixels, self.tiles))
        grad = np.zeros(pixels.shape, np.float32)

        def add(j, tile_grad):
            if j is None:       # the tile work starts again (a lost worker): from zero
                grad[...] = 0
                return
            y0, y1, x0, x1 = self.tiles[j].outer
            grad[y0:y1, x0:x1] += tile_grad

        try:
            found = self.tile_map.statistics(self.tiles, crops, self.inputs)
            total, breakdown, cotangents = self._reduce(found)
            self.tile_map.backward_into(self.tiles, crops, self.inputs, cotangents, add)
        finally:
            self.tile_map.release(crops)
        return total, (grad[None] if batched else grad), breakdown
