# cython: language_level=3
"""The hand-written C of src/fastnn/_native (declared once here) and the fused-type wrappers
that the kernels and the training engine call. Every wrapper is ``noexcept nogil`` and works
on raw C-ordered (n, m) blocks: row i at offset i·m."""

from libc.stdint cimport int32_t, uint64_t


cdef extern from "fnn_ids.h":
    cdef enum:
        FNN_ACT_LINEAR
        FNN_ACT_SIGMOID
        FNN_ACT_TANH
        FNN_ACT_RELU
        FNN_ACT_LEAKY_RELU
        FNN_OUT_SIGMOID
        FNN_OUT_LINEAR
        FNN_OUT_SOFTMAX
        FNN_OUT_RELU
        FNN_OUT_POISSON
        FNN_OPT_GD
        FNN_OPT_MOMENTUM
        FNN_OPT_ADAM
        FNN_OPT_SKLEARN_ADAM
        FNN_OPT_SKLEARN_SGD
        FNN_OPT_SKLEARN_NESTEROV
        FNN_DECAY_NONE
        FNN_DECAY_INVERSE
        FNN_DECAY_SCHEDULED
        FNN_DECAY_CALLABLE

cdef extern from "fnn_rows.h":
    double fnn_exp(double x) noexcept nogil
    double fnn_tanh(double x) noexcept nogil
    float fnn_expf(float x) noexcept nogil
    float fnn_tanhf(float x) noexcept nogil
    double fnn_log(double x) noexcept nogil
    double fnn_log1p(double x) noexcept nogil
    void fnn_act_row_d(const double*, double*, double, Py_ssize_t, int, double) noexcept nogil
    void fnn_act_row_f(const float*, float*, float, Py_ssize_t, int, float) noexcept nogil
    double fnn_back_z_row_d(const double*, const double*, double*, Py_ssize_t, int,
                            double) noexcept nogil
    float fnn_back_z_row_f(const float*, const float*, float*, Py_ssize_t, int,
                           float) noexcept nogil
    double fnn_back_a_row_d(double*, const double*, Py_ssize_t, int, double) noexcept nogil
    float fnn_back_a_row_f(float*, const float*, Py_ssize_t, int, float) noexcept nogil
    void fnn_dropout_row_d(double*, Py_ssize_t, uint64_t, double) noexcept nogil
    void fnn_dropout_row_f(float*, Py_ssize_t, uint64_t, float) noexcept nogil
    void fnn_dropout_back_row_d(double*, double*, Py_ssize_t, uint64_t, double) noexcept nogil
    void fnn_dropout_back_row_f(float*, float*, Py_ssize_t, uint64_t, float) noexcept nogil
    uint64_t fnn_dropout_key(uint64_t, uint64_t, int, int) noexcept nogil
    int fnn_all_finite_d(const double*, Py_ssize_t) noexcept nogil
    int fnn_all_finite_f(const float*, Py_ssize_t) noexcept nogil
    double fnn_row_sum_d(const double*, Py_ssize_t) noexcept nogil
    float fnn_row_sum_f(const float*, Py_ssize_t) noexcept nogil
    double fnn_output_d(double*, const double*, Py_ssize_t, const double*, double*, double*,
                        int, Py_ssize_t, int, int) noexcept nogil
    double fnn_output_f(float*, const float*, Py_ssize_t, const float*, float*, float*, int,
                        Py_ssize_t, int, int) noexcept nogil
    double fnn_cross_entropy_d(const double*, const double*, Py_ssize_t) noexcept nogil
    double fnn_cross_entropy_f(const float*, const float*, Py_ssize_t) noexcept nogil
    void fnn_small_gemm_d(int, int, int, double, const double*, Py_ssize_t, Py_ssize_t,
                          const double*, Py_ssize_t, Py_ssize_t, double, double*, Py_ssize_t,
                          Py_ssize_t) noexcept nogil
    void fnn_small_gemm_f(int, int, int, float, const float*, Py_ssize_t, Py_ssize_t,
                          const float*, Py_ssize_t, Py_ssize_t, float, float*, Py_ssize_t,
                          Py_ssize_t) noexcept nogil
    void fnn_optimizer_step_d(int, Py_ssize_t, double*, const double*, double*, double*, double,
                              double, double, double, double, double, double, double,
                              double) noexcept nogil
    void fnn_optimizer_step_f(int, Py_ssize_t, float*, const float*, float*, float*, float, float,
                              float, float, float, float, float, float, float) noexcept nogil
    void fnn_gather_columns_d(const double*, Py_ssize_t, const int32_t*, int, Py_ssize_t,
                              double*) noexcept nogil
    void fnn_gather_columns_f(const float*, Py_ssize_t, const int32_t*, int, Py_ssize_t,
                              float*) noexcept nogil
    void fnn_gather_rows_d(const double*, Py_ssize_t, const int32_t*, int, Py_ssize_t,
                           double*) noexcept nogil
    void fnn_gather_rows_f(const float*, Py_ssize_t, const int32_t*, int, Py_ssize_t,
                           float*) noexcept nogil
    double fnn_sum_sq_d(const double*, Py_ssize_t) noexcept nogil
    double fnn_sum_sq_f(const float*, Py_ssize_t) noexcept nogil

from cython cimport floating


cdef inline void activation_row(const floating* src, floating* dst, floating bias, Py_ssize_t m,
                                int act, floating slope) noexcept nogil:
    """dst[j] = g(src[j] + bias), dst either src itself or a non-overlapping row."""
    if floating is float:
        fnn_act_row_f(src, dst, bias, m, act, slope)
    else:
        fnn_act_row_d(src, dst, bias, m, act, slope)


cdef inline void bias_activation(floating* Z, floating* A, const floating* b, Py_ssize_t b_stride,
                                 Py_ssize_t n, Py_ssize_t m, int act,
                                 floating slope) noexcept nogil:
    """Z += b (broadcast over columns), then A = g(Z); A may be Z itself. Z, A: (n, m) C order."""
    cdef Py_ssize_t i, j
    cdef floating bi
    cdef floating* zr
    for i in range(n):
        bi = b[i * b_stride]
        zr = Z + i * m
        if A == Z:
            activation_row(zr, zr, bi, m, act, slope)
        else:
            for j in range(m):
                zr[j] += bi
            activation_row(zr, A + i * m, <floating>0, m, act, slope)


cdef inline void backward_from_Z(const floating* dA, const floating* Z, floating* dZ,
                                 floating* db, Py_ssize_t n, Py_ssize_t m, int act,
                                 floating slope, floating inv_m) noexcept nogil:
    """dZ = dA ⊙ g'(Z) and db = (1/m) Σ_cols dZ, one pass. The course's formulas, term for term."""
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            db[i] = fnn_back_z_row_f(dA + i * m, Z + i * m, dZ + i * m, m, act, slope) * inv_m
        else:
            db[i] = fnn_back_z_row_d(dA + i * m, Z + i * m, dZ + i * m, m, act, slope) * inv_m


cdef inline void backward_from_A(floating* dZ, const floating* A, floating* db, Py_ssize_t n,
                                 Py_ssize_t m, int act, floating slope,
                                 floating inv_m) noexcept nogil:
    """In place dA → dZ = dA ⊙ g'(Z), with g' read off A = g(Z) (no transcendental recomputed):
    sigmoid' = A(1 − A), tanh' = 1 − A², relu/leaky: Z > 0 ⇔ A > 0. Also db = (1/m) Σ_cols dZ."""
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            db[i] = fnn_back_a_row_f(dZ + i * m, A + i * m, m, act, slope) * inv_m
        else:
            db[i] = fnn_back_a_row_d(dZ + i * m, A + i * m, m, act, slope) * inv_m


cdef inline void dropout(floating* A, Py_ssize_t n, Py_ssize_t m, uint64_t seed, uint64_t t,
                         int layer, floating keep) noexcept nogil:
    """Inverted dropout in place on hidden layer ``layer``'s (n, m) activations at step t:
    kept units (fnn_random.h's counter-based draw below ``keep``) become A / keep, the others 0."""
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            fnn_dropout_row_f(A + i * m, m, fnn_dropout_key(seed, t, layer, <int>i), keep)
        else:
            fnn_dropout_row_d(A + i * m, m, fnn_dropout_key(seed, t, layer, <int>i), keep)


cdef inline void dropout_backward(floating* dA, floating* A, Py_ssize_t n, Py_ssize_t m,
                                  uint64_t seed, uint64_t t, int layer,
                                  floating keep) noexcept nogil:
    """The same masks on dA (kept: dA / keep, dropped: 0), and A back to the activation g(Z)
    of the kept units (A·keep), before g'(Z) is read off it."""
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            fnn_dropout_back_row_f(dA + i * m, A + i * m, m,
                                   fnn_dropout_key(seed, t, layer, <int>i), keep)
        else:
            fnn_dropout_back_row_d(dA + i * m, A + i * m, m,
                                   fnn_dropout_key(seed, t, layer, <int>i), keep)


cdef inline floating row_sum(const floating* x, Py_ssize_t m) noexcept nogil:
    if floating is float:
        return fnn_row_sum_f(x, m)
    else:
        return fnn_row_sum_d(x, m)


cdef inline bint all_finite(const floating* x, Py_ssize_t count) noexcept nogil:
    if floating is float:
        return fnn_all_finite_f(x, count)
    else:
        return fnn_all_finite_d(x, count)


cdef inline double output_layer(floating* Z, const floating* Y, Py_ssize_t ldy, floating* A,
                                floating* dZ, int n, Py_ssize_t m, int output,
                                bint want_loss) noexcept nogil:
    """The output layer fused with its loss, from the logits Z (n, m), row-major with leading
    dimension m, and labels Y (leading dimension ldy): writes A = g(Z) (unless A is NULL) and
    dZ = A − Y (ReLU output: (A − Y)·[Z > 0]), returns Σ loss (0 unless want_loss).

    sigmoid + cross-entropy: loss = softplus(z) − y·z = max(z, 0) − y·z + log1p(exp(−|z|)),
    finite for any finite z (no log(0)); one exp per element serves both A and the loss.
    softmax (over each column) + categorical cross-entropy: loss = Σ_c y_c·(lse(z) − z_c),
    with the column maximum taken out first. linear / ReLU + squared error: (a − y)² / 2.
    dZ may be Z itself (in place; it must be when A is NULL and want_loss is false). For a
    softmax, Y and dZ may both be NULL (inference: A only).
    """
    if floating is float:
        return fnn_output_f(Z, Y, ldy, NULL, A, dZ, n, m, output, want_loss)
    else:
        return fnn_output_d(Z, Y, ldy, NULL, A, dZ, n, m, output, want_loss)


cdef inline double weighted_output_layer(floating* Z, const floating* Y, Py_ssize_t ldy,
                                         const floating* w, int n, Py_ssize_t m,
                                         int output) noexcept nogil:
    """output_layer in place (dZ = Z, no A) with per-column weights w (m,): returns
    Σ_j w_j·loss_j and writes dZ[:, j] = w_j·(A − Y)[:, j] (scikit-learn's sample_weight)."""
    if floating is float:
        return fnn_output_f(Z, Y, ldy, w, NULL, Z, n, m, output, True)
    else:
        return fnn_output_d(Z, Y, ldy, w, NULL, Z, n, m, output, True)


cdef inline double cross_entropy(const floating* AL, const floating* Y,
                                 Py_ssize_t count) noexcept nogil:
    """Σ −[y·log(a) + (1 − y)·log(1 − a)], the course's cost from probabilities; a term whose
    weight is exactly 0 contributes 0 (so a = 0 with y = 0 gives 0, not 0·log 0 = NaN)."""
    if floating is float:
        return fnn_cross_entropy_f(AL, Y, count)
    else:
        return fnn_cross_entropy_d(AL, Y, count)


cdef inline void optimizer_step(int optimizer, Py_ssize_t n, floating* theta, const floating* g,
                                floating* v, floating* s, double lr, double l2, double beta1,
                                double beta2, double eps, double bc1,
                                double bc2) noexcept nogil:
    """One fused optimizer pass over θ[0..n) (see _native/fnn_optim_t.h); the coefficients are
    rounded to the parameters' type once, here."""
    if floating is float:
        fnn_optimizer_step_f(optimizer, n, theta, g, v, s, <float>lr, <float>l2, <float>beta1,
                             <float>(1 - beta1), <float>beta2, <float>(1 - beta2), <float>eps,
                             <float>bc1, <float>bc2)
    else:
        fnn_optimizer_step_d(optimizer, n, theta, g, v, s, lr, l2, beta1, 1 - beta1, beta2,
                             1 - beta2, eps, bc1, bc2)


cdef inline double sum_sq(const floating* x, Py_ssize_t n) noexcept nogil:
    """Σ x², summed in double."""
    if floating is float:
        return fnn_sum_sq_f(x, n)
    else:
        return fnn_sum_sq_d(x, n)


cdef inline void gather(const floating* X, Py_ssize_t ld, bint rowmajor, const int32_t* idx,
                        int cnt, Py_ssize_t n, floating* out) noexcept nogil:
    """Columns idx[0..cnt) of the (n, ·) matrix X into the dense block out, in X's layout:
    column-major (n, cnt) when X is (examples contiguous), row-major (n, cnt) otherwise."""
    if rowmajor:
        if floating is float:
            fnn_gather_rows_f(X, ld, idx, cnt, n, out)
        else:
            fnn_gather_rows_d(X, ld, idx, cnt, n, out)
    elif floating is float:
        fnn_gather_columns_f(X, ld, idx, cnt, n, out)
    else:
        fnn_gather_columns_d(X, ld, idx, cnt, n, out)
