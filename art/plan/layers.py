"""The VGG19 layer table, written once, as data.

Everything else (the graph builder, the weight loaders' shape checks, the FLOP
count of the benchmarks, the receptive fields of the tiler) is derived from it.
"""

from collections import OrderedDict

from art.errors import ArtError

# (name, output channels) for convolutions; pooling layers carry None. The
# order is the network's; a ReLU follows every convolution, and the end point
# named conv<block>_<n> is the rectified response, as in the Caffe model the
# paper used, where the ReLU runs in place (`art.engine.vgg`). Names are MatConvNet's,
# which most style-transfer papers and tools use.
TABLE = (
    ("conv1_1", 64), ("conv1_2", 64), ("pool1", None),
    ("conv2_1", 128), ("conv2_2", 128), ("pool2", None),
    ("conv3_1", 256), ("conv3_2", 256), ("conv3_3", 256), ("conv3_4", 256), ("pool3", None),
    ("conv4_1", 512), ("conv4_2", 512), ("conv4_3", 512), ("conv4_4", 512), ("pool4", None),
    ("conv5_1", 512), ("conv5_2", 512), ("conv5_3", 512), ("conv5_4", 512),
)

CONV_LAYERS = tuple(name for name, ch in TABLE if ch is not None)


# How each 3x3 convolution sees beyond the picture's border. The paper's Caffe model pads
# with zeros, so every layer sees black there and the painting's outer rows differ from the
# rest (a pale or dark band, docs/edges.md); a reflection or a replica of the edge
# continues the picture instead. (A tile's inner edges are padded too, but only positions
# in its margin see that padding.)
PADDINGS = ("zero", "reflect", "replicate")


def _conv_shapes():
    shapes, cin = OrderedDict(), 3
    for name, cout in TABLE:
        if cout is not None:
            shapes[name] = (3, 3, cin, cout)
            cin = cout
    return shapes


# name -> kernel shape (HWIO) every weight file must provide.
CONV_SHAPES = _conv_shapes()

# Keras names the same convolutions block<b>_conv<n>.
KERAS_NAMES = OrderedDict(
    (name, "block%s_conv%s" % tuple(name[4:].split("_"))) for name in CONV_LAYERS)

NAMES = tuple(name for name, _ in TABLE)


def channels(name):
    """Feature channels at the end point `name` (a pooling keeps its input's)."""
    count = None
    for layer, ch in TABLE:
        count = ch if ch is not None else count
        if layer == name:
            return count
    raise ArtError("unknown layer %r" % name)


def check_names(names, what="layer"):
    """Raise ArtError on the first name that is not an end point of the table."""
    for name in names:
        if name not in NAMES:
            raise ArtError("unknown %s %r; valid: %s" % (what, name, ", ".join(NAMES)))


def deepest(names):
    """The name among `names` that comes last in the network."""
    return max(names, key=NAMES.index)


# A layer's depth is the number of poolings before it (0 to 4): its positions are
# the picture's pixels divided by 2**depth. ("Level" means a level of a render.)
DEPTHS = 1 + sum(1 for _, channels in TABLE if channels is None)


def depth(name):
    """The number of 2x2 poolings up to and including the layer `name`."""
    check_names([name])
    pools = 0
    for other, channels in TABLE:
        pools += channels is None
        if other == name:
            return pools


def reach(name):
    """Pixels beyond its own 2**depth cell, on each side, that one position of `name` sees.

    A 3x3 convolution widens the field by one position on each side, i.e. by
    the current jump in pixels; a 2x2 stride-2 pooling widens the cell, not
    the reach, and doubles the jump.
    """
    check_names([name])
    jump, total = 1, 0
    for other, channels in TABLE:
        if channels is None:
            jump *= 2
        else:
            total += jump
        if other == name:
            return total


def receptive_field(name):
    """The side, in pixels, of one position's receptive field (conv5_1: 156)."""
    return 2 ** depth(name) + 2 * reach(name)


def min_size(names):
    """The smallest picture side for which every layer in `names` has at least one position.

    Each 2x2 pooling with VALID padding halves (rounding down) the side, so a
    layer after p poolings needs 2**p pixels.
    """
    last = NAMES.index(deepest(names))
    return 2 ** sum(1 for _, channels in TABLE[:last] if channels is None)


def _conv_flops(last):
    """Multiply-adds per input pixel of the convolutions up to `last`."""
    total, pixels, before = 0.0, 1.0, 3
    for layer, ch in TABLE:
        if ch is None:
            pixels /= 4
        else:
            total += 9 * before * ch * pixels
            before = ch
        if layer == last:
            break
    return total


def flop_share(name):
    """The FLOPs of the network up to `name` as a share of those up to conv5_1 (conv3_1:
    31%, conv4_1: 67%): what one evaluation of a level costs, per pixel."""
    return _conv_flops(name) / _conv_flops("conv5_1")


def activation_share(name):
    """The activations (values per input pixel) of the network up to `name`, as a share
    of those up to conv5_1: what a piece's memory scales with. The first block, at
    full resolution, holds most of them, so conv3_1 keeps ~70% for 31% of the FLOPs."""
    def values(last):
        total, pixels = 0.0, 1.0
        for layer, ch in TABLE:
            if ch is None:
                pixels /= 4
            else:
                total += ch * pixels
            if layer == last:
                return total
        return total
    return values(name) / values("conv5_1")


# Time per pixel is neither FLOPs nor memory alone: fitted to seconds per evaluation
# at 1024x768 on this project's AVX2 EPYC, to conv3_1 4.47 s against 7.9 s to conv5_1
# (56%; its FLOPs are 31%, its activations 72%).
_TIME_FROM_FLOPS = 0.37


def time_share(name):
    """The time of one evaluation of the network up to `name`, as a share of one up to
    conv5_1, per pixel (a model: `_TIME_FROM_FLOPS` of it scales with the FLOPs, the
    rest with the activations)."""
    return _TIME_FROM_FLOPS * flop_share(name) + (1 - _TIME_FROM_FLOPS) * activation_share(name)
