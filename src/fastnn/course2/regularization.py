"""The Regularization notebook of *Improving Deep Neural Networks* (week 1) with its helper
module ``reg_utils``: ``from fastnn.course2.regularization import *`` gives the names the
notebook uses, and its code runs unchanged.

The notebook's net is [n_x, 20, 3, 1] (ReLU, ReLU, sigmoid), initialised with
``np.random.seed(3)`` and W_l = randn(n_l, n_{l−1})/√n_{l−1}. Its two regularisers:

- L2: J = (1/m)·Σ loss + (1/m)(λ/2)·Σ_l ‖W_l‖², dW_l += (λ/m)·W_l (biases not penalised);
- inverted dropout on the two hidden layers: D_l = (rand(n_l, m) < keep_prob), A_l ← A_l·D_l /
  keep_prob, and the same masks on dA_l in the backward pass. As in the course,
  ``forward_propagation_with_dropout`` calls ``np.random.seed(1)`` at every call, so every
  iteration draws the same masks: a quirk, and what makes the notebook's numbers reproducible.

``model`` with ``keep_prob=1`` (L2 or nothing) trains in fastnn's compiled engine, full batch,
its printed costs within about 1e-10 of the notebook's numpy loop. With ``keep_prob < 1`` it
runs the notebook's own numpy loop: the engine's dropout (``Model.fit(keep_prob=...)``) draws
new masks every step, which cannot reproduce the course's reseeded ones.
"""

from __future__ import annotations

import numpy as np

from fastnn.course2._utils import (
    backward3,
    forward3,
    layers,
    plot_costs,
    plot_decision_boundary,
    predict,
    predict_dec,
    relu,
    scatter_data,
    sigmoid,
    update_parameters,
)
from fastnn.model import Model

__all__ = [
    "sigmoid",
    "relu",
    "initialize_parameters",
    "forward_propagation",
    "backward_propagation",
    "compute_cost",
    "update_parameters",
    "predict",
    "predict_dec",
    "load_2D_dataset",
    "plot_decision_boundary",
    "compute_cost_with_regularization",
    "backward_propagation_with_regularization",
    "forward_propagation_with_dropout",
    "backward_propagation_with_dropout",
    "model",
]


# --- reg_utils --------------------------------------------------------------------------------


def initialize_parameters(layer_dims):
    """``np.random.seed(3)``; W_l = randn(n_l, n_{l−1})/√n_{l−1}, b_l = 0."""
    np.random.seed(3)
    parameters = {}
    for l in range(1, len(layer_dims)):
        W = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters[f"W{l}"], parameters[f"b{l}"] = W, np.zeros((layer_dims[l], 1))
    return parameters


def forward_propagation(X, parameters):
    """LINEAR → RELU → LINEAR → RELU → LINEAR → SIGMOID. Returns (A3, cache) with the cache
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)."""
    return forward3(X, parameters)


def backward_propagation(X, Y, cache):
    """dZ3 = A3 − Y, dW_l = (1/m)·dZ_l·A_{l−1}ᵀ, db_l = (1/m)·Σ dZ_l, dA_{l−1} = W_lᵀ·dZ_l,
    dZ_l = dA_l·[A_l > 0]. Returns dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1."""
    return backward3(X, Y, cache, scale_first=False, lower=False)


def compute_cost(a3, Y):
    """The mean cross-entropy (1/m)·Σ [−y·log a − (1 − y)·log(1 − a)], NaN terms skipped
    (``np.nansum``, as reg_utils)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return 1.0 / Y.shape[1] * np.nansum(losses)


def load_2D_dataset(path="datasets/data.mat"):
    """The notebook's football data from its ``data.mat`` (X, y, Xval, yval; the course ships
    the file with the notebook, fastnn does not): train_X (2, m), train_Y (1, m), test_X,
    test_Y, the training set plotted when matplotlib is installed."""
    import scipy.io

    try:
        data = scipy.io.loadmat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"load_2D_dataset reads the course's data.mat; no file at {path!r} (pass its path)"
        ) from None
    train_X, train_Y, test_X, test_Y = data["X"].T, data["y"].T, data["Xval"].T, data["yval"].T
    scatter_data(train_X, train_Y)
    return train_X, train_Y, test_X, test_Y


# --- the exercises ----------------------------------------------------------------------------


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    """The cross-entropy cost plus (1/m)(λ/2)·(‖W1‖² + ‖W2‖² + ‖W3‖²)."""
    m = Y.shape[1]
    squares = np.sum(np.square(parameters["W1"]))
    for l in range(2, layers(parameters) + 1):
        squares = squares + np.sum(np.square(parameters[f"W{l}"]))
    return compute_cost(A3, Y) + 1 / m * (lambd / 2) * squares


def backward_propagation_with_regularization(X, Y, cache, lambd):
    """``backward_propagation`` with dW_l += (λ/m)·W_l."""
    m = X.shape[1]
    gradients = backward_propagation(X, Y, cache)
    for l, W in ((3, cache[10]), (2, cache[6]), (1, cache[2])):
        gradients[f"dW{l}"] = gradients[f"dW{l}"] + lambd / m * W
    return gradients


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    """``np.random.seed(1)``, then the forward pass with inverted dropout after each hidden
    ReLU: D_l = (np.random.rand(*A_l.shape) < keep_prob).astype(int), A_l = A_l·D_l / keep_prob.
    Returns (A3, cache) with the course's cache (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3,
    W3, b3)."""
    np.random.seed(1)
    A, cache = X, []
    for l in (1, 2, 3):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        Z = np.dot(W, A) + b
        if l == 3:
            A = sigmoid(Z)
            cache += [Z, A, W, b]
        else:
            D = (np.random.rand(*Z.shape) < keep_prob).astype(int)
            A = relu(Z) * D / keep_prob
            cache += [Z, D, A, W, b]
    return A, tuple(cache)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    """The backward pass of ``forward_propagation_with_dropout``: the same masks on dA2 and dA1,
    dA_l·D_l / keep_prob, before the ReLU's derivative. Returns dZ3, dW3, db3, dA2, …"""
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    plain = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return backward3(X, Y, plain, scale_first=False, lower=False, dropout=(D1, D2, keep_prob))


def model(X, Y, learning_rate=0.3, num_iterations=30000, print_cost=True, lambd=0, keep_prob=1):
    """The notebook's model: [n_x, 20, 3, 1], ``num_iterations`` full-batch gradient descent
    steps with L2 (``lambd``) or dropout (``keep_prob`` < 1), one at a time as the notebook
    allows; prints "Cost after iteration i: J" every 10 000 iterations, records the cost every
    1000 and plots them when matplotlib is installed. ``keep_prob=1`` trains in the compiled
    engine, ``keep_prob < 1`` runs the notebook's numpy loop (its reseeded masks). Returns the
    trained parameters."""
    if not 0 < keep_prob <= 1:
        raise ValueError(f"keep_prob must be in (0, 1]; got {keep_prob!r}")
    if lambd != 0 and keep_prob < 1:
        raise ValueError(
            "the notebook uses L2 (lambd) or dropout (keep_prob < 1), one at a time; "
            f"got lambd={lambd!r} and keep_prob={keep_prob!r}"
        )
    parameters = initialize_parameters([X.shape[0], 20, 3, 1])
    costs = []

    def report(i, cost):
        if i % 10000 == 0 and print_cost:
            print(f"Cost after iteration {i}: {cost}")
        costs.append(cost)

    if keep_prob == 1:
        net = Model.from_parameters(parameters)
        net.fit(X, Y, learning_rate, num_iterations, lambd=lambd, cost_every=1000, callback=report)
        parameters = net.parameters
    else:
        for i in range(num_iterations):
            a3, cache = forward_propagation_with_dropout(X, parameters, keep_prob)
            cost = compute_cost(a3, Y)
            if i % 1000 == 0:
                report(i, cost)
            grads = backward_propagation_with_dropout(X, Y, cache, keep_prob)
            parameters = update_parameters(parameters, grads, learning_rate)
    plot_costs(costs, "iterations (x1,000)", "Learning rate =" + str(learning_rate))
    return parameters
