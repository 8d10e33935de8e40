"""Every compiled kernel against its numpy twin in fastnn.reference.

Grids: dtype × activation × shape (m = 1, n = 1, k = 1, large K) × memory layout of the GEMM
operands (C, F, and sub-block views whose leading dimension exceeds the row length), plus
Hypothesis-drawn shapes and values.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastnn import _blas, _engine, _kernels, reference
from fastnn._coretype import blas_info
from fastnn._registry import ACTIVATIONS

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-5, np.float64: 1e-12}
ACTS = list(ACTIVATIONS)
SHAPES = [(3, 4, 5), (1, 4, 5), (3, 1, 5), (3, 4, 1), (1, 1, 1), (7, 3000, 9)]  # (n, k, m)


def close(got, want, dtype, k=1):
    """Elementwise |got − want| ≤ rtol·√k·(1 + |want|): GEMM rounding grows with the length k."""
    rtol = RTOL[dtype] * max(1.0, np.sqrt(k) / 4)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


def layout(a, kind):
    """The same values in another memory layout, all readable by BLAS without a copy."""
    if kind == "C":
        return np.ascontiguousarray(a)
    if kind == "F":
        return np.asfortranarray(a)
    if kind == "Cblock":  # row stride > number of columns
        big = np.zeros((a.shape[0] + 2, a.shape[1] + 3), dtype=a.dtype)
        big[1:-1, 2:-1] = a
        return big[1:-1, 2:-1]
    if kind == "Fblock":
        big = np.zeros((a.shape[0] + 3, a.shape[1] + 2), dtype=a.dtype, order="F")
        big[2:-1, 1:-1] = a
        return big[2:-1, 1:-1]
    raise ValueError(kind)


LAYOUTS = ["C", "F", "Cblock", "Fblock"]


def draw(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


GEMM_LIMITS = {"small": -1, "blas": 0}


@pytest.fixture(params=list(GEMM_LIMITS))
def gemm_path(request):
    """Run the test with every product through the kernels' own small GEMM, then through BLAS
    (by default tiny and skinny products take the first under OpenBLAS's Haswell kernels, and
    every product the second under its AVX-512 ones: _small_gemm_policy)."""
    previous = _blas._set_small_gemm_limit(GEMM_LIMITS[request.param])
    yield request.param
    _blas._set_small_gemm_limit(previous)


def test_native_ids_match_the_registry():
    """The ids the C code switches on (_native/fnn_ids.h) are the registry's, name for name."""
    from fastnn._registry import ACTIVATIONS, DECAY_CALLABLE, DECAYS, OPTIMIZERS, OUTPUTS

    tables = {"activation": ACTIVATIONS, "output": OUTPUTS, "optimizer": OPTIMIZERS}
    for kind, table in tables.items():
        assert _kernels.NATIVE_IDS[kind] == {name: e.id for name, e in table.items()}, kind
    decays = {name: d.id for name, d in DECAYS.items()} | {"callable": DECAY_CALLABLE}
    assert _kernels.NATIVE_IDS["decay"] == decays


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
@pytest.mark.parametrize("output", ["sigmoid", "linear"])
@pytest.mark.parametrize("dims", [[1, 1], [3, 1], [4, 5, 1], [6, 5, 4, 2], [300, 7, 1]])
@pytest.mark.parametrize("m", [1, 9, 64])
def test_forward_matches_reference(dtype, activation, output, dims, m, rng, gemm_path):
    X = draw(rng, (dims[0], m), dtype)
    Ws, bs = _net(rng, dims, dtype)
    acts = [activation] * (len(dims) - 2) + [output]
    AL, finite = _kernels.forward(X, Ws, bs, acts, 0.1)
    AL_ref, finite_ref = reference.forward(X, Ws, bs, acts, 0.1)
    assert AL.dtype == dtype and AL.shape == (dims[-1], m) and AL.flags.c_contiguous
    assert finite is finite_ref is True
    close(AL, AL_ref, dtype, max(dims))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("w_layout", LAYOUTS)
@pytest.mark.parametrize("x_layout", LAYOUTS)
def test_forward_reads_X_and_W_in_any_blas_layout(dtype, w_layout, x_layout, rng, gemm_path):
    X = draw(rng, (6, 5), dtype)
    Ws, bs = _net(rng, [6, 4, 3, 1], dtype)
    acts = ["tanh", "relu", "sigmoid"]
    want, _ = reference.forward(X, Ws, bs, acts)
    got, _ = _kernels.forward(
        layout(X, x_layout), [layout(W, w_layout) for W in Ws], [layout(b, w_layout) for b in bs],
        acts,
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
    Ws, bs = _net(rng, [3, 4, 1], dtype)
    Ws[0][:] = np.abs(Ws[0]) + 1  # positive weights: the inf cannot cancel to NaN in W1·X
    acts = ["tanh", "sigmoid"]
    AL, finite = _kernels.forward(X, Ws, bs, acts)
    AL_ref, finite_ref = reference.forward(X, Ws, bs, acts)
    assert finite is finite_ref is False
    if bad != "nan":
        assert np.isfinite(AL).all()  # tanh(±inf) = ±1: only the flag tells
    np.testing.assert_array_equal(np.isnan(AL), np.isnan(AL_ref))


def test_forward_refuses_mismatched_layers(rng):
    X = draw(rng, (3, 5), np.float64)
    Ws, bs = _net(rng, [3, 4, 1], np.float64)
    with pytest.raises(ValueError, match="layer 2 has W \\(1, 3\\)"):
        _kernels.forward(X, [Ws[0], Ws[1][:, :3].copy()], bs, ["relu", "sigmoid"])
    with pytest.raises(ValueError, match="layer 1 has W .* b \\(3, 1\\)"):
        _kernels.forward(X, Ws, [bs[0][:3].copy(), bs[1]], ["relu", "sigmoid"])
    with pytest.raises(ValueError, match="one b and one activation per W"):
        _kernels.forward(X, Ws, bs, ["relu"])


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
@pytest.mark.parametrize("output", ["sigmoid", "linear"])
@pytest.mark.parametrize("n,m", [(1, 1), (1, 7), (3, 5)])
def test_output_loss_matches_reference(dtype, output, n, m, rng):
    Z = draw(rng, (n, m), dtype, 3)
    Y = (
        (rng.random((n, m)) > 0.5).astype(dtype)
        if output == "sigmoid"
        else draw(rng, (n, m), dtype)
    )
    J, A, dZ = _kernels.output_loss(Z, Y, output)
    J_ref, A_ref, dZ_ref = reference.output_loss(Z, Y, output)
    close(J, J_ref, dtype)
    close(A, A_ref, dtype)
    close(dZ, dZ_ref, dtype)
    close(dZ, A - Y, dtype)


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


def test_vectorised_log_and_log1p_are_accurate_and_keep_special_values():
    x = np.concatenate(
        [np.geomspace(5e-324, 1e308, 40001), np.linspace(1e-3, 3, 30001), [0.5, 1.0, 2.0]]
    )
    got, want = _kernels._vector_math("log", x), np.log(x)
    nonzero = want != 0
    ulp = np.abs(got - want)[nonzero] / np.spacing(np.abs(want[nonzero]))
    assert ulp.max() <= 2 and np.all(got[~nonzero] == 0)
    y = np.concatenate(
        [
            np.geomspace(1e-300, 1e300, 40001),
            -np.geomspace(1e-300, 0.999, 40001),
            -1 + np.geomspace(1e-16, 0.5, 2001),
        ]
    )
    got, want = _kernels._vector_math("log1p", y), np.log1p(y)
    assert (np.abs(got - want) / np.spacing(np.abs(want))).max() <= 2
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, -2.0, -1e-300])
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in ("log", "log1p"):
            got, want = _kernels._vector_math(name, special), getattr(np, name)(special)
            np.testing.assert_array_equal(got, want)
            number = ~np.isnan(want)  # (a NaN's sign bit is not part of the contract)
            np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(want[number]))


def _net(rng, dims, dtype):
    Ws = [
        draw(rng, (dims[l + 1], dims[l]), dtype, 1 / np.sqrt(dims[l])) for l in range(len(dims) - 1)
    ]
    bs = [draw(rng, (d, 1), dtype, 0.1) for d in dims[1:]]
    return Ws, bs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output", ["sigmoid", "linear"])
@pytest.mark.parametrize("dims", [[3, 1], [4, 5, 1], [6, 5, 4, 1], [1, 1, 1]])
def test_train_matches_reference(dtype, activation, output, dims, rng, gemm_path):
    m = 7
    X = draw(rng, (dims[0], m), dtype)
    Y = (
        (rng.random((1, m)) > 0.5).astype(dtype)
        if output == "sigmoid"
        else draw(rng, (1, m), dtype)
    )
    Ws, bs = _net(rng, dims, dtype)
    acts = [activation] * (len(dims) - 2)
    Ws_ref, bs_ref = [W.copy() for W in Ws], [b.copy() for b in bs]
    costs, final, done, pending, diverged = _engine.train(
        X, Y, Ws, bs, acts, 0.1, output, 0.05, 30, 7
    )
    want = reference.train(X, Y, Ws_ref, bs_ref, acts, 0.1, output, 0.05, 30, 7)
    assert (done, pending, diverged) == (30, None, -1) == want[2:]
    assert len(costs) == len(want[0]) == 5  # iterations 0, 7, 14, 21, 28
    close(costs, want[0], dtype)
    close(final, want[1], dtype)
    for got_p, want_p in zip(Ws + bs, Ws_ref + bs_ref, strict=True):
        assert got_p.dtype == dtype
        close(got_p, want_p, dtype)


@pytest.mark.parametrize("x_layout", LAYOUTS)
def test_train_reads_X_in_any_blas_layout(x_layout, rng, gemm_path):
    X = draw(rng, (5, 8), np.float64)
    Y = (rng.random((1, 8)) > 0.5).astype(np.float64)
    Ws, bs = _net(rng, [5, 3, 1], np.float64)
    Ws_ref, bs_ref = [W.copy() for W in Ws], [b.copy() for b in bs]
    _engine.train(layout(X, x_layout), Y, Ws, bs, ["tanh"], 0.0, "sigmoid", 0.1, 5, 1)
    reference.train(X, Y, Ws_ref, bs_ref, ["tanh"], 0.0, "sigmoid", 0.1, 5, 1)
    for got_p, want_p in zip(Ws + bs, Ws_ref + bs_ref, strict=True):
        close(got_p, want_p, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gram", [False, True])
@pytest.mark.parametrize("x_layout", ["C", "F"])
def test_train_one_unit_layer_through_gemv_with_beta_one(dtype, gram, x_layout, rng):
    """A logistic regression large enough for ?gemv: the fused update W ← W − (α/m)·dZ·Xᵀ
    (beta = 1), on the Gram path also Z1 ← Z1 − (α/m)·dZ1·G and W1's materialisation."""
    X = draw(rng, (784, 300), dtype, 0.1)
    Y = (rng.random((1, 300)) > 0.5).astype(dtype)
    Ws, bs = _net(rng, [784, 1], dtype)
    Ws_ref, bs_ref = [W.copy() for W in Ws], [b.copy() for b in bs]
    previous = _blas._set_small_gemm_limit(0)
    try:
        got = _engine.train(layout(X, x_layout), Y, Ws, bs, [], 0.0, "sigmoid", 0.5, 20, 5, None,
                             gram)  # fmt: skip
    finally:
        _blas._set_small_gemm_limit(previous)
    want = reference.train(X, Y, Ws_ref, bs_ref, [], 0.0, "sigmoid", 0.5, 20, 5)
    close(got[0], want[0], dtype, 784)
    for got_p, want_p in zip(Ws + bs, Ws_ref + bs_ref, strict=True):
        close(got_p, want_p, dtype, 784)


def test_train_calls_back_at_every_recorded_cost_and_stops_on_its_exception(rng):
    X = draw(rng, (3, 4), np.float64)
    Y = np.array([[0.0, 1.0, 1.0, 0.0]])
    Ws, bs = _net(rng, [3, 2, 1], np.float64)
    seen = []

    def callback(i, cost):
        seen.append((i, cost))
        if i == 20:
            raise RuntimeError("stop here")

    costs, _, done, pending, _ = _engine.train(
        X, Y, Ws, bs, ["relu"], 0.0, "sigmoid", 0.1, 100, 10, callback
    )
    assert [i for i, _ in seen] == [0, 10, 20]
    assert [c for _, c in seen] == costs
    assert done == 21 and isinstance(pending, RuntimeError)


def test_train_with_zero_iterations_changes_nothing(rng):
    X = draw(rng, (3, 4), np.float64)
    Ws, bs = _net(rng, [3, 2, 1], np.float64)
    before = [p.copy() for p in Ws + bs]
    costs, final, done, pending, diverged = _engine.train(
        X, np.ones((1, 4)), Ws, bs, ["relu"], 0.0, "sigmoid", 0.1, 0, 10
    )
    assert (costs, done, pending, diverged) == ([], 0, None, -1) and np.isnan(final)
    for p, q in zip(before, Ws + bs, strict=True):
        np.testing.assert_array_equal(p, q)


def _wide_problem(rng, dims, m, dtype, output="sigmoid"):
    X = rng.random((dims[0], m)).astype(dtype)  # non-negative, like pixels: XᵀX is far from I
    Y = (
        (rng.random((1, m)) > 0.5).astype(dtype)
        if output == "sigmoid"
        else draw(rng, (1, m), dtype)
    )
    Ws, bs = _net(rng, dims, dtype)
    return X, Y, Ws, bs


@pytest.mark.parametrize("dims", [[300, 1], [300, 6, 1], [300, 8, 5, 3, 1]])
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output", ["sigmoid", "linear"])
@pytest.mark.parametrize("x_layout", ["C", "F"])
def test_gram_path_equals_direct_path_in_float64(dims, activation, output, x_layout, rng):
    X, Y, Ws, bs = _wide_problem(rng, dims, 40, np.float64, output)
    X = layout(X, x_layout)
    acts = [activation] * (len(dims) - 2)
    Ws_g, bs_g = [W.copy() for W in Ws], [b.copy() for b in bs]
    # A stable learning rate: an oscillating run would amplify rounding differences.
    direct = _engine.train(X, Y, Ws, bs, acts, 0.05, output, 0.003, 2500, 100, None, False)
    gram = _engine.train(X, Y, Ws_g, bs_g, acts, 0.05, output, 0.003, 2500, 100, None, True)
    assert direct[0][-1] < direct[0][0]
    assert gram[2:] == direct[2:] == (2500, None, -1)
    np.testing.assert_allclose(gram[0], direct[0], rtol=1e-9)
    for g, d in zip(Ws_g + bs_g, Ws + bs, strict=True):
        np.testing.assert_allclose(g, d, rtol=1e-9, atol=1e-9 * np.abs(d).max())


def test_gram_path_float32_drift_is_bounded(rng):
    X, Y, Ws, bs = _wide_problem(rng, [500, 10, 4, 1], 60, np.float64)

    def run(dtype, gram, iterations):
        W, b = [w.astype(dtype) for w in Ws], [x.astype(dtype) for x in bs]
        out = _engine.train(
            X.astype(dtype),
            Y.astype(dtype),
            W,
            b,
            ["tanh"] * 2,
            0.0,
            "sigmoid",
            0.05,
            iterations,
            50,
            None,
            gram,
        )
        return out, W + b

    # A few iterations: the Gram path's float32 rounding matches the direct path's.
    (_, short_gram), (_, short_direct) = run(np.float32, True, 10), run(np.float32, False, 10)
    for g, d in zip(short_gram, short_direct, strict=True):
        np.testing.assert_allclose(g, d, rtol=1e-4, atol=1e-5 * np.abs(d).max())
    # 600 iterations cross two refreshes of W1 and Z1 (every 250): the float32 runs, Gram or
    # direct, end within 1% of the float64 trajectory, and their last recorded costs within 2%.
    # (lr = 0.05 makes iterations 50-100 unstable: float32 rounding, which differs between
    # BLAS and fnn_small_gemm, takes them through a different transient; measured at most 1.1%
    # at iteration 450 and 0.65% at the end, Gram path, every product through BLAS.)
    exact, _ = run(np.float64, False, 600)
    for gram in (False, True):
        approx, _ = run(np.float32, gram, 600)
        np.testing.assert_allclose(approx[1], exact[1], rtol=1e-2)
        np.testing.assert_allclose(approx[0][-4:], exact[0][-4:], rtol=2e-2)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference overflows on purpose
@pytest.mark.parametrize("gram", [False, True])
def test_divergence_restores_the_last_finite_parameters_like_the_reference(gram, rng):
    X, _, Ws, bs = _wide_problem(rng, [50, 6, 1], 20, np.float64)
    X *= 30
    Y = draw(rng, (1, 20), np.float64) * 1e3
    Ws_ref, bs_ref = [W.copy() for W in Ws], [b.copy() for b in bs]
    got = _engine.train(X, Y, Ws, bs, ["linear"], 0.0, "linear", 5.0, 400, 5, None, gram)
    want = reference.train(X, Y, Ws_ref, bs_ref, ["linear"], 0.0, "linear", 5.0, 400, 5)
    assert got[4] > 0 and got[4] == want[4]  # the iteration whose cost was not finite
    assert got[2] == want[2] == got[4] - 5  # parameters are those of the previous record
    assert not np.isfinite(got[1])
    for g, w in zip(Ws + bs, Ws_ref + bs_ref, strict=True):
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_gram_is_chosen_only_when_cheaper():
    assert _engine.gram_is_cheaper([12288, 20, 7, 5, 1], 209, 2500)
    assert not _engine.gram_is_cheaper([12288, 20, 7, 5, 1], 209, 1)
    assert not _engine.gram_is_cheaper([784, 128, 64, 1], 1024, 2500)  # n_x < m
    assert not _engine.gram_is_cheaper([2, 4, 1], 400, 10000)


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


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["exp", "tanh"])
def test_vectorised_exp_and_tanh_are_accurate_to_a_few_ulp(dtype, name):
    x = np.concatenate(
        [np.linspace(-30, 30, 20001), np.geomspace(1e-30, 5, 2000), -np.geomspace(1e-30, 5, 2000)]
    ).astype(dtype)
    got = _kernels._vector_math(name, x).astype(np.float64)
    want = getattr(np, name)(x.astype(np.float64))
    ulp = np.finfo(dtype).eps
    np.testing.assert_allclose(got, want, rtol=3 * ulp, atol=0)
    # the vectorised row loops (AVX2/AVX-512 clones, FMA-contracted) through a 1x1 identity layer
    one, zero = np.ones((1, 1), dtype), np.zeros((1, 1), dtype)
    if name == "tanh":
        row, _ = _kernels.dense_forward(x[None, :], one, zero, "tanh", keep_Z=False)
        np.testing.assert_allclose(row[0].astype(np.float64), want, rtol=3 * ulp, atol=0)
    else:
        row, _ = _kernels.dense_forward(x[None, :], one, zero, "sigmoid", keep_Z=False)
        sigmoid = 1 / (1 + np.exp(-x.astype(np.float64)))
        np.testing.assert_allclose(row[0].astype(np.float64), sigmoid, rtol=4 * ulp, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vectorised_exp_and_tanh_keep_nan_inf_and_signed_zero(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4, -1e4], dtype=dtype)
    e = _kernels._vector_math("exp", x)
    t = _kernels._vector_math("tanh", x)
    assert np.isnan(e[0]) and np.isnan(t[0])
    np.testing.assert_array_equal(e[1:], [np.inf, 0.0, 1.0, 1.0, np.inf, 0.0])
    np.testing.assert_array_equal(t[1:], [1.0, -1.0, 0.0, -0.0, 1.0, -1.0])
    assert np.signbit(t[4]) and not np.signbit(t[3])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "n,k,m", [(1, 700, 300), (3, 64, 513), (64, 2, 257), (50, 60, 1), (2, 3, 5), (9, 9, 9)]
)
@pytest.mark.parametrize("a_layout", LAYOUTS)
def test_small_and_skinny_gemm_agree_with_blas(dtype, n, k, m, a_layout, rng):
    """The routing for OpenBLAS's Haswell kernels (small, skinny and ordinary products) against
    BLAS for everything, on shapes that take each of fnn_small_gemm's forms and their remainder
    loops."""
    A_prev = layout(draw(rng, (k, m), dtype), a_layout)
    W, b, dA = draw(rng, (n, k), dtype), draw(rng, (n, 1), dtype), draw(rng, (n, m), dtype)
    previous = _blas._set_small_gemm_limit(_blas._small_gemm_policy("Haswell"))
    try:
        default = (
            _kernels.dense_forward(A_prev, W, b, "linear"),
            _kernels.dense_backward(dA, dA, A_prev, W, "linear"),
        )
        _blas._set_small_gemm_limit(0)
        blas = (
            _kernels.dense_forward(A_prev, W, b, "linear"),
            _kernels.dense_backward(dA, dA, A_prev, W, "linear"),
        )
    finally:
        _blas._set_small_gemm_limit(previous)
    for got, want in zip(default[0] + default[1], blas[0] + blas[1], strict=True):
        if want is not None:
            close(got, want, dtype, max(n, k, m))


def test_small_gemm_default_follows_the_blas_core():
    policy = _blas._small_gemm_policy
    assert policy("Haswell") == policy("Zen") == policy(None) == _blas.SMALL_GEMM_LIMIT > 0
    assert policy("SkylakeX") == policy("SAPPHIRERAPIDS") == policy("Cooperlake") == 0
    core = blas_info()["corename"]
    assert _blas.BLAS_CORENAME == core
    previous = _blas._set_small_gemm_limit(0)
    _blas._set_small_gemm_limit(previous)  # read back the default
    assert previous == policy(core)
    routed = _blas._routes_to_small_gemm(4, 2, 400)  # the planar net's first layer
    assert routed == (policy(core) > 0)
    assert ("every product goes to BLAS" in _blas._describe_small_gemm()) == (not routed)


def test_small_gemm_routing():
    """The rule under OpenBLAS's Haswell kernels (under its AVX-512 ones, everything is BLAS)."""
    routes = _blas._routes_to_small_gemm
    default = _blas._set_small_gemm_limit(_blas._small_gemm_policy("Haswell"))
    try:
        assert routes(4, 2, 400) and routes(1, 4, 400) and routes(7, 20, 209)  # planar, cat
        assert routes(1, 64, 1024) and routes(1, 12288, 209) and routes(64, 2, 4096)  # skinny
        assert not routes(128, 784, 1024) and not routes(20, 20, 209)  # BLAS territory
        assert not routes(1, 8192, 8192)  # skinny but larger than the caches: BLAS's threads
        assert not routes(2048, 2048, 1) and not routes(64, 64, 8)  # few examples: short rows
        _blas._set_small_gemm_limit(0)
        assert not routes(4, 2, 400) and not routes(1, 64, 1024)
    finally:
        _blas._set_small_gemm_limit(default)
