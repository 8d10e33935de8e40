"""Nanoseconds per element of the kernels' elementwise passes, beside numpy doing the same.

    python bench/elementwise.py            # 100 000 elements, float64 and float32
    python bench/elementwise.py --smoke    # 1000 elements, one repeat (run by the test suite)

Rows: bias + activation (`_kernels.dense_forward` of a 1×1 identity layer, so the product is
exact and costs one pass), the output layer fused with its loss (`_kernels.output_loss`,
sigmoid: A, dZ and the cross-entropy from logits), and the course's cost from probabilities
(`_kernels.cross_entropy_cost`). numpy columns: the same math as `fastnn.reference` writes it.
Best of 20 calls (5 with --smoke); each call allocates its outputs, as the library's do.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fastnn import _kernels, reference


def best_ns(fn, n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e9


def rows(n: int, dtype, repeats: int):
    rng = np.random.default_rng(0)
    Z = (rng.standard_normal((1, n)) * 3).astype(dtype)
    Y = (rng.random((1, n)) > 0.5).astype(dtype)
    AL = (1 / (1 + np.exp(-Z))).astype(dtype)
    one, zero = np.ones((1, 1), dtype), np.zeros((1, 1), dtype)
    for act in ("tanh", "sigmoid", "relu"):
        yield (
            f"{act} forward",
            best_ns(
                lambda a=act: _kernels.dense_forward(Z, one, zero, a, keep_Z=False), n, repeats
            ),
            best_ns(lambda a=act: reference.dense_forward(Z, one, zero, a), n, repeats),
        )
    yield (
        "sigmoid output + loss",
        best_ns(lambda: _kernels.output_loss(Z, Y, "sigmoid"), n, repeats),
        best_ns(lambda: reference.output_loss(Z, Y, "sigmoid"), n, repeats),
    )
    yield (
        "cross-entropy cost",
        best_ns(lambda: _kernels.cross_entropy_cost(AL, Y), n, repeats),
        best_ns(lambda: reference.cross_entropy_cost(AL, Y), n, repeats),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="1000 elements, 5 repeats")
    args = parser.parse_args()
    n, repeats = (1000, 5) if args.smoke else (100_000, 20)
    print(f"{n} elements per call\n")
    print("| dtype | pass | fastnn (ns/element) | numpy (ns/element) | numpy / fastnn |")
    print("|---|---|---|---|---|")
    for dtype in (np.float64, np.float32):
        for name, fast, slow in rows(n, dtype, repeats):
            print(
                f"| {np.dtype(dtype).name} | {name} | {fast:.2f} | {slow:.2f} | {slow / fast:.1f}× |"
            )


if __name__ == "__main__":
    main()
