"""Faults, injected: a full disk at every point where art writes a file, damaged and
foreign checkpoints, signals, and the bad inputs of issue 19.

What must hold: one line and a non-zero exit, never a traceback; the file that was
there before is still there, byte for byte, and no temporary file is left; a
checkpoint that is not whole or not this render's is refused, never painted from.
"""

import builtins
import errno
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from art.commands import cli
from art.errors import ArtError, Interrupted
from art.files import animate, atomic as art_files, images, weights as weights_mod, workdir
from conftest import (PAINT, SHALLOW, assert_refused, base_args, make_random_weights, run_script,
                      run_until)

PICTURE = np.random.default_rng(0).uniform(0, 255, (20, 30, 3))


def fingerprint(**settings):
    return {"settings": dict({"size": "96"}, **settings), "inputs": ["a"], "weights": "w",
            "levels": [{"size": [96, 72], "iterations": 3, "tiles": 0}]}


def a_state(seed=0):
    rng = np.random.default_rng(seed)
    return {"level": np.int64(0), "start": rng.uniform(0, 255, (8, 8, 3)).astype(np.float32),
            "elapsed": np.float64(1.5), "opt/x": rng.normal(size=192).astype(np.float32),
            "opt/g": rng.normal(size=192).astype(np.float32), "opt/f": np.float64(2.0),
            "opt/iterations": np.int64(2), "opt/evaluations": np.int64(3),
            "opt/s": [rng.normal(size=192) for _ in range(2)],
            "opt/y": [rng.normal(size=192) for _ in range(2)]}


def write_gif(path):
    recorder = animate.Recorder(path, every=1)
    recorder.add(1, PICTURE)
    recorder.write()


def write_checkpoint(path):
    work = workdir.Workdir(os.path.dirname(path))
    work.render_id = workdir.render_id(fingerprint())
    work.save_state(a_state())


def write_render_json(path):
    workdir.Workdir(os.path.dirname(path)).start(fingerprint())


def write_weights_and_record(path):
    """fetch_vgg --from FILE: the .npz and its .source.json (the record written last)."""
    from art.files import fetch
    source = os.path.join(os.path.dirname(path), "source.npz")
    if not os.path.exists(source):
        weights_mod.save_npz(make_random_weights(), source)
    fetch.convert(source, path[:-len(".source.json")])


def write_video(path):
    recorder = animate.recorder(path, every=1)
    for i in range(3):
        recorder.add(i + 1, np.roll(PICTURE, i, axis=1))
    recorder.write()


# Every kind of file art writes, each as a function of the path it writes to.
WRITE_POINTS = {
    "png": lambda p: images.save_image(p, PICTURE),
    "png 16-bit": lambda p: images.save_image(p, PICTURE, bit_depth=16),
    "jpg": lambda p: images.save_image(p, PICTURE),
    "tif": lambda p: images.save_image(p, PICTURE),
    "tif 16-bit": lambda p: images.save_image(p, PICTURE, bit_depth=16),
    "gif": write_gif,
    "report json": lambda p: art_files.write_json(p, {"loss": float("nan"), "n": 1}),
    "weights npz": lambda p: weights_mod.save_npz(make_random_weights(), p),
    "checkpoint": write_checkpoint,
    "render.json": write_render_json,
    "weights record": write_weights_and_record,
    "video": write_video,
}
NAMES = {"png": "out.png", "png 16-bit": "out.png", "jpg": "out.jpg", "tif": "out.tif",
         "tif 16-bit": "out.tif", "gif": "run.gif", "report json": "report.json",
         "weights npz": "vgg19.npz", "checkpoint": "state.npz", "render.json": "render.json",
         "weights record": "vgg19.npz.source.json", "video": "run.mp4"}
# What stays in the folder besides the file itself.
ALSO = {"weights record": ["source.npz", "vgg19.npz"], "render.json": ["lock"]}


class _ShortFile:
    """A file whose writes fail as a full disk's do: by raising ENOSPC, or (as Pillow's
    C encoders let them) by writing half and saying nothing."""

    def __init__(self, f, how):
        self.f, self.how = f, how

    def write(self, data):
        if self.how == "raise":
            raise OSError(errno.ENOSPC, "No space left on device")
        self.f.write(data[:len(data) // 2])
        return len(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def full_disk(monkeypatch, how):
    """Make every write to one of art's temporary files (".NAME.xxxx.ext") fail `how`:
    'raise' (ENOSPC at the write), 'short' (half written, unreported) or 'fsync'
    (ENOSPC at the flush to the disk, as file systems with delayed allocation do)."""
    if how == "fsync":
        def failing_fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "fsync", failing_fsync)
        return
    real_open = builtins.open

    def faulty_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        if isinstance(path, (str, bytes, os.PathLike)) and "w" in mode \
                and os.path.basename(os.fspath(path)).startswith("."):
            return _ShortFile(f, how)
        return f
    monkeypatch.setattr(builtins, "open", faulty_open)


FAULTS = [(point, how) for point in sorted(WRITE_POINTS) for how in ("raise", "short", "fsync")
          # ffmpeg writes the video itself, from its own process: only the last step,
          # the flush before the rename, is this process's.
          if point != "video" or how == "fsync"]


@pytest.mark.parametrize("point,how", FAULTS, ids=["%s-%s" % f for f in FAULTS])
def test_a_full_disk_at_any_write_keeps_the_old_file(tmp_path, monkeypatch, point, how):
    if point == "video":
        pytest.importorskip("imageio_ffmpeg")
    path = str(tmp_path / NAMES[point])
    WRITE_POINTS[point](path)
    before = open(path, "rb").read()
    with monkeypatch.context() as patch:
        full_disk(patch, how)
        with pytest.raises(ArtError) as raised:
            WRITE_POINTS[point](path)
    message = str(raised.value)
    assert "\n" not in message and "cannot write %s" % tmp_path in message, message
    assert "the disk is full" in message or "does not read back" in message, message
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == sorted([NAMES[point]] + ALSO.get(point, []))


def test_a_report_is_strict_json(tmp_path):
    path = tmp_path / "report.json"
    art_files.write_json(path, {"losses": [{"total": float("nan")}, {"total": float("inf")}],
                                "n": np.float32(2.5)})

    def no_constants(name):
        raise ValueError("bare %s" % name)
    assert json.loads(path.read_text(), parse_constant=no_constants) == {
        "losses": [{"total": None}, {"total": None}], "n": 2.5}


@pytest.mark.parametrize("target", ["a folder", "a read-only folder", "a missing folder"])
def test_an_unwritable_destination_is_refused_before_any_work(tmp_path, monkeypatch, target):
    if target == "a folder":
        path = tmp_path / "out.png"
        path.mkdir()
        expected = "it is a folder"
    elif target == "a missing folder":
        path = tmp_path / "no" / "out.png"
        expected = "does not exist"
    else:
        path = tmp_path / "out.png"
        # access() answers for this user; root may write anywhere, so the answer is faked.
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(tmp_path)
                            else real_access(p, mode))
        expected = "is not writable"
    with pytest.raises(ArtError, match=expected):
        images.check_output_path(path)


# --- checkpoints ---------------------------------------------------------------------

@pytest.fixture
def work(tmp_path):
    """A work folder of a started render with one checkpoint."""
    folder = workdir.Workdir(tmp_path / "work")
    folder.start(fingerprint())
    folder.save_state(a_state())
    return folder


def test_a_checkpoint_round_trips(work):
    state = workdir.Workdir(work.path).resume(fingerprint())
    expected = a_state()
    assert sorted(state) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(state[key], expected[key])


def rewrite(path, change):
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def nan_in_x(arrays):
    arrays["opt/x"][3] = np.nan


def nan_in_x_no_checksums(arrays):
    nan_in_x(arrays)
    del arrays[workdir.META]


DAMAGE = {
    "NaN in opt/x": (lambda path: rewrite(path, nan_in_x), "opt/x does not match its checksum"),
    "NaN, no checksums": (lambda path: rewrite(path, nan_in_x_no_checksums),
                          "opt/x holds NaN or infinity"),
    "an array dropped": (lambda path: rewrite(path, lambda a: a.pop("elapsed")),
                         "arrays missing or added"),
    "truncated": (lambda path: os.truncate(path, os.path.getsize(path) // 2), "cannot be read"),
    "not a zip": (lambda path: open(path, "wb").write(b"hello"), "cannot be read"),
    "checksums garbled": (lambda path: rewrite(path, lambda a: a.update(
        {workdir.META: np.array("{")})), "its checksums do not read"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_refused(work, damage):
    spoil, expected = DAMAGE[damage]
    spoil(os.path.join(work.path, workdir.STATE))
    with pytest.raises(ArtError, match=re.escape(expected)) as raised:
        workdir.Workdir(work.path).resume(fingerprint())
    assert "\n" not in str(raised.value)


def test_a_checkpoint_of_another_render_is_refused(work, tmp_path):
    other = workdir.Workdir(tmp_path / "other")
    other.start(fingerprint(tv_weight=1.0))
    other.save_state(a_state(seed=1))
    os.replace(os.path.join(other.path, workdir.STATE), os.path.join(work.path, workdir.STATE))
    with pytest.raises(ArtError, match="state.npz belongs to another render"):
        workdir.Workdir(work.path).resume(fingerprint())


def test_a_checkpoint_from_before_checksums_is_still_resumed(work):
    rewrite(os.path.join(work.path, workdir.STATE), lambda a: a.pop(workdir.META))
    state = workdir.Workdir(work.path).resume(fingerprint())
    np.testing.assert_array_equal(state["opt/x"], a_state()["opt/x"])


@pytest.mark.parametrize("text", ["{}", '{"inputs": [], "weights": "w", "levels": []}', "[1]",
                                  "not json", '{"settings": 3, "inputs": [], "weights": "w", '
                                              '"levels": []}'])
def test_a_damaged_render_json_is_refused(work, text):
    with open(os.path.join(work.path, workdir.RENDER), "w") as f:
        f.write(text)
    with pytest.raises(ArtError, match="render.json there is damaged or not art's"):
        workdir.Workdir(work.path).resume(fingerprint())


def test_a_finished_render_says_so_and_an_unstarted_one_starts_again(work, tmp_path):
    os.remove(os.path.join(work.path, workdir.STATE))
    # No checkpoint yet (a Ctrl-C before the first, a deleted state.npz): from the start.
    assert workdir.Workdir(work.path).resume(fingerprint()) is None
    work.finish(fingerprint(), tmp_path / "out.png")
    with pytest.raises(ArtError, match="the render there is finished \\(it wrote .*out.png\\)"):
        workdir.Workdir(work.path).resume(fingerprint())


# --- signals and exit statuses ---------------------------------------------------------

@pytest.fixture
def handlers():
    """Restore this process's SIGTERM and SIGHUP handlers after `cli.run_main` set them."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def exit_of(main, capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.run_main(main, [])
    return stop.value.code, capsys.readouterr().err


@pytest.mark.parametrize("signum,status,line", [
    (signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGHUP, 129, "hung up (SIGHUP)")])
def test_sigterm_and_sighup_end_a_run_as_ctrl_c_does(handlers, capsys, signum, status, line):
    def main(argv):
        os.kill(os.getpid(), signum)
        raise AssertionError("the signal did not interrupt")
    assert exit_of(main, capsys) == (status, line + "\n")


def test_a_bug_is_one_line_and_exit_1(handlers, capsys, monkeypatch):
    monkeypatch.delenv("ART_TRACEBACK", raising=False)

    def main(argv):
        return {}["missing"]
    status, err = exit_of(main, capsys)
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("error: internal error, KeyError: 'missing' (a bug in art; "
                          "ART_TRACEBACK=1 shows where)")


def test_interrupted_says_which_signal():
    assert str(Interrupted(signal.SIGTERM)) == "terminated (SIGTERM)"
    assert isinstance(Interrupted(signal.SIGHUP), KeyboardInterrupt)
    assert cli.exit_status() == 130 and cli.exit_status(signal.SIGTERM) == 143


# --- a painting's own writes ----------------------------------------------------------

MULTI = ["--size", "96", "--schedule", "3,3", "--tile-size", "48", "--init", "noise",
         "--precision", "float32"]


@pytest.mark.slow
def test_a_checkpoint_that_cannot_be_written_ends_in_one_line_and_resumes(paint, tmp_path,
                                                                          monkeypatch):
    """A full disk under --workdir at a level's checkpoint (issue 27, case 6): exit 2, one
    line; the finished level's picture is written beside --out, and --resume continues
    from the level's picture in the work folder instead of painting it again."""
    work = tmp_path / "work"
    real_fsync = os.fsync

    def fsync(fd):
        if "state.npz" in os.readlink("/proc/self/fd/%d" % fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        cut = paint(*SHALLOW, *MULTI, "--out", str(tmp_path / "cut.png"), "--workdir", str(work))
    assert cut.returncode == 2, cut.stderr
    assert cut.stderr.splitlines() == [
        "error: cannot write %s: the disk is full (any file that was there is as it was) at "
        "level 1/2: wrote the picture as it is (48x36, of level 1/2) to %s; the finished levels "
        "are in %s: once it can be written, continue with the same options and --resume %s"
        % (work / "state.npz", tmp_path / "cut.unfinished.png", work, work)]
    assert not (tmp_path / "cut.png").exists() and not (work / "state.npz").exists()
    assert images.load_image(tmp_path / "cut.unfinished.png").shape == (36, 48, 3)
    resumed = paint(*SHALLOW, *MULTI, "--out", str(tmp_path / "resumed.png"), "--resume",
                    str(work), check=0)
    assert "resuming from %s (no checkpoint: the level's picture as saved, in 8 bits): level " \
        "2/2" % (work / "level-1-48x36.png") in resumed.stdout, resumed.stdout
    assert "level 1/2 48x36  iteration" not in resumed.stdout
    paint(*SHALLOW, *MULTI, "--out", str(tmp_path / "whole.png"), "--workdir",
          str(tmp_path / "w2"), check=0)
    # The level's picture was rounded to 8 bits: close to the uninterrupted render, not equal.
    difference = np.abs(images.load_image(tmp_path / "resumed.png")
                        - images.load_image(tmp_path / "whole.png"))
    assert difference.mean() < 1.0, difference.mean()
    again = paint(*SHALLOW, *MULTI, "--out", str(tmp_path / "x.png"), "--resume", str(work))
    assert again.returncode == 2 and "the render there is finished (it wrote %s)" % (
        tmp_path / "resumed.png") in again.stderr


@pytest.mark.slow
def test_a_finished_print_whose_picture_cannot_be_written_is_not_painted_again(paint, tmp_path,
                                                                                monkeypatch):
    """A full disk at the very end of a print: exit 2, one line; --resume then writes the
    finished picture from the checkpoint without painting a single iteration again."""
    work, out = tmp_path / "work", tmp_path / "out.png"
    real_fsync = os.fsync

    def fsync(fd):
        if "out.png" in os.readlink("/proc/self/fd/%d" % fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", fsync)
        cut = paint(*SHALLOW, *MULTI, "--out", str(out), "--workdir", str(work))
    assert cut.returncode == 2 and cut.stderr.splitlines() == [
        "error: cannot write %s: the disk is full (any file that was there is as it was)" % out]
    assert not out.exists() and (work / "state.npz").exists()
    resumed = paint(*SHALLOW, *MULTI, "--out", str(out), "--resume", str(work), check=0)
    assert "resuming from %s: the painting is finished; writing it" % work in resumed.stdout
    assert "iteration 1/" not in resumed.stdout and "wrote %s (0 iterations" % out in resumed.stdout
    paint(*SHALLOW, *MULTI, "--out", str(tmp_path / "whole.png"), "--workdir",
          str(tmp_path / "w2"), check=0)
    np.testing.assert_array_equal(images.load_image(out), images.load_image(tmp_path / "whole.png"))
    assert not (work / "state.npz").exists()


# --- bad input ------------------------------------------------------------------------

# Each refused in one line with exit 2, before any work, with nothing written.
BAD = [
    (["--style", "{d}/style.png", "{d}/style.png", "--style-blend", "nan", "1"],
     "--style-blend weights must be finite numbers >= 0, not all 0; got nan 1$"),
    (["--style", "{d}/style.png", "{d}/style.png", "--style-blend", "0", "0"],
     "--style-blend weights must be finite numbers >= 0, not all 0; got 0 0$"),
    (["--content-layers", "conv4_2=inf"], "bad weight 'inf' for layer conv4_2; expected a "
                                          "finite number >= 0"),
    (["--content-layers", "conv4_2=-1"], "bad weight '-1' for layer conv4_2"),
    (["--style-layers", "conv1_1=1,conv2_1,conv1_1=2"], "layer conv1_1 is named twice"),
    (["--seed", "-1"], "--seed must be a whole number 0-4294967295, got -1$"),
    (["--seed", "4294967296"], "--seed must be a whole number 0-4294967295"),
    (["--style-scale", "0.001"], "the style image scaled to 1x1 .* is too small for layer "
                                 "conv5_1: it needs 16 px a side; raise --style-scale$"),
    (["--style-scale", "1000"], "the style image scaled to 40000x40000 .* needs about .* GB .* "
                                "lower --style-scale or --size$"),
    (["--size", "100000x20"], "the style image scaled to 100000x100000 .* needs about"),
    (["--size", "1000000"], "needs at least .* GB even in tiles with its history on disk "
                            "\\(its own arrays\\)"),
    (["--out", "{d}/adir.png"], "cannot write .*adir.png: it is a folder; name a file$"),
    (["--report", "{d}"], "unknown extension ''"),
    (["--report", "{d}/adir.json"], "cannot write .*adir.json: it is a folder"),
    (["--animate", "{d}/adir.json"], "unknown extension"),
    (["--workdir", "{d}/content.png"], "work folder .*content.png is a file"),
    (["--tls-cert", "{d}/c.pem"], "--tls-ca-file, --tls-cert and --tls-key are for --cluster "
                                  "tls://HOST:PORT$"),
    (["--cluster", "tls://127.0.0.1:8786", "--tls-cert", "{d}/c.pem", "--tiles", "2"],
     "give --tls-ca-file, --tls-cert and --tls-key together"),
    (["--cluster", "tls://127.0.0.1:8786", "--tls-cert", "{d}/c.pem", "--tls-key", "{d}/k.pem",
      "--tls-ca-file", "{d}/ca.pem", "--tiles", "2"], "--tls-ca-file .*ca.pem: no such file"),
    (["--dashboard"], "--dashboard serves the dashboard of the cluster --workers N starts"),
]


@pytest.fixture
def dir_json(files):
    for name in ("adir.json", "adir.png"):
        (files / name).mkdir(exist_ok=True)
    return files


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_writes_nothing(dir_json, paint, args, message):
    assert_refused(dir_json, paint, args, message)


def test_a_huge_reconstruction_is_refused_before_scaling(files, tmp_path, capsys):
    code, _, err = run_script("reconstruct", ["--style", files / "style.png", "--size",
                                              "99999999", "--out-dir", tmp_path / "r"], capsys)
    assert code == 2 and re.fullmatch(r"error: a 99999999x99999999 panel needs about \S+ GB and "
                                      r"this machine has \S+ GB available; choose a smaller "
                                      r"--size\n", err), err
    assert os.listdir(tmp_path) == []


def test_reconstruct_refuses_a_sheet_that_is_a_folder(files, tmp_path, capsys):
    (tmp_path / "sheet.png").mkdir()
    code, _, err = run_script("reconstruct", ["--style", files / "style.png", "--out-dir",
                                              tmp_path, "--weights", files / "random.npz"], capsys)
    assert code == 2 and err == "error: cannot write %s: it is a folder; name a file\n" % (
        tmp_path / "sheet.png")


@pytest.mark.parametrize("args,message", [
    (["--out", "{t}/adir.npz"], "cannot write .*adir.npz: it is a folder"),
    (["--out", "{t}/no/vgg.npz"], "folder .*no does not exist"),
    (["--out", "{t}/vgg.h5"], "must end in .npz"),
    (["--frm", "x"], "unrecognized arguments: --frm x \\(see --help\\)"),
])
def test_fetch_vgg_checks_its_destination_before_downloading(tmp_path, capsys, monkeypatch,
                                                             args, message):
    from art.files import fetch
    monkeypatch.setattr(fetch, "_pip_download", lambda tmpdir: pytest.fail("downloaded"))
    (tmp_path / "adir.npz").mkdir()
    code, out, err = run_script("fetch_vgg", [a.format(t=tmp_path) for a in args], capsys)
    assert code == 2 and err.count("\n") == 1 and re.search(message, err), err
    assert sorted(os.listdir(tmp_path)) == ["adir.npz"]


def test_an_npz_kernel_is_refused_by_its_header_before_it_is_read(tmp_path):
    """A file declaring a 4 GB kernel: its header says so, and nothing more is read."""
    import zipfile
    path = tmp_path / "huge.npz"
    weights_mod.save_npz(make_random_weights(), path)
    header = {"descr": "<f4", "fortran_order": False, "shape": (3, 3, 3, 40000000)}
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()
                   if name != "conv1_1_W.npy"}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        with archive.open("conv1_1_W.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, header)
    with pytest.raises(ArtError, match="conv1_1 kernel: expected 3x3x3x64, got 3x3x3x40000000"):
        weights_mod.load(path)


# --- a real full disk and a real read-only folder (root, where mount works) ---------------

def _mount(folder, options):
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (%s)" % done.stderr.decode().strip())


@pytest.fixture
def tiny_disk(tmp_path):
    folder = tmp_path / "full"
    _mount(folder, "size=256k")
    yield folder
    subprocess.run(["umount", str(folder)])


def fill(folder, leave=4096):
    """Fill the file system of `folder` to `leave` bytes free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(folder / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


@pytest.mark.slow
def test_a_real_full_disk_keeps_the_old_picture(tiny_disk, paint, tmp_path):
    """The issue's reproduction: paint to a small tmpfs, fill it, paint again; and each
    other kind of output onto the full disk."""
    out = tiny_disk / "good.jpg"
    paint(*SHALLOW, "--out", str(out), check=0)
    before = out.read_bytes()
    fill(tiny_disk)
    elsewhere = str(tmp_path / "elsewhere.png")
    cases = [("good.jpg", ["--out", str(out)]),
             ("good.tif", ["--out", str(tiny_disk / "good.tif"), "--bit-depth", "16"]),
             ("run.gif", ["--out", elsewhere, "--animate", str(tiny_disk / "run.gif")])]
    if animate._ffmpeg() is not None:
        # ffmpeg stops at the full disk and ends with status 0: the video read back says so.
        cases.append(("run.mp4", ["--out", elsewhere, "--animate", str(tiny_disk / "run.mp4"),
                                  "--animate-every", "1"]))
    cases.append(("report.json", ["--out", elsewhere, "--report", str(tiny_disk / "report.json")]))
    for name, target in cases:
        if name == "report.json":
            with open(tiny_disk / "filler2", "wb") as f:      # the last 4 kB: a report fits
                f.write(b"\0" * 4096)
        proc = paint(*SHALLOW, "--size", "400", *target)
        assert proc.returncode == 2, proc.stdout
        assert re.fullmatch(r"error: cannot write \S+%s: the disk is full \(any file that was "
                            r"there is as it was\)\n" % re.escape(name), proc.stderr), proc.stderr
    assert out.read_bytes() == before
    assert sorted(os.listdir(tiny_disk)) == ["filler", "filler2", "good.jpg"]


@pytest.mark.slow
def test_a_real_read_only_folder_is_refused_before_any_work(tmp_path, paint):
    folder = tmp_path / "ro"
    _mount(folder, "size=64k,ro")
    try:
        proc = paint("--out", str(folder / "out.png"))
        assert proc.returncode == 2
        assert proc.stderr == "error: cannot write %s: folder %s is not writable\n" % (
            folder / "out.png", folder)
        assert "painting" not in proc.stdout
    finally:
        subprocess.run(["umount", str(folder)])


# --- signals at several points of a real render, then --resume -------------------------

# Coarse-to-fine in tiles: level 1 48x36 (3 iterations), level 2 96x72 in tiles of 48.
# Level 2's 30 iterations keep the child painting for seconds after each marker: with
# 12, a loaded machine's test process read the marker after the child had finished
# (exit 0, not 130), and most likely once as it was exiting (SIGHUP, answered by SIGSEGV).
RENDER = ["--size", "96", "--schedule", "3,30", "--tile-size", "48", "--init", "noise",
          "--print-every", "1", "--style-layers", "conv1_1,conv2_1", "--content-layers",
          "conv2_2", "--precision", "float32"]
# (signal, the progress line it is sent at, exit status, the size of the picture written).
# Each signal once: a cut in level 1 and one in level 2 follow the same path whichever
# signal makes them.
CUTS = {
    "SIGINT before the first checkpoint": (signal.SIGINT, "painting ", 130, None),
    "SIGTERM in level 1": (signal.SIGTERM, "level 1/2 48x36  iteration 2/", 143, (48, 36)),
    "SIGHUP in level 2": (signal.SIGHUP, "level 2/2 96x72  iteration 2/", 129, (96, 72)),
    "SIGKILL in level 2": (signal.SIGKILL, "level 2/2 96x72  iteration 3/", -9, None),
}


@pytest.fixture(scope="module")
def whole(files, tmp_path_factory):
    """The uninterrupted render, in a process of its own as every cut one is."""
    folder = tmp_path_factory.mktemp("whole")
    args = base_args(files) + RENDER + ["--out", str(folder / "whole.png"), "--workdir",
                                        str(folder / "work")]
    done = subprocess.run([sys.executable, PAINT] + args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return images.load_image(folder / "whole.png")


@pytest.mark.slow
@pytest.mark.parametrize("cut", sorted(CUTS))
def test_a_render_cut_by_a_signal_resumes_to_the_same_picture(files, tmp_path, whole,
                                                              cut):
    signum, marker, status, written = CUTS[cut]
    work, out = tmp_path / "work", tmp_path / "out.png"
    args = base_args(files) + RENDER + ["--out", str(out)]
    code, err = run_until(args + ["--workdir", str(work)], marker,
                          then=lambda proc: proc.send_signal(signum))
    assert code == status, err
    if signum != signal.SIGKILL:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
    if written is not None:
        assert lines[0].startswith(str(Interrupted(signum)) + " at level ")
        assert "wrote the picture as it is" in lines[0] and "--resume %s" % work in lines[0]
        # Beside --out, never in its place: --out only ever holds a finished picture.
        assert not out.exists()
        assert images.load_image(tmp_path / "out.unfinished.png").shape[1::-1] == written
    done = subprocess.run([sys.executable, PAINT] + args + ["--resume", str(work)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(images.load_image(out), whole)
    assert not (work / "state.npz").exists() and not (tmp_path / "out.unfinished.png").exists()


# A child that runs scripts/paint.py and SIGKILLs itself in the middle of writing the
# optimiser's history: after the first chunk of the third pair of level 2.
KILLED_IN_A_HISTORY_WRITE = """
import os, runpy, signal, sys
from art.files import history
begin, write, levels = history.DiskStore.begin, history._write, []
def begun(store):
    levels.append(1)
    begin(store)
def dies(f, data):
    write(f, data)
    if len(levels) == 2 and ".000002.s" in f.name:
        os.kill(os.getpid(), signal.SIGKILL)
history.DiskStore.begin, history._write = begun, dies
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.slow
def test_a_render_killed_while_writing_its_history_resumes_to_the_same_picture(
        files, tmp_path, whole):
    """--history disk: the pairs are files in the work folder, the checkpoint names them.
    SIGKILL half-way through one leaves it half written; --resume continues from the
    last checkpoint, past it, to the uninterrupted picture (painted with the history in
    memory: the two are the same bits)."""
    work, out = tmp_path / "work", tmp_path / "out.png"
    args = base_args(files) + RENDER + ["--out", str(out), "--history", "disk",
                                        "--checkpoint-every", "0.0001"]
    done = subprocess.run([sys.executable, "-c", KILLED_IN_A_HISTORY_WRITE, PAINT] + args
                          + ["--workdir", str(work)], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert any(name.endswith(".tmp") for name in os.listdir(work / "history"))
    done = subprocess.run([sys.executable, PAINT] + args + ["--resume", str(work)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "resuming from %s: level 2/2" % work in done.stdout
    np.testing.assert_array_equal(images.load_image(out), whole)
    assert os.listdir(work / "history") == []


@pytest.mark.slow
def test_a_full_disk_while_writing_the_history_is_one_line_and_resumes(files, tmp_path, whole):
    """The work folder on a small tmpfs, filled while level 2 paints: the next pair cannot
    be written. One line, exit 2, the last checkpoint kept; once space is freed, --resume
    paints the same picture as an uninterrupted run."""
    folder = tmp_path / "disk"
    _mount(folder, "size=16m")
    try:
        work, out = folder / "work", tmp_path / "out.png"
        args = base_args(files) + RENDER + ["--out", str(out), "--history", "disk"]
        code, err = run_until(args + ["--workdir", str(work)], "level 2/2 96x72  iteration 3/",
                              then=lambda proc: fill(folder))
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and re.match(
            r"error: cannot write the optimiser's history in \S+: the disk is full at level "
            r"2/2: .*--resume %s" % re.escape(str(work)), lines[0]), err
        assert (work / "state.npz").exists()
        os.remove(folder / "filler")
        done = subprocess.run([sys.executable, PAINT] + args + ["--resume", str(work)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        np.testing.assert_array_equal(images.load_image(out), whole)
    finally:
        subprocess.run(["umount", str(folder)])


def test_a_device_is_never_replaced_and_a_link_is_written_through(tmp_path):
    with pytest.raises(ArtError, match="cannot write /dev/null: it is not a regular file"):
        art_files.write_json("/dev/null", {})
    target = tmp_path / "real.png"
    images.save_image(target, PICTURE * 0)
    (tmp_path / "link.png").symlink_to(target)
    images.save_image(tmp_path / "link.png", PICTURE)
    assert (tmp_path / "link.png").is_symlink()
    np.testing.assert_array_equal(images.load_image(target), images.to_uint8(PICTURE))
