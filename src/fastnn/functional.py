"""The course's numpy helper functions, same names, signatures, return values and printed output,
backed by the compiled kernels.

A script written against the course's helper module (``dnn_app_utils``) runs unchanged after
``from fastnn.functional import *``, prints the same numbers, and runs faster. Notation:
X is (n_x, m), one example per column; Y is (1, m); parameters is a dict W1, b1, …, WL, bL with
W[l] of shape (n_l, n_{l-1}) and b[l] of shape (n_l, 1); a layer's cache is
((A_prev, W, b), Z). Beyond the course, every ``activation`` argument also accepts "tanh",
"leaky_relu" and "linear", and ``L_model_forward``/``L_model_backward`` take an optional
``hidden_activation`` and ``output`` ("sigmoid", the course's; "softmax" for C ≥ 2 classes with
Y one-hot (C, m) or labels (1, m); "linear" or "relu" for regression). ``softmax``,
``convert_to_one_hot`` and ``compute_cost(AL, Y, output="softmax")`` go with them.
"""

from __future__ import annotations

import numpy as np

from fastnn._dispatch import kernels
from fastnn._registry import get_activation, get_output
from fastnn._validation import (
    _to_array,
    as_class_labels,
    as_labels,
    as_matrix,
    as_targets,
    check_count,
    check_layer_dims,
    check_learning_rate,
    check_parameters,
    result_dtype,
)

__all__ = [
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_forward",
    "linear_activation_forward",
    "L_model_forward",
    "compute_cost",
    "linear_backward",
    "linear_activation_backward",
    "L_model_backward",
    "update_parameters",
    "predict",
    "two_layer_model",
    "L_layer_model",
    "sigmoid",
    "relu",
    "softmax",
    "sigmoid_backward",
    "relu_backward",
    "convert_to_one_hot",
]

LEAKY_SLOPE = 0.01  # the slope "leaky_relu" uses in this module


# --- initialisation (seeded draws in the course's order) ------------------------------------


def initialize_parameters(n_x: int, n_h: int, n_y: int) -> dict[str, np.ndarray]:
    """Two-layer init: np.random.seed(1); W1 = randn(n_h, n_x)·0.01, b1 = 0, W2 = randn(n_y, n_h)·0.01, b2 = 0."""
    check_layer_dims([n_x, n_h, n_y])
    np.random.seed(1)
    W1 = np.random.randn(n_h, n_x) * 0.01
    b1 = np.zeros((n_h, 1))
    W2 = np.random.randn(n_y, n_h) * 0.01
    b2 = np.zeros((n_y, 1))
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def initialize_parameters_deep(layer_dims) -> dict[str, np.ndarray]:
    """L-layer init (the Application's): np.random.seed(1); W[l] = randn(n_l, n_{l-1}) / √n_{l-1}, b[l] = 0."""
    dims = check_layer_dims(layer_dims)
    np.random.seed(1)
    parameters = {}
    for l in range(1, len(dims)):
        parameters["W" + str(l)] = np.random.randn(dims[l], dims[l - 1]) / np.sqrt(dims[l - 1])
        parameters["b" + str(l)] = np.zeros((dims[l], 1))
    return parameters


# --- forward --------------------------------------------------------------------------------


def _layer_inputs(A_prev, W, b, *others):
    """Validate one layer's (A_prev, W, b): shapes W (n, k), A_prev (k, m), b (n, 1).

    The dtype follows the promotion rule over A_prev, W, b and ``others`` (e.g. dA and Z).
    """
    A_prev, W, b = _to_array(A_prev, "A_prev"), _to_array(W, "W"), _to_array(b, "b")
    dtype = result_dtype(A_prev, W, b, *others)
    W = as_matrix(W, "W", dtype, check_finite=False)
    n, k = W.shape
    A_prev = as_matrix(A_prev, "A_prev", dtype, shape=(k, None), check_finite=False)
    b = as_matrix(b, "b", dtype, shape=(n, 1), check_finite=False)
    return A_prev, W, b


def _forward(A_prev, W, b, activation):
    A, Z = kernels.dense_forward(A_prev, W, b, activation, LEAKY_SLOPE, True)
    # NaN/inf anywhere in A_prev, W or b reaches Z: checking the small output is cheaper than
    # checking the (possibly huge) input on every call.
    if not np.isfinite(Z).all():
        raise ValueError(
            "non-finite values in Z = W·A_prev + b: A_prev, W or b contains NaN or infinity "
            "(or the product overflows)"
        )
    return A, Z


def linear_forward(A, W, b):
    """Z = W·A + b. Returns (Z, cache) with cache = (A, W, b)."""
    A, W, b = _layer_inputs(A, W, b)
    Z, _ = _forward(A, W, b, "linear")
    return Z, (A, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    """A = g(W·A_prev + b), g = "sigmoid" | "relu" | "tanh" | "leaky_relu" | "linear".

    Returns (A, cache) with cache = ((A_prev, W, b), Z).
    """
    get_activation(activation)
    A_prev, W, b = _layer_inputs(A_prev, W, b)
    A, Z = _forward(A_prev, W, b, activation)
    return A, ((A_prev, W, b), Z)


def L_model_forward(X, parameters, hidden_activation="relu", output="sigmoid"):
    """[LINEAR → RELU] × (L−1) → LINEAR → SIGMOID (or the ``output`` given: "softmax" over each
    column, "linear", "relu", "poisson" (exp)). Returns (AL, caches), one cache ((A_prev, W, b), Z) per layer."""
    get_activation(hidden_activation)
    dims, dtype = check_parameters(parameters)
    out = get_output(output, dims[-1])
    L = len(dims) - 1
    X = _to_array(X, "X")
    A = as_matrix(X, "X", result_dtype(X, dtype), shape=(dims[0], None))
    caches = []
    for l in range(1, L + 1):
        W, b = parameters["W" + str(l)], parameters["b" + str(l)]
        if l == L and out.activation is None:  # Z_L, then a softmax of each column, or exp
            Z, linear_cache = linear_forward(A, W, b)
            A = kernels.softmax(Z) if out.name == "softmax" else out.link(Z)
            cache = (linear_cache, Z)
        else:
            activation = hidden_activation if l < L else out.activation
            A, cache = linear_activation_forward(A, W, b, activation)
        caches.append(cache)
    return A, caches


# --- cost -----------------------------------------------------------------------------------


def compute_cost(AL, Y, output="sigmoid"):
    """J = −(1/m) Σ [y·log(a) + (1 − y)·log(1 − a)] for a sigmoid AL (1, m), or, with
    ``output="softmax"``, the mean categorical cross-entropy J = −(1/m) Σ_j Σ_c y_cj·log(a_cj)
    for AL (C, m) and Y one-hot (C, m) or labels (1, m); terms with y = 0 count 0. Returns a
    0-d value (np.squeeze'd)."""
    AL = _to_array(AL, "AL")
    out = get_output(output, AL.shape[0] if AL.ndim == 2 else None)
    if out.name not in ("sigmoid", "softmax"):
        raise ValueError(f"compute_cost takes output='sigmoid' or 'softmax'; got {output!r}")
    dtype = result_dtype(AL)  # labels (exact 0/1) take the dtype of AL
    shape = (1, None) if out.name == "sigmoid" else (None, None)
    AL = as_matrix(AL, "AL", dtype, shape=shape, contiguous=True)
    if ((AL < 0) | (AL > 1)).any():
        raise ValueError("AL must hold probabilities in [0, 1]")
    if out.name == "sigmoid":
        cost = kernels.cross_entropy_cost(AL, as_labels(Y, AL.shape[1], dtype))
    else:
        Y = as_targets(Y, AL.shape[1], dtype, "softmax", AL.shape[0])
        with np.errstate(divide="ignore"):
            terms = np.where(Y != 0, Y * np.log(np.where(Y != 0, AL, 1)), 0)
        cost = -float(np.sum(terms, dtype=np.float64)) / AL.shape[1]
    return np.squeeze(np.asarray(cost, dtype=dtype))


# --- backward -------------------------------------------------------------------------------


def _unpack_cache(cache, name: str = "cache"):
    """((A_prev, W, b), Z), or ValueError naming ``name`` and what a cache looks like."""
    try:
        (A_prev, W, b), Z = cache
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be ((A_prev, W, b), Z) as returned by linear_activation_forward; "
            f"got {type(cache).__name__}"
        ) from None
    return A_prev, W, b, Z


def _backward(dA, cache, activation, name="cache"):
    A_prev, W, b, Z = _unpack_cache(cache, name)
    dA = _to_array(dA, "dA")
    others = [dA] if activation == "linear" else [dA, _to_array(Z, "Z")]
    A_prev, W, b = _layer_inputs(A_prev, W, b, *others)
    n, m = W.shape[0], A_prev.shape[1]
    dA = as_matrix(dA, "dA", W.dtype, shape=(n, m), contiguous=True)
    Z = dA if activation == "linear" else as_matrix(Z, "Z", W.dtype, shape=(n, m), contiguous=True)
    dA_prev, dW, db = kernels.dense_backward(dA, Z, A_prev, W, activation, LEAKY_SLOPE, True)
    return dA_prev, dW, db


def linear_backward(dZ, cache):
    """Given dZ and cache (A_prev, W, b): dW = (1/m) dZ·A_prevᵀ, db = (1/m) Σ dZ, dA_prev = Wᵀ·dZ."""
    try:
        A_prev, W, b = cache
    except (TypeError, ValueError):
        raise ValueError(
            f"cache must be (A_prev, W, b) as returned by linear_forward; got {type(cache).__name__}"
        ) from None
    return _backward(dZ, ((A_prev, W, b), None), "linear")


def linear_activation_backward(dA, cache, activation):
    """dZ = dA ⊙ g'(Z), then linear_backward. cache = ((A_prev, W, b), Z). Returns (dA_prev, dW, db)."""
    get_activation(activation)
    return _backward(dA, cache, activation)


def L_model_backward(AL, Y, caches, hidden_activation="relu", output="sigmoid"):
    """Backprop through [LINEAR → RELU] × (L−1) → LINEAR → SIGMOID with the cross-entropy cost
    (or the ``output`` of L_model_forward with its loss).

    Sigmoid: dAL = −(Y/AL − (1 − Y)/(1 − AL)) exactly as the course computes it (so hand-made
    caches whose AL is not σ(Z_L) get the course's answer). Softmax with the categorical
    cross-entropy, and linear with the squared error (a − y)²/2: dZ_L = AL − Y (Y one-hot (C, m)
    or labels (1, m) for a softmax); ReLU: dZ_L = (AL − Y)·[Z_L > 0]. Returns grads with
    dA0..dA{L-1}, dW1..dWL, db1..dbL.
    """
    get_activation(hidden_activation)
    out = get_output(output, np.shape(AL)[0] if np.ndim(AL) == 2 else None)
    grads = {}
    if not isinstance(caches, (list, tuple)) or not caches:
        raise ValueError(
            "caches must be the non-empty list of layer caches returned by L_model_forward; "
            f"got {caches!r:.60}"
        )
    L = len(caches)
    AL = _to_array(AL, "AL")
    dtype = result_dtype(AL)  # labels (exact 0/1) take the dtype of AL
    if out.name == "sigmoid":
        AL = as_matrix(AL, "AL", dtype, shape=(1, None), contiguous=True)
        Y = as_labels(Y, AL.shape[1], dtype)
        with np.errstate(divide="raise", invalid="raise"):
            try:
                dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
            except FloatingPointError:
                raise ValueError(
                    "AL has entries equal to 0 or 1: dAL = −(Y/AL − (1−Y)/(1−AL)) is infinite"
                ) from None
        dA_prev, dW, db = _backward(dAL, caches[L - 1], "sigmoid", f"caches[{L - 1}]")
    else:
        AL = as_matrix(AL, "AL", dtype, contiguous=True)
        Y = as_targets(Y, AL.shape[1], dtype, out.name, AL.shape[0])
        dZL = AL - Y
        if out.name == "relu":
            _, _, _, ZL = _unpack_cache(caches[L - 1], f"caches[{L - 1}]")
            dZL = np.where(np.asarray(ZL) > 0, dZL, 0).astype(dtype)
        dA_prev, dW, db = _backward(dZL, caches[L - 1], "linear", f"caches[{L - 1}]")
    grads["dA" + str(L - 1)] = dA_prev
    grads["dW" + str(L)] = dW
    grads["db" + str(L)] = db
    for l in reversed(range(L - 1)):
        dA_prev, dW, db = _backward(
            grads["dA" + str(l + 1)], caches[l], hidden_activation, f"caches[{l}]"
        )
        grads["dA" + str(l)] = dA_prev
        grads["dW" + str(l + 1)] = dW
        grads["db" + str(l + 1)] = db
    return grads


def update_parameters(parameters, grads, learning_rate):
    """W[l] ← W[l] − α·dW[l], b[l] ← b[l] − α·db[l]. Returns a new dict (inputs are not modified)."""
    dims, _ = check_parameters(parameters)
    lr = check_learning_rate(learning_rate)
    updated = dict(parameters)
    for l in range(1, len(dims)):
        for p in ("W", "b"):
            key, gkey = p + str(l), "d" + p + str(l)
            if gkey not in grads:
                raise ValueError(f"grads is missing key {gkey!r}")
            grad = _to_array(grads[gkey], f"grads[{gkey!r}]")
            if grad.shape != np.shape(parameters[key]):
                raise ValueError(
                    f"grads[{gkey!r}] must have shape {np.shape(parameters[key])}; got {grad.shape}"
                )
            if not np.isfinite(grad).all():
                raise ValueError(f"grads[{gkey!r}] contains NaN or infinity")
            updated[key] = parameters[key] - lr * grad
    return updated


# --- prediction -----------------------------------------------------------------------------


def predict(X, y, parameters):
    """Predict 0/1 at threshold 0.5 with L_model_forward, print "Accuracy: …", return p (1, m)."""
    m = np.shape(X)[1] if np.ndim(X) == 2 else 0
    probas, _ = L_model_forward(X, parameters)
    y = as_labels(y, m, np.dtype(np.float64), name="y")
    p = (probas > 0.5).astype(np.float64)
    print("Accuracy: " + str(np.sum((p == y) / m)))
    return p


# --- the course's models, trained by the compiled loop ---------------------------------------


def _train_course_model(
    X, Y, parameters, hidden_activation, learning_rate, num_iterations, print_cost
):
    """Run the course's training loop (compiled) on ``parameters``; returns (parameters, costs).

    Prints "Cost after iteration i: J" every 100 iterations when print_cost, and (as the course's
    operator precedence does) always after the last iteration.
    """
    from fastnn._training import train_parameters

    lr = check_learning_rate(learning_rate)
    num_iterations = check_count(num_iterations, "num_iterations")

    def report(i, cost):
        if print_cost:
            print(f"Cost after iteration {i}: {cost}")

    Ws, bs, result = train_parameters(
        X,
        Y,
        parameters,
        [hidden_activation] * (len(parameters) // 2 - 1),
        "sigmoid",
        LEAKY_SLOPE,
        lr,
        num_iterations,
        100,
        report,
    )
    costs, final_cost = result.costs, result.final_cost
    if num_iterations and (not print_cost or (num_iterations - 1) % 100):
        print(f"Cost after iteration {num_iterations - 1}: {final_cost}")
    parameters = {}
    for l, (W, b) in enumerate(zip(Ws, bs, strict=True), start=1):
        parameters["W" + str(l)] = W
        parameters["b" + str(l)] = b
    return parameters, [np.squeeze(np.asarray(c)) for c in costs]


def two_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """LINEAR → RELU → LINEAR → SIGMOID, init initialize_parameters (randn·0.01, seed 1).

    Returns (parameters, costs) with costs recorded every 100 iterations.
    """
    dims = check_layer_dims(layers_dims)
    if len(dims) != 3:
        raise ValueError(f"layers_dims must be (n_x, n_h, n_y) for two_layer_model; got {dims}")
    parameters = initialize_parameters(*dims)
    return _train_course_model(X, Y, parameters, "relu", learning_rate, num_iterations, print_cost)


def L_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False):
    """[LINEAR → RELU] × (L−1) → LINEAR → SIGMOID, init initialize_parameters_deep (seed 1).

    Returns (parameters, costs) with costs recorded every 100 iterations.
    """
    parameters = initialize_parameters_deep(layers_dims)
    return _train_course_model(X, Y, parameters, "relu", learning_rate, num_iterations, print_cost)


# --- the course's activation helpers (dnn_utils) ----------------------------------------------


def sigmoid(Z):
    """A = 1 / (1 + exp(−Z)); returns (A, cache = Z)."""
    Z = np.asarray(Z)
    return get_activation("sigmoid").forward(Z, LEAKY_SLOPE), Z


def relu(Z):
    """A = max(0, Z); returns (A, cache = Z)."""
    Z = np.asarray(Z)
    return get_activation("relu").forward(Z, LEAKY_SLOPE), Z


def softmax(Z):
    """A = exp(Z − max) / Σ exp(Z − max) over each column (the max taken out per column, so
    any finite Z works); returns (A, cache = Z) like sigmoid and relu."""
    Z = _to_array(Z, "Z")
    Zc = as_matrix(Z, "Z", result_dtype(Z), contiguous=True, check_finite=True)
    return kernels.softmax(Zc), Z


def convert_to_one_hot(Y, C):
    """Class labels Y (m,) or (1, m) in 0..C−1 as one-hot columns (C, m), float64: the
    course's ``np.eye(C)[Y.reshape(-1)].T``."""
    C = check_count(C, "C", minimum=1)
    Y = _to_array(Y, "Y")
    if not (Y.ndim == 1 or (Y.ndim == 2 and Y.shape[0] == 1)):
        raise ValueError(f"Y must be class labels of shape (m,) or (1, m); got {Y.shape}")
    labels = as_class_labels(Y, Y.size, C)
    return np.eye(C)[labels].T


def sigmoid_backward(dA, cache):
    """dZ = dA · s · (1 − s) with s = σ(Z), Z = cache."""
    return dA * get_activation("sigmoid").derivative(np.asarray(cache), LEAKY_SLOPE)


def relu_backward(dA, cache):
    """dZ = dA where Z > 0, else 0 (Z = cache)."""
    Z = np.asarray(cache)
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ
