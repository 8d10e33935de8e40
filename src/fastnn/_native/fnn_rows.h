/* fastnn's row loops and small GEMM, for double (suffix _d) and float (suffix _f): the
   functions are written once, in fnn_rows_t.h, and instantiated here per type. */
#ifndef FASTNN_ROWS_H
#define FASTNN_ROWS_H

#include "fnn_config.h"
#include "fnn_ids.h"
#include "fnn_math.h"

#define FNN_CAT_(a, b) a##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)

#define FNN_T double
#define FNN_NAME(f) FNN_CAT(f, _d)
#define FNN_EXP fnn_exp
#define FNN_TANH fnn_tanh
#include "fnn_rows_t.h"
#undef FNN_T
#undef FNN_NAME
#undef FNN_EXP
#undef FNN_TANH

#define FNN_T float
#define FNN_NAME(f) FNN_CAT(f, _f)
#define FNN_EXP fnn_expf
#define FNN_TANH fnn_tanhf
#include "fnn_rows_t.h"
#undef FNN_T
#undef FNN_NAME
#undef FNN_EXP
#undef FNN_TANH

#endif /* FASTNN_ROWS_H */
