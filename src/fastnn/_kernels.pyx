# cython: language_level=3
"""The course's per-layer kernels: dense layers, fused output losses and inference.

Private. Three tiers, as in scikit-learn's ``_loss``: the ``noexcept nogil`` row loops of
src/fastnn/_native (declared in ``_rows.pxd``), kernels that run them with the GIL released
around ``_blas.gemm``, and ``def`` entry points that check O(1) facts (shapes, dtypes,
layouts), allocate the outputs and call the kernels. Full validation of user input happens
once, in the Python layer (``fastnn._validation``); ``fastnn.reference`` mirrors every entry
point name for name in numpy. The training loop lives in ``_engine.pyx``.

Arrays are numpy's row-major (C order) unless a GEMM operand arrives in Fortran order, which is
passed to BLAS with a transpose flag instead of being copied (see ``_blas.gemm``).
"""

import numpy as np

from cython cimport floating

from fastnn._blas cimport gemm, operand
from fastnn._rows cimport (
    FNN_ACT_LEAKY_RELU,
    FNN_ACT_LINEAR,
    FNN_ACT_RELU,
    FNN_ACT_SIGMOID,
    FNN_ACT_TANH,
    FNN_DECAY_CALLABLE,
    FNN_DECAY_INVERSE,
    FNN_DECAY_SCHEDULED,
    FNN_OPT_ADAM,
    FNN_OPT_GD,
    FNN_OPT_MOMENTUM,
    FNN_OPT_SKLEARN_ADAM,
    FNN_OPT_SKLEARN_NESTEROV,
    FNN_OPT_SKLEARN_SGD,
    FNN_OUT_LINEAR,
    FNN_OUT_POISSON,
    FNN_OUT_RELU,
    FNN_OUT_SIGMOID,
    FNN_OUT_SOFTMAX,
    all_finite,
    backward_from_Z,
    bias_activation,
    cross_entropy,
    fnn_exp,
    fnn_expf,
    fnn_log,
    fnn_log1p,
    fnn_tanh,
    fnn_tanhf,
    output_layer,
)

from fastnn._blas import check_dims as _check_dims
from fastnn._registry import OUTPUTS, get_activation, lookup

# Test hook: the ids of _native/fnn_ids.h by name, as the C code defines them (the test's oracle,
# not a table any code reads: every caller takes its ids from fastnn._registry, and
# tests/test_native.py checks that the registry holds these same numbers).
NATIVE_IDS = {
    "activation": {
        "linear": FNN_ACT_LINEAR,
        "sigmoid": FNN_ACT_SIGMOID,
        "tanh": FNN_ACT_TANH,
        "relu": FNN_ACT_RELU,
        "leaky_relu": FNN_ACT_LEAKY_RELU,
    },
    "output": {
        "sigmoid": FNN_OUT_SIGMOID,
        "linear": FNN_OUT_LINEAR,
        "softmax": FNN_OUT_SOFTMAX,
        "relu": FNN_OUT_RELU,
        "poisson": FNN_OUT_POISSON,
    },
    "optimizer": {
        "gd": FNN_OPT_GD,
        "momentum": FNN_OPT_MOMENTUM,
        "adam": FNN_OPT_ADAM,
        "sklearn_adam": FNN_OPT_SKLEARN_ADAM,
        "sklearn_sgd": FNN_OPT_SKLEARN_SGD,
        "sklearn_nesterov": FNN_OPT_SKLEARN_NESTEROV,
    },
    "decay": {
        "inverse": FNN_DECAY_INVERSE,
        "scheduled": FNN_DECAY_SCHEDULED,
        "callable": FNN_DECAY_CALLABLE,
    },
}


def _vector_math(name, x):
    """Test hook: apply the kernels' exp, tanh (float32 or float64), log or log1p (float64)
    elementwise to a 1-D float array, one scalar call per element."""
    out = np.empty_like(x)
    cdef Py_ssize_t i
    cdef double[::1] xd, od
    cdef float[::1] xf, of
    cdef int which = ["exp", "tanh", "log", "log1p"].index(name)
    if x.dtype == np.float64:
        xd, od = x, out
        for i in range(x.shape[0]):
            od[i] = (fnn_exp(xd[i]) if which == 0 else fnn_tanh(xd[i]) if which == 1
                     else fnn_log(xd[i]) if which == 2 else fnn_log1p(xd[i]))
    else:
        if which > 1:
            raise ValueError(f"{name}: float64 only (float32 losses are computed in float64)")
        xf, of = x, out
        for i in range(x.shape[0]):
            of[i] = fnn_expf(xf[i]) if which == 0 else fnn_tanhf(xf[i])
    return out


def _all_finite_impl(const floating[:, :] a):
    cdef Py_ssize_t i, j, rows = a.shape[0], cols = a.shape[1]
    cdef Py_ssize_t s0 = a.strides[0] // sizeof(floating), s1 = a.strides[1] // sizeof(floating)
    cdef bint ok = True
    cdef const floating* p = &a[0, 0]
    with nogil:
        if s1 == 1 or cols == 1:  # contiguous rows
            for i in range(rows):
                if not all_finite(p + i * s0, cols):
                    ok = False
                    break
        elif s0 == 1 or rows == 1:  # contiguous columns
            for j in range(cols):
                if not all_finite(p + j * s1, rows):
                    ok = False
                    break
        else:
            for i in range(rows):
                for j in range(cols):
                    if p[i * s0 + j * s1] - p[i * s0 + j * s1] != 0:
                        ok = False
                if not ok:
                    break
    return ok


def all_finite_2d(a):
    """Whether every element of a 2-D float32/float64 array is finite (no NaN, no ±inf), in one
    pass over the array without the (n, m) temporary np.isfinite(a).all() would allocate."""
    if a.size == 0:
        return True
    return bool(_all_finite_impl(a))


def _activation_id(activation):
    """The registry's kernel id of an activation name."""
    return get_activation(activation).id


def _dense_forward(const floating[:, :] A_prev, const floating[:, :] W, const floating[:, :] b,
                   floating[:, ::1] Z, floating[:, ::1] A, int act, floating slope):
    cdef int lda, ldw
    cdef int a_order = operand(A_prev, &lda)
    cdef int w_order = operand(W, &ldw)
    cdef int n = W.shape[0], k = W.shape[1], m = A_prev.shape[1]
    cdef floating* out = &Z[0, 0] if Z is not None else &A[0, 0]
    with nogil:
        gemm(False, False, n, m, k, <floating>1, &W[0, 0], ldw, w_order,
             &A_prev[0, 0], lda, a_order, <floating>0, out, m, True)
        bias_activation(out, &A[0, 0], &b[0, 0], b.strides[0] // sizeof(floating), n, m,
                        act, slope)


def dense_forward(A_prev, W, b, activation, slope=0.01, keep_Z=True):
    """A = g(Z), Z = W·A_prev + b, in one GEMM and one fused bias+activation pass.

    A_prev (n_prev, m), W (n, n_prev), b (n, 1), same float dtype, BLAS-readable layouts.
    Returns (A, Z); Z is None unless keep_Z (then A is computed in place of Z).
    """
    n, k = W.shape
    m = A_prev.shape[1]
    if A_prev.shape[0] != k or b.shape != (n, 1):
        raise ValueError(f"dense_forward: shapes W {W.shape}, A_prev {A_prev.shape}, b {b.shape}")
    _check_dims(n, k, m)
    A = np.empty((n, m), dtype=W.dtype)
    Z = np.empty((n, m), dtype=W.dtype) if keep_Z else None
    _dense_forward(A_prev, W, b, Z, A, _activation_id(activation), slope)
    return A, Z


def _forward(const floating[:, :] X, list Ws, list bs, list acts, int output, floating slope):
    cdef Py_ssize_t l
    cdef int m = X.shape[1], k = X.shape[0], n, ld, prev_ld, order
    cdef int prev_order = operand(X, &prev_ld)
    cdef const floating[:, :] W
    cdef const floating[:, :] b
    cdef floating[:, ::1] out
    cdef const floating* prev = &X[0, 0]
    cdef floating zero = 0
    cdef int act
    cdef bint finite = True
    dtype = np.float32 if floating is float else np.float64
    A = X
    for l in range(len(Ws)):
        W, b, act = Ws[l], bs[l], acts[l]
        n = W.shape[0]
        if W.shape[1] != k or b.shape[0] != n or b.shape[1] != 1:
            raise ValueError(f"forward: layer {l + 1} has W {Ws[l].shape}, b {bs[l].shape} "
                             f"after {k} units")
        _check_dims(n)
        A_prev = A  # keeps the array prev points into alive until this layer has read it
        out = A = np.empty((n, m), dtype=dtype)
        order = operand(W, &ld)
        with nogil:
            gemm(False, False, n, m, k, <floating>1, &W[0, 0], ld, order, prev, prev_ld,
                 prev_order, <floating>0, &out[0, 0], m, True)
            if l == 0 or act < 0:
                # Z = W·A_prev + b first: Z1 is checked before the activation, which could
                # saturate inf (tanh(inf) = 1); a softmax output is taken over Z's columns
                bias_activation(&out[0, 0], &out[0, 0], &b[0, 0],
                                b.strides[0] // sizeof(floating), n, m, FNN_ACT_LINEAR, slope)
                if l == 0:
                    finite = all_finite(&out[0, 0], <Py_ssize_t>n * m)
                if act < 0:
                    output_layer(&out[0, 0], <const floating*>NULL, 0, &out[0, 0],
                                 <floating*>NULL, n, m, output, False)
                else:
                    bias_activation(&out[0, 0], &out[0, 0], &zero, 0, n, m, act, slope)
            else:
                bias_activation(&out[0, 0], &out[0, 0], &b[0, 0],
                                b.strides[0] // sizeof(floating), n, m, act, slope)
        prev, prev_ld, prev_order, k = &out[0, 0], m, True, n
    return A, finite


def forward(X, Ws, bs, activations, output, slope=0.01):
    """A[L] = g_L(W_L·(… g_1(W_1·X + b_1) …) + b_L), all layers in one call: per layer one GEMM
    and one bias+activation pass in place, no Z kept (inference).

    X (n_x, m) and every W (n_l, n_{l-1}) in any BLAS-readable layout, b (n_l, 1), one float
    dtype; ``activations`` names the hidden layers' activations, ``output`` the output layer
    (fastnn._registry.OUTPUTS; softmax is taken over each column). Returns (AL, finite): finite
    tells whether Z1 = W1·X + b1 is all finite, checked before g_1, since a saturating
    activation (tanh(inf) = 1) would hide an inf in X from every later layer.
    """
    if len(Ws) < 1 or len(bs) != len(Ws) or len(activations) != len(Ws) - 1:
        raise ValueError("forward: need one b per W and one activation per hidden layer")
    _check_dims(*X.shape)
    out = lookup(OUTPUTS, output, "output")
    acts = [_activation_id(a) for a in activations]
    acts.append(_activation_id(out.activation) if out.activation is not None else -1)
    return _forward(X, list(Ws), list(bs), acts, out.id, slope)


def _dense_backward(const floating[:, ::1] dA, const floating[:, ::1] Z,
                    const floating[:, :] A_prev, const floating[:, :] W, floating[:, ::1] dZ,
                    floating[:, ::1] dA_prev, floating[:, ::1] dW, floating[:, ::1] db, int act,
                    floating slope):
    cdef int lda, ldw
    cdef int a_order = operand(A_prev, &lda)
    cdef int w_order = operand(W, &ldw)
    cdef int n = W.shape[0], k = W.shape[1], m = A_prev.shape[1]
    cdef floating inv_m = (<floating>1) / m
    with nogil:
        backward_from_Z(&dA[0, 0], &Z[0, 0], &dZ[0, 0], &db[0, 0], n, m, act, slope, inv_m)
        # dW = (1/m)·dZ·A_prevᵀ
        gemm(False, True, n, k, m, inv_m, &dZ[0, 0], m, True, &A_prev[0, 0], lda, a_order,
             <floating>0, &dW[0, 0], k, True)
        if dA_prev is not None:
            # dA_prev = Wᵀ·dZ
            gemm(True, False, k, m, n, <floating>1, &W[0, 0], ldw, w_order, &dZ[0, 0], m, True,
                 <floating>0, &dA_prev[0, 0], m, True)


def dense_backward(dA, Z, A_prev, W, activation, slope=0.01, need_dA_prev=True):
    """dZ = dA ⊙ g'(Z) with db = (1/m) Σ_cols dZ in one pass; dW = (1/m)·dZ·A_prevᵀ;
    dA_prev = Wᵀ·dZ (None unless need_dA_prev).

    dA and Z (n, m) C-contiguous; A_prev (n_prev, m) and W (n, n_prev) any BLAS-readable layout.
    For "linear", Z is not read (pass dA again). Returns (dA_prev, dW, db).
    """
    n, k = W.shape
    m = A_prev.shape[1]
    if A_prev.shape[0] != k or dA.shape != (n, m) or Z.shape != (n, m):
        raise ValueError(
            f"dense_backward: shapes dA {dA.shape}, Z {Z.shape}, A_prev {A_prev.shape}, W {W.shape}"
        )
    _check_dims(n, k, m)
    dtype = W.dtype
    dZ = np.empty((n, m), dtype=dtype)
    dW = np.empty((n, k), dtype=dtype)
    db = np.empty((n, 1), dtype=dtype)
    dA_prev = np.empty((k, m), dtype=dtype) if need_dA_prev else None
    _dense_backward(dA, Z, A_prev, W, dZ, dA_prev, dW, db, _activation_id(activation), slope)
    return dA_prev, dW, db


def _output_loss_impl(const floating[:, ::1] Z, const floating[:, ::1] Y, floating[:, ::1] A,
                      floating[:, ::1] dZ, int output):
    cdef double total
    with nogil:  # Z is only read: A and dZ are other arrays
        total = output_layer(<floating*>&Z[0, 0], &Y[0, 0], Z.shape[1], &A[0, 0], &dZ[0, 0],
                             Z.shape[0], Z.shape[1], output, True)
    return total


def output_loss(Z, Y, output):
    """Output layer fused with its loss, from the logits Z (n_L, m) and labels Y (n_L, m).

    "sigmoid": A = σ(Z), J = (1/m) Σ [softplus(z) − y·z] (binary cross-entropy from logits);
    "softmax": A = softmax of each column, J = (1/m) Σ_cols Σ_c y_c·(lse(z) − z_c);
    "linear" / "relu": A = Z / max(Z, 0), J = (1/2m) Σ (a − y)². dZ = A − Y (for "relu"
    (A − Y)·[Z > 0]). Returns (J, A, dZ).
    """
    if Y.shape != Z.shape:
        raise ValueError(f"output_loss: Y {Y.shape} must have the shape of Z {Z.shape}")
    _check_dims(*Z.shape)
    A = np.empty_like(Z)
    dZ = np.empty_like(Z)
    total = _output_loss_impl(Z, Y, A, dZ, lookup(OUTPUTS, output, "output").id)
    return total / Z.shape[1], A, dZ


def _softmax_impl(const floating[:, ::1] Z, floating[:, ::1] A):
    with nogil:  # Z is only read: A is another array
        output_layer(<floating*>&Z[0, 0], <const floating*>NULL, 0, &A[0, 0], <floating*>NULL,
                     Z.shape[0], Z.shape[1], FNN_OUT_SOFTMAX, False)


def softmax(Z):
    """A = softmax of each column of Z (n, m), C-contiguous: exp(z − max) / Σ exp(z − max)."""
    _check_dims(*Z.shape)
    A = np.empty_like(Z)
    _softmax_impl(Z, A)
    return A


def _cross_entropy_impl(const floating[:, ::1] AL, const floating[:, ::1] Y):
    cdef double total
    with nogil:
        total = cross_entropy(&AL[0, 0], &Y[0, 0], AL.shape[0] * AL.shape[1])
    return total


def cross_entropy_cost(AL, Y):
    """J = −(1/m) Σ [y·log(a) + (1 − y)·log(1 − a)] from probabilities AL (the course's cost)."""
    if Y.shape != AL.shape:
        raise ValueError(f"cross_entropy_cost: Y {Y.shape} must have the shape of AL {AL.shape}")
    _check_dims(*AL.shape)
    return _cross_entropy_impl(AL, Y) / AL.shape[1]

