/* Row loops of one float type: included by fnn_rows.h once per type, with FNN_T (the type),
   FNN_NAME(f) (f with the type's suffix: _d or _f), FNN_EXP and FNN_TANH defined.

   Every loop is branch-free so that gcc vectorises it; FNN_CLONES builds each one for
   AVX-512, AVX2+FMA and baseline x86-64. Row sums use "omp simd" reductions. */

/* dst[j] = g(src[j] + bias) for j < m; an in-place call (dst == src) gets its own copy of the
   loop, since gcc's runtime alias check would send it to the scalar fallback. */
#define FNN_ACT_LOOPS(IN, OUT)                                                                 \
    switch (act) {                                                                             \
    case FNN_ACT_LINEAR:                                                                       \
        for (j = 0; j < m; j++) OUT[j] = IN[j] + bias;                                         \
        break;                                                                                 \
    case FNN_ACT_SIGMOID:                                                                      \
        for (j = 0; j < m; j++) OUT[j] = 1 / (1 + FNN_EXP(-(IN[j] + bias)));                   \
        break;                                                                                 \
    case FNN_ACT_TANH:                                                                         \
        for (j = 0; j < m; j++) OUT[j] = FNN_TANH(IN[j] + bias);                               \
        break;                                                                                 \
    case FNN_ACT_RELU:                                                                         \
        for (j = 0; j < m; j++) { FNN_T z = IN[j] + bias; OUT[j] = z <= 0 ? 0 : z; }           \
        break;                                                                                 \
    default: /* FNN_ACT_LEAKY_RELU */                                                          \
        for (j = 0; j < m; j++) { FNN_T z = IN[j] + bias; OUT[j] = z < 0 ? z * slope : z; }    \
    }

FNN_CLONES FNN_STATIC void FNN_NAME(fnn_act_row)(const FNN_T *src, FNN_T *dst, FNN_T bias,
                                             ptrdiff_t m, int act, FNN_T slope) {
    ptrdiff_t j;
    if (src == dst) {
        FNN_ACT_LOOPS(dst, dst)
    } else {
        FNN_ACT_LOOPS(src, dst)
    }
}
#undef FNN_ACT_LOOPS

/* dZ = dA * g'(Z), the course's formulas term for term; returns sum(dZ) */
FNN_CLONES FNN_STATIC FNN_T FNN_NAME(fnn_back_z_row)(const FNN_T *dA, const FNN_T *Z, FNN_T *dZ,
                                                 ptrdiff_t m, int act, FNN_T slope) {
    ptrdiff_t j;
    FNN_T acc = 0;
    switch (act) {
    case FNN_ACT_LINEAR:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) { dZ[j] = dA[j]; acc += dZ[j]; }
        break;
    case FNN_ACT_SIGMOID:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) {
            FNN_T s = 1 / (1 + FNN_EXP(-Z[j]));
            dZ[j] = dA[j] * s * (1 - s);
            acc += dZ[j];
        }
        break;
    case FNN_ACT_TANH:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) {
            FNN_T t = FNN_TANH(Z[j]);
            dZ[j] = dA[j] * (1 - t * t);
            acc += dZ[j];
        }
        break;
    case FNN_ACT_RELU:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) { dZ[j] = Z[j] <= 0 ? 0 : dA[j]; acc += dZ[j]; }
        break;
    default: /* FNN_ACT_LEAKY_RELU */
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) { dZ[j] = Z[j] > 0 ? dA[j] : dA[j] * slope; acc += dZ[j]; }
    }
    return acc;
}

/* in place dA -> dZ = dA * g'(Z) with g' read off A = g(Z); returns sum(dZ) */
FNN_CLONES FNN_STATIC FNN_T FNN_NAME(fnn_back_a_row)(FNN_T *dZ, const FNN_T *A, ptrdiff_t m, int act,
                                                 FNN_T slope) {
    ptrdiff_t j;
    FNN_T acc = 0;
    switch (act) {
    case FNN_ACT_LINEAR:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) acc += dZ[j];
        break;
    case FNN_ACT_SIGMOID:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) { dZ[j] = dZ[j] * A[j] * (1 - A[j]); acc += dZ[j]; }
        break;
    case FNN_ACT_TANH:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) { dZ[j] = dZ[j] * (1 - A[j] * A[j]); acc += dZ[j]; }
        break;
    case FNN_ACT_RELU:
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) { dZ[j] = A[j] <= 0 ? 0 : dZ[j]; acc += dZ[j]; }
        break;
    default: /* FNN_ACT_LEAKY_RELU */
        FNN_PRAGMA(omp simd reduction(+:acc))
        for (j = 0; j < m; j++) { dZ[j] = A[j] > 0 ? dZ[j] : dZ[j] * slope; acc += dZ[j]; }
    }
    return acc;
}

/* in place Z -> dZ for an elementwise output layer, without the loss (no log1p): g(Z) - Y, and
   for a ReLU output (g(Z) - Y)·[Z > 0]; the sigmoid is computed exactly as fnn_out_loss
   computes it, so that recording the cost (which takes that path) leaves the trajectory bit
   for bit the same */
FNN_CLONES FNN_STATIC void FNN_NAME(fnn_out_delta)(FNN_T *Z, const FNN_T *Y, ptrdiff_t count,
                                               int output) {
    ptrdiff_t j;
    if (output == FNN_OUT_SIGMOID) {
        for (j = 0; j < count; j++) {
            FNN_T z = Z[j];
            FNN_T e = FNN_EXP(z >= 0 ? -z : z);
            Z[j] = (z >= 0 ? 1 / (1 + e) : e / (1 + e)) - Y[j];
        }
    } else if (output == FNN_OUT_RELU) {
        for (j = 0; j < count; j++) Z[j] = Z[j] <= 0 ? 0 : Z[j] - Y[j]; /* NaN stays */
    } else if (output == FNN_OUT_POISSON) {
        for (j = 0; j < count; j++) Z[j] = FNN_EXP(Z[j]) - Y[j];
    } else {
        for (j = 0; j < count; j++) Z[j] = Z[j] - Y[j];
    }
}

/* Inverted dropout on one row of a hidden layer's activations (m columns, the row's key from
   fnn_dropout_key): a kept unit (u < keep) becomes A / keep, a dropped one 0. */
FNN_CLONES FNN_STATIC void FNN_NAME(fnn_dropout_row)(FNN_T *A, ptrdiff_t m, uint64_t key,
                                                 FNN_T keep) {
    ptrdiff_t j;
    for (j = 0; j < m; j++) A[j] = fnn_dropout_u(key, j) < (double)keep ? A[j] / keep : 0;
}

/* Its backward on the same row: dA of a kept unit becomes dA / keep and its activation goes
   back to A·keep (what g'(Z) is read from), a dropped unit's dA becomes 0. */
FNN_CLONES FNN_STATIC void FNN_NAME(fnn_dropout_back_row)(FNN_T *dA, FNN_T *A, ptrdiff_t m,
                                                      uint64_t key, FNN_T keep) {
    ptrdiff_t j;
    for (j = 0; j < m; j++) {
        int kept = fnn_dropout_u(key, j) < (double)keep;
        dA[j] = kept ? dA[j] / keep : 0;
        A[j] = kept ? A[j] * keep : A[j];
    }
}

/* 1 when every x[j] is finite: x - x is exactly 0 then, NaN for NaN and for ±inf */
FNN_CLONES FNN_STATIC int FNN_NAME(fnn_all_finite)(const FNN_T *x, ptrdiff_t count) {
    ptrdiff_t j;
    FNN_T acc = 0;
    FNN_PRAGMA(omp simd reduction(+:acc))
    for (j = 0; j < count; j++) acc += x[j] - x[j];
    return acc == 0;
}

FNN_CLONES FNN_STATIC FNN_T FNN_NAME(fnn_row_sum)(const FNN_T *x, ptrdiff_t m) {
    ptrdiff_t j;
    FNN_T acc = 0;
    FNN_PRAGMA(omp simd reduction(+:acc))
    for (j = 0; j < m; j++) acc += x[j];
    return acc;
}

/* one logit of a sigmoid output: e = exp(-|z|), a = sigmoid(z),
   loss = max(z, 0) - y z + log1p(e) (in double) */
#define FNN_SIGMOID_LOSS                                                                       \
    FNN_T z = Z[j], y = Y[j];                                                                  \
    FNN_T e = FNN_EXP(z >= 0 ? -z : z);                                                        \
    FNN_T a = z >= 0 ? 1 / (1 + e) : e / (1 + e);                                              \
    double loss = (double)(z > 0 ? z : 0) - (double)y * z + fnn_log1p(e);

/* one logit of a Poisson output: a = exp(z), and the half deviance y·log(y/a) − y + a from the
   logit, loss = a − y·z + (y·log y − y) (y·log y = 0 for y = 0), in double */
#define FNN_POISSON_LOSS                                                                       \
    FNN_T z = Z[j], y = Y[j], a = FNN_EXP(z);                                                  \
    double loss = (double)a - (double)y * z + (y > 0 ? (double)y * fnn_log((double)y) : 0.0) - y;

/* Output layer fused with its loss, elementwise outputs (sigmoid, linear, ReLU, Poisson):
   returns the loss summed in double; writes A = g(Z) and dZ (A - Y; ReLU: (A - Y)·[Z > 0]), or, with
   A == NULL, dZ in place of Z (dZ == Z; "omp simd" vectorises that without an alias check). */
FNN_CLONES FNN_STATIC double FNN_NAME(fnn_out_loss)(const FNN_T *Z, const FNN_T *Y, FNN_T *A,
                                                FNN_T *dZ, ptrdiff_t count, int output) {
    ptrdiff_t j;
    double total = 0;
    if (output == FNN_OUT_SIGMOID && A == NULL) {
        FNN_PRAGMA(omp simd reduction(+:total))
        for (j = 0; j < count; j++) { FNN_SIGMOID_LOSS total += loss; dZ[j] = a - y; }
    } else if (output == FNN_OUT_SIGMOID) {
        FNN_PRAGMA(omp simd reduction(+:total))
        for (j = 0; j < count; j++) { FNN_SIGMOID_LOSS total += loss; A[j] = a; dZ[j] = a - y; }
    } else if (output == FNN_OUT_POISSON) {
        for (j = 0; j < count; j++) {
            FNN_POISSON_LOSS
            total += loss;
            if (A != NULL) A[j] = a;
            dZ[j] = a - y;
        }
    } else if (output == FNN_OUT_RELU) {
        FNN_PRAGMA(omp simd reduction(+:total))
        for (j = 0; j < count; j++) {
            FNN_T z = Z[j], a = z <= 0 ? 0 : z, d = a - Y[j]; /* NaN stays NaN */
            if (A != NULL) A[j] = a;
            dZ[j] = z <= 0 ? 0 : d;
            total += 0.5 * d * d;
        }
    } else if (A == NULL) {
        FNN_PRAGMA(omp simd reduction(+:total))
        for (j = 0; j < count; j++) { FNN_T d = Z[j] - Y[j]; dZ[j] = d; total += 0.5 * d * d; }
    } else {
        FNN_PRAGMA(omp simd reduction(+:total))
        for (j = 0; j < count; j++) {
            FNN_T d = Z[j] - Y[j];
            A[j] = Z[j];
            dZ[j] = d;
            total += 0.5 * d * d;
        }
    }
    return total;
}

/* Softmax output over the columns of the C×m logits Z (row-major, leading dimension m), fused
   with the categorical cross-entropy: per column, with μ = max_c z_c and S = Σ_c exp(z_c − μ),
   a_c = exp(z_c − μ) / S and loss = Σ_c y_c·(log S − (z_c − μ)), which is Σ_c y_c·(lse(z) − z_c)
   and finite for any finite z. Vectorised along m, FNN_SOFTMAX_BLOCK columns at a time (the
   column maxima and sums live on the stack). Y (C×m, leading dimension ldy) may be NULL
   (inference: A only). Writes A = softmax(Z) unless A is NULL, and dZ = A − Y unless dZ is NULL;
   dZ may be Z itself (in place). Returns Σ loss (in double) when want_loss, else 0. With
   per-column weights w (NULL: all 1), column j's loss counts w_j times and its dZ is
   w_j·(A − Y). A NaN in a column gives NaN there (and in the loss); +inf gives NaN too
   (inf − inf). */
#ifndef FNN_SOFTMAX_BLOCK
#define FNN_SOFTMAX_BLOCK 256
#endif
FNN_CLONES FNN_STATIC double FNN_NAME(fnn_softmax)(const FNN_T *Z, const FNN_T *Y, ptrdiff_t ldy,
                                               const FNN_T *w, FNN_T *A, FNN_T *dZ, int C,
                                               ptrdiff_t m, int want_loss) {
    FNN_T mx[FNN_SOFTMAX_BLOCK], sum[FNN_SOFTMAX_BLOCK];
    double yz[FNN_SOFTMAX_BLOCK], ysum[FNN_SOFTMAX_BLOCK];
    double total = 0;
    FNN_T *E = A != NULL ? A : dZ; /* exp(z − μ), then the probabilities */
    ptrdiff_t j0, j, B;
    int c;
    for (j0 = 0; j0 < m; j0 += FNN_SOFTMAX_BLOCK) {
        B = m - j0 < FNN_SOFTMAX_BLOCK ? m - j0 : FNN_SOFTMAX_BLOCK;
        const FNN_T *z0 = Z + j0;
        for (j = 0; j < B; j++) { mx[j] = z0[j]; sum[j] = 0; yz[j] = 0; ysum[j] = 0; }
        for (c = 1; c < C; c++) {
            const FNN_T *zc = z0 + (ptrdiff_t)c * m;
            for (j = 0; j < B; j++) mx[j] = zc[j] > mx[j] ? zc[j] : mx[j];
        }
        for (c = 0; c < C; c++) {
            const FNN_T *zc = z0 + (ptrdiff_t)c * m;
            FNN_T *ec = E + j0 + (ptrdiff_t)c * m;
            if (want_loss) {
                const FNN_T *yc = Y + j0 + (ptrdiff_t)c * ldy;
                for (j = 0; j < B; j++) {
                    FNN_T d = zc[j] - mx[j];
                    yz[j] += (double)yc[j] * d;
                    ysum[j] += yc[j];
                    ec[j] = FNN_EXP(d);
                    sum[j] += ec[j];
                }
            } else {
                for (j = 0; j < B; j++) { ec[j] = FNN_EXP(zc[j] - mx[j]); sum[j] += ec[j]; }
            }
        }
        if (want_loss && w != NULL) {
            for (j = 0; j < B; j++)
                total += (double)w[j0 + j] * (ysum[j] * fnn_log((double)sum[j]) - yz[j]);
        } else if (want_loss) {
            for (j = 0; j < B; j++) total += ysum[j] * fnn_log((double)sum[j]) - yz[j];
        }
        for (c = 0; c < C; c++) {
            FNN_T *ec = E + j0 + (ptrdiff_t)c * m;
            if (dZ == NULL) {
                for (j = 0; j < B; j++) ec[j] = ec[j] / sum[j];
            } else {
                const FNN_T *yc = Y + j0 + (ptrdiff_t)c * ldy;
                FNN_T *dc = dZ + j0 + (ptrdiff_t)c * m;
                if (A == NULL) {
                    for (j = 0; j < B; j++) dc[j] = ec[j] / sum[j] - yc[j];
                } else {
                    for (j = 0; j < B; j++) { FNN_T a = ec[j] / sum[j]; ec[j] = a; dc[j] = a - yc[j]; }
                }
                if (w != NULL) for (j = 0; j < B; j++) dc[j] *= w[j0 + j];
            }
        }
    }
    return total;
}

/* An elementwise output's loss and dZ in place of Z (count elements, one row), each element j
   weighted by w[j]: returns Σ w_j·loss_j, writes w_j·dZ_j; the formulas of fnn_out_loss. */
FNN_CLONES FNN_STATIC double FNN_NAME(fnn_out_loss_weighted)(FNN_T *Z, const FNN_T *Y,
                                                         const FNN_T *w, ptrdiff_t count,
                                                         int output) {
    ptrdiff_t j;
    double total = 0;
    if (output == FNN_OUT_SIGMOID) {
        for (j = 0; j < count; j++) {
            FNN_SIGMOID_LOSS
            total += (double)w[j] * loss;
            Z[j] = (a - y) * w[j];
        }
    } else if (output == FNN_OUT_POISSON) {
        for (j = 0; j < count; j++) {
            FNN_POISSON_LOSS
            total += (double)w[j] * loss;
            Z[j] = (a - y) * w[j];
        }
    } else {
        for (j = 0; j < count; j++) {
            FNN_T z = Z[j], d = (output == FNN_OUT_RELU && z <= 0 ? 0 : z) - Y[j];
            total += (double)w[j] * (0.5 * d * d);
            Z[j] = output == FNN_OUT_RELU && z <= 0 ? 0 : d * w[j]; /* NaN stays */
        }
    }
    return total;
}
#undef FNN_SIGMOID_LOSS
#undef FNN_POISSON_LOSS

/* The output layer over an n×m block of logits Z (leading dimension m) and labels Y (leading
   dimension ldy), whatever the output: A and dZ as fnn_out_loss / fnn_softmax write them (A may
   be NULL; dZ may be Z); returns Σ loss when want_loss, else 0 (and then, for an elementwise
   output without A, takes fnn_out_delta's path, with no log1p). Without A and the loss, dZ
   must be Z. Y may be NULL only without dZ, for a softmax or a Poisson output (inference: A
   only). With per-column weights w (m; NULL: none), column j's loss counts w_j times and its
   dZ is w_j·(A − Y); then A must be NULL and dZ Z, and the loss is always computed. */
FNN_CLONES FNN_STATIC double FNN_NAME(fnn_output)(FNN_T *Z, const FNN_T *Y, ptrdiff_t ldy,
                                              const FNN_T *w, FNN_T *A, FNN_T *dZ, int n,
                                              ptrdiff_t m, int output, int want_loss) {
    double total = 0;
    int i;
    if (output == FNN_OUT_SOFTMAX)
        return FNN_NAME(fnn_softmax)(Z, Y, ldy, w, A, dZ, n, m, want_loss || w != NULL);
    if (Y == NULL && output == FNN_OUT_POISSON) { /* inference: A = exp(Z) */
        ptrdiff_t j, count = (ptrdiff_t)n * m;
        for (j = 0; j < count; j++) A[j] = FNN_EXP(Z[j]);
        return 0;
    }
    if (w != NULL) {
        for (i = 0; i < n; i++)
            total += FNN_NAME(fnn_out_loss_weighted)(Z + (ptrdiff_t)i * m, Y + (ptrdiff_t)i * ldy,
                                                     w, m, output);
        return total;
    }
    if (ldy == m) { /* one contiguous block */
        ldy = (ptrdiff_t)n * m;
        m = ldy;
        n = 1;
    }
    for (i = 0; i < n; i++) {
        ptrdiff_t r = (ptrdiff_t)i * m;
        if (want_loss || A != NULL)
            total += FNN_NAME(fnn_out_loss)(Z + r, Y + (ptrdiff_t)i * ldy, A ? A + r : NULL, dZ + r, m, output);
        else
            FNN_NAME(fnn_out_delta)(Z + r, Y + (ptrdiff_t)i * ldy, m, output);
    }
    return want_loss ? total : 0;
}

/* the course's cost from probabilities, summed in double: a term whose weight is exactly 0
   contributes 0 (a = 0 with y = 0 gives 0, not 0·log 0 = NaN) */
FNN_CLONES FNN_STATIC double FNN_NAME(fnn_cross_entropy)(const FNN_T *AL, const FNN_T *Y,
                                                     ptrdiff_t count) {
    ptrdiff_t j;
    double total = 0;
    FNN_PRAGMA(omp simd reduction(+:total))
    for (j = 0; j < count; j++) {
        double a = AL[j], y = Y[j];
        double t1 = y != 0 ? y * fnn_log(a) : 0.0;
        double t2 = y != 1 ? (1 - y) * fnn_log1p(-a) : 0.0;
        total -= t1 + t2;
    }
    return total;
}

/* Small GEMM, C := alpha·op(A)·op(B) + beta·C (M×N, K deep), for products so small that a BLAS
   call's fixed cost (about 1 µs with OpenBLAS's Haswell kernels) would dominate: the planar
   net's whole step is ~10k multiply-adds. Operands by element strides:
   op(A)[i,k] = A[i*ai + k*ak], op(B)[k,j] = B[k*bk + j*bj], C[i,j] = C[i*ci + j*cj].
   Two vectorised forms: rows of C as sums of scaled rows of op(B) when both are contiguous
   along j (bj == cj == 1: forward, dA_prev = Wᵀ·dZ), else dot products, which need op(A) and
   op(B) contiguous along k (ak == bk == 1: dW = dZ·A_prevᵀ); the caller (the router in
   _blas.pyx) sends nothing else. As in BLAS, C is not read when beta = 0. */
FNN_CLONES FNN_STATIC void FNN_NAME(fnn_small_gemm)(int M, int N, int K, FNN_T alpha, const FNN_T *A,
                                                ptrdiff_t ai, ptrdiff_t ak, const FNN_T *B,
                                                ptrdiff_t bk, ptrdiff_t bj, FNN_T beta,
                                                FNN_T *C, ptrdiff_t ci, ptrdiff_t cj) {
    ptrdiff_t i, j, k;
    if (bj == 1 && cj == 1) {
        for (i = 0; i < M; i++) {
            FNN_T *__restrict c = C + i * ci;
            const FNN_T *a = A + i * ai;
            FNN_T a0 = alpha * a[0];
            const FNN_T *__restrict b0 = B;
            if (beta == 0) {
                for (j = 0; j < N; j++) c[j] = a0 * b0[j];
            } else if (beta == 1) {
                for (j = 0; j < N; j++) c[j] += a0 * b0[j];
            } else {
                for (j = 0; j < N; j++) c[j] = beta * c[j] + a0 * b0[j];
            }
            for (k = 1; k + 1 < K; k += 2) {
                FNN_T a1 = alpha * a[k * ak], a2 = alpha * a[(k + 1) * ak];
                const FNN_T *__restrict b1 = B + k * bk;
                const FNN_T *__restrict b2 = b1 + bk;
                for (j = 0; j < N; j++) c[j] += a1 * b1[j] + a2 * b2[j];
            }
            if (k < K) {
                FNN_T a1 = alpha * a[k * ak];
                const FNN_T *__restrict b1 = B + k * bk;
                for (j = 0; j < N; j++) c[j] += a1 * b1[j];
            }
        }
    } else {
        for (i = 0; i < M; i++) {
            const FNN_T *a = A + i * ai;
            for (j = 0; j < N; j++) {
                const FNN_T *b = B + j * bj;
                /* four independent sums over the quarters of k: one chain would wait on the
                   FMA latency at every step */
                ptrdiff_t q = K / 4;
                FNN_T s0 = 0, s1 = 0, s2 = 0, s3 = 0, acc;
                FNN_PRAGMA(omp simd reduction(+:s0, s1, s2, s3))
                for (k = 0; k < q; k++) {
                    s0 += a[k] * b[k];
                    s1 += a[q + k] * b[q + k];
                    s2 += a[2 * q + k] * b[2 * q + k];
                    s3 += a[3 * q + k] * b[3 * q + k];
                }
                for (k = 4 * q; k < K; k++) s3 += a[k] * b[k];
                acc = (s0 + s1) + (s2 + s3);
                FNN_T *c = C + i * ci + j * cj;
                *c = beta == 0 ? alpha * acc : alpha * acc + beta * *c;
            }
        }
    }
}

/* A mini-batch's columns idx[0..cnt) of an example-contiguous X (column j, n elements, at
   X + j·ld: X F-ordered) into the column-major (n, cnt) block out. The columns come from
   anywhere in X, mostly from memory: the cache lines of the column FNN_GATHER_AHEAD places
   ahead are prefetched while one is copied. */
FNN_STATIC void FNN_NAME(fnn_gather_columns)(const FNN_T *X, ptrdiff_t ld, const int32_t *idx,
                                             int cnt, ptrdiff_t n, FNN_T *out) {
    int j;
    ptrdiff_t b, bytes = n * (ptrdiff_t)sizeof(FNN_T);
    for (j = 0; j < cnt; j++) {
        if (j + FNN_GATHER_AHEAD < cnt) {
            const char *next = (const char *)(X + (ptrdiff_t)idx[j + FNN_GATHER_AHEAD] * ld);
            for (b = 0; b < bytes; b += 64) FNN_PREFETCH(next + b);
        }
        memcpy(out + (ptrdiff_t)j * n, X + (ptrdiff_t)idx[j] * ld, (size_t)bytes);
    }
}

/* The same columns of a row-major X (row i at X + i·ld) into the row-major (n, cnt) block
   out: out[i·cnt + j] = X[i·ld + idx[j]], one element per cache line of X. */
FNN_CLONES FNN_STATIC void FNN_NAME(fnn_gather_rows)(const FNN_T *X, ptrdiff_t ld,
                                                     const int32_t *idx, int cnt, ptrdiff_t n,
                                                     FNN_T *out) {
    ptrdiff_t i;
    int j;
    for (i = 0; i < n; i++) {
        const FNN_T *row = X + i * ld;
        FNN_T *o = out + i * cnt;
        for (j = 0; j < cnt; j++) o[j] = row[idx[j]];
    }
}
