# cython: language_level=3
"""The training engine: whole training runs in compiled code, with the GIL released.

Private. Built on ``_blas.gemm`` and the row loops of ``_rows.pxd``; nothing is allocated
inside the loop. ``fastnn.reference.train`` is its numpy twin.
"""

import numpy as np

from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cython cimport floating
from libc.math cimport isfinite
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from fastnn._blas cimport gemm, operand
from fastnn._rows cimport (
    FNN_ACT_LINEAR,
    backward_from_A,
    bias_activation,
    output_delta,
    output_loss,
    row_sum,
)

from fastnn._blas import check_dims as _check_dims
from fastnn._registry import OUTPUTS, get_activation



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
    gemm(False, True, n, n_x, m, neg_lr_m, S, m, True, X, ldx, x_order, <floating>1, W1, n_x,
         True)


cdef inline void _gram_Z1(floating* Z1, const floating* W1, const floating* b1, const floating* X,
                          int ldx, bint x_order, int n, int n_x, int m) noexcept nogil:
    """Z1 = W1·X + b1."""
    gemm(False, False, n, m, n_x, <floating>1, W1, n_x, True, X, ldx, x_order, <floating>0, Z1,
         m, True)
    bias_activation(Z1, Z1, b1, 1, n, m, FNN_ACT_LINEAR, <floating>0)


def _train(const floating[:, :] X, const floating[:, ::1] Y, list Ws, list bs, list As, list Ds,
           list saved, floating[::1] db, floating[::1] zeros, const int[::1] acts, floating slope,
           int output, floating lr, Py_ssize_t num_iterations, Py_ssize_t cost_every,
           Py_ssize_t refresh_every, double[::1] costs, callback, floating[:, ::1] G,
           floating[:, ::1] Z1, floating[:, ::1] S):
    cdef Py_ssize_t L = len(Ws), P = 2 * len(Ws), l, it, i, j, n_costs = 0, done = 0
    cdef Py_ssize_t snap_it = 0, diverged_at = -1
    cdef int m = X.shape[1], n_x = X.shape[0], ldx
    cdef int x_order = operand(X, &ldx)
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
                gemm(True, False, m, m, n_x, <floating>1, &X[0, 0], ldx, x_order, &X[0, 0], ldx,
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
                            bias_activation(Zp, A[0], &zeros[0], 1, n, m, acts[0], slope)
                            prev = A[0]
                        else:
                            memcpy(D[0], Zp, <size_t>n * m * sizeof(floating))
                        continue
                    if l == 0:
                        gemm(False, False, n, m, k, <floating>1, W[0], k, True, &X[0, 0], ldx,
                             x_order, <floating>0, A[0] if L > 1 else D[0], m, True)
                    else:
                        gemm(False, False, n, m, k, <floating>1, W[l], k, True, prev, m, True,
                             <floating>0, A[l] if l < L - 1 else D[l], m, True)
                    if l < L - 1:
                        bias_activation(A[l], A[l], B[l], 1, n, m, acts[l], slope)
                        prev = A[l]
                    else:
                        bias_activation(D[l], D[l], B[l], 1, n, m, FNN_ACT_LINEAR, slope)
                # Output fused with the loss, in place: D[L-1] goes from Z_L to dZ_L = A_L − Y.
                n = dims[L]
                if want_cost:
                    cost = output_loss(D[L - 1], &Y[0, 0], <floating*>NULL, D[L - 1],
                                       <Py_ssize_t>n * m, output) / m
                    if not isfinite(cost):
                        # Diverged: back to the last parameters whose cost was finite, and stop.
                        _copy_all(live, snap, sizes, P)
                        diverged_at = it
                        final_cost = cost
                        break
                    _copy_all(snap, live, sizes, P)
                    snap_it = it
                else:
                    output_delta(D[L - 1], &Y[0, 0], <Py_ssize_t>n * m, output)
                # Backward with SGD fused into the dW GEMM (beta = 1): dA_prev = Wᵀ·dZ first.
                for l in range(L - 1, -1, -1):
                    n = dims[l + 1]
                    k = dims[l]
                    dz = D[l]
                    if l == L - 1:
                        for i in range(n):
                            db[i] = row_sum(dz + i * m, m) * inv_m
                    else:
                        backward_from_A(dz, A[l], &db[0], n, m, acts[l], slope, inv_m)
                    if l > 0:
                        gemm(True, False, k, m, n, <floating>1, W[l], k, True, dz, m, True,
                             <floating>0, D[l - 1], m, True)
                        gemm(False, True, n, k, m, neg_lr_m, dz, m, True, A[l - 1], m, True,
                             <floating>1, W[l], k, True)
                    elif gram:
                        # Z1 ← Z1 − (α/m)·dZ1·G − α·db1·1ᵀ (= W1_new·X + b1_new); S += dZ1.
                        gemm(False, False, n, m, m, neg_lr_m, dz, m, True, Gp, m, True,
                             <floating>1, Zp, m, True)
                        for i in range(n):
                            acc = lr * db[i]
                            for j in range(m):
                                Zp[i * m + j] -= acc
                                Sp[i * m + j] += dz[i * m + j]
                    else:
                        gemm(False, True, n, k, m, neg_lr_m, dz, m, True, &X[0, 0], ldx,
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
    acts = np.array([get_activation(a).id for a in activations] or [0], dtype=np.intc)
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
        X, Y, list(Ws), list(bs), As, Ds, saved, db, zeros, acts, slope, OUTPUTS[output].id,
        learning_rate, num_iterations, cost_every, refresh, costs, callback, G, Z1, S
    )
    return costs[:n_costs].tolist(), final_cost, done, pending, diverged_at
