/* fastnn's per-type C, for double (suffix _d) and float (suffix _f): the row loops and the small
   GEMM (fnn_rows_t.h) and the optimizer step (fnn_optim_t.h) are written once and instantiated
   here per type. */
#ifndef FASTNN_ROWS_H
#define FASTNN_ROWS_H

#include "fnn_config.h"
#include "fnn_ids.h"
#include "fnn_math.h"
#include "fnn_random.h"

#define FNN_CAT_(a, b) a##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)

#define FNN_T double
#define FNN_NAME(f) FNN_CAT(f, _d)
#define FNN_EXP fnn_exp
#define FNN_TANH fnn_tanh
#define FNN_SQRT sqrt
#include "fnn_rows_t.h"
#include "fnn_optim_t.h"
#undef FNN_T
#undef FNN_NAME
#undef FNN_EXP
#undef FNN_TANH
#undef FNN_SQRT

#define FNN_T float
#define FNN_NAME(f) FNN_CAT(f, _f)
#define FNN_EXP fnn_expf
#define FNN_TANH fnn_tanhf
#define FNN_SQRT sqrtf
#include "fnn_rows_t.h"
#include "fnn_optim_t.h"
#undef FNN_T
#undef FNN_NAME
#undef FNN_EXP
#undef FNN_TANH
#undef FNN_SQRT

#endif /* FASTNN_ROWS_H */
