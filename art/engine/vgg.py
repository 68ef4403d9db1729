"""VGG19 as an explicit TF1 graph, built by a loop over `art.plan.layers.TABLE`.

Import this module only after the entry point has chosen graph mode; nothing
here runs at import time.
"""

import collections

import tensorflow as tf

from art.errors import ArtError
from art.plan import layers

tf1 = tf.compat.v1

POOLINGS = ("avg", "max")
PADDINGS = layers.PADDINGS


def check_pooling(pooling):
    if pooling not in POOLINGS:
        raise ArtError("unknown pooling %r; valid: %s" % (pooling, ", ".join(POOLINGS)))
    return pooling


def check_padding(padding):
    if padding not in PADDINGS:
        raise ArtError("unknown padding %r; valid: %s" % (padding, ", ".join(PADDINGS)))
    return padding


_ONE_PIXEL = [[0, 0], [1, 1], [1, 1], [0, 0]]


def _pad(x, padding):
    if padding == "replicate":
        # A 1-px SYMMETRIC pad repeats the edge row itself: replication.
        return tf.pad(x, _ONE_PIXEL, mode="SYMMETRIC")
    # A side of one position has no neighbour to mirror, and REFLECT refuses it: the
    # edge is repeated there instead, so every picture the layers can see still paints.
    # (Tiles have free shapes, so this is decided when the graph runs.)
    small = tf.reduce_any(tf.shape(x)[1:3] < 2)
    return tf.cond(small, lambda: tf.pad(x, _ONE_PIXEL, mode="SYMMETRIC"),
                   lambda: tf.pad(x, _ONE_PIXEL, mode="REFLECT"))


def _conv(x, kernel, padding):
    if padding == "zero":
        return tf.nn.conv2d(x, kernel, strides=1, padding="SAME")
    return tf.nn.conv2d(_pad(x, padding), kernel, strides=1, padding="VALID")


def build(rgb, weights, pooling="avg", last="conv5_1", precision="float32", padding="zero"):
    """Build VGG19 on `rgb` up to and including the layer `last`.

    Args:
      rgb: float32 tensor [batch, H, W, 3], RGB 0-255 (preprocessing is done here,
        from the weights' own channel order and mean).
      weights: `art.files.weights.VGGWeights`.
      pooling: 'avg' (Gatys et al. found it gives smoother results) or 'max'.
      last: the deepest end point needed; nothing past it is built, so a
        conv1_1-only loss costs one convolution.
      precision: 'float32' or 'bfloat16' (the convolutions' arithmetic).
      padding: `PADDINGS`; what every convolution sees beyond the border.

    Returns:
      OrderedDict name -> tensor, in network order. A conv name maps to the
      rectified response: in the Caffe model the paper used, the ReLU runs in
      place, so the blob named conv4_2 holds relu(conv4_2).
    """
    check_pooling(pooling)
    check_padding(padding)
    layers.check_names([last])
    if precision not in ("float32", "bfloat16"):
        raise ArtError("unknown precision %r; valid: float32, bfloat16" % precision)
    dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
    net = collections.OrderedDict()
    x = tf.cast(weights.preprocess(rgb), dtype)
    with tf1.name_scope("vgg19"):
        for name, channels in layers.TABLE:
            if channels is None:
                pool = tf.nn.avg_pool2d if pooling == "avg" else tf.nn.max_pool2d
                x = pool(x, ksize=2, strides=2, padding="VALID", name=name)
            else:
                kernel, bias = weights.kernels[name]
                # Frozen weights are constants: the image is the only variable.
                x = _conv(x, tf.cast(tf.constant(kernel), dtype), padding)
                x = tf.nn.relu(tf.nn.bias_add(x, tf.cast(tf.constant(bias), dtype)), name=name)
            # Casts of layers no loss reads are pruned from the run.
            net[name] = x if dtype == tf.float32 else tf.cast(x, tf.float32)
            if name == last:
                break
    return net
