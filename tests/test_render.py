"""Print renders: the plan of levels and tiles, memory, tiled targets, exact and
independent tiles, and resuming to the same picture."""

import dataclasses

import numpy as np
import pytest

from art.config import PaintConfig
from art.engine.state import RenderState
from art.errors import ArtError
from art.plan import layers, levels as plans, tiling
from conftest import render_with

rng = np.random.default_rng(7)
CONTENT = rng.uniform(0, 255, (72, 104, 3)).astype(np.float32)
STYLE = rng.uniform(0, 255, (40, 40, 3)).astype(np.float32)
GB = 1e9
# Every level painted with the whole loss, as before the scale-aware levels (and without
# issue 28's start noise and style limit): what the
# measurements of the memory model were made with.
PAPER = dict(fine_layers="all", fine_anchor_weight=0.0, fine_tv_weight=1e-2, edge_margin=0,
             fine_start_noise=0.0, fine_style_limit=0.0)


def small_config(**kw):
    base = dict(print_every=0, style_weight=1.0, style_layers={"conv1_1": 1.0, "conv2_1": 1.0},
                content_layers={"conv2_2": 1.0}, init="noise", schedule=[4, 3])
    base.update(kw)
    return PaintConfig(**base)


def boxes(rows, columns, shape, margin):
    """Inner and outer boxes of a grid with these row and column boundaries, by hand:
    the outer box is the inner one plus `margin`, clipped at the picture's border."""
    h, w = shape
    return [((y0, y1, x0, x1), (max(0, y0 - margin), min(h, y1 + margin),
                                max(0, x0 - margin), min(w, x1 + margin)))
            for y0, y1 in zip(rows, rows[1:]) for x0, x1 in zip(columns, columns[1:])]


def test_default_plan_of_a_4k_print():
    """The finer levels read layers down to conv3_1 only: their tiles' margin is conv3_1's
    reach, 10 px, on the 16-px grid."""
    levels = plans.plan((2160, 3840), PaintConfig(tiles=6, edge_margin=0))
    assert [lv.iterations for lv in levels] == [300, 75, 18, 10]
    final = [(t.inner, t.outer) for t in levels[-1].tiles]
    assert final == boxes([0, 1088, 2160], [0, 1280, 2560, 3840], (2160, 3840), 16)
    assert [(t.inner, t.outer) for t in levels[2].tiles] == boxes([0, 1080], [0, 960, 1920],
                                                                   (1080, 1920), 16)


def test_plan_of_a_4k_print_with_the_whole_loss_at_every_level():
    levels = plans.plan((2160, 3840), PaintConfig(tiles=6, **PAPER))
    assert [lv.shape for lv in levels] == [(270, 480), (540, 960), (1080, 1920), (2160, 3840)]
    assert [lv.iterations for lv in levels] == [300, 75, 18, 10]
    # 6 tiles on a landscape picture: 2 rows x 3 columns. The row boundary, 1080, moves to
    # the 16-px grid (1088 = 68 cells); conv5_1's reach of 70 px rounds up to a margin of 80.
    final = [(t.inner, t.outer) for t in levels[-1].tiles]
    assert final == boxes([0, 1088, 2160], [0, 1280, 2560, 3840], (2160, 3840), 80)
    assert [t.index for t in levels[-1].tiles] == [(r, c) for r in range(2) for c in range(3)]
    # Coarser levels are cut into tiles of the final level's inner size (1280 px): 1920x1080
    # in two; a level that fits in one tile is painted whole.
    assert [(t.inner, t.outer) for t in levels[2].tiles] == boxes([0, 1080], [0, 960, 1920],
                                                                   (1080, 1920), 80)
    assert levels[0].tiles is None and levels[1].tiles is None
def test_small_pictures_are_one_level():
    assert len(plans.plan((341, 512), PaintConfig())) == 1
    assert [lv.picture for lv in plans.plan((683, 1024), PaintConfig())] == [(342, 512),
                                                                             (683, 1024)]
    assert [lv.iterations for lv in plans.plan((683, 1024), PaintConfig(iterations=40))] == [40, 10]


def test_schedule_sets_levels_and_iterations():
    levels = plans.plan((300, 400), PaintConfig(schedule=[7, 5, 3]))
    assert [(lv.picture, lv.iterations) for lv in levels] == [((75, 100), 7), ((150, 200), 5),
                                                            ((300, 400), 3)]
    with pytest.raises(ArtError, match="coarsest, 3x2, is too small for layer conv5_1"):
        plans.plan((300, 400), PaintConfig(schedule=[1] * 8))


def test_the_memory_model_follows_the_measurements():
    """The model's constants against what was measured on this project's machines
    (docs/prints.md): one evaluation in one piece at 256, 512 and 1024 px a side in
    float32, and the peak of a 6000x4498 print in bfloat16 tiles of 1536 px (its last level's
    history on disk: 9.03 GB; in memory, 3 pairs by its end: 10.61 GB), never below
    and within a tenth."""
    for side, measured in ((256, 1.9 * GB), (512, 2.5 * GB), (1024, 4.5 * GB)):
        model = plans.FIXED_BYTES + plans.PIECE_BYTES_PER_PIXEL * side * side
        assert abs(model - measured) <= 0.1 * measured, side
    config = PaintConfig(schedule=[1, 3], tile_size=1536, precision="bfloat16")
    levels = plans.plan((4498, 6000), config)
    last = dataclasses.replace(levels[-1], history_on_disk=True)
    on_disk = plans.memory_need(levels[:-1] + [last])
    assert 9.03 * GB <= on_disk <= 1.1 * 9.03 * GB
    with_pairs = plans.level_need(last, 4498 * 6000) + 12 * 2 * 3 * last.pixels
    assert 10.61 * GB <= with_pairs <= 1.1 * 10.61 * GB


@pytest.mark.parametrize("shape,available,tiles,on_disk,peak", [
    ((4961, 7016), 23.5, 12, False, 18.32),   # A2
    ((7016, 9933), 23.5, 20, True, 14.98),    # A1
    ((9933, 14043), 23.5, 70, True, 19.25),   # A0, its last level
    ((2160, 3840), 23.5, 4, False, 8.35),     # 4K
])
def test_the_memory_model_of_a_print_in_bfloat16_tiles_follows_its_render(
        shape, available, tiles, on_disk, peak):
    """The estimate of a print painted in tiles in bfloat16 (what a CPU with native
    bfloat16 paints in), planned as it was painted, against its measured peak (`time -v`,
    docs/prints.md): never below it, and within a tenth of it."""
    levels, _ = plans.fit(shape, PaintConfig(precision="bfloat16"), available * GB)
    assert (len(levels[-1].tiles), levels[-1].history_on_disk) == (tiles, on_disk)
    assert peak * GB <= plans.memory_need(levels) <= 1.1 * peak * GB


def test_a_finer_start_is_the_picture_with_its_seed_and_levels_noise():
    """`fine_start`, made in place to spare memory, against the formula: the start plus
    the noise of the seed and level, clipped; the start it is given left as it was."""
    from art.engine.state import fine_start
    level = plans.plan((300, 400), PaintConfig(schedule=[2, 1], seed=5))[1]
    start = rng.uniform(-1, 256, level.shape + (3,)).astype(np.float32)
    given = start.copy()
    noise = np.random.default_rng([5, 1]).standard_normal(start.shape, np.float32) \
        * np.float32(level.config.fine_start_noise)
    np.testing.assert_array_equal(fine_start(start, level), np.clip(start + noise, 0, 255))
    np.testing.assert_array_equal(start, given)


def test_memory_is_the_largest_piece_of_the_most_demanding_level():
    """memory_need by hand for the 4K print in 6 tiles: the largest piece is a middle
    column's tile, margins on both sides (1168 x 1440), at the final level; 8 float32
    arrays of the picture and the 20 of the optimiser's history for every pixel, and the
    content photo at the print's size."""
    per_picture_pixel = 12 * (8 + 2 * plans.MAXCOR) + 12
    expected = plans.FIXED_BYTES + 2.9e3 * 1168 * 1440 + per_picture_pixel * 3840 * 2160
    six = PaintConfig(tiles=6, **PAPER)
    assert plans.memory_need(plans.plan((2160, 3840), six)) == pytest.approx(expected)
    whole = plans.FIXED_BYTES + (2.9e3 + per_picture_pixel) * 3840 * 2160
    paper = PaintConfig(**PAPER)
    assert plans.memory_need(plans.plan((2160, 3840), paper)) == pytest.approx(whole)
    # Finer levels down to conv3_1: the last level's piece keeps that layer's share of the
    # activations, with a margin of 16 px (a middle column's tile: 1104 x 1312).
    scale_aware = PaintConfig(tiles=6, edge_margin=0)
    share = layers.activation_share("conv3_1")
    assert plans.memory_need(plans.plan((2160, 3840), scale_aware)) == pytest.approx(
        plans.FIXED_BYTES + 2.9e3 * share * 1104 * 1312 + per_picture_pixel * 3840 * 2160)


def test_tiles_are_chosen_to_fit():
    # 8K with finer levels to conv3_1: tiles of 2048 px fit in 24 GB.
    assert plans.choose_tile_size((4320, 7680), PaintConfig(), 24 * GB) == 2048
    config = PaintConfig(**PAPER)
    # 8K, the whole loss at every level: tiles of 2048 px fit in 24 GB, not in 22.
    assert plans.choose_tile_size((4320, 7680), config, 24 * GB) == 2048
    assert plans.choose_tile_size((4320, 7680), config, 22 * GB) == 1536
    assert plans.memory_need(plans.plan((4320, 7680), config, tile_size=2048)) <= 24 * GB
    assert plans.memory_need(plans.plan((4320, 7680), config, tile_size=2048)) > 22 * GB
    six = PaintConfig(tiles=6, **PAPER)
    assert plans.memory_need(plans.plan((4320, 7680), six)) > 24 * GB
    assert plans.choose_tile_size((21600, 38400), config, 24 * GB) is None


def test_feathering_puts_a_picture_back_together():
    """Crops of one picture, feathered, are that picture: the weights are a partition of unity."""
    from art.engine.render import feather, feather_weights
    picture = rng.uniform(0, 255, (400, 600, 3))
    tiles = tiling.tiles_for(picture.shape, n_tiles=6, names=["conv4_2"])
    out = feather(tiles, [tiling.crop(picture, t.outer) for t in tiles], picture.shape[:2])
    np.testing.assert_allclose(out, picture, atol=1e-3)
    total = np.zeros(picture.shape[:2] + (1,))
    for t in tiles:
        w = feather_weights(t, picture.shape[:2])
        assert w.min() >= 0 and w.max() == 1
        total[t.outer[0]:t.outer[1], t.outer[2]:t.outer[3]] += w
    # Away from the overlaps a pixel belongs to one tile alone.
    assert total.min() > 0 and np.isclose(total[:40, :40], 1).all()


def test_tiled_targets_are_the_whole_pictures(tf1, random_weights):
    from art.engine import untiled
    from art.engine import terms, tiled
    config = small_config(moment_weight=1.0)
    tiles = tiling.tiles_for(CONTENT.shape, tile_size=32, names=["conv2_2"])
    tile_map = tiled.LocalTiles(tiled.TileRunner(random_weights, terms.GraphSpec.of(config)))
    try:
        content_t = tiled.content_targets(tile_map, CONTENT, tiles, config)
        style_t = tiled.style_targets(tile_map, CONTENT, tiles, config)
    finally:
        tile_map.close()
    expected = untiled.content_targets(random_weights, CONTENT, config)
    np.testing.assert_allclose(content_t["conv2_2"], expected["conv2_2"], rtol=1e-4, atol=1e-3)
    expected = untiled.style_targets(random_weights, [CONTENT], None, config)
    assert sorted(style_t) == sorted(expected) == ["moments/conv1_1/mean", "moments/conv1_1/std",
                                                   "moments/conv2_1/mean", "moments/conv2_1/std",
                                                   "style/conv1_1", "style/conv2_1"]
    for key in expected:
        np.testing.assert_allclose(style_t[key], expected[key], rtol=1e-4,
                                   atol=1e-5 * np.abs(expected[key]).max())


def run(weights, config, content=CONTENT, **kw):
    return render_with(weights, content, [STYLE], plans.plan(content.shape[:2], config), **kw)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_tiled_render_is_the_whole_render(tf1, random_weights, optimizer):
    """Tiles change where the work is done, not the picture, whichever the optimiser."""
    whole = run(random_weights, small_config(schedule=[3], optimizer=optimizer))
    seen = []
    tiled = run(random_weights, small_config(schedule=[3], tile_size=32, optimizer=optimizer),
                progress=seen.append)
    assert tiled.status == "done" and len(seen) == 3 and seen[-1].tiles == 20   # on the canvas
    assert tiled.evaluations == whole.evaluations
    for a, b in zip(whole.history, tiled.history):
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), key
    # Each evaluation agrees to float rounding (above); L-BFGS then carries the rounding
    # on, and how much depends on which convolution kernels oneDNN picked in this process
    # (measured on an AVX2 EPYC: 0.44 at most, 0.002 on average, after 3 iterations, or
    # under 0.05 when other tests ran first). Bounded well inside one 8-bit grey level:
    diff = np.abs(tiled.image - whole.image)
    assert diff.max() < 1.0 and diff.mean() < 0.01


@pytest.mark.slow
def test_levels_go_coarse_to_fine(tf1, random_weights):
    seen, finished = [], []
    result = run(random_weights, small_config(), progress=seen.append,
                 level_done=lambda level, image, state: finished.append((level.picture,
                                                                      image.shape, state)))
    assert result.status == "done" and result.image.shape == CONTENT.shape
    assert [(p.level, p.iteration) for p in seen] == [(1, 1), (1, 2), (1, 3), (1, 4),
                                                    (2, 1), (2, 2), (2, 3)]
    assert seen[-1].levels == 2 and seen[-1].left == 0 and seen[0].shape == (36, 52)
    # The time left is measured from the second iteration: the first builds the graph.
    assert seen[0].left is None and all(p.left is not None for p in seen[1:])
    assert finished[0][:2] == ((36, 52), (36, 52, 3))
    # The state holds the finer level's canvas: its picture and the 16-px edge margin.
    assert finished[0][2].start.shape == (72 + 32, 104 + 32, 3)
    assert result.history[-1]["level"] == 2
    # After the last level, the state holds the finished picture: resumed from it (its
    # file could not be written), the render returns that picture without painting.
    done = finished[1][2]
    assert done.level == 2 and done.start is result.image
    again = run(random_weights, small_config(), state=done, progress=seen.append)
    assert again.status == "done" and again.iterations == 0 and len(seen) == 7
    np.testing.assert_array_equal(again.image, result.image)


@pytest.fixture(scope="module")
def uninterrupted(tf1, random_weights):
    """The uninterrupted render of a config, painted once for the resumes cut at several
    points that must all finish it."""
    painted = {}

    def picture(config):
        key = repr(config)   # the config holds dicts: not hashable, but its repr is exact
        if key not in painted:
            painted[key] = run(random_weights, config).image
        return painted[key]
    return picture


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exact", "independent"])
@pytest.mark.parametrize("stop", [(1, 2), (2, 1), (2, 3)])
def test_resume_gives_the_same_picture(tf1, random_weights, uninterrupted, tmp_path, mode,
                                       stop):
    """Ctrl-C after any iteration, the state through the work folder, and a second run
    finish the picture an uninterrupted run paints."""
    from art.files import workdir
    config = small_config(tile_size=48, tile_mode=mode)

    def interrupt(p):
        if (p.level, p.iteration) == stop and p.tile in (0, 2):
            raise KeyboardInterrupt
    part = run(random_weights, config, progress=interrupt)
    assert part.status == "interrupted" and part.state is not None
    folder = workdir.Workdir(tmp_path)
    folder.save_state(part.state.to_arrays())
    saved = RenderState.from_arrays(folder.load_state())
    rest = run(random_weights, config, state=saved)
    assert rest.status == "done"
    np.testing.assert_array_equal(rest.image, uninterrupted(config))
    # Handed to the optimiser, not kept beside it for the rest of the render.
    assert not saved.optimizer


@pytest.mark.slow
def test_independent_tiles_differ_from_exact_ones(tf1, random_weights):
    config = small_config(schedule=[3], tile_size=48)
    exact = run(random_weights, config)
    seen = []
    independent = run(random_weights, dataclasses.replace(config, tile_mode="independent"),
                      progress=seen.append)
    assert independent.status == "done" and independent.image.shape == CONTENT.shape
    assert [p.tile for p in seen] == [t for t in range(1, 10) for _ in range(3)]
    assert np.abs(independent.image - exact.image).max() > 1.0


def mirrored(image, margin):
    """`image` with `margin` px mirrored beyond each edge, by index arithmetic: position
    -k is position k, position n - 1 + k is n - 1 - k (the edge pixel not repeated)."""
    def index(n):
        i = np.abs(np.arange(-margin, n + margin))
        return np.where(i > n - 1, 2 * (n - 1) - i, i)
    return image[index(image.shape[0])][:, index(image.shape[1])]


def test_the_edge_margin_is_the_photo_mirrored_and_cropped_off(tf1, random_weights):
    """A level painted with an edge margin is the picture a margin-less render of the
    photo mirrored into that margin paints, cropped: the same start, content, styles
    (scaled to the picture, not the canvas) and loss, every pixel."""
    m = 8
    config = small_config(schedule=[3], edge_margin=m)
    seen = []
    with_margin = run(random_weights, config, progress=seen.append)
    assert with_margin.image.shape == CONTENT.shape
    assert [p.shape for p in seen] == [CONTENT.shape[:2]] * 3
    assert seen[-1].image().shape == CONTENT.shape
    canvas = mirrored(CONTENT, m)
    # The same style size: the margin-less render scales the style to its long side.
    scale = max(CONTENT.shape[:2]) / max(canvas.shape[:2])
    by_hand = run(random_weights, small_config(schedule=[3], edge_margin=0, style_scale=scale),
                  content=canvas)
    np.testing.assert_array_equal(with_margin.image, by_hand.image[m:-m, m:-m])
    assert with_margin.history == by_hand.history


def test_a_finer_level_starts_from_the_coarser_picture_mirrored(tf1, random_weights):
    from art.files import images
    m = 8
    finished = []
    result = run(random_weights, small_config(schedule=[2, 1], edge_margin=m,
                                              fine_start_noise=0.0),
                 level_done=lambda level, image, state: finished.append((image, state)))
    assert result.image.shape == CONTENT.shape
    (coarse, state), (final, _) = finished
    assert coarse.shape == (36, 52, 3) and final is result.image
    expected = mirrored(images.resize(coarse, CONTENT.shape[:2]), m)
    np.testing.assert_array_equal(state.start, expected)


def test_a_finished_levels_optimiser_is_let_go_before_the_finer_start_is_made(
        tf1, random_weights, monkeypatch):
    """Its history in memory and the finer level's start did not fit together at A0. Let
    go by its last reference, not by the cycle collector: beside TensorFlow's objects that
    runs rarely, and an optimiser held in a cycle outlived its level at A0."""
    import gc
    import weakref
    from art.engine import render, state as states
    made, alive = [], []
    made_after = states.state_after

    def state_after(*args, **kw):
        alive.append([ref() is not None for ref in made])
        return made_after(*args, **kw)
    monkeypatch.setattr(render, "state_after", state_after)

    def optimizer(level):
        found = render.new_optimizer(level.config, level.iterations)
        made.append(weakref.ref(found))
        return found
    gc.collect()
    gc.disable()
    try:
        result = run(random_weights, small_config(schedule=[2, 1]), optimizer=optimizer)
    finally:
        gc.enable()
    assert result.status == "done" and len(made) == 2
    assert alive[0] == [False] and alive[-1] == [False, False]


def test_a_finer_level_starts_with_noise_of_its_seed_and_level():
    from art.engine.state import state_after
    config = small_config(schedule=[2, 1, 1], edge_margin=0, fine_start_noise=12.0)

    def start_after(index, value, config=config):
        """The start that follows level `index`'s picture, grey `value`, planned with `config`."""
        plan = plans.plan(CONTENT.shape[:2], config)
        return state_after(plan, index, np.full(plan[index].picture + (3,), value,
                                                np.float32)).start

    start = start_after(0, 128.0)
    noise = start - 128.0
    # Gaussian of the asked deviation, mean 0, on every pixel and channel.
    assert abs(noise.std() - 12.0) < 0.5 and abs(noise.mean()) < 0.5
    assert (noise != 0).mean() > 0.95
    # The same for one seed and level (a render resumed from the level's picture starts
    # the level as it began), another for another seed or level.
    np.testing.assert_array_equal(start_after(0, 128.0), start)
    other_seed = dataclasses.replace(config, seed=config.seed + 1)
    assert not np.array_equal(start_after(0, 128.0, other_seed), start)
    finer = start_after(1, 128.0)
    assert not np.array_equal(finer[:start.shape[0], :start.shape[1]], start)
    # Within 0..255 however bright the picture; none at 0.
    white = start_after(0, 255.0)
    assert white.max() == 255.0 and white.min() > 200.0
    quiet = dataclasses.replace(config, fine_start_noise=0.0)
    np.testing.assert_allclose(start_after(0, 128.0, quiet), 128.0, atol=1e-3)


def test_a_state_of_another_render_is_refused(tf1, random_weights):
    part = run(random_weights, small_config(), progress=lambda p: (_ for _ in ()).throw(
        KeyboardInterrupt))
    with pytest.raises(ArtError, match="another render"):
        run(random_weights, small_config(schedule=[2, 2, 2]), state=part.state)


@pytest.mark.slow
def test_a_stalled_level_ends_early_and_resumes_to_the_same_stop(tf1, random_weights, tmp_path):
    """--stop-below ends each level at the first iteration the loss stalls; the rule's
    window is in the state, so a resumed render stops where the whole one did."""
    from art.files import workdir
    from art.engine.optim import stalled
    # The whole loss at both levels: this is about the stopping rule, whose windows it
    # was tuned with.
    config = small_config(schedule=[60, 40], stop_below=1e-2, init="content", **PAPER)
    seen = []
    whole = run(random_weights, config, progress=seen.append)
    per_level = [[p for p in seen if p.level == k] for k in (1, 2)]
    assert whole.status == "done" and all(10 < len(done) < cap
                                          for done, cap in zip(per_level, (60, 40)))
    for done in per_level:
        trace = [p.losses["total"] for p in done]
        assert stalled(trace, 1e-2) and not stalled(trace[:-1], 1e-2)
    stop = per_level[1][-3]

    def interrupt(p):
        if (p.level, p.iteration) == (stop.level, stop.iteration):
            raise KeyboardInterrupt
    part = run(random_weights, config, progress=interrupt)
    folder = workdir.Workdir(tmp_path)
    folder.save_state(part.state.to_arrays())
    rest = run(random_weights, config, state=RenderState.from_arrays(folder.load_state()))
    np.testing.assert_array_equal(rest.image, whole.image)
    assert rest.iterations + part.iterations == whole.iterations


def test_the_plan_fits_the_memory_it_is_given():
    """art.plan.levels.fit: a picture that fits is painted as asked; one that does not gets
    the largest tiles that leave a tenth spare, and says so; one that fits in no tiles,
    or not in the tiles asked for, is refused with what it needs."""
    levels, note = plans.fit((341, 512), PaintConfig(), available=24 * GB)
    assert [(lv.picture, lv.tiles) for lv in levels] == [((341, 512), None)] and note is None
    # 4K in one piece would need 22.2 GB by the estimate: within 23 GB, not within 90% of it.
    need = plans.memory_need(plans.plan((2160, 3840), PaintConfig()))
    assert 0.9 * 23 * GB < need < 23 * GB
    levels, note = plans.fit((2160, 3840), PaintConfig(), available=23 * GB)
    assert levels[-1].tiles and note.startswith("a 3840x2160 picture does not fit in one piece")
    levels, note = plans.fit((4320, 7680), PaintConfig(), available=24 * GB)
    size = plans.choose_tile_size((4320, 7680), PaintConfig(), 0.9 * 24 * GB)
    assert note == ("a 7680x4320 picture does not fit in one piece here: painting it in %d "
                    "tiles of about %d px" % (len(levels[-1].tiles), size))
    assert plans.memory_need(levels) <= 0.9 * 24 * GB
    with pytest.raises(ArtError, match=r"^a 38400x21600 picture needs at least \d+\.\d GB even in "
                                       r"tiles with its history on disk \(its own arrays\) and "
                                       r"this machine has 24\.0 GB available; choose a smaller "
                                       r"--size$"):
        plans.fit((21600, 38400), PaintConfig(), available=24 * GB)
    # Its own arrays fit, but not even tiles of 512 px: a deep network's activations.
    with pytest.raises(ArtError, match=r"^a 7680x4320 picture needs about \d+\.\d GB even in "
                                       r"tiles of 512 px with its history on disk and this "
                                       r"machine has 6\.2 GB available"):
        plans.fit((4320, 7680), PaintConfig(**PAPER), available=6.2 * GB)
    with pytest.raises(ArtError, match=r"in these tiles .* use more --tiles or a smaller --size$"):
        plans.fit((4320, 7680), PaintConfig(tiles=2), available=24 * GB)
    # Where the memory is unknown, the plan is the one asked for.
    assert plans.fit((4320, 7680), PaintConfig(), available=None)[0][-1].tiles is None
