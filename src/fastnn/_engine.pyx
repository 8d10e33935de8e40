# cython: language_level=3
"""The training engine: whole training runs in compiled code, with the GIL released.

Private. ``train(spec, X, Y, state, callback, validation)`` runs ``spec.num_epochs`` epochs
(full-batch iterations, or passes of mini-batches) of a ``fastnn._spec.TrainSpec`` on a
``TrainState`` and returns a ``TrainResult``; ``fastnn.reference.train`` is its numpy twin,
called the same way. Everything is allocated before the loop starts.

One step (one batch of m columns): forward (``_forward``), per layer one GEMM (``_blas.gemm``)
and one fused bias+activation pass; the output layer fused with its loss from the logits
(dZ = A − Y, the loss only when the cost is wanted); backward into the gradient buffer g
(dA_prev = Wᵀ·dZ before anything changes W; dA0 is never computed). Then one fused optimizer
pass over θ (``_update``: gd, momentum or Adam, L2 added there, biases excluded by offset).
Plain gradient descent without L2 skips g: its update is fused into the dW GEMM (beta = 1).

The epoch loop (``_run``) gathers each batch's columns of X and Y through the epoch's
permutation (numpy's legacy ``RandomState(seed + 1 + E).permutation(m)``, reimplemented in
_native/fnn_random.h) into a workspace sized by the batch; a full-batch epoch is one step on X
itself, or, on the Gram path, one step with layer 1 advanced through XᵀX. It takes the GIL only
for the callback (at recorded costs), a Python decay function (once per epoch) and Ctrl-C
(checked every 50 ms between steps).
"""

import numpy as np

cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_RawFree, PyMem_RawRealloc
from cython cimport floating
from libc.math cimport INFINITY, floor, isfinite, pow
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from fastnn._blas cimport array_operand, gemm
from fastnn._rows cimport (
    FNN_ACT_LINEAR,
    FNN_OUT_POISSON,
    FNN_OUT_RELU,
    FNN_OUT_SOFTMAX,
    FNN_DECAY_CALLABLE,
    FNN_DECAY_INVERSE,
    FNN_DECAY_NONE,
    FNN_DECAY_SCHEDULED,
    backward_from_A,
    bias_activation,
    dropout,
    dropout_backward,
    fnn_exp,
    gather,
    optimizer_step,
    output_layer,
    row_sum,
    sum_sq,
    weighted_output_layer,
)

from fastnn._blas import check_dims as _check_dims
from fastnn._registry import DECAY_CALLABLE, DECAYS, OPTIMIZERS, OUTPUTS, get_activation
from fastnn._spec import VALIDATION_METRICS, TrainResult, theta_layout

cnp.import_array()

cdef extern from "fnn_random.h":
    enum:
        FNN_MT_N
    ctypedef struct fnn_mt19937:
        uint32_t key[624]
        int pos
    void fnn_mt_seed(fnn_mt19937* st, uint32_t seed) noexcept nogil
    void fnn_legacy_permutation_i32(fnn_mt19937* st, int32_t* perm, int64_t m) noexcept nogil


# ---------------------------------------------------------------------------------------------
# What the loop works on: plain C structs of pointers, filled once by train()
# ---------------------------------------------------------------------------------------------

cdef struct Net:
    int L                 # layers (weights): dims[0] = n_x ... dims[L] = n_L
    int* dims
    int* acts             # hidden layers' activation ids (registry / _native/fnn_ids.h)
    int output            # the output layer's id
    double slope          # leaky-ReLU slope
    void** W              # W[l] (dims[l+1], dims[l]), C order, views into θ
    void** b              # b[l] (dims[l+1],)
    void** gW             # their gradients, views into g (NULL when the update is fused)
    void** gb
    void** A              # A[l]: activations of hidden layer l+1, (dims[l+1], cols)
    void** D              # D[l]: dA then dZ of layer l+1; for the output Z_L, then dZ_L
    void* db              # scratch: row sums of dZ (fused path)
    const double* keep    # inverted dropout: keep_prob of each hidden layer (NULL: none)
    uint64_t drop_seed    # the masks' seed (the fit's) and step (the step being computed):
    uint64_t drop_step    # fnn_random.h draws each unit's mask from them, forward and back

cdef struct Spec:
    int optimizer
    double lr0, beta1, beta2, epsilon, lambd   # beta1 is β for momentum
    int decay
    double decay_rate
    long long time_interval
    long long num_epochs
    long long batch       # 0: full batch
    long long cost_every
    long long seed
    bint early_stopping
    bint shuffle          # mini-batches: a new order every epoch (else X's column order)
    bint adaptive         # with plateau: divide the rate by 5 instead of stopping
    bint plateau          # scikit-learn's stopping rule: on the training cost, or with
                          # validation data on the validation score (its early_stopping)
    int metric            # what validation measures (FNN_METRIC_*)
    long long n_iter_no_change
    double tol
    double loss_scale     # multiplies the loss part of the costs (not the gradient)
    double divergence_factor
    bint fused
    bint gram
    long long refresh_every

cdef struct Data:
    const void* X         # (n_x, m): row-major with leading dimension ldx, or column-major
    int ldx
    bint x_rowmajor
    int m
    const void* Y         # (n_L, m), C order
    const void* Xv        # validation data, the same way (NULL: none)
    int ldxv
    bint xv_rowmajor
    int m_val
    const void* Yv
    const void* w         # sample weights (m,), NULL: none
    const void* wv        # the validation samples' weights (m_val,), NULL: none
    const double* sstot   # R² metric: Σ w·(y − ȳ)² per output of Yv (n_L,)
    double* ssres         # R² metric's scratch: Σ w·(y − ŷ)² per output (n_L,)
    void* Xb              # batch workspace: X's batch columns, in X's layout, ld = n_x or cols
    void* Yb              # Y's batch columns (n_L, cols)
    void* wb              # the batch's weights (cols,), with w
    int32_t* perm         # the epoch's permutation (m)
    int32_t* perm_next    # with a shuffle stream: the next epoch's order is composed here
    fnn_mt19937* stream   # scikit-learn's one shuffle stream across epochs (NULL: reseed)

cdef struct Saved:       # a copy of the training state: θ[start:], the optimizer's v and s,
    void* theta           # the Gram path's S (each NULL where there is none), the counters
    void* v
    void* s
    void* S
    Py_ssize_t start
    long long t, epoch

cdef struct Buffers:
    void* theta
    void* grad
    void* v
    void* s
    Py_ssize_t n_theta
    Py_ssize_t n_w        # θ[:n_w] are weights (L2), the rest biases
    Saved snap            # the last state whose cost passed (divergence); on the Gram path
                          # from θ[n1·n_x] on, W1 being tracked through S
    Saved start           # the state at the start of the current mini-batch epoch (Ctrl-C)
    Saved best            # the state with the best validation cost (early stopping)
    void** vouts          # the validation forward's outputs per layer: two (widest, vcols)
    int vcols             # buffers in turn
    void* G               # Gram path: XᵀX (m, m)
    void* Z1              # Z1 = W1·X + b1, advanced through G
    void* S               # Σ (α_t/α_0)·dZ1 since W1 was last materialised
    Py_ssize_t n_S

cdef struct Outcome:
    double* costs
    Py_ssize_t n_costs, cap_costs
    double* vcosts
    Py_ssize_t n_vcosts, cap_vcosts
    double final_cost, first_cost, diverged_cost, best_cost, best_loss
    double lr             # the learning rate the run ended with (decays, adaptive)
    long long t, epoch, diverged_at, no_improvement  # no_improvement: of the validation
                                                     # costs, or of the training costs (plateau)
    bint stopped_early, out_of_memory


# ---------------------------------------------------------------------------------------------
# One step
# ---------------------------------------------------------------------------------------------

cdef void _forward(Net* net, const floating* X, int ldx, bint x_rowmajor, int m,
                   floating** outs, int first, bint drop) noexcept nogil:
    """Z[l] = W[l]·A[l-1] + b[l], A[l] = g(Z[l]) into outs[l] (dims[l+1], m), C order, for the
    layers from ``first`` on (first = 1: layer 1's output is already in outs[0]); the output
    layer's outs[L-1] gets Z_L (no activation: it is fused with the loss). ``drop`` (training
    passes): each hidden layer with net.keep[l] < 1 then gets inverted dropout, A·D/keep_prob,
    its masks drawn for step net.drop_step."""
    cdef int L = net.L, l, n, k
    cdef const floating* prev = X if first == 0 else outs[0]
    cdef int ld = ldx if first == 0 else m
    cdef bint rowmajor = x_rowmajor if first == 0 else True
    for l in range(first, L):
        n = net.dims[l + 1]
        k = net.dims[l]
        gemm(False, False, n, m, k, <floating>1, <floating*>net.W[l], k, True, prev, ld,
             rowmajor, <floating>0, outs[l], m, True)
        bias_activation(outs[l], outs[l], <floating*>net.b[l], 1, n, m,
                        net.acts[l] if l < L - 1 else FNN_ACT_LINEAR, <floating>net.slope)
        if drop and l < L - 1 and net.keep != NULL and net.keep[l] < 1:
            dropout(outs[l], n, m, net.drop_seed, net.drop_step, l, <floating>net.keep[l])
        prev, ld, rowmajor = outs[l], m, True


cdef void _gram_forward(Net* net, floating* Z1, int m, floating** outs) noexcept nogil:
    """The Gram path's forward: layer 1's Z1 = W1·X + b1 is kept, not computed; the rest as
    _forward."""
    cdef floating zero = 0
    cdef int n = net.dims[1]
    if net.L > 1:
        bias_activation(Z1, outs[0], &zero, 0, n, m, net.acts[0], <floating>net.slope)
    else:
        memcpy(outs[0], Z1, <size_t>n * m * sizeof(floating))
    _forward(net, <const floating*>Z1, m, True, m, outs, 1, False)


cdef double _output(Net* net, const floating* Y, const floating* w, int m,
                    bint want_cost) noexcept nogil:
    """In place D[L-1]: Z_L → dZ_L = g(Z_L) − Y; returns Σ loss (0 unless want_cost).
    Y (n_L, m), C order. With sample weights w (m,; NULL: none) column j's dZ is scaled by
    w_j and the loss is Σ_j w_j·loss_j (always computed)."""
    cdef floating* Z = <floating*>net.D[net.L - 1]
    if w != NULL:
        return weighted_output_layer(Z, Y, m, w, net.dims[net.L], m, net.output)
    return output_layer(Z, Y, m, <floating*>NULL, Z, net.dims[net.L], m, net.output, want_cost)


cdef double _weight_sum(const floating* w, int m) noexcept nogil:
    """Σ w in double: the batch's normaliser with sample weights (its size without)."""
    cdef double total = 0
    cdef int j
    if w == NULL:
        return m
    for j in range(m):
        total += w[j]
    return total


cdef void _backward(Net* net, Buffers* buf, const floating* X, int ldx, bint x_rowmajor, int m,
                    double norm, double lr, double lr_ratio, bint fused) noexcept nogil:
    """Backward from dZ_L in D[L-1] over m columns, normalised by ``norm`` (m, or the batch's
    Σ sample weights). fused: W ← W − (α/norm)·dZ·A_prevᵀ in the dW GEMM (beta = 1) after
    dA_prev = Wᵀ·dZ, b ← b − α·db. Otherwise dW = (1/norm)·dZ·A_prevᵀ and db into g.
    On the Gram path (fused, full batch) layer 1 advances Z1 and S instead of W1."""
    cdef int L = net.L, l, n, k, i
    cdef Py_ssize_t j, row
    cdef floating* dz
    cdef floating* db
    cdef floating* W
    cdef floating* b
    cdef floating flr = <floating>lr
    cdef floating fnorm = <floating>norm
    cdef floating neg_lr_m = -flr / fnorm, inv_m = (<floating>1) / fnorm, acc
    cdef floating ratio = <floating>lr_ratio
    cdef floating* Zp = <floating*>buf.Z1
    cdef floating* Sp = <floating*>buf.S
    for l in range(L - 1, -1, -1):
        n = net.dims[l + 1]
        k = net.dims[l]
        dz = <floating*>net.D[l]
        W = <floating*>net.W[l]
        b = <floating*>net.b[l]
        db = <floating*>net.db if fused else <floating*>net.gb[l]
        if l == L - 1:
            for i in range(n):
                db[i] = row_sum(dz + i * m, m) * inv_m
        else:
            if net.keep != NULL and net.keep[l] < 1:  # the forward's masks on dA, A back to g(Z)
                dropout_backward(dz, <floating*>net.A[l], n, m, net.drop_seed, net.drop_step, l,
                                 <floating>net.keep[l])
            backward_from_A(dz, <floating*>net.A[l], db, n, m, net.acts[l],
                            <floating>net.slope, inv_m)
        if l > 0:
            # dA_prev = Wᵀ·dZ first: the fused update below changes W
            gemm(True, False, k, m, n, <floating>1, W, k, True, dz, m, True, <floating>0,
                 <floating*>net.D[l - 1], m, True)
        if not fused:
            gemm(False, True, n, k, m, inv_m, dz, m, True,
                 <const floating*>net.A[l - 1] if l > 0 else X, m if l > 0 else ldx,
                 True if l > 0 else x_rowmajor, <floating>0, <floating*>net.gW[l], k, True)
            continue
        if l > 0:
            gemm(False, True, n, k, m, neg_lr_m, dz, m, True, <floating*>net.A[l - 1], m, True,
                 <floating>1, W, k, True)
        elif Zp != NULL:
            # Gram: Z1 ← Z1 − (α/m)·dZ1·G − α·db1·1ᵀ (= W1_new·X + b1_new); S += (α/α0)·dZ1
            gemm(False, False, n, m, m, neg_lr_m, dz, m, True, <floating*>buf.G, m, True,
                 <floating>1, Zp, m, True)
            for i in range(n):
                acc = flr * db[i]
                row = <Py_ssize_t>i * m
                for j in range(row, row + m):
                    Zp[j] -= acc
                    Sp[j] += ratio * dz[j]
        else:
            gemm(False, True, n, k, m, neg_lr_m, dz, m, True, X, ldx, x_rowmajor, <floating>1,
                 W, k, True)
        for i in range(n):
            b[i] -= flr * db[i]


cdef void _update(Spec* spec, Buffers* buf, floating* theta, double lr, double m,
                  long long t) noexcept nogil:
    """One optimizer pass over θ with g (t: this step's number, from 1): the weights with
    L2 (λ/m)·W (m: the batch's normaliser), then the biases without."""
    cdef floating* g = <floating*>buf.grad
    cdef floating* v = <floating*>buf.v
    cdef floating* s = <floating*>buf.s
    cdef Py_ssize_t nw = buf.n_w, nb = buf.n_theta - buf.n_w
    cdef double bc1 = 1 - pow(spec.beta1, <double>t), bc2 = 1 - pow(spec.beta2, <double>t)
    optimizer_step(spec.optimizer, nw, theta, g, v, s, lr, spec.lambd / m, spec.beta1,
                   spec.beta2, spec.epsilon, bc1, bc2)
    optimizer_step(spec.optimizer, nb, theta + nw, g + nw, v + nw if v != NULL else v,
                   s + nw if s != NULL else s, lr, 0.0, spec.beta1, spec.beta2, spec.epsilon,
                   bc1, bc2)


cdef double _l2_term(Spec* spec, const floating* theta, Py_ssize_t n_w) noexcept nogil:
    """(λ/2)·Σ‖W‖², the L2 part of a batch's summed cost (the weights are θ[:n_w])."""
    if spec.lambd == 0:
        return 0
    return spec.lambd / 2 * sum_sq(theta, n_w)


# ---------------------------------------------------------------------------------------------
# Batches, validation, snapshots, the Gram path
# ---------------------------------------------------------------------------------------------

cdef void _gather(Net* net, Data* d, const floating* X, Py_ssize_t start, int cnt) noexcept nogil:
    """Batch columns perm[start:start+cnt] of X and Y into Xb (X's layout, leading dimension
    cnt if row-major, n_x if column-major) and Yb (n_L, cnt); the sample weights into wb."""
    cdef const int32_t* idx = d.perm + start
    gather(X, d.ldx, d.x_rowmajor, idx, cnt, net.dims[0], <floating*>d.Xb)
    gather(<const floating*>d.Y, d.m, True, idx, cnt, net.dims[net.L], <floating*>d.Yb)
    if d.w != NULL:
        gather(<const floating*>d.w, d.m, True, idx, cnt, 1, <floating*>d.wb)


cdef void _next_order(Data* d, int m) noexcept nogil:
    """scikit-learn's shuffle: the order so far permuted by the stream's permutation(m),
    order'[i] = order[p[i]], composed into perm_next, which then becomes perm."""
    cdef int32_t* p = d.perm_next
    cdef int i
    fnn_legacy_permutation_i32(d.stream, p, m)
    for i in range(m):
        p[i] = d.perm[p[i]]
    d.perm_next, d.perm = d.perm, p


cdef enum:
    METRIC_COST = 0       # the mean loss, no L2 (fastnn's early stopping)
    METRIC_ACCURACY = 1   # the fraction of samples whose labels are all right (classifiers)
    METRIC_R2 = 2         # R², averaged over the outputs (regressors)


cdef double _column_hits(const floating* Z, const floating* Y, int n, Py_ssize_t ldz,
                         Py_ssize_t ldy, int j, int output) noexcept nogil:
    """1 when column j's prediction from the logits Z is its label in Y, else 0: the largest
    logit's class for a softmax (the first on ties), else sigmoid(z) > 0.5 per unit (as
    scikit-learn's LabelBinarizer thresholds it) for every unit."""
    cdef int i, best = 0, label = 0
    cdef floating z, e
    if output == FNN_OUT_SOFTMAX:
        for i in range(1, n):
            if Z[i * ldz + j] > Z[best * ldz + j]:
                best = i
            if Y[i * ldy + j] > Y[label * ldy + j]:
                label = i
        return 1.0 if best == label else 0.0
    for i in range(n):
        z = Z[i * ldz + j]
        e = fnn_exp(-z if z >= 0 else z)
        if ((1 / (1 + e) if z >= 0 else e / (1 + e)) > 0.5) != (Y[i * ldy + j] > 0.5):
            return 0.0
    return 1.0


cdef inline double _prediction(floating z, int output) noexcept nogil:
    """A regressor's prediction from its logit: z, max(z, 0) for a ReLU, exp(z) for Poisson."""
    if output == FNN_OUT_RELU:
        return z if z > 0 else 0.0
    if output == FNN_OUT_POISSON:
        return fnn_exp(<double>z)
    return z


cdef double _validation_value(Net* net, Spec* spec, Data* d, Buffers* buf,
                              const floating* Xv) noexcept nogil:
    """What validation measures (spec.metric) for the current θ on Xv, weighted by d.wv when
    given: the mean loss without L2, the accuracy, or R² (1 − Σw(y − ŷ)²/Σw(y − ȳ)² per output,
    1 for an output predicted exactly, 0 for a constant one that is not, averaged over the
    outputs: scikit-learn's r2_score). The forward runs in chunks of vcols columns through two
    ping-pong buffers (buf.vouts: VA, VB, VA, ...)."""
    cdef const floating* Yv = <const floating*>d.Yv
    cdef const floating* wv = <const floating*>d.wv
    cdef floating** outs = <floating**>buf.vouts
    cdef int cnt, j0, n = net.dims[net.L], i, j
    cdef double total = 0, wsum = 0, wj, diff
    cdef const floating* x
    cdef floating* Z
    if spec.metric == METRIC_R2:
        for i in range(n):
            d.ssres[i] = 0
    j0 = 0
    while j0 < d.m_val:
        cnt = min(buf.vcols, d.m_val - j0)
        x = Xv + (j0 if d.xv_rowmajor else <Py_ssize_t>j0 * d.ldxv)
        _forward(net, x, d.ldxv, d.xv_rowmajor, cnt, outs, 0, False)
        Z = outs[net.L - 1]
        if spec.metric == METRIC_COST:
            total += output_layer(Z, Yv + j0, d.m_val, <floating*>NULL, Z, n, cnt, net.output,
                                  True) if wv == NULL else \
                weighted_output_layer(Z, Yv + j0, d.m_val, wv + j0, n, cnt, net.output)
        for j in range(cnt):
            wj = 1.0 if wv == NULL else wv[j0 + j]
            wsum += wj
            if spec.metric == METRIC_ACCURACY:
                total += wj * _column_hits(Z, Yv + j0, n, cnt, d.m_val, j, net.output)
            elif spec.metric == METRIC_R2:
                for i in range(n):
                    diff = (<double>Yv[<Py_ssize_t>i * d.m_val + j0 + j]
                            - _prediction(Z[<Py_ssize_t>i * cnt + j], net.output))
                    d.ssres[i] += wj * diff * diff
        j0 += cnt
    if spec.metric != METRIC_R2:
        return total / wsum
    for i in range(n):
        if d.sstot[i] != 0:
            total += 1 - d.ssres[i] / d.sstot[i]
        elif d.ssres[i] == 0:
            total += 1
    return total / n


cdef inline void _copy(void* live, void* saved, size_t nbytes, bint save) noexcept nogil:
    if saved != NULL:
        if save:
            memcpy(saved, live, nbytes)
        else:
            memcpy(live, saved, nbytes)


cdef void _keep(Buffers* buf, Saved* saved, floating* theta, Outcome* out,
                bint save) noexcept nogil:
    """Save the live state (θ, v, s, S, t, epoch) into ``saved``, or restore it from there."""
    cdef size_t size = sizeof(floating), nfull = buf.n_theta * size
    if saved.theta == NULL:  # nothing is kept there in this run
        return
    _copy(theta + saved.start, <floating*>saved.theta + saved.start,
          (buf.n_theta - saved.start) * size, save)
    _copy(buf.v, saved.v, nfull, save)
    _copy(buf.s, saved.s, nfull, save)
    _copy(buf.S, saved.S, buf.n_S * size, save)
    if save:
        saved.t, saved.epoch = out.t, out.epoch
    else:
        out.t, out.epoch = saved.t, saved.epoch


cdef void _materialize_W1(Net* net, Data* d, Buffers* buf, const floating* X,
                          double lr0) noexcept nogil:
    """Gram path: W1 ← W1 − (α0/m)·S·Xᵀ, S = Σ (α_t/α0)·dZ1 since W1 was last set."""
    cdef int n = net.dims[1], n_x = net.dims[0], m = d.m
    gemm(False, True, n, n_x, m, -(<floating>lr0) / m, <floating*>buf.S, m, True, X, d.ldx,
         d.x_rowmajor, <floating>1, <floating*>net.W[0], n_x, True)


cdef void _gram_Z1(Net* net, Data* d, Buffers* buf, const floating* X) noexcept nogil:
    """Z1 = W1·X + b1."""
    cdef int n = net.dims[1], n_x = net.dims[0], m = d.m
    gemm(False, False, n, m, n_x, <floating>1, <floating*>net.W[0], n_x, True, X, d.ldx,
         d.x_rowmajor, <floating>0, <floating*>buf.Z1, m, True)
    bias_activation(<floating*>buf.Z1, <floating*>buf.Z1, <floating*>net.b[0], 1, n, m,
                    FNN_ACT_LINEAR, <floating>0)


cdef bint _push(double** arr, Py_ssize_t* n, Py_ssize_t* cap, double value) noexcept nogil:
    """Append to a growable array; False when out of memory."""
    cdef double* grown
    if n[0] == cap[0]:
        grown = <double*>PyMem_RawRealloc(arr[0], (2 * cap[0] + 16) * sizeof(double))
        if grown == NULL:
            return False
        arr[0] = grown
        cap[0] = 2 * cap[0] + 16
    arr[0][n[0]] = value
    n[0] += 1
    return True


cdef double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef double SIGNAL_CHECK_SECONDS = 0.05  # Ctrl-C is noticed within this long (plus one step)


cdef double _decayed(Spec* spec, long long epoch) noexcept nogil:
    """The built-in decays' rate after epoch ``epoch``, as the course's update_lr and
    schedule_lr_decay compute it."""
    if spec.decay == FNN_DECAY_INVERSE:
        return 1 / (1 + spec.decay_rate * epoch) * spec.lr0
    if spec.decay == FNN_DECAY_SCHEDULED:
        return 1 / (1 + spec.decay_rate * floor(<double>epoch / spec.time_interval)) * spec.lr0
    return spec.lr0


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------

cdef object _run(floating* theta, Net* net, Spec* spec, Data* d, Buffers* buf, Outcome* out,
                 object callback, object decay_fn):
    """Run spec.num_epochs epochs from out.epoch / out.t on θ (theta = buf.theta, typed);
    returns the exception that stopped the run early (Ctrl-C, the callback's, a decay
    function's), or None. The state it leaves: after a divergence, the last state whose cost
    passed; after an exception inside a mini-batch epoch, the state at that epoch's start;
    after a run with validation, the state with the best validation cost; else the last."""
    cdef long long e, E, E0 = out.epoch, start
    cdef int m = d.m, cnt, ld
    cdef bint minibatch = spec.batch > 0, record, want_cost, stop, in_epoch = False, failed
    cdef double lr = spec.lr0, cost = 0, total, now, last_check = _now(), norm, raw, cost_v
    cdef bint watch_score = spec.plateau and spec.early_stopping  # scikit-learn's early_stopping
    cdef fnn_mt19937 rng
    cdef floating** outs = <floating**>net.A  # hidden activations, then the output's Z_L
    cdef const floating* X = <const floating*>d.X
    cdef const floating* Y = <const floating*>d.Y
    cdef const floating* Xv = <const floating*>d.Xv
    cdef floating* Xb = <floating*>d.Xb
    cdef floating* Yb = <floating*>d.Yb
    cdef const floating* w = <const floating*>d.w
    cdef floating* wb = <floating*>d.wb
    cdef floating* Z1 = <floating*>buf.Z1
    pending = None
    try:
        with nogil:
            if spec.gram:
                # G = XᵀX once; Z1 = W1·X + b1 is then advanced without touching X.
                gemm(True, False, m, m, net.dims[0], <floating>1, X, d.ldx, d.x_rowmajor, X,
                     d.ldx, d.x_rowmajor, <floating>0, <floating*>buf.G, m, True)
                _gram_Z1(net, d, buf, X)
            _keep(buf, &buf.snap, theta, out, True)
            if watch_score:  # the best so far is where the run starts until a score beats it
                _keep(buf, &buf.best, theta, out, True)
            norm = _weight_sum(w, m)
            for e in range(spec.num_epochs):
                E = E0 + e
                record = spec.cost_every > 0 and E % spec.cost_every == 0
                want_cost = record or e == spec.num_epochs - 1
                stop = False
                if spec.decay != FNN_DECAY_NONE and E > 0:
                    # the rate after epoch E − 1 (epoch 0 runs at α0)
                    if spec.decay == FNN_DECAY_CALLABLE:
                        with gil:
                            lr = _checked_rate(decay_fn(spec.lr0, E - 1, spec.decay_rate))
                    else:
                        lr = _decayed(spec, E - 1)
                if not minibatch:
                    # --- one full-batch step; its cost is that of the parameters before it
                    if spec.gram:
                        _gram_forward(net, Z1, m, outs)
                    else:
                        net.drop_step = out.t + 1
                        _forward(net, X, d.ldx, d.x_rowmajor, m, outs, 0, True)
                    total = spec.loss_scale * _output(net, Y, w, m, want_cost)
                    if want_cost:
                        cost = (total + _l2_term(spec, theta, buf.n_w)) / norm
                        if not _passes(spec, buf, out, theta, cost, E, record):
                            break
                        if spec.plateau:
                            _plateau(spec, out, cost, &lr)
                            stop = out.stopped_early
                    if spec.early_stopping and record:
                        if not _early_stopping(spec, buf, out, theta,
                                               _validation_value(net, spec, d, buf, Xv)):
                            break
                        stop = out.stopped_early
                    if not stop:
                        _backward(net, buf, X, d.ldx, d.x_rowmajor, m, norm, lr,
                                  lr / spec.lr0, spec.fused)
                        out.t += 1
                        if not spec.fused:
                            _update(spec, buf, theta, lr, norm, out.t)
                        out.epoch = E + 1
                        if spec.refresh_every > 0 and (e + 1) % spec.refresh_every == 0:
                            # Bound the Gram path's drift: W1 from S, Z1 from W1; S restarts.
                            _materialize_W1(net, d, buf, X, spec.lr0)
                            _gram_Z1(net, d, buf, X)
                            _rebase_S(buf, <floating*>buf.S)
                else:
                    # --- one epoch of mini-batches through the epoch's permutation
                    _keep(buf, &buf.start, theta, out, True)
                    in_epoch = True
                    if not spec.shuffle:
                        pass  # the batches in X's column order (perm is 0..m−1)
                    elif d.stream != NULL:
                        _next_order(d, m)
                    else:
                        fnn_mt_seed(&rng, <uint32_t>(spec.seed + 1 + E))
                        fnn_legacy_permutation_i32(&rng, d.perm, m)
                    total = 0
                    start = 0
                    while start < m:
                        cnt = <int>min(spec.batch, m - start)
                        _gather(net, d, X, start, cnt)
                        ld = cnt if d.x_rowmajor else net.dims[0]
                        norm = cnt if w == NULL else _weight_sum(wb, cnt)
                        if norm == 0:
                            with gil:
                                raise ValueError(
                                    f"sample_weight: all {cnt} examples of a mini-batch of "
                                    f"epoch {E} weigh 0, so its loss has nothing to be "
                                    "averaged over (scikit-learn's MLP fails there too); "
                                    "spread the zero weights out, or use larger batches")
                        net.drop_step = out.t + 1
                        _forward(net, Xb, ld, d.x_rowmajor, cnt, outs, 0, True)
                        if w != NULL:
                            # scikit-learn's weighted batch: its loss (Σ w·loss + (λ/2)ΣW²)/Σw
                            # counts cnt times in the epoch's total (the loss is always computed)
                            raw = spec.loss_scale * _output(net, Yb, wb, cnt, True)
                            if want_cost:
                                total += (raw + _l2_term(spec, theta, buf.n_w)) / norm * cnt
                        elif want_cost:
                            total += spec.loss_scale * _output(net, Yb, w, cnt, True)
                            total += _l2_term(spec, theta, buf.n_w)
                        else:
                            _output(net, Yb, w, cnt, False)
                        _backward(net, buf, Xb, ld, d.x_rowmajor, cnt, norm, lr, 1.0,
                                  spec.fused)
                        out.t += 1
                        if not spec.fused:
                            _update(spec, buf, theta, lr, norm, out.t)
                        start += cnt
                        now = _now()
                        if now - last_check > SIGNAL_CHECK_SECONDS:
                            last_check = now
                            with gil:
                                PyErr_CheckSignals()
                    in_epoch = False
                    out.epoch = E + 1
                    if want_cost:
                        cost = total / m
                        if not _passes(spec, buf, out, theta, cost, E, record):
                            break
                        if spec.plateau and not watch_score:
                            _plateau(spec, out, cost, &lr)
                            stop = out.stopped_early
                    if watch_score:
                        # scikit-learn's early_stopping: its rule on the validation score,
                        # as a cost (−score; the validation cost itself), the best θ kept
                        cost_v = _validation_value(net, spec, d, buf, Xv)
                        if not _push(&out.vcosts, &out.n_vcosts, &out.cap_vcosts, cost_v):
                            out.out_of_memory = True
                            break
                        if _plateau(spec, out, cost_v if spec.metric == METRIC_COST else -cost_v,
                                    &lr):
                            _copy(theta, buf.best.theta, buf.n_theta * sizeof(floating), True)
                        stop = out.stopped_early
                    elif spec.early_stopping:
                        if not _early_stopping(spec, buf, out, theta,
                                               _validation_value(net, spec, d, buf, Xv)):
                            break
                        stop = out.stopped_early
                # --- after epoch E: the callback, Ctrl-C
                if record and callback is not None:
                    with gil:
                        callback(E, cost)
                if stop:
                    break
                now = _now()
                if now - last_check > SIGNAL_CHECK_SECONDS:
                    last_check = now
                    with gil:
                        PyErr_CheckSignals()
    except BaseException as exc:  # Ctrl-C, the callback, the decay: report once θ is safe
        pending = exc
    finally:
        out.lr = lr
        failed = pending is not None
        with nogil:
            if out.diverged_at >= 0:
                # back to the last parameters (and optimizer state) whose cost passed
                _keep(buf, &buf.snap, theta, out, False)
            elif failed and in_epoch:
                # an epoch half done matches no run: back to its start
                _keep(buf, &buf.start, theta, out, False)
            elif not failed and spec.early_stopping and out.best_cost < INFINITY:
                _keep(buf, &buf.best, theta, out, False)
            if watch_score and out.diverged_at < 0:
                # scikit-learn's early_stopping: the best-scoring θ (only θ: the counters
                # and the optimizer are those of the last epoch), after Ctrl-C too
                _copy(theta, buf.best.theta, buf.n_theta * sizeof(floating), False)
            if spec.gram:
                _materialize_W1(net, d, buf, X, spec.lr0)
    return pending


cdef bint _passes(Spec* spec, Buffers* buf, Outcome* out, floating* theta, double cost,
                  long long epoch, bint record) noexcept nogil:
    """A computed cost against the divergence rule (not finite, or above divergence_factor
    times the reference cost out.first_cost when that is > 0): False when it fails (the run
    stops and restores buf.snap) or when recording it runs out of memory. A cost that passes
    makes the live state the snapshot, and is recorded when due."""
    if out.first_cost != out.first_cost:
        out.first_cost = cost
    if not isfinite(cost) or (out.first_cost > 0
                              and cost > spec.divergence_factor * out.first_cost):
        out.diverged_at = epoch
        out.diverged_cost = cost
        return False
    _keep(buf, &buf.snap, theta, out, True)
    out.final_cost = cost
    if record and not _push(&out.costs, &out.n_costs, &out.cap_costs, cost):
        out.out_of_memory = True
        return False
    return True


cdef void _rebase_S(Buffers* buf, floating* S) noexcept nogil:
    """After W1 absorbed S (a Gram refresh): the snapshot of S is rebased, S restarts at 0."""
    cdef floating* snap = <floating*>buf.snap.S
    cdef Py_ssize_t i
    for i in range(buf.n_S):
        snap[i] -= S[i]
        S[i] = 0


cdef inline bint _improve(Spec* spec, Outcome* out, double* best, double cost) noexcept nogil:
    """scikit-learn's count: a cost above the best minus tol is one more without improvement
    (any other resets out.no_improvement); True when the cost is a new best (then kept)."""
    if cost > best[0] - spec.tol:
        out.no_improvement += 1
    else:
        out.no_improvement = 0
    if cost < best[0]:
        best[0] = cost
        return True
    return False


cdef bint _early_stopping(Spec* spec, Buffers* buf, Outcome* out, floating* theta,
                          double vcost) noexcept nogil:
    """Record a validation cost of the live state; keep the state with the best one; set
    out.stopped_early when it has not improved by tol for n_iter_no_change validations
    (scikit-learn's rule). False when out of memory."""
    if not _push(&out.vcosts, &out.n_vcosts, &out.cap_vcosts, vcost):
        out.out_of_memory = True
        return False
    if _improve(spec, out, &out.best_cost, vcost):
        _keep(buf, &buf.best, theta, out, True)
    if out.no_improvement >= spec.n_iter_no_change:
        out.stopped_early = True
    return True


cdef bint _plateau(Spec* spec, Outcome* out, double cost, double* lr) noexcept nogil:
    """scikit-learn's stopping rule, on the epoch's training cost (or, with its
    early_stopping, on −the validation score): a cost above the best so far minus tol is one
    more epoch without improvement (any other resets the count); out.stopped_early once there
    are more than n_iter_no_change in a row. With spec.adaptive (scikit-learn's "adaptive"
    schedule) that moment divides the learning rate by 5 and restarts the count instead, and
    stops only once the rate is at most 1e-6. Returns whether the cost is a new best."""
    cdef bint better = _improve(spec, out, &out.best_loss, cost)
    if out.no_improvement > spec.n_iter_no_change:
        if spec.adaptive and lr[0] > 1e-6:
            lr[0] /= 5.0
            out.no_improvement = 0
        else:
            out.stopped_early = True
    return better


cdef double _checked_rate(object rate) except? -1:
    """A Python decay function's result: a finite number > 0."""
    try:
        value = float(rate)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"decay must return a number; got {rate!r}") from None
    if not (value > 0 and value < float("inf")):
        raise ValueError(f"decay must return a finite learning rate > 0; got {rate!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------

def _permutation(Py_ssize_t m, uint32_t seed):
    """Test hook: the permutation epoch E draws with seed s = seed + 1 + E (fnn_random.h), which
    must equal np.random.RandomState(s).permutation(m)."""
    cdef int32_t[::1] perm = np.empty(m, np.int32)
    cdef fnn_mt19937 rng
    fnn_mt_seed(&rng, seed)
    if m:
        fnn_legacy_permutation_i32(&rng, &perm[0], m)
    return np.asarray(perm)


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


cdef void* _ptr(object a, Py_ssize_t byte_offset=0):
    """The data pointer of array ``a`` (NULL for None), ``byte_offset`` bytes in."""
    return NULL if a is None else <char*>cnp.PyArray_DATA(<cnp.ndarray>a) + byte_offset


def _saved_arrays(state, bint wanted):
    """Arrays for a copy of the state (θ, and v, s where the optimizer has them), or None."""
    if not wanted:
        return None
    return [np.empty_like(state.theta), *(np.empty_like(a) for a in state.opt_state)]


cdef void _fill_saved(Saved* saved, object arrays, Py_ssize_t start, object S):
    """Point a Saved at its arrays (from _saved_arrays; None: nothing is kept there)."""
    if arrays is None:
        return
    saved.theta = _ptr(arrays[0])
    saved.v = _ptr(arrays[1]) if len(arrays) > 1 else NULL
    saved.s = _ptr(arrays[2]) if len(arrays) > 2 else NULL
    saved.S = _ptr(S)
    saved.start = start


cdef void _load_stream(fnn_mt19937* rng, tuple state) except *:
    """A numpy RandomState's legacy state ('MT19937', key, pos, has_gauss, gauss) into rng."""
    if len(state) < 3 or state[0] != "MT19937":
        raise ValueError(f"shuffle_state must be a RandomState's get_state(); got {state!r:.60}")
    key = np.asarray(state[1], dtype=np.uint32)
    pos = int(state[2])
    if key.shape != (FNN_MT_N,) or not 0 <= pos <= FNN_MT_N:
        raise ValueError("shuffle_state must hold 624 words and a position in [0, 624]")
    cdef uint32_t[::1] words = np.ascontiguousarray(key)
    cdef int i
    for i in range(FNN_MT_N):
        rng.key[i] = words[i]
    rng.pos = pos


cdef tuple _stream_state(fnn_mt19937* rng, tuple before):
    """rng as a RandomState's state, keeping the cached Gaussian of ``before``."""
    key = np.empty(FNN_MT_N, np.uint32)
    cdef uint32_t[::1] words = key
    cdef int i
    for i in range(FNN_MT_N):
        words[i] = rng.key[i]
    return ("MT19937", key, rng.pos, *before[3:])


cdef void _fill_net(Net* net, void** ptrs, int* dims, int* acts, object spec, object state,
                    object grad, list As, list Ds, object db, object keep) except *:
    """Point ``net`` at θ (state.theta), the gradient buffer ``grad`` (None: none), the
    workspace and the hidden layers' keep_prob (``keep``: float64 (L−1,) from _keep_probs, or
    None); ptrs holds at least 6·L pointers."""
    cdef int l, L = len(As)
    cdef Py_ssize_t item = state.theta.itemsize
    W_at, b_at = theta_layout(state.layer_dims)
    net.L = L
    net.dims = dims
    net.acts = acts
    net.output = OUTPUTS[spec.output].id
    net.slope = spec.slope
    net.W = ptrs
    net.b = ptrs + L
    net.gW = ptrs + 2 * L
    net.gb = ptrs + 3 * L
    net.A = ptrs + 4 * L
    net.D = ptrs + 5 * L
    for l in range(L):
        net.W[l] = _ptr(state.theta, W_at[l][0] * item)
        net.b[l] = _ptr(state.theta, b_at[l][0] * item)
        net.gW[l] = _ptr(grad, W_at[l][0] * item)
        net.gb[l] = _ptr(grad, b_at[l][0] * item)
        net.A[l] = _ptr(As[l])
        net.D[l] = _ptr(Ds[l])
    net.db = _ptr(db)
    net.keep = <const double*>_ptr(keep)
    net.drop_seed = <uint64_t>spec.seed
    net.drop_step = state.t + 1


def _keep_probs(spec):
    """The hidden layers' keep_prob as float64 (L−1,), or None without dropout."""
    keep = spec.keep_probs
    return np.array(keep, dtype=np.float64) if any(k < 1 for k in keep) else None


def _checked_operands(name, spec, X, Y, state):
    """(layer_dims, L, dtype, m) once X (n_x, m), Y (n_L, m) C order and spec fit θ's layers
    and dtype; ``name`` heads the error."""
    dims = list(state.layer_dims)
    L = len(dims) - 1
    dtype = state.theta.dtype
    m = X.shape[1]
    if X.shape[0] != dims[0] or Y.shape != (dims[-1], m) or len(spec.activations) != L - 1:
        raise ValueError(f"{name}: X {X.shape}, Y {Y.shape} do not fit layers {dims}")
    if X.dtype != dtype or Y.dtype != dtype or not Y.flags.c_contiguous:
        raise ValueError(f"{name}: X, Y and θ must share one dtype; Y must be C-contiguous")
    _check_dims(m, *dims)
    return dims, L, dtype, m


def cost_gradient(spec, X, Y, state, sample_weight=None):
    """The full-batch cost of θ (state.theta) and its gradient, for optimizers that take them
    (scipy's L-BFGS-B): cost = (loss_scale·Σ loss + (λ/2)·Σ‖W‖²) / n and gradient
    (1/n)·(dZ·A_prevᵀ + λ·W) for the weights, (1/n)·Σ dZ for the biases, laid out like θ;
    n is m, or Σ sample_weight, which weights each example's loss and dZ. X (n_x, m) any
    BLAS-readable layout, Y (n_L, m) C order, of θ's dtype; spec gives the activations, the
    output, the slope, lambd and loss_scale. Returns (cost, gradient)."""
    dims, L, dtype, m = _checked_operands("cost_gradient", spec, X, Y, state)
    w = _checked_weights(sample_weight, m, dtype, "cost_gradient")
    As = [np.empty(dims[l + 1] * m, dtype) for l in range(L)]
    Ds = [np.empty(dims[l + 1] * m, dtype) for l in range(L - 1)] + [As[-1]]
    grad = np.empty_like(state.theta)
    cdef int[::1] dims_mv = np.array(dims, dtype=np.intc)
    cdef int[::1] acts_mv = np.array([get_activation(a).id for a in spec.activations] or [0],
                                     dtype=np.intc)
    cdef Net net
    cdef Buffers buf
    cdef int ld
    cdef bint rowmajor = array_operand(X, &ld)
    cdef double total, norm
    keep = _keep_probs(spec)  # alive while net.keep points into it
    cdef void** ptrs = <void**>PyMem_Malloc(6 * L * sizeof(void*))
    if ptrs == NULL:
        raise MemoryError()
    try:
        memset(&net, 0, sizeof(Net))
        memset(&buf, 0, sizeof(Buffers))
        _fill_net(&net, ptrs, &dims_mv[0], &acts_mv[0], spec, state, grad, As, Ds,
                  np.empty(max(dims[1:]), dtype), keep)
        if dtype == np.float32:
            total = _cost_gradient[float](<const float*>_ptr(X), ld, rowmajor, m, <const float*>_ptr(Y),
                                   <const float*>_ptr(w), &net, &buf, spec.loss_scale,
                                   spec.lambd, state.n_w, &norm)
        else:
            total = _cost_gradient[double](<const double*>_ptr(X), ld, rowmajor, m, <const double*>_ptr(Y),
                                   <const double*>_ptr(w), &net, &buf, spec.loss_scale,
                                   spec.lambd, state.n_w, &norm)
    finally:
        PyMem_Free(ptrs)
    if spec.lambd:
        grad[:state.n_w] += (spec.lambd / norm) * state.theta[:state.n_w]
    return total / norm, grad


cdef double _cost_gradient(const floating* X, int ldx, bint rowmajor, int m,
                           const floating* Y, const floating* w, Net* net, Buffers* buf,
                           double loss_scale, double lambd, Py_ssize_t n_w,
                           double* norm) noexcept nogil:
    """One forward and backward pass over all of X into the gradient buffers: returns
    loss_scale·Σ loss + (λ/2)·Σ‖W‖² (the weights θ[:n_w], summed in double as training's L2
    term), and the normaliser n in norm."""
    norm[0] = _weight_sum(w, m)
    _forward(net, X, ldx, rowmajor, m, <floating**>net.A, 0, True)
    cdef double total = loss_scale * _output(net, Y, w, m, True)
    if lambd:
        total += lambd / 2 * sum_sq(<const floating*>net.W[0], n_w)
    _backward(net, buf, X, ldx, rowmajor, m, norm[0], 0.0, 1.0, False)
    return total


def _checked_weights(w, Py_ssize_t m, dtype, name="train"):
    """Sample weights for the engine: None, or (m,) contiguous of θ's dtype."""
    if w is None:
        return None
    if w.shape != (m,) or w.dtype != dtype or not w.flags.c_contiguous:
        raise ValueError(f"{name}: sample weights must be ({m},) contiguous {dtype}; got "
                         f"{w.shape} {w.dtype}")
    return w


def train(spec, X, Y, state, callback=None, validation=None, sample_weight=None):
    """Run ``spec`` (a fastnn._spec.TrainSpec) on ``state`` (a TrainState: θ and the optimizer
    state, updated in place, with state.t and state.epoch) over X (n_x, m), any BLAS-readable
    layout, and Y (n_L, m), C order, of θ's dtype. ``validation``: (X_val, Y_val) the same way,
    or (X_val, Y_val, their sample weights), or None. ``sample_weight``: (m,) of θ's dtype,
    contiguous, or None. ``callback(E, cost)`` runs with the GIL at each recorded cost.
    Returns a TrainResult (see fastnn._spec); validation is the caller's (fastnn._training).
    """
    dims, L, dtype, m = _checked_operands("train", spec, X, Y, state)
    batch = spec.mini_batch_size or 0
    cols = min(batch, m) if batch else m
    gram = bool(spec.gram)
    keep = _keep_probs(spec)  # alive while net.keep points into it
    if gram and (batch or not spec.fused or validation is not None or keep is not None
                 or sample_weight is not None):
        raise ValueError("train: the Gram path is for full-batch gradient descent without L2, "
                         "validation, dropout or sample weights")
    opt = OPTIMIZERS[spec.optimizer]
    if state.optimizer != spec.optimizer or len(state.opt_state) != opt.n_state:
        raise ValueError(f"train: the state belongs to optimizer {state.optimizer!r}, "
                         f"not {spec.optimizer!r}")
    widest = max(dims[1:])

    # workspace (nothing is allocated inside the loop)
    As = [np.empty(dims[l + 1] * cols, dtype) for l in range(L)]  # A[0..L-2], then Z_L / dZ_L
    Ds = [np.empty(dims[l + 1] * cols, dtype) for l in range(L - 1)] + [As[-1]]
    grad = None if spec.fused else np.empty_like(state.theta)
    db = np.empty(widest, dtype)
    if batch:
        Xb = np.empty(dims[0] * cols, dtype)
        Yb = np.empty(dims[-1] * cols, dtype)
        perm = np.arange(m, dtype=np.int32)  # a shuffle stream's first order
        perm_next = np.empty(m, np.int32) if spec.shuffle_state is not None else None
    else:
        Xb = Yb = perm = perm_next = None
    snap = _saved_arrays(state, True)
    epoch_start = _saved_arrays(state, bool(batch))
    best = _saved_arrays(state, validation is not None)
    if gram:
        G = np.empty((m, m), dtype)
        Z1 = np.empty((dims[1], m), dtype)
        S = np.zeros((dims[1], m), dtype)
        snap_S = np.empty_like(S)
    else:
        G = Z1 = S = snap_S = None
    w = _checked_weights(sample_weight, m, dtype)
    wb = np.empty(cols, dtype) if w is not None and batch else None
    metric = VALIDATION_METRICS.index(spec.validation_metric)
    if validation is not None:
        Xv, Yv, wv = (*validation, None)[:3]
        if Xv.shape[0] != dims[0] or Yv.shape != (dims[-1], Xv.shape[1]):
            raise ValueError(f"train: validation X {Xv.shape}, Y {Yv.shape} do not fit {dims}")
        if Xv.dtype != dtype or Yv.dtype != dtype or not Yv.flags.c_contiguous:
            raise ValueError("train: validation data must have θ's dtype, Y C-contiguous")
        _check_dims(Xv.shape[1])
        wv = _checked_weights(wv, Xv.shape[1], dtype)
        vcols = min(Xv.shape[1], max(cols, 256))
        VA = np.empty(widest * vcols, dtype)
        VB = np.empty(widest * vcols, dtype)
        sstot = ssres = None
        if spec.validation_metric == "r2":
            ones = np.ones(Xv.shape[1]) if wv is None else wv.astype(np.float64)
            Yd = Yv.astype(np.float64)
            ybar = np.average(Yd, axis=1, weights=ones)
            sstot = np.ascontiguousarray((ones * (Yd - ybar[:, None]) ** 2).sum(axis=1))
            ssres = np.empty_like(sstot)
    else:
        Xv = Yv = wv = VA = VB = sstot = ssres = None
        vcols = 0

    cdef Net net
    cdef Spec s
    cdef Data d
    cdef fnn_mt19937 stream
    cdef Buffers buf
    cdef Outcome out
    memset(&net, 0, sizeof(Net))
    memset(&s, 0, sizeof(Spec))
    memset(&d, 0, sizeof(Data))
    memset(&buf, 0, sizeof(Buffers))
    memset(&out, 0, sizeof(Outcome))
    cdef int[::1] dims_mv = np.array(dims, dtype=np.intc)
    cdef int[::1] acts_mv = np.array([get_activation(a).id for a in spec.activations] or [0],
                                     dtype=np.intc)
    cdef void** ptrs = <void**>PyMem_Malloc(7 * L * sizeof(void*))
    if ptrs == NULL:
        raise MemoryError()
    cdef int l, ld
    try:
        _fill_net(&net, ptrs, &dims_mv[0], &acts_mv[0], spec, state, grad, As, Ds, db, keep)
        buf.vouts = ptrs + 6 * net.L
        for l in range(L):
            buf.vouts[l] = _ptr(VA if l % 2 == 0 else VB)

        s.optimizer = opt.id
        s.lr0 = spec.learning_rate
        s.beta1 = getattr(spec, opt.decay) if opt.decay else 0.0  # the first moment's β
        s.beta2 = spec.beta2
        s.epsilon = spec.epsilon
        s.lambd = spec.lambd
        if spec.decay is None:
            s.decay = FNN_DECAY_NONE
        elif callable(spec.decay):
            s.decay = DECAY_CALLABLE
        else:
            s.decay = DECAYS[spec.decay].id
        s.decay_rate = spec.decay_rate
        s.time_interval = spec.time_interval
        s.num_epochs = spec.num_epochs
        s.batch = batch
        s.cost_every = spec.cost_every
        s.seed = spec.seed
        s.early_stopping = validation is not None
        s.plateau = spec.stop_on_plateau
        s.metric = metric
        s.shuffle = spec.shuffle
        s.adaptive = spec.adaptive
        s.n_iter_no_change = spec.n_iter_no_change
        s.tol = spec.tol
        s.loss_scale = spec.loss_scale
        s.divergence_factor = spec.divergence_factor
        s.fused = spec.fused
        s.gram = gram
        s.refresh_every = 250 if (gram and dtype == np.float32) else 0

        d.X = _ptr(X)
        d.x_rowmajor = array_operand(X, &ld)
        d.ldx = ld
        d.m = m
        d.Y = _ptr(Y)
        if Xv is not None:
            d.Xv = _ptr(Xv)
            d.xv_rowmajor = array_operand(Xv, &ld)
            d.ldxv = ld
            d.m_val = Xv.shape[1]
            d.Yv = _ptr(Yv)
            d.wv = _ptr(wv)
            d.sstot = <double*>_ptr(sstot)
            d.ssres = <double*>_ptr(ssres)
        d.w = _ptr(w)
        d.wb = _ptr(wb)
        d.Xb = _ptr(Xb)
        d.Yb = _ptr(Yb)
        d.perm = <int32_t*>_ptr(perm)
        d.perm_next = <int32_t*>_ptr(perm_next)
        d.stream = NULL
        if perm_next is not None:
            _load_stream(&stream, spec.shuffle_state)
            d.stream = &stream

        buf.theta = _ptr(state.theta)
        buf.grad = _ptr(grad)
        buf.v = _ptr(state.v)
        buf.s = _ptr(state.s)
        buf.n_theta = state.theta.size
        buf.n_w = state.n_w
        _fill_saved(&buf.snap, snap, dims[0] * dims[1] if gram else 0, snap_S)
        _fill_saved(&buf.start, epoch_start, 0, None)
        _fill_saved(&buf.best, best, 0, None)
        buf.vcols = vcols
        buf.G = _ptr(G)
        buf.Z1 = _ptr(Z1)
        buf.S = _ptr(S)
        buf.n_S = 0 if S is None else S.size

        out.t = state.t
        out.epoch = state.epoch
        out.first_cost = state.cost0  # the divergence rule's reference, kept across runs
        out.final_cost = float("nan")
        out.diverged_cost = float("nan")
        out.best_cost = float("inf")
        out.best_loss = state.best_loss if spec.stop_on_plateau else float("inf")
        out.no_improvement = state.no_improvement if spec.stop_on_plateau else 0
        out.diverged_at = -1
        decay_fn = spec.decay if callable(spec.decay) else None
        epoch0 = state.epoch
        if dtype == np.float32:
            pending = _run(<float*>buf.theta, &net, &s, &d, &buf, &out, callback, decay_fn)
        else:
            pending = _run(<double*>buf.theta, &net, &s, &d, &buf, &out, callback, decay_fn)
        if out.out_of_memory and pending is None:
            pending = MemoryError("training: no memory left to record the costs")
        state.t, state.epoch, state.cost0 = out.t, out.epoch, out.first_cost
        if spec.stop_on_plateau:
            state.best_loss, state.no_improvement = out.best_loss, out.no_improvement
        return TrainResult(
            costs=[out.costs[i] for i in range(out.n_costs)],
            validation_costs=[out.vcosts[i] for i in range(out.n_vcosts)],
            final_cost=out.final_cost,
            n_done=out.epoch - epoch0,
            pending=pending,
            diverged_at=out.diverged_at,
            diverged_cost=out.diverged_cost,
            first_cost=out.first_cost,
            best_cost=out.best_cost,
            best_epoch=buf.best.epoch if out.best_cost < INFINITY else -1,
            stopped_early=bool(out.stopped_early),
            shuffle_state=_stream_state(&stream, spec.shuffle_state) if d.stream else None,
            final_learning_rate=out.lr,
        )
    finally:
        PyMem_Free(ptrs)
        PyMem_RawFree(out.costs)
        PyMem_RawFree(out.vcosts)

