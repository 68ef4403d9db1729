"""Per-layer reconstructions: panel planning, the engine runs, the sheet, and the script."""

import os
import re
import sys

import numpy as np
import pytest

from art.commands import sheet
from art.errors import ArtError
from art.plan import levels as plans
from conftest import ROOT, load_script, make_random_weights, run_script

SCRIPT = os.path.join(ROOT, "scripts", "reconstruct.py")
rng = np.random.default_rng(1)
# Smooth-ish pictures (noise blurred by repetition) so that reconstructions
# from noise have something to converge to that is not noise itself.
STYLE = np.kron(rng.uniform(0, 255, (8, 10, 3)), np.ones((4, 4, 1))).astype(np.float32)    # 32x40
CONTENT = np.kron(rng.uniform(0, 255, (10, 8, 3)), np.ones((4, 4, 1))).astype(np.float32)  # 40x32


# ------------------------------------------------------------------ planning

def test_presets_follow_the_paper():
    style = sheet.parse_panels("paper", "style")
    content = sheet.parse_panels("paper", "content")
    assert [p.names for p in style] == [list(sheet.STYLE_LAYERS[:i]) for i in range(1, 6)]
    assert [p.names for p in content] == [[name] for name in sheet.CONTENT_LAYERS]
    assert [p.names for p in sheet.parse_panels("single", "style")] == \
        [[name] for name in sheet.STYLE_LAYERS]
    # Equal weights within a subset, summing to 1 (the paper's w_l = 1/5).
    assert style[-1].weights == {name: 0.2 for name in sheet.STYLE_LAYERS}
    assert style[1].name == "style_conv1_1+conv2_1" and style[1].label == "conv1_1 + conv2_1"
    assert content[3].name == "content_conv4_2"


def test_explicit_subsets():
    panels = sheet.parse_panels("conv2_1,conv1_1; conv3_1=1,conv4_1=3", "style")
    assert [p.names for p in panels] == [["conv1_1", "conv2_1"], ["conv3_1", "conv4_1"]]
    assert panels[1].weights == {"conv3_1": 0.25, "conv4_1": 0.75}
    assert panels[1].name == "style_conv3_1=0.25+conv4_1=0.75"


@pytest.mark.parametrize("text, message", [
    ("conv1_1;conv9_9", "unknown layer 'conv9_9'.*valid: conv1_1, conv1_2"),
    ("singel", "neither a preset \\(paper, single, cumulative\\).*valid: conv1_1"),
    (" ; ", "empty"),
    ("conv1_1;conv1_1", "twice"),
    ("conv1_1=0", "must be > 0"),
])
def test_bad_layers(text, message):
    with pytest.raises(ArtError, match=message):
        sheet.parse_panels(text, "style")


def test_reconstruction_config_has_one_term_and_no_tv():
    style, content = sheet.parse_panels("conv1_1,conv2_1", "style")[0], \
        sheet.parse_panels("conv3_2", "content")[0]
    s, c = sheet.panel_config(style, 7, 3), sheet.panel_config(content, 7, 3)
    assert s.content_layers == {} and s.style_layers == {"conv1_1": 0.5, "conv2_1": 0.5}
    assert c.style_layers == {} and c.content_layers == {"conv3_2": 1.0}
    for config in (s, c):
        assert (config.init, config.tv_weight, config.optimizer, config.iterations, config.seed) == \
            ("noise", 0.0, "lbfgs", 7, 3)


def test_deeper_panels_cost_more_by_the_renders_time_model():
    costs = [plans.piece_work(plans.one_piece((160, 256), sheet.panel_config(p))[0])[0]
             for p in sheet.parse_panels("paper", "style")]
    assert costs == sorted(costs)
    # Measured on the paper sheet at 256x160, 2 cores: conv1_1 alone 0.32 s/it, all five
    # 1.26 s/it.
    assert 2 < costs[-1] / costs[0] < 8


# ------------------------------------------------------------------ the engine

def count_convs(tf1, panel, image):
    """Conv2D ops in the loss graph of `panel`, built as the engine builds it."""
    from art.engine import untiled
    import tensorflow as tf
    weights = make_random_weights()
    config = sheet.panel_config(panel)
    content_t = untiled.content_targets(weights, image, config)
    style_t = untiled.style_targets(weights, [image], None, config)
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, (1,) + image.shape)
        untiled.build_loss(x, weights, config, content_t, style_t)
    return sum(op.type == "Conv2D" for op in graph.get_operations())


def test_the_graph_stops_at_the_deepest_layer_asked_for(tf1):
    style = sheet.parse_panels("conv1_1;conv1_1,conv2_1", "style")
    assert count_convs(tf1, style[0], STYLE) == 1
    assert count_convs(tf1, style[1], STYLE) == 3           # conv1_1, conv1_2, conv2_1
    content = sheet.parse_panels("conv1_2", "content")[0]
    assert count_convs(tf1, content, CONTENT) == 2


@pytest.mark.slow
def test_each_panel_lowers_its_own_loss_from_noise(tf1, random_weights):
    from art.engine import untiled
    for kind, image in (("style", STYLE), ("content", CONTENT)):
        for panel in sheet.parse_panels("paper", kind):
            config = sheet.panel_config(panel, iterations=15, seed=2)
            result = sheet.reconstruct(random_weights, image, panel, config)
            assert result.status == "done" and result.image.shape == image.shape
            start = untiled.initial_image(config, image, np.random.default_rng(2))
            content_t = untiled.content_targets(random_weights, image, config)
            style_t = untiled.style_targets(random_weights, [image], None, config)
            before, after = untiled.evaluate(random_weights, [start, result.image], config,
                                             content_t, style_t)
            assert after[kind] == after["total"]            # one term only, no TV
            assert after["total"] < before["total"] / 10, (panel.name, before["total"], after["total"])


@pytest.mark.slow
def test_same_seed_same_sheet(tf1, random_weights):
    panels = [("style", STYLE, p) for p in sheet.parse_panels("conv1_1;conv1_1,conv2_1", "style")] + \
        [("content", CONTENT, sheet.parse_panels("conv2_2", "content")[0])]

    def render(seed):
        cells = {"style": [(STYLE, "style image")], "content": [(CONTENT, "content image")]}
        for kind, image, panel in panels:
            result = sheet.reconstruct(random_weights, image, panel, sheet.panel_config(panel, 5, seed))
            cells[kind].append((result.image, panel.label))
        return sheet.draw_sheet([cells["style"], cells["content"]])

    first = render(4)
    np.testing.assert_array_equal(first, render(4))
    assert not np.array_equal(first, render(5))


# ------------------------------------------------------------------ the sheet

def cells_across(row_pixels, background=255):
    """Runs of picture (non-background) columns along one line of the sheet."""
    filled = np.any(row_pixels != background, axis=-1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], filled.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def test_sheet_layout():
    style_row = [(np.full((20, 40, 3), 10.0), "style image")] + \
        [(np.full((20, 40, 3), 50.0 * i), "conv%d_1" % i) for i in range(1, 5)]
    content_row = [(np.full((30, 24, 3), 100.0), "content image"), (np.full((30, 24, 3), 0.0), "c")]
    gap = 6
    out = sheet.draw_sheet([style_row, content_row], gap=gap)
    assert out.dtype == np.uint8 and out.shape[2] == 3
    assert out.shape[1] == gap + 5 * (40 + gap)
    # Through the middle of each row's pictures: one run per picture, where the layout puts it.
    assert cells_across(out[gap + 10]) == [(gap + c * 46, gap + c * 46 + 40) for c in range(5)]
    second_row = np.flatnonzero(np.all(out[:, gap + 20] == 100, axis=-1))
    y = second_row[len(second_row) // 2]
    assert cells_across(out[y]) == [(gap + 8, gap + 8 + 24), (46 + gap + 8, 46 + gap + 8 + 24)]
    # Captions are drawn under the pictures.
    assert np.any(out[gap + 20: second_row[0]] < 128)


# ------------------------------------------------------------------ the script

@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    from art.files import weights
    path = str(tmp_path_factory.mktemp("w") / "random.npz")
    weights.save_npz(make_random_weights(), path)
    return path



@pytest.mark.parametrize("args, message", [
    (["--layers", "conv1_1;conv6_1"], "unknown layer 'conv6_1'.*valid: conv1_1"),
    (["--size", "24"], "conv5_1: it needs at least 16 px.*larger --size"),
    (["--out-dir", "{file}/sub"], "is not a folder"),
    (["--animate", "{tmp}/run.mov"], "video is written as .mp4 or .webm"),
    (["--iterations", "0"], "at least 1"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, weights_file, args, message, capsys):
    from conftest import shared_image
    style = shared_image("starry_night.jpg")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    args = [a.format(file=blocker, tmp=tmp_path) for a in args]
    out = tmp_path / "out"
    if "--out-dir" not in args:
        args += ["--out-dir", str(out)]
    code, out, err = run_script("reconstruct", ["--style", style, "--weights", weights_file, *args],
                                capsys)
    assert code == 2, err
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ")
    assert re.search(message, err), err
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_script_writes_panels_sheet_and_animation_and_survives_ctrl_c(
        tf1, tmp_path, weights_file, monkeypatch, capsys):
    from art.files import images
    from conftest import shared_image
    script = load_script("reconstruct")
    real = sheet.reconstruct
    calls = []

    def interrupted_third(weights, image, panel, config, callback=None):
        calls.append(panel.name)
        result = real(weights, image, panel, config, callback)
        if len(calls) == 3:
            result.status = "interrupted"
        return result

    monkeypatch.setattr(sheet, "reconstruct", interrupted_third)
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", [
        SCRIPT, "--style", shared_image("starry_night.jpg"), "--content", shared_image("tubingen.jpg"),
        "--size", "32", "--iterations", "4", "--weights", weights_file, "--out-dir", str(out),
        "--animate", str(tmp_path / "run.gif"), "--every", "2", "--layers", "single"])
    assert script.main() == 130
    printed = capsys.readouterr()
    assert "panel 1/10 style conv1_1" in printed.out and "interrupted" in printed.err
    assert sorted(os.listdir(out)) == ["sheet.png", "style_conv1_1.png", "style_conv2_1.png"]
    # The sheet of what is done: the style row (input + 2 panels) only.
    drawn = images.load_image(out / "sheet.png")
    assert len(cells_across(drawn[10 + 5])) == 3
    assert os.path.exists(tmp_path / "run.gif")
