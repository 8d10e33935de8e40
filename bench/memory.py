"""Peak memory of mini-batch training beyond the data: ``python bench/memory.py [--m M] [--smoke]``.

Trains ``Model([100, 256, 128, 1], dtype=float32)`` for one epoch of Adam with
``mini_batch_size=256`` on m examples (default 1,000,000: X is 400 MB) and reports the peak
resident memory the fit added on top of what the process held just before it (X, Y, the model):
Linux's VmHWM (peak RSS), reset right before the fit by writing 5 to /proc/self/clear_refs,
minus the VmRSS at that moment. X is given as the F-ordered view of the (m, n_x) rows
(examples contiguous), the layout every batch is gathered from in place; the fit copies
nothing of X. What it does allocate grows with m only through Y's label copy (4 bytes an
example in float32) and the epoch's permutation (int32, 4 bytes an example); the workspace is
sized by the batch, not by m.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import fastnn
from fastnn import Model

DIMS = [100, 256, 128, 1]
BATCH = 256


def _status(key: str) -> int:
    """A /proc/self/status entry in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def measure(m: int) -> dict:
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((m, DIMS[0]), dtype=np.float32)  # what a user holds
    Y = (rows[:, 0] > 0).astype(np.float32)[None]
    X = rows.T  # (n_x, m), F-ordered: no copy
    model = Model(DIMS, init="he", dtype=np.float32)
    _reset_peak()
    before = _status("VmRSS")
    start = time.perf_counter()
    model.fit(X, Y, 0.001, mini_batch_size=BATCH, num_epochs=1, optimizer="adam", cost_every=1)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    return {
        "m": m,
        "X_bytes": rows.nbytes,
        "before": before,
        "peak_beyond": peak - before,
        "seconds": seconds,
        "cost": model.costs_[0],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--m", type=int, default=1_000_000, help="examples (default 1e6)")
    parser.add_argument("--smoke", action="store_true", help="m = 20000, to check the script")
    args = parser.parse_args(argv)
    if not Path("/proc/self/clear_refs").exists():
        print("needs Linux's /proc/self/clear_refs and VmHWM", file=sys.stderr)
        return 1
    fastnn.set_crosscheck(False)
    r = measure(20_000 if args.smoke else args.m)
    mb = 1 / 2**20
    print(
        f"python bench/memory.py --m {r['m']}: Model({DIMS}, float32), one epoch of Adam, "
        f"mini_batch_size={BATCH}\n"
        f"X: {r['X_bytes'] * mb:.1f} MiB; process before the fit: {r['before'] * mb:.1f} MiB\n"
        f"peak memory the fit added: {r['peak_beyond'] * mb:.1f} MiB "
        f"({r['peak_beyond'] / r['m']:.1f} bytes per example)\n"
        f"epoch: {r['seconds']:.2f} s, cost {r['cost']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
