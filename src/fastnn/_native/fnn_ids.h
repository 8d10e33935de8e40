/* Runtime ids of the activations, the output layers (each fused with its loss), the optimizers
   and the learning-rate decays. fastnn/_registry.py holds the same numbers next to the names
   and the numpy twins; tests/test_native.py fails if the two disagree. */
#ifndef FASTNN_IDS_H
#define FASTNN_IDS_H

enum fnn_activation {
    FNN_ACT_LINEAR = 0,
    FNN_ACT_SIGMOID = 1,
    FNN_ACT_TANH = 2,
    FNN_ACT_RELU = 3,
    FNN_ACT_LEAKY_RELU = 4
};

enum fnn_output {
    FNN_OUT_SIGMOID = 0, /* sigmoid unit(s), binary cross-entropy from the logits */
    FNN_OUT_LINEAR = 1,  /* identity, squared error (a − y)² / 2 */
    FNN_OUT_SOFTMAX = 2, /* softmax over each column, categorical cross-entropy from the logits */
    FNN_OUT_RELU = 3,    /* max(z, 0), squared error (a − y)² / 2 */
    FNN_OUT_POISSON = 4  /* exp(z) (a log link), half Poisson deviance y·log(y/a) − y + a */
};

enum fnn_optimizer {
    FNN_OPT_GD = 0,       /* θ −= α·g */
    FNN_OPT_MOMENTUM = 1, /* v = β·v + (1 − β)·g; θ −= α·v */
    FNN_OPT_ADAM = 2,     /* bias-corrected first and second moments */
    FNN_OPT_SKLEARN_ADAM = 3, /* scikit-learn's: the correction folded into α, ε added to √s */
    FNN_OPT_SKLEARN_SGD = 4,  /* scikit-learn's momentum: v = μ·v − α·g; θ += v */
    FNN_OPT_SKLEARN_NESTEROV = 5 /* ... θ += μ·v − α·g */
};

enum fnn_decay {
    FNN_DECAY_NONE = 0,
    FNN_DECAY_INVERSE = 1,   /* α0 / (1 + rate·epoch) */
    FNN_DECAY_SCHEDULED = 2, /* α0 / (1 + rate·⌊epoch / interval⌋) */
    FNN_DECAY_CALLABLE = 3   /* a Python function, called once per epoch */
};

#endif /* FASTNN_IDS_H */
