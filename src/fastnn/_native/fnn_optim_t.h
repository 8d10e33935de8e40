/* The optimizer step of one float type: included by fnn_rows.h once per type (see there).

   One fused pass over a flat range θ[0..n) of the parameter vector, with its gradient g and the
   optimizer's state vectors v and s over the same range (NULL where the optimizer has none).
   The engine calls it once for the weights, with the L2 coefficient l2 = λ/m, and once for the
   biases, with l2 = 0 (biases are not penalised). With g' = g + l2·θ:
     gd        θ ← θ − α·g'
     momentum  v ← β·v + (1 − β)·g';  θ ← θ − α·v                       (β passed as beta1)
     adam      v ← β1·v + (1 − β1)·g';  s ← β2·s + (1 − β2)·g'²;
               θ ← θ − α·(v / bc1) / (√(s / bc2) + ε),  bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ
               (evaluated as θ ← θ − α_t·v / (√s + ε_t), see below)
     sklearn_adam  the same moments; θ ← θ − α_t·v / (√s + ε), scikit-learn's form
     sklearn_sgd   v ← μ·v − α·g';  θ ← θ + v                          (μ passed as beta1)
     sklearn_nesterov  v ← μ·v − α·g';  θ ← θ + μ·v − α·g'   (scikit-learn's SGDOptimizer)
   The coefficients arrive precomputed in double and rounded to the type once (c1 = 1 − β1,
   c2 = 1 − β2), as numpy rounds a Python float scalar meeting a float32 array; gd and
   momentum then compute each element in the order the course's numpy writes it. */

FNN_CLONES FNN_STATIC void FNN_NAME(fnn_optimizer_step)(int optimizer, ptrdiff_t n,
                                                        FNN_T *__restrict theta,
                                                        const FNN_T *__restrict g,
                                                        FNN_T *__restrict v, FNN_T *__restrict s,
                                                        FNN_T lr, FNN_T l2, FNN_T beta1,
                                                        FNN_T c1, FNN_T beta2, FNN_T c2,
                                                        FNN_T eps, FNN_T bc1, FNN_T bc2) {
    ptrdiff_t i;
    switch (optimizer) {
    case FNN_OPT_MOMENTUM:
        for (i = 0; i < n; i++) {
            FNN_T gi = g[i] + l2 * theta[i];
            v[i] = beta1 * v[i] + c1 * gi;
            theta[i] = theta[i] - lr * v[i];
        }
        break;
    case FNN_OPT_ADAM:
    case FNN_OPT_SKLEARN_ADAM:
        /* α·(v/bc1)/(√(s/bc2) + ε) = α_t·v/(√s + ε_t), α_t = α·√bc2/bc1, ε_t = ε·√bc2: the same
           in exact arithmetic with one division and one square root per parameter instead of
           three divisions and a square root (the divider bounds this loop); scikit-learn's
           Adam is this loop with ε_t = ε */
        {
            FNN_T lr_t = (FNN_T)(lr * sqrt((double)bc2) / bc1);
            FNN_T eps_t = optimizer == FNN_OPT_ADAM ? (FNN_T)(eps * sqrt((double)bc2)) : eps;
            for (i = 0; i < n; i++) {
                FNN_T gi = g[i] + l2 * theta[i];
                v[i] = beta1 * v[i] + c1 * gi;
                s[i] = beta2 * s[i] + c2 * (gi * gi);
                theta[i] = theta[i] - lr_t * v[i] / (FNN_SQRT(s[i]) + eps_t);
            }
        }
        break;
    case FNN_OPT_SKLEARN_SGD:
        for (i = 0; i < n; i++) {
            FNN_T gi = g[i] + l2 * theta[i];
            v[i] = beta1 * v[i] - lr * gi;
            theta[i] = theta[i] + v[i];
        }
        break;
    case FNN_OPT_SKLEARN_NESTEROV:
        for (i = 0; i < n; i++) {
            FNN_T gi = g[i] + l2 * theta[i];
            v[i] = beta1 * v[i] - lr * gi;
            theta[i] = theta[i] + (beta1 * v[i] - lr * gi);
        }
        break;
    default: /* FNN_OPT_GD */
        for (i = 0; i < n; i++) theta[i] = theta[i] - lr * (g[i] + l2 * theta[i]);
    }
}

/* Σ x² in double (the L2 term of the cost) */
FNN_CLONES FNN_STATIC double FNN_NAME(fnn_sum_sq)(const FNN_T *x, ptrdiff_t n) {
    ptrdiff_t i;
    double acc = 0;
    FNN_PRAGMA(omp simd reduction(+:acc))
    for (i = 0; i < n; i++) acc += (double)x[i] * x[i];
    return acc;
}
