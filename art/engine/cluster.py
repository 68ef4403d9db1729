"""Exact tiles on a Dask cluster: the maps of every tiled evaluation run on workers.

`art.engine.tiled` writes an evaluation as two maps over tiles with a small reduce
between them. `ClusterTiles` runs those maps on the workers of a Dask
scheduler, with the same methods as `tiled.LocalTiles`; the driver keeps the
picture, the optimiser and the reduces, so the picture is the one a
single-process tiled render paints.

What crosses the network, per evaluation: each tile's pixels (outer box) to a
worker, once for both passes; the cotangents of the terms' statistics (the Gram
gradients K, and a few numbers) to one worker, which the others fetch them
from; back, each tile's statistics (Gram partial sums, float32) and its
gradient. The level's content targets are sent once per level, to the worker
that will evaluate that tile. Each worker loads the VGG weights once (a worker
plugin) and builds one tile graph per set of terms and layers, reused for every
tile shape, level and evaluation.

Faults: a task lost with its worker, or data lost with it, is retried -- the
driver still has every input, so it sends them again to the live workers and
evaluates again; the result does not depend on which worker ran a tile. When
no scheduler answers (or no worker joins in time) the map raises
`ClusterLost`, an `errors.Stopped`: the render stops with its state, and
`--resume` continues it here or on a cluster.

Only `scripts/paint.py --cluster/--workers` imports this module, so Dask is
needed only by those who use it.
"""

import logging
import os
import signal
import threading
import time

import numpy as np

import art
from art.config import parse_address
from art.engine import startup
from art.errors import ArtError, Stopped
from art.files import atomic, fetch, weights

import dask
import distributed

# What a terminal sends its whole process group: Ctrl-C, and SIGHUP when it closes. The
# driver ends the render on either (checkpoint, picture, one line); its local workers
# must not die first, with tracebacks of their own. (SIGTERM is not sent to a group by
# a terminal, and is how a nanny stops its worker.)
GROUP_SIGNALS = (signal.SIGINT, signal.SIGHUP)
# Seconds to reach a scheduler: a closed port or a silent host is refused in this
# time rather than hanging.
CONNECT_TIMEOUT = 10
# Seconds to wait for a first worker at start-up.
WORKERS_TIMEOUT = 30
# After a failed map: seconds to wait for a live worker again, and how many
# failures in a row end the render. A killed worker's nanny restarts it in a
# few seconds; a worker that dies on every attempt is a real fault.
RECOVER_TIMEOUT = 120
ATTEMPTS = 5
TASK_TIMEOUT = 3600
# Bytes of per-tile inputs sent to a worker in one call: a print's crops, sent all at
# once, would be made all at once in the driver.
SCATTER_BYTES = 256 << 20
PLUGIN = "art"


class ClusterLost(Stopped):
    """The scheduler cannot be reached, or the work keeps failing."""


class WorkerMismatch(Stopped):
    """A worker's `art` version or VGG weights differ from the driver's."""


def _weights_candidates(path):
    """Where a worker looks for the driver's weights: the same path, then the same
    file name in its own `vgg/` folder (another machine's checkout)."""
    own = os.path.join(os.path.dirname(fetch.DEFAULT_WEIGHTS), os.path.basename(path))
    return [path] if os.path.abspath(own) == os.path.abspath(path) else [path, own]


class _WorkerArt:
    """What a worker process keeps between tasks: its weights, its tile graphs and a
    lock, so that one tile at a time runs (TensorFlow spreads it over the worker's
    threads; two at once would only share them and double the memory)."""

    def __init__(self, weights_path, weights_sha, threads):
        self.threads = threads
        self.lock = threading.Lock()
        self.runners = {}
        self.weights = None
        self.identity = {"art": art.__version__, "weights": None, "path": None}
        self.problem = None
        found = [p for p in _weights_candidates(weights_path) if os.path.isfile(p)]
        if not found:
            self.problem = "has no VGG weights at %s" % " or ".join(
                _weights_candidates(weights_path))
            return
        path = found[0]
        self.identity.update(path=path, weights=atomic.sha256(path))
        if self.identity["weights"] != weights_sha:
            self.problem = ("has other VGG weights at %s (sha256 %s..., the driver's %s...)"
                            % (path, self.identity["weights"][:12], weights_sha[:12]))
            return
        startup.quiet_tensorflow()
        self.weights = weights.load(path)

    def runner(self, spec):
        """The tile graph of `spec` (content and style layers, which other terms, pooling,
        precision), built once."""
        if spec not in self.runners:
            from art.engine import tiled    # TensorFlow: only after quiet_tensorflow (above)
            # The tile graph's statistics do not depend on the terms' weights, only on
            # which terms there are: the driver's reduce applies the weights.
            self.runners[spec] = tiled.TileRunner(self.weights, spec, threads=self.threads)
        return self.runners[spec]

    def close(self):
        for runner in self.runners.values():
            runner.close()
        self.runners.clear()


class ArtPlugin(distributed.WorkerPlugin):
    """Loads the weights once per worker process (again after a restart), and checks
    they are the driver's.

    `ignore_interrupts`: for the workers `--workers` starts. Ctrl-C in the terminal, and
    SIGHUP when it closes, reach them too (one process group); the driver stops them
    itself, after its checkpoint, so they must not die first with tracebacks of their
    own. A worker a user started in a terminal of its own keeps its Ctrl-C."""

    def __init__(self, weights_path, weights_sha, version, ignore_interrupts=False):
        self.weights_path, self.weights_sha, self.version = weights_path, weights_sha, version
        self.ignore_interrupts = ignore_interrupts

    def setup(self, worker):
        if self.ignore_interrupts and threading.current_thread() is threading.main_thread():
            for signum in GROUP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
        worker.art_state = _WorkerArt(self.weights_path, self.weights_sha,
                                      worker.state.nthreads)
        if self.version != art.__version__ and worker.art_state.problem is None:
            worker.art_state.problem = "runs art %s and the driver art %s" % (
                art.__version__, self.version)

    def teardown(self, worker):
        state = getattr(worker, "art_state", None)
        if state is not None:
            state.close()


def _worker_state():
    worker = distributed.get_worker()
    state = getattr(worker, "art_state", None)
    if state is None:
        raise WorkerMismatch("worker %s has not loaded art's plugin" % worker.address)
    if state.problem:
        raise WorkerMismatch("worker %s %s" % (worker.address, state.problem))
    return state


def _version_probe():
    """A function that tells a worker's art version. Defined in here, it is sent by value
    (cloudpickle), so a worker without art can run it and say so."""
    def probe():
        try:
            import art as installed
        except Exception as e:
            return ("error", "%s: %s" % (type(e).__name__, e))
        return ("ok", getattr(installed, "__version__", "unknown"))
    return probe


def _identity(dask_worker):
    state = getattr(dask_worker, "art_state", None)
    return None if state is None else dict(state.identity, problem=state.problem)


def _statistics(spec, tile, crop, inputs, names=None):
    state = _worker_state()
    with state.lock:
        return state.runner(spec).statistics(tile, crop, inputs, names)


def _features(spec, tile, crop):
    state = _worker_state()
    with state.lock:
        return state.runner(spec).features(tile, crop)


def _backward(spec, tile, crop, inputs, cotangents):
    state = _worker_state()
    with state.lock:
        return state.runner(spec).backward(tile, crop, inputs, cotangents)


def nbytes(value):
    """Bytes of the arrays in `value` (nested dicts, lists and tuples)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    return 0


class _Shared:
    """Per-tile inputs the driver keeps, and their copies on the workers (None when
    they must be sent again)."""

    def __init__(self, items):
        self.items = items
        self.futures = None


def _security(tls):
    """Dask's Security for the (ca, cert, key) files of a tls:// scheduler; None leaves
    Dask's configuration (DASK_DISTRIBUTED__COMM__TLS__*) to decide."""
    if tls is None:
        return None
    ca, cert, key = tls
    return distributed.Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                                require_encryption=True)


class Cluster:
    """A connection to a Dask scheduler (or a local cluster this process started),
    checked to run this `art` with these weights.

    Args:
      address: a scheduler's address (`parse_address`), or None with `workers`.
      workers: start a local cluster of this many worker processes instead.
      weights_path: the driver's VGG weights file; workers load the same file
        (same path, or the same name in their own `vgg/`) and must have the same
        sha256 (`weights_sha`).
    """

    def __init__(self, address=None, workers=None, weights_path=None, weights_sha=None,
                 dashboard=False, tls=None):
        if (address is None) == (workers is None):
            raise ArtError("give one of --cluster ADDRESS and --workers N")
        # Dask's own log lines (a worker restarting, a lost connection) would
        # interleave with the progress lines; art reports what matters itself.
        for name in ["distributed"] + [n for n in logging.root.manager.loggerDict
                                       if n.startswith("distributed.")]:
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self.local, self.asked_dashboard = None, dashboard
        if workers is not None:
            if workers < 1:
                raise ArtError("--workers must be at least 1, got %d" % workers)
            threads = max(1, (os.cpu_count() or 1) // workers)
            # Worker processes inherit an ignored SIGINT and SIGHUP (see ArtPlugin);
            # restarted ones get them from the plugin.
            previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in GROUP_SIGNALS}
            try:
                # A scheduler runs whatever a client sends it: everything listens on
                # the loopback interface only. Its HTTP server (a health check, and the
                # dashboard only if asked) too, on a port of its own: Dask's default,
                # 8787, would clash with a second render's.
                self.local = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=threads, processes=True,
                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    scheduler_kwargs={"dashboard": bool(dashboard)},
                    silence_logs=logging.CRITICAL)
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
            self.address = self.local.scheduler_address
            self.client = distributed.Client(self.local)
        else:
            self.address = parse_address(address)
            with dask.config.set({"distributed.comm.timeouts.connect": CONNECT_TIMEOUT}):
                try:
                    self.client = distributed.Client(self.address, timeout=CONNECT_TIMEOUT,
                                                     security=_security(tls))
                except Exception as e:  # OSError, TimeoutError; a non-Dask peer: anything
                    hint = "; a tls:// scheduler needs --tls-ca-file, --tls-cert and " \
                        "--tls-key" if tls is None and self.address.startswith("tls://") else ""
                    raise ArtError("no Dask scheduler answered at %s (%s)%s"
                                   % (self.address, _reason(e), hint)) from None
        try:
            self._check(weights_path, weights_sha)
        except BaseException:
            self.close()
            raise

    @property
    def dashboard(self):
        """The dashboard's address, or None."""
        return self.local.dashboard_link if self.local is not None and self.asked_dashboard \
            else None

    def _check(self, weights_path, weights_sha):
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except Exception:
            raise ArtError("the Dask scheduler at %s has no workers after %d s; start some with "
                           "`dask worker %s`" % (self.address, WORKERS_TIMEOUT, self.address)) \
                from None
        # First the version, with a probe sent by value: a worker without this art
        # could not even load the plugin, and would fail with Dask's words, not ours.
        for address, found in sorted(self.client.run(_version_probe(), on_error="return").items()):
            if isinstance(found, BaseException) or found[0] != "ok":
                raise ArtError("worker %s cannot import art (%s); install art, with its weights, "
                               "on every worker (docs/cluster.md)"
                               % (address, found if isinstance(found, BaseException) else found[1]))
            if found[1] != art.__version__:
                raise ArtError("worker %s runs art %s and this machine art %s; install the same "
                               "art on every worker" % (address, found[1], art.__version__))
        try:
            self.client.register_plugin(ArtPlugin(os.path.abspath(weights_path), weights_sha,
                                                  art.__version__, self.local is not None),
                                        name=PLUGIN)
        except Exception as e:
            raise ArtError("could not start art on the workers of %s (%s)"
                           % (self.address, _reason(e))) from None
        for address, identity in sorted(self.client.run(_identity).items()):
            if identity is None:
                raise ArtError("worker %s did not load art's plugin" % address)
            if identity["problem"]:
                raise ArtError("worker %s %s" % (address, identity["problem"]))

    def workers(self):
        """The live workers' addresses, sorted."""
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def live(self):
        """How many workers are live now (None if the scheduler does not answer)."""
        try:
            return len(self.workers())
        except Exception:
            return None

    def close(self):
        try:
            self.client.close(timeout=5)
        except Exception:
            pass
        if self.local is not None:
            self.local.close(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _reason(error):
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    if isinstance(error, MemoryError) or not text:
        # A peer that is not a Dask scheduler can send bytes Dask reads as a huge length.
        return "%s: not a Dask scheduler?" % name if isinstance(error, MemoryError) else name
    return text


class ClusterTiles:
    """`tiled.LocalTiles`' maps, run on a `Cluster`'s workers.

    Tile j's inputs go to the j-th live worker (round robin), and its tasks are
    asked to run there, so a tile's pixels and its content targets meet on one
    worker without moving between workers.

    Counters `sent` and `received` add up the array bytes that left and reached
    the driver; `retries` counts maps evaluated again after a fault; `on_retry`,
    if set, is called with a line saying what happened.

    Args:
      cluster: a `Cluster`.
    """

    def __init__(self, cluster):
        self.cluster = cluster
        self.client = cluster.client
        # Which tile graph the maps run: every caller names it (`use`) before its maps.
        self.spec = None
        self.shared = []
        self.placement = None
        self.sent = self.received = 0
        self.retries = 0
        self.on_retry = None

    def use(self, spec):
        """The maps from now on compute the terms of `spec` (`tiled.LocalTiles.use`)."""
        self.spec = spec

    def share(self, items):
        # Kept as given: a `tiled.Crops` cuts each crop when it is sent (again after a
        # failure), so the driver never holds them all.
        shared = _Shared(items)
        self.shared.append(shared)
        return shared

    def release(self, shared):
        if shared in self.shared:
            self.shared.remove(shared)
        if shared.futures:
            for future in shared.futures:
                future.release()
        shared.futures = None

    def _place(self):
        if self.placement is None:
            self.placement = self.cluster.workers()
            if not self.placement:
                raise distributed.TimeoutError("no live workers")
        return self.placement

    def _scatter(self, items, workers):
        """Send items[j] to workers[j] (one call per worker and batch); returns their
        futures."""
        futures = [None] * len(items)
        for worker in sorted(set(workers)):
            mine = [j for j, w in enumerate(workers) if w == worker]
            # Batches of at most SCATTER_BYTES: each item is made (a crop cut) only when
            # its batch is sent.
            batch, size = [], 0
            for j in mine + [None]:
                item = items[j] if j is not None else None
                if batch and (j is None or size + nbytes(item) > SCATTER_BYTES):
                    # A list, so that Dask never takes a dict item for a mapping of keys.
                    sent = self.client.scatter([v for _, v in batch], workers=[worker],
                                               hash=False)
                    for (k, _), future in zip(batch, sent):
                        futures[k] = future
                    self.sent += size
                    batch, size = [], 0
                if j is not None:
                    batch.append((j, item))
                    size += nbytes(item)
        return futures

    def _send(self, shared):
        if shared.futures is None:
            workers = self._place()
            shared.futures = self._scatter(shared.items, [workers[j % len(workers)]
                                                          for j in range(len(shared.items))])
        return shared.futures

    def _map(self, function, tiles, shared, common=None, each=None):
        """Run `function` on every tile's shared inputs on the workers; their results in
        order, or with `each`, each(j, result) as it is fetched, one at a time (a print's
        tile gradients together are a picture's worth), and None. After a failure the map
        runs again from the start: `each` is then called with j = None first."""
        failures = 0
        while True:
            try:
                inputs = [self._send(s) for s in shared]
                workers = self._place()
                extra = ()
                if common is not None:
                    # Sent once; the other workers fetch it from that one, as Dask moves
                    # any task's input (a broadcast from here could hang on a worker
                    # dying mid-copy, and would cost this link k times the bytes).
                    extra = (self._scatter([common], workers[:1])[0],)
                futures = [self.client.submit(function, self.spec, tile,
                                              *[futures[j] for futures in inputs], *extra,
                                              pure=False, workers=[workers[j % len(workers)]],
                                              allow_other_workers=True)
                           for j, tile in enumerate(tiles)]
                # A backstop, far above any tile's time: never wait on a lost task forever.
                distributed.wait(futures, timeout=TASK_TIMEOUT)
                if each is None:
                    results = self.client.gather(futures)
                    self.received += nbytes(results)
                    return results
                for j, future in enumerate(futures):
                    result = future.result()
                    futures[j] = None
                    future.release()
                    self.received += nbytes(result)
                    each(j, result)
                return None
            except ArtError:
                raise
            except Exception as e:   # a lost worker, lost data, a lost connection
                failures += 1
                self._recover(e, failures)
                if each is not None:
                    each(None, None)

    def _recover(self, error, failures):
        """After a failed map: wait for a live worker and mark every shared input to be
        sent again; raise ClusterLost when that cannot be done."""
        for shared in self.shared:
            shared.futures = None
        self.placement = None
        if failures >= ATTEMPTS:
            raise ClusterLost("the cluster at %s failed %d times in a row (%s)"
                              % (self.cluster.address, ATTEMPTS, _reason(error)))
        began = time.time()
        try:
            self.client.wait_for_workers(1, timeout=RECOVER_TIMEOUT)
            live = len(self.cluster.workers())
        except Exception as e:
            raise ClusterLost("lost the Dask scheduler at %s (%s)"
                              % (self.cluster.address, _reason(e))) from None
        self.retries += 1
        if self.on_retry is not None:
            self.on_retry("a tile evaluation failed (%s); evaluating again on %d live worker%s "
                          "(waited %.0f s)" % (_reason(error), live, "s"[:live != 1],
                                                time.time() - began))

    def statistics(self, tiles, crops, inputs, names=None):
        return self._map(_statistics, tiles, [crops, inputs], common=names)

    def features(self, tiles, crops):
        return self._map(_features, tiles, [crops])

    def backward_into(self, tiles, crops, inputs, cotangents, add):
        """Pass 2 of every tile, each gradient handed to add(j, gradient) as it arrives
        (`tiled.LocalTiles.backward_into`)."""
        self._map(_backward, tiles, [crops, inputs], common=cotangents, each=add)
