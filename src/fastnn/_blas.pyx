# cython: language_level=3
"""The BLAS wrapper and its routing: every product fastnn computes goes through ``gemm``.

Private. BLAS is scipy's OpenBLAS, called through ``scipy.linalg.cython_blas`` (nothing is linked
here). ``gemm`` maps row- and column-major operands to BLAS's flags without copying, sends
one-row/one-column products to ?gemv and, where scipy's OpenBLAS runs kernels without a
small-matrix path, products too small for a BLAS call to pay off to ``fnn_small_gemm``
(src/fastnn/_native/fnn_rows_t.h). Declared in ``_blas.pxd`` for the other extensions.
"""

from libc.limits cimport INT_MAX
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv

from fastnn._rows cimport fnn_small_gemm_d, fnn_small_gemm_f

from fastnn._coretype import AVX512_CORENAMES, check_loaded_core, scipy_corename


cdef int layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t s0, Py_ssize_t s1,
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



def blas_readable(a):
    """True when BLAS can read the 2-D array ``a`` in place (C or F order, positive strides)."""
    cdef int ld
    if a.ndim != 2 or a.itemsize == 0:
        return False
    s0, s1 = a.strides
    if s0 % a.itemsize or s1 % a.itemsize:
        return False
    return layout(a.shape[0], a.shape[1], s0 // a.itemsize, s1 // a.itemsize, &ld) >= 0



def check_dims(*dims):
    """ValueError unless every dimension is in [1, INT_MAX) (BLAS indexes with a C int)."""
    for d in dims:
        if d < 1 or d >= INT_MAX:
            raise ValueError(f"array dimension {d} out of range [1, {INT_MAX})")


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


cdef long long GEMV_MIN = 65536  # see gemm


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



cdef void gemm(bint trans_a, bint trans_b, int M, int N, int K, floating alpha,
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

