"""Issue 27: checkpoints that always resume, one render per work folder, no picture of an
unfinished run over a finished one, and one line (never exit 0, never an internal error)
for requests that cannot paint. One test (or more) per case of the issue, numbered."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from art.engine import lbfgs, optim, tiled, untiled
from art.errors import ArtError
from art.files import images, workdir
from conftest import FLOAT32, SHALLOW, Function, assert_refused, run_script

ONE_PIECE = [*SHALLOW, *FLOAT32, "--init", "noise", "--iterations", "3"]


def stop_at_evaluation(monkeypatch, n):
    """Ctrl-C inside the n-th evaluation of the run (whole or tiled), once."""
    calls = {"n": 0}
    for cls in (untiled.WholeEvaluator, tiled.TiledEvaluator):
        real = cls.evaluate

        def evaluate(self, image, real=real):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return real(self, image)
        monkeypatch.setattr(cls, "evaluate", evaluate)
    return calls


# --- 1. a checkpoint holds only a state that resumes --------------------------------

@pytest.mark.parametrize("make", [lambda: lbfgs.LBFGS(5), lambda: optim.Adam(5)],
                         ids=["lbfgs", "adam"])
def test_an_optimiser_has_not_started_until_its_first_evaluation_has_finished(make):
    def interrupted(x):
        raise KeyboardInterrupt
    optimizer = make()
    with pytest.raises(KeyboardInterrupt):
        optimizer.minimize(Function(interrupted, 4), np.ones(4, np.float32))
    assert not optimizer.started
    optimizer = make()
    optimizer.minimize(Function(lambda x: (float(x @ x), 2 * x), 4), np.ones(4, np.float32))
    assert optimizer.started and np.isfinite(optimizer.state()["f"])


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_ctrl_c_in_the_first_evaluation_leaves_a_checkpoint_that_resumes(paint, tmp_path,
                                                                        monkeypatch, optimizer):
    work = tmp_path / "work"
    args = [*ONE_PIECE, "--optimizer", optimizer]
    with monkeypatch.context() as patch:
        stop_at_evaluation(patch, 1)
        cut = paint(*args, "--out", str(tmp_path / "cut.png"), "--workdir", str(work))
    assert cut.returncode == 130, cut.stderr
    saved = workdir.Workdir(work)
    saved.render_id = workdir.render_id(json.loads((work / "render.json").read_text()))
    # The level's start alone: what there was before the first evaluation finished.
    assert sorted(saved.load_state()) == ["elapsed", "level", "start"]
    resumed = paint(*args, "--out", str(tmp_path / "resumed.png"), "--resume", str(work), check=0)
    assert "resuming from %s: level 1/1" % work in resumed.stdout
    paint(*args, "--out", str(tmp_path / "whole.png"), check=0)
    np.testing.assert_array_equal(images.load_image(tmp_path / "resumed.png"),
                                  images.load_image(tmp_path / "whole.png"))


BAD_STATES = {
    "an object array": ({"opt/g": np.array(None, object)}, "opt/g is not numbers"),
    "a NaN loss": ({"opt/f": np.float64("nan")}, "opt/f holds NaN or infinity"),
    "no loss": ({"opt/f": None}, "opt/f is missing"),
    "a gradient of another size": ({"opt/g": np.zeros(5, np.float32)},
                                   "opt/g does not match opt/x"),
    "a negative level": ({"level": np.int64(-1)}, "level is not a level's number"),
    "a level as text": ({"level": np.array("one")}, "level is not numbers"),
    "no start": ({"start": None}, "start is missing"),
    "a start that is no picture": ({"start": np.zeros((4, 4), np.float32)},
                                   "start is not a picture"),
    "a history cut short": ({"opt/s#count": np.int64(3)}, "opt/s is incomplete"),
}


def a_state():
    x = np.full(48, 9.0, np.float32)
    return workdir.flatten({"level": np.int64(0), "start": np.zeros((4, 4, 3), np.float32),
                            "elapsed": np.float64(2.0), "opt/x": x, "opt/g": x, "opt/f": 1.5,
                            "opt/s": [x], "opt/y": [x], "opt/iterations": np.int64(1),
                            "opt/evaluations": np.int64(2)})


@pytest.mark.parametrize("case", sorted(BAD_STATES))
def test_a_state_that_cannot_resume_is_never_written_and_refused_with_what_to_do(tmp_path, case):
    change, problem = BAD_STATES[case]
    flat = a_state()
    assert workdir.state_problem(flat) is None
    for key, value in change.items():
        if value is None:
            del flat[key]
        else:
            flat[key] = value
    assert workdir.state_problem(flat) == problem
    work = workdir.Workdir(tmp_path)
    work.render_id = "r"
    with pytest.raises(ValueError, match="refusing to checkpoint"):
        work.save_state(flat)
    assert not (tmp_path / "state.npz").exists()
    # Written behind art's back (by an older version, by hand): refused, with what to do.
    np.savez(tmp_path / "state.npz", **flat)
    with pytest.raises(ArtError) as refused:
        work.load_state()
    assert str(refused.value).endswith("; remove it and --resume again to continue from the "
                                       "last finished level (or from the start)")
    assert problem in str(refused.value) or "cannot be read" in str(refused.value)


# --- 2. an unfinished run never replaces a finished picture -------------------------

def test_an_interrupted_run_writes_beside_a_finished_picture_never_over_it(paint, tmp_path,
                                                                           monkeypatch):
    out = tmp_path / "precious.png"
    paint(*ONE_PIECE, "--out", str(out), check=0)
    before = out.read_bytes()
    with monkeypatch.context() as patch:
        stop_at_evaluation(patch, 3)
        cut = paint(*ONE_PIECE, "--seed", "5", "--out", str(out))
    assert cut.returncode == 130
    assert out.read_bytes() == before
    unfinished = tmp_path / "precious.unfinished.png"
    assert cut.stderr.strip() == "interrupted: wrote the picture of iteration 1 to %s" % unfinished
    assert images.load_image(unfinished).shape == (30, 40, 3)
    # A finished run writes --out, and the unfinished picture, now out of date, goes.
    paint(*ONE_PIECE, "--seed", "5", "--out", str(out), check=0)
    assert out.read_bytes() != before and not unfinished.exists()


# --- 3. one render per work folder ---------------------------------------------------

def test_a_work_folder_in_use_is_refused_in_one_line(files, paint, tmp_path, monkeypatch):
    """A second run into a folder whose render is painting (here: the lock held in this
    process), before its first checkpoint or after it: refused, and nothing written."""
    def in_use(work, *flags):
        holder = workdir.Workdir(work)
        holder.lock(create=True)
        before = {name: (work / name).read_bytes() for name in os.listdir(work)}
        proc = paint(*ONE_PIECE, "--out", str(tmp_path / "out.png"), *flags)
        assert proc.returncode == 2
        assert proc.stderr.splitlines() == [
            "error: work folder %s is in use by another render (process %d on %s); wait for "
            "it to end, or use another --workdir" % (work, os.getpid(), os.uname().nodename)]
        assert {name: (work / name).read_bytes() for name in os.listdir(work)} == before
        assert not (tmp_path / "out.png").exists()
        holder.unlock()

    in_use(tmp_path / "new", "--workdir", str(tmp_path / "new"))
    cut = tmp_path / "cut"
    with monkeypatch.context() as patch:
        stop_at_evaluation(patch, 2)
        assert paint(*ONE_PIECE, "--out", str(tmp_path / "cut.png"), "--workdir",
                     str(cut)).returncode == 130
    in_use(cut, "--resume", str(cut))
    # Released: both go on.
    paint(*ONE_PIECE, "--out", str(tmp_path / "out.png"), "--workdir", str(tmp_path / "new"),
          check=0)
    paint(*ONE_PIECE, "--out", str(tmp_path / "cut.png"), "--resume", str(cut), check=0)


@pytest.mark.slow
def test_a_lock_left_by_a_killed_run_does_not_block_a_resume(tmp_path):
    """The lock is flock(2)'s: the kernel drops it with its process, even on SIGKILL."""
    work = tmp_path / "work"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from art.files import workdir\n"
        "w = workdir.Workdir(%r); w.lock(create=True); print('locked', flush=True)\n"
        "time.sleep(120)") % (os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              str(work))], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(ArtError, match="in use by another render \\(process %d " % holder.pid):
        workdir.Workdir(work).lock()
    holder.kill()
    holder.wait()
    deadline = time.time() + 10
    work_dir = workdir.Workdir(work)
    while True:
        try:
            work_dir.lock()
            break
        except ArtError:
            assert time.time() < deadline
            time.sleep(0.1)
    assert (work / "lock").read_text().startswith("process %d " % os.getpid())


# --- 4. what a file or the command line says is checked before it is used ------------

BAD_FINGERPRINTS = {
    "a size of text": {"size": [-5, "x"], "iterations": 3, "tiles": 0},
    "a negative size": {"size": [-5, 30], "iterations": 3, "tiles": 0},
    "one number of size": {"size": [40], "iterations": 3, "tiles": 0},
    "no iterations": {"size": [40, 30], "iterations": 0, "tiles": 0},
    "a count that is true": {"size": [40, 30], "iterations": True, "tiles": 0},
    "negative tiles": {"size": [40, 30], "iterations": 3, "tiles": -1},
    "not a level": "40x30",
}


@pytest.mark.parametrize("case", sorted(BAD_FINGERPRINTS))
def test_a_render_json_with_bad_levels_is_refused_in_one_line(paint, tmp_path, case):
    work = tmp_path / "work"
    work.mkdir()
    (work / "render.json").write_text(json.dumps({"settings": {}, "inputs": [], "weights": "w",
                                                  "levels": [BAD_FINGERPRINTS[case]]}))
    proc = paint(*ONE_PIECE, "--out", str(tmp_path / "out.png"), "--resume", str(work))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: --resume %s: render.json there is damaged or not art's; start the render again "
        "with --workdir %s after removing it" % (work, work)]
    assert sorted(os.listdir(work)) == ["render.json"]


def test_reconstruct_refuses_an_output_folder_it_cannot_make_before_any_work(files, tmp_path,
                                                                             capsys, monkeypatch):
    """/sys/rc as root: access() says yes, only mkdir says no."""
    def makedirs(path, exist_ok=False):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, "makedirs", makedirs)
    code, out, err = run_script("reconstruct", [
        "--style", files / "style.png", "--size", "24", "--out-dir", tmp_path / "rc",
        "--weights", tmp_path / "no-such-weights.npz"], capsys)
    # Refused before the weights are even looked at (they do not exist).
    assert code == 2 and err.splitlines() == ["error: cannot create %s: Operation not permitted"
                                              % (tmp_path / "rc")]


# --- 5. requests that cannot paint ----------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--schedule", "1,,2"], r"--schedule '1,,2': expected iterations per level"),
    (["--schedule", "1,2,"], r"--schedule '1,2,': expected iterations per level"),
    (["--style-layers", "conv1_1=0,conv2_1=0"],
     r"nothing of the style would be painted: --style-layers conv1_1=0,conv2_1=0 gives every "
     r"layer weight 0; give the style a weight > 0"),
    (["--style-weight", "0"], r"nothing of the style would be painted: --style-weight is 0"),
    (["--content-weight", "0", "--style-weight", "0", "--tv-weight", "0"],
     r"nothing of the style would be painted: --style-weight is 0"),
], ids=["empty schedule entry", "trailing comma", "style layers all 0", "style weight 0",
        "every weight 0"])
def test_a_request_that_cannot_paint_is_refused(files, paint, args, message):
    assert_refused(files, paint, args, message)


def test_the_moments_alone_are_a_style(paint, tmp_path):
    paint(*ONE_PIECE, "--style-weight", "0", "--moment-weight", "1", "--out",
          str(tmp_path / "out.png"), check=0)


def test_score_takes_the_pictures_after_the_options_too(files):
    import importlib
    score = importlib.import_module("art.commands.score")
    args = score.parse_args(["--content", "c.png", "--style", "s.png", "p.png"])
    assert args.pictures == ["p.png"] and args.style == ["s.png"]
    args = score.parse_args(["p.png", "q.png", "--content", "c.png", "--style", "s.png",
                             "--style", "t.png"])
    assert args.pictures == ["p.png", "q.png"] and args.style == ["s.png", "t.png"]


def test_score_refuses_a_reference_of_another_size(files, tmp_path, capsys):
    images.save_image(tmp_path / "small.png", np.zeros((15, 20, 3), np.float32))
    code, out, err = run_script("score", [
        files / "content.png", "--reference", tmp_path / "small.png", "--content",
        files / "content.png", "--style", files / "style.png", "--weights",
        tmp_path / "nothing.npz"], capsys)
    assert code == 2 and err.splitlines() == [
        "error: --reference %s is 20x15 and %s is 40x30: detail is compared between pictures "
        "of one size; resize one, or score without --reference"
        % (tmp_path / "small.png", files / "content.png")]


@pytest.mark.slow
def test_score_crops_the_photo_to_a_picture_of_another_shape_and_says_so(files, tmp_path,
                                                                         capsys):
    portrait = tmp_path / "portrait.png"
    images.save_image(portrait, images.load_image(files / "content.png")[:, :24])
    code, out, err = run_script("score", [
        files / "content.png", portrait, "--content", files / "content.png", "--style",
        files / "style.png", "--weights", files / "random.npz"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert "note: detail is relative to %s, for the pictures of its size (40x30) only" % (
        files / "content.png") in lines
    assert "note: %s (24x30) has another shape than the photo (40x30): scored against the " \
        "photo's centre cropped to its shape, as paint.py paints --size 24x30" % portrait in lines
    scored = [line for line in lines if line.startswith(str(portrait))]
    assert len(scored) == 1 and scored[0].endswith("detail -")
    itself = [line for line in lines if line.startswith(str(files / "content.png") + " ")]
    assert "sum 0 " not in itself[0] and itself[0].endswith("detail 1.000")


# --- 6. smaller ones --------------------------------------------------------------------

def test_an_output_under_a_file_says_the_file_is_not_a_folder(files, paint):
    assert_refused(files, paint, ["--out", "{d}/content.png/x.png"],
                   r"cannot write .*content.png/x.png: .*content.png is a file, not a folder$")


def test_the_report_of_an_unfinished_run_names_where_its_picture_went(paint, tmp_path,
                                                                      monkeypatch):
    out, report = tmp_path / "out.png", tmp_path / "run.json"
    with monkeypatch.context() as patch:
        stop_at_evaluation(patch, 3)
        assert paint(*ONE_PIECE, "--out", str(out), "--report", str(report)).returncode == 130
    written = json.loads(report.read_text())
    assert written["status"] == "interrupted" and written["output_size"] == [40, 30]
    assert written["output"] == str(tmp_path / "out.unfinished.png")
    # The picture as it is cannot be written (a full disk): still one line, and a report.
    real_save = images.save_image

    def save_image(path, *args, **kw):
        if str(path).endswith(".unfinished.png"):
            raise ArtError("cannot write %s: the disk is full" % path)
        return real_save(path, *args, **kw)
    with monkeypatch.context() as patch:
        stop_at_evaluation(patch, 3)
        patch.setattr(images, "save_image", save_image)
        cut = paint(*ONE_PIECE, "--out", str(out), "--report", str(report))
    assert cut.returncode == 130
    assert cut.stderr.splitlines() == [
        "interrupted: the picture of iteration 1 was not written; cannot write %s: the disk is "
        "full" % (tmp_path / "out.unfinished.png")]
    written = json.loads(report.read_text())
    assert written["output"] is None and written["output_size"] is None


def test_the_report_sums_each_levels_time_over_the_runs_that_painted_it(paint, tmp_path,
                                                                        monkeypatch):
    """Issue 30: a print painted over several runs reports every run, each level's time
    summed over them, and each level's peak memory beside the model's estimate."""
    work, report = tmp_path / "work", tmp_path / "run.json"
    args = [*SHALLOW, *FLOAT32, "--init", "noise", "--size", "48", "--schedule", "2,2",
            "--out", str(tmp_path / "out.png"),
            "--workdir", str(work), "--report", str(report)]
    with monkeypatch.context() as patch:
        real = untiled.WholeEvaluator.evaluate

        def evaluate(self, image):
            if image.shape[1] > 64:         # level 2's first (canvases have margins)
                raise KeyboardInterrupt
            return real(self, image)
        patch.setattr(untiled.WholeEvaluator, "evaluate", evaluate)
        assert paint(*args).returncode == 130
    cut = json.loads(report.read_text())
    assert cut["status"] == "interrupted" and len(cut["runs"]) == 1
    first, second = cut["levels"]
    assert first["seconds"] > 0 and second["seconds"] is None
    assert first["peak_memory_bytes"] > 1e8 and second["peak_memory_bytes"] is None
    paint(*args, "--resume", str(work), check=0)
    done = json.loads(report.read_text())
    assert done["status"] == "done" and len(done["runs"]) == 2
    assert [level["seconds"] for level in done["levels"]][0] == first["seconds"]
    # All the painting over both runs, but the last level's picture and checkpoint,
    # written after its clock stopped.
    painted = sum(level["seconds"] for level in done["levels"])
    assert 0.95 * done["optimizer_seconds"] < painted <= done["optimizer_seconds"]
    assert all(level["peak_memory_bytes"] > 1e8 and level["memory_model_bytes"] > 1e9
               for level in done["levels"])
    assert done["peak_memory_bytes_all_runs"] == max(r["peak_memory_bytes"] for r in done["runs"])
