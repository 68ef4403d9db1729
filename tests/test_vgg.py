import numpy as np
import pytest

from art.errors import ArtError
from art.plan import layers
from conftest import make_random_weights


def run_net(tf1, weights, image, pooling="avg", last="conv5_1", padding="zero"):
    import tensorflow as tf
    from art.engine import vgg
    graph = tf.Graph()
    with graph.as_default():
        rgb = tf1.placeholder(tf.float32, (1,) + image.shape)
        net = vgg.build(rgb, weights, pooling, last=last, padding=padding)
        with tf1.Session(graph=graph) as s:
            return graph, s.run(dict(net), {rgb: image[None]})


def test_end_points_names_and_shapes(tf1, random_weights):
    image = np.random.default_rng(0).uniform(0, 255, (48, 80, 3)).astype(np.float32)
    _, out = run_net(tf1, random_weights, image, last="conv5_4")
    assert list(out) == [name for name, _ in layers.TABLE]
    expected = {"conv1_1": (48, 80, 64), "pool1": (24, 40, 64), "conv2_2": (24, 40, 128),
                "pool2": (12, 20, 128), "conv3_4": (12, 20, 256), "pool3": (6, 10, 256),
                "conv4_2": (6, 10, 512), "pool4": (3, 5, 512), "conv5_4": (3, 5, 512)}
    for name, shape in expected.items():
        assert out[name].shape == (1,) + shape, name
    # conv end points are rectified (Caffe's in-place ReLU).
    assert all(out[name].min() >= 0 for name in layers.CONV_LAYERS)


def test_graph_stops_at_the_deepest_layer_asked(tf1, random_weights):
    image = np.zeros((32, 32, 3), np.float32)
    graph, out = run_net(tf1, random_weights, image, last="conv1_1")
    assert list(out) == ["conv1_1"]
    convs = [op for op in graph.get_operations() if op.type == "Conv2D"]
    assert len(convs) == 1


def numpy_conv(x, kernel, bias, mode):
    """A 3x3 convolution + ReLU of H x W x C `x`, padded by numpy's `mode`."""
    h, w = x.shape[:2]
    x = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode=mode)
    out = np.zeros((h, w, kernel.shape[-1]))
    for dy in range(3):
        for dx in range(3):
            out += x[dy:dy + h, dx:dx + w] @ kernel[dy, dx]
    return np.maximum(out + bias, 0)


NUMPY_MODES = {"zero": "constant", "reflect": "reflect", "replicate": "edge"}


@pytest.mark.parametrize("padding", ["zero", "reflect", "replicate"])
def test_conv1_matches_numpy(tf1, random_weights, padding):
    """Every convolution is padded as asked: conv1_1 and conv1_2 against numpy's np.pad."""
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (9, 7, 3)).astype(np.float32)
    _, out = run_net(tf1, random_weights, image, last="conv1_2", padding=padding)
    mode = NUMPY_MODES[padding]
    conv1_1 = numpy_conv(image - random_weights.mean_pixel, *random_weights.kernels["conv1_1"],
                         mode)
    np.testing.assert_allclose(out["conv1_1"][0], conv1_1, rtol=1e-4, atol=1e-3)
    conv1_2 = numpy_conv(conv1_1, *random_weights.kernels["conv1_2"], mode)
    np.testing.assert_allclose(out["conv1_2"][0], conv1_2, rtol=1e-4,
                               atol=1e-4 * np.abs(conv1_2).max())


def test_paddings_differ_only_at_the_border(tf1, random_weights):
    image = np.random.default_rng(5).uniform(0, 255, (40, 40, 3)).astype(np.float32)
    out = {p: run_net(tf1, random_weights, image, last="conv2_1", padding=p)[1]["conv2_1"][0]
           for p in ("zero", "reflect", "replicate")}
    # conv2_1 at depth 1 sees 3 convolutions, the last at half resolution: positions
    # 2 or more from its edge never see the padding.
    for p in ("reflect", "replicate"):
        np.testing.assert_allclose(out[p][2:-2, 2:-2], out["zero"][2:-2, 2:-2], rtol=1e-5,
                                   atol=1e-5 * np.abs(out["zero"]).max())
        assert np.abs(out[p][0] - out["zero"][0]).max() > 1e-3 * np.abs(out["zero"]).max()
    from art.engine import vgg
    with pytest.raises(ArtError, match="valid: zero, reflect, replicate"):
        vgg.check_padding("wrap")


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_channel_order_is_honoured(tf1, pooling):
    rgb = make_random_weights(3, "RGB")
    bgr = rgb.in_order("BGR")
    image = np.random.default_rng(2).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    _, a = run_net(tf1, rgb, image, pooling, last="conv3_1")
    _, b = run_net(tf1, bgr, image, pooling, last="conv3_1")
    # Float rounding differs with the summation order of the flipped channels.
    np.testing.assert_allclose(a["conv3_1"], b["conv3_1"], atol=1e-5 * np.abs(a["conv3_1"]).max())


def test_pooling_kinds_differ_and_bad_pooling_is_refused(tf1, random_weights):
    image = np.random.default_rng(4).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    _, avg = run_net(tf1, random_weights, image, "avg", last="pool1")
    _, mx = run_net(tf1, random_weights, image, "max", last="pool1")
    assert np.all(mx["pool1"] >= avg["pool1"] - 1e-4) and not np.allclose(mx["pool1"], avg["pool1"])
    from art.engine import vgg
    with pytest.raises(ArtError, match="valid: avg, max"):
        vgg.check_pooling("mean")


def test_layer_checks():
    with pytest.raises(ArtError, match="unknown layer 'conv6_1'.*valid: conv1_1"):
        layers.check_names(["conv1_1", "conv6_1"])
    assert layers.min_size(["conv1_1"]) == 1
    assert layers.min_size(["conv1_1", "conv2_1"]) == 2
    assert layers.min_size(["conv5_1", "conv1_1"]) == 16
    assert layers.deepest(["conv3_1", "conv1_2", "conv4_2"]) == "conv4_2"


def test_reflection_of_a_one_position_side_repeats_its_edge(tf1, random_weights):
    """conv5_1 of a 16-px picture has one position a side: nothing to mirror, so the
    edge is repeated there, as replication does, and the smallest picture still paints."""
    image = np.random.default_rng(6).uniform(0, 255, (16, 48, 3)).astype(np.float32)
    reflect = run_net(tf1, random_weights, image, last="conv5_1", padding="reflect")[1]
    assert reflect["conv5_1"].shape == (1, 1, 3, 512)
    assert np.isfinite(reflect["conv5_1"]).all() and reflect["conv5_1"].max() > 0
