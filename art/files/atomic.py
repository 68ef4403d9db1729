"""Every file `art` writes goes through here, so that it is either absent, its old self,
or complete: written beside its destination, checked, flushed to the disk, and only then
renamed over it. A full disk or a read-only folder ends in one line (`ArtError`) and
leaves the old file in place.
"""

import contextlib
import errno
import hashlib
import io
import json
import math
import os
import tempfile
import zipfile

from art.errors import ArtError


def check_writable(path, inputs=()):
    """Refuse, before any work, a destination the atomic writer could not write.

    Returns:
      `path` as a string.

    Raises:
      ArtError: `path` is a folder or one of `inputs`, or its folder is missing or
        cannot be written.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ArtError("cannot write %s: it is a folder; name a file" % path)
    if os.path.exists(path) and not os.path.isfile(path):
        # A device or a pipe: the rename would replace it with a file (/dev/null!).
        raise ArtError("cannot write %s: it is not a regular file; name a file" % path)
    for other in inputs:
        if other and os.path.exists(other) and os.path.exists(path) \
                and os.path.samefile(other, path):
            raise ArtError("refusing to overwrite the input %s; choose another output path" % path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ArtError("cannot write %s: %s" % (path, _not_a_folder(folder)))
    # The temporary file is made in the folder, so the folder (not the file) must be
    # writable; access() answers for this user, root included.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ArtError("cannot write %s: folder %s is not writable" % (path, folder))
    return path


def check_folder(path):
    """Refuse, before any work, a folder (to hold several files) that cannot be created
    or written; returns its absolute path."""
    path = os.path.abspath(path)
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise ArtError("cannot write to %s: %s is not a folder" % (path, probe))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ArtError("cannot write to %s: %s is not writable" % (path, probe))
    return path


def _not_a_folder(folder):
    """Why `folder` (not a folder) cannot hold a file: the first part of its path that is
    a file, or that it does not exist."""
    probe = folder
    while probe != os.path.dirname(probe):
        if os.path.exists(probe) and not os.path.isdir(probe):
            return "%s is a file, not a folder" % probe
        probe = os.path.dirname(probe)
    return "folder %s does not exist" % folder


def _reason(e):
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return "the disk is full"
    return (e.strerror if isinstance(e, OSError) and e.strerror else str(e)) or type(e).__name__


@contextlib.contextmanager
def atomic_path(path, inputs=(), size=None, verify=None):
    """Yield a temporary path beside `path`; move it over `path` only once it is whole.

    The temporary file lives in the destination folder so the final
    ``os.replace`` is a rename on one file system, never a copy that could be
    cut half-way. It keeps the destination's extension, because image writers
    choose the format by it. Before the rename the file is checked (it must not
    be empty; it must be `size` bytes, or pass `verify`) and fsynced, and after
    it the folder is fsynced: a writer that ignores a short write (Pillow's C
    encoders do) or a crash just after cannot leave a truncated file.

    Args:
      path: the destination.
      inputs: paths that must never be overwritten (the user's own images).
      size: the number of bytes the file must have, when known.
      verify: called with the temporary path; raises if the file is not whole.

    Raises:
      ArtError: `path` cannot be written (a folder, an input, a missing or read-only
        folder, a full disk); the file that was at `path` is left as it was.
    """
    shown = check_writable(path, inputs)
    # Through a symbolic link to the file it names: the link stays a link.
    path = os.path.realpath(shown) if os.path.islink(shown) else shown
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=suffix, dir=folder)
    except OSError as e:
        raise _unwritten(shown, e) from None
    os.close(fd)
    try:
        try:
            yield tmp
        except OSError as e:
            raise _unwritten(shown, e) from None
        commit(tmp, path, size, verify, shown=shown)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _unwritten(path, e):
    return ArtError("cannot write %s: %s (any file that was there is as it was)"
                    % (path, _reason(e)))


def commit(tmp, path, size=None, verify=None, shown=None):
    """Check the finished temporary file `tmp` (see `atomic_path`), flush it to the disk
    and rename it over `path`.

    Raises:
      ArtError: it is empty, not `size` bytes, fails `verify`, or cannot be synced
        or renamed; `path` is as it was. The message names `shown` (default `path`).
    """
    try:
        _settle(tmp, size, verify)
        publish(tmp, path)
    except OSError as e:
        raise _unwritten(shown or path, e) from None
    _sync_folder(os.path.dirname(os.path.abspath(path)))


def _settle(tmp, size, verify):
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
        written = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if written == 0 or (size is not None and written != size):
        # A short write that nobody reported is what a full disk looks like.
        raise OSError(errno.ENOSPC, "only %d of %s bytes were written" % (
            written, "the" if size is None else size))
    if verify is not None:
        verify(tmp)


def _sync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass                    # some file systems cannot sync a folder; the rename is done
    finally:
        os.close(fd)


def publish(tmp, path):
    """Move the finished temporary file `tmp` over `path` (one rename)."""
    # mkstemp makes the file private (0600); give it the mode a plain open()
    # would have, following the user's umask.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def write_bytes(path, data, inputs=()):
    """Write `data` to `path` atomically, checking that every byte reached the file."""
    with atomic_path(path, inputs, size=len(data)) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def write_with(path, write, inputs=()):
    """Write what `write(f)` writes to a binary file object (an image encoder, say)
    to `path` atomically. It is collected in memory first: Pillow's encoders write
    through a real file's descriptor and ignore a short write, and seek while
    writing, so only the finished bytes can be counted onto the disk."""
    buffer = io.BytesIO()
    write(buffer)
    write_bytes(path, buffer.getvalue(), inputs)


def finite_json(value):
    """`value` with every NaN or infinity made null: JSON has no such numbers, and
    strict parsers reject Python's bare NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return finite_json(value.item())
    return value


def json_bytes(value, indent=1):
    """`value` as strict JSON (non-finite numbers as null), UTF-8, ending in a newline."""
    return (json.dumps(finite_json(value), indent=indent, allow_nan=False) + "\n").encode("utf-8")


def write_json(path, value, inputs=(), indent=1):
    """Write `value` as strict JSON (non-finite numbers as null), atomically."""
    write_bytes(path, json_bytes(value, indent), inputs)


def verify_zip(path):
    """Raise OSError unless `path` is a whole zip file (an .npz) whose every member
    reads back with its CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError) as e:
        raise OSError(errno.EIO, "the file written does not read back (%s)" % e) from None
    if bad is not None:
        raise OSError(errno.EIO, "%s in the file written does not read back" % bad)


def sha256(path):
    """Hex sha256 of a file's contents, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
