"""The one table of activations, shared by the kernels, the numpy reference and every API.

Each entry gives the activation's kernel id (the enum in ``_native/fnn_ids.h`` uses the same
numbers; ``tests/test_kernels.py`` checks they agree), its forward map g(z) and its derivative
g'(z), written with the course's numpy formulas. ``slope`` is the leaky-ReLU slope; the other
activations ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["ACTIVATIONS", "Activation", "get_activation", "check_slope"]


@dataclass(frozen=True)
class Activation:
    """An activation g with its derivative g' (both elementwise, numpy)."""

    name: str
    id: int
    forward: Callable[[np.ndarray, float], np.ndarray]
    derivative: Callable[[np.ndarray, float], np.ndarray]

    def __repr__(self) -> str:
        return f"Activation({self.name!r}, id={self.id})"


def _sigmoid(Z, slope):
    # exp(−z) → inf for z ≪ 0 gives σ = 0 and → 0 for z ≫ 0 gives σ = 1, as intended.
    with np.errstate(over="ignore", under="ignore"):
        return 1 / (1 + np.exp(-Z))


def _sigmoid_prime(Z, slope):
    s = _sigmoid(Z, slope)
    return s * (1 - s)


def _relu(Z, slope):
    # np.where keeps NaN (np.maximum would too); written as the kernel computes it.
    return np.where(Z <= 0, np.zeros_like(Z), Z)


def _leaky_relu(Z, slope):
    return np.where(Z < 0, Z * Z.dtype.type(slope), Z)


def _leaky_relu_prime(Z, slope):
    return np.where(Z > 0, np.ones_like(Z), np.full_like(Z, slope))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("linear", 0, lambda Z, s: Z.copy(), lambda Z, s: np.ones_like(Z)),
        Activation("sigmoid", 1, _sigmoid, _sigmoid_prime),
        Activation("tanh", 2, lambda Z, s: np.tanh(Z), lambda Z, s: 1 - np.tanh(Z) ** 2),
        Activation("relu", 3, _relu, lambda Z, s: (Z > 0).astype(Z.dtype)),
        Activation("leaky_relu", 4, _leaky_relu, _leaky_relu_prime),
    )
}


def get_activation(name: str) -> Activation:
    """Look up an activation by name; ValueError listing the valid names otherwise."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        valid = ", ".join(repr(n) for n in ACTIVATIONS)
        raise ValueError(f"activation must be one of {valid}; got {name!r}") from None


def check_slope(slope: float) -> float:
    """The leaky-ReLU slope must be a finite number in [0, 1)."""
    try:
        value = float(slope)
    except (TypeError, ValueError):
        raise TypeError(f"leaky_slope must be a number in [0, 1); got {slope!r}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"leaky_slope must be in [0, 1); got {slope!r}")
    return value
