"""The work folder of a render: what it was started with, its finished levels and
its last checkpoint, so that `--resume` continues it and refuses anything else.

    render.json            the settings and inputs (sha256) that decide the picture
    level-K-WxH.png        each finished level, to look at
    state.npz              the last checkpoint (`art.render` state); gone when the
                           render is finished

Every file is written atomically: an interruption while writing leaves the
previous checkpoint whole.
"""

import json
import os

import numpy as np

from art import images, precision
from art.errors import ArtError
from art.files import atomic_path, sha256

# Settings that change only where output goes or what is printed, not the picture.
NOT_RENDERED = ("out", "print_every", "save_every", "animate", "animate_every", "report", "workdir",
                "resume", "checkpoint_every", "cluster", "workers")
# Settings added since work folders were first written, with the one behaviour there was
# before: a render started then resumes as it began.
BEFORE = {"padding": "zero", "edge_margin": 0}
STATE = "state.npz"
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

    def _file(self, name):
        return os.path.join(self.path, name)

    def has_state(self):
        return os.path.exists(self._file(STATE))

    def check_start(self):
        """Refuse a folder a new render cannot start in (an unfinished render's), before
        any slow set-up; `start` checks again."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ArtError("work folder %s is a file" % self.path)
        if self.has_state():
            raise ArtError("%s holds an unfinished render; continue it with --resume %s, or "
                           "remove it" % (self.path, self.path))

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
        self._write_json(RENDER, print_fingerprint)

    def resume(self, print_fingerprint):
        """The state to continue from; refuses a folder of another render."""
        if not os.path.isdir(self.path):
            raise ArtError("--resume %s: no such folder" % self.path)
        try:
            with open(self._file(RENDER)) as f:
                saved = json.load(f)
        except (OSError, ValueError):
            raise ArtError("--resume %s: no render was started there (no readable %s)"
                           % (self.path, RENDER)) from None
        found = differences(saved, print_fingerprint)
        if found:
            raise ArtError("--resume %s: that render was made with other settings: %s"
                           % (self.path, "; ".join(found)))
        if not self.has_state():
            raise ArtError("--resume %s: the render there is finished; nothing to continue"
                           % self.path)
        return self.load_state()

    def load_state(self):
        try:
            with np.load(self._file(STATE), allow_pickle=False) as data:
                flat = {key: data[key] for key in data.files}
        except (OSError, ValueError) as e:
            raise ArtError("--resume %s: cannot read %s: %s" % (self.path, STATE, e)) from None
        return unflatten(flat)

    def save_state(self, state):
        with atomic_path(self._file(STATE)) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **flatten(state))

    def save_level(self, level, image):
        h, w = level.picture
        path = self._file("level-%d-%dx%d.png" % (level.index + 1, w, h))
        images.save_image(path, image)
        return path

    def finish(self):
        if self.has_state():
            os.remove(self._file(STATE))

    def _write_json(self, name, value):
        with atomic_path(self._file(name)) as tmp:
            with open(tmp, "w") as f:
                json.dump(value, f, indent=1)


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
