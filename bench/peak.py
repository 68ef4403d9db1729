#!/usr/bin/env python
"""This machine's float32 matmul peak: numpy sgemm at n=4096.

Speeds of the painting graph are quoted as a fraction of this number, because
machines of the same kind differ a lot in CPU (see ../shared/FACTS.md).

    python bench/peak.py                 # n=4096, 2 warm-ups, median of 5
    python bench/peak.py --n 2048 --repeats 3

Importable: `measure_peak()` returns a dict, `real_peak()` the same measured without
the OpenBLAS settings that throttle numpy here, `cpu_info()` the CPU model and whether it
has native bfloat16 (avx512_bf16).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def cpu_info():
    """{'model': /proc/cpuinfo's first 'model name', 'avx512_bf16': bool, 'cpus': int}."""
    from art.plan import precision
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return {"model": model, "avx512_bf16": "avx512_bf16" in precision.cpu_flags(),
            "cpus": os.cpu_count()}


def measure_peak(n=4096, repeats=5, warmup=2, seed=0):
    """Median float32 GFLOP/s of numpy's matmul (sgemm) on n x n arrays.

    FLOPs of one product: 2 n^3 (a multiply and an add per inner-product term).

    Returns:
      dict with n, repeats, warmup, seconds (each timed run), median_seconds, gflops.
    """
    if n < 1 or repeats < 1 or warmup < 0:
        raise ValueError("need n >= 1, repeats >= 1, warmup >= 0; got n=%d repeats=%d warmup=%d"
                         % (n, repeats, warmup))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    for _ in range(warmup):
        np.matmul(a, b, out=out)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {"n": n, "repeats": repeats, "warmup": warmup, "seconds": seconds,
            "median_seconds": median, "gflops": 2.0 * n ** 3 / median / 1e9}


# Set on these machines for old OpenBLAS builds: numpy's sgemm then runs at about half of
# the CPU's real peak (../shared/FACTS.md). numpy reads them when it is imported, so the
# real peak is measured in a process started without them.
THROTTLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def real_peak(n=4096, repeats=5, warmup=2):
    """`measure_peak`, in a fresh process without `THROTTLES` when any is set here; the
    dict also names the settings that were left out."""
    unset = [name for name in THROTTLES if name in os.environ]
    if not unset:
        return dict(measure_peak(n, repeats, warmup), unset=[])
    env = {k: v for k, v in os.environ.items() if k not in THROTTLES}
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--json", "--n", str(n),
                          "--repeats", str(repeats), "--warmup", str(warmup)],
                         env=env, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1])["peak"], unset=unset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--n", type=int, default=4096, help="matrix side")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (the median is reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    args = parser.parse_args()
    cpu = cpu_info()
    peak = real_peak(args.n, args.repeats, args.warmup) if not args.json \
        else measure_peak(args.n, args.repeats, args.warmup)
    if args.json:
        print(json.dumps({"cpu": cpu, "peak": peak}))
        return
    print("CPU: %s (%d logical CPUs), avx512_bf16: %s"
          % (cpu["model"], cpu["cpus"], "yes" if cpu["avx512_bf16"] else "no"))
    print("numpy sgemm n=%d: %.1f GFLOP/s (median of %d, %.3f s each; runs %s)%s"
          % (peak["n"], peak["gflops"], peak["repeats"], peak["median_seconds"],
             " ".join("%.3f" % s for s in peak["seconds"]),
             "; measured without %s" % ", ".join(peak["unset"]) if peak["unset"] else ""))


if __name__ == "__main__":
    main()
