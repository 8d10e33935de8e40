/* Build-wide macros of fastnn's hand-written C (static inline, compiled into each extension).

   FNN_CLONES: the elementwise loops are compiled three times (AVX-512, AVX2+FMA, baseline
   x86-64) and picked at load time (gcc target_clones / ifunc), so a generic wheel still runs
   4-8 lanes wide. Other compilers and platforms get one generic build.
   FNN_STATIC: file-local; each extension uses only some of the loops, so unused is fine.
   FNN_PREFETCH, FNN_GATHER_AHEAD: see below.
   FNN_PRAGMA: a pragma from inside a macro ("omp simd" reductions; -fopenmp-simd, no OpenMP
   runtime). */
#ifndef FASTNN_CONFIG_H
#define FASTNN_CONFIG_H

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define FNN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FNN_CLONES
#endif
#if defined(__GNUC__)
#define FNN_STATIC static __attribute__((unused))
#else
#define FNN_STATIC static
#endif
#define FNN_PRAGMA(x) _Pragma(#x)

/* FNN_PREFETCH: a hint to bring a cache line into the L2 (locality 1: prefetcht2 on x86), or
   nothing where the compiler has no builtin; FNN_GATHER_AHEAD: how many columns ahead a
   mini-batch gather prefetches. Measured on a Zen 4 (one epoch of [784, 1] logistic regression,
   batches of 128 from a 188 MB X, where the gather is the step): 49-52 µs a step with these,
   70-95 with prefetches into L1 (prefetcht0, which competes with the copy for L1's miss
   buffers), 67 with none; 8 or 16 columns ahead were no better. */
#if defined(__GNUC__)
#define FNN_PREFETCH(p) __builtin_prefetch(p, 0, 1)
#else
#define FNN_PREFETCH(p) ((void)(p))
#endif
#define FNN_GATHER_AHEAD 4

#endif /* FASTNN_CONFIG_H */
