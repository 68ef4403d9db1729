"""VGG19 weights: every accepted file format, read into one canonical form.

Loading is separate from building: the graph builder sees only `VGGWeights`
and never asks which file the numbers came from. Every loader ends in
`validate`, so a file either yields all 16 convolutions with VGG19's exact
shapes, or an `ArtError` of one line naming the file and what is wrong.
"""

import dataclasses
import os

import numpy as np

from art.errors import ArtError
from art.files.atomic import atomic_path, verify_zip
from art.plan import layers

# Extension -> format name; the error for any other extension lists these.
FORMATS = {
    ".mat": "MatConvNet imagenet-vgg-verydeep-19.mat",
    ".npz": "canonical .npz",
    ".h5": "Keras vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ".hdf5": "Keras vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
}

CHANNEL_ORDERS = ("RGB", "BGR")

# Keras' VGG19 preprocessing ("caffe" mode): BGR, 0-255, minus the ImageNet mean.
KERAS_MEAN_BGR = (103.939, 116.779, 123.68)


@dataclasses.dataclass(frozen=True)
class VGGWeights:
    """The canonical in-memory form of VGG19's convolutional weights.

    Attributes:
      kernels: conv name (`art.plan.layers.CONV_LAYERS`) -> (kernel HWIO float32, bias float32).
      mean_pixel: float32[3], the mean subtracted from 0-255 input, in `channel_order`.
      channel_order: 'RGB' or 'BGR', the order of the network's input channels.
      source: where the numbers came from, for reports.
    """
    kernels: dict
    mean_pixel: np.ndarray
    channel_order: str
    source: str = ""

    def in_order(self, order):
        """The same network expecting `order` input: conv1_1's input channels and the mean flipped."""
        if order == self.channel_order:
            return self
        kernels = dict(self.kernels)
        k, b = kernels["conv1_1"]
        kernels["conv1_1"] = (np.ascontiguousarray(k[:, :, ::-1, :]), b)
        return dataclasses.replace(self, kernels=kernels, mean_pixel=self.mean_pixel[::-1].copy(),
                                   channel_order=order)

    def preprocess(self, rgb):
        """Turn an RGB picture into this network's input: channel order, minus the mean.

        This is the single definition of the input convention; the engine and
        the tests both use it, so a network loaded from a BGR file and one from
        an RGB file see the same picture the same way.

        Args:
          rgb: array or float32 TF tensor [..., 3] in RGB order, values 0-255.

        Returns:
          the same kind (numpy float32 array, or tensor), in `channel_order`,
          minus `mean_pixel`.

        Raises:
          ArtError: the last axis is not 3 channels.
        """
        # Slicing and subtraction are written so they work on numpy arrays and
        # TF tensors alike: the graph uses this very definition.
        x = rgb if hasattr(rgb, "graph") else np.asarray(rgb, dtype=np.float32)
        if len(x.shape) < 1 or x.shape[-1] != 3:
            raise ArtError("picture has shape %s; expected RGB with 3 channels in the last axis"
                           % _shape_str(tuple(x.shape)))
        if self.channel_order == "BGR":
            x = x[..., ::-1]
        return x - self.mean_pixel.astype(np.float32)


def _shape_str(shape):
    return "x".join(str(n) for n in shape) if len(shape) else "scalar"


def _one_line(exc):
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return "%s: %s" % (name, text) if text else name


def validate(weights, where=None):
    """Check `weights` against VGG19's layer table and return a clean copy.

    Layers not in `art.plan.layers.CONV_LAYERS` (fully connected ones, say) are
    dropped; kernels and biases become float32 C-contiguous arrays.

    Args:
      weights: a `VGGWeights`, possibly holding raw arrays straight from a file.
      where: the file named in error messages (default: `weights.source`).

    Returns:
      A `VGGWeights` with exactly the 16 conv layers, in network order.

    Raises:
      ArtError: "<file>: conv3_4 missing", "<file>: conv3_4 kernel: expected
        3x3x256x256, got 3x3x256x128", non-finite values, a bad mean pixel or
        channel order.
    """
    where = where if where is not None else weights.source
    kernels = {}
    for name, shape in layers.CONV_SHAPES.items():
        if name not in weights.kernels:
            raise ArtError("%s: %s missing" % (where, name))
        try:
            kernel, bias = weights.kernels[name]
        except (TypeError, ValueError):
            raise ArtError("%s: %s is not a (kernel, bias) pair" % (where, name)) from None
        kernel = _float32(kernel, where, "%s kernel" % name)
        bias = _float32(bias, where, "%s bias" % name)
        if kernel.shape != shape:
            raise ArtError("%s: %s kernel: expected %s, got %s"
                           % (where, name, _shape_str(shape), _shape_str(kernel.shape)))
        if bias.shape != shape[-1:]:
            raise ArtError("%s: %s bias: expected %s, got %s"
                           % (where, name, _shape_str(shape[-1:]), _shape_str(bias.shape)))
        for part, array in (("kernel", kernel), ("bias", bias)):
            if not np.all(np.isfinite(array)):
                raise ArtError("%s: %s %s has non-finite values" % (where, name, part))
        kernels[name] = (kernel, bias)
    mean = _float32(weights.mean_pixel, where, "mean_pixel")
    if mean.shape != (3,) or not np.all(np.isfinite(mean)):
        raise ArtError("%s: mean_pixel must be 3 finite numbers, got %s"
                       % (where, np.array2string(mean.ravel()[:6], separator=", ")))
    order = weights.channel_order
    if order not in CHANNEL_ORDERS:
        raise ArtError("%s: channel_order must be one of %s, got %r"
                       % (where, ", ".join(CHANNEL_ORDERS), order))
    return VGGWeights(kernels=kernels, mean_pixel=mean, channel_order=order, source=weights.source)


def _float32(value, where, what):
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise ArtError("%s: %s has dtype %s; expected numbers" % (where, what, array.dtype))
    return np.ascontiguousarray(array, dtype=np.float32)


def load(path):
    """Read VGG19 weights from a .mat, .npz or .h5/.hdf5 file.

    Args:
      path: MatConvNet's imagenet-vgg-verydeep-19.mat (either layout), Keras'
        vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, or a canonical .npz
        (see `save_npz`).

    Returns:
      A validated `VGGWeights`.

    Raises:
      ArtError: "<path>: <what is wrong>": unknown extension, missing,
        truncated or corrupt file, a layout that is not VGG19's.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    readers = {".mat": _read_mat, ".npz": _read_npz, ".h5": _read_h5, ".hdf5": _read_h5}
    if ext not in readers:
        raise ArtError("%s: unknown weights format %r; accepted extensions: %s"
                       % (path, ext, ", ".join(sorted(readers))))
    if not os.path.exists(path):
        raise ArtError("%s: no such file" % path)
    if not os.path.isfile(path):
        raise ArtError("%s: not a regular file" % path)
    try:
        raw = readers[ext](path)
    except ArtError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure is a bad file, never a traceback
        raise ArtError("%s: cannot read as %s; truncated or corrupt? (%s)"
                       % (path, FORMATS[ext], _one_line(e))) from None
    return validate(raw, where=path)


# -- canonical .npz ------------------------------------------------------------

def _read_npz(path):
    with open(path, "rb") as f:
        head = f.read(4)
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise ArtError("%s: not an .npz (zip) archive" % path)
    with np.load(path, allow_pickle=False) as npz:
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ArtError("%s: not an .npz archive (a single .npy array)" % path)
        names = set(npz.files)
        for key in ("mean_pixel", "channel_order"):
            if key not in names:
                raise ArtError("%s: %s missing" % (path, key))
        kernels = {}
        for name in layers.CONV_LAYERS:
            for suffix in ("_W", "_b"):
                if name + suffix not in names:
                    raise ArtError("%s: %s missing (no array %s%s)" % (path, name, name, suffix))
            # The header first: a file declaring a 4 GB kernel is refused before it is read.
            for suffix, part, expected in (("_W", "kernel", layers.CONV_SHAPES[name]),
                                           ("_b", "bias", layers.CONV_SHAPES[name][-1:])):
                declared = _npz_member_shape(npz, name + suffix)
                if declared is not None and declared != expected:
                    raise ArtError("%s: %s %s: expected %s, got %s" % (
                        path, name, part, _shape_str(expected), _shape_str(declared)))
            kernels[name] = (npz[name + "_W"], npz[name + "_b"])
        order = npz["channel_order"]
        if order.dtype.kind != "U" or order.size != 1:
            raise ArtError("%s: channel_order must be a string, got %s array" % (path, order.dtype))
        return VGGWeights(kernels=kernels, mean_pixel=npz["mean_pixel"],
                          channel_order=str(order.ravel()[0]), source=path)


def _npz_member_shape(npz, key):
    """The shape an .npz member's .npy header declares, read without its data (None if
    the header cannot be read here: loading it then says what is wrong)."""
    try:
        with npz.zip.open(key + ".npy") as f:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            return None if read is None else tuple(read(f)[0])
    except (KeyError, ValueError, OSError):
        return None


def save_npz(weights, path):
    """Write `weights` as the canonical .npz, atomically.

    Keys: conv1_1_W (HWIO), conv1_1_b, ..., conv5_4_W, conv5_4_b, mean_pixel
    (3 floats in the file's channel order) and channel_order ('RGB' or 'BGR').
    Nothing in it needs pickle to load.

    Args:
      weights: a `VGGWeights`; it is validated before anything is written.
      path: the destination; must end in .npz.

    Raises:
      ArtError: the weights are invalid, or the path cannot be written.
    """
    path = os.fspath(path)
    weights = validate(weights)
    with atomic_path(path, verify=verify_zip) as tmp:
        write_npz(weights, tmp, path)


def write_npz(weights, tmp, path):
    """Write already validated `weights` to `tmp` (a temporary path standing for `path`)."""
    if not path.lower().endswith(".npz"):
        raise ArtError("%s: the canonical weights file must end in .npz" % path)
    arrays = {}
    for name, (kernel, bias) in weights.kernels.items():
        arrays[name + "_W"] = kernel
        arrays[name + "_b"] = bias
    arrays["mean_pixel"] = np.asarray(weights.mean_pixel, dtype=np.float32)
    arrays["channel_order"] = np.array(weights.channel_order)
    # A file object, not a name: np.savez appends ".npz" to names lacking it, which
    # would leave the temporary file empty and write another. An OSError (a full disk)
    # is the caller's atomic writer's to report.
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)


# -- Keras .h5 -----------------------------------------------------------------

def _read_h5(path):
    import h5py

    with h5py.File(path, "r") as f:
        kernels = {}
        for name, keras_name in layers.KERAS_NAMES.items():
            group = f.get(keras_name)
            if group is None:
                continue  # validate() names the first missing layer
            if not isinstance(group, h5py.Group):
                raise ArtError("%s: %s is not an HDF5 group" % (path, keras_name))
            kernel = _h5_dataset(group, ("_W", "kernel"), path, keras_name)
            bias = _h5_dataset(group, ("_b", "bias"), path, keras_name)
            kernels[name] = (kernel, bias)
    return VGGWeights(kernels=kernels, mean_pixel=np.array(KERAS_MEAN_BGR), channel_order="BGR",
                      source=path)


def _h5_dataset(group, markers, path, keras_name):
    """The one dataset under `group` whose name contains one of `markers`.

    Keras wrote `block1_conv1_W_1:0` in old files and `block1_conv1/kernel:0`
    (one level deeper) in newer ones; the suffix varies, the shape does not.
    """
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and any(m in name.rsplit("/", 1)[-1] for m in markers):
            found.append(obj)

    group.visititems(visit)
    if len(found) != 1:
        raise ArtError("%s: %s: expected one dataset named *%s*, found %d"
                       % (path, keras_name, markers[0], len(found)))
    return found[0][()]


# -- MatConvNet .mat -----------------------------------------------------------

def _read_mat(path):
    import scipy.io

    try:
        mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except NotImplementedError:
        raise ArtError("%s: MATLAB v7.3 (HDF5) .mat files are not supported; "
                       "use MatConvNet's imagenet-vgg-verydeep-19.mat" % path) from None
    if "layers" not in mat:
        raise ArtError("%s: no 'layers' variable; not a MatConvNet simplenn network "
                       "(expected imagenet-vgg-verydeep-19.mat)" % path)
    if "normalization" in mat:
        normalization, layout = mat["normalization"], "old"
    elif "meta" in mat and _has_field(mat["meta"], "normalization"):
        normalization, layout = mat["meta"].normalization, "new"
    else:
        raise ArtError("%s: neither 'normalization' (old layout) nor 'meta.normalization' "
                       "(new layout) found" % path)
    if not _has_field(normalization, "averageImage"):
        raise ArtError("%s: normalization has no averageImage" % path)
    average = np.asarray(normalization.averageImage, dtype=np.float64)
    if average.ndim == 3 and average.shape[-1] == 3:
        mean = average.mean(axis=(0, 1))  # the old layout stores a whole 224x224 mean image
    elif average.size == 3:
        mean = average.reshape(3)  # the new one stores 1x1x3 (or a 3-vector)
    else:
        raise ArtError("%s: averageImage has shape %s; expected HxWx3 or 3 values"
                       % (path, _shape_str(average.shape)))

    kernels = {}
    for index, layer in enumerate(_as_list(mat["layers"])):
        if not _has_field(layer, "name"):
            raise ArtError("%s: layers{%d} is not a struct with a 'name' field; "
                           "not a MatConvNet simplenn layout" % (path, index + 1))
        name = str(layer.name)
        if name not in layers.CONV_SHAPES:
            continue  # relu, pool and the fully connected fc6..fc8 are not needed
        if not _has_field(layer, "weights"):
            raise ArtError("%s: layer %s has no 'weights' field" % (path, name))
        parts = _as_list(layer.weights)
        if len(parts) != 2:
            raise ArtError("%s: layer %s: weights should hold {kernel, bias}, found %d arrays"
                           % (path, name, len(parts)))
        # MatConvNet's Caffe importer stores kernels as H x W x Cin x Cout, and
        # loadmat keeps MATLAB's axis order, so this already is TF's HWIO: no
        # transpose. (One popular TF implementation swaps H and W here; users
        # reported that as a bug: it mirrors every 3x3 filter along its diagonal.)
        kernel = np.asarray(parts[0])
        bias = np.asarray(parts[1]).reshape(-1)
        kernels[name] = (kernel, bias)
    return VGGWeights(kernels=kernels, mean_pixel=mean, channel_order="RGB",
                      source="%s (MatConvNet, %s layout)" % (path, layout))


def _has_field(struct, field):
    return field in getattr(struct, "_fieldnames", ())


def _as_list(value):
    """squeeze_me turns a 1xN cell into a 1-D object array, but a 1x1 one into its element."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return list(value.ravel())
    return [value]
