"""Gradient checking: the engine's backward pass against central differences of its own cost.

The second course's test (*Improving Deep Neural Networks*, week 1): for every parameter θ_i,

    g̃_i = (J(θ + ε·e_i) − J(θ − ε·e_i)) / 2ε,

and the relative difference ‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂) between the backward pass's gradient g
and g̃. Below 2e-7 the course calls the backward pass right; a wrong term gives 1e-2 to 1.
"""

from __future__ import annotations

import numpy as np

from fastnn._dispatch import kernels
from fastnn._spec import TrainState
from fastnn._training import make_spec
from fastnn._validation import check_positive

__all__ = ["gradcheck", "relative_difference", "report"]

THRESHOLD = 2e-7  # the course's: above it, "There is a mistake in the backward propagation!"


def relative_difference(grad, gradapprox) -> float:
    """‖grad − gradapprox‖₂ / (‖grad‖₂ + ‖gradapprox‖₂), the course's formula (2), as a numpy
    float64 (the course's type); 0 when both are 0."""
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return np.float64(numerator / denominator) if denominator else np.float64(0.0)


def report(difference: np.float64, print_msg: bool) -> np.float64:
    """Print the course's verdict on ``difference`` when ``print_msg`` (in its colours); return
    ``difference``."""
    if print_msg:
        if difference > THRESHOLD:
            print(
                "\033[93mThere is a mistake in the backward propagation! difference = "
                f"{difference}\033[0m"
            )
        else:
            print(
                f"\033[92mYour backward propagation works perfectly fine! difference = "
                f"{difference}\033[0m"
            )
    return difference


def gradcheck(
    model,
    X,
    Y,
    epsilon: float = 1e-7,
    lambd: float = 0.0,
    keep_prob=1.0,
    seed: int = 0,
    print_msg: bool = False,
) -> np.float64:
    """Check ``model``'s compiled backward pass on (X, Y): the relative difference between the
    engine's gradient of the full-batch cost

        J(θ) = (1/m) Σ loss(A[L], Y) + (λ/2m) Σ_l ‖W[l]‖²

    (the cost ``Model.fit`` minimises, with ``lambd`` = λ) and its central differences
    (J(θ + ε·e_i) − J(θ − ε·e_i)) / 2ε over every parameter, W1, b1, …, WL, bL. Both come from
    the engine (``cost_gradient``). With ``keep_prob`` < 1 (one number, or one per hidden
    layer) the check runs under one fixed dropout mask, in the gradient and in every
    difference alike: the masks of the model's next training step (step t + 1 of its step
    counter t) for ``seed``, those a warm-started ``Model.fit(keep_prob=..., seed=seed,
    warm_start=True)`` would draw first (a plain fit restarts the count at step 1). The differences are always computed in float64 (ε = 1e-7 is below float32's
    resolution), the gradient in the model's dtype, so a float32 model's difference carries
    float32 rounding (about 1e-8 to 1e-6; float64: about 1e-9 to 1e-7, larger where a ReLU's
    kink lies within ε of some Z: zero biases with a dead unit put z = 0 exactly, where the
    differences see half the slope, and the check fails with a right gradient). X (n_x, m)
    and Y as ``Model.fit`` takes them; with ``standardize`` the model's fitted statistics
    apply. Costs 2·(number of parameters) passes over X: meant for small models and a few
    examples. The model is not changed. Prints the course's verdict when ``print_msg``;
    returns the difference.
    """
    from fastnn.model import Model

    if not isinstance(model, Model):
        raise TypeError(f"model must be a fastnn.Model; got {type(model).__name__}")
    epsilon = check_positive(epsilon, "epsilon")
    X = model._inputs(X)
    m = X.shape[1]
    Y = np.ascontiguousarray(model._labels(Y, m))
    spec = make_spec(
        layer_dims=model.layer_dims,
        m=m,
        activations=model.hidden_activations,
        output=model.output,
        slope=model.leaky_slope,
        learning_rate=1.0,
        num_epochs=1,
        lambd=lambd,
        keep_prob=keep_prob,
        seed=seed,
    )
    _, grad = kernels.cost_gradient(spec, X, Y, model._state)
    probe = TrainState(model.layer_dims, np.float64)
    probe.theta[...] = model._state.theta
    probe.t = model._state.t  # the same step: the same dropout masks
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    theta = probe.theta.copy()
    gradapprox = np.empty_like(theta)
    for i in range(theta.size):
        probe.theta[i] = theta[i] + epsilon
        J_plus, _ = kernels.cost_gradient(spec, X64, Y64, probe)
        probe.theta[i] = theta[i] - epsilon
        J_minus, _ = kernels.cost_gradient(spec, X64, Y64, probe)
        probe.theta[i] = theta[i]
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    return report(relative_difference(grad.astype(np.float64), gradapprox), print_msg)
