# cython: language_level=3
"""Compiled kernels: dense layers, fused output losses and the whole training loop.

Private. BLAS comes from ``scipy.linalg.cython_blas`` (scipy's own OpenBLAS, nothing linked here).
Three tiers, as in scikit-learn's ``_loss``: ``noexcept nogil`` point/row loops over raw pointers,
kernels that run them with the GIL released, and ``def`` entry points that check O(1) facts
(shapes, dtypes, layouts), allocate the outputs and call the kernels. Full validation of user input
happens once, in the Python layer (``fastnn._validation``); ``fastnn.reference`` mirrors every
entry point name for name in numpy.

Arrays are numpy's row-major (C order) unless a GEMM operand arrives in Fortran order, which is
passed to BLAS with a transpose flag instead of being copied (see ``_gemm``).
"""

import numpy as np

from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cython cimport floating
from libc.limits cimport INT_MAX
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from libc.math cimport exp, expf, isfinite, log, log1p, log1pf, logf, tanh, tanhf
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, sgemm

from fastnn._activations import ACTIVATIONS, get_activation

cdef enum:
    ACT_LINEAR = 0
    ACT_SIGMOID = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_LEAKY_RELU = 4

cdef enum:
    OUT_SIGMOID = 0   # sigmoid output, binary cross-entropy
    OUT_LINEAR = 1    # linear output, squared error

ACTIVATION_IDS = {
    "linear": ACT_LINEAR,
    "sigmoid": ACT_SIGMOID,
    "tanh": ACT_TANH,
    "relu": ACT_RELU,
    "leaky_relu": ACT_LEAKY_RELU,
}
OUTPUT_IDS = {"sigmoid": OUT_SIGMOID, "linear": OUT_LINEAR}


# ---------------------------------------------------------------------------------------------
# Tier 1: point functions and row loops (no Python, no allocation)
# ---------------------------------------------------------------------------------------------

cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _tanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline int _layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t s0, Py_ssize_t s1,
                        int* ld) noexcept nogil:
    """How BLAS can read a (rows, cols) matrix with element strides (s0, s1).

    Returns 1 for row-major with leading dimension ld (M[i, j] at i*ld + j), 0 for column-major
    (M[i, j] at i + j*ld), -1 when BLAS cannot read it (negative or overlapping strides): the
    caller must copy. Length-1 dimensions have meaningless strides and are ignored.
    """
    if (cols <= 1 or s1 == 1) and (rows <= 1 or s0 >= cols):
        ld[0] = <int>(s0 if rows > 1 else (cols if cols > 1 else 1))
        return 1
    if (rows <= 1 or s0 == 1) and (cols <= 1 or s1 >= rows):
        ld[0] = <int>(s1 if cols > 1 else (rows if rows > 1 else 1))
        return 0
    return -1


cdef inline void _gemm(bint trans_a, bint trans_b, int M, int N, int K, floating alpha,
                       const floating* A, int lda, bint a_rowmajor,
                       const floating* B, int ldb, bint b_rowmajor,
                       floating beta, floating* C, int ldc, bint c_rowmajor) noexcept nogil:
    """C := alpha * op(A)·op(B) + beta * C, C of shape (M, N); each operand row- or column-major.

    Column-major BLAS sees a row-major matrix as its transpose. So an operand's BLAS flag is
    (operand row-major) XOR (op transposes it) XOR (C row-major); for a row-major C we compute
    Cᵀ = op(B)ᵀ·op(A)ᵀ, swapping the operands and M with N.
    """
    cdef char fa = b'T' if (a_rowmajor ^ trans_a ^ c_rowmajor) else b'N'
    cdef char fb = b'T' if (b_rowmajor ^ trans_b ^ c_rowmajor) else b'N'
    if c_rowmajor:
        if floating is float:
            sgemm(&fb, &fa, &N, &M, &K, &alpha, <float*>B, &ldb, <float*>A, &lda, &beta, C, &ldc)
        else:
            dgemm(&fb, &fa, &N, &M, &K, &alpha, <double*>B, &ldb, <double*>A, &lda, &beta, C, &ldc)
    else:
        if floating is float:
            sgemm(&fa, &fb, &M, &N, &K, &alpha, <float*>A, &lda, <float*>B, &ldb, &beta, C, &ldc)
        else:
            dgemm(&fa, &fb, &M, &N, &K, &alpha, <double*>A, &lda, <double*>B, &ldb, &beta, C, &ldc)


cdef inline void _bias_activation(floating* Z, floating* A, const floating* b, Py_ssize_t b_stride,
                                  Py_ssize_t n, Py_ssize_t m, int act, floating slope) noexcept nogil:
    """Z += b (broadcast over columns), then A = g(Z); A may be Z itself. Z, A: (n, m) C order."""
    cdef Py_ssize_t i, j
    cdef floating bi, z
    cdef floating* zr
    cdef floating* ar
    for i in range(n):
        bi = b[i * b_stride]
        zr = Z + i * m
        ar = A + i * m
        # One branch-free loop per activation, so that the compiler can vectorise each.
        if act == ACT_LINEAR:
            for j in range(m):
                z = zr[j] + bi
                zr[j] = z
                ar[j] = z
        elif act == ACT_SIGMOID:
            for j in range(m):
                z = zr[j] + bi
                zr[j] = z
                ar[j] = 1 / (1 + _exp(-z))
        elif act == ACT_TANH:
            for j in range(m):
                z = zr[j] + bi
                zr[j] = z
                ar[j] = _tanh(z)
        elif act == ACT_RELU:
            for j in range(m):
                z = zr[j] + bi
                zr[j] = z
                ar[j] = 0 if z <= 0 else z   # NaN stays NaN
        else:
            for j in range(m):
                z = zr[j] + bi
                zr[j] = z
                ar[j] = z * slope if z < 0 else z


cdef inline void _backward_from_Z(const floating* dA, const floating* Z, floating* dZ,
                                  floating* db, Py_ssize_t n, Py_ssize_t m, int act,
                                  floating slope, floating inv_m) noexcept nogil:
    """dZ = dA ⊙ g'(Z) and db = (1/m) Σ_cols dZ, one pass. The course's formulas, term for term."""
    cdef Py_ssize_t i, j
    cdef floating s, t, d, acc
    cdef const floating* dar
    cdef const floating* zr
    cdef floating* dzr
    for i in range(n):
        dar = dA + i * m
        zr = Z + i * m
        dzr = dZ + i * m
        acc = 0
        if act == ACT_LINEAR:
            for j in range(m):
                d = dar[j]
                dzr[j] = d
                acc += d
        elif act == ACT_SIGMOID:
            for j in range(m):
                s = 1 / (1 + _exp(-zr[j]))
                d = dar[j] * s * (1 - s)
                dzr[j] = d
                acc += d
        elif act == ACT_TANH:
            for j in range(m):
                t = _tanh(zr[j])
                d = dar[j] * (1 - t * t)
                dzr[j] = d
                acc += d
        elif act == ACT_RELU:
            for j in range(m):
                d = 0 if zr[j] <= 0 else dar[j]
                dzr[j] = d
                acc += d
        else:
            for j in range(m):
                d = dar[j] if zr[j] > 0 else dar[j] * slope
                dzr[j] = d
                acc += d
        db[i] = acc * inv_m


cdef inline void _backward_from_A(floating* dZ, const floating* A, floating* db, Py_ssize_t n,
                                  Py_ssize_t m, int act, floating slope,
                                  floating inv_m) noexcept nogil:
    """In place dA → dZ = dA ⊙ g'(Z), with g' read off A = g(Z) (no transcendental recomputed):
    sigmoid' = A(1 − A), tanh' = 1 − A², relu/leaky: Z > 0 ⇔ A > 0. Also db = (1/m) Σ_cols dZ."""
    cdef Py_ssize_t i, j
    cdef floating a, d, acc
    cdef const floating* ar
    cdef floating* dzr
    for i in range(n):
        ar = A + i * m
        dzr = dZ + i * m
        acc = 0
        if act == ACT_LINEAR:
            for j in range(m):
                acc += dzr[j]
        elif act == ACT_SIGMOID:
            for j in range(m):
                a = ar[j]
                d = dzr[j] * a * (1 - a)
                dzr[j] = d
                acc += d
        elif act == ACT_TANH:
            for j in range(m):
                a = ar[j]
                d = dzr[j] * (1 - a * a)
                dzr[j] = d
                acc += d
        elif act == ACT_RELU:
            for j in range(m):
                d = 0 if ar[j] <= 0 else dzr[j]
                dzr[j] = d
                acc += d
        else:
            for j in range(m):
                d = dzr[j] if ar[j] > 0 else dzr[j] * slope
                dzr[j] = d
                acc += d
        db[i] = acc * inv_m


cdef inline double _output_loss(const floating* Z, const floating* Y, floating* A, floating* dZ,
                                Py_ssize_t count, int output) noexcept nogil:
    """Output layer fused with its loss, from the logits Z: A = g(Z), dZ = A − Y, returns Σ loss.

    sigmoid + cross-entropy: loss = softplus(z) − y·z = max(z, 0) − y·z + log1p(exp(−|z|)),
    finite for any finite z (no log(0)); one exp per element serves both A and the loss.
    linear + squared error: loss = (z − y)² / 2.
    A or dZ may be NULL when not needed.
    """
    cdef Py_ssize_t j
    cdef floating z, y, e, a, d
    cdef double total = 0
    if output == OUT_SIGMOID:
        for j in range(count):
            z = Z[j]
            y = Y[j]
            e = _exp(-z if z >= 0 else z)
            a = 1 / (1 + e) if z >= 0 else e / (1 + e)
            if A != NULL:
                A[j] = a
            if dZ != NULL:
                dZ[j] = a - y
            total += (z if z > 0 else 0) - y * z + _log1p(e)
    else:
        for j in range(count):
            z = Z[j]
            d = z - Y[j]
            if A != NULL:
                A[j] = z
            if dZ != NULL:
                dZ[j] = d
            total += 0.5 * d * d
    return total


cdef inline void _output_delta(floating* Z, const floating* Y, Py_ssize_t count,
                               int output) noexcept nogil:
    """In place Z → dZ = g(Z) − Y for the output layer, without the loss (no log1p)."""
    cdef Py_ssize_t j
    if output == OUT_SIGMOID:
        for j in range(count):
            Z[j] = 1 / (1 + _exp(-Z[j])) - Y[j]
    else:
        for j in range(count):
            Z[j] = Z[j] - Y[j]


cdef inline double _cross_entropy(const floating* AL, const floating* Y,
                                  Py_ssize_t count) noexcept nogil:
    """Σ −[y·log(a) + (1 − y)·log(1 − a)], the course's cost from probabilities; a term whose
    weight is exactly 0 contributes 0 (so a = 0 with y = 0 gives 0, not 0·log 0 = NaN)."""
    cdef Py_ssize_t j
    cdef floating a, y
    cdef double total = 0
    for j in range(count):
        a = AL[j]
        y = Y[j]
        if y != 0:
            total -= y * _log(a)
        if y != 1:
            total -= (1 - y) * _log1p(-a)
    return total


# ---------------------------------------------------------------------------------------------
# Tier 2/3: entry points. Each checks shapes and layouts in O(1), allocates, then runs nogil.
# ---------------------------------------------------------------------------------------------

def blas_readable(a):
    """True when BLAS can read the 2-D array ``a`` in place (C or F order, positive strides)."""
    cdef int ld
    if a.ndim != 2 or a.itemsize == 0:
        return False
    s0, s1 = a.strides
    if s0 % a.itemsize or s1 % a.itemsize:
        return False
    return _layout(a.shape[0], a.shape[1], s0 // a.itemsize, s1 // a.itemsize, &ld) >= 0


cdef inline int _operand(const floating[:, :] M, int* ld) except -2:
    cdef int order = _layout(M.shape[0], M.shape[1], M.strides[0] // sizeof(floating),
                             M.strides[1] // sizeof(floating), ld)
    if order < 0:
        raise ValueError("internal: operand not readable by BLAS; the caller must copy it")
    return order


def _check_dims(*dims):
    for d in dims:
        if d < 1 or d >= INT_MAX:
            raise ValueError(f"array dimension {d} out of range [1, {INT_MAX})")


def _activation_id(activation):
    return ACTIVATION_IDS[get_activation(activation).name]


def _dense_forward(const floating[:, :] A_prev, const floating[:, :] W, const floating[:, :] b,
                   floating[:, ::1] Z, floating[:, ::1] A, int act, floating slope):
    cdef int lda, ldw
    cdef int a_order = _operand(A_prev, &lda)
    cdef int w_order = _operand(W, &ldw)
    cdef int n = W.shape[0], k = W.shape[1], m = A_prev.shape[1]
    cdef floating* out = &Z[0, 0] if Z is not None else &A[0, 0]
    with nogil:
        _gemm(False, False, n, m, k, <floating>1, &W[0, 0], ldw, w_order,
              &A_prev[0, 0], lda, a_order, <floating>0, out, m, True)
        _bias_activation(out, &A[0, 0], &b[0, 0], b.strides[0] // sizeof(floating), n, m,
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


def _dense_backward(const floating[:, ::1] dA, const floating[:, ::1] Z,
                    const floating[:, :] A_prev, const floating[:, :] W, floating[:, ::1] dZ,
                    floating[:, ::1] dA_prev, floating[:, ::1] dW, floating[:, ::1] db, int act,
                    floating slope):
    cdef int lda, ldw
    cdef int a_order = _operand(A_prev, &lda)
    cdef int w_order = _operand(W, &ldw)
    cdef int n = W.shape[0], k = W.shape[1], m = A_prev.shape[1]
    cdef floating inv_m = (<floating>1) / m
    with nogil:
        _backward_from_Z(&dA[0, 0], &Z[0, 0], &dZ[0, 0], &db[0, 0], n, m, act, slope, inv_m)
        # dW = (1/m)·dZ·A_prevᵀ
        _gemm(False, True, n, k, m, inv_m, &dZ[0, 0], m, True, &A_prev[0, 0], lda, a_order,
              <floating>0, &dW[0, 0], k, True)
        if dA_prev is not None:
            # dA_prev = Wᵀ·dZ
            _gemm(True, False, k, m, n, <floating>1, &W[0, 0], ldw, w_order, &dZ[0, 0], m, True,
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
    with nogil:
        total = _output_loss(&Z[0, 0], &Y[0, 0], &A[0, 0], &dZ[0, 0], Z.shape[0] * Z.shape[1],
                             output)
    return total


def output_loss(Z, Y, output):
    """Output layer fused with its loss, from the logits Z (n_L, m) and labels Y (n_L, m).

    "sigmoid": A = σ(Z), J = (1/m) Σ [softplus(z) − y·z] (binary cross-entropy from logits);
    "linear": A = Z, J = (1/2m) Σ (z − y)². Both: dZ = A − Y. Returns (J, A, dZ).
    """
    if Y.shape != Z.shape:
        raise ValueError(f"output_loss: Y {Y.shape} must have the shape of Z {Z.shape}")
    _check_dims(*Z.shape)
    A = np.empty_like(Z)
    dZ = np.empty_like(Z)
    total = _output_loss_impl(Z, Y, A, dZ, OUTPUT_IDS[output])
    return total / Z.shape[1], A, dZ


def _cross_entropy_impl(const floating[:, ::1] AL, const floating[:, ::1] Y):
    cdef double total
    with nogil:
        total = _cross_entropy(&AL[0, 0], &Y[0, 0], AL.shape[0] * AL.shape[1])
    return total


def cross_entropy_cost(AL, Y):
    """J = −(1/m) Σ [y·log(a) + (1 − y)·log(1 − a)] from probabilities AL (the course's cost)."""
    if Y.shape != AL.shape:
        raise ValueError(f"cross_entropy_cost: Y {Y.shape} must have the shape of AL {AL.shape}")
    _check_dims(*AL.shape)
    return _cross_entropy_impl(AL, Y) / AL.shape[1]


# ---------------------------------------------------------------------------------------------
# The whole training loop: full-batch gradient descent, GIL released, nothing allocated inside.
# ---------------------------------------------------------------------------------------------

cdef double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef double SIGNAL_CHECK_SECONDS = 0.05  # Ctrl-C is noticed within this long (plus one iteration)


cdef inline void _copy_all(floating** dst, floating** src, Py_ssize_t* sizes,
                           Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(count):
        memcpy(dst[i], src[i], sizes[i] * sizeof(floating))


cdef inline void _materialize_W1(floating* W1, const floating* S, const floating* X, int ldx,
                                 bint x_order, int n, int n_x, int m,
                                 floating neg_lr_m) noexcept nogil:
    """Gram path: W1 ← W1 − (α/m)·S·Xᵀ, S = Σ dZ1 over the iterations since W1 was last set."""
    _gemm(False, True, n, n_x, m, neg_lr_m, S, m, True, X, ldx, x_order, <floating>1, W1, n_x,
          True)


cdef inline void _gram_Z1(floating* Z1, const floating* W1, const floating* b1, const floating* X,
                          int ldx, bint x_order, int n, int n_x, int m) noexcept nogil:
    """Z1 = W1·X + b1."""
    _gemm(False, False, n, m, n_x, <floating>1, W1, n_x, True, X, ldx, x_order, <floating>0, Z1,
          m, True)
    _bias_activation(Z1, Z1, b1, 1, n, m, ACT_LINEAR, <floating>0)


def _train(const floating[:, :] X, const floating[:, ::1] Y, list Ws, list bs, list As, list Ds,
           list saved, floating[::1] db, floating[::1] zeros, const int[::1] acts, floating slope,
           int output, floating lr, Py_ssize_t num_iterations, Py_ssize_t cost_every,
           Py_ssize_t refresh_every, double[::1] costs, callback, floating[:, ::1] G,
           floating[:, ::1] Z1, floating[:, ::1] S):
    cdef Py_ssize_t L = len(Ws), P = 2 * len(Ws), l, it, i, j, n_costs = 0, done = 0
    cdef Py_ssize_t snap_it = 0, diverged_at = -1
    cdef int m = X.shape[1], n_x = X.shape[0], ldx
    cdef int x_order = _operand(X, &ldx)
    cdef bint gram = G is not None
    cdef floating** W = <floating**>PyMem_Malloc(8 * L * sizeof(floating*))
    cdef int* dims = <int*>PyMem_Malloc((L + 1) * sizeof(int))
    cdef Py_ssize_t* sizes = <Py_ssize_t*>PyMem_Malloc(2 * L * sizeof(Py_ssize_t))
    if W == NULL or dims == NULL or sizes == NULL:
        PyMem_Free(W)
        PyMem_Free(dims)
        PyMem_Free(sizes)
        raise MemoryError()
    cdef floating** B = W + L
    cdef floating** A = W + 2 * L   # A[l]: activations of layer l + 1, (n_{l+1}, m)
    cdef floating** D = W + 3 * L   # D[l]: dA then dZ of layer l + 1 (for the output: Z_L then dZ_L)
    cdef floating** live = W + 4 * L   # what a snapshot copies: W1 (or S on the Gram path), W2.., b..
    cdef floating** snap = W + 6 * L  # 2L each: W1 (or S), W2.., b1..
    cdef floating[:, ::1] mv
    cdef floating* prev
    cdef floating* dz
    cdef floating* Zp = &Z1[0, 0] if gram else NULL
    cdef floating* Sp = &S[0, 0] if gram else NULL
    cdef floating* Gp = &G[0, 0] if gram else NULL
    cdef floating neg_lr_m = -lr / m, inv_m = (<floating>1) / m, acc
    cdef int n, k
    cdef bint want_cost
    cdef double cost = 0, final_cost = float("nan"), last_check = _now()
    pending = None
    dims[0] = n_x
    for l in range(L):
        mv = Ws[l]
        W[l] = &mv[0, 0]
        dims[l + 1] = mv.shape[0]
        live[l] = Sp if (gram and l == 0) else W[l]
        sizes[l] = mv.shape[0] * mv.shape[1] if not (gram and l == 0) else S.shape[0] * S.shape[1]
        mv = bs[l]
        B[l] = &mv[0, 0]
        live[L + l] = B[l]
        sizes[L + l] = mv.shape[0]
        mv = Ds[l]
        D[l] = &mv[0, 0]
        if l < L - 1:
            mv = As[l]
            A[l] = &mv[0, 0]
    for i in range(P):
        mv = saved[i]
        snap[i] = &mv[0, 0]
    try:
        with nogil:
            if gram:
                # G = XᵀX once; Z1 = W1·X + b1 is then advanced without touching X.
                _gemm(True, False, m, m, n_x, <floating>1, &X[0, 0], ldx, x_order, &X[0, 0], ldx,
                      x_order, <floating>0, Gp, m, True)
                _gram_Z1(Zp, W[0], B[0], &X[0, 0], ldx, x_order, dims[1], n_x, m)
            _copy_all(snap, live, sizes, P)
            for it in range(num_iterations):
                want_cost = (cost_every > 0 and it % cost_every == 0) or it == num_iterations - 1
                # Forward: Z = W·A_prev (GEMM), then one pass adding b and applying g in place.
                prev = NULL
                for l in range(L):
                    n = dims[l + 1]
                    k = dims[l]
                    if l == 0 and gram:
                        if L > 1:
                            _bias_activation(Zp, A[0], &zeros[0], 1, n, m, acts[0], slope)
                            prev = A[0]
                        else:
                            memcpy(D[0], Zp, n * m * sizeof(floating))
                        continue
                    if l == 0:
                        _gemm(False, False, n, m, k, <floating>1, W[0], k, True, &X[0, 0], ldx,
                              x_order, <floating>0, A[0] if L > 1 else D[0], m, True)
                    else:
                        _gemm(False, False, n, m, k, <floating>1, W[l], k, True, prev, m, True,
                              <floating>0, A[l] if l < L - 1 else D[l], m, True)
                    if l < L - 1:
                        _bias_activation(A[l], A[l], B[l], 1, n, m, acts[l], slope)
                        prev = A[l]
                    else:
                        _bias_activation(D[l], D[l], B[l], 1, n, m, ACT_LINEAR, slope)
                # Output fused with the loss, in place: D[L-1] goes from Z_L to dZ_L = A_L − Y.
                n = dims[L]
                if want_cost:
                    cost = _output_loss(D[L - 1], &Y[0, 0], <floating*>NULL, D[L - 1],
                                        n * m, output) / m
                    if not isfinite(cost):
                        # Diverged: back to the last parameters whose cost was finite, and stop.
                        _copy_all(live, snap, sizes, P)
                        diverged_at = it
                        final_cost = cost
                        break
                    _copy_all(snap, live, sizes, P)
                    snap_it = it
                else:
                    _output_delta(D[L - 1], &Y[0, 0], n * m, output)
                # Backward with SGD fused into the dW GEMM (beta = 1): dA_prev = Wᵀ·dZ first.
                for l in range(L - 1, -1, -1):
                    n = dims[l + 1]
                    k = dims[l]
                    dz = D[l]
                    if l == L - 1:
                        for i in range(n):
                            acc = 0
                            for j in range(m):
                                acc += dz[i * m + j]
                            db[i] = acc * inv_m
                    else:
                        _backward_from_A(dz, A[l], &db[0], n, m, acts[l], slope, inv_m)
                    if l > 0:
                        _gemm(True, False, k, m, n, <floating>1, W[l], k, True, dz, m, True,
                              <floating>0, D[l - 1], m, True)
                        _gemm(False, True, n, k, m, neg_lr_m, dz, m, True, A[l - 1], m, True,
                              <floating>1, W[l], k, True)
                    elif gram:
                        # Z1 ← Z1 − (α/m)·dZ1·G − α·db1·1ᵀ (= W1_new·X + b1_new); S += dZ1.
                        _gemm(False, False, n, m, m, neg_lr_m, dz, m, True, Gp, m, True,
                              <floating>1, Zp, m, True)
                        for i in range(n):
                            acc = lr * db[i]
                            for j in range(m):
                                Zp[i * m + j] -= acc
                                Sp[i * m + j] += dz[i * m + j]
                    else:
                        _gemm(False, True, n, k, m, neg_lr_m, dz, m, True, &X[0, 0], ldx,
                              x_order, <floating>1, W[0], k, True)
                    for i in range(n):
                        B[l][i] -= lr * db[i]
                done = it + 1
                if it == num_iterations - 1:
                    final_cost = cost
                if gram and refresh_every > 0 and done % refresh_every == 0:
                    # Bound rounding drift: W1 from S, Z1 from W1; the snapshot of S is rebased.
                    _materialize_W1(W[0], Sp, &X[0, 0], ldx, x_order, dims[1], n_x, m, neg_lr_m)
                    _gram_Z1(Zp, W[0], B[0], &X[0, 0], ldx, x_order, dims[1], n_x, m)
                    for i in range(sizes[0]):
                        snap[0][i] -= Sp[i]
                        Sp[i] = 0
                if cost_every > 0 and it % cost_every == 0:
                    costs[n_costs] = cost
                    n_costs += 1
                    if callback is not None:
                        with gil:
                            callback(it, cost)
                if _now() - last_check > SIGNAL_CHECK_SECONDS:
                    with gil:
                        PyErr_CheckSignals()
                    last_check = _now()
    except BaseException as exc:  # Ctrl-C or the callback: report after the parameters are safe
        pending = exc
    finally:
        if gram:
            with nogil:
                _materialize_W1(W[0], Sp, &X[0, 0], ldx, x_order, dims[1], n_x, m, neg_lr_m)
        PyMem_Free(W)
        PyMem_Free(dims)
        PyMem_Free(sizes)
    if diverged_at >= 0:
        done = snap_it
    return n_costs, final_cost, done, pending, diverged_at


def gram_is_cheaper(dims, m, num_iterations):
    """Whether the Gram path costs fewer FLOPs than the direct path for layer 1.

    Direct, per iteration: W1·X and dZ1·Xᵀ, 4·n1·n_x·m. Gram: XᵀX once (2·m²·n_x), Z1 and W1 at
    the start and end (4·n1·n_x·m), then 2·n1·m² per iteration. Only when n_x > m (G smaller than X).
    """
    n_x, n1 = dims[0], dims[1]
    if n_x <= m or num_iterations < 2:
        return False
    direct = 4.0 * n1 * n_x * m * num_iterations
    gram = 2.0 * m * m * n_x + 4.0 * n1 * n_x * m + 2.0 * n1 * m * m * num_iterations
    return gram < 0.8 * direct


def train(X, Y, Ws, bs, activations, slope, output, learning_rate, num_iterations, cost_every,
          callback=None, gram=False):
    """Full-batch gradient descent over all layers, entirely in compiled code, in place on the
    parameter lists ``Ws`` (W1..WL, C-contiguous) and ``bs`` (b1..bL).

    Per iteration: forward (GEMM + fused bias/activation; Z never stored), output fused with the
    loss (dZ_L = A_L − Y; the cost only on recorded iterations and the last), backward computing
    dA_prev = Wᵀ·dZ before the update W ← W − (α/m)·dZ·A_prevᵀ fused into the GEMM (beta = 1),
    b ← b − α·db; dA0 is never computed. ``callback(i, cost)`` runs with the GIL each time a cost
    is recorded (iterations 0, cost_every, …); Ctrl-C is checked every 50 ms.

    ``gram=True`` (wide inputs, n_x > m): G = XᵀX once, then Z1 ← Z1 − (α/m)·dZ1·G − α·db1·1ᵀ,
    S ← S + dZ1 each iteration, and W1 = W1₀ − (α/m)·S·Xᵀ when training stops (float32 refreshes
    W1 and Z1 every 250 iterations to bound drift). Equal to the direct path in exact arithmetic.

    A non-finite cost stops training and restores the parameters of the last iteration whose cost
    was finite. Returns (costs, final_cost, n_done, exception, diverged_at): the recorded costs,
    the cost at the last iteration, the number of iterations the parameters now reflect, the
    exception that stopped training early (KeyboardInterrupt or the callback's) or None, and the
    iteration whose cost was not finite (-1 if none).
    """
    L = len(Ws)
    if len(bs) != L or len(activations) != L - 1 or L < 1:
        raise ValueError("train: need one b per W and one activation per hidden layer")
    m = X.shape[1]
    dims = [X.shape[0]] + [W.shape[0] for W in Ws]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        if W.shape != (dims[l + 1], dims[l]) or b.shape != (dims[l + 1], 1):
            raise ValueError(f"train: layer {l + 1} has W {W.shape}, b {b.shape}")
        if not (W.flags.c_contiguous and b.flags.c_contiguous):
            raise ValueError("train: parameters must be C-contiguous (they are updated in place)")
    if Y.shape != (dims[-1], m):
        raise ValueError(f"train: Y {Y.shape} must be ({dims[-1]}, {m})")
    _check_dims(m, *dims)
    if num_iterations < 0 or cost_every < 0:
        raise ValueError("train: num_iterations and cost_every must be >= 0")
    dtype = Ws[0].dtype
    As = [np.empty((n, m), dtype=dtype) for n in dims[1:-1]]
    Ds = [np.empty((n, m), dtype=dtype) for n in dims[1:]]
    db = np.empty(max(dims[1:]), dtype=dtype)
    zeros = np.zeros(dims[1], dtype=dtype)
    acts = np.array([_activation_id(a) for a in activations] or [0], dtype=np.intc)
    n_record = (num_iterations + cost_every - 1) // cost_every if cost_every else 0
    costs = np.empty(max(n_record, 1), dtype=np.float64)
    if gram:
        G = np.empty((m, m), dtype=dtype)
        Z1 = np.empty((dims[1], m), dtype=dtype)
        S = np.zeros((dims[1], m), dtype=dtype)
    else:
        G = Z1 = S = None
    first = S if gram else Ws[0]
    saved = [np.empty_like(p).reshape(p.shape[0], -1) for p in [first, *Ws[1:], *bs]]
    refresh = 250 if (gram and dtype == np.float32) else 0
    n_costs, final_cost, done, pending, diverged_at = _train(
        X, Y, list(Ws), list(bs), As, Ds, saved, db, zeros, acts, slope, OUTPUT_IDS[output],
        learning_rate, num_iterations, cost_every, refresh, costs, callback, G, Z1, S
    )
    return costs[:n_costs].tolist(), final_cost, done, pending, diverged_at
