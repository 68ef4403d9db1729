"""Exact tiles on a Dask cluster: the same numbers and picture as one process, through
killed workers and a lost scheduler; bad clusters refused in one line."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from art.config import PaintConfig
from art.errors import ArtError
from art.files import atomic as art_files, weights as weights_mod
from art.plan import tiling
from conftest import PAINT, render_with, ROOT, make_random_weights, run_until

DEEP = dict(style_layers={n: 1.0 for n in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")},
            content_layers={"conv4_2": 1.0}, style_weight=1.0)
SHALLOW = dict(style_layers={"conv1_1": 1.0, "conv2_1": 1.0}, content_layers={"conv2_2": 1.0})


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cluster") / "random.npz")
    weights_mod.save_npz(make_random_weights(), path)
    return path


@pytest.fixture(scope="module")
def local_cluster(weights_file, tf1):
    pytest.importorskip("distributed")
    from art.engine import cluster
    with cluster.Cluster(workers=2, weights_path=weights_file,
                         weights_sha=art_files.sha256(weights_file)) as found:
        yield found


def pictures(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 255, shape + (3,)).astype(np.float32),
            rng.uniform(0, 255, (96, 96, 3)).astype(np.float32),
            rng.uniform(0, 255, shape + (3,)).astype(np.float32))


@pytest.mark.cluster
def test_distributed_evaluation_is_the_local_one(local_cluster, weights_file):
    from art.engine import cluster
    from art.engine import untiled
    from art.engine import tiled
    from art.engine.terms import GraphSpec
    weights = weights_mod.load(weights_file)
    config = PaintConfig(**DEEP)
    shape = (160, 224)
    content, style, image = pictures(shape)
    tiles = tiling.tiles_for(shape, n_tiles=4, names=["conv4_2", "conv5_1"])
    content_t = untiled.content_targets(weights, content, config)
    style_t = untiled.style_targets(weights, [style], None, config)
    with tiled.TiledEvaluator(weights, config, shape, content_t, style_t, tiles) as ev:
        loss, grad, terms = ev.evaluate(image)
    tile_map = cluster.ClusterTiles(local_cluster)
    with tiled.TiledEvaluator(weights, config, shape, content_t, style_t, tiles,
                              tile_map=tile_map) as ev:
        d_loss, d_grad, d_terms = ev.evaluate(image)
        sent, received = tile_map.sent, tile_map.received
        again = ev.evaluate(image)
    assert abs(d_loss - loss) / loss < 1e-3
    # In norm, not per pixel: a worker's arithmetic may round differently (see
    # ONE_THREAD), and a unit that rounds to the other side of its ReLU's kink moves
    # the gradient of its few pixels by a percent.
    assert np.linalg.norm(d_grad - grad) / np.linalg.norm(grad) < 1e-3
    assert all(abs(d_terms[k] - v) <= 1e-3 * abs(v) for k, v in terms.items())
    assert again[0] == d_loss
    # Each worker built one tile graph for these layers, whatever the tile shapes and calls.
    built = local_cluster.client.run(lambda dask_worker: len(dask_worker.art_state.runners))
    assert sorted(built.values()) == [1, 1], built
    # Per evaluation: each tile's pixels out once for both passes, the cotangents once (the
    # other worker fetches them): the Gram gradients and three numbers, the content layer's
    # and the TV pairs' two; back, the Gram partials (float32; the content and TV sums are
    # numbers, which `nbytes` does not count) and the gradients. The level's content
    # targets went out once, before the first evaluation.
    pixels = sum(t.outer_shape[0] * t.outer_shape[1] * 3 * 4 for t in tiles)
    grams = sum(c * c * 4 for c in (64, 128, 256, 512, 512))
    assert tile_map.received - received == received == len(tiles) * grams + pixels
    assert tile_map.sent - sent == pixels + grams + 3 * 4

    # Targets through the cluster are the local ones, too, to float rounding (the
    # workers run on fewer threads, see ONE_THREAD): within 1e-5 of the largest value.
    local = tiled.LocalTiles(tiled.TileRunner(weights, GraphSpec.of(config)))
    try:
        expected = tiled.content_targets(local, content, tiles, config)
        for name, value in tiled.content_targets(tile_map, content, tiles, config).items():
            assert np.abs(value - expected[name]).max() <= 1e-5 * np.abs(expected[name]).max()
        expected = tiled.style_targets(local, content, tiles, config)
        for name, value in tiled.style_targets(tile_map, content, tiles, config).items():
            assert np.abs(value - expected[name]).max() <= 1e-5 * np.abs(expected[name]).max()
    finally:
        local.close()


@pytest.mark.cluster
def test_a_local_cluster_listens_on_the_loopback_only_with_no_dashboard(local_cluster):
    """A scheduler runs what a client sends: nothing of --workers N may be reachable from
    another machine, and the dashboard is served only when asked for."""
    import urllib.error
    import urllib.request
    scheduler = local_cluster.local.scheduler
    workers = local_cluster.client.scheduler_info()["workers"]
    addresses = [scheduler.address] + list(workers)
    assert len(addresses) == 3 and all(a.startswith("tcp://127.0.0.1:") for a in addresses)
    assert scheduler.http_server.address == "127.0.0.1"
    assert local_cluster.dashboard is None
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen("http://127.0.0.1:%d/status" % scheduler.http_server.port,
                               timeout=10)
    assert missing.value.code == 404


@pytest.mark.cluster
def test_a_killed_worker_does_not_change_the_render(local_cluster, weights_file):
    """One worker SIGKILLed during a render: its nanny restarts it, the lost tile work
    is done again, and the picture is the one of a render without the kill (not the
    one-process picture: this process runs on more threads than a worker, see ONE_THREAD)."""
    from art.engine import cluster
    from art.plan import levels as plans
    weights = weights_mod.load(weights_file)
    config = PaintConfig(schedule=[3, 6], tile_size=48, init="noise", **SHALLOW)
    content, style, _ = pictures((96, 128), seed=1)
    levels = plans.plan((96, 128), config)
    assert levels[-1].tiles and len(levels[-1].tiles) >= 4
    unharmed = render_with(weights, content, [style], levels,
                           tile_map=cluster.ClusterTiles(local_cluster))

    pids = local_cluster.client.run(os.getpid)
    victim = pids[sorted(pids)[0]]
    tile_map = cluster.ClusterTiles(local_cluster)
    retried = []
    tile_map.on_retry = retried.append

    def kill(p):
        if p.level == 2 and p.iteration == 2:
            # During the next evaluation, not between two.
            threading.Timer(0.05, os.kill, (victim, signal.SIGKILL)).start()

    result = render_with(weights, content, [style], levels, progress=kill, tile_map=tile_map)
    assert result.status == "done"
    assert retried and tile_map.retries >= 1, "the kill went unnoticed"
    np.testing.assert_array_equal(result.image, unharmed.image)
    deadline = time.time() + 60
    while local_cluster.live() < 2 and time.time() < deadline:
        time.sleep(0.5)
    assert local_cluster.live() == 2, "the nanny did not restart the worker"


@pytest.mark.cluster
def test_workers_with_other_weights_are_named(weights_file, tmp_path, tf1):
    pytest.importorskip("distributed")
    from art.engine import cluster
    with pytest.raises(ArtError, match=r"worker tcp://\S+ has other VGG weights at .*random.npz "
                                       r"\(sha256 [0-9a-f]{12}\.\.\., the driver's 000000000000"):
        cluster.Cluster(workers=1, weights_path=weights_file, weights_sha="0" * 64)
    missing = cluster._WorkerArt(str(tmp_path / "gone.npz"), "0" * 64, 1)
    assert missing.weights is None and missing.problem.startswith("has no VGG weights at ")
    assert str(tmp_path / "gone.npz") in missing.problem


@pytest.mark.parametrize("address", ["tcp://host", "http://host:8786", "tcp://host:99999", "",
                                     "tcp://a b:1"])
def test_malformed_addresses_are_refused(address):
    with pytest.raises(ArtError, match="is not a scheduler address; expected tcp://HOST:PORT"):
        PaintConfig(cluster=address).check()


def test_tls_files_are_checked_and_become_a_security_that_requires_encryption(tmp_path):
    pytest.importorskip("distributed")
    from art.engine import cluster
    paths = []
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("-")
        paths.append(str(tmp_path / name))
    config = PaintConfig(cluster="tls://10.0.0.5:8786", tls_ca_file=paths[0], tls_cert=paths[1],
                         tls_key=paths[2])
    assert config.security() == tuple(paths)
    security = cluster._security(config.security())
    assert security.require_encryption and security.tls_ca_file == paths[0]
    assert security.tls_client_cert == paths[1] and security.tls_client_key == paths[2]
    assert PaintConfig(cluster="tls://10.0.0.5:8786").security() is None


def test_plain_tcp_beyond_the_loopback_is_warned_of():
    from art.commands import painting
    assert [painting._loopback(a) for a in (
        "tcp://127.0.0.1:8786", "tcp://[::1]:8786", "tcp://localhost:1", "tcp://10.0.0.5:8786",
        "tcp://render-1:8786")] == [True, True, True, False, False]


def test_address_forms():
    from art.config import parse_address
    assert parse_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert parse_address(" tcp://render-1.local:8786 ") == "tcp://render-1.local:8786"
    assert parse_address("tcp://[::1]:8786") == "tcp://[::1]:8786"


# scripts/paint.py on a cluster, as a user runs it.
#
# Every process of these renders, driver and workers, runs TensorFlow on one thread:
# on some CPUs (an AVX2 EPYC here, not an AVX-512 one) oneDNN's convolutions round
# differently with the thread count, and the pictures compared pixel for pixel must
# come from one arithmetic. Workers on a 2-core machine get one thread each.
ONE_THREAD = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")

@pytest.fixture(scope="module")
def cli(tmp_path_factory, weights_file):
    """Inputs, the common flags, and the picture the same render gives in one process."""
    pytest.importorskip("distributed")
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(d / "content.png")
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(d / "style.png")
    flags = ["--content", str(d / "content.png"), "--style", str(d / "style.png"),
             "--weights", weights_file, "--size", "128", "--schedule", "3,6", "--tile-size", "48",
             "--init", "noise", "--print-every", "1", "--style-layers", "conv1_1,conv2_1",
             "--content-layers", "conv2_2",
             # float32 whatever this CPU has: in bfloat16 L-BFGS stalls on these tiny
             # random pictures, so a run could end before the signal meant to cut it.
             "--precision", "float32"]
    paint(flags + ["--out", str(d / "local.png")], check=0)
    return d, flags, np.asarray(Image.open(d / "local.png"))


def paint(args, check=None, env=ONE_THREAD):
    proc = subprocess.run([sys.executable, PAINT] + args, capture_output=True, text=True,
                          timeout=300, env=env)
    if check is not None:
        assert proc.returncode == check, proc.stderr
    return proc


@pytest.mark.cluster
def test_workers_paint_the_one_process_picture(cli, tmp_path):
    d, flags, local = cli
    proc = paint(flags + ["--workers", "2", "--out", str(tmp_path / "dist.png"),
                          "--report", str(tmp_path / "run.json")], check=0)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "dist.png")), local)
    assert "painting the tiles on 2 Dask workers" in proc.stdout
    assert "level 2/2 128x96  iteration 6/6" in proc.stdout and "  2 workers  " in proc.stdout
    report = json.load(open(tmp_path / "run.json"))["cluster"]
    assert report["workers"] == 2 and report["retries"] == 0 and report["sent_bytes"] > 0


@pytest.fixture
def scheduler(tmp_path):
    """A `dask scheduler` of its own process, as on a cluster; killed at the end."""
    info = tmp_path / "scheduler.json"
    proc = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", "0",
                             "--no-dashboard", "--scheduler-file", str(info)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []

    def worker(env=None):
        # A worker imports art as installed on its machine; here, this checkout.
        env = env or {"PYTHONPATH": ROOT}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--nthreads", "1",
             "--no-dashboard", "--scheduler-file", str(info)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, **(env or {})), cwd=str(tmp_path)))

    deadline = time.time() + 60
    while not info.exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # the file is written in one go, but give it a moment to be complete
    try:
        yield json.load(open(info))["address"], proc, worker
    finally:
        for p in workers + [proc]:
            p.kill()
            p.wait()


@pytest.mark.cluster
def test_a_worker_with_another_art_is_refused(cli, scheduler, tmp_path):
    d, flags, _ = cli
    address, _, worker = scheduler
    fake = tmp_path / "fake" / "art"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "0.0.9"\n')
    worker(env={"PYTHONPATH": str(tmp_path / "fake")})
    proc = paint(flags + ["--cluster", address, "--out", str(tmp_path / "out.png")], check=2)
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert re.search(r"error: worker tcp://\S+ runs art 0\.0\.9 and this machine art \S+; install "
                     "the same art on every worker", proc.stderr), proc.stderr
    assert not os.path.exists(tmp_path / "out.png") and not os.path.exists(tmp_path / "out.work")


@pytest.mark.cluster
def test_an_unreachable_scheduler_is_refused_in_seconds(cli, tmp_path):
    d, flags, _ = cli
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    began = time.time()
    proc = paint(flags + ["--cluster", "tcp://127.0.0.1:%d" % port, "--out",
                          str(tmp_path / "out.png")], check=2)
    assert time.time() - began < 40
    assert proc.stderr.count("\n") == 1
    assert "error: no Dask scheduler answered at tcp://127.0.0.1:%d" % port in proc.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.cluster
def test_a_lost_scheduler_keeps_the_checkpoint_and_resume_finishes_here(cli, scheduler, tmp_path):
    d, flags, local = cli
    address, scheduler_process, worker = scheduler
    worker()
    work = tmp_path / "cut.work"
    code, err = run_until(flags + ["--cluster", address, "--out", str(tmp_path / "cut.png")],
                          "level 2/2 128x96  iteration 2/", then=lambda _: scheduler_process.kill(),
                          env=ONE_THREAD)
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: lost the Dask scheduler at %s" % address)
    assert "--resume %s" % work in lines[0]
    assert (work / "state.npz").exists()
    # Continued on this machine, without the cluster: the one-process picture.
    paint(flags + ["--out", str(tmp_path / "resumed.png"), "--resume", str(work)], check=0)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "resumed.png")), local)


@pytest.mark.cluster
@pytest.mark.parametrize("signum,status,said,on", [
    (signal.SIGINT, 130, "interrupted", ["--workers", "2"]),
    (signal.SIGHUP, 129, "hung up (SIGHUP)", [])])
def test_ctrl_c_on_local_workers_is_one_line_and_resumes(cli, tmp_path, signum, status, said,
                                                         on):
    """Ctrl-C in a terminal, or the terminal closing (SIGHUP), reaches the whole process
    group, --workers' processes too: still one line, the checkpoint, and a --resume that
    paints the one-process picture, on workers again or on this machine alone."""
    d, flags, local = cli
    work = tmp_path / "cut.work"
    proc = subprocess.Popen([sys.executable, PAINT] + flags + ["--workers", "2", "--out",
                                                               str(tmp_path / "cut.png")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=ONE_THREAD)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line or line.startswith("level 2/2 128x96  iteration 2/"):
            break
    os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(said), err
    paint(flags + on + ["--out", str(tmp_path / "resumed.png"), "--resume", str(work)], check=0)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "resumed.png")), local)
