"""The work folder of a render: what it was started with, its finished levels and
its last checkpoint, so that `--resume` continues it and refuses anything else.

    render.json            the settings and inputs (sha256) that decide the picture
    level-K-WxH.png        each finished level, to look at
    state.npz              the last checkpoint (`art.render` state), with the sha256 of
                           every array and the render it belongs to; gone when the
                           render is finished (render.json then says so)

Every file is written atomically: an interruption or a full disk while writing
leaves the previous checkpoint whole. A checkpoint that does not match its
checksums or its render is refused, never painted from.
"""

import hashlib
import json
import os

import numpy as np

from art import images, precision
from art.errors import ArtError
from art.files import atomic_path, check_writable, sha256, verify_zip, write_json

# Settings that change only where output goes or what is printed, not the picture.
NOT_RENDERED = ("out", "print_every", "save_every", "animate", "animate_every", "report", "workdir",
                "resume", "checkpoint_every", "cluster", "workers", "dashboard", "tls_ca_file",
                "tls_cert", "tls_key")
# Settings added since work folders were first written, with the one behaviour there was
# before: a render started then resumes as it began.
BEFORE = {"padding": "zero", "edge_margin": 0}
STATE = "state.npz"
# The key of a checkpoint's own record: its render and the sha256 of every array.
META = "meta"
RENDER = "render.json"


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


class Workdir:
    """A render's folder. `start` for a new render, `resume` to continue one."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.render_id = None

    def _file(self, name):
        return os.path.join(self.path, name)

    def has_state(self):
        return os.path.exists(self._file(STATE))

    def check_start(self):
        """Refuse a folder a new render cannot start in (an unfinished render's, or one
        that cannot be written), before any slow set-up; `start` checks again."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ArtError("work folder %s is a file" % self.path)
        if self.has_state():
            raise ArtError("%s holds an unfinished render; continue it with --resume %s, or "
                           "remove it" % (self.path, self.path))
        if os.path.isdir(self.path):
            check_writable(self._file(RENDER))
        elif os.path.isdir(os.path.dirname(os.path.abspath(self.path))):
            check_writable(self.path)

    def start(self, print_fingerprint):
        """Begin a new render here; refuses to overwrite an unfinished one."""
        self.check_start()
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise ArtError("cannot create work folder %s: %s" % (self.path, e.strerror)) from None
        for name in os.listdir(self.path):
            if name.startswith("level-") and name.endswith(".png"):
                os.remove(self._file(name))
        self.render_id = render_id(print_fingerprint)
        write_json(self._file(RENDER), print_fingerprint)

    def resume(self, print_fingerprint):
        """The state to continue from (None: nothing was checkpointed yet, so the render
        starts again from the beginning); refuses a folder of another render, a finished
        one, and a checkpoint that is damaged or not this render's."""
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
        if not self.has_state():
            return None
        return self.load_state()

    def load_state(self):
        """The checkpoint, checked whole and this render's, or ArtError saying what is wrong."""
        where = "--resume %s: %s" % (self.path, STATE)
        try:
            with np.load(self._file(STATE), allow_pickle=False) as data:
                flat = {key: data[key] for key in data.files}
        except Exception as e:      # noqa: BLE001 -- a damaged zip raises any of a dozen
            raise ArtError("%s cannot be read (%s); remove it to paint the render again from "
                           "the start" % (where, str(e) or type(e).__name__)) from None
        meta = flat.pop(META, None)
        if meta is not None:
            try:
                meta = json.loads(str(meta))
                sums, owner = meta["arrays"], meta["render"]
            except (ValueError, KeyError, TypeError):
                raise ArtError("%s is damaged (its checksums do not read)" % where) from None
            if owner != self.render_id:
                raise ArtError("%s belongs to another render; remove it to paint this one "
                               "again from the start" % where)
            if sorted(sums) != sorted(flat):
                raise ArtError("%s is damaged (arrays missing or added)" % where)
            for key, value in flat.items():
                if array_sha256(value) != sums[key]:
                    raise ArtError("%s is damaged (%s does not match its checksum); remove it "
                                   "to paint the render again from the start" % (where, key))
        # Checkpoints written before checksums (no META) are taken on this check alone.
        for key, value in flat.items():
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise ArtError("%s is damaged (%s holds NaN or infinity)" % (where, key))
        return unflatten(flat)

    def save_state(self, state):
        flat = flatten(state)
        meta = {"render": self.render_id,
                "arrays": {key: array_sha256(value) for key, value in flat.items()}}
        flat[META] = np.array(json.dumps(meta))
        with atomic_path(self._file(STATE), verify=verify_zip) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **flat)

    def save_level(self, level, image):
        h, w = level.picture
        path = self._file("level-%d-%dx%d.png" % (level.index + 1, w, h))
        images.save_image(path, image)
        return path

    def finish(self, print_fingerprint, out):
        """Mark the render finished (it wrote `out`) and drop its checkpoint."""
        write_json(self._file(RENDER), dict(print_fingerprint, finished=os.path.abspath(out)))
        if self.has_state():
            os.remove(self._file(STATE))


def render_id(print_fingerprint):
    """A short hash of a fingerprint: what a checkpoint names as its render."""
    text = json.dumps(print_fingerprint, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def array_sha256(value):
    value = np.ascontiguousarray(value)
    digest = hashlib.sha256(("%s %s" % (value.dtype.str, value.shape)).encode())
    digest.update(value.tobytes() if value.dtype.kind != "U" else str(value).encode("utf-8"))
    return digest.hexdigest()


def _is_fingerprint(saved):
    return isinstance(saved, dict) and isinstance(saved.get("settings"), dict) \
        and isinstance(saved.get("inputs"), list) and isinstance(saved.get("weights"), str) \
        and isinstance(saved.get("levels"), list)


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
