"""Calls into the compiled kernels, with optional cross-checking against ``fastnn.reference``.

``kernels.<name>(...)`` calls the compiled ``<name>`` (``fastnn._kernels``, or ``fastnn._engine`` for
``train`` and ``cost_gradient``). With cross-check on (``set_crosscheck``,
``crosscheck()`` or the environment variable ``FASTNN_CROSSCHECK=1``) the same call is recomputed by
``fastnn.reference.<name>`` on copies of the inputs and every output is compared; a mismatch raises
:class:`CrossCheckError`. The training loop is checked on its first iterations (see
``_checked_train``). Off, the cost is one boolean test per kernel call.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import threading
import warnings
from collections.abc import Iterator

import numpy as np

from fastnn import _engine, _kernels, reference
from fastnn._registry import OPTIMIZERS
from fastnn._spec import TrainResult

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


def compare(
    name: str, got, want, args, size_hint: int, iterations: int = 1, atol: float = 0.0
) -> None:
    """Raise CrossCheckError unless ``got`` matches ``want`` output by output (within the
    dtype's scaled tolerance, or ``atol`` where that is larger)."""
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
        tol = max(_tolerance(dtype, size_hint, scale) * np.sqrt(iterations), atol)
        if not same_nan or err > tol or not np.array_equal(np.isinf(g), np.isinf(w)):
            raise CrossCheckError(
                f"kernel {name} disagrees with fastnn.reference.{name} on output {k} "
                f"(inputs {shapes}, dtype {dtype}): max abs error {err:.3g}, "
                f"max rel error {err / max(scale, 1e-300):.3g}, tolerance {tol:.3g}"
            )


#: Steps of a training run that cross-check mode compares (see _checked_train).
TRAIN_CHECK_STEPS = 20


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """The reference's own over/underflows (and inf − inf in the comparison) stay inside cross-check
    mode, whatever np.errstate or warning filters the caller has set."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _checked_train(
    kernel, twin, spec, X, Y, state, callback=None, validation=None, sample_weight=None
):
    """train is checked on a prefix: both run the first epochs of the same spec (about
    TRAIN_CHECK_STEPS steps, at least one epoch) from copies of the same state and must agree
    on costs, validation costs, parameters and optimizer state; then the kernel runs the real
    call. A whole trajectory cannot be held to a fixed tolerance: where gradient descent is
    unstable (a large learning rate, a relu unit switching off) it amplifies rounding
    differences of 1e-16 into visibly different, equally valid runs."""
    m = X.shape[1]
    per_epoch = -(-m // spec.mini_batch_size) if spec.mini_batch_size else 1
    epochs = min(spec.num_epochs, max(1, TRAIN_CHECK_STEPS // per_epoch))
    prefix = dataclasses.replace(spec, num_epochs=epochs)
    mine, theirs = state.copy(), state.copy()
    got = kernel(prefix, X, Y, mine, None, validation, sample_weight)
    if got.pending is not None:
        # Ctrl-C during the checked prefix: a partial run has nothing to compare, and the
        # caller's state (the prefix trained a copy) is as it was.
        return TrainResult(pending=got.pending)
    with _quietly():
        want = twin(prefix, X, Y, theirs, None, validation, sample_weight)
        if want.pending is not None:  # Ctrl-C while the (slow) reference ran: as above
            return TrainResult(pending=want.pending)
        inputs = [a for a in (X, Y, state.theta) if isinstance(a, np.ndarray)]
        size = max(max(a.shape) for a in inputs)
        steps = epochs * per_epoch
        # Adam's step is about α per parameter whatever the gradient's size, so a parameter
        # whose float32 gradient is at ε's scale (a sum that cancels, rounded differently by
        # BLAS and numpy) may step differently: up to 2α a step, nothing that grows with them.
        adam = OPTIMIZERS[spec.optimizer].n_state == 2 and state.theta.dtype == np.float32
        theta_atol = 2 * spec.learning_rate * steps if adam else 0.0
        exact = {  # what must agree exactly: counters and outcomes
            "n_done": (got.n_done, want.n_done),
            "t": (mine.t, theirs.t),
            "epoch": (mine.epoch, theirs.epoch),
            "diverged_at": (got.diverged_at, want.diverged_at),
            "best_epoch": (got.best_epoch, want.best_epoch),
            "stopped_early": (got.stopped_early, want.stopped_early),
            "recorded costs": (len(got.costs), len(want.costs)),
            "validation costs": (len(got.validation_costs), len(want.validation_costs)),
        }
        for what, (g, w) in exact.items():
            if g != w:
                raise CrossCheckError(
                    f"kernel train disagrees with fastnn.reference.train on {what}: {g} != {w}"
                )
        for what, g, w in [
            ("costs", got.costs, want.costs),
            ("validation costs", got.validation_costs, want.validation_costs),
            ("the last cost, the first cost, the best validation cost",
             [got.final_cost, got.first_cost, got.best_cost],
             [want.final_cost, want.first_cost, want.best_cost]),
            ("the optimizer state", mine.opt_state, theirs.opt_state),
        ]:  # fmt: skip
            compare(f"train ({what})", g, w, inputs, size, steps)
        compare("train (the parameters)", mine.theta, theirs.theta, inputs, size, steps, theta_atol)
    return kernel(spec, X, Y, state, callback, validation, sample_weight)


#: the entry points of fastnn._engine; every other name is a kernel of fastnn._kernels
_ENGINE_ENTRIES = ("train", "cost_gradient")


def _compiled(name: str):
    """The compiled entry point ``name``: the engine's or a kernel of ``_kernels``."""
    return getattr(_engine if name in _ENGINE_ENTRIES else _kernels, name)


class _Kernels:
    """Namespace of checked kernel calls; looks the kernel up at call time (tests patch it)."""

    def __getattr__(self, name: str):
        kernel = _compiled(name)
        twin = getattr(reference, name)

        def call(*args, **kwargs):
            if not _state["on"]:
                return _compiled(name)(*args, **kwargs)
            if name == "train":
                return _checked_train(_compiled(name), twin, *args, **kwargs)
            got = _compiled(name)(*args, **kwargs)
            with _quietly():
                want = twin(*copy.deepcopy(args), **copy.deepcopy(kwargs))
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
