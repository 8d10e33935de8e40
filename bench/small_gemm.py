"""Where fastnn's own small GEMM beats a BLAS call, side by side on this machine.

    python bench/small_gemm.py            # the shapes of the bench workloads and the crossover
    python bench/small_gemm.py --quick    # fewer repeats

For each (n, k, m) — a layer W (n, k) applied to A_prev (k, m) — times one forward
(`Z = W·A_prev`, `_kernels.dense_forward`, linear) and one backward (`dW = dZ·A_prevᵀ` and
`dA_prev = Wᵀ·dZ`, `_kernels.dense_backward`) with every product sent to BLAS (scipy's OpenBLAS)
and with every product sent to `fnn_small_gemm`, and marks which one the default routing picks
(`_small_gemm_suits` in _blas.pyx; the header prints its thresholds, as `fastnn info` does).
Best of 5 measurements; both variants run in the same process, one after the other.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fastnn import _blas, _kernels
from fastnn._coretype import blas_info

SHAPES = [
    # planar [2, 4, 1], m = 400
    (4, 2, 400), (1, 4, 400),
    # cat [12288, 20, 7, 5, 1], m = 209: layers 2-4
    (7, 20, 209), (5, 7, 209), (1, 5, 209),
    # one-unit output layers: mlp, wide, logistic regression
    (1, 64, 1024), (1, 2048, 2048), (1, 12288, 209),
    # around the crossover
    (3, 64, 1024), (4, 784, 1024), (64, 64, 8), (512, 784, 1), (2048, 2048, 1), (8, 784, 1024), (20, 20, 209), (16, 16, 1024), (64, 128, 1024),
]  # fmt: skip


def best_time(fn, reps: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - start) / reps)
    return best


def measure(n, k, m, dtype, repeats):
    rng = np.random.default_rng(0)
    A_prev = rng.standard_normal((k, m)).astype(dtype)
    W = rng.standard_normal((n, k)).astype(dtype)
    b = np.zeros((n, 1), dtype)
    dZ = rng.standard_normal((n, m)).astype(dtype)
    reps = max(5, int(2e6 // (n * k * m)))
    out = {}
    for name, limit in (("blas", 0), ("small", -1)):
        previous = _blas._set_small_gemm_limit(limit)
        try:
            fwd = best_time(
                lambda: _kernels.dense_forward(A_prev, W, b, "linear", keep_Z=False), reps, repeats
            )
            bwd = best_time(
                lambda: _kernels.dense_backward(dZ, dZ, A_prev, W, "linear"), reps, repeats
            )
        finally:
            _blas._set_small_gemm_limit(previous)
        out[name] = (fwd, bwd)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one shape, one repeat: what the test suite runs so this cannot rot",
    )
    args = parser.parse_args()
    repeats = 2 if args.quick else 1 if args.smoke else 5
    shapes = SHAPES[:1] if args.smoke else SHAPES
    info = blas_info()
    print(
        f"{info['cpu_model']}; scipy's OpenBLAS {info['openblas_version']}, "
        f"{info['corename']} kernels, {info['threads']['openblas_num_threads']} threads; "
        f"default routing: {_blas._describe_small_gemm()}\n"
    )
    print(
        "| dtype | n, k, m | multiply-adds | default | forward BLAS (µs) | forward small (µs) "
        "| backward BLAS (µs) | backward small (µs) | BLAS / small (fwd, bwd) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for dtype in (np.float64, np.float32):
        for n, k, m in shapes:
            t = measure(n, k, m, dtype, repeats)
            routed = "small" if _blas._routes_to_small_gemm(n, k, m) else "BLAS"
            (fb, bb), (fs, bs) = t["blas"], t["small"]
            print(
                f"| {np.dtype(dtype).name} | {n}, {k}, {m} | {n * k * m} | {routed} "
                f"| {fb * 1e6:.1f} | {fs * 1e6:.1f} | {bb * 1e6:.1f} | {bs * 1e6:.1f} "
                f"| {fb / fs:.2f}×, {bb / bs:.2f}× |"
            )


if __name__ == "__main__":
    main()
