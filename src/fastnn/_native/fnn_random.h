/*
 * fnn_random.h -- bit-exact re-implementation of numpy's legacy
 * `np.random.seed(s); np.random.permutation(m)`
 * (== `np.random.RandomState(s).permutation(m)`) in plain C99.
 *
 * Written from the algorithm in numpy (BSD-3-Clause); each function says
 * which numpy routine it mirrors.  Verified against numpy 2.4.
 *
 * Sequence of events in numpy:
 *   RandomState(s) / np.random.seed(s)
 *       -> MT19937._legacy_seeding(s)         (numpy/random/_mt19937.pyx)
 *       -> mt19937_seed(state, s)             (src/mt19937/mt19937.c)
 *   RandomState.permutation(m)                (numpy/random/mtrand.pyx)
 *       -> arr = np.arange(m) (int64 / C long); self.shuffle(arr)
 *       -> RandomState._shuffle_raw: for i = m-1 down to 1:
 *              j = random_interval(bitgen, i); swap(arr[i], arr[j])
 *   random_interval                           (src/distributions/distributions.c)
 *       masked rejection on next_uint32 (max <= 2**32-1) or next_uint64.
 *
 * No global state; everything lives in an fnn_mt19937 the caller owns.
 */
#ifndef FNN_RANDOM_H
#define FNN_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#define FNN_MT_N 624
#define FNN_MT_M 397

/* Mirrors numpy's mt19937_state: 624-word key plus read position. */
typedef struct fnn_mt19937 {
    uint32_t key[FNN_MT_N];
    int pos; /* index of next word to temper; FNN_MT_N means "refill first" */
} fnn_mt19937;

/* Mirrors mt19937_seed() (what _legacy_seeding calls for an integer seed):
 * Knuth's multiplier-1812433253 initialisation; pos = 624 so that the very
 * first draw regenerates the whole block. */
static inline void fnn_mt_seed(fnn_mt19937 *st, uint32_t seed)
{
    int i;
    for (i = 0; i < FNN_MT_N; i++) {
        st->key[i] = seed;
        seed = 1812433253u * (seed ^ (seed >> 30)) + (uint32_t)(i + 1);
    }
    st->pos = FNN_MT_N;
}

/* Mirrors mt19937_gen(): regenerate all 624 words (reference MT19937). */
static inline uint32_t fnn__mt_twist(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t y = (a & 0x80000000u) | (b & 0x7fffffffu);
    return c ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
}

static inline void fnn_mt_gen(fnn_mt19937 *st)
{
    uint32_t *k = st->key;
    int i;
    for (i = 0; i < FNN_MT_N - FNN_MT_M; i++)
        k[i] = fnn__mt_twist(k[i], k[i + 1], k[i + FNN_MT_M]);
    for (; i < FNN_MT_N - 1; i++)
        k[i] = fnn__mt_twist(k[i], k[i + 1], k[i + FNN_MT_M - FNN_MT_N]);
    k[FNN_MT_N - 1] = fnn__mt_twist(k[FNN_MT_N - 1], k[0], k[FNN_MT_M - 1]);
    st->pos = 0;
}

/* Mirrors mt19937_next()/mt19937_next32(): refill if exhausted, temper. */
static inline uint32_t fnn_mt_next32(fnn_mt19937 *st)
{
    uint32_t y;
    if (st->pos == FNN_MT_N)
        fnn_mt_gen(st);
    y = st->key[st->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* Mirrors mt19937_next64(): first 32-bit draw is the HIGH half, second the
 * low half.  (numpy writes this as one expression `a() << 32 | a()`, whose
 * evaluation order C leaves unspecified; numpy's binaries -- and the test
 * against Generator(MT19937).integers full-range uint64 -- give high-first.
 * We sequence it explicitly.) */
static inline uint64_t fnn_mt_next64(fnn_mt19937 *st)
{
    uint64_t hi = fnn_mt_next32(st);
    uint64_t lo = fnn_mt_next32(st);
    return (hi << 32) | lo;
}

/* Mirrors random_interval(): uniform integer in [0, max] by masked
 * rejection.  mask = smallest 2**k - 1 >= max.  Uses ONE 32-bit draw per
 * try when max <= 0xffffffff, otherwise one 64-bit draw (two words) per try.
 * max == 0 returns 0 without consuming anything. */
static inline uint64_t fnn_random_interval(fnn_mt19937 *st, uint64_t max)
{
    uint64_t mask = max, value;
    if (max == 0)
        return 0;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    if (max <= 0xffffffffu) {
        do {
            value = fnn_mt_next32(st) & mask;
        } while (value > max);
    } else {
        do {
            value = fnn_mt_next64(st) & mask;
        } while (value > max);
    }
    return value;
}

/* Mirrors RandomState.permutation(int m) = np.arange(m) followed by
 * RandomState.shuffle -> _shuffle_raw: i from m-1 down to 1,
 * j = random_interval(i), swap perm[i] <-> perm[j].  m <= 1 draws nothing
 * (m <= 0 writes nothing, like np.arange of a non-positive length).
 * numpy's arange is int64; the same sequence is written here as int32.
 * Precondition: 0 <= m < 2**31 (so every index fits and every draw takes
 * the 32-bit branch of random_interval). */
static inline void fnn_legacy_permutation_i32(fnn_mt19937 *st, int32_t *perm,
                                              int64_t m)
{
    int64_t i, j;
    int32_t t;
    for (i = 0; i < m; i++)
        perm[i] = (int32_t)i;
    for (i = m - 1; i > 0; i--) {
        j = (int64_t)fnn_random_interval(st, (uint64_t)i);
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Dropout masks: a counter-based generator, so a mask is a pure function of (seed, step,
 * layer, unit, column) -- the same whatever the threads or the order the batch is computed in,
 * and recomputed in the backward pass rather than stored. SplitMix64's finaliser (Steele,
 * Lea, Flood 2014) mixes a row key, and the row's column j draws
 * u = (mix(key + j) >> 11) * 2^-53, uniform on [0, 1); the unit is kept when u < keep_prob.
 * fastnn.reference._dropout_mask computes the same numbers in numpy. */
static inline uint64_t fnn_mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* the key of row i (unit i) of hidden layer `layer` (0-based) at training step t */
static inline uint64_t fnn_dropout_key(uint64_t seed, uint64_t t, int layer, int i)
{
    uint64_t k = fnn_mix64(fnn_mix64(seed) ^ t);
    return fnn_mix64(k ^ (((uint64_t)(uint32_t)layer << 32) | (uint32_t)i));
}

static inline double fnn_dropout_u(uint64_t key, int64_t j)
{
    return (double)(fnn_mix64(key + (uint64_t)j) >> 11) * 0x1.0p-53;
}

#endif /* FNN_RANDOM_H */
