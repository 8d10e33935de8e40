"""What the second course's helper modules (gc_utils, opt_utils, reg_utils, init_utils) share:
the elementwise activations and the 3-layer net LINEAR → RELU → LINEAR → RELU → LINEAR →
SIGMOID, forward and backward, in the course's numpy formulas and order (the notebooks print
numbers whose last digits depend on it)."""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    """1 / (1 + exp(−x)), elementwise."""
    return 1 / (1 + np.exp(-x))


def relu(x):
    """max(0, x), elementwise."""
    return np.maximum(0, x)


def forward3(X, parameters):
    """Z1 = W1·X + b1, A1 = relu(Z1), Z2 = W2·A1 + b2, A2 = relu(Z2), Z3 = W3·A2 + b3,
    A3 = sigmoid(Z3). Returns (A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3))."""
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def cross_entropy_sum(A3, Y):
    """Σ [−y·log a − (1 − y)·log(1 − a)], from the probabilities as the course computes it."""
    return np.sum(np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y))


def backward3(X, Y, cache, scale_first: bool, lower: bool, dropout=None):
    """The 3-layer net's gradients: dZ3 = A3 − Y, dW_l = (1/m)·dZ_l·A_{l−1}ᵀ,
    db_l = (1/m)·Σ dZ_l, dA_{l−1} = W_lᵀ·dZ_l, dZ_l = dA_l·[A_l > 0], the two courses' helper
    modules differing only in where 1/m goes and in the keys' case: ``scale_first``
    (opt_utils, init_utils) takes dZ3 = (1/m)·(A3 − Y) and no 1/m after it, else (gc_utils,
    reg_utils) each dW and db gets its 1/m; ``lower`` names dz/da lowercase (opt_utils).
    ``dropout`` = (D1, D2, keep_prob): each dA_l is masked and rescaled, dA_l·D_l / keep_prob,
    before the ReLU's derivative (the Regularization notebook's inverted dropout). Returns the
    dict dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1 in that order."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    z, a = ("dz", "da") if lower else ("dZ", "dA")
    grads = {}
    dZ = 1.0 / m * (A3 - Y) if scale_first else A3 - Y
    for l, A_prev, W, A in ((3, A2, W3, A2), (2, A1, W2, A1), (1, X, W1, None)):
        grads[f"{z}{l}"] = dZ
        if scale_first:
            grads[f"dW{l}"] = np.dot(dZ, A_prev.T)
            grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True)
        else:
            grads[f"dW{l}"] = 1.0 / m * np.dot(dZ, A_prev.T)
            grads[f"db{l}"] = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        if A is not None:
            dA = np.dot(W.T, dZ)
            if dropout is not None:
                dA = dA * dropout[l - 2]
                dA = dA / dropout[2]
            grads[f"{a}{l - 1}"] = dA
            dZ = np.multiply(dA, np.int64(A > 0))
    order = [f"{z}3", "dW3", "db3", f"{a}2", f"{z}2", "dW2", "db2", f"{a}1", f"{z}1", "dW1", "db1"]
    return {key: grads[key] for key in order}


def layers(mapping, prefix: str = "") -> int:
    """The number of layers L of a dict holding {prefix}W1, {prefix}b1, …, {prefix}WL, {prefix}bL."""
    L = 0
    while f"{prefix}W{L + 1}" in mapping and f"{prefix}b{L + 1}" in mapping:
        L += 1
    if L == 0:
        raise ValueError(f"expected keys {prefix}W1, {prefix}b1, …; got {sorted(mapping)!r:.80}")
    return L


def plot_costs(costs, xlabel: str, title: str) -> None:
    """The notebooks' cost curve (when matplotlib is installed): costs against ``xlabel``,
    titled ``title``, shown."""
    plt = pyplot()
    if plt is not None:
        plt.plot(costs)
        plt.ylabel("cost")
        plt.xlabel(xlabel)
        plt.title(title)
        plt.show()


def scatter_data(X, y) -> None:
    """The notebooks' look at their data (when matplotlib is installed): X (2, m) coloured by
    the labels y."""
    plt = pyplot()
    if plt is not None:
        plt.scatter(X[0, :], X[1, :], c=np.ravel(y), s=40, cmap=plt.cm.Spectral)


def pyplot():
    """matplotlib.pyplot, or None when matplotlib is not installed (the plots are then skipped)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def sklearn_dataset(name: str):
    """scikit-learn's ``sklearn.datasets.<name>`` (make_moons, make_circles), which the course's
    load_dataset functions draw with; ImportError naming the extra without scikit-learn."""
    try:
        import sklearn.datasets
    except ImportError:
        raise ImportError(
            f"load_dataset draws the course's data with scikit-learn's {name}: "
            "pip install scikit-learn"
        ) from None
    return getattr(sklearn.datasets, name)


# --- what the notebooks' helper modules share, as they define it ------------------------------


def forward_propagation(X, parameters):
    """opt_utils' and init_utils' forward pass: LINEAR → RELU → LINEAR → RELU → LINEAR →
    SIGMOID. Returns (a3, cache) with the cache (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3)."""
    return forward3(X, parameters)


def backward_propagation(X, Y, cache):
    """opt_utils' and init_utils' backward pass: dz3 = (1/m)·(a3 − Y), dW_l = dz_l·a_{l−1}ᵀ,
    db_l = Σ dz_l, da_{l−1} = W_lᵀ·dz_l, dz_l = da_l·[a_l > 0]. Returns dz3, dW3, db3, da2, dz2,
    dW2, db2, da1, dz1, dW1, db1."""
    return backward3(X, Y, cache, scale_first=True, lower=True)


def update_parameters(parameters, grads, learning_rate):
    """init_utils' and reg_utils' gradient descent step: W_l ← W_l − α·dW_l, b_l ← b_l − α·db_l
    for every layer (new arrays in the same dict, as the course's)."""
    for l in range(1, layers(parameters) + 1):
        for p in "Wb":
            parameters[f"{p}{l}"] = parameters[f"{p}{l}"] - learning_rate * grads[f"d{p}{l}"]
    return parameters


def predict(X, y, parameters):
    """0/1 predictions (1, m) (a3 > 0.5); prints "Accuracy: " and the share right."""
    a3, _ = forward_propagation(X, parameters)
    p = (a3 > 0.5).astype(int)
    print("Accuracy: " + str(np.mean(p[0, :] == y[0, :])))
    return p


def predict_dec(parameters, X):
    """Boolean predictions a3 > 0.5, for ``plot_decision_boundary``."""
    a3, _ = forward_propagation(X, parameters)
    return a3 > 0.5


def plot_decision_boundary(model, X, y):
    """Contour of ``model`` (a function of an (m, 2) grid) over X's range, with X's points;
    needs matplotlib."""
    plt = pyplot()
    if plt is None:
        raise ImportError("plot_decision_boundary needs matplotlib: pip install matplotlib")
    x_min, x_max = X[0, :].min() - 1, X[0, :].max() + 1
    y_min, y_max = X[1, :].min() - 1, X[1, :].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, 0.01), np.arange(y_min, y_max, 0.01))
    Z = model(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
    plt.contourf(xx, yy, Z, cmap=plt.cm.Spectral)
    plt.ylabel("x2")
    plt.xlabel("x1")
    plt.scatter(X[0, :], X[1, :], c=np.ravel(y), cmap=plt.cm.Spectral)
    plt.show()
