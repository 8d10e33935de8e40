# cython: language_level=3
"""Declarations of the BLAS wrapper (implemented in _blas.pyx) for the other extensions."""

from cython cimport floating


cdef int layout(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t s0, Py_ssize_t s1,
                int* ld) noexcept nogil

cdef void gemm(bint trans_a, bint trans_b, int M, int N, int K, floating alpha,
               const floating* A, int lda, bint a_rowmajor,
               const floating* B, int ldb, bint b_rowmajor,
               floating beta, floating* C, int ldc, bint c_rowmajor) noexcept nogil


cdef inline int _readable(int order) except -2:
    if order < 0:
        raise ValueError("internal: operand not readable by BLAS; the caller must copy it")
    return order


cdef inline int operand(const floating[:, :] M, int* ld) except -2:
    """layout() of a memoryview: 1 row-major, 0 column-major (leading dimension in ld)."""
    return _readable(layout(M.shape[0], M.shape[1], M.strides[0] // sizeof(floating),
                            M.strides[1] // sizeof(floating), ld))


cdef inline int array_operand(object a, int* ld) except -2:
    """operand() of a 2-D ndarray of either float dtype."""
    return _readable(layout(a.shape[0], a.shape[1], a.strides[0] // a.itemsize,
                            a.strides[1] // a.itemsize, ld))
