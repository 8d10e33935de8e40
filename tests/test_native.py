"""The hand-written C of src/fastnn/_native, reached through fastnn._kernels and fastnn._blas: the
vectorised exp, tanh, log and log1p (accuracy in ulp and special values, also through the
AVX2/AVX-512 row loops), the small and skinny GEMM (fnn_small_gemm) against BLAS and the rule in
fastnn._blas that routes a product to it or to BLAS, and the ids that the C code switches on
(fnn_ids.h), which must be fastnn._registry's."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import DTYPES, LAYOUTS, close, draw, layout

from fastnn import _blas, _kernels
from fastnn._coretype import blas_info


def test_native_ids_match_the_registry():
    """The ids the C code switches on (_native/fnn_ids.h) are the registry's, name for name."""
    from fastnn._registry import ACTIVATIONS, DECAY_CALLABLE, DECAYS, OPTIMIZERS, OUTPUTS

    tables = {"activation": ACTIVATIONS, "output": OUTPUTS, "optimizer": OPTIMIZERS}
    for kind, table in tables.items():
        assert _kernels.NATIVE_IDS[kind] == {name: e.id for name, e in table.items()}, kind
    decays = {name: d.id for name, d in DECAYS.items()} | {"callable": DECAY_CALLABLE}
    assert _kernels.NATIVE_IDS["decay"] == decays


# --------------------------------------------------------------------------- vector math


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


# --------------------------------------------------------------------------- small GEMM


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


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["C", "F", "strided", "row", "column"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_2d_finds_any_non_finite_element_in_any_layout(dtype, kind, bad, rng):
    """The finiteness check of every input (validation's as_matrix): one pass, no temporary."""
    base = draw(rng, (7, 9), dtype)
    a = {
        "C": base,
        "F": np.asfortranarray(base),
        "strided": np.zeros((14, 27), dtype)[::2, ::3],
        "row": base[:1],
        "column": base[:, :1],
    }[kind]
    a[...] = base[: a.shape[0], : a.shape[1]]
    assert _kernels.all_finite_2d(a)
    for i, j in np.ndindex(a.shape):
        b = a.copy() if kind != "strided" else a  # strided: in place, restored below
        saved = b[i, j]
        b[i, j] = bad
        assert not _kernels.all_finite_2d(b), (i, j)
        b[i, j] = saved
    assert _kernels.all_finite_2d(np.zeros((0, 3), dtype))
