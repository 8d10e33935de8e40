"""Pure-numpy reference: the oracle for the compiled kernels, name for name and signature for signature.

Every function here mirrors one entry point of ``fastnn._kernels`` and is written with the course's
formulas, favouring clarity over speed. Tests compare each kernel with its twin; cross-check mode
(``fastnn.crosscheck()``) does the same at run time.
"""

from __future__ import annotations

import numpy as np

from fastnn._registry import OUTPUTS, get_activation, lookup

__all__ = [
    "dense_forward",
    "forward",
    "dense_backward",
    "output_loss",
    "cross_entropy_cost",
    "train",
]


def dense_forward(A_prev, W, b, activation, slope=0.01, keep_Z=True):
    """Z = W·A_prev + b; A = g(Z). Returns (A, Z), Z None unless keep_Z."""
    Z = np.dot(W, A_prev) + b
    A = get_activation(activation).forward(Z, slope)
    return A, (Z if keep_Z else None)


def forward(X, Ws, bs, activations, slope=0.01):
    """A[L] through every layer (dense_forward in turn). Returns (AL, finite): whether
    Z1 = W1·X + b1 is all finite."""
    A, finite = X, True
    for l, (W, b, activation) in enumerate(zip(Ws, bs, activations, strict=True)):
        A, Z = dense_forward(A, W, b, activation, slope)
        if l == 0:
            finite = bool(np.isfinite(Z).all())
    return A, finite


def dense_backward(dA, Z, A_prev, W, activation, slope=0.01, need_dA_prev=True):
    """dZ = dA ⊙ g'(Z); dW = (1/m) dZ·A_prevᵀ; db = (1/m) Σ_cols dZ; dA_prev = Wᵀ·dZ."""
    m = A_prev.shape[1]
    act = get_activation(activation)
    dZ = dA if act.name == "linear" else dA * act.derivative(Z, slope)
    dW = 1.0 / m * np.dot(dZ, A_prev.T)
    db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ) if need_dA_prev else None
    return dA_prev, dW.astype(W.dtype, copy=False), db.astype(W.dtype, copy=False)


def output_loss(Z, Y, output):
    """Output layer and loss: sigmoid + cross-entropy or linear + squared error. (J, A, dZ)."""
    out = lookup(OUTPUTS, output, "output")
    A = out.link(Z)
    J = np.sum(out.loss(Z, Y)) / Z.shape[1]
    return float(J), A, A - Y


def cross_entropy_cost(AL, Y):
    """J = −(1/m) Σ [y·log(a) + (1 − y)·log(1 − a)], terms of weight 0 taken as 0."""
    m = AL.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(Y != 0, Y * np.log(AL), 0)
        neg = np.where(Y != 1, (1 - Y) * np.log1p(-AL), 0)
    return float(-np.sum(pos + neg) / m)


def train(
    X,
    Y,
    Ws,
    bs,
    activations,
    slope,
    output,
    learning_rate,
    num_iterations,
    cost_every,
    callback=None,
    gram=False,
):
    """Full-batch gradient descent, in place on the lists ``Ws`` and ``bs``.

    Each iteration: forward through every layer, output loss, backward, W ← W − α dW, b ← b − α db.
    ``gram`` is accepted for signature parity and ignored: this is the direct path, the oracle
    the Gram path must agree with. A non-finite cost (checked where it is computed: recorded
    iterations and the last) restores the parameters of the last such iteration with a finite
    cost and stops. Returns (costs, final_cost, n_done, None, diverged_at) like the kernel.
    """
    L = len(Ws)
    m = X.shape[1]
    costs = []
    final_cost = float("nan")
    snapshot, snap_it, done = [p.copy() for p in Ws + bs], 0, 0
    for i in range(num_iterations):
        As, Zs = [X], []
        for l in range(L - 1):
            A, Z = dense_forward(As[-1], Ws[l], bs[l], activations[l], slope)
            As.append(A)
            Zs.append(Z)
        ZL = np.dot(Ws[-1], As[-1]) + bs[-1]
        J, _, dZ = output_loss(ZL, Y, output)
        recorded = bool(cost_every) and i % cost_every == 0
        if recorded or i == num_iterations - 1:
            if not np.isfinite(J):
                for p, saved in zip(Ws + bs, snapshot, strict=True):
                    p[...] = saved
                return costs, J, snap_it, None, i
            snapshot, snap_it = [p.copy() for p in Ws + bs], i
        for l in reversed(range(L)):
            dW = 1.0 / m * np.dot(dZ, As[l].T)
            db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
            if l > 0:
                dA = np.dot(Ws[l].T, dZ)
                dZ = dA * get_activation(activations[l - 1]).derivative(Zs[l - 1], slope)
            Ws[l] -= learning_rate * dW.astype(Ws[l].dtype, copy=False)
            bs[l] -= learning_rate * db.astype(bs[l].dtype, copy=False)
        done = i + 1
        if i == num_iterations - 1:
            final_cost = J
        if recorded:
            costs.append(J)
            if callback is not None:
                callback(i, J)
    return costs, final_cost, done, None, -1
