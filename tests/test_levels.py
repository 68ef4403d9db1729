"""Scale-aware levels: what each level paints with, its tiles' margins, its cost."""

import numpy as np
import pytest

from art.config import PaintConfig
from art.errors import ArtError
from art.plan import layers, levels as plans, tiling

# Without the edge margin, so tiles and memory are those of the picture itself.
SCALE_AWARE = dict(fine_layers="conv3_1", fine_anchor_weight=50.0, fine_tv_weight=0.0,
                   edge_margin=0)
PAPER = dict(fine_layers="all", fine_anchor_weight=0.0, fine_tv_weight=1e-2, edge_margin=0)


def margins(level):
    """The widest margin of a level's tiles, in pixels (0 when painted whole)."""
    if not level.tiles:
        return 0
    return max(max(t.inner[0] - t.outer[0], t.outer[1] - t.inner[1],
                   t.inner[2] - t.outer[2], t.outer[3] - t.inner[3]) for t in level.tiles)


def test_finer_levels_read_the_style_layers_down_to_fine_layers_and_the_anchor():
    config = PaintConfig(**SCALE_AWARE)
    plan = plans.plan((768, 1024), config)
    coarse, fine = (level.config for level in plan)
    assert coarse.style_layers == config.style_layers
    assert coarse.content_layers == {"conv4_2": 1.0}
    assert coarse.anchor_weight == 0.0 and coarse.tv_weight == config.tv_weight
    assert list(fine.style_layers) == ["conv1_1", "conv2_1", "conv3_1"]
    assert fine.content_layers == {} and fine.anchor_weight == 50.0 and fine.tv_weight == 0.0


def test_the_paper_setting_paints_every_level_alike():
    config = PaintConfig(**PAPER)
    for level in plans.plan((768, 1024), config):
        got = level.config
        assert (got.style_layers, got.content_layers, got.tv_weight, got.anchor_weight) == (
            config.style_layers, config.content_layers, config.tv_weight, 0.0)


def test_without_the_anchor_finer_levels_keep_the_content_layers():
    config = PaintConfig(fine_layers="conv3_1", fine_anchor_weight=0.0)
    fine = plans.plan((768, 1024), config)[-1].config
    assert fine.content_layers == {"conv4_2": 1.0} and fine.anchor_weight == 0.0


def test_a_picture_in_one_level_is_painted_with_the_whole_loss():
    config = PaintConfig(schedule=[50], **SCALE_AWARE)
    (level,) = plans.plan((768, 1024), config)
    assert level.config.style_layers == config.style_layers
    assert level.config.anchor_weight == 0.0


def test_style_layers_all_deeper_than_fine_layers_are_kept():
    config = PaintConfig(style_layers={"conv4_1": 1.0}, fine_layers="conv2_1")
    assert plans.fine_config(config).style_layers == {"conv4_1": 1.0}


def test_each_level_has_the_margin_of_its_own_deepest_layer():
    config = PaintConfig(tile_size=512, **SCALE_AWARE)
    plan = plans.plan((2160, 3840), config)
    assert [lv.shape for lv in plan] == [(270, 480), (540, 960), (1080, 1920), (2160, 3840)]
    assert margins(plan[0]) == 0          # one piece
    fine = tiling.required_margin(["conv1_1", "conv2_1", "conv3_1"])
    assert fine < tiling.required_margin(["conv5_1"]) == 80
    assert [margins(lv) for lv in plan[1:]] == [fine] * 3
    paper = plans.plan((2160, 3840), PaintConfig(tile_size=512, **PAPER))
    assert [margins(lv) for lv in paper[1:]] == [80] * 3


def test_cost_and_memory_follow_the_deepest_layer():
    # FACTS.md's layer table: to conv3_1 31% of the FLOPs of conv5_1, conv4_1 67%, conv4_2 77%.
    assert layers.flop_share("conv3_1") == pytest.approx(0.31, abs=0.005)
    assert layers.flop_share("conv4_1") == pytest.approx(0.67, abs=0.005)
    assert layers.flop_share("conv4_2") == pytest.approx(0.77, abs=0.005)
    assert layers.flop_share("conv5_1") == 1.0
    # Activations per pixel (the first block holds most): 64+64 at full size, ...
    full = 2 * 64 + (2 * 128) / 4 + (4 * 256) / 16 + (4 * 512) / 64 + 512 / 256
    assert layers.activation_share("conv3_1") == pytest.approx((128 + 64 + 16) / full)
    config = PaintConfig(**SCALE_AWARE)
    plan = plans.plan((768, 1024), config)
    # Time per pixel: measured 56% to conv3_1 at 1024x768 (4.47 s against 7.9 s).
    assert layers.time_share("conv3_1") == pytest.approx(4.47 / 7.9, abs=0.01)
    assert layers.time_share("conv5_1") == pytest.approx(1.0)
    assert plans.piece_work(plan[-1]) == [pytest.approx(0.566 * 768 * 1024, rel=0.02)]
    paper = PaintConfig(**PAPER)
    assert plans.memory_need(plan) < plans.memory_need(plans.plan((768, 1024), paper))


def test_a_level_that_stops_at_conv3_1_builds_no_deeper_op(tf1, random_weights):
    from art.engine import terms, tiled
    config = PaintConfig(**SCALE_AWARE)
    coarse, fine = (level.config for level in plans.plan((768, 1024), config))
    deeper = ("conv4", "conv5", "pool3", "pool4")
    for paints, want in ((fine, 0), (coarse, 1)):
        runner = tiled.TileRunner(random_weights, terms.GraphSpec.of(paints))
        try:
            names = [op.name for op in runner.graph.get_operations()]
        finally:
            runner.close()
        found = [n for n in names if any(d in n for d in deeper)]
        assert bool(found) == bool(want), found[:5]


@pytest.mark.parametrize("shape, schedule", [
    ((341, 512), [300]),
    ((768, 1024), [300, 75]),
    ((1080, 1920), [300, 75, 18]),
    ((2160, 3840), [300, 75, 18, 10]),
    ((4320, 7680), [300, 75, 18, 10, 10]),
])
def test_the_default_schedule(shape, schedule):
    """Halve until the long side is at most 512 px; a quarter of the iterations per finer
    level, at least 10; every level after the first with the finer levels' settings."""
    plan = plans.plan(shape, PaintConfig())
    assert [lv.iterations for lv in plan] == schedule
    assert max(plan[0].picture) <= 512 and plan[-1].picture == shape
    fine = plans.fine_config(PaintConfig())
    assert [lv.config == fine for lv in plan] == [False] + [True] * (len(plan) - 1)


def test_every_level_paints_its_picture_with_the_edge_margin_around_it():
    """The canvas is the level's picture and `edge_margin` px beyond each edge; tiles cut
    the canvas, whose border is then the only one the network sees."""
    config = PaintConfig(schedule=[3, 2, 1], edge_margin=8, tile_size=128)
    plan = plans.plan((300, 400), config)
    assert [lv.picture for lv in plan] == [(75, 100), (150, 200), (300, 400)]
    assert [lv.shape for lv in plan] == [(91, 116), (166, 216), (316, 416)]
    assert [lv.margin for lv in plan] == [8, 8, 8]
    covered = np.zeros(plan[-1].shape, int)
    for t in plan[-1].tiles:
        y0, y1, x0, x1 = t.inner
        covered[y0:y1, x0:x1] += 1
    assert (covered == 1).all()
    assert plans.plan((300, 400), PaintConfig(edge_margin=0))[0].shape == (300, 400)
    assert PaintConfig().edge_margin == 16


@pytest.mark.parametrize("picture, painting, scale, limit, want", [
    # A 4K print from the built-in 768-px painting: the coarsest level scales it to its
    # picture; the finer ones never enlarge it (today's 960, 1920, 3840 with no limit).
    ((2160, 3840), (600, 768), 1.0, 1.0, [480, 768, 768, 768]),
    ((2160, 3840), (600, 768), 1.0, 0.0, [480, 960, 1920, 3840]),
    # A 2000-px painting: shrunk to the levels smaller than it, kept at its size above.
    ((2160, 3840), (1675, 1922), 1.0, 1.0, [480, 960, 1920, 1922]),
    # --style-scale 2: larger strokes at every level, still never past the limit.
    ((2160, 3840), (600, 768), 2.0, 1.0, [960, 768, 768, 768]),
    ((2160, 3840), (600, 768), 2.0, 1.5, [960, 1152, 1152, 1152]),
    # A picture painted in one level is its own coarsest: --style-scale alone.
    ((384, 512), (600, 768), 1.0, 1.0, [512]),
])
def test_fine_levels_never_enlarge_the_painting_past_the_limit(picture, painting, scale, limit,
                                                               want):
    config = PaintConfig(**dict(SCALE_AWARE, style_scale=scale, fine_style_limit=limit))
    plan = plans.plan(picture, config)
    shapes = [plans.style_shape(level, painting) for level in plan]
    assert [max(s) for s in shapes] == want
    for level, shape in zip(plan, shapes):
        # The aspect ratio is the painting's, whatever the level.
        assert shape[1] / shape[0] == pytest.approx(painting[1] / painting[0], rel=0.01)
        if level.index and limit:
            assert max(shape) <= round(limit * max(painting))


def test_a_limited_style_is_checked_for_memory_at_its_own_size():
    # A 4K print's finest level holds the 768-px painting at its own size, not at 3840 px:
    # what fits with the limit is refused without it.
    config = PaintConfig(**SCALE_AWARE)
    plan = plans.plan((2160, 3840), config)
    plans.check_styles(plan, [(600, 768)], available=2.7e9)
    with pytest.raises(ArtError, match="the style image scaled to 960x750 .* needs about"):
        plans.check_styles(plans.plan((2160, 3840), PaintConfig(**dict(
            SCALE_AWARE, fine_style_limit=0.0))), [(600, 768)], available=2.7e9)
