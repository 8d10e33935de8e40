"""The Gradient Checking notebook of *Improving Deep Neural Networks* (week 1) with its helper
module ``gc_utils``: ``from fastnn.course2.gradient_checking import *`` gives the names the
notebook uses, and its code runs unchanged and prints the same numbers.

1-D: J(θ) = θ·x, dJ/dθ = x. The 3-layer net: LINEAR → RELU → LINEAR → RELU → LINEAR → SIGMOID,
cost J = (1/m) Σ [−y·log a − (1 − y)·log(1 − a)], parameters W1 (5, 4), b1 (5, 1), W2 (3, 5),
b2 (3, 1), W3 (1, 3), b3 (1, 1) for the course's test case (any sizes work here). The check:
g̃_i = (J(θ + ε·e_i) − J(θ − ε·e_i)) / 2ε and difference = ‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂), "fine"
at most 2e-7. The notebook ships a ``backward_propagation_n`` with two planted mistakes for
students to find; this one is right.

The computations are the course's numpy formulas, in its order: a printed difference depends on
the last bits of every cost (ε = 1e-7 scales a cost's rounding by 1e7), and these tiny products
would gain nothing from fastnn's kernels. ``fastnn.gradcheck`` is the compiled check for any
fastnn model.
"""

from __future__ import annotations

import numpy as np

from fastnn._gradcheck import relative_difference, report
from fastnn.course2._utils import backward3, cross_entropy_sum, forward3, layers, relu, sigmoid

__all__ = [
    "sigmoid",
    "relu",
    "dictionary_to_vector",
    "vector_to_dictionary",
    "gradients_to_vector",
    "forward_propagation",
    "backward_propagation",
    "gradient_check",
    "forward_propagation_n",
    "backward_propagation_n",
    "gradient_check_n",
]

#: The course's test network: W1 (5, 4), W2 (3, 5), W3 (1, 3).
COURSE_LAYER_DIMS = (4, 5, 3, 1)


# --- gc_utils ---------------------------------------------------------------------------------


def dictionary_to_vector(parameters):
    """Every W1, b1, W2, b2, … flattened in C order into one column θ (n, 1), and the key each
    entry came from (a list of n names). Returns (theta, keys)."""
    columns, keys = [], []
    for l in range(1, layers(parameters) + 1):
        for name in (f"W{l}", f"b{l}"):
            column = np.reshape(parameters[name], (-1, 1))
            columns.append(column)
            keys += [name] * column.shape[0]
    return np.concatenate(columns, axis=0), keys


def vector_to_dictionary(theta, layer_dims=COURSE_LAYER_DIMS):
    """The inverse of ``dictionary_to_vector``: W_l (n_l, n_{l−1}) and b_l (n_l, 1) read from the
    column θ in order, for ``layer_dims`` (the course's test network by default)."""
    theta = np.asarray(theta)
    need = sum(n * (k + 1) for k, n in zip(layer_dims[:-1], layer_dims[1:], strict=True))
    if theta.size != need:
        raise ValueError(
            f"theta has {theta.size} entries; layer_dims {list(layer_dims)} need {need}"
        )
    flat, parameters, start = theta.reshape(-1), {}, 0
    for l in range(1, len(layer_dims)):
        for name, shape in (
            (f"W{l}", (layer_dims[l], layer_dims[l - 1])),
            (f"b{l}", (layer_dims[l], 1)),
        ):
            size = shape[0] * shape[1]
            parameters[name] = flat[start : start + size].reshape(shape)
            start += size
    return parameters


def gradients_to_vector(gradients):
    """dW1, db1, dW2, db2, … flattened in C order into one column (n, 1), in θ's order."""
    L = layers(gradients, "d")
    columns = [np.reshape(gradients[f"d{p}{l}"], (-1, 1)) for l in range(1, L + 1) for p in "Wb"]
    return np.concatenate(columns, axis=0)


# --- 1-D gradient checking --------------------------------------------------------------------


def forward_propagation(x, theta):
    """J(θ) = θ·x."""
    return np.dot(theta, x)


def backward_propagation(x, theta):
    """dJ/dθ = x."""
    return x


def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    """The relative difference between dJ/dθ = x and (J(θ + ε) − J(θ − ε)) / 2ε; prints the
    course's verdict when ``print_msg``."""
    J_plus = forward_propagation(x, theta + epsilon)
    J_minus = forward_propagation(x, theta - epsilon)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return report(relative_difference(grad, gradapprox), print_msg)


# --- N-dimensional gradient checking ----------------------------------------------------------


def forward_propagation_n(X, Y, parameters):
    """The 3-layer net's forward pass and cost J = (1/m)·Σ loss. Returns (cost, cache) with the
    course's cache (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)."""
    A3, cache = forward3(X, parameters)
    return 1.0 / X.shape[1] * cross_entropy_sum(A3, Y), cache


def backward_propagation_n(X, Y, cache):
    """The 3-layer net's backward pass: dZ3 = A3 − Y, dW_l = (1/m)·dZ_l·A_{l−1}ᵀ,
    db_l = (1/m)·Σ dZ_l, dA_{l−1} = W_lᵀ·dZ_l, dZ_l = dA_l·[A_l > 0]. Returns the dict
    dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1."""
    return backward3(X, Y, cache, scale_first=False, lower=False)


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    """The relative difference between ``gradients`` (from ``backward_propagation_n``) and the
    central differences of ``forward_propagation_n``'s cost over every parameter; prints the
    course's verdict when ``print_msg``."""
    parameters_values, _ = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients)
    L = layers(parameters)
    dims = [parameters["W1"].shape[1], *(parameters[f"W{l}"].shape[0] for l in range(1, L + 1))]
    gradapprox = np.zeros((parameters_values.shape[0], 1))
    for i in range(parameters_values.shape[0]):
        theta_plus = np.copy(parameters_values)
        theta_plus[i] += epsilon
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, dims))
        theta_minus = np.copy(parameters_values)
        theta_minus[i] -= epsilon
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, dims))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    return report(relative_difference(grad, gradapprox), print_msg)
