"""Atomic output: a file is either absent, its old self, or complete."""

import contextlib
import hashlib
import os
import tempfile

from art.errors import ArtError


@contextlib.contextmanager
def atomic_path(path, inputs=()):
    """Yield a temporary path beside `path`; move it over `path` only on success.

    The temporary file lives in the destination folder so the final
    ``os.replace`` is a rename on one file system, never a copy that could be
    cut half-way. It keeps the destination's extension, because image writers
    choose the format by it.

    Args:
      path: the destination.
      inputs: paths that must never be overwritten (the user's own images).

    Raises:
      ArtError: `path` is one of `inputs`, or its folder cannot be written.
    """
    path = os.fspath(path)
    for other in inputs:
        if other and os.path.exists(other) and os.path.exists(path) \
                and os.path.samefile(other, path):
            raise ArtError("refusing to overwrite the input %s; choose another output path" % path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ArtError("cannot write %s: folder %s does not exist" % (path, folder))
    suffix = os.path.splitext(path)[1]
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=suffix, dir=folder)
    except OSError as e:
        raise ArtError("cannot write %s: %s" % (path, e.strerror)) from None
    os.close(fd)
    try:
        yield tmp
        publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def publish(tmp, path):
    """Move the finished temporary file `tmp` over `path` (one rename)."""
    # mkstemp makes the file private (0600); give it the mode a plain open()
    # would have, following the user's umask.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def sha256(path):
    """Hex sha256 of a file's contents, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
