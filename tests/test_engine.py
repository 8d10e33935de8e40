"""The training loop, fastnn._engine.train, against fastnn.reference.train: every activation,
output and dtype, X in any BLAS layout, the fused ?gemv update, callbacks and their exceptions,
zero iterations, the Gram path for wide inputs (equal to the direct path in float64, bounded drift
in float32, chosen only when cheaper), divergence; and the gradients that a training step applies,
read off one step through Model and checked against finite differences, on both paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import ACTS, DTYPES, LAYOUTS, close, draw, layout, net

from fastnn import Model, _blas, _engine, reference


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
    Ws, bs = net(rng, dims, dtype)
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
    Ws, bs = net(rng, [5, 3, 1], np.float64)
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
    Ws, bs = net(rng, [784, 1], dtype)
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
    Ws, bs = net(rng, [3, 2, 1], np.float64)
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
    Ws, bs = net(rng, [3, 2, 1], np.float64)
    before = [p.copy() for p in Ws + bs]
    costs, final, done, pending, diverged = _engine.train(
        X, np.ones((1, 4)), Ws, bs, ["relu"], 0.0, "sigmoid", 0.1, 0, 10
    )
    assert (costs, done, pending, diverged) == ([], 0, None, -1) and np.isnan(final)
    for p, q in zip(before, Ws + bs, strict=True):
        np.testing.assert_array_equal(p, q)


# --------------------------------------------------------------------------- Gram path, divergence


def _wide_problem(rng, dims, m, dtype, output="sigmoid"):
    X = rng.random((dims[0], m)).astype(dtype)  # non-negative, like pixels: XᵀX is far from I
    Y = (
        (rng.random((1, m)) > 0.5).astype(dtype)
        if output == "sigmoid"
        else draw(rng, (1, m), dtype)
    )
    Ws, bs = net(rng, dims, dtype)
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


# --- gradients against finite differences, through Model, every activation, both dtypes ---------


def _model_cost(params, hidden, output, X, Y):
    m = Model.from_parameters(params, hidden_activation=hidden, output=output, dtype=np.float64)
    m.fit(X, Y, learning_rate=1.0, num_iterations=1, cost_every=1)
    return m.costs_[0]


def _model_gradient(params, hidden, output, X, Y, dtype, path="direct"):
    """dJ/dθ read off one gradient step of size 1: θ_1 = θ_0 − ∇J."""
    m = Model.from_parameters(params, hidden_activation=hidden, output=output, dtype=dtype)
    before = m.parameters
    m.fit(X, Y, learning_rate=1.0, num_iterations=1, cost_every=1, path=path)
    after = m.parameters
    return {k: before[k].astype(np.float64) - after[k].astype(np.float64) for k in before}


@pytest.mark.parametrize("output", ["sigmoid", "linear"])
@pytest.mark.parametrize("hidden", ACTS)
def test_model_gradients_match_finite_differences_in_both_dtypes(hidden, output):
    rng = np.random.default_rng(ACTS.index(hidden) + 10 * (output == "linear"))
    dims, m = [3, 4, 2, 1], 7
    X = rng.standard_normal((dims[0], m))
    Y = (
        (rng.random((1, m)) > 0.5).astype(float)
        if output == "sigmoid"
        else rng.standard_normal((1, m))
    )
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])
        params[f"b{l}"] = rng.standard_normal((dims[l], 1)) * 0.3
    # the float32 model's parameters, exactly representable, so both dtypes see the same point
    params = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
    X = X.astype(np.float32).astype(np.float64)
    eps = 1e-6
    numeric = {}
    for key, value in params.items():
        numeric[key] = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus, minus = dict(params), dict(params)
            plus[key], minus[key] = value.copy(), value.copy()
            plus[key][idx] += eps
            minus[key][idx] -= eps
            numeric[key][idx] = (
                _model_cost(plus, hidden, output, X, Y) - _model_cost(minus, hidden, output, X, Y)
            ) / (2 * eps)
    for dtype, rtol, atol in [(np.float64, 1e-6, 1e-8), (np.float32, 2e-3, 2e-5)]:
        p = {k: v.astype(dtype) for k, v in params.items()}
        grads = _model_gradient(p, hidden, output, X.astype(dtype), Y.astype(dtype), dtype)
        for key in params:
            np.testing.assert_allclose(
                grads[key], numeric[key], rtol=rtol, atol=atol, err_msg=f"{dtype.__name__} {key}"
            )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gram_path_gradient_matches_finite_differences(dtype):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((9, 4)).astype(np.float32).astype(np.float64)  # n_x > m: wide
    Y = np.array([[0.0, 1.0, 1.0, 0.0]])
    params = {
        "W1": rng.standard_normal((3, 9)).astype(np.float32).astype(np.float64) / 3,
        "b1": np.zeros((3, 1)),
        "W2": rng.standard_normal((1, 3)).astype(np.float32).astype(np.float64),
        "b2": np.zeros((1, 1)),
    }
    p = {k: v.astype(dtype) for k, v in params.items()}
    gram = _model_gradient(p, "tanh", "sigmoid", X.astype(dtype), Y.astype(dtype), dtype, "gram")
    direct = _model_gradient(p, "tanh", "sigmoid", X.astype(dtype), Y.astype(dtype), dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for key in params:
        np.testing.assert_allclose(gram[key], direct[key], rtol=tol, atol=tol)
