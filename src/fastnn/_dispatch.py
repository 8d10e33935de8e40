"""Calls into the compiled kernels, with optional cross-checking against ``fastnn.reference``.

``kernels.<name>(...)`` calls the compiled ``<name>`` (``fastnn._kernels``, or ``fastnn._engine`` for
``train``). With cross-check on (``set_crosscheck``,
``crosscheck()`` or the environment variable ``FASTNN_CROSSCHECK=1``) the same call is recomputed by
``fastnn.reference.<name>`` on copies of the inputs and every output is compared; a mismatch raises
:class:`CrossCheckError`. The training loop is checked on its first iterations (see
``_checked_train``). Off, the cost is one boolean test per kernel call.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import warnings
from collections.abc import Iterator

import numpy as np

from fastnn import _engine, _kernels, reference

__all__ = ["CrossCheckError", "crosscheck", "set_crosscheck", "crosscheck_enabled", "kernels"]

# Relative tolerance per dtype, before scaling with the problem size (see _tolerance).
RTOL = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-10}


class CrossCheckError(AssertionError):
    """A compiled kernel and the numpy reference disagree beyond the dtype's tolerance."""


_state = {
    "on": os.environ.get("FASTNN_CROSSCHECK", "").strip().lower() in ("1", "true", "yes", "on")
}
_lock = threading.Lock()


def set_crosscheck(enabled: bool) -> bool:
    """Turn cross-checking on or off for the whole process; returns the previous setting."""
    with _lock:
        previous, _state["on"] = _state["on"], bool(enabled)
    return previous


def crosscheck_enabled() -> bool:
    """Whether every kernel call is currently recomputed by the numpy reference."""
    return _state["on"]


@contextlib.contextmanager
def crosscheck(enabled: bool = True) -> Iterator[None]:
    """Context manager: ``with fastnn.crosscheck(): ...`` checks every kernel call inside."""
    previous = set_crosscheck(enabled)
    try:
        yield
    finally:
        set_crosscheck(previous)


def _arrays(value) -> list:
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _arrays(v)]
    return [value]


def _tolerance(dtype: np.dtype, size: int, scale: float) -> float:
    # Rounding errors of a length-K dot product grow like sqrt(K)·eps; scale by the magnitude.
    return RTOL.get(np.dtype(dtype), 1e-10) * max(1.0, np.sqrt(size) / 8) * max(1.0, scale)


def compare(name: str, got, want, args, size_hint: int, iterations: int = 1) -> None:
    """Raise CrossCheckError unless ``got`` matches ``want`` output by output."""
    shapes = ", ".join(str(np.shape(a)) for a in args if isinstance(a, np.ndarray))
    for k, (g, w) in enumerate(zip(_arrays(got), _arrays(want), strict=True)):
        if g is None and w is None:
            continue
        g = np.asarray(g, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        dtype = next((a.dtype for a in args if isinstance(a, np.ndarray)), np.dtype(np.float64))
        if g.shape != w.shape:
            raise CrossCheckError(f"{name}: output {k} has shape {g.shape}, reference {w.shape}")
        same_nan = np.array_equal(np.isnan(g), np.isnan(w))
        finite = np.isfinite(w) & np.isfinite(g)
        err = float(np.max(np.abs(g - w)[finite], initial=0.0))
        scale = float(np.max(np.abs(w[finite]), initial=0.0))
        tol = _tolerance(dtype, size_hint, scale) * np.sqrt(iterations)
        if not same_nan or err > tol or not np.array_equal(np.isinf(g), np.isinf(w)):
            raise CrossCheckError(
                f"kernel {name} disagrees with fastnn.reference.{name} on output {k} "
                f"(inputs {shapes}, dtype {dtype}): max abs error {err:.3g}, "
                f"max rel error {err / max(scale, 1e-300):.3g}, tolerance {tol:.3g}"
            )


TRAIN_CHECK_ITERATIONS = 20


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """The reference's own over/underflows (and inf − inf in the comparison) stay inside cross-check
    mode, whatever np.errstate or warning filters the caller has set."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _checked_train(kernel, twin, args):
    """train is checked on a prefix: both run the first TRAIN_CHECK_ITERATIONS iterations from
    copies of the same parameters and must agree; then the kernel runs the real call. A whole
    trajectory cannot be held to a fixed tolerance: where gradient descent is unstable (a large
    learning rate, a relu unit switching off) it amplifies rounding differences of 1e-16 into
    visibly different, equally valid runs."""
    (X, Y, Ws, bs, acts, slope, output, lr, n, _), extra = args[:10], args[10:]
    gram = extra[1] if len(extra) > 1 else False
    k = min(n, TRAIN_CHECK_ITERATIONS)
    Ws_k, bs_k = copy.deepcopy(Ws), copy.deepcopy(bs)
    Ws_r, bs_r = copy.deepcopy(Ws), copy.deepcopy(bs)
    prefix = (X, Y, Ws_k, bs_k, acts, slope, output, lr, k, 1)
    got = kernel(*prefix, None, gram)
    if got[3] is not None:
        # Ctrl-C during the checked prefix: a partial run has nothing to compare, and the
        # caller's parameters (the prefix trained copies) are those of iteration 0.
        return [], float("nan"), 0, got[3], -1
    with _quietly():
        want = twin(X, Y, Ws_r, bs_r, acts, slope, output, lr, k, 1)
        size = max(max(a.shape) for a in _arrays(args) if isinstance(a, np.ndarray))
        inputs = [a for a in _arrays(args) if isinstance(a, np.ndarray)]
        compare("train", got[:3], want[:3], inputs, size, k)
        compare("train", Ws_k + bs_k, Ws_r + bs_r, inputs, size, k)
    return kernel(*args)


def _compiled(name: str):
    """The compiled entry point ``name``: the engine's ``train`` or a kernel of ``_kernels``."""
    return getattr(_engine if name == "train" else _kernels, name)


class _Kernels:
    """Namespace of checked kernel calls; looks the kernel up at call time (tests patch it)."""

    def __getattr__(self, name: str):
        kernel = _compiled(name)
        twin = getattr(reference, name)

        def call(*args):
            if not _state["on"]:
                return _compiled(name)(*args)
            if name == "train":
                return _checked_train(_compiled(name), twin, args)
            got = _compiled(name)(*args)
            with _quietly():
                want = twin(*copy.deepcopy(args))
                size = max(
                    (max(a.shape) for a in _arrays(args) if isinstance(a, np.ndarray)), default=1
                )
                compare(name, got, want, _arrays(args), size)
            return got

        call.__name__ = name
        call.__doc__ = kernel.__doc__
        setattr(self, name, call)  # later lookups skip __getattr__
        return call


kernels = _Kernels()
