"""The per-layer entry points of fastnn._kernels against their numpy twins in fastnn.reference:
dense_forward, dense_backward, forward, output_loss and cross_entropy_cost, with the operand check
they rely on, fastnn._blas.blas_readable. Grids: dtype × activation × shape (m = 1, n = 1, k = 1,
large K) × memory layout of the GEMM operands (C, F, and sub-block views whose leading dimension
exceeds the row length), the one-row and one-column products that go to ?gemv, plus Hypothesis-drawn
shapes and values; each product through the kernels' small GEMM and through BLAS (the gemm_path
fixture). The training loop is in test_engine.py, the hand-written C helpers in test_native.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import ACTS, DTYPES, GEMM_LIMITS, LAYOUTS, RTOL, close, draw, labels, layout, net
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnn import _blas, _kernels, reference
from fastnn._registry import OUTPUTS

SHAPES = [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 1), (7, 3000, 9)]  # (n, k, m)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_blas_readable_accepts_layouts_without_copy(kind, rng):
    a = layout(draw(rng, (4, 5), np.float64), kind)
    assert _blas.blas_readable(a)


def test_blas_readable_refuses_what_blas_cannot_read(rng):
    a = draw(rng, (6, 8), np.float64)
    assert not _blas.blas_readable(a[:, ::2])
    assert not _blas.blas_readable(a[::-1])
    assert not _blas.blas_readable(a.reshape(6, 8, 1)[:, :, 0][:, ::-1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("n,k,m", SHAPES)
def test_dense_forward_matches_reference(dtype, activation, n, k, m, rng, gemm_path):
    A_prev = draw(rng, (k, m), dtype)
    W = draw(rng, (n, k), dtype, 1 / np.sqrt(k))
    b = draw(rng, (n, 1), dtype)
    A, Z = _kernels.dense_forward(A_prev, W, b, activation, 0.1, True)
    A_ref, Z_ref = reference.dense_forward(A_prev, W, b, activation, 0.1, True)
    assert A.dtype == dtype and Z.dtype == dtype and A.shape == (n, m)
    close(Z, Z_ref, dtype, k)
    close(A, A_ref, dtype, k)
    A_only, no_Z = _kernels.dense_forward(A_prev, W, b, activation, 0.1, False)
    assert no_Z is None
    np.testing.assert_array_equal(A_only, A)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("w_layout", LAYOUTS)
@pytest.mark.parametrize("a_layout", LAYOUTS)
def test_dense_forward_layouts_give_identical_results(dtype, w_layout, a_layout, rng, gemm_path):
    A_prev = draw(rng, (6, 5), dtype)
    W = draw(rng, (4, 6), dtype)
    b = layout(draw(rng, (4, 1), dtype), w_layout)
    want, _ = reference.dense_forward(A_prev, W, b, "tanh")
    got, _ = _kernels.dense_forward(layout(A_prev, a_layout), layout(W, w_layout), b, "tanh")
    close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("dims", [[1, 1], [3, 1], [4, 5, 1], [6, 5, 4, 2], [300, 7, 1], [5, 4, 10]])
@pytest.mark.parametrize("m", [1, 9, 64, 300])
def test_forward_matches_reference(dtype, activation, output, dims, m, rng, gemm_path):
    X = draw(rng, (dims[0], m), dtype)
    Ws, bs = net(rng, dims, dtype)
    acts = [activation] * (len(dims) - 2)
    AL, finite = _kernels.forward(X, Ws, bs, acts, output, 0.1)
    AL_ref, finite_ref = reference.forward(X, Ws, bs, acts, output, 0.1)
    assert AL.dtype == dtype and AL.shape == (dims[-1], m) and AL.flags.c_contiguous
    assert finite is finite_ref is True
    close(AL, AL_ref, dtype, max(dims))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("w_layout", LAYOUTS)
@pytest.mark.parametrize("x_layout", LAYOUTS)
def test_forward_reads_X_and_W_in_any_blas_layout(dtype, w_layout, x_layout, rng, gemm_path):
    X = draw(rng, (6, 5), dtype)
    Ws, bs = net(rng, [6, 4, 3, 1], dtype)
    acts = ["tanh", "relu"]
    want, _ = reference.forward(X, Ws, bs, acts, "sigmoid")
    got, _ = _kernels.forward(
        layout(X, x_layout), [layout(W, w_layout) for W in Ws], [layout(b, w_layout) for b in bs],
        acts, "sigmoid",
    )  # fmt: skip
    close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "overflow"])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference's inf - inf
def test_forward_flags_a_non_finite_Z1_even_when_tanh_saturates_it(dtype, bad, rng):
    X = draw(rng, (3, 5), dtype)
    if bad == "overflow":  # every entry finite, W1·X is not
        X[:, 2] = np.finfo(dtype).max / 2
    else:
        X[1, 2] = float(bad)
    Ws, bs = net(rng, [3, 4, 1], dtype)
    Ws[0][:] = np.abs(Ws[0]) + 1  # positive weights: the inf cannot cancel to NaN in W1·X
    AL, finite = _kernels.forward(X, Ws, bs, ["tanh"], "sigmoid")
    AL_ref, finite_ref = reference.forward(X, Ws, bs, ["tanh"], "sigmoid")
    assert finite is finite_ref is False
    if bad != "nan":
        assert np.isfinite(AL).all()  # tanh(±inf) = ±1: only the flag tells
    np.testing.assert_array_equal(np.isnan(AL), np.isnan(AL_ref))


def test_forward_refuses_mismatched_layers(rng):
    X = draw(rng, (3, 5), np.float64)
    Ws, bs = net(rng, [3, 4, 1], np.float64)
    with pytest.raises(ValueError, match="layer 2 has W \\(1, 3\\)"):
        _kernels.forward(X, [Ws[0], Ws[1][:, :3].copy()], bs, ["relu"], "sigmoid")
    with pytest.raises(ValueError, match="layer 1 has W .* b \\(3, 1\\)"):
        _kernels.forward(X, Ws, [bs[0][:3].copy(), bs[1]], ["relu"], "sigmoid")
    with pytest.raises(ValueError, match="one activation per hidden layer"):
        _kernels.forward(X, Ws, bs, ["relu", "relu"], "sigmoid")
    with pytest.raises(ValueError, match="output must be one of"):
        _kernels.forward(X, Ws, bs, ["relu"], "tanh")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("n,k,m", SHAPES)
def test_dense_backward_matches_reference(dtype, activation, n, k, m, rng, gemm_path):
    dA = draw(rng, (n, m), dtype)
    Z = draw(rng, (n, m), dtype)
    A_prev = draw(rng, (k, m), dtype)
    W = draw(rng, (n, k), dtype)
    got = _kernels.dense_backward(dA, Z, A_prev, W, activation, 0.2, True)
    want = reference.dense_backward(dA, Z, A_prev, W, activation, 0.2, True)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == dtype
        close(g, w, dtype, max(k, m, n))
    dA_prev, dW, db = _kernels.dense_backward(dA, Z, A_prev, W, activation, 0.2, False)
    assert dA_prev is None
    np.testing.assert_array_equal(dW, got[1])
    np.testing.assert_array_equal(db, got[2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("w_layout", LAYOUTS)
@pytest.mark.parametrize("a_layout", LAYOUTS)
def test_dense_backward_layouts(dtype, w_layout, a_layout, rng, gemm_path):
    dA, Z = draw(rng, (4, 5), dtype), draw(rng, (4, 5), dtype)
    A_prev, W = draw(rng, (6, 5), dtype), draw(rng, (4, 6), dtype)
    want = reference.dense_backward(dA, Z, A_prev, W, "relu")
    got = _kernels.dense_backward(dA, Z, layout(A_prev, a_layout), layout(W, w_layout), "relu")
    for g, w in zip(got, want, strict=True):
        close(g, w, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("w_layout", LAYOUTS)
@pytest.mark.parametrize("a_layout", LAYOUTS)
@pytest.mark.parametrize("n,k,m", [(1, 300, 250), (250, 300, 1), (1, 70000, 1)])
def test_one_row_and_one_column_products_through_gemv(dtype, w_layout, a_layout, n, k, m, rng):
    """Products with one row or one column of output (W·A_prev and dZ·A_prevᵀ of a one-unit
    layer, Wᵀ·dZ of one example) of at least GEMV_MIN = 65536 multiply-adds go to ?gemv,
    reading each operand in its layout."""
    A_prev = draw(rng, (k, m), dtype)
    W, b, dA = draw(rng, (n, k), dtype), draw(rng, (n, 1), dtype), draw(rng, (n, m), dtype)
    previous = _blas._set_small_gemm_limit(0)  # BLAS for everything: gemv, not fnn loops
    try:
        got = _kernels.dense_forward(layout(A_prev, a_layout), layout(W, w_layout), b, "linear")
        got_back = _kernels.dense_backward(
            dA, dA, layout(A_prev, a_layout), layout(W, w_layout), "linear"
        )
    finally:
        _blas._set_small_gemm_limit(previous)
    want = reference.dense_forward(A_prev, W, b, "linear")
    want_back = reference.dense_backward(dA, dA, A_prev, W, "linear")
    for g, w in zip(got + got_back, want + want_back, strict=True):
        close(g, w, dtype, k)


def test_dense_kernels_refuse_mismatched_shapes(rng):
    W, A_prev, b = draw(rng, (3, 4), np.float64), draw(rng, (5, 2), np.float64), np.zeros((3, 1))
    with pytest.raises(ValueError, match="shapes"):
        _kernels.dense_forward(A_prev, W, b, "relu")
    with pytest.raises(ValueError, match="shapes"):
        _kernels.dense_backward(np.zeros((3, 2)), np.zeros((3, 2)), A_prev, W, "relu")
    with pytest.raises(ValueError, match="activation must be one of"):
        _kernels.dense_forward(draw(rng, (4, 2), np.float64), W, b, "softplus")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", list(OUTPUTS))
@pytest.mark.parametrize("n,m", [(1, 1), (1, 7), (3, 5), (2, 1), (10, 257), (100, 600)])
def test_output_loss_matches_reference(dtype, output, n, m, rng):
    Z = draw(rng, (n, m), dtype, 3)
    Y = labels(rng, (n, m), dtype, output)
    J, A, dZ = _kernels.output_loss(Z, Y, output)
    J_ref, A_ref, dZ_ref = reference.output_loss(Z, Y, output)
    close(J, J_ref, dtype)
    close(A, A_ref, dtype)
    close(dZ, dZ_ref, dtype)
    close(dZ, (A - Y) * (Z > 0) if output == "relu" else A - Y, dtype)
    if output == "softmax":
        close(A.sum(axis=0), np.ones(m), dtype)


def _softmax_cost_scipy(z, y):
    """Σ_c y_c·(lse(z) − z_c) for one column, lse by scipy.special.logsumexp in float64."""
    from scipy.special import logsumexp

    z = z.astype(np.float64)
    return float(np.sum(y * (logsumexp(z) - z)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_is_finite_and_accurate_for_huge_logits(dtype):
    """|z| up to 1e4, where exp(z) overflows even float64: the column maximum comes out first."""
    Z = np.array(
        [[1e4, -1e4, 0.0, 50.0, 1e4, -3.0], [-1e4, 1e4, 1e-3, -50.0, 1e4 - 1, -3.0],
         [0.0, 0.0, -1e-3, 0.0, -1e4, -3.0]],
        dtype=dtype,
    )  # fmt: skip
    Y = np.eye(3, dtype=dtype)[:, [1, 1, 0, 2, 1, 0]].copy()
    with np.errstate(all="raise"):
        J, A, dZ = _kernels.output_loss(Z, Y, "softmax")
    want = np.mean([_softmax_cost_scipy(Z[:, j], Y[:, j]) for j in range(Z.shape[1])])
    assert np.isfinite(J) and np.isfinite(A).all() and np.isfinite(dZ).all()
    np.testing.assert_allclose(J, want, rtol=1e-6 if dtype == np.float32 else 1e-13)
    np.testing.assert_allclose(A.sum(axis=0), 1, rtol=RTOL[dtype])
    assert A[0, 0] == 1 and A[1, 0] == 0  # a whole 2e4 apart


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", list(OUTPUTS))
def test_output_loss_gradient_matches_central_differences(dtype, output, rng):
    """dZ = ∂(Σ loss)/∂Z, checked by ε = 1e-6 central differences in float64 (the float32
    kernel's dZ against the float64 differences at float32's tolerance)."""
    n, m = (4, 3) if output != "sigmoid" else (1, 5)
    Z = draw(rng, (n, m), np.float64, 2)
    Z[np.abs(Z) < 1e-3] = 0.5  # no ReLU kink within ε
    Y = labels(rng, (n, m), np.float64, output)
    _, _, dZ = _kernels.output_loss(Z.astype(dtype), Y.astype(dtype), output)
    eps, numeric = 1e-6, np.empty_like(Z)
    for i in range(n):
        for j in range(m):
            Zp, Zm = Z.copy(), Z.copy()
            Zp[i, j] += eps
            Zm[i, j] -= eps
            Jp = _kernels.output_loss(Zp, Y, output)[0] * m
            Jm = _kernels.output_loss(Zm, Y, output)[0] * m
            numeric[i, j] = (Jp - Jm) / (2 * eps)
    np.testing.assert_allclose(
        dZ, numeric, rtol=RTOL[dtype] * 10, atol=1e-7 if dtype == np.float64 else 1e-5
    )


@settings(max_examples=40, deadline=None)
@given(
    C=st.sampled_from([2, 3, 10, 100]),
    m=st.integers(1, 300),
    scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3]),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_softmax_output_matches_reference_hypothesis(C, m, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    Z = (rng.standard_normal((C, m)) * scale).astype(dtype)
    Y = labels(rng, (C, m), dtype, "softmax")
    J, A, dZ = _kernels.output_loss(Z, Y, "softmax")
    J_ref, A_ref, dZ_ref = reference.output_loss(
        Z.astype(np.float64), Y.astype(np.float64), "softmax"
    )
    np.testing.assert_allclose(J, J_ref, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])
    np.testing.assert_allclose(A, A_ref, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])
    np.testing.assert_allclose(dZ, dZ_ref, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_cross_entropy_is_finite_and_accurate_for_huge_logits(dtype):
    z = np.array([[-1e4, -1e4, -50.0, 0.0, 50.0, 1e4, 1e4]], dtype=dtype)
    y = np.array([[0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    with np.errstate(all="raise"):
        J, A, dZ = _kernels.output_loss(z, y, "sigmoid")
    # −[y log σ(z) + (1 − y) log(1 − σ(z))] per element, written as softplus by hand:
    per_element = [0.0, 1e4, 50.0, np.log(2.0), 50.0, 1e4, 0.0]
    assert np.isfinite(J)
    np.testing.assert_allclose(J, np.mean(per_element), rtol=1e-6)
    assert np.isfinite(A).all() and np.isfinite(dZ).all()
    np.testing.assert_array_equal(A[0, [0, 5]], [0.0, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_cost_matches_reference_and_course(dtype, rng):
    AL = rng.uniform(0.01, 0.99, (1, 9)).astype(dtype)
    Y = (rng.random((1, 9)) > 0.5).astype(dtype)
    got = _kernels.cross_entropy_cost(AL, Y)
    close(got, reference.cross_entropy_cost(AL, Y), dtype)
    course = float(np.squeeze(-(Y @ np.log(AL).T + (1 - Y) @ np.log(1 - AL).T) / 9))
    close(got, course, dtype)


def test_cross_entropy_cost_of_exact_probabilities_is_finite():
    AL = np.array([[0.0, 1.0, 0.5]])
    Y = np.array([[0.0, 1.0, 1.0]])
    np.testing.assert_allclose(_kernels.cross_entropy_cost(AL, Y), np.log(2) / 3, rtol=1e-15)
    assert _kernels.cross_entropy_cost(np.array([[0.0]]), np.array([[1.0]])) == np.inf


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_cost_keeps_numpys_special_values(dtype):
    """Probabilities outside [0, 1], NaN and the ends of the range, one column at a time."""
    AL = np.array([0.0, 1.0, 1.0, 0.0, 1.5, -0.5, np.nan, 1e-300, 0.3], dtype=dtype)
    Y = np.array([1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 1.0, 1.0, 0.7], dtype=dtype)
    for a, y in zip(AL, Y, strict=True):
        got = _kernels.cross_entropy_cost(np.array([[a]]), np.array([[y]]))
        want = reference.cross_entropy_cost(np.array([[a]]), np.array([[y]]))
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], err_msg=f"a={a}, y={y}")


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 9),
    k=st.integers(1, 9),
    m=st.integers(1, 9),
    activation=st.sampled_from(ACTS),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-3, 1.0, 30.0]),
    w_layout=st.sampled_from(LAYOUTS),
    path=st.sampled_from(list(GEMM_LIMITS)),
)
def test_dense_forward_and_backward_property(
    n, k, m, activation, dtype, seed, scale, w_layout, path
):
    previous = _blas._set_small_gemm_limit(GEMM_LIMITS[path])
    try:
        _check_dense_property(n, k, m, activation, dtype, seed, scale, w_layout)
    finally:
        _blas._set_small_gemm_limit(previous)


def _check_dense_property(n, k, m, activation, dtype, seed, scale, w_layout):
    rng = np.random.default_rng(seed)
    A_prev, W, b = (
        draw(rng, (k, m), dtype, scale),
        draw(rng, (n, k), dtype),
        draw(rng, (n, 1), dtype),
    )
    A, Z = _kernels.dense_forward(A_prev, layout(W, w_layout), b, activation, 0.3)
    A_ref, Z_ref = reference.dense_forward(A_prev, W, b, activation, 0.3)
    close(Z, Z_ref, dtype, k)
    close(A, A_ref, dtype, k)
    dA = draw(rng, (n, m), dtype)
    got = _kernels.dense_backward(dA, Z, A_prev, layout(W, w_layout), activation, 0.3)
    want = reference.dense_backward(dA, Z, A_prev, W, activation, 0.3)
    for g, w in zip(got, want, strict=True):
        close(g, w, dtype, max(n, m))
