/* Branch-free exp, tanh, log and log1p that gcc vectorises (libm's scalar calls block
   vectorisation, and -ffast-math is not an option: it breaks NaN/inf handling).

   exp and tanh: Cody-Waite reduction x = k·ln2 + r, |r| <= ln2/2, the rounding done with the
   1.5·2^52 shift trick so k also appears as an integer in the bits; expm1(r) by a polynomial
   (fnn_expm1_poly, within 1 ulp); 2^k assembled in the exponent bits. NaN propagates. exp
   flushes to 0 below -708 (float: -87) and to inf above 709 (float: 88), where the true value
   is within a denormal of 0 or overflows anyway. Accuracy (tests/test_native.py): a few ulp. */
#ifndef FASTNN_MATH_H
#define FASTNN_MATH_H

#include <math.h>
#include <stddef.h>
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
   like the degree-11 Taylor polynomial it replaced, with two FMAs fewer. The lines between
   BEGIN and END are written by tools/fit_expm1.py --write. */
static inline double fnn_expm1_poly(double r) {
    /* BEGIN fnn_expm1_poly coefficients */
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
    /* END fnn_expm1_poly coefficients */
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


#endif /* FASTNN_MATH_H */
