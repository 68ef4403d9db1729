"""Tiled evaluation IS the untiled one: loss, breakdown and gradient, on random and real weights."""

import functools

import numpy as np
import pytest

from art.config import PaintConfig
from art.errors import ArtError
from art.plan import tiling

# Measured agreement is ~1e-6 (float32 rounding); a margin 16 px short of conv5_1's
# reach already misses by ~3e-4, so this tolerance tells exact from nearly exact.
GRAD_TOL = 2e-5
LOSS_TOL = 1e-5

DEEP = dict(style_layers={n: 1.0 for n in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")},
            content_layers={"conv4_2": 1.0}, style_weight=1.0)
SHALLOW = dict(style_layers={"conv1_1": 1.0, "conv2_1": 0.5, "conv3_1": 1.0},
               content_layers={"conv2_2": 1.0}, style_weight=1.0)


def config_of(layers, pooling="avg", **kw):
    return PaintConfig(pooling=pooling, **dict(layers, **kw))


@functools.lru_cache(maxsize=None)
def pictures(shape):
    rng = np.random.default_rng(sum(shape))
    content = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    style = rng.uniform(0, 255, (40, 48, 3)).astype(np.float32)
    image = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    return content, style, image


def in_one_piece(tf1, weights, config, image, content_t, style_t):
    """The reference: `build_loss` on the whole picture and `tf.gradients`."""
    import tensorflow as tf
    from art.engine import untiled
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, (1,) + image.shape)
        total, terms = untiled.build_loss(x, weights, config, content_t, style_t)
        grad = tf.gradients(total, x)[0]
        with tf1.Session(graph=graph) as session:
            total, grad, terms = session.run([total, grad, terms], {x: image[None]})
    return float(total), grad[0], {k: float(v) for k, v in terms.items()}


def compare(tf1, weights, config, shape, tiles, check=True):
    """(relative loss error, worst relative term error, gradient error / max |gradient|)."""
    from art.engine import untiled
    from art.engine import terms
    from art.engine import tiled
    content, style, image = pictures(shape)
    content_t = untiled.content_targets(weights, content, config)
    if config.anchor_weight:
        content_t["anchor"] = terms.anchor_target(content)
    style_t = untiled.style_targets(weights, [style], None, config)
    loss, grad, terms = in_one_piece(tf1, weights, config, image, content_t, style_t)
    with tiled.TiledEvaluator(weights, config, shape, content_t, style_t, tiles, check=check) as ev:
        ops = len(ev.tile_map.runner.graph.get_operations())
        t_loss, t_grad, t_terms = ev.evaluate(image)
        # A second evaluation reuses the graph and gives the same numbers.
        again = ev.evaluate(image[None])
        assert len(ev.tile_map.runner.graph.get_operations()) == ops
    assert again[0] == t_loss and again[1].shape == (1,) + image.shape
    np.testing.assert_array_equal(again[1][0], t_grad)
    assert t_grad.shape == grad.shape and set(t_terms) == set(terms)
    term_error = max(abs(t_terms[k] - terms[k]) / max(abs(terms[k]), 1e-12) for k in terms)
    return (abs(t_loss - loss) / abs(loss), term_error,
            float(np.abs(t_grad - grad).max() / np.abs(grad).max()))


def names(config):
    return config.layer_names


SLOW = pytest.mark.slow
CASES = [
    # Tiny odd sizes reaching conv5_1: the default margin (80 px) clips at the border.
    pytest.param(DEEP, "avg", (67, 93), dict(n_tiles=2), id="67x93 deep, 2 tiles", marks=SLOW),
    pytest.param(DEEP, "max", (67, 93), dict(n_tiles=4), id="67x93 deep, 4 tiles", marks=SLOW),
    pytest.param(DEEP, "avg", (67, 93), dict(n_tiles=6), id="67x93 deep, 6 tiles", marks=SLOW),
    # A strip whose middle tile's outer box stops 80 px short of both ends: conv5_1 margins
    # that do not reach the border.
    pytest.param(DEEP, "avg", (32, 272), dict(n_tiles=3), id="32x272 deep, 3 tiles", marks=SLOW),
    pytest.param(DEEP, "max", (32, 272), dict(n_tiles=3), id="32x272 deep, 3 tiles, max",
                 marks=SLOW),
    # 12 tiles of inner ~64 px, margin 48 against layers up to conv3_1.
    pytest.param(SHALLOW, "max", (160, 224), dict(tile_size=64, margin=48), id="160x224 shallow"),
    pytest.param(SHALLOW, "avg", (165, 227), dict(n_tiles=6, margin=32),
                 id="165x227 shallow, odd", marks=SLOW),
    # The moments term, added in art/engine/terms.py alone, is exact in tiles too.
    pytest.param(dict(SHALLOW, moment_weight=0.5), "avg", (96, 130), dict(n_tiles=4),
                 id="96x130 shallow, moments", marks=SLOW),
    # A finer level: the anchor in place of the content layers, tiles touching every
    # border and corner of an odd-sized picture (blocks drop its last row and column).
    pytest.param(dict(SHALLOW, content_layers={}, anchor_weight=2.0), "avg", (165, 227),
                 dict(n_tiles=6), id="165x227 anchor, odd"),
    # The picture's border padded by reflection or replication at every convolution, tiles
    # touching every border and corner: only the margins see a tile's inner edges.
    pytest.param(dict(SHALLOW, padding="reflect"), "avg", (165, 227), dict(n_tiles=6),
                 id="165x227 shallow, reflect"),
    pytest.param(dict(SHALLOW, padding="replicate"), "avg", (165, 227), dict(n_tiles=6),
                 id="165x227 shallow, replicate", marks=SLOW),
    pytest.param(dict(DEEP, padding="reflect"), "avg", (67, 93), dict(n_tiles=4),
                 id="67x93 deep, 4 tiles, reflect", marks=SLOW),
    pytest.param(dict(DEEP, padding="replicate"), "avg", (32, 272), dict(n_tiles=3),
                 id="32x272 deep, 3 tiles, replicate", marks=SLOW),
]
# Per term, except the moments': a variance from sums of float32 features summed in
# another order (per tile) loses a few more digits; measured 1.2e-5 of a layer's small
# moments term, while the total loss agreed to 2e-7 and the gradient to 8e-7.
MOMENTS_TERM_TOL = 5e-5


@pytest.mark.parametrize("layers, pooling, shape, kw", CASES)
def test_tiled_equals_untiled(tf1, random_weights, layers, pooling, shape, kw):
    config = config_of(layers, pooling)
    tiles = tiling.tiles_for(shape, names=names(config), **kw)
    loss_error, term_error, grad_error = compare(tf1, random_weights, config, shape, tiles)
    term_tol = MOMENTS_TERM_TOL if config.moment_weight else LOSS_TOL
    assert loss_error < LOSS_TOL and term_error < term_tol and grad_error < GRAD_TOL


def test_cases_include_margins_inside_the_picture():
    """The exactness claim is about margins that do NOT reach the border; make sure the cases
    above contain some, at conv5_1 and at conv3_1."""
    for shape, kw, layers in (((32, 272), dict(n_tiles=3), DEEP),
                              ((160, 224), dict(tile_size=64, margin=48), SHALLOW)):
        tiles = tiling.tiles_for(shape, names=names(config_of(layers)), **kw)
        inside = [t for t in tiles if 0 < t.outer[2] and t.outer[3] < shape[1]]
        assert inside


@pytest.mark.slow
def test_style_only_and_content_only(tf1, random_weights):
    for kw in (dict(content_layers={}), dict(style_layers={})):
        config = config_of(DEEP, **kw)
        tiles = tiling.tiles_for((32, 272), n_tiles=3, names=names(config))
        loss_error, term_error, grad_error = compare(tf1, random_weights, config, (32, 272), tiles)
        assert loss_error < LOSS_TOL and term_error < LOSS_TOL and grad_error < GRAD_TOL


@pytest.mark.slow
def test_a_short_margin_is_refused_and_would_not_be_exact(tf1, random_weights):
    """The test above can fail: 16 px less margin than conv5_1's reach is measurably off."""
    from art.engine import tiled
    config = config_of(DEEP)
    short = tiling.tiles_for((32, 272), n_tiles=3, margin=48, names=["conv4_2"])
    with pytest.raises(ArtError, match="too small for layer conv5_1"):
        tiled.TiledEvaluator(random_weights, config, (32, 272), {}, {}, short)
    _, _, grad_error = compare(tf1, random_weights, config, (32, 272), short, check=False)
    assert grad_error > 10 * GRAD_TOL


def test_wrong_image_size_is_refused(tf1, random_weights):
    from art.engine import untiled
    from art.engine import tiled
    config = config_of(SHALLOW)
    content, style, image = pictures((32, 48))
    tiles = tiling.tiles_for((32, 48), n_tiles=2, names=names(config))
    with tiled.TiledEvaluator(random_weights, config, (32, 48),
                              untiled.content_targets(random_weights, content, config),
                              untiled.style_targets(random_weights, [style], None, config),
                              tiles) as ev:
        with pytest.raises(ArtError,
                           match="image of 40x32 px given to a tiled evaluator for 48x32"):
            ev.evaluate(image[:, :40])


@pytest.mark.slow
def test_real_weights(tf1, real_weights_path):
    from art.files import weights
    w = weights.load(real_weights_path)
    config = PaintConfig()
    shape = (48, 208)
    tiles = tiling.tiles_for(shape, n_tiles=3, names=names(config))
    assert len({t.outer for t in tiles}) == 3
    loss_error, term_error, grad_error = compare(tf1, w, config, shape, tiles)
    assert loss_error < LOSS_TOL and term_error < LOSS_TOL and grad_error < GRAD_TOL


def test_no_gradient_is_a_sum_of_more_than_two(tf1, random_weights):
    """A picture's gradient repeats bit for bit: TensorFlow's AddN starts its sum at whichever
    input buffer it may reuse at run time, so a sum of three or more changes its float order
    from run to run (measured: renders of one command differed by up to 40 grey levels);
    a sum of two does not (`terms.gradients`, `terms.in_order`). Every term on, so that the
    picture and the layers each feed several terms."""
    from art.engine import terms, tiled, untiled
    config = config_of(SHALLOW, moment_weight=1.0, tv_weight=1.0, anchor_weight=1.0)
    shape = (32, 48)
    content, style, image = pictures(shape)
    content_t = untiled.content_targets(random_weights, content, config)
    content_t["anchor"] = terms.anchor_target(content)
    style_t = untiled.style_targets(random_weights, [style], None, config)
    tiles = tiling.tiles_for(shape, n_tiles=2, names=names(config))
    with untiled.WholeEvaluator(random_weights, config, shape, content_t, style_t) as whole, \
            tiled.TiledEvaluator(random_weights, config, shape, content_t, style_t, tiles) as ev:
        ev.evaluate(image)
        graphs = [whole.graph, ev.tile_map.runner.graph, ev.reducer.graph]
        sums = [len(op.inputs) for g in graphs for op in g.get_operations() if op.type == "AddN"]
    # The picture has 5 gradients to sum (VGG's and 4 from tv), a layer up to 3; the loss
    # adds 3 style layers and 5 terms.
    assert len(sums) > 10 and max(sums) == 2
