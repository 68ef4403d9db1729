"""scripts/paint.py as a user runs it: bad input, reports, checkpoints, Ctrl-C.

Most runs call the script's main() in this process (what a subprocess would add is
the interpreter's start-up); a few run it as a real process, for exit statuses,
signals and what a fresh process imports."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from art.plan import layers
from conftest import FLOAT32, ROOT, SHALLOW, assert_refused, base_args, run_until

SCRIPT = os.path.join(ROOT, "scripts", "paint.py")


BAD = [
    (["--content", "{d}/missing.png"], "cannot read image .*missing.png"),
    (["--content", "{d}/corrupt.png"], "cannot read image .*corrupt.png"),
    (["--style", "{d}/style.png", "{d}/nope.jpg"], "cannot read image .*nope.jpg"),
    (["--style-layers", "conv1_1=1,conv9_9=1"], "unknown layer 'conv9_9'; valid: conv1_1, conv1_2"),
    (["--content-layers", "conv4_2=x"], "bad weight 'x' for layer conv4_2"),
    (["--size", "8"], "too small for layer conv5_1: it needs at least 16 px"),
    (["--size", "4kk"], "^error: size '4kk' is not valid; use a long side in pixels \\(e.g. 512\\), "
                        "WIDTHxHEIGHT \\(e.g. 800x600\\), a print size WIDTHxHEIGHT in cm, mm or in "
                        "\\(e.g. 60x40cm, 24x16in\\), or one of hd, "),
    (["--size", "30x20ft"], "^error: size '30x20ft': unknown unit 'ft'; use cm, mm or in"),
    (["--size", "0x20cm"], "^error: size '0x20cm' must have a positive width and height"),
    (["--dpi", "0"], "^error: --dpi must be 10-4800 \\(300 is a print shop's usual\\), got 0$"),
    (["--dpi", "10000"], "^error: --dpi must be 10-4800 .*got 10000$"),
    (["--dpi", "nan"], "^error: --dpi must be 10-4800 .*got nan$"),
    (["--bit-depth", "16", "--out", "{d}/o.jpg"], "cannot write .*o.jpg with --bit-depth 16: "
                                                  ".jpg holds 8 bits per channel; use .png or .tif$"),
    (["--bit-depth", "12"], "argument --bit-depth: invalid choice: 12"),
    (["--size", "100000x100000"], "needs at least .* GB even in tiles with its history on "
                                  "disk \\(its own arrays\\) .* smaller --size$"),
    (["--tiles", "0", "--tile-size", "-3"], "must be >= 0"),
    (["--tiles", "100000"], "100000 tiles is more than a 72x62 picture's 12 cells of 16x16 px; "
                            "use at most 12 \\(the 40x30 picture with its 16-px --edge-margin "
                            "is the 72x62 painted\\)$"),
    (["--tiles", "100000", "--edge-margin", "0"], "100000 tiles is more than a 40x30 picture's 2 "
                                                  "cells of 16x16 px; use at most 2$"),
    (["--tiles", "2"], "tiles of 32 px are narrower than the 80-px margin layer conv5_1 needs"),
    (["--edge-margin", "-1"], "--edge-margin must be 0-256 px, got -1$"),
    (["--edge-margin", "257"], "--edge-margin must be 0-256 px, got 257$"),
    (["--style-blend", "1", "2"], "2 weights for 1 style images"),
    (["--out", "{d}/content.png"], "refusing to overwrite the input"),
    (["--out", "{d}/out.bmp"], "unknown extension '.bmp'"),
    (["--out", "{d}/no/such/dir/out.png"], "folder .* does not exist"),
    (["--weights", "{d}/missing.npz"], "missing.npz: no such file"),
    (["--weights", "{d}/content.png"], "content.png: unknown weights format '.png'; accepted "
                                       "extensions: .h5, .hdf5, .mat, .npz$"),
    (["--iterations", "0"], "--iterations must be 1-10000000, got 0$"),
    (["--iterations", "99999999999999999999"], "--iterations must be 1-10000000, got 9999"),
    (["--schedule", "5,100000000"], "--schedule needs one or more iteration counts 1-10000000"),
    (["--weights", "{d}"], "paint\\d+: a folder; name a weights file \\(.npz, .mat or .h5\\)$"),
    (["--style-weight", "nan"], "--style-weight must be a finite number"),
    (["--style-scale", "0"], "--style-scale must be a finite number > 0"),
    (["--init", "{d}/missing.png"], "cannot read image .*missing.png"),
    (["--report", "{d}/report.txt"], "unknown extension '.txt'"),
    (["--schedule", "3,x"], "--schedule '3,x': expected iterations per level"),
    (["--schedule", "1,1,1,1,1,1"], "coarsest, .* is too small for layer conv5_1"),
    (["--tile-mode", "stitched"], "invalid choice: 'stitched'"),
    (["--checkpoint-every", "0"], "--checkpoint-every must be a number of minutes > 0"),
    (["--resume", "{d}/nowhere"], "--resume .*nowhere: no such folder"),
    (["--workers", "0"], "--workers must be at least 1, got 0"),
    (["--cluster", "tcp://render-1"], "'tcp://render-1' is not a scheduler address; expected "
                                      "tcp://HOST:PORT"),
    (["--cluster", "tcp://127.0.0.1:8786", "--workers", "2"], "--cluster ADDRESS or --workers N, "
                                                              "not both"),
    (["--workers", "2", "--tile-mode", "independent"], "--tile-mode independent paints on this "
                                                       "machine only"),
    (["--workers", "2"], "share out a render's tiles, and this one has none; add --tiles N"),
    (["--resume", "{d}"], "no render was started there"),
    (["--precision", "float16"], "invalid choice: 'float16'"),
    (["--stop-below", "-0.1"], "--stop-below must be a finite number >= 0"),
    (["--fine-layers", "conv9_9"], "unknown --fine-layers layer \\(or all\\) 'conv9_9'; valid: conv1_1"),
    (["--fine-anchor-weight", "-1"], "--fine-anchor-weight must be a finite number >= 0"),
    (["--fine-tv-weight", "inf"], "--fine-tv-weight must be a finite number >= 0"),
    (["--anchor-weight", "1"], "unrecognized arguments: --anchor-weight 1"),
    (["--padding", "wrap"], "invalid choice: 'wrap'"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_writes_nothing(files, paint, args, message):
    assert_refused(files, paint, args, message)


@pytest.mark.slow
def test_a_real_process_exits_2_with_one_line(files, tmp_path):
    """What the matrix above checks in this process, once as a user's shell sees it."""
    proc = subprocess.run([sys.executable, SCRIPT] + base_args(files) + [
        "--out", str(tmp_path / "out.png"), "--style-layers", "conv9_9=1"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: unknown layer 'conv9_9'; valid: %s\n" % ", ".join(layers.NAMES)
    assert os.listdir(tmp_path) == []


def test_a_run_writes_the_picture_and_its_report_and_repeats(paint, tmp_path):
    for name in ("a", "b"):
        paint(*SHALLOW, "--out", str(tmp_path / (name + ".png")), "--report",
              str(tmp_path / (name + ".json")), "--init", "noise", "--seed", "7", check=0)
    a, b = (np.asarray(Image.open(tmp_path / n)) for n in ("a.png", "b.png"))
    assert a.shape == (30, 40, 3)
    np.testing.assert_array_equal(a, b)
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["config"]["seed"] == 7 and report["config"]["init"] == "noise"
    assert report["config"]["style_layers"] == {"conv1_1": 1.0, "conv2_1": 1.0}
    assert report["iterations"] == 2 == len(report["losses"])
    assert report["evaluations"] >= 2
    assert {"total", "content", "style", "tv", "style/conv1_1"} <= set(report["losses"][0])
    assert report["seconds_per_evaluation"] > 0 and report["peak_memory_bytes"] > 1e8
    assert report["output"] == str(tmp_path / "a.png") and report["status"] == "done"
    # conftest makes this process's CPU one without native bfloat16.
    assert report["precision"] == {"used": "float32", "why": "auto: this CPU has no native bfloat16"}
    assert sorted(os.listdir(tmp_path)) == ["a.json", "a.png", "b.json", "b.png"]


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_precision_is_said_and_reported(paint, tmp_path, precision):
    proc = paint(*SHALLOW, "--out", str(tmp_path / "out.png"), "--report",
                 str(tmp_path / "r.json"), "--precision", precision, check=0)
    assert "; %s convolutions (asked for)" % precision in proc.stdout.splitlines()[0]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["precision"] == {"used": precision, "why": "asked for"}
    assert report["config"]["precision"] == precision


@pytest.mark.parametrize("kind", ["grey", "rgba"])
def test_other_image_modes_are_converted(files, paint, tmp_path, kind):
    out = tmp_path / "out.jpg"
    proc = paint(*SHALLOW, "--content", str(files / (kind + ".png")), "--out", str(out), check=0)
    assert "iteration 2/2" in proc.stdout
    assert Image.open(out).mode == "RGB"


def test_checkpoints_and_colour_options(paint, tmp_path):
    out = tmp_path / "out.png"
    paint(*SHALLOW, "--out", str(out), "--iterations", "4", "--save-every", "2", "--preserve-colors",
          "--match-colors", "--optimizer", "adam", check=0)
    assert sorted(os.listdir(tmp_path)) == ["out.0002.png", "out.0004.png", "out.png"]


def test_checkpoints_of_a_render_of_several_levels_are_named_by_their_level(paint, tmp_path):
    """As the work folder names the level's picture (level-K-WxH), with the iteration."""
    out = tmp_path / "out.png"
    paint(*SHALLOW, "--out", str(out), "--size", "64", "--schedule", "2,2", "--save-every", "2",
          check=0)
    assert sorted(p for p in os.listdir(tmp_path) if p != "out.work") == [
        "out.level-1-32x24.0002.png", "out.level-2-64x48.0002.png", "out.png"]
    assert {"level-1-32x24.png", "level-2-64x48.png"} <= set(os.listdir(tmp_path / "out.work"))


@pytest.mark.slow
def test_ctrl_c_writes_the_current_picture(files, tmp_path):
    out = tmp_path / "out.png"
    base = ["--content", str(files / "content.png"), "--style", str(files / "style.png"),
            "--weights", str(files / "random.npz"), "--size", "40", "--iterations", "100000",
            "--print-every", "1", "--out", str(out)] + FLOAT32
    proc = subprocess.Popen([sys.executable, SCRIPT] + base, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith("iteration 3/"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: wrote the picture of iteration" in err
    assert not out.exists() and Image.open(tmp_path / "out.unfinished.png").size == (40, 30)


def test_animation_records_the_run(paint, tmp_path):
    gif = tmp_path / "run.gif"
    paint(*SHALLOW, "--out", str(tmp_path / "out.png"), "--iterations", "4", "--animate", str(gif),
          "--animate-every", "2", "--init", "noise", check=0)
    with Image.open(gif) as im:
        assert im.size == (40, 30) and im.n_frames >= 2
    video = tmp_path / "run.mp4"
    paint(*SHALLOW, "--out", str(tmp_path / "v.png"), "--iterations", "4", "--animate",
          str(video), "--animate-every", "2", "--init", "noise", check=0)
    import imageio.v2 as imageio
    with imageio.get_reader(video, format="FFMPEG") as reader:
        assert reader.get_meta_data()["size"] == (40, 30) and reader.count_frames() >= 2


def test_video_without_its_extra_is_refused_before_any_work(paint, tmp_path, monkeypatch):
    from art.files import animate
    monkeypatch.setattr(animate, "_ffmpeg", lambda: None)
    proc = paint("--out", str(tmp_path / "b.png"), "--animate", str(tmp_path / "run.mp4"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: cannot write %s: video needs imageio's ffmpeg plugin; install it with pip install "
        "-c constraints.txt -e \".[video]\", or write a .gif" % (tmp_path / "run.mp4")]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_tiled_run(paint, tmp_path, optimizer):
    proc = paint(*SHALLOW, "--out", str(tmp_path / "out.png"), "--tiles", "2", "--optimizer",
                 optimizer, check=0)
    assert "iteration 2/2" in proc.stdout and "2 tiles" in proc.stdout
    assert "; %s, 1 level (40x30: 2 it, 2 tiles), exact tiles, 16-px edge margin; " % optimizer \
        in proc.stdout.splitlines()[0]
    assert Image.open(tmp_path / "out.png").size == (40, 30)


@pytest.mark.slow
def test_a_render_is_resumed_to_the_same_picture(files, paint, tmp_path):
    """Coarse-to-fine in tiles, Ctrl-C in the second level, --resume: the picture of
    an uninterrupted run; a changed setting or a fresh start into the folder is refused."""
    base = ["--content", str(files / "content.png"), "--style", str(files / "style.png"),
            "--weights", str(files / "random.npz"), "--size", "96", "--schedule", "3,12",
            "--tile-size", "48", "--init", "noise", "--print-every", "1", "--iterations", "2",
            "--style-layers", "conv1_1,conv2_1", "--content-layers", "conv2_2"] + FLOAT32
    work = tmp_path / "work"
    code, err = run_until(base + ["--out", str(tmp_path / "cut.png"), "--workdir", str(work)],
                          "level 2/2 96x72  iteration 2/")
    assert code == 130 and "--resume %s" % work in err, err
    assert (work / "state.npz").exists() and (work / "level-1-48x36.png").exists()
    assert not (tmp_path / "cut.png").exists()
    assert Image.open(tmp_path / "cut.unfinished.png").size == (96, 72)

    proc = paint(*base[6:], "--out", str(tmp_path / "again.png"), "--workdir", str(work))
    assert proc.returncode == 2 and "holds an unfinished render" in proc.stderr
    proc = paint(*base[6:], "--out", str(tmp_path / "x.png"), "--resume", str(work),
                 "--tv-weight", "1")
    assert proc.returncode == 2 and "--tv-weight was 0.01, now 1.0" in proc.stderr, proc.stderr

    # Both in processes of their own, as the cut run was: TensorFlow sizes its thread pool
    # at a process's first session, and this one's may have been sized by an earlier test
    # (oneDNN's convolutions round differently with the thread count).
    for name, extra in (("resumed.png", ["--resume", str(work)]),
                        ("whole.png", ["--workdir", str(tmp_path / "other")])):
        proc = subprocess.run([sys.executable, SCRIPT] + base + ["--out", str(tmp_path / name)]
                              + extra, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert ("resuming from %s: level 2/2" % work in proc.stdout) == (name == "resumed.png")
    resumed, whole = (np.asarray(Image.open(tmp_path / n)) for n in ("resumed.png", "whole.png"))
    np.testing.assert_array_equal(resumed, whole)
    assert not (work / "state.npz").exists()


@pytest.mark.slow
def test_without_cluster_flags_dask_is_never_imported(files, tmp_path):
    """A tiled render on this machine runs without Dask: it is imported by --cluster and
    --workers only."""
    code = ("import runpy, sys\n"
            "sys.argv = ['paint.py'] + sys.argv[1:]\n"
            "try:\n"
            "    runpy.run_path(%r, run_name='__main__')\n"
            "except SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print('dask' in sys.modules, 'distributed' in sys.modules)\n" % SCRIPT)
    proc = subprocess.run([sys.executable, "-c", code, "--content", str(files / "content.png"),
                           "--style", str(files / "style.png"), "--weights",
                           str(files / "random.npz"), "--size", "96", "--schedule", "2,2",
                           "--tile-size", "48", "--style-layers", "conv1_1",
                           "--content-layers", "conv2_2", "--out", str(tmp_path / "out.png")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False False"


def test_one_piece_and_a_4k_print_go_through_the_same_render_loop(paint, tmp_path, monkeypatch):
    """A small picture (one level, whole) and `--size 4k --tiles 6` (four levels, tiled)
    are both one call of `art.engine.render.render`: the one loop. The 4K call is recorded and
    stopped at once, as Ctrl-C would stop it."""
    from art.commands import painting
    from art.engine import render
    calls = []
    real = render.render

    def spy(request, hooks=None):
        calls.append([(lv.picture, len(lv.tiles or ())) for lv in request.levels])
        if len(request.levels) > 1:
            raise KeyboardInterrupt
        return real(request, hooks)

    monkeypatch.setattr(render, "render", spy)
    monkeypatch.setattr(painting, "available_memory", lambda: None)
    paint(*SHALLOW, "--out", str(tmp_path / "small.png"), check=0)
    paint(*SHALLOW, "--out", str(tmp_path / "wall.png"), "--size", "4k", "--tiles", "6",
          check=130)
    assert calls == [[((30, 40), 0)],
                     [((270, 480), 0), ((540, 960), 0), ((1080, 1920), 2), ((2160, 3840), 6)]]


def test_a_poster_in_cm_at_300_dpi_in_16_bits(paint, tmp_path):
    """The issue's poster at a tenth of its size: --size 3x2cm --dpi 300 is 354x236 px; the
    TIFF says 3x2 cm at 300 dpi, holds 16 bits a channel and the sRGB profile."""
    import tifffile
    from art.files import images
    out = tmp_path / "poster.tif"
    proc = paint(*SHALLOW, "--size", "3x2cm", "--dpi", "300", "--bit-depth", "16", "--out",
                 str(out), "--iterations", "1", check=0)
    assert proc.stdout.startswith("painting 354x236 (3.0x2.0 cm at 300 dpi): ")
    with tifffile.TiffFile(out) as tif:
        page = tif.pages[0]
        assert page.shape == (236, 354, 3) and page.dtype == np.uint16
        assert page.tags["XResolution"].value == (300000, 1000)
        assert bytes(page.tags["InterColorProfile"].value) == images.srgb_profile()
    with Image.open(out) as im:
        assert im.size == (354, 236) and im.info["dpi"] == (300, 300)


def test_the_console_scripts_run_the_same_code_as_scripts():
    import importlib
    from importlib.metadata import entry_points
    from conftest import load_script
    installed = {ep.name: ep.value for ep in entry_points(group="console_scripts")
                 if ep.name.startswith("art-")}
    assert installed == {"art-paint": "art.commands:paint",
                         "art-reconstruct": "art.commands:reconstruct",
                         "art-fetch-vgg": "art.commands:fetch_vgg",
                         "art-score": "art.commands:score"}
    for name in ("paint", "reconstruct", "fetch_vgg", "score"):
        assert load_script(name).main is importlib.import_module("art.commands." + name).main
