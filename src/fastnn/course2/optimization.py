"""The Optimization Methods notebook of *Improving Deep Neural Networks* (week 2) with its helper
module ``opt_utils``: ``from fastnn.course2.optimization import *`` gives the names the notebook
uses, and its code runs unchanged and prints the same numbers.

The exercises (the course's formulas; t counts Adam's steps from 1):

- gradient descent: W_l ← W_l − α·dW_l, b_l ← b_l − α·db_l;
- ``random_mini_batches``: ``np.random.seed(seed)``, one ``np.random.permutation(m)`` of the
  columns, then batches of ``mini_batch_size`` and the remainder;
- momentum: v = β·v + (1 − β)·dW, W ← W − α·v;
- Adam: v = β1·v + (1 − β1)·dW, v̂ = v/(1 − β1ᵗ), s = β2·s + (1 − β2)·dW², ŝ = s/(1 − β2ᵗ),
  W ← W − α·v̂/(√ŝ + ε);
- decay: α0/(1 + rate·epoch) (``update_lr``), α0/(1 + rate·⌊epoch/time_interval⌋)
  (``schedule_lr_decay``).

``model`` trains in fastnn's compiled engine (``fastnn.Model.fit`` with ``seed=10``, the
notebook's shuffles); the helpers are numpy, as the notebook's: they act on dicts of small
arrays, one call per step, where packing them for a kernel would cost more than it saves.
"""

from __future__ import annotations

import math

import numpy as np

from fastnn.course2._utils import (  # the helpers the notebooks' utils share
    backward_propagation,
    cross_entropy_sum,
    forward_propagation,
    layers,
    plot_costs,
    plot_decision_boundary,
    predict,
    predict_dec,
    relu,
    scatter_data,
    sigmoid,
    sklearn_dataset,
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
    "predict",
    "predict_dec",
    "load_dataset",
    "plot_decision_boundary",
    "update_parameters_with_gd",
    "random_mini_batches",
    "initialize_velocity",
    "update_parameters_with_momentum",
    "initialize_adam",
    "update_parameters_with_adam",
    "update_lr",
    "schedule_lr_decay",
    "model",
]


# --- opt_utils --------------------------------------------------------------------------------


def initialize_parameters(layer_dims):
    """He initialisation with ``np.random.seed(3)``: W_l = randn(n_l, n_{l−1})·√(2/n_{l−1}),
    b_l = 0, drawn layer by layer."""
    np.random.seed(3)
    parameters = {}
    for l in range(1, len(layer_dims)):
        scale = np.sqrt(2 / layer_dims[l - 1])
        parameters[f"W{l}"] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * scale
        parameters[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return parameters


def compute_cost(a3, Y):
    """The cross-entropy summed over the examples (not averaged: ``model`` divides the epoch's
    total by m)."""
    return cross_entropy_sum(a3, Y)


def load_dataset():
    """The notebook's moons: ``np.random.seed(3)``, then scikit-learn's
    ``make_moons(n_samples=300, noise=.2)`` (scikit-learn is needed here, as in the course),
    plotted when matplotlib is installed. Returns train_X (2, 300), train_Y (1, 300)."""
    make_moons = sklearn_dataset("make_moons")
    np.random.seed(3)
    train_X, train_Y = make_moons(n_samples=300, noise=0.2)
    scatter_data(train_X.T, train_Y)
    return train_X.T, train_Y.reshape((1, train_Y.shape[0]))


# --- the exercises ----------------------------------------------------------------------------


def update_parameters_with_gd(parameters, grads, learning_rate):
    """W_l ← W_l − α·dW_l, b_l ← b_l − α·db_l for every layer (new arrays in the same dict)."""
    return update_parameters(parameters, grads, learning_rate)


def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """``np.random.seed(seed)``, the columns of X and Y in ``np.random.permutation(m)`` order,
    cut into batches of ``mini_batch_size`` (the last one smaller when it does not divide m).
    Returns a list of (mini_batch_X, mini_batch_Y)."""
    np.random.seed(seed)
    m = X.shape[1]
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    return [
        (shuffled_X[:, k : k + mini_batch_size], shuffled_Y[:, k : k + mini_batch_size])
        for k in range(0, m, mini_batch_size)
    ]


def _zeros_like_gradients(parameters):
    return {
        f"d{p}{l}": np.zeros_like(parameters[f"{p}{l}"])
        for l in range(1, layers(parameters) + 1)
        for p in "Wb"
    }


def initialize_velocity(parameters):
    """v["dW1"], v["db1"], …: zeros shaped like each parameter."""
    return _zeros_like_gradients(parameters)


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    """v = β·v + (1 − β)·dW, W ← W − α·v (and the same for every b). Returns (parameters, v)."""
    for l in range(1, layers(parameters) + 1):
        for p in "Wb":
            key = f"d{p}{l}"
            v[key] = beta * v[key] + (1 - beta) * grads[key]
            parameters[f"{p}{l}"] = parameters[f"{p}{l}"] - learning_rate * v[key]
    return parameters, v


def initialize_adam(parameters):
    """(v, s): zeros shaped like each parameter, keys dW1, db1, …"""
    return _zeros_like_gradients(parameters), _zeros_like_gradients(parameters)


def update_parameters_with_adam(
    parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8
):
    """One Adam step at step t (from 1). Returns (parameters, v, s, v_corrected, s_corrected)."""
    v_corrected, s_corrected = {}, {}
    for l in range(1, layers(parameters) + 1):
        for p in "Wb":
            key = f"d{p}{l}"
            v[key] = beta1 * v[key] + (1 - beta1) * grads[key]
            v_corrected[key] = v[key] / (1 - beta1**t)
            s[key] = beta2 * s[key] + (1 - beta2) * np.square(grads[key])
            s_corrected[key] = s[key] / (1 - beta2**t)
            step = learning_rate * v_corrected[key] / (np.sqrt(s_corrected[key]) + epsilon)
            parameters[f"{p}{l}"] = parameters[f"{p}{l}"] - step
    return parameters, v, s, v_corrected, s_corrected


def update_lr(learning_rate0, epoch_num, decay_rate):
    """α0 / (1 + decay_rate·epoch_num)."""
    return learning_rate0 / (1 + decay_rate * epoch_num)


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """α0 / (1 + decay_rate·⌊epoch_num / time_interval⌋)."""
    return learning_rate0 / (1 + decay_rate * math.floor(epoch_num / time_interval))


# the course's decay functions run as the engine's compiled schedules
_COMPILED_DECAYS = {update_lr: "inverse", schedule_lr_decay: "scheduled"}


def model(
    X,
    Y,
    layers_dims,
    optimizer,
    learning_rate=0.0007,
    mini_batch_size=64,
    beta=0.9,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    num_epochs=5000,
    print_cost=True,
    decay=None,
    decay_rate=1,
):
    """The notebook's model: ``initialize_parameters(layers_dims)`` (He, seed 3), then
    ``num_epochs`` epochs of mini-batches shuffled as ``random_mini_batches`` with seeds 11, 12,
    … (the notebook's seed 10 plus one before each epoch), updated by ``optimizer`` ("gd",
    "momentum" or "adam"), ReLU hidden layers and a sigmoid output. ``decay(learning_rate0,
    epoch, decay_rate)`` sets the rate after each epoch (``update_lr`` and
    ``schedule_lr_decay`` run compiled; another function is called once per epoch). Prints
    "Cost after epoch i: J" every 1000 epochs (J: the epoch's summed batch costs over m), and
    the rate after it when decaying; records the cost every 100 epochs and plots them when
    matplotlib is installed. All of it runs in fastnn's compiled engine. Returns the trained
    parameters."""
    if optimizer not in ("gd", "momentum", "adam"):
        raise ValueError(f"optimizer must be 'gd', 'momentum' or 'adam'; got {optimizer!r}")
    net = Model.from_parameters(initialize_parameters(layers_dims))
    costs = []

    def report(epoch, cost):
        costs.append(cost)
        if print_cost and epoch % 1000 == 0:
            print(f"Cost after epoch {epoch}: {cost:f}")
            if decay:
                rate = decay(learning_rate, epoch, decay_rate)
                print(f"learning rate after epoch {epoch}: {rate:f}")

    net.fit(
        X,
        Y,
        learning_rate,
        mini_batch_size=mini_batch_size,
        num_epochs=num_epochs,
        seed=10,
        optimizer=optimizer,
        beta=beta,
        beta1=beta1,
        beta2=beta2,
        epsilon=epsilon,
        decay=_COMPILED_DECAYS.get(decay, decay),
        decay_rate=decay_rate,
        cost_every=100,
        callback=report,
    )
    final = decay(learning_rate, num_epochs - 1, decay_rate) if decay else learning_rate
    plot_costs(costs, "epochs (per 100)", "Learning rate = " + str(final))
    return net.parameters
