"""The work folder of a render: what it was started with, its finished levels and
its last checkpoint, so that `--resume` continues it and refuses anything else.

    render.json            the settings and inputs (sha256) that decide the picture
    level-K-WxH.png        each finished level, to look at
    state.npz              the last checkpoint (`art.engine.render` state), with the sha256 of
                           every array and the render it belongs to; gone when the
                           render is finished (render.json then says so)
    runs.json              every run's wall time, peak memory and disk used, and the painting
                           time at each finished level's end (summed over the runs)
    history/               the optimiser's history of a level too large to keep it in
                           memory (`art.files.history`): the checkpoint names its files
                           and their sha256
    lock                   held (flock) by the one run painting here; it names that run

Every file is written atomically: an interruption or a full disk while writing
leaves the previous checkpoint whole. A checkpoint that does not match its
checksums or its render is refused, never painted from. With no checkpoint
(a full disk at a level's end), a resumed render continues from its last
finished level's picture.

One run at a time: the folder is locked with flock(2) for the whole run. The
kernel releases such a lock when its process ends, however it ends (SIGKILL, a
crash): a lock left by a dead run is never held, so it cannot block a resume;
the file itself stays and is simply locked again.
"""

import errno
import fcntl
import hashlib
import json
import numbers
import os
import re
import socket

import numpy as np

from art.errors import ArtError
from art.files import history, images
from art.files.atomic import atomic_path, check_writable, sha256, verify_zip, write_json
from art.plan import precision

# Settings that change only where output goes or what is printed, not the picture.
NOT_RENDERED = ("out", "print_every", "save_every", "animate", "animate_every", "report", "workdir",
                "resume", "history", "checkpoint_every", "cluster", "workers", "dashboard", "tls_ca_file",
                "tls_cert", "tls_key")
# Settings added since work folders were first written, with the one behaviour there was
# before: a render started then resumes as it began.
BEFORE = {"padding": "zero", "edge_margin": 0, "fine_style_limit": 0.0,
          "fine_start_noise": 0.0}
STATE = "state.npz"
LOCK = "lock"
HISTORY = "history"
# A checkpoint's manifest of the history on disk (`art.engine.lbfgs.LBFGS.state`).
HISTORY_KEY = "opt/history"
LEVEL_PICTURE = re.compile(r"level-(\d+)-(\d+)x(\d+)\.png$")
# The key of a checkpoint's own record: its render and the sha256 of every array.
META = "meta"
RENDER = "render.json"
RUNS = "runs.json"


def fingerprint(config, inputs, weights_path, levels):
    """What decides the picture: settings, input files' contents, weights, levels."""
    settings = {k: v for k, v in config.to_dict().items() if k not in NOT_RENDERED}
    # Paths may move between runs; their contents decide.
    for key in ("content", "style", "weights"):
        settings.pop(key, None)
    if config.init not in ("content", "noise"):
        settings["init"] = "image"
    # 'auto' may mean another arithmetic on another machine: what decides is the one used.
    settings["precision"] = precision.of(config)
    return {"settings": json.loads(json.dumps(settings)),
            "inputs": [sha256(path) for path in inputs],
            "weights": sha256(weights_path),
            "levels": [{"size": [level.shape[1], level.shape[0]], "iterations": level.iterations,
                        "tiles": len(level.tiles) if level.tiles else 0} for level in levels]}


def differences(saved, wanted):
    """Readable differences between two fingerprints, at most a few."""
    found = []
    for key in sorted(set(saved["settings"]) | set(wanted["settings"])):
        a, b = (fingerprint["settings"].get(key, BEFORE.get(key))
                for fingerprint in (saved, wanted))
        if a != b:
            found.append("--%s was %s, now %s" % (key.replace("_", "-"), json.dumps(a), json.dumps(b)))
    if saved["inputs"] != wanted["inputs"]:
        found.append("the content, style or init images differ")
    if saved["weights"] != wanted["weights"]:
        found.append("the VGG weights differ")
    if saved["levels"] != wanted["levels"] and not found:
        found.append("the levels differ (%s, now %s)" % (
            ", ".join("%dx%d" % tuple(level["size"]) for level in saved["levels"]),
            ", ".join("%dx%d" % tuple(level["size"]) for level in wanted["levels"])))
    return found[:4]


def no_runs():
    """What runs.json says of a render no run has recorded (`Workdir.runs`)."""
    return {"runs": [], "level_ends": {}, "level_peaks": {}}


class Workdir:
    """A render's folder. `start` for a new render, `resume` to continue one."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.render_id = None
        self._lock = None
        self._made = False

    def _file(self, name):
        return os.path.join(self.path, name)

    @property
    def history_folder(self):
        return self._file(HISTORY)

    def history_store(self):
        """Where a level keeps its optimiser's history on disk."""
        return history.DiskStore(self.history_folder)

    def runs(self):
        """What runs.json says: {"runs": [one dict per run that ended], "level_ends":
        {level number (str): seconds of painting when it ended}, "level_peaks": {level
        number (str): the peak memory of the run that finished it, in bytes, when it
        ended}}; empty when unreadable."""
        try:
            with open(self._file(RUNS)) as f:
                found = json.load(f)
            if isinstance(found.get("runs"), list) and isinstance(found.get("level_ends"), dict):
                # Written before the peaks were kept: none known.
                if not isinstance(found.setdefault("level_peaks", {}), dict):
                    found["level_peaks"] = {}
                return found
        except (OSError, ValueError, AttributeError):
            pass
        return no_runs()

    def record(self, run=None, level=None, elapsed=None, peak=None):
        """Add a finished `run` (a dict), or the painting time `elapsed` at the end of
        level `level` (from 0) and the process's `peak` memory then, to runs.json. A
        failure to write it (a full disk) is not a failure of the render: the report
        then has less to say."""
        found = self.runs()
        if run is not None:
            found["runs"].append(run)
        if level is not None:
            found["level_ends"][str(level + 1)] = elapsed
            found["level_peaks"][str(level + 1)] = peak
        try:
            write_json(self._file(RUNS), found)
        except ArtError:
            pass

    def used(self):
        """Bytes of the checkpoint and history here: a resumed render writes over them."""
        paths = [self._file(STATE)]
        if os.path.isdir(self.history_folder):
            paths += [os.path.join(self.history_folder, n) for n in os.listdir(self.history_folder)]
        return sum(os.path.getsize(p) for p in paths if os.path.isfile(p))

    def has_state(self):
        return os.path.exists(self._file(STATE))

    def unfinished(self):
        """True when the folder holds a render that --resume would continue: a checkpoint,
        or a finished level's picture of a render not marked finished."""
        if self.has_state():
            return True
        if not self.level_pictures():
            return False
        try:
            with open(self._file(RENDER)) as f:
                return not json.load(f).get("finished")
        except (OSError, ValueError, AttributeError):
            return True

    def check_start(self):
        """Refuse a folder a new render cannot start in (an unfinished render's, or one
        that cannot be written), before any slow set-up; `start` checks again."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ArtError("work folder %s is a file" % self.path)
        if self.unfinished():
            raise ArtError("%s holds an unfinished render; continue it with --resume %s, or "
                           "remove it" % (self.path, self.path))
        if os.path.isdir(self.path):
            check_writable(self._file(RENDER))
        elif os.path.isdir(os.path.dirname(os.path.abspath(self.path))):
            check_writable(self.path)

    def lock(self, create=False):
        """Hold the folder for this run (see the module's docstring), or ArtError naming
        the run that holds it. `create`: make the folder first (a new render's)."""
        self._made = create and not os.path.isdir(self.path)
        if create:
            try:
                os.makedirs(self.path, exist_ok=True)
            except OSError as e:
                raise ArtError("cannot create work folder %s: %s" % (self.path, e.strerror)) \
                    from None
        path = self._file(LOCK)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise ArtError("cannot lock work folder %s: %s" % (self.path, e.strerror)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise ArtError("work folder %s is in use by another render (%s); wait for it "
                               "to end, or use another --workdir"
                               % (self.path, holder or "a running process")) from None
            raise ArtError("cannot lock work folder %s: %s; use a folder on a local disk"
                           % (self.path, e.strerror)) from None
        # Who holds it, for the message above; written in place (not atomically: the
        # lock is the flock, this text only names its holder).
        os.ftruncate(fd, 0)
        os.pwrite(fd, ("process %d on %s" % (os.getpid(), socket.gethostname())).encode(), 0)
        self._lock = fd

    def unlock(self):
        if self._lock is None:
            return
        if self._made and not os.path.exists(self._file(RENDER)):
            # Made for a render that never started (refused by a later check, a cluster
            # that did not answer): leave no trace of it.
            try:
                os.remove(self._file(LOCK))
                os.rmdir(self.path)
            except OSError:
                pass
        os.close(self._lock)
        self._lock = None

    def __del__(self):
        self.unlock()

    def start(self, print_fingerprint):
        """Begin a new render here; refuses to overwrite an unfinished one."""
        self.check_start()
        if self._lock is None:
            self.lock(create=True)
        for name in self.level_pictures() + ([RUNS] if os.path.exists(self._file(RUNS)) else []):
            os.remove(self._file(name))
        self.render_id = render_id(print_fingerprint)
        write_json(self._file(RENDER), print_fingerprint)

    def resume(self, print_fingerprint):
        """The state to continue from (None: nothing was checkpointed yet, so the render
        starts again from the beginning); refuses a folder of another render, a finished
        one, and a checkpoint that is damaged or not this render's."""
        self.check_resume(print_fingerprint)
        if not self.has_state():
            return None
        return self.load_state()

    def check_resume(self, print_fingerprint):
        """Refuse a folder that holds no render to continue, another render, or a finished
        one; reads render.json alone."""
        if not os.path.isdir(self.path):
            raise ArtError("--resume %s: no such folder" % self.path)
        try:
            with open(self._file(RENDER)) as f:
                saved = json.load(f)
        except OSError:
            raise ArtError("--resume %s: no render was started there (no readable %s); start "
                           "one with --workdir %s" % (self.path, RENDER, self.path)) from None
        except ValueError:
            saved = None
        if not _is_fingerprint(saved):
            raise ArtError("--resume %s: %s there is damaged or not art's; start the render "
                           "again with --workdir %s after removing it" % (self.path, RENDER,
                                                                          self.path))
        found = differences(saved, print_fingerprint)
        if found:
            raise ArtError("--resume %s: that render was made with other settings: %s"
                           % (self.path, "; ".join(found)))
        self.render_id = render_id(print_fingerprint)
        if saved.get("finished"):
            raise ArtError("--resume %s: the render there is finished (it wrote %s); nothing "
                           "to continue" % (self.path, saved["finished"]))

    def disk_used(self):
        """Bytes of every file here (the checkpoint, the history, the levels' pictures)."""
        total = 0
        for root, _, names in os.walk(self.path):
            for name in names:
                try:
                    total += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
        return total

    def level_pictures(self):
        """The names of the finished levels' pictures here."""
        if not os.path.isdir(self.path):
            return []
        return sorted(name for name in os.listdir(self.path) if LEVEL_PICTURE.match(name))

    def last_level(self, levels):
        """(index, path) of the finest finished level of `levels` whose picture is here
        (its name says its level and size), or None."""
        found = None
        for name in self.level_pictures():
            k, w, h = (int(v) for v in LEVEL_PICTURE.match(name).groups())
            if 1 <= k <= len(levels) and levels[k - 1].picture == (h, w) \
                    and (found is None or k - 1 > found[0]):
                found = (k - 1, self._file(name))
        return found

    def load_state(self):
        """The checkpoint, checked whole and this render's, or ArtError saying what is wrong."""
        where = "--resume %s: %s" % (self.path, STATE)
        # What every refusal adds: how to go on without this checkpoint.
        todo = "; remove it and --resume again to continue from the last finished level " \
            "(or from the start)"
        try:
            with np.load(self._file(STATE), allow_pickle=False) as data:
                flat = {key: data[key] for key in data.files}
        except Exception as e:      # noqa: BLE001 -- a damaged zip raises any of a dozen
            raise ArtError("%s cannot be read (%s)%s" % (where, str(e) or type(e).__name__,
                                                         todo)) from None
        meta = flat.pop(META, None)
        if meta is not None:
            try:
                meta = json.loads(str(meta))
                sums, owner = meta["arrays"], meta["render"]
            except (ValueError, KeyError, TypeError):
                raise ArtError("%s is damaged (its checksums do not read)%s" % (where, todo)) \
                    from None
            if owner != self.render_id:
                raise ArtError("%s belongs to another render%s" % (where, todo))
            if not isinstance(sums, dict) or sorted(sums) != sorted(flat):
                raise ArtError("%s is damaged (arrays missing or added)%s" % (where, todo))
            for key, value in flat.items():
                if array_sha256(value) != sums[key]:
                    raise ArtError("%s is damaged (%s does not match its checksum)%s"
                                   % (where, key, todo))
        # Checkpoints written before checksums (no META) are taken on this check alone.
        problem = state_problem(flat)
        if problem:
            raise ArtError("%s cannot be resumed (%s)%s" % (where, problem, todo))
        for pair in self._history_pairs(flat):
            problem = pair.check()
            if problem:
                raise ArtError("%s names the optimiser's history, and %s%s"
                               % (where, problem, todo))
        return unflatten(flat)

    def _history_pairs(self, flat):
        """The pairs on disk a checkpoint names (`art.files.history.DiskPair`)."""
        if HISTORY_KEY not in flat:
            return []
        return [history.DiskPair(self.history_folder, r["number"], r["size"], r["sy"], r["yy"],
                                 r["sha"]) for r in json.loads(str(flat[HISTORY_KEY]))]

    def save_state(self, state):
        flat = flatten(state)
        problem = state_problem(flat)
        if problem:
            # A bug in art, never a user's doing: refuse to write what could not resume.
            raise ValueError("refusing to checkpoint a state that cannot resume: %s" % problem)
        meta = {"render": self.render_id,
                "arrays": {key: array_sha256(value) for key, value in flat.items()}}
        flat[META] = np.array(json.dumps(meta))
        with atomic_path(self._file(STATE), verify=verify_zip) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **flat)
        # History files this checkpoint does not name are no longer the live optimiser's
        # (older pairs, an earlier level's) and no checkpoint can go back to them.
        if os.path.isdir(self.history_folder):
            history.sweep(self.history_folder, [p.number for p in self._history_pairs(flat)])

    def save_level(self, level, image):
        path = self._file(level_name(level.index + 1, level.picture) + ".png")
        images.save_image(path, image)
        return path

    def finish(self, print_fingerprint, out):
        """Mark the render finished (it wrote `out`) and drop its checkpoint."""
        write_json(self._file(RENDER), dict(print_fingerprint, finished=os.path.abspath(out)))
        if self.has_state():
            os.remove(self._file(STATE))


def level_name(number, shape):
    """What a level's pictures are named by: level-K-WxH, K from 1 (`LEVEL_PICTURE`)."""
    return "level-%d-%dx%d" % (number, shape[1], shape[0])


def render_id(print_fingerprint):
    """A short hash of a fingerprint: what a checkpoint names as its render."""
    text = json.dumps(print_fingerprint, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def array_sha256(value):
    value = np.ascontiguousarray(value)
    digest = hashlib.sha256(("%s %s" % (value.dtype.str, value.shape)).encode())
    if value.dtype.kind == "U":
        digest.update(str(value).encode("utf-8"))
    else:
        # Its own bytes, not a copy of them: a print's iterate is gigabytes.
        digest.update(memoryview(value.reshape(-1)).cast("B"))
    return digest.hexdigest()


def _count(value, low):
    """True for a whole number >= low (a JSON bool is not a number here)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def _is_level(level):
    return isinstance(level, dict) and isinstance(level.get("size"), list) \
        and len(level["size"]) == 2 and all(_count(v, 1) for v in level["size"]) \
        and _count(level.get("iterations"), 1) and _count(level.get("tiles"), 0)


def _is_fingerprint(saved):
    """A fingerprint whose every field has the type and range `differences` reads."""
    return isinstance(saved, dict) and isinstance(saved.get("settings"), dict) \
        and isinstance(saved.get("inputs"), list) \
        and all(isinstance(v, str) for v in saved["inputs"]) \
        and isinstance(saved.get("weights"), str) \
        and isinstance(saved.get("levels"), list) and len(saved["levels"]) >= 1 \
        and all(_is_level(level) for level in saved["levels"])


def _scalar(value, kinds):
    return value.ndim == 0 and value.dtype.kind in kinds


def state_problem(flat):
    """What makes a flattened checkpoint unable to resume (None: nothing): every array
    numeric and finite, the level's start a picture, counts whole and >= 0, and the
    optimiser's vectors (if any) of one size."""
    flat = {key: np.asarray(value) for key, value in flat.items()}
    if HISTORY_KEY in flat:
        problem = _history_problem(flat.pop(HISTORY_KEY), flat.get("opt/x"))
        if problem:
            return problem
    for key, value in flat.items():
        if value.dtype.kind not in "iuf":
            return "%s is not numbers" % key
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return "%s holds NaN or infinity" % key
    for key in ("level", "start", "elapsed"):
        if key not in flat:
            return "%s is missing" % key
    if not _scalar(flat["level"], "iu") or flat["level"] < 0:
        return "level is not a level's number"
    if not _scalar(flat["elapsed"], "f") or flat["elapsed"] < 0:
        return "elapsed is not a time"
    start = flat["start"]
    if start.ndim != 3 or start.shape[2] != 3 or min(start.shape[:2]) < 1:
        return "start is not a picture"
    for key, value in flat.items():
        if key.endswith("#count") or key.split("/")[-1] in ("iterations", "evaluations") \
                or key == "tile":
            if not _scalar(value, "iu") or value < 0:
                return "%s is not a count" % key
    for key in [k for k in flat if k.endswith("#count")]:
        name = key[:-len("#count")]
        if any("%s#%d" % (name, i) not in flat for i in range(int(flat[key]))):
            return "%s is incomplete" % name
    if "opt/x" in flat:
        size = flat["opt/x"].size
        for key in ("opt/g", "opt/m", "opt/v"):
            if key in flat and flat[key].size != size:
                return "%s does not match opt/x" % key
        vectors = [v for k, v in flat.items() if re.match(r"opt/[sy]#\d+$", k)]
        if any(v.size != size for v in vectors):
            return "the optimiser's history does not match opt/x"
        for key in ("opt/f", "opt/iterations", "opt/evaluations"):
            if key not in flat:
                return "%s is missing" % key
    elif any(k.startswith("opt/") for k in flat):
        return "opt/x is missing"
    return None


def _history_problem(value, x):
    """What is wrong with a checkpoint's manifest of the history on disk (None: nothing)."""
    try:
        records = json.loads(str(value))
        ok = isinstance(records, list) and all(
            _count(r["number"], 0) and _count(r["size"], 1) and isinstance(r["sha"], dict)
            and sorted(r["sha"]) == sorted(history.SUFFIXES)
            and all(isinstance(r[k], float) for k in ("sy", "yy")) for r in records)
    except (ValueError, TypeError, KeyError):
        ok = False
    if not ok or value.ndim != 0:
        return "the manifest of the optimiser's history does not read"
    if x is None:
        return "opt/x is missing"
    if any(r["size"] != x.size for r in records):
        return "the optimiser's history does not match opt/x"
    return None


def flatten(state):
    """Lists of arrays (the optimiser's history) become numbered keys, for npz."""
    flat = {}
    for key, value in state.items():
        if isinstance(value, list):
            flat[key + "#count"] = np.int64(len(value))
            flat.update({"%s#%d" % (key, i): v for i, v in enumerate(value)})
        else:
            flat[key] = value
    return flat


def unflatten(flat):
    state = {key: value for key, value in flat.items() if "#" not in key}
    for key in [k for k in flat if k.endswith("#count")]:
        name = key[:-len("#count")]
        state[name] = [flat["%s#%d" % (name, i)] for i in range(int(flat[key]))]
    return state
