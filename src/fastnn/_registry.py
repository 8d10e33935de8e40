"""The one registry of fastnn's variants: activations, output layers (with their losses),
optimizers, learning-rate decays and weight initialisations.

Each entry maps a name to the runtime id the compiled code switches on (the enums of
``_native/fnn_ids.h``; ``tests/test_native.py`` fails if the numbers here and there disagree)
and to its numpy twin, written with the course's formulas: what ``fastnn.reference`` computes,
what cross-check mode compares the kernels with. The kernels, the reference, validation, the
command line and the scikit-learn estimators all read from these tables; none keeps a list of
its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "OUTPUTS",
    "OPTIMIZERS",
    "DECAYS",
    "INITS",
    "Activation",
    "Output",
    "Optimizer",
    "Decay",
    "Init",
    "lookup",
    "get_activation",
    "get_output",
    "check_slope",
]


# --- activations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """A hidden activation g with its derivative g' (both elementwise, numpy); ``slope`` is the
    leaky-ReLU slope, which the other activations ignore."""

    name: str
    id: int
    forward: Callable[[np.ndarray, float], np.ndarray]
    derivative: Callable[[np.ndarray, float], np.ndarray]
    sklearn_name: str  # scikit-learn's name for it (MLPClassifier's ``activation``)
    rectifier: bool = False  # relu-like: He initialisation suits it

    def __repr__(self) -> str:
        return f"Activation({self.name!r}, id={self.id})"


def _sigmoid(Z, slope=0.0):
    # exp(−z) → inf for z ≪ 0 gives σ = 0 and → 0 for z ≫ 0 gives σ = 1, as intended.
    with np.errstate(over="ignore", under="ignore"):
        return 1 / (1 + np.exp(-Z))


def _sigmoid_prime(Z, slope):
    s = _sigmoid(Z)
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
        Activation("linear", 0, lambda Z, s: Z.copy(), lambda Z, s: np.ones_like(Z), "identity"),
        Activation("sigmoid", 1, _sigmoid, _sigmoid_prime, "logistic"),
        Activation("tanh", 2, lambda Z, s: np.tanh(Z), lambda Z, s: 1 - np.tanh(Z) ** 2, "tanh"),
        Activation("relu", 3, _relu, lambda Z, s: (Z > 0).astype(Z.dtype), "relu", True),
        Activation("leaky_relu", 4, _leaky_relu, _leaky_relu_prime, "leaky_relu", True),
    )
}


# --- output layers and their losses -------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """An output layer fused with its loss. ``link`` maps the logits Z (n_L, m) to A; ``loss``
    gives the per-element losses from the logits, whose sum is the summed loss; ``delta`` is
    the gradient of that sum with respect to Z: A − Y for every output but the ReLU's, whose
    (A − Y)·[Z > 0] keeps the unit's derivative."""

    name: str
    id: int
    link: Callable[[np.ndarray], np.ndarray]
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray]
    labels: str  # what Y holds: "binary" (0/1 per unit), "one-hot" (one class per column), "real",
    # "count" (real >= 0)
    cost: str  # the cost in words, for messages and plots
    sklearn_name: str  # scikit-learn's out_activation_
    activation: str | None  # the elementwise activation equal to ``link``; None for softmax
    delta: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def gradient(self, Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """∂(Σ loss)/∂Z."""
        return self.delta(Z, Y) if self.delta is not None else self.link(Z) - Y

    @property
    def classifier(self) -> bool:
        return self.labels in ("binary", "one-hot")


def _bce_from_logits(Z, Y):
    # −[y log a + (1−y) log(1−a)] = softplus(z) − y z, with softplus(z) = logaddexp(0, z).
    return np.logaddexp(0, Z) - Y * Z


def _softmax(Z):
    """exp(z − max) / Σ exp(z − max) over each column."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def _categorical_from_logits(Z, Y):
    # −Σ_c y_c log a_c = Σ_c y_c (lse(z) − z_c), lse with the column maximum taken out
    mx = Z.max(axis=0, keepdims=True)
    lse = mx + np.log(np.exp(Z - mx).sum(axis=0, keepdims=True))
    return Y * (lse - Z)


def _poisson_from_logits(Z, Y):
    # half the Poisson deviance y·log(y/a) − y + a with a = exp(z): a − y·z + y·log y − y
    ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1)), 0)
    return np.exp(Z) - Y * Z + ylogy - Y


OUTPUTS: dict[str, Output] = {
    o.name: o
    for o in (
        Output(
            "sigmoid", 0, _sigmoid, _bce_from_logits, "binary", "cross-entropy", "logistic",
            "sigmoid",
        ),
        Output(
            "linear", 1, lambda Z: Z.copy(), lambda Z, Y: (Z - Y) ** 2 / 2, "real",
            "squared error", "identity", "linear",
        ),
        Output(
            "softmax", 2, _softmax, _categorical_from_logits, "one-hot",
            "categorical cross-entropy", "softmax", None,
        ),
        Output(
            "relu", 3, lambda Z: _relu(Z, 0.0), lambda Z, Y: (_relu(Z, 0.0) - Y) ** 2 / 2, "real",
            "squared error", "relu", "relu",
            delta=lambda Z, Y: np.where(Z <= 0, np.zeros_like(Z), Z - Y),  # NaN stays
        ),
        Output(
            "poisson", 4, np.exp, _poisson_from_logits, "count", "half Poisson deviance", "exp",
            None,
        ),
    )
}  # fmt: skip


# --- optimizers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Optimizer:
    """An update rule over the flat parameter vector θ, with ``n_state`` state vectors of θ's
    size (momentum's v; Adam's v and s). ``step(theta, grad, state, lr, t, hp)`` is the numpy
    twin, in place on theta and the state: grad already holds any L2 term, t counts the steps
    from 1, hp holds beta, beta1, beta2 and epsilon. ``decay`` names the hyperparameter that
    decays the first moment (the kernel's β1); ``fusable``: without L2 the update θ ← θ − α·g
    can be folded into the GEMM that computes g (beta = 1), with no gradient buffer."""

    name: str
    id: int
    n_state: int
    step: Callable
    formula: str
    decay: str | None = None
    fusable: bool = False


def _gd_step(theta, grad, state, lr, t, hp):
    theta -= lr * grad


def _momentum_step(theta, grad, state, lr, t, hp):
    (v,) = state
    beta = hp["beta"]
    v[...] = beta * v + (1 - beta) * grad
    theta -= lr * v


def _adam_step(theta, grad, state, lr, t, hp):
    v, s = state
    beta1, beta2 = hp["beta1"], hp["beta2"]
    v[...] = beta1 * v + (1 - beta1) * grad
    s[...] = beta2 * s + (1 - beta2) * grad**2
    v_corrected = v / (1 - beta1**t)
    s_corrected = s / (1 - beta2**t)
    theta -= lr * v_corrected / (np.sqrt(s_corrected) + hp["epsilon"])


def _sklearn_adam_step(theta, grad, state, lr, t, hp):
    # scikit-learn's AdamOptimizer: the bias correction folded into the step size
    v, s = state
    beta1, beta2 = hp["beta1"], hp["beta2"]
    v[...] = beta1 * v + (1 - beta1) * grad
    s[...] = beta2 * s + (1 - beta2) * grad**2
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    theta -= lr_t * v / (np.sqrt(s) + hp["epsilon"])


def _sklearn_sgd_step(theta, grad, state, lr, t, hp):
    # scikit-learn's SGDOptimizer without Nesterov: the velocity is the update
    (v,) = state
    v[...] = hp["beta"] * v - lr * grad
    theta += v


def _sklearn_nesterov_step(theta, grad, state, lr, t, hp):
    # scikit-learn's SGDOptimizer with Nesterov's momentum: the update looks one step ahead
    (v,) = state
    v[...] = hp["beta"] * v - lr * grad
    theta += hp["beta"] * v - lr * grad


OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in (
        Optimizer("gd", 0, 0, _gd_step, "θ ← θ − α·g", fusable=True),
        Optimizer(
            "momentum", 1, 1, _momentum_step, "v ← β·v + (1 − β)·g; θ ← θ − α·v", decay="beta"
        ),
        Optimizer(
            "adam",
            2,
            2,
            _adam_step,
            "v ← β1·v + (1 − β1)·g; s ← β2·s + (1 − β2)·g²; "
            "θ ← θ − α·(v / (1 − β1ᵗ)) / (√(s / (1 − β2ᵗ)) + ε)",
            decay="beta1",
        ),
        Optimizer(
            "sklearn_adam",
            3,
            2,
            _sklearn_adam_step,
            "v, s as adam; θ ← θ − α_t·v / (√s + ε) with α_t = α·√(1 − β2ᵗ) / (1 − β1ᵗ) "
            "(scikit-learn's)",
            decay="beta1",
        ),
        Optimizer(
            "sklearn_sgd", 4, 1, _sklearn_sgd_step, "v ← β·v − α·g; θ ← θ + v (scikit-learn's)",
            decay="beta",
        ),
        Optimizer(
            "sklearn_nesterov", 5, 1, _sklearn_nesterov_step,
            "v ← β·v − α·g; θ ← θ + β·v − α·g (scikit-learn's Nesterov)", decay="beta",
        ),
    )
}  # fmt: skip


# --- learning-rate decays ---------------------------------------------------------------------


@dataclass(frozen=True)
class Decay:
    """A learning-rate schedule: after epoch ``epoch_num`` (0-based) the rate becomes
    ``rate(learning_rate0, epoch_num, decay_rate, time_interval)``."""

    name: str
    id: int
    rate: Callable[[float, int, float, int], float]
    formula: str


DECAYS: dict[str, Decay] = {
    d.name: d
    for d in (
        # the course's update_lr and schedule_lr_decay, in their order of operations
        Decay("inverse", 1, lambda lr0, e, r, T: 1 / (1 + r * e) * lr0, "α0 / (1 + rate·epoch)"),
        Decay(
            "scheduled",
            2,
            lambda lr0, e, r, T: 1 / (1 + r * math.floor(e / T)) * lr0,
            "α0 / (1 + rate·⌊epoch / time_interval⌋)",
        ),
    )
}
#: the id of a decay given as a Python function ``decay(learning_rate0, epoch_num, decay_rate)``
DECAY_CALLABLE = 3


# --- weight initialisations -------------------------------------------------------------------


@dataclass(frozen=True)
class Init:
    """W[l] drawn as ``draw(rng, n_l, n_{l-1})`` from a RandomState, layer by layer."""

    name: str
    draw: Callable[[np.random.RandomState, int, int], np.ndarray]
    formula: str


INITS: dict[str, Init] = {
    i.name: i
    for i in (
        Init("course", lambda rng, n, k: rng.randn(n, k) / np.sqrt(k), "randn / √n_{l−1}"),
        Init("small", lambda rng, n, k: rng.randn(n, k) * 0.01, "randn · 0.01"),
        Init("he", lambda rng, n, k: rng.randn(n, k) * np.sqrt(2.0 / k), "randn · √(2 / n_{l−1})"),
        Init(
            "xavier",
            lambda rng, n, k: rng.randn(n, k) * np.sqrt(2.0 / (n + k)),
            "randn · √(2 / (n_l + n_{l−1}))",
        ),
        Init("zeros", lambda rng, n, k: np.zeros((n, k)), "0 (logistic regression only)"),
    )
}


# --- lookup -----------------------------------------------------------------------------------

T = TypeVar("T")


def lookup(table: Mapping[str, T], name, what: str) -> T:
    """``table[name]``, or ValueError naming ``what`` and listing the valid names."""
    try:
        return table[name]
    except (KeyError, TypeError):
        valid = ", ".join(repr(n) for n in table)
        raise ValueError(f"{what} must be one of {valid}; got {name!r}") from None


def get_activation(name: str) -> Activation:
    """Look up an activation by name; ValueError listing the valid names otherwise."""
    return lookup(ACTIVATIONS, name, "activation")


def get_output(name: str, n_out: int | None = None) -> Output:
    """Look up an output layer by name, checking it suits ``n_out`` output units."""
    out = lookup(OUTPUTS, name, "output")
    if out.labels == "one-hot" and n_out is not None and n_out < 2:
        raise ValueError(
            f"output={name!r} needs one output unit per class, at least 2; the last layer has "
            f"{n_out} (for two classes a single sigmoid unit is the same model)"
        )
    return out


def check_slope(slope: float) -> float:
    """The leaky-ReLU slope must be a finite number in [0, 1)."""
    try:
        value = float(slope)
    except (TypeError, ValueError):
        raise TypeError(f"leaky_slope must be a number in [0, 1); got {slope!r}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"leaky_slope must be in [0, 1); got {slope!r}")
    return value
