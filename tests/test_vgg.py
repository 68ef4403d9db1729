import numpy as np
import pytest

from art import layers
from art.errors import ArtError
from conftest import make_random_weights


def run_net(tf1, weights, image, pooling="avg", last="conv5_1"):
    import tensorflow as tf
    from art import vgg
    graph = tf.Graph()
    with graph.as_default():
        rgb = tf1.placeholder(tf.float32, (1,) + image.shape)
        net = vgg.build(rgb, weights, pooling, last=last)
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


def test_conv1_1_matches_numpy(tf1, random_weights):
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (9, 7, 3)).astype(np.float32)
    _, out = run_net(tf1, random_weights, image, last="conv1_1")
    kernel, bias = random_weights.kernels["conv1_1"]
    x = np.pad(image - random_weights.mean_pixel, ((1, 1), (1, 1), (0, 0)))
    ref = np.zeros((9, 7, 64))
    for dy in range(3):
        for dx in range(3):
            ref += x[dy:dy + 9, dx:dx + 7] @ kernel[dy, dx]
    ref = np.maximum(ref + bias, 0)
    np.testing.assert_allclose(out["conv1_1"][0], ref, rtol=1e-4, atol=1e-3)


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
    from art import vgg
    with pytest.raises(ArtError, match="valid: avg, max"):
        vgg.check_pooling("mean")


def test_layer_checks():
    with pytest.raises(ArtError, match="unknown layer 'conv6_1'.*valid: conv1_1"):
        layers.check_names(["conv1_1", "conv6_1"])
    assert layers.min_size(["conv1_1"]) == 1
    assert layers.min_size(["conv1_1", "conv2_1"]) == 2
    assert layers.min_size(["conv5_1", "conv1_1"]) == 16
    assert layers.deepest(["conv3_1", "conv1_2", "conv4_2"]) == "conv4_2"
