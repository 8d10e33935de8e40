# cython: language_level=3
"""Declarations of the BLAS wrapper (implemented in _blas.pyx) for the other extensions."""

from cython cimport floating


cdef int layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t s0, Py_ssize_t s1,
                int* ld) noexcept nogil

cdef void gemm(bint trans_a, bint trans_b, int M, int N, int K, floating alpha,
               const floating* A, int lda, bint a_rowmajor,
               const floating* B, int ldb, bint b_rowmajor,
               floating beta, floating* C, int ldc, bint c_rowmajor) noexcept nogil


cdef inline int operand(const floating[:, :] M, int* ld) except -2:
    """layout() of a memoryview: 1 row-major, 0 column-major (leading dimension in ld)."""
    cdef int order = layout(M.shape[0], M.shape[1], M.strides[0] // sizeof(floating),
                            M.strides[1] // sizeof(floating), ld)
    if order < 0:
        raise ValueError("internal: operand not readable by BLAS; the caller must copy it")
    return order
