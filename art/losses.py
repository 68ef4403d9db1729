"""The loss terms, one function each, each returning (total, {layer: term}).

Normalisation: every term is an average, not a sum, so the default weights
work across picture sizes (Gatys et al. sum over positions, which makes the
balance between content and style drift with the size):
  content  mean over positions and channels of (F - P)^2
  style    sum over entries of (G - A)^2 / (4 C^2), with G = F^T F / M
           (the paper's E_l = 1/(4 N^2 M^2) sum (F^T F - A)^2, with A scaled by M
           so a target from a differently sized style image still fits)
  tv       mean over pixels and channels of the squared differences of neighbours
"""

import tensorflow as tf

tf1 = tf.compat.v1


def gram(features):
    """Gram matrix of [1, H, W, C] features, normalised by the number of positions.

    The same function computes the style targets and the image's own Grams.
    """
    channels = tf.shape(features)[-1]
    flat = tf.reshape(features, [-1, channels])
    positions = tf.cast(tf.shape(flat)[0], features.dtype)
    return tf.matmul(flat, flat, transpose_a=True) / positions


def _weighted_sum(weight, breakdown):
    terms = {name: weight * term for name, term in breakdown.items()}
    # No layers (a style-only or content-only run) is a term of zero.
    total = tf.add_n(list(terms.values())) if terms else tf.constant(0.0)
    return total, terms


def content_loss(net, targets, layer_weights, weight=1.0):
    """Content term: each layer's features against its frozen target.

    Args:
      net: end points from `art.vgg.build`.
      targets: layer -> numpy array of the content image's features.
      layer_weights: layer -> weight; a layer absent here is not computed.
      weight: the term's overall weight.
    """
    with tf1.name_scope("content_loss"):
        breakdown = {
            name: w * tf.reduce_mean(tf.square(net[name] - tf.constant(targets[name])))
            for name, w in layer_weights.items()}
        return _weighted_sum(weight, breakdown)


def style_term(gram_image, gram_target):
    channels = tf.cast(tf.shape(gram_image)[0], gram_image.dtype)
    return tf.reduce_sum(tf.square(gram_image - gram_target)) / (4.0 * channels ** 2)


def style_loss(net, targets, layer_weights, weight=1.0):
    """Style term: each layer's Gram matrix against its frozen (blended) target."""
    with tf1.name_scope("style_loss"):
        breakdown = {
            name: w * style_term(gram(net[name]), tf.constant(targets[name]))
            for name, w in layer_weights.items()}
        return _weighted_sum(weight, breakdown)


def tv_loss(image, weight=1.0):
    """Total variation: squared differences of vertical and horizontal neighbours."""
    with tf1.name_scope("tv_loss"):
        dy = image[:, 1:, :, :] - image[:, :-1, :, :]
        dx = image[:, :, 1:, :] - image[:, :, :-1, :]
        size = tf.cast(tf.size(image), image.dtype)
        term = (tf.reduce_sum(tf.square(dy)) + tf.reduce_sum(tf.square(dx))) / size
        return weight * term, {"tv": weight * term}
