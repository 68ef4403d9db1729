"""L-BFGS's history on disk (art.files.history): the same steps, bit for bit, as in
memory; written once, named by the checkpoint, resumed exactly; the memory and disk a
print's plan says it needs."""

import json
import os

import numpy as np
import pytest
import scipy.optimize

from art.config import PaintConfig
from art.engine.lbfgs import LBFGS
from art.errors import ArtError, CheckpointFailed
from art.files import history, workdir
from art.plan import levels as plans
from conftest import assert_refused, Function


def rosenbrock(x):
    x = x.astype(np.float64)
    return scipy.optimize.rosen(x), scipy.optimize.rosen_der(x).astype(np.float32)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Chunks of 7 values, so that a 40-value problem crosses many chunk boundaries."""
    monkeypatch.setattr(history, "CHUNK", 7)


def steps(optimizer, maxiter, x0=None, size=40):
    """Run to `maxiter` iterations; each iterate and loss along the way, copied."""
    seen = []
    optimizer.maxiter = maxiter
    start = np.linspace(-1.5, 1.2, size).astype(np.float32) if x0 is None else x0
    optimizer.minimize(Function(rosenbrock, size), None if optimizer.started else start,
                       step_callback=lambda x: seen.append((x.copy(), optimizer.f)))
    return seen


def lbfgs(store=None, **kw):
    return LBFGS(0, **dict(dict(maxcor=4, bounds=(-1.0, 1.0), first_step=0.1, store=store), **kw))


def assert_same_steps(a, b):
    assert len(a) == len(b)
    for (xa, fa), (xb, fb) in zip(a, b):
        assert np.array_equal(xa, xb) and fa == fb


def test_on_disk_equals_in_memory_step_for_step(tmp_path):
    in_memory = steps(lbfgs(), 40)
    on_disk = steps(lbfgs(history.DiskStore(tmp_path)), 40)
    assert len(in_memory) == 40
    assert_same_steps(in_memory, on_disk)


def test_pairs_are_written_once_and_only_the_window_is_kept(tmp_path):
    optimizer = lbfgs(history.DiskStore(tmp_path))
    seen = {}
    for n in range(1, 12):
        steps(optimizer, n)
        for pair in optimizer.pairs:
            stat = os.stat(pair.path(".s"))
            # A pair's file, once made, is never written again.
            assert seen.setdefault(pair.number, (stat.st_ino, stat.st_mtime_ns)) == \
                (stat.st_ino, stat.st_mtime_ns)
            assert pair.check() is None
        assert len(optimizer.pairs) <= 4
    # Each pair's vectors are s = x_k+1 - x_k and y = g_k+1 - g_k as float32 on disk.
    newest = optimizer.pairs[-1]
    assert np.fromfile(newest.path(".s"), "<f4").size == 40


def test_a_resume_from_the_history_on_disk_is_exact(tmp_path):
    whole = steps(lbfgs(history.DiskStore(tmp_path / "a")), 20)
    first = lbfgs(history.DiskStore(tmp_path / "b"))
    part = steps(first, 8)
    state = {k: np.array(v) for k, v in first.state().items()}
    # The checkpoint holds the pairs' manifest, not the vectors.
    assert "s" not in state and len(json.loads(str(state["history"]))) == 4
    again = lbfgs(history.DiskStore(tmp_path / "b"))
    again.restore(state)
    assert_same_steps(whole, part + steps(again, 20))


def test_a_run_killed_while_writing_a_pair_resumes_exactly(tmp_path, monkeypatch):
    whole = steps(lbfgs(history.DiskStore(tmp_path / "a")), 15)
    first = lbfgs(history.DiskStore(tmp_path / "b"))
    part = steps(first, 6)
    state = {k: np.array(v) for k, v in first.state().items()}
    steps(first, 8)          # pairs the checkpoint does not name

    class Killed(BaseException):
        pass

    written = []
    put = history.PairWriter.put

    def dies(self, s, y):
        written.append(1)
        if len(written) == 3:
            raise Killed()      # as a SIGKILL would leave it: a pair half written
        put(self, s, y)

    monkeypatch.setattr(history.PairWriter, "put", dies)
    with pytest.raises(Killed):
        steps(first, 12)
    monkeypatch.setattr(history.PairWriter, "put", put)
    assert any(name.endswith(".tmp") for name in os.listdir(tmp_path / "b"))
    again = lbfgs(history.DiskStore(tmp_path / "b"))
    again.restore(state)
    # What the checkpoint does not name is gone: later pairs and the half-written one.
    assert sorted(os.listdir(tmp_path / "b")) == sorted(
        os.path.basename(p.path(x)) for p in again.pairs for x in history.SUFFIXES)
    assert_same_steps(whole, part + steps(again, 15))


def test_a_full_disk_while_writing_a_pair_is_one_line_and_leaves_the_state(tmp_path,
                                                                             monkeypatch):
    optimizer = lbfgs(history.DiskStore(tmp_path))
    steps(optimizer, 3)
    before = (optimizer.x.copy(), optimizer.iterations, [p.number for p in optimizer.pairs])

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(history, "_write", full)
    with pytest.raises(CheckpointFailed, match="cannot write the optimiser's history in .*: "
                                               "the disk is full$"):
        steps(optimizer, 4)
    assert np.array_equal(optimizer.x, before[0]) and optimizer.iterations == before[1]
    assert [p.number for p in optimizer.pairs] == before[2]
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path))


def _work(tmp_path):
    work = workdir.Workdir(tmp_path / "work")
    work.lock(create=True)
    work.render_id = "r"
    return work


def _state(optimizer):
    return {"level": np.int64(0), "start": np.zeros((2, 20, 1), np.float32).repeat(3, 2)[:, :, :3],
            "elapsed": np.float64(1.0), **{"opt/" + k: v for k, v in optimizer.state().items()}}


def test_the_work_folder_names_the_history_and_sweeps_what_it_no_longer_needs(tmp_path):
    work = _work(tmp_path)
    optimizer = lbfgs(work.history_store())
    steps(optimizer, 10)
    os.makedirs(work.history_folder, exist_ok=True)
    stray = os.path.join(work.history_folder, "000999.s")
    open(stray, "wb").close()
    work.save_state(_state(optimizer))
    assert not os.path.exists(stray)
    assert len(os.listdir(work.history_folder)) == 2 * len(optimizer.pairs)
    loaded = work.load_state()
    again = lbfgs(work.history_store())
    again.restore({k[4:]: v for k, v in loaded.items() if k.startswith("opt/")})
    assert [p.number for p in again.pairs] == [p.number for p in optimizer.pairs]
    # A checkpoint with no optimiser (a finished level) leaves no history behind.
    work.save_state({k: v for k, v in _state(optimizer).items() if not k.startswith("opt/")})
    assert os.listdir(work.history_folder) == []


def test_a_damaged_history_file_is_refused_in_one_line(tmp_path):
    work = _work(tmp_path)
    optimizer = lbfgs(work.history_store())
    steps(optimizer, 5)
    work.save_state(_state(optimizer))
    path = optimizer.pairs[0].path(".y")
    name = os.path.basename(path).replace(".", r"\.")
    data = bytearray(open(path, "rb").read())
    data[5] ^= 1
    open(path, "wb").write(bytes(data))
    with pytest.raises(ArtError, match=r"names the optimiser's history, and .*%s does not "
                                       r"match its checksum; remove it" % name):
        work.load_state()
    os.remove(path)
    with pytest.raises(ArtError, match=r"%s cannot be read" % name):
        work.load_state()


GB = 1e9
A0 = (9933, 14043)


def test_the_memory_model_per_level_by_hand():
    """An A0 print on 22.7 GB: its finest level's history goes to disk, and what it needs
    is one piece's evaluation and 8 arrays of its canvas, plus the photo at A0."""
    levels, note = plans.fit(A0, PaintConfig(), 22.7 * GB)
    last = levels[-1]
    assert last.history_on_disk and not any(lv.history_on_disk for lv in levels[:-1])
    assert "history of level 6" in note
    piece = plans.FIXED_BYTES + plans.PIECE_BYTES_PER_PIXEL * last.piece_pixels \
        * plans.layers.activation_share("conv3_1")
    canvas = (9933 + 32) * (14043 + 32)
    assert last.pixels == canvas
    assert plans.level_need(last, 9933 * 14043) == pytest.approx(
        piece + 12 * (8 * canvas + 9933 * 14043))
    in_memory = plans.level_need(dataclass_replace(last, history_on_disk=False), 9933 * 14043)
    assert in_memory - plans.level_need(last, 9933 * 14043) == pytest.approx(12 * 20 * canvas)
    assert plans.memory_need(levels) <= 0.9 * 22.7 * GB
    # In bfloat16 a tile takes fewer bytes a pixel; one piece (level 1) does not.
    bf16 = [dataclass_replace(lv, config=dataclass_replace(lv.config, precision="bfloat16"))
            for lv in levels]
    tile = plans.FIXED_BYTES + plans.BF16_TILE_BYTES_PER_PIXEL * last.piece_pixels \
        * plans.layers.activation_share("conv3_1")
    assert plans.level_need(bf16[-1], 9933 * 14043) == pytest.approx(
        tile + 12 * (8 * canvas + 9933 * 14043))
    assert not bf16[0].tiles
    assert plans.level_need(bf16[0], 9933 * 14043) == plans.level_need(levels[0], 9933 * 14043)
    # Its disk: two checkpoints of 3 arrays, 11 pairs, and every level's picture.
    pictures = sum(3 * lv.picture[0] * lv.picture[1] for lv in levels)
    assert plans.disk_need(levels) == pytest.approx(12 * (6 + 22) * canvas + pictures)


def dataclass_replace(level, **changes):
    import dataclasses
    return dataclasses.replace(level, **changes)


def test_prints_that_fit_keep_their_history_in_memory():
    for shape in [(2160, 3840), (4320, 7680), (4961, 7016)]:
        levels, _ = plans.fit(shape, PaintConfig(), 22.7 * GB)
        assert not any(level.history_on_disk for level in levels)
    levels, _ = plans.fit((2160, 3840), PaintConfig(history="disk"), 22.7 * GB)
    assert all(level.history_on_disk for level in levels)
    levels, _ = plans.fit((2160, 3840), PaintConfig(optimizer="adam", history="disk"), 22.7 * GB)
    assert not any(level.history_on_disk for level in levels)
    with pytest.raises(ArtError, match="needs about .* GB in these tiles"):
        plans.fit(A0, PaintConfig(history="memory", tile_size=1536), 22.7 * GB)


def test_a_work_folder_without_room_is_refused_before_any_painting(files, paint, monkeypatch):
    from art.commands import painting
    monkeypatch.setattr(painting, "free_disk", lambda path: 1000)
    assert_refused(files, paint, ["--history", "disk"],
                   r"^error: the work folder .*out\.work needs about 0\.0 GB free for its "
                   r"checkpoints, level pictures and the optimiser's history of level 1, and its "
                   r"disk has 0\.0 GB; free some space or choose another --workdir$")
