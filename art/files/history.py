"""The L-BFGS history of a print's finest levels, on disk: each pair's s and y vectors
written once, a chunk at a time, and read back a chunk at a time by the two-loop
recursion (`art.engine.lbfgs`), so that a level's history costs disk, not memory. At
A0 (14043x9933 px) one vector is 1.7 GB and ten pairs are 33 GB.

    <folder>/<n>.s, <n>.y     raw little-endian float32, n counting the pairs made

A pair file is written under a temporary name, flushed and renamed only when whole,
and never written again: a checkpoint names its pairs with their sha256 (`manifest`)
instead of holding them, and files no checkpoint or live optimiser names are swept
(`sweep`). Read through read(2), not mmap: a mapped history would count its cached
pages in the process's resident memory.
"""

import hashlib
import os

import numpy as np

from art.errors import CheckpointFailed
from art.files.atomic import _reason, _sync_folder

# Elements per chunk: what `art.engine.lbfgs` sums a dot product over, so that a pair
# read from disk meets the same arithmetic as one in memory.
CHUNK = 1 << 20
SUFFIXES = (".s", ".y")


def spans(size):
    """The chunks of a vector of `size` values: (start, end) pairs of CHUNK values."""
    return [(i, min(i + CHUNK, size)) for i in range(0, size, CHUNK)]


class DiskPair:
    """One pair on disk: its vectors read a chunk at a time.

    Attributes:
      number: its files' name.
      size: values per vector.
      sy, yy: dot(s, y) and dot(y, y), as `art.engine.lbfgs.dot` gives them.
      sha: suffix -> hex sha256 of that file's bytes.
    """

    def __init__(self, folder, number, size, sy, yy, sha):
        self.folder, self.number, self.size = folder, int(number), int(size)
        self.sy, self.yy, self.sha = float(sy), float(yy), dict(sha)

    def path(self, suffix):
        return os.path.join(self.folder, "%06d%s" % (self.number, suffix))

    def _chunks(self, suffix):
        """The vector's chunks in order; each array is reused for the next, so a caller
        uses it before asking for another."""
        buffer = np.empty(min(CHUNK, self.size), np.float32)
        with open(self.path(suffix), "rb", buffering=0) as f:
            for i, j in spans(self.size):
                part = buffer[:j - i]
                if f.readinto(memoryview(part).cast("B")) != part.nbytes:
                    raise CheckpointFailed("the optimiser's history file %s is shorter than "
                                           "it was written" % self.path(suffix))
                yield part

    def s_chunks(self):
        return self._chunks(".s")

    def y_chunks(self):
        return self._chunks(".y")

    def record(self):
        """What a checkpoint keeps of this pair."""
        return {"number": self.number, "size": self.size, "sy": self.sy, "yy": self.yy,
                "sha": self.sha}

    def check(self):
        """None when both files are there, whole and as written; else what is wrong."""
        for suffix in SUFFIXES:
            path = self.path(suffix)
            try:
                if os.path.getsize(path) != 4 * self.size:
                    return "%s is not %d bytes" % (path, 4 * self.size)
                digest = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 24), b""):
                        digest.update(block)
            except OSError as e:
                return "%s cannot be read (%s)" % (path, _reason(e))
            if digest.hexdigest() != self.sha[suffix]:
                return "%s does not match its checksum" % path
        return None


class PairWriter:
    """A new pair being written: `put` its chunks in order, then `finish`."""

    def __init__(self, store, number, size):
        self.store, self.number, self.size = store, number, size
        self.files, self.digests, self.tmp = {}, {}, {}
        try:
            for suffix in SUFFIXES:
                self.tmp[suffix] = os.path.join(store.folder, ".%06d%s.tmp" % (number, suffix))
                self.files[suffix] = open(self.tmp[suffix], "wb")
                self.digests[suffix] = hashlib.sha256()
        except OSError as e:
            self.discard()
            raise store.failed(e) from None

    def put(self, s, y):
        try:
            for suffix, part in zip(SUFFIXES, (s, y)):
                data = memoryview(np.ascontiguousarray(part, "<f4")).cast("B")
                _write(self.files[suffix], data)
                self.digests[suffix].update(data)
        except OSError as e:
            self.discard()
            raise self.store.failed(e) from None

    def finish(self, sy, yy):
        """The finished `DiskPair`: flushed to the disk, then renamed into place."""
        pair = DiskPair(self.store.folder, self.number, self.size, sy, yy,
                        {k: d.hexdigest() for k, d in self.digests.items()})
        try:
            for f in self.files.values():
                f.flush()
                os.fsync(f.fileno())
                if os.fstat(f.fileno()).st_size != 4 * self.size:
                    raise OSError(28, "a short write")
                f.close()
            for suffix in SUFFIXES:
                os.replace(self.tmp[suffix], pair.path(suffix))
        except OSError as e:
            self.discard()
            for suffix in SUFFIXES:
                _remove(pair.path(suffix))
            raise self.store.failed(e) from None
        _sync_folder(self.store.folder)
        return pair

    def discard(self):
        for f in self.files.values():
            f.close()
        for path in self.tmp.values():
            _remove(path)


class DiskStore:
    """Where a level's pairs are written: a folder of the work folder.

    Args:
      folder: made if missing.
    """

    on_disk = True

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self.next = 0
        try:
            os.makedirs(self.folder, exist_ok=True)
        except OSError as e:
            raise self.failed(e) from None

    def begin(self):
        """A level starts with no pairs: what is here is an earlier level's, or a dead
        run's."""
        self.next = 0
        sweep(self.folder)

    def failed(self, error):
        return CheckpointFailed("cannot write the optimiser's history in %s: %s"
                                % (self.folder, _reason(error)))

    def writer(self, size):
        writer = PairWriter(self, self.next, size)
        self.next += 1
        return writer

    def manifest(self, pairs):
        """The checkpoint's record of `pairs`: a list of dicts (`DiskPair.record`)."""
        return [pair.record() for pair in pairs]

    def restore(self, records):
        """The pairs a checkpoint's `manifest` names (the work folder has checked their
        files, `check`); files no record names (written after that checkpoint) are
        removed."""
        pairs = [DiskPair(self.folder, r["number"], r["size"], r["sy"], r["yy"], r["sha"])
                 for r in records]
        self.next = max([p.number + 1 for p in pairs], default=0)
        sweep(self.folder, [p.number for p in pairs])
        return pairs

    def discard(self, pair):
        """A pair that never entered the history (no checkpoint can name it)."""
        for suffix in SUFFIXES:
            _remove(pair.path(suffix))


def sweep(folder, keep=()):
    """Remove the pair files in `folder` but those of the pairs numbered `keep`, and any
    unfinished one."""
    wanted = {"%06d%s" % (n, s) for n in keep for s in SUFFIXES}
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name not in wanted and (name.endswith(SUFFIXES) or name.endswith(".tmp")):
            _remove(os.path.join(folder, name))


def _write(f, data):
    f.write(data)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass
