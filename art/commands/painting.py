"""A painting as `scripts/paint.py` runs it: inputs checked, the plan (levels, tiles,
memory), weights, work folder and cluster, then the render and all it writes.

Every picture goes through `art.engine.render.render`: a picture in one piece is a plan
of one level. The library computes and never prints: lines for the user go out
through `say`, progress as `art.engine.render.Progress` records, and `Painting.run`
returns an `Outcome` for the script to print and exit with.
"""

import contextlib
import dataclasses
import os
import resource
import shutil
import time

from art.commands import cli
from art.engine import color, startup
from art.engine.state import RenderState, state_after
from art.errors import ArtError, CheckpointFailed
from art.files import animate, atomic, fetch, images, weights as weights_mod, workdir
from art.plan import levels as plans, precision


def peak_memory():
    """This process's peak resident memory so far, in bytes (what `time -v` reports)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def available_memory():
    """Bytes of memory available to a new process (Linux), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def free_disk(path):
    """Bytes free on the disk that holds `path` (or the nearest folder above it that
    exists)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    return shutil.disk_usage(probe).free


def check_disk(folder, levels, used=0):
    """Refuse, before any painting, a work folder whose disk cannot hold what the render
    will write there (`art.plan.levels.disk_need`), less the `used` bytes of an earlier
    run's that it writes over."""
    need = plans.disk_need(levels) - used
    free = free_disk(folder)
    if need > free:
        on_disk = [level for level in levels if level.history_on_disk]
        what = "its checkpoints, level pictures and the optimiser's history of level %d" \
            % (on_disk[-1].index + 1) if on_disk else "its checkpoints and level pictures"
        raise ArtError("the work folder %s needs about %.1f GB free for %s, and its disk has "
                       "%.1f GB; free some space or choose another --workdir"
                       % (folder, need / 1e9, what, free / 1e9))


def _loopback(address):
    import ipaddress
    host = address.split("://", 1)[1].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass
class Inputs:
    """The pictures a painting reads."""
    content_path: str
    style_paths: list
    init_path: str           # None unless --init names an image
    content: object          # H x W x 3 float32 at the output size
    styles: list             # as read (each level scales them)
    init: object             # at the output size, or None

    @property
    def paths(self):
        return [self.content_path] + list(self.style_paths) + (
            [self.init_path] if self.init_path else [])


@dataclasses.dataclass
class Colours:
    """What --match-colors and --preserve-colors make of the inputs, and of the result.

    Luminance-only transfer (--preserve-colors): the network sees grey pictures, and
    the photo's colours are put back on the painted luminance (`finish`)."""
    content: object          # the photo as the network sees it
    styles: list
    init: object
    photo: object            # the photo itself, for `finish`
    preserve: bool

    @classmethod
    def of(cls, config, inputs):
        styles = list(inputs.styles)
        if config.match_colors:
            styles = [color.match_color(style, inputs.content) for style in styles]
        content, init = inputs.content, inputs.init
        if config.preserve_colors:
            content = color.luminance(content)
            styles = [color.luminance(style) for style in styles]
            init = None if init is None else color.luminance(init)
        return cls(content, styles, init, inputs.content, config.preserve_colors)

    def finish(self, image):
        """The painted picture (at any level's size) as it is shown and written."""
        if not self.preserve:
            return image
        photo = self.photo if image.shape[:2] == self.photo.shape[:2] \
            else images.resize(self.photo, image.shape[:2])
        return color.luminance_transfer(image, photo)


@dataclasses.dataclass
class Outcome:
    """How a painting ended: the exit status and the line that says so."""
    code: int                # 0 done, 1 non-finite loss or a lost cluster, 128 + signal
                             # interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
    line: str
    result: object           # `art.engine.render.Result`


def load_inputs(config):
    """Read and fit the images, checking what is cheap before what is not; and the plan."""
    content_path = config.content or images.EXAMPLE_CONTENT
    style_paths = config.style or [images.EXAMPLE_STYLE]
    content = images.load_image(content_path)
    shape = plans.target_shape(content.shape[:2], images.parse_size(config.size, config.dpi))
    levels, note = plans.fit(shape, config, available_memory())
    init_path = config.init if config.init not in ("content", "noise") else None
    paths = [content_path] + list(style_paths) + ([init_path] if init_path else [])
    images.check_output_path(config.out, paths)
    images.check_output_path(unfinished_path(config.out), paths)
    if config.report:
        images.check_output_path(config.report, paths, extensions=(".json",))
    if config.animate:
        animate.recorder(config.animate, config.animate_every, inputs=paths)
    # An exact WxH of another aspect (a 4K wallpaper from a 3:2 photo) is filled
    # by cropping the photo's centre, never by stretching it.
    content = images.cover(content, shape)
    styles = [images.load_image(path) for path in style_paths]
    plans.check_styles(levels, [style.shape[:2] for style in styles], available_memory())
    init = images.cover(images.load_image(init_path), shape) if init_path else None
    return Inputs(content_path, style_paths, init_path, content, styles, init), levels, note


def unfinished_path(out):
    """Where an unfinished run's picture goes: beside --out (out.unfinished.png), never
    over it, so that --out only ever holds a finished picture."""
    root, ext = os.path.splitext(out)
    return "%s.unfinished%s" % (root, ext)


def checkpoint_path(out, iteration, level=None, shape=None):
    """out.0050.png, or in a render of several levels out.level-2-1024x768.0050.png, the
    level named as its picture in the work folder is (`workdir.level_name`)."""
    root, ext = os.path.splitext(out)
    if level is not None:
        return "%s.%s.%04d%s" % (root, workdir.level_name(level, shape), iteration, ext)
    return "%s.%04d%s" % (root, iteration, ext)


class Painting:
    """One painting: made, it has checked everything cheap (`config`, images, plan,
    output paths); `prepare` finds the weights (fetching the default ones), the work
    folder and the cluster; `run` paints and writes the picture and the report.

    Args:
      config: `art.config.PaintConfig`.
      say: called with each line for the user.
    """

    def __init__(self, config, say=None):
        config.check()
        config.check_paints()
        self.config = config
        self.say = say or (lambda line: None)
        self.inputs, self.levels, note = load_inputs(config)
        if note:
            self.say(note)
        self.on_cluster = config.cluster is not None or config.workers is not None
        if self.on_cluster and not any(level.tiles for level in self.levels):
            raise ArtError("--cluster and --workers share out a render's tiles, and this one has "
                           "none; add --tiles N (e.g. --tiles 6) or --tile-size PX")
        self.weights_path = self.weights = self.work = self.state = self.cluster = None
        self.tile_map = self.resumed_from = None

    @property
    def several(self):
        """True for a print: several levels, or tiles; it keeps a work folder."""
        return len(self.levels) > 1 or any(level.tiles or level.history_on_disk
                                           for level in self.levels)

    def prepare(self):
        """Weights (the default ones fetched on first use), work folder, cluster."""
        config = self.config
        self.weights_path = fetch.ensure_weights(config.weights, self.say)
        self.weights = weights_mod.load(self.weights_path)
        if self.several or config.workdir or config.resume:
            folder = config.resume or config.workdir or os.path.splitext(config.out)[0] + ".work"
            self.work = workdir.Workdir(folder)
            self.fingerprint = workdir.fingerprint(config, self.inputs.paths, self.weights_path,
                                                   self.levels)
            if config.resume:
                # Checked before the lock (which writes a file there), and again under it.
                self.work.check_resume(self.fingerprint)
                self.work.lock()
                saved = self.work.resume(self.fingerprint)
                self.state = None if saved is None else RenderState.from_arrays(saved)
                if self.state is None:
                    self.state = self._from_level_picture()
            else:
                self.work.check_start()
                self.work.lock(create=True)
                # Checked again under the lock: another run may have started here.
                self.work.check_start()
            check_disk(self.work.path, self.levels, self.work.used())
        if self.on_cluster:
            self.cluster = self._connect()

    def _from_level_picture(self):
        """With no checkpoint (a full disk at a level's end), the state after the finest
        level whose picture the work folder holds; None if it holds none."""
        found = self.work.last_level(self.levels)
        if found is None:
            return None
        index, path = found
        image = images.load_image(path)
        if self.config.preserve_colors:
            # The level's picture has the photo's colours put back; the network painted
            # its luminance.
            image = color.luminance(image)
        self.resumed_from = path
        return state_after(self.levels, index, image)

    def _connect(self):
        from art.engine import cluster  # Dask: only for --cluster / --workers
        config = self.config
        self.say("connecting to %s..." % (config.cluster or "a local Dask cluster of %d workers"
                                          % config.workers))
        found = cluster.Cluster(address=config.cluster, workers=config.workers,
                                dashboard=config.dashboard, tls=config.security(),
                                weights_path=self.weights_path,
                                weights_sha=atomic.sha256(self.weights_path))
        live = found.live()
        self.say("painting the tiles on %d Dask worker%s (scheduler %s%s)"
                 % (live, "s"[:live != 1], found.address,
                    ", dashboard %s" % found.dashboard if found.dashboard else ""))
        if found.address.startswith("tcp://") and not _loopback(found.address):
            self.say("warning: %s is plain tcp: anyone who can reach it can run code on every "
                     "worker; use tls:// (docs/cluster.md)" % found.address)
        self.tile_map = cluster.ClusterTiles(found)
        self.tile_map.on_retry = self.say
        return found

    def close(self):
        if self.cluster is not None:
            self.cluster.close()
        if self.work is not None:
            self.work.unlock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def describe(self, arithmetic, why):
        """The plan line: what is painted, how, in which arithmetic."""
        config, levels = self.config, self.levels
        h, w = self.inputs.content.shape[:2]
        plan_text = "%d level%s (%s)" % (len(levels), "s"[:len(levels) > 1], ", ".join(
            "%dx%d: %d it%s" % (lv.picture[1], lv.picture[0], lv.iterations,
                                ", %d tiles" % len(lv.tiles) if lv.tiles else "") for lv in levels))
        if any(lv.tiles for lv in levels):
            plan_text += ", %s tiles" % config.tile_mode
        if config.edge_margin:
            plan_text += ", %d-px edge margin" % config.edge_margin
        return "painting %dx%d (%s): %s in the style of %s; %s, %s; %s convolutions (%s)" % (
            w, h, images.print_size((h, w), config.dpi), self.inputs.content_path,
            ", ".join(self.inputs.style_paths), config.optimizer,
            plan_text, arithmetic, why)

    def run(self, progress=None):
        """Paint, writing the picture, checkpoints, animation and report as the config says.

        Args:
          progress: called with every `art.engine.render.Progress`, after this run's own
            checkpoints of it.

        Returns:
          `Outcome`.
        """
        startup.quiet_tensorflow()          # before anything imports TensorFlow
        from art.engine import render   # so: imported here, not at the top
        config, inputs = self.config, self.inputs
        arithmetic, why = precision.choose(config.precision)
        # The work folder is started before anything is said: once a user has seen the
        # plan, --resume can continue (or restart) this render.
        if self.state is None and self.work is not None:
            self.work.start(self.fingerprint)
        self.say(self.describe(arithmetic, why))
        self._say_where_it_resumes()
        colours = Colours.of(config, inputs)
        keeper = _Keeper(self, colours, progress)
        started = time.time()
        try:
            result = render.render(
                render.Request(self.weights, colours.content, colours.styles, self.levels,
                               init=colours.init, state=self.state),
                render.Hooks(progress=keeper.progress, level_done=keeper.level_done,
                             tile_map=self.tile_map, optimizer=self._optimizer))
            wall = time.time() - started
            # The checkpoint first: it is what a resumed render needs, the picture only
            # shows. Neither failing stops the other from being tried.
            failed, checkpointed = [], False
            if result.status in ("interrupted", "stopped") and self.work is not None:
                try:
                    self.work.save_state(result.state.to_arrays())
                    checkpointed = True
                except ArtError as e:
                    failed.append(str(e))
            try:
                written = self._write_picture(result.image, colours, result.status == "done")
            except ArtError as e:
                if result.status == "done":
                    raise
                failed.append(str(e))
                written = None
            keeper.close(result.image)
        except BaseException:
            keeper.discard()
            raise
        outcome = self._outcome(result, written, wall, failed, checkpointed)
        peak = peak_memory()
        if self.work is not None:
            self.work.record(run=dict(started=time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                            time.localtime(started)),
                                      wall_seconds=wall, peak_memory_bytes=peak,
                                      disk_bytes=keeper.disk_peak(), status=result.status,
                                      iterations=result.iterations,
                                      evaluations=result.evaluations))
        if config.report:
            self._report(result, written, wall, arithmetic, why, peak)
        return outcome

    def _optimizer(self, level):
        """The level's optimiser, its history in the work folder where the plan put it, or
        where the checkpoint it resumes from has it (the memory free may have changed)."""
        from art.engine import render   # TensorFlow: imported by `run` already
        saved = self.state.optimizer if self.state is not None \
            and self.state.level == level.index else None
        on_disk = "history" in saved if saved else level.history_on_disk
        store = self.work.history_store() if on_disk else None
        return render.new_optimizer(level.config, level.iterations, store)

    def _say_where_it_resumes(self):
        source = self.resumed_from and (
            "%s (no checkpoint: the level's picture as saved, in 8 bits)" % self.resumed_from)
        source = source or (self.work and self.work.path)
        if self.state is not None and self.state.level == len(self.levels):
            self.say("resuming from %s: the painting is finished; writing it" % source)
        elif self.state is not None:
            self.say("resuming from %s: level %d/%d" % (source, self.state.level + 1,
                                                         len(self.levels)))
        elif self.work is not None and self.config.resume:
            self.say("nothing was checkpointed in %s yet: painting from the start"
                     % self.work.path)

    def _write_picture(self, image, colours, finished):
        """Write `image`: the finished picture to --out, or the picture as it is beside it
        (`unfinished_path`), an unfinished level's at its own size, whose file says a
        proportionally lower dpi so that it opens at the same print size. Returns the
        size written, (width, height)."""
        config, inputs = self.config, self.inputs
        h, w = image.shape[:2]
        dpi = config.dpi * w / inputs.content.shape[1]
        path = config.out if finished else unfinished_path(config.out)
        images.save_image(path, colours.finish(image), inputs.paths, dpi=dpi,
                          bit_depth=config.bit_depth)
        if finished:
            # An earlier interrupted run's picture, now out of date; left if it cannot go.
            with contextlib.suppress(OSError):
                os.remove(unfinished_path(config.out))
        return w, h

    def _outcome(self, result, written, wall, failed=(), checkpointed=False):
        """The exit status and the line for the user. `failed`: what could not be
        written at the end (the checkpoint, the picture as it is), as messages;
        `checkpointed`: whether the work folder's checkpoint was written."""
        out, work = self.config.out, self.work
        if result.status == "done":
            if work is not None:
                work.finish(self.fingerprint, out)
            return Outcome(0, "wrote %s (%d iterations, %d evaluations, %s)" % (
                out, result.iterations, result.evaluations, cli.format_seconds(wall)), result)
        h, w = self.inputs.content.shape[:2]
        what = "the last good picture" if result.status == "nonfinite" else \
            "the picture of iteration %d" % result.iterations if work is None \
            else "the picture as it is"
        if written is not None:
            what += "" if written == (w, h) else " (%dx%d, of level %d/%d)" % (
                written + (self._level_of(written), len(self.levels)))
            parts = ["wrote %s to %s" % (what, unfinished_path(out))]
        else:
            parts = ["%s was not written" % what]
        if work is not None and result.status != "nonfinite":
            again = "continue with the same options and --resume %s%s" % (
                work.path, " (on a cluster or on this machine)" if self.on_cluster else "")
            if checkpointed:
                parts.append("checkpoint in %s: %s" % (work.path, again))
            elif work.level_pictures():
                parts.append("the finished levels are in %s: once it can be written, %s"
                             % (work.path, again))
        # What failed, unless it is what stopped the render (said first already).
        parts += [line for line in failed if line not in result.message]
        line = "%s: %s" % (result.message, "; ".join(parts))
        if result.status == "interrupted":
            return Outcome(cli.exit_status(result.signal), line, result)
        # A checkpoint that could not be written (a full disk) is the user's to fix: 2, as
        # every other file that cannot be written; a lost cluster or NaN: 1.
        code = 2 if isinstance(result.error, CheckpointFailed) else 1
        return Outcome(code, "error: " + line, result)

    def _level_of(self, size):
        return next((lv.index + 1 for lv in self.levels if lv.picture == size[::-1]),
                    len(self.levels))

    def _report(self, result, written, wall, arithmetic, why, peak):
        config = self.config
        h, w = self.inputs.content.shape[:2]
        runs = self.work.runs() if self.work is not None else workdir.no_runs()
        ends = [runs["level_ends"].get(str(lv.index + 1)) for lv in self.levels]
        final = self.levels[-1].picture[0] * self.levels[-1].picture[1]
        if self.work is None and result.status == "done":
            ends[-1] = result.elapsed
        report = {
            "config": config.to_dict(),
            "weights": self.weights_path, "weights_source": self.weights.source,
            "size": [w, h], "status": result.status, "message": result.message,
            # Each level's painting time, summed over every run that painted it (None:
            # not finished, or finished by a run that could not record it).
            "levels": [{"size": [lv.picture[1], lv.picture[0]],
                        "canvas": [lv.shape[1], lv.shape[0]], "iterations": lv.iterations,
                        "tiles": len(lv.tiles) if lv.tiles else 0,
                        "history": "disk" if lv.history_on_disk else "memory",
                        "seconds": None if end is None or (k and ends[k - 1] is None)
                        else end - (ends[k - 1] if k else 0.0),
                        # The process's peak when the level ended (None: not known), the
                        # level's own where it is the largest of its run so far; beside
                        # what the memory model estimates for the level alone.
                        "peak_memory_bytes": runs["level_peaks"].get(str(lv.index + 1)),
                        "memory_model_bytes": plans.level_need(lv, final)}
                       for k, (lv, end) in enumerate(zip(self.levels, ends))],
            "precision": {"used": arithmetic, "why": why},
            "iterations": result.iterations, "evaluations": result.evaluations,
            "wall_seconds": wall, "optimizer_seconds": result.elapsed,
            "seconds_per_evaluation": result.elapsed / max(result.evaluations, 1),
            # This run's, and the largest of every run of this render that ended (a run
            # killed by SIGKILL records nothing); the work folder's largest size.
            "peak_memory_bytes": peak,
            "peak_memory_bytes_all_runs": max([peak] + [r.get("peak_memory_bytes", 0)
                                                        for r in runs["runs"]]),
            "disk_bytes": max([r.get("disk_bytes") or 0 for r in runs["runs"]], default=0),
            "runs": runs["runs"],
            "memory_model_bytes": plans.memory_need(self.levels),
            "disk_model_bytes": plans.disk_need(self.levels),
            # Where the picture went: --out, or beside it when unfinished; None if nowhere.
            "output": None if written is None else os.path.abspath(
                config.out if result.status == "done" else unfinished_path(config.out)),
            "output_size": None if written is None else list(written),
            "losses": result.history,
        }
        if self.cluster is not None:
            report["cluster"] = {"scheduler": self.cluster.address, "workers": self.cluster.live(),
                                 "retries": self.tile_map.retries, "sent_bytes": self.tile_map.sent,
                                 "received_bytes": self.tile_map.received}
        atomic.write_json(config.report, report, self.inputs.paths)


class _Keeper:
    """What a painting keeps as it goes: numbered pictures (--save-every), animation
    frames, work-folder checkpoints every --checkpoint-every minutes and at every
    finished level."""

    def __init__(self, painting, colours, progress):
        self.painting, self.colours, self.forward = painting, colours, progress
        config = painting.config
        self.config = config
        self.recorder = self.frame_shape = None
        if config.animate:
            self.recorder = animate.recorder(config.animate, config.animate_every,
                                             inputs=painting.inputs.paths)
            self.frame_shape = self.recorder.frame_shape(painting.inputs.content.shape)
        self.checkpointed = time.time()
        self.frames = 0
        self.disk = 0

    def disk_peak(self):
        """The work folder's largest size seen by this run (at its checkpoints and end)."""
        work = self.painting.work
        if work is not None:
            self.disk = max(self.disk, work.disk_used())
        return self.disk

    def progress(self, p):
        config, painting = self.config, self.painting
        if config.save_every and p.iteration % config.save_every == 0:
            several = len(painting.levels) > 1
            name = checkpoint_path(config.out, p.iteration, p.level if several else None,
                                   p.shape)
            images.save_image(name, self.colours.finish(p.image()), painting.inputs.paths,
                              dpi=config.dpi, bit_depth=config.bit_depth)
        self.frames += 1
        if self.recorder is not None and self.frames % self.recorder.every == 0:
            self.recorder.add(self.frames, images.resize(self.colours.finish(p.image()),
                                                         self.frame_shape))
        if painting.work is not None and time.time() - self.checkpointed \
                >= 60 * config.checkpoint_every:
            self._checkpoint(p.state())
        if self.forward is not None:
            self.forward(p)

    def level_done(self, level, image, next_state):
        painting = self.painting
        if painting.work is None:
            return
        try:
            path = painting.work.save_level(level, self.colours.finish(image))
        except ArtError as e:
            raise CheckpointFailed(str(e)) from None
        # After the last level too: if its picture cannot be written (a full disk), the
        # resumed render writes it without painting again.
        self.disk_peak()        # the level's history is still there: it is swept next
        self._checkpoint(next_state)
        painting.work.record(level=level.index, elapsed=next_state.elapsed, peak=peak_memory())
        if len(painting.levels) > 1:
            painting.say("level %d/%d done: %s" % (level.index + 1, len(painting.levels), path))

    def _checkpoint(self, state):
        """Save `state` in the work folder; a failure (a full disk) stops the render where
        it is rather than painting on with nothing saved."""
        try:
            self.painting.work.save_state(state.to_arrays())
        except ArtError as e:
            raise CheckpointFailed(str(e)) from None
        self.checkpointed = time.time()
        self.disk_peak()

    def discard(self):
        """Drop a half-recorded animation (a video's temporary file)."""
        if self.recorder is not None:
            self.recorder.discard()

    def close(self, image):
        if self.recorder is not None:
            self.recorder.add(self.frames, images.resize(self.colours.finish(image),
                                                         self.frame_shape), force=True)
            self.recorder.write()
