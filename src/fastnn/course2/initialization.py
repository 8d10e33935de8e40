"""The Initialization notebook of *Improving Deep Neural Networks* (week 1) with its helper
module ``init_utils``: ``from fastnn.course2.initialization import *`` gives the names the
notebook uses, and its code runs unchanged.

The three initialisations of a network ``layers_dims`` (b_l = 0 in each):

- zeros: W_l = 0 (every unit of a layer learns the same thing: the notebook's lesson);
- random: ``np.random.seed(3)``, W_l = randn(n_l, n_{l−1})·10;
- He: ``np.random.seed(3)``, W_l = randn(n_l, n_{l−1})·√(2/n_{l−1}).

``model`` trains the notebook's [n_x, 10, 5, 1] ReLU network with a sigmoid output by
full-batch gradient descent in fastnn's compiled engine. Its printed costs are the engine's,
computed from the logits: they agree with the notebook's numpy loop to about 1e-10, and where
the notebook's cost overflows (``initialization="random"`` makes a3 exactly 1, so −log(1 − a3)
is inf and the notebook prints "inf") the engine prints the finite cost; the parameters follow
the same trajectory either way.
"""

from __future__ import annotations

import numpy as np

from fastnn.course2._utils import (  # the helpers the notebooks' utils share
    backward_propagation,
    forward_propagation,
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
    "forward_propagation",
    "backward_propagation",
    "compute_loss",
    "update_parameters",
    "predict",
    "predict_dec",
    "load_dataset",
    "plot_decision_boundary",
    "initialize_parameters_zeros",
    "initialize_parameters_random",
    "initialize_parameters_he",
    "model",
]

INITIALIZATIONS = ("zeros", "random", "he")


# --- init_utils -------------------------------------------------------------------------------


def compute_loss(a3, Y):
    """The mean cross-entropy (1/m)·Σ [−y·log a − (1 − y)·log(1 − a)] (NaN terms skipped, as the
    course's ``np.nansum``)."""
    m = Y.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return 1.0 / m * np.nansum(losses)


def load_dataset():
    """The notebook's circles: ``np.random.seed(1)``, ``make_circles(n_samples=300,
    noise=.05)`` for training, then ``np.random.seed(2)`` and 100 for testing (scikit-learn's,
    as in the course), the training set plotted when matplotlib is installed. Returns
    train_X (2, 300), train_Y (1, 300), test_X (2, 100), test_Y (1, 100)."""
    make_circles = sklearn_dataset("make_circles")
    np.random.seed(1)
    train_X, train_Y = make_circles(n_samples=300, noise=0.05)
    np.random.seed(2)
    test_X, test_Y = make_circles(n_samples=100, noise=0.05)
    scatter_data(train_X.T, train_Y)
    return train_X.T, train_Y.reshape((1, -1)), test_X.T, test_Y.reshape((1, -1))


# --- the exercises ----------------------------------------------------------------------------


def _initialize(layers_dims, scale):
    """b_l = 0 and W_l = randn(n_l, n_{l−1})·scale(l) after ``np.random.seed(3)`` (or zeros when
    scale is None)."""
    parameters = {}
    if scale is not None:
        np.random.seed(3)
    for l in range(1, len(layers_dims)):
        shape = (layers_dims[l], layers_dims[l - 1])
        parameters[f"W{l}"] = (
            np.zeros(shape) if scale is None else np.random.randn(*shape) * scale(l)
        )
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def initialize_parameters_zeros(layers_dims):
    """W_l = 0, b_l = 0 for every layer."""
    return _initialize(layers_dims, None)


def initialize_parameters_random(layers_dims):
    """``np.random.seed(3)``; W_l = randn(n_l, n_{l−1})·10, b_l = 0."""
    return _initialize(layers_dims, lambda l: 10)


def initialize_parameters_he(layers_dims):
    """``np.random.seed(3)``; W_l = randn(n_l, n_{l−1})·√(2/n_{l−1}), b_l = 0."""
    return _initialize(layers_dims, lambda l: np.sqrt(2.0 / layers_dims[l - 1]))


def model(X, Y, learning_rate=0.01, num_iterations=15000, print_cost=True, initialization="he"):
    """The notebook's model: layers [n_x, 10, 5, 1] (ReLU, ReLU, sigmoid), initialised by
    ``initialization`` ("zeros", "random" or "he"), ``num_iterations`` full-batch gradient
    descent steps in the compiled engine; prints "Cost after iteration i: J" every 1000
    iterations (J the mean cross-entropy before step i), records those costs and plots them
    when matplotlib is installed. Returns the trained parameters."""
    if initialization not in INITIALIZATIONS:
        valid = ", ".join(repr(i) for i in INITIALIZATIONS)
        raise ValueError(f"initialization must be one of {valid}; got {initialization!r}")
    layers_dims = [X.shape[0], 10, 5, 1]
    init = {"zeros": initialize_parameters_zeros, "random": initialize_parameters_random}
    parameters = init.get(initialization, initialize_parameters_he)(layers_dims)
    net = Model.from_parameters(parameters)
    costs = []

    def report(i, cost):
        costs.append(cost)
        if print_cost:
            print(f"Cost after iteration {i}: {cost}")

    net.fit(X, Y, learning_rate, num_iterations, cost_every=1000, callback=report)
    plot_costs(costs, "iterations (per hundreds)", "Learning rate =" + str(learning_rate))
    return net.parameters
