"""Read the legacy (pre-1.6, non-zip) torch.save stream without torch.

The stream is five pickles and the raw storages, back to back:

1. the magic number 0x1950a86a20f9469cfc6c,
2. the protocol version (1001),
3. a dict describing the writer (byte order, sizes of C types),
4. the saved object: here a dict name -> tensor, each tensor pickled as
   ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
   requires_grad, backward_hooks)`` with every storage a persistent id
   ``('storage', storage_type, key, location, numel[, view_metadata])``,
5. the list of storage keys, in the order their data follows;

then for each key: an int64 little-endian element count and the elements'
raw little-endian bytes.

Unpickling runs code named by the stream, so the unpickler here resolves only
the handful of globals a tensor dict needs and refuses anything else.
"""

import collections
import io
import os
import pickle
import struct

import numpy as np

from art.errors import ArtError

MAGIC = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001


class _StorageType:
    """Stands for torch.<Name>Storage: only its element type matters here."""

    def __init__(self, name, dtype):
        self.name, self.dtype = name, np.dtype(dtype).newbyteorder("<")

    def __repr__(self):
        return "torch.%s" % self.name


_STORAGE_TYPES = {name: _StorageType(name, dtype) for name, dtype in (
    ("ByteStorage", np.uint8), ("CharStorage", np.int8), ("ShortStorage", np.int16),
    ("IntStorage", np.int32), ("LongStorage", np.int64), ("HalfStorage", np.float16),
    ("FloatStorage", np.float32), ("DoubleStorage", np.float64), ("BoolStorage", np.bool_))}


class _Storage:
    def __init__(self, key, storage_type, numel):
        self.key, self.type, self.numel = key, storage_type, numel
        self.array = None  # filled once the raw bytes have been read


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, *unused):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor without a storage")
    return _Tensor(storage, storage_offset, tuple(size), tuple(stride))


_ALLOWED = {("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
            ("collections", "OrderedDict"): collections.OrderedDict}
_ALLOWED.update({("torch", name): t for name, t in _STORAGE_TYPES.items()})


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, where, storages):
        super().__init__(f)
        self.where, self.storages = where, storages

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise ArtError("%s: refusing to unpickle unexpected global %s.%s"
                           % (self.where, module, name)) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise ArtError("%s: unexpected persistent id %.60r" % (self.where, pid))
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        if not isinstance(storage_type, _StorageType) or not isinstance(numel, int) or numel < 0:
            raise ArtError("%s: malformed storage reference %.60r" % (self.where, pid))
        if view is not None:
            raise ArtError("%s: storage views (torch < 0.4) are not supported" % self.where)
        key = str(key)
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, storage_type, numel)
        elif storage.type is not storage_type or storage.numel != numel:
            raise ArtError("%s: storage %s declared twice with different types or sizes"
                           % (self.where, key))
        return storage


def load(path):
    """Read the tensors of a legacy torch.save file.

    Args:
      path: the file.

    Returns:
      dict name -> numpy array (C-contiguous copies, little-endian dtypes).

    Raises:
      ArtError: missing, truncated or corrupt file, a zip-format torch file,
        or a stream naming any global other than tensor rebuilding.
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise ArtError("%s: %s" % (path, e.strerror or e)) from None
    with f:
        return read(f, path)


def read(f, where):
    """Like `load`, from a binary file object; `where` names it in errors."""
    if not isinstance(f, io.BytesIO):
        f = io.BytesIO(f.read())  # one read; bounds checks below need the total size
    head = f.getbuffer()[:4].tobytes()
    if head.startswith(b"PK"):
        raise ArtError("%s: a zip-format torch file (torch >= 1.6); only the legacy stream "
                       "is supported" % where)
    storages = {}
    try:
        magic = _Unpickler(f, where, storages).load()
        if magic != MAGIC:
            raise ArtError("%s: not a legacy torch.save stream (bad magic number)" % where)
        version = _Unpickler(f, where, storages).load()
        if version != PROTOCOL_VERSION:
            raise ArtError("%s: unsupported torch.save protocol version %r" % (where, version))
        info = _Unpickler(f, where, storages).load()
        if not isinstance(info, dict) or not info.get("little_endian", False):
            raise ArtError("%s: written on a big-endian machine; not supported" % where)
        result = _Unpickler(f, where, storages).load()
        keys = _Unpickler(f, where, storages).load()
    except ArtError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, OverflowError, MemoryError, UnicodeDecodeError) as e:
        raise ArtError("%s: truncated or corrupt torch stream (%s: %s)"
                       % (where, type(e).__name__, " ".join(str(e).split()))) from None
    if not isinstance(result, dict) or not all(isinstance(t, _Tensor) for t in result.values()):
        raise ArtError("%s: expected a dict of tensors" % where)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(storages):
        raise ArtError("%s: the storage key list does not match the tensors' storages" % where)

    total = len(f.getbuffer())
    for key in map(str, keys):
        storage = storages[key]
        count = f.read(8)
        if len(count) < 8:
            raise ArtError("%s: truncated torch stream (storage %s missing)" % (where, key))
        (count,) = struct.unpack("<q", count)
        if count != storage.numel:
            raise ArtError("%s: storage %s holds %d elements, the tensors expect %d"
                           % (where, key, count, storage.numel))
        nbytes = count * storage.type.dtype.itemsize
        if f.tell() + nbytes > total:
            raise ArtError("%s: truncated torch stream (storage %s: %d of %d bytes)"
                           % (where, key, total - f.tell(), nbytes))
        storage.array = np.frombuffer(f.read(nbytes), dtype=storage.type.dtype)
    return {str(name): _materialise(t, str(name), where) for name, t in result.items()}


def _materialise(tensor, name, where):
    storage, size, stride = tensor.storage.array, tensor.size, tensor.stride
    if len(size) != len(stride) or any(n < 0 for n in size) or any(s < 0 for s in stride) \
            or tensor.offset < 0:
        raise ArtError("%s: tensor %s has a malformed size/stride" % (where, name))
    if 0 in size:
        return np.zeros(size, dtype=storage.dtype)
    last = tensor.offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.size:
        raise ArtError("%s: tensor %s reaches past the end of its storage" % (where, name))
    base = storage[tensor.offset:]
    view = np.lib.stride_tricks.as_strided(
        base, shape=size, strides=[s * storage.itemsize for s in stride], writeable=False)
    return np.array(view, order="C")
