"""What L-BFGS's history on disk costs per iteration at a print's size: one iteration's
history work (the two-loop recursion over `--pairs` pairs read back from disk, and the
new pair written with its sha256 and flushed) on vectors of a picture of `--size` WxH,
with the history on disk.

    python bench/history_cost.py --size 14043x9933 --folder /path/on/the/work/disk

Compare it with an evaluation at that size (a render's s/it, e.g. in its --report).
The folder needs 2 x (pairs + 1) pictures' worth of free disk (A0, 10 pairs: 37 GB), and
the process ~4 pictures' worth of memory (A0: 7 GB): run it alone. Appends a line to
bench/results/history_cost.jsonl, which bench/cluster.py's model reads.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import common
import numpy as np
import peak

from art.engine import lbfgs
from art.files import history


DROP_CACHES = "/proc/sys/vm/drop_caches"


def one_iteration(optimizer, rng):
    """The history's share of one iteration: a direction, then a new pair."""
    started = time.perf_counter()
    d = optimizer._direction(optimizer.pairs)
    two_loop = time.perf_counter() - started
    x = optimizer.x + np.float32(0.01) * d
    g = optimizer.g + rng.standard_normal(optimizer.x.size, np.float32)
    started = time.perf_counter()
    pair = optimizer._pair(x, g)
    write = time.perf_counter() - started
    optimizer.store.discard(pair)
    return two_loop, write


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--size", default="14043x9933")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--folder", default=None, help="where the pairs go (default: a "
                        "temporary folder)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true",
                        help="empty the kernel's page cache before each iteration (root): "
                        "every pair read from the disk, as at A0, where the render's own "
                        "memory leaves the cache a few GB")
    args = parser.parse_args()
    if args.cold and not os.access(DROP_CACHES, os.W_OK):
        sys.exit("error: --cold needs to write %s (root)" % DROP_CACHES)
    w, h = (int(v) for v in args.size.split("x"))
    size = w * h * 3
    rng = np.random.default_rng(0)
    folder = tempfile.mkdtemp(dir=args.folder)
    try:
        store = history.DiskStore(folder)
        optimizer = lbfgs.LBFGS(1, maxcor=args.pairs, store=store)
        optimizer.x = rng.uniform(0, 255, size).astype(np.float32)
        optimizer.g = rng.standard_normal(size, np.float32)
        started = time.perf_counter()
        for _ in range(args.pairs):
            x = optimizer.x + rng.standard_normal(size, np.float32)
            optimizer.pairs.append(optimizer._pair(x, optimizer.g * np.float32(1.01)))
        print("wrote %d pairs of %.2f GB in %.1f s" % (args.pairs, 8 * size / 1e9,
                                                     time.perf_counter() - started))
        times = []
        for _ in range(args.repeat):
            if args.cold:
                os.sync()
                with open(DROP_CACHES, "w") as f:
                    f.write("1\n")
            times.append(one_iteration(optimizer, rng))
        two_loop = float(np.median([t[0] for t in times]))
        write = float(np.median([t[1] for t in times]))
        print("%s, %d pairs on disk%s: two-loop %.1f s, new pair %.1f s, per iteration %.1f s "
              "(median of %d)" % (args.size, args.pairs, ", cache emptied" if args.cold else "",
                                  two_loop, write, two_loop + write, args.repeat))
        line = {"date": common.now(), "cpu": peak.cpu_info(), "size": [w, h],
                "pairs": args.pairs, "repeat": args.repeat, "cold": args.cold,
                "command": "python bench/" + " ".join(
                    [os.path.basename(sys.argv[0])] + sys.argv[1:]),
                "two_loop_seconds": two_loop, "write_seconds": write,
                "per_iteration_seconds": two_loop + write,
                "all_seconds": [list(t) for t in times]}
        with open(os.path.join(common.RESULTS, "history_cost.jsonl"), "a") as f:
            f.write(json.dumps(line) + "\n")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
