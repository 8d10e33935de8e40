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
from libc.math cimport isfinite
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv

from fastnn._activations import get_activation
from fastnn._blas import AVX512_CORENAMES, check_loaded_core, scipy_corename

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

cdef extern from *:
    """
    /* Branch-free exp and tanh that gcc vectorises (libm's scalar calls block vectorisation, and
       -ffast-math is not an option: it breaks NaN/inf handling). Cody-Waite reduction
       x = k·ln2 + r, |r| <= ln2/2, the rounding done with the 1.5·2^52 shift trick so k also
       appears as an integer in the bits; expm1(r) by its Taylor polynomial (truncation below
       half an ulp); 2^k assembled in the exponent bits. NaN propagates. exp flushes to 0 below
       -708 (float: -87) and to inf above 709 (float: 88), where the true value is within a
       denormal of 0 or overflows anyway. Accuracy (tests/test_kernels.py): a few ulp. */
    #include <math.h>
    #include <stdint.h>
    #include <string.h>

    static inline double fnn_from_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
    static inline uint64_t fnn_to_bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
    static inline float fnn_from_bitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
    static inline uint32_t fnn_to_bitsf(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

    #define FNN_LOG2E 1.4426950408889634
    #define FNN_LN2_HI 6.93147180369123816490e-01
    #define FNN_LN2_LO 1.90821492927058770002e-10
    #define FNN_SHIFT 6755399441055744.0 /* 1.5 * 2^52 */

    /* expm1(r) for |r| <= ln2/2 as r + r^2 p(r), p of degree 9 fitted to (expm1(r) - r)/r^2 in
       Chebyshev nodes at 40 digits (tools/fit_expm1.py derives and checks it): within 1 ulp,
       like the degree-11 Taylor polynomial it replaced, with two FMAs fewer. */
    static inline double fnn_expm1_poly(double r) {
        double p = 2.510038549551032e-08;
        p = p * r + 2.7620088445409746e-07;
        p = p * r + 2.7557268459997064e-06;
        p = p * r + 2.4801521295954376e-05;
        p = p * r + 0.00019841269863053618;
        p = p * r + 0.0013888888917213717;
        p = p * r + 0.008333333333330062;
        p = p * r + 0.04166666666662413;
        p = p * r + 0.16666666666666669;
        p = p * r + 0.5000000000000001;
        return r + r * r * p;
    }

    /* y = k ln2 + r; returns expm1(r), sets *scale = 2^k (k within the normal exponent range) */
    static inline double fnn_reduce(double y, double *scale) {
        double t = y * FNN_LOG2E + FNN_SHIFT;
        double k = t - FNN_SHIFT;
        double r = (y - k * FNN_LN2_HI) - k * FNN_LN2_LO;
        uint64_t ki = fnn_to_bits(t) - fnn_to_bits(FNN_SHIFT);
        *scale = fnn_from_bits((ki + 1023) << 52);
        return fnn_expm1_poly(r);
    }

    static inline double fnn_exp(double x) {
        double xc = x > 709.0 ? 709.0 : x;
        xc = xc < -708.0 ? -708.0 : xc;
        double scale;
        double e = fnn_reduce(xc, &scale);
        double y = scale + scale * e;
        y = x > 709.0 ? INFINITY : y;
        return x < -708.0 ? 0.0 : y;
    }

    /* tanh|x| = expm1(2|x|) / (expm1(2|x|) + 2), with expm1(y) = 2^k expm1(r) + (2^k - 1):
       no cancellation for small x; |x| > 20 gives 1 exactly, as in double tanh. */
    static inline double fnn_tanh(double x) {
        double ax = fabs(x);
        ax = ax > 20.0 ? 20.0 : ax;
        double scale;
        double e = fnn_reduce(2.0 * ax, &scale);
        double em = scale * e + (scale - 1.0);
        return copysign(em / (em + 2.0), x);
    }

    /* Branch-free log and log1p in double (float arguments are widened), for the loss loops.
       log: fdlibm's e_log.c algorithm (x = 2^k m, m in [sqrt2/2, sqrt2), log m = f - f^2/2 +
       s (f^2/2 + R(s^2)), s = f / (2 + f)), its two final forms chosen by selects instead of
       branches, subnormals scaled by 2^54 first; < 1 ulp. log1p(x) = log(u) + (x - (u - 1)) / u,
       u = 1 + x: the second term restores what rounding u lost. Both keep numpy's special values:
       NaN -> NaN, +inf -> +inf, 0 (log) or -1 (log1p) -> -inf, below the domain -> NaN, and
       log1p(-0) = -0. */
    #define FNN_LG1 6.666666666666735130e-01
    #define FNN_LG2 3.999999999940941908e-01
    #define FNN_LG3 2.857142874366239149e-01
    #define FNN_LG4 2.222219843214978396e-01
    #define FNN_LG5 1.818357216161805012e-01
    #define FNN_LG6 1.531383769920937332e-01
    #define FNN_LG7 1.479819860511658591e-01

    static inline double fnn_log(double x) {
        int sub = x < 2.2250738585072014e-308;            /* subnormal, zero or negative */
        double xs = sub ? x * 18014398509481984.0 : x;     /* 2^54 */
        uint64_t bits = fnn_to_bits(xs);
        uint64_t hx = (bits >> 32) & 0xfffff;              /* high mantissa bits */
        int big = hx >= 0x6a09c;                           /* m >= sqrt2: use m / 2 */
        double m = fnn_from_bits((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
        m = big ? 0.5 * m : m;
        double dk = fnn_from_bits(0x4330000000000000ULL | ((bits >> 52) & 0x7ff))
                    - (4503599627370496.0 + 1023.0);       /* biased exponent - 1023, exactly */
        dk = dk + (big ? 1.0 : 0.0) - (sub ? 54.0 : 0.0);
        double f = m - 1.0;
        double s = f / (2.0 + f);
        double z = s * s, w = z * z;
        double R = z * (FNN_LG1 + w * (FNN_LG3 + w * (FNN_LG5 + w * FNN_LG7)))
                   + w * (FNN_LG2 + w * (FNN_LG4 + w * FNN_LG6));
        double hfsq = 0.5 * f * f;
        int mid = hx > 0x6147a && hx < 0x6b851;
        double r = mid ? dk * FNN_LN2_HI - ((hfsq - (s * (hfsq + R) + dk * FNN_LN2_LO)) - f)
                       : dk * FNN_LN2_HI - ((s * (f - R) - dk * FNN_LN2_LO) - f);
        r = x == INFINITY ? x : r;
        r = x == 0.0 ? -INFINITY : r;
        r = x < 0.0 ? NAN : r;
        return x != x ? x : r;
    }

    static inline double fnn_log1p(double x) {
        double u = 1.0 + x;
        double r = fnn_log(u) + (x - (u - 1.0)) / u;
        r = u == 1.0 ? x : r;                              /* |x| < 2^-53, and -0 stays -0 */
        r = x == INFINITY ? x : r;
        r = u == 0.0 ? -INFINITY : r;
        return x < -1.0 ? NAN : r;                         /* NaN propagates through u */
    }

    #define FNN_LOG2EF 1.44269504f
    #define FNN_LN2_HIF 0.693145751953125f
    #define FNN_LN2_LOF 1.428606765330187e-06f
    #define FNN_SHIFTF 12582912.0f /* 1.5 * 2^23 */

    static inline float fnn_expm1_polyf(float r) {
        float p = 1.0f / 40320.0f;
        p = p * r + 1.0f / 5040.0f;
        p = p * r + 1.0f / 720.0f;
        p = p * r + 1.0f / 120.0f;
        p = p * r + 1.0f / 24.0f;
        p = p * r + 1.0f / 6.0f;
        p = p * r + 0.5f;
        return r + r * r * p;
    }

    static inline float fnn_reducef(float y, float *scale) {
        float t = y * FNN_LOG2EF + FNN_SHIFTF;
        float k = t - FNN_SHIFTF;
        float r = (y - k * FNN_LN2_HIF) - k * FNN_LN2_LOF;
        uint32_t ki = fnn_to_bitsf(t) - fnn_to_bitsf(FNN_SHIFTF);
        *scale = fnn_from_bitsf((ki + 127u) << 23);
        return fnn_expm1_polyf(r);
    }

    static inline float fnn_expf(float x) {
        float xc = x > 88.0f ? 88.0f : x;
        xc = xc < -87.0f ? -87.0f : xc;
        float scale;
        float e = fnn_reducef(xc, &scale);
        float y = scale + scale * e;
        y = x > 88.0f ? INFINITY : y;
        return x < -87.0f ? 0.0f : y;
    }

    static inline float fnn_tanhf(float x) {
        float ax = fabsf(x);
        ax = ax > 9.0f ? 9.0f : ax;
        float scale;
        float e = fnn_reducef(2.0f * ax, &scale);
        float em = scale * e + (scale - 1.0f);
        return copysignf(em / (em + 2.0f), x);
    }

    /* Elementwise row loops. Compiled three times (AVX-512, AVX2+FMA, baseline x86-64) and picked
       at load time (gcc target_clones / ifunc), so a generic wheel still runs 4-8 lanes wide.
       Each loop is branch-free; an in-place call (dst == src) gets its own copy of the loop,
       since gcc's runtime alias check would send it to the scalar fallback. Row sums use
       "omp simd" reductions (-fopenmp-simd; no OpenMP runtime). */
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
    #define FNN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
    #else
    #define FNN_CLONES
    #endif
    #define FNN_PRAGMA(x) _Pragma(#x)

    #define FNN_ACT_LOOPS(T, EXP, TANH, IN, OUT)                                                 \
        switch (act) {                                                                         \
        case 0: for (j = 0; j < m; j++) OUT[j] = IN[j] + bias; break;                          \
        case 1: for (j = 0; j < m; j++) OUT[j] = 1 / (1 + EXP(-(IN[j] + bias))); break;        \
        case 2: for (j = 0; j < m; j++) OUT[j] = TANH(IN[j] + bias); break;                    \
        case 3: for (j = 0; j < m; j++) { T z = IN[j] + bias; OUT[j] = z <= 0 ? 0 : z; } break; \
        default: for (j = 0; j < m; j++) { T z = IN[j] + bias; OUT[j] = z < 0 ? z * slope : z; } \
        }

    /* one logit: e = exp(-|z|), a = sigmoid(z), loss = max(z, 0) - y z + log1p(e) */
    #define FNN_SIGMOID_LOSS(T, EXP)                                                           \
        T z = Z[j], y = Y[j];                                                                  \
        T e = EXP(z >= 0 ? -z : z);                                                            \
        T a = z >= 0 ? 1 / (1 + e) : e / (1 + e);                                              \
        total += (double)(z > 0 ? z : 0) - (double)y * z + fnn_log1p(e);

    #define FNN_ROWS(T, SUF, EXP, TANH)                                                          \
    /* dst[j] = g(src[j] + bias) */                                                            \
    FNN_CLONES static void fnn_act_row_##SUF(const T *src, T *dst, T bias, Py_ssize_t m,       \
                                             int act, T slope) {                               \
        Py_ssize_t j;                                                                          \
        if (src == dst) { FNN_ACT_LOOPS(T, EXP, TANH, dst, dst) }                              \
        else { FNN_ACT_LOOPS(T, EXP, TANH, src, dst) }                                         \
    }                                                                                          \
    /* dZ = dA * g'(Z), the course's formulas term for term; returns sum(dZ) */                \
    FNN_CLONES static T fnn_back_z_row_##SUF(const T *dA, const T *Z, T *dZ, Py_ssize_t m,     \
                                             int act, T slope) {                               \
        Py_ssize_t j; T acc = 0;                                                               \
        switch (act) {                                                                         \
        case 0: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) { dZ[j] = dA[j]; acc += dZ[j]; } break;                    \
        case 1: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) { T s = 1 / (1 + EXP(-Z[j])); dZ[j] = dA[j] * s * (1 - s);  \
                                      acc += dZ[j]; } break;                                   \
        case 2: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) { T t = TANH(Z[j]); dZ[j] = dA[j] * (1 - t * t);           \
                                      acc += dZ[j]; } break;                                   \
        case 3: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) { dZ[j] = Z[j] <= 0 ? 0 : dA[j]; acc += dZ[j]; } break;    \
        default: FNN_PRAGMA(omp simd reduction(+:acc))                                         \
            for (j = 0; j < m; j++) { dZ[j] = Z[j] > 0 ? dA[j] : dA[j] * slope; acc += dZ[j]; } \
        }                                                                                      \
        return acc;                                                                            \
    }                                                                                          \
    /* in place dA -> dZ = dA * g'(Z) with g' read off A = g(Z); returns sum(dZ) */            \
    FNN_CLONES static T fnn_back_a_row_##SUF(T *dZ, const T *A, Py_ssize_t m, int act,         \
                                             T slope) {                                        \
        Py_ssize_t j; T acc = 0;                                                               \
        switch (act) {                                                                         \
        case 0: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) acc += dZ[j]; break;                                       \
        case 1: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) { dZ[j] = dZ[j] * A[j] * (1 - A[j]); acc += dZ[j]; } break; \
        case 2: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) { dZ[j] = dZ[j] * (1 - A[j] * A[j]); acc += dZ[j]; } break; \
        case 3: FNN_PRAGMA(omp simd reduction(+:acc))                                          \
            for (j = 0; j < m; j++) { dZ[j] = A[j] <= 0 ? 0 : dZ[j]; acc += dZ[j]; } break;    \
        default: FNN_PRAGMA(omp simd reduction(+:acc))                                         \
            for (j = 0; j < m; j++) { dZ[j] = A[j] > 0 ? dZ[j] : dZ[j] * slope; acc += dZ[j]; } \
        }                                                                                      \
        return acc;                                                                            \
    }                                                                                          \
    /* in place Z -> dZ = g(Z) - Y for the output layer (sigmoid or linear), no loss */        \
    FNN_CLONES static void fnn_out_delta_##SUF(T *Z, const T *Y, Py_ssize_t count, int output) { \
        Py_ssize_t j;                                                                          \
        if (output == 0) { for (j = 0; j < count; j++) Z[j] = 1 / (1 + EXP(-Z[j])) - Y[j]; }  \
        else { for (j = 0; j < count; j++) Z[j] = Z[j] - Y[j]; }                               \
    }                                                                                          \
    /* 1 when every x[j] is finite: x - x is exactly 0 then, NaN for NaN and for ±inf */      \
    FNN_CLONES static int fnn_all_finite_##SUF(const T *x, Py_ssize_t count) {                  \
        Py_ssize_t j; T acc = 0;                                                               \
        FNN_PRAGMA(omp simd reduction(+:acc))                                                  \
        for (j = 0; j < count; j++) acc += x[j] - x[j];                                        \
        return acc == 0;                                                                       \
    }                                                                                          \
    FNN_CLONES static T fnn_row_sum_##SUF(const T *x, Py_ssize_t m) {                          \
        Py_ssize_t j; T acc = 0;                                                               \
        FNN_PRAGMA(omp simd reduction(+:acc))                                                  \
        for (j = 0; j < m; j++) acc += x[j];                                                   \
        return acc;                                                                            \
    }                                                                                          \
    /* Output layer fused with its loss (see _output_loss): returns the loss summed in double; \
       writes A = g(Z) and dZ = A - Y, or, with A == NULL, dZ in place of Z (dZ == Z; "omp    \
       simd" vectorises that without an alias check). */                                      \
    FNN_CLONES static double fnn_out_loss_##SUF(const T *Z, const T *Y, T *A, T *dZ,           \
                                                Py_ssize_t count, int output) {                \
        Py_ssize_t j; double total = 0;                                                        \
        if (output == 0 && A == NULL) {                                                        \
            FNN_PRAGMA(omp simd reduction(+:total))                                            \
            for (j = 0; j < count; j++) { FNN_SIGMOID_LOSS(T, EXP) dZ[j] = a - y; }            \
        } else if (output == 0) {                                                              \
            FNN_PRAGMA(omp simd reduction(+:total))                                            \
            for (j = 0; j < count; j++) { FNN_SIGMOID_LOSS(T, EXP) A[j] = a; dZ[j] = a - y; }  \
        } else if (A == NULL) {                                                                \
            FNN_PRAGMA(omp simd reduction(+:total))                                            \
            for (j = 0; j < count; j++) { T d = Z[j] - Y[j]; dZ[j] = d; total += 0.5 * d * d; } \
        } else {                                                                               \
            FNN_PRAGMA(omp simd reduction(+:total))                                            \
            for (j = 0; j < count; j++) {                                                      \
                T d = Z[j] - Y[j]; A[j] = Z[j]; dZ[j] = d; total += 0.5 * d * d; }             \
        }                                                                                      \
        return total;                                                                          \
    }                                                                                          \
    /* the course's cost from probabilities, summed in double (see _cross_entropy) */         \
    FNN_CLONES static double fnn_cross_entropy_##SUF(const T *AL, const T *Y, Py_ssize_t count) { \
        Py_ssize_t j; double total = 0;                                                        \
        FNN_PRAGMA(omp simd reduction(+:total))                                                \
        for (j = 0; j < count; j++) {                                                          \
            double a = AL[j], y = Y[j];                                                        \
            double t1 = y != 0 ? y * fnn_log(a) : 0.0;                                         \
            double t2 = y != 1 ? (1 - y) * fnn_log1p(-a) : 0.0;                                \
            total -= t1 + t2;                                                                  \
        }                                                                                      \
        return total;                                                                          \
    }

    FNN_ROWS(double, d, fnn_exp, fnn_tanh)
    FNN_ROWS(float, f, fnn_expf, fnn_tanhf)

    /* Small GEMM, C := alpha·op(A)·op(B) + beta·C (M×N, K deep), for products so small that a
       BLAS call's fixed cost (about 1 µs with OpenBLAS's Haswell kernels) would dominate: the
       planar net's whole step is ~10k multiply-adds. Operands by element strides:
       op(A)[i,k] = A[i*ai + k*ak], op(B)[k,j] = B[k*bk + j*bj], C[i,j] = C[i*ci + j*cj].
       Two vectorised forms: rows of C as sums of scaled rows of op(B) when both are contiguous
       along j (bj == cj == 1: forward, dA_prev = Wᵀ·dZ), else dot products, which need op(A)
       and op(B) contiguous along k (ak == bk == 1: dW = dZ·A_prevᵀ); the caller
       (_small_gemm_suits) sends nothing else. As in BLAS, C is not read when beta = 0. */
    #define FNN_SMALL_GEMM(T, SUF)                                                              \
    FNN_CLONES static void fnn_small_gemm_##SUF(                                               \
            int M, int N, int K, T alpha, const T *A, Py_ssize_t ai, Py_ssize_t ak,            \
            const T *B, Py_ssize_t bk, Py_ssize_t bj, T beta, T *C, Py_ssize_t ci,             \
            Py_ssize_t cj) {                                                                   \
        Py_ssize_t i, j, k;                                                                    \
        if (bj == 1 && cj == 1) {                                                              \
            for (i = 0; i < M; i++) {                                                          \
                T *__restrict c = C + i * ci;                                                    \
                const T *a = A + i * ai;                                                       \
                T a0 = alpha * a[0];                                                           \
                const T *__restrict b0 = B;                                                      \
                if (beta == 0) { for (j = 0; j < N; j++) c[j] = a0 * b0[j]; }                  \
                else if (beta == 1) { for (j = 0; j < N; j++) c[j] += a0 * b0[j]; }            \
                else { for (j = 0; j < N; j++) c[j] = beta * c[j] + a0 * b0[j]; }              \
                for (k = 1; k + 1 < K; k += 2) {                                               \
                    T a1 = alpha * a[k * ak], a2 = alpha * a[(k + 1) * ak];                    \
                    const T *__restrict b1 = B + k * bk;                                         \
                    const T *__restrict b2 = b1 + bk;                                            \
                    for (j = 0; j < N; j++) c[j] += a1 * b1[j] + a2 * b2[j];                   \
                }                                                                              \
                if (k < K) {                                                                   \
                    T a1 = alpha * a[k * ak];                                                  \
                    const T *__restrict b1 = B + k * bk;                                         \
                    for (j = 0; j < N; j++) c[j] += a1 * b1[j];                                \
                }                                                                              \
            }                                                                                  \
        } else {                                                                               \
            for (i = 0; i < M; i++) {                                                          \
                const T *a = A + i * ai;                                                       \
                for (j = 0; j < N; j++) {                                                      \
                    const T *b = B + j * bj;                                                   \
                    /* four independent sums over the quarters of k: one chain would wait on  \
                       the FMA latency at every step */                                       \
                    Py_ssize_t q = K / 4;                                                      \
                    T s0 = 0, s1 = 0, s2 = 0, s3 = 0, acc;                                     \
                    FNN_PRAGMA(omp simd reduction(+:s0, s1, s2, s3))                           \
                    for (k = 0; k < q; k++) {                                                  \
                        s0 += a[k] * b[k]; s1 += a[q + k] * b[q + k];                          \
                        s2 += a[2 * q + k] * b[2 * q + k]; s3 += a[3 * q + k] * b[3 * q + k];  \
                    }                                                                          \
                    for (k = 4 * q; k < K; k++) s3 += a[k] * b[k];                             \
                    acc = (s0 + s1) + (s2 + s3);                                               \
                    T *c = C + i * ci + j * cj;                                                \
                    *c = beta == 0 ? alpha * acc : alpha * acc + beta * *c;                    \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

    FNN_SMALL_GEMM(double, d)
    FNN_SMALL_GEMM(float, f)
    """
    double fnn_exp(double x) noexcept nogil
    double fnn_tanh(double x) noexcept nogil
    float fnn_expf(float x) noexcept nogil
    float fnn_tanhf(float x) noexcept nogil
    void fnn_act_row_d(const double*, double*, double, Py_ssize_t, int, double) noexcept nogil
    void fnn_act_row_f(const float*, float*, float, Py_ssize_t, int, float) noexcept nogil
    double fnn_back_z_row_d(const double*, const double*, double*, Py_ssize_t, int,
                            double) noexcept nogil
    float fnn_back_z_row_f(const float*, const float*, float*, Py_ssize_t, int,
                           float) noexcept nogil
    double fnn_back_a_row_d(double*, const double*, Py_ssize_t, int, double) noexcept nogil
    float fnn_back_a_row_f(float*, const float*, Py_ssize_t, int, float) noexcept nogil
    void fnn_out_delta_d(double*, const double*, Py_ssize_t, int) noexcept nogil
    void fnn_out_delta_f(float*, const float*, Py_ssize_t, int) noexcept nogil
    int fnn_all_finite_d(const double*, Py_ssize_t) noexcept nogil
    int fnn_all_finite_f(const float*, Py_ssize_t) noexcept nogil
    double fnn_row_sum_d(const double*, Py_ssize_t) noexcept nogil
    float fnn_row_sum_f(const float*, Py_ssize_t) noexcept nogil
    double fnn_log(double x) noexcept nogil
    double fnn_log1p(double x) noexcept nogil
    double fnn_out_loss_d(const double*, const double*, double*, double*, Py_ssize_t,
                          int) noexcept nogil
    double fnn_out_loss_f(const float*, const float*, float*, float*, Py_ssize_t, int) noexcept nogil
    double fnn_cross_entropy_d(const double*, const double*, Py_ssize_t) noexcept nogil
    double fnn_cross_entropy_f(const float*, const float*, Py_ssize_t) noexcept nogil
    void fnn_small_gemm_d(int, int, int, double, const double*, Py_ssize_t, Py_ssize_t,
                          const double*, Py_ssize_t, Py_ssize_t, double, double*, Py_ssize_t,
                          Py_ssize_t) noexcept nogil
    void fnn_small_gemm_f(int, int, int, float, const float*, Py_ssize_t, Py_ssize_t,
                          const float*, Py_ssize_t, Py_ssize_t, float, float*, Py_ssize_t,
                          Py_ssize_t) noexcept nogil


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


cdef inline int _layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t s0, Py_ssize_t s1,
                        int* ld) noexcept nogil:
    """How BLAS can read a (rows, cols) matrix with element strides (s0, s1).

    Returns 1 for row-major with leading dimension ld (M[i, j] at i*ld + j), 0 for column-major
    (M[i, j] at i + j*ld), -1 when BLAS cannot read it (negative or overlapping strides, or a
    leading dimension that does not fit BLAS's int): the caller must copy. Length-1 dimensions
    have meaningless strides and are ignored.
    """
    if (rows > 1 and s0 >= INT_MAX) or (cols > 1 and s1 >= INT_MAX):
        return -1
    if (cols <= 1 or s1 == 1) and (rows <= 1 or s0 >= cols):
        ld[0] = <int>(s0 if rows > 1 else (cols if cols > 1 else 1))
        return 1
    if (rows <= 1 or s0 == 1) and (cols <= 1 or s1 >= rows):
        ld[0] = <int>(s1 if cols > 1 else (rows if rows > 1 else 1))
        return 0
    return -1


# Products of at most this many multiply-adds skip BLAS (see fnn_small_gemm), and so do skinny
# products (a dimension of at most SKINNY, e.g. a one-unit output layer) of at most
# SKINNY_LIMIT multiply-adds: OpenBLAS's Haswell kernels run those 1.2-5x slower than
# fnn_small_gemm, single-threaded as it is (`python bench/small_gemm.py`). Either way only when
# fnn_small_gemm's vectorised axis (N for its row form, K for its dot form; m, the number of
# examples, for every product of a layer) has at least MIN_ROW elements: on short rows (one
# example, a small batch) its loops run scalar and BLAS wins. Larger skinny products stream
# more than the caches hold, where many BLAS threads on a many-core machine could win; they
# stay with BLAS. The limit depends on the kernels scipy's OpenBLAS runs (_small_gemm_policy):
# its AVX-512 cores have a small-matrix path of their own and get everything. 0 sends every
# product to BLAS, -1 every product that one of fnn_small_gemm's forms can read to it (test
# hook, _set_small_gemm_limit: the tests compare the two paths).
SMALL_GEMM_LIMIT = 32768
cdef long long small_gemm_limit = SMALL_GEMM_LIMIT
cdef int SKINNY = 3
cdef long long SKINNY_LIMIT = 1 << 23
cdef long long MIN_ROW = 32


def _small_gemm_policy(corename):
    """The default small-GEMM limit when scipy's OpenBLAS runs the kernel set ``corename``.

    0 (every product to BLAS) for OpenBLAS's AVX-512 cores (SkylakeX, Cooperlake,
    SapphireRapids): their small-matrix kernels beat fnn_small_gemm inside the training loop on
    every bench workload measured on an Intel AVX-512 machine (planar 2.60 vs 3.09 µs per
    iteration, cat64 91 vs 103 µs, the others equal), as they did on a Zen 4. SMALL_GEMM_LIMIT
    for the rest (Haswell and older, where a BLAS call costs about 1 µs whatever its size) and
    when the core is unknown.
    """
    return 0 if (corename or "").lower() in AVX512_CORENAMES else SMALL_GEMM_LIMIT


BLAS_CORENAME = scipy_corename()  # cython_blas (cimported above) has loaded scipy's OpenBLAS
check_loaded_core(BLAS_CORENAME)  # AVX2 kernels on an AVX-512 CPU, fastnn left to choose: warn
small_gemm_limit = _small_gemm_policy(BLAS_CORENAME)


cdef long long GEMV_MIN = 65536  # see _gemm


def _set_small_gemm_limit(long long limit):
    """Test hook: set the small-GEMM limit (multiply-adds; 0: all to BLAS, -1: all that
    fnn_small_gemm can read to it); returns the previous one."""
    global small_gemm_limit
    previous = small_gemm_limit
    small_gemm_limit = limit
    return previous


cdef inline bint _small_gemm_suits(long long M, long long N, long long K,
                                   long long row) noexcept nogil:
    """row: the length of the axis fnn_small_gemm would vectorise (0: neither form applies)."""
    cdef long long madds = M * N * K
    if small_gemm_limit < 0:
        return row > 0
    return small_gemm_limit > 0 and row >= MIN_ROW and (madds <= small_gemm_limit or (
        madds <= max(small_gemm_limit, SKINNY_LIMIT)
        and (M <= SKINNY or N <= SKINNY or K <= SKINNY)))


def _describe_small_gemm():
    """The routing rule in words, for ``fastnn info`` and bench/small_gemm.py."""
    core = BLAS_CORENAME or "unknown"
    if small_gemm_limit == 0:
        return f"every product goes to BLAS (scipy's OpenBLAS core {core})"
    if small_gemm_limit < 0:
        return "every product fnn_small_gemm can read skips BLAS (test mode)"
    return (f"with >= {MIN_ROW} examples, products of <= {small_gemm_limit} multiply-adds, or "
            f"with a dimension <= {SKINNY} and <= {SKINNY_LIMIT}, skip BLAS (single-threaded; "
            f"scipy's OpenBLAS core {core})")


def _routes_to_small_gemm(n, k, m):
    """Whether a layer W (n, k) on A_prev (k, m), C-contiguous, runs its products (forward,
    dW, dA_prev: the same three dimensions) in fnn_small_gemm rather than BLAS."""
    return _small_gemm_suits(n, k, m, m)


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
    cdef bint a_along_k = a_rowmajor ^ trans_a   # op(A)[i, k] contiguous in k
    cdef bint b_along_j = b_rowmajor ^ trans_b   # op(B)[k, j] contiguous in j
    cdef long long row = (N if (b_along_j and c_rowmajor) else
                          K if (a_along_k and not b_along_j) else 0)
    cdef Py_ssize_t ai = lda if a_along_k else 1, ak = 1 if a_along_k else lda
    cdef Py_ssize_t bk = ldb if b_along_j else 1, bj = 1 if b_along_j else ldb
    cdef Py_ssize_t ci = ldc if c_rowmajor else 1, cj = 1 if c_rowmajor else ldc
    if _small_gemm_suits(M, N, K, row):
        if floating is float:
            fnn_small_gemm_f(M, N, K, alpha, <float*>A, ai, ak, <float*>B, bk, bj, beta, C, ci, cj)
        else:
            fnn_small_gemm_d(M, N, K, alpha, <double*>A, ai, ak, <double*>B, bk, bj, beta, C, ci,
                             cj)
        return
    # Column-major BLAS computes C' = op(X)·op(Y), C' (Mc, Nc): C itself, or Cᵀ = op(B)ᵀ·op(A)ᵀ
    # for a row-major C.
    cdef const floating* X = B if c_rowmajor else A
    cdef const floating* Y = A if c_rowmajor else B
    cdef char fx = fb if c_rowmajor else fa
    cdef char fy = fa if c_rowmajor else fb
    cdef char ft
    cdef int ldx = ldb if c_rowmajor else lda
    cdef int ldy = lda if c_rowmajor else ldb
    cdef int Mc = N if c_rowmajor else M
    cdef int Nc = M if c_rowmajor else N
    cdef int one = 1, inc, rows, cols, i
    # A matrix-vector product (one row or one column of output) goes to ?gemv from GEMV_MIN
    # multiply-adds on: ?gemm ran those 1.2-4x slower, but smaller ones (the planar net's output
    # layer) faster through OpenBLAS's small-matrix path (bench/README.md, "Small and skinny
    # products").
    cdef bint vec = K > 1 and (Mc == 1 or Nc == 1) and <long long>K * Mc * Nc >= GEMV_MIN
    if vec and beta == 0:
        # BLAS lets beta = 0 ignore what C holds, but some OpenBLAS releases scale y by beta in
        # ?gemv, turning a NaN in the uninitialised output into a NaN result: zero it first.
        for i in range(Mc if Nc == 1 else Nc):
            C[i * (1 if Nc == 1 else ldc)] = 0
    if vec and Nc == 1:
        # One column (a one-unit layer's dW, a logistic regression's forward): C' = op(X)·y.
        inc = ldy if fy == b'T' else 1
        rows, cols = (Mc, K) if fx == b'N' else (K, Mc)
        if floating is float:
            sgemv(&fx, &rows, &cols, &alpha, <float*>X, &ldx, <float*>Y, &inc, &beta, C, &one)
        else:
            dgemv(&fx, &rows, &cols, &alpha, <double*>X, &ldx, <double*>Y, &inc, &beta, C, &one)
    elif vec:
        # One row: C'ᵀ = op(Y)ᵀ·x, the row x = op(X) read with its stride.
        inc = ldx if fx == b'N' else 1
        ft = b'T' if fy == b'N' else b'N'
        rows, cols = (K, Nc) if fy == b'N' else (Nc, K)
        if floating is float:
            sgemv(&ft, &rows, &cols, &alpha, <float*>Y, &ldy, <float*>X, &inc, &beta, C, &ldc)
        else:
            dgemv(&ft, &rows, &cols, &alpha, <double*>Y, &ldy, <double*>X, &inc, &beta, C, &ldc)
    elif floating is float:
        sgemm(&fx, &fy, &Mc, &Nc, &K, &alpha, <float*>X, &ldx, <float*>Y, &ldy, &beta, C, &ldc)
    else:
        dgemm(&fx, &fy, &Mc, &Nc, &K, &alpha, <double*>X, &ldx, <double*>Y, &ldy, &beta, C, &ldc)


cdef inline void _activation_row(const floating* src, floating* dst, floating bias, Py_ssize_t m,
                                 int act, floating slope) noexcept nogil:
    """dst[j] = g(src[j] + bias), dst either src itself or a non-overlapping row."""
    if floating is float:
        fnn_act_row_f(src, dst, bias, m, act, slope)
    else:
        fnn_act_row_d(src, dst, bias, m, act, slope)


cdef inline void _bias_activation(floating* Z, floating* A, const floating* b, Py_ssize_t b_stride,
                                  Py_ssize_t n, Py_ssize_t m, int act, floating slope) noexcept nogil:
    """Z += b (broadcast over columns), then A = g(Z); A may be Z itself. Z, A: (n, m) C order."""
    cdef Py_ssize_t i, j
    cdef floating bi
    cdef floating* zr
    for i in range(n):
        bi = b[i * b_stride]
        zr = Z + i * m
        if A == Z:
            _activation_row(zr, zr, bi, m, act, slope)
        else:
            for j in range(m):
                zr[j] += bi
            _activation_row(zr, A + i * m, <floating>0, m, act, slope)


cdef inline void _backward_from_Z(const floating* dA, const floating* Z, floating* dZ,
                                  floating* db, Py_ssize_t n, Py_ssize_t m, int act,
                                  floating slope, floating inv_m) noexcept nogil:
    """dZ = dA ⊙ g'(Z) and db = (1/m) Σ_cols dZ, one pass. The course's formulas, term for term."""
    cdef Py_ssize_t i
    for i in range(n):
        if floating is float:
            db[i] = fnn_back_z_row_f(dA + i * m, Z + i * m, dZ + i * m, m, act, slope) * inv_m
        else:
            db[i] = fnn_back_z_row_d(dA + i * m, Z + i * m, dZ + i * m, m, act, slope) * inv_m


cdef inline void _backward_from_A(floating* dZ, const floating* A, floating* db, Py_ssize_t n,
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


cdef inline floating _row_sum(const floating* x, Py_ssize_t m) noexcept nogil:
    if floating is float:
        return fnn_row_sum_f(x, m)
    else:
        return fnn_row_sum_d(x, m)


cdef inline double _output_loss(const floating* Z, const floating* Y, floating* A, floating* dZ,
                                Py_ssize_t count, int output) noexcept nogil:
    """Output layer fused with its loss, from the logits Z: A = g(Z), dZ = A − Y, returns Σ loss.

    sigmoid + cross-entropy: loss = softplus(z) − y·z = max(z, 0) − y·z + log1p(exp(−|z|)),
    finite for any finite z (no log(0)); one exp per element serves both A and the loss.
    linear + squared error: loss = (z − y)² / 2.
    Either A and dZ are both given, or A is NULL and dZ is Z itself (in place).
    """
    if floating is float:
        return fnn_out_loss_f(Z, Y, A, dZ, count, output)
    else:
        return fnn_out_loss_d(Z, Y, A, dZ, count, output)


cdef inline void _output_delta(floating* Z, const floating* Y, Py_ssize_t count,
                               int output) noexcept nogil:
    """In place Z → dZ = g(Z) − Y for the output layer, without the loss (no log1p)."""
    if floating is float:
        fnn_out_delta_f(Z, Y, count, output)
    else:
        fnn_out_delta_d(Z, Y, count, output)


cdef inline double _cross_entropy(const floating* AL, const floating* Y,
                                  Py_ssize_t count) noexcept nogil:
    """Σ −[y·log(a) + (1 − y)·log(1 − a)], the course's cost from probabilities; a term whose
    weight is exactly 0 contributes 0 (so a = 0 with y = 0 gives 0, not 0·log 0 = NaN)."""
    if floating is float:
        return fnn_cross_entropy_f(AL, Y, count)
    else:
        return fnn_cross_entropy_d(AL, Y, count)


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
    """The table's kernel id (ACTIVATION_IDS mirrors the enum; a test keeps the two equal)."""
    return get_activation(activation).id


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


def _forward(const floating[:, :] X, list Ws, list bs, list acts, floating slope):
    cdef Py_ssize_t l
    cdef int m = X.shape[1], k = X.shape[0], n, ld, prev_ld, order
    cdef int prev_order = _operand(X, &prev_ld)
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
        order = _operand(W, &ld)
        with nogil:
            _gemm(False, False, n, m, k, <floating>1, &W[0, 0], ld, order, prev, prev_ld,
                  prev_order, <floating>0, &out[0, 0], m, True)
            if l == 0:
                # Z1 checked between the bias and the activation, which could saturate inf
                _bias_activation(&out[0, 0], &out[0, 0], &b[0, 0],
                                 b.strides[0] // sizeof(floating), n, m, ACT_LINEAR, slope)
                if floating is float:
                    finite = fnn_all_finite_f(&out[0, 0], <Py_ssize_t>n * m)
                else:
                    finite = fnn_all_finite_d(&out[0, 0], <Py_ssize_t>n * m)
                _bias_activation(&out[0, 0], &out[0, 0], &zero, 0, n, m, act, slope)
            else:
                _bias_activation(&out[0, 0], &out[0, 0], &b[0, 0],
                                 b.strides[0] // sizeof(floating), n, m, act, slope)
        prev, prev_ld, prev_order, k = &out[0, 0], m, True, n
    return A, finite


def forward(X, Ws, bs, activations, slope=0.01):
    """A[L] = g_L(W_L·(… g_1(W_1·X + b_1) …) + b_L), all layers in one call: per layer one GEMM
    and one bias+activation pass in place, no Z kept (inference).

    X (n_x, m) and every W (n_l, n_{l-1}) in any BLAS-readable layout, b (n_l, 1), one float
    dtype; ``activations`` has one name per layer, the output's included. Returns (AL, finite):
    finite tells whether Z1 = W1·X + b1 is all finite, checked before g_1, since a saturating
    activation (tanh(inf) = 1) would hide an inf in X from every later layer.
    """
    if len(Ws) < 1 or len(bs) != len(Ws) or len(activations) != len(Ws):
        raise ValueError("forward: need one b and one activation per W")
    _check_dims(*X.shape)
    return _forward(X, list(Ws), list(bs), [_activation_id(a) for a in activations], slope)


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
                            memcpy(D[0], Zp, <size_t>n * m * sizeof(floating))
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
                    _output_delta(D[L - 1], &Y[0, 0], <Py_ssize_t>n * m, output)
                # Backward with SGD fused into the dW GEMM (beta = 1): dA_prev = Wᵀ·dZ first.
                for l in range(L - 1, -1, -1):
                    n = dims[l + 1]
                    k = dims[l]
                    dz = D[l]
                    if l == L - 1:
                        for i in range(n):
                            db[i] = _row_sum(dz + i * m, m) * inv_m
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
