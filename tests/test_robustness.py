"""Robustness (issue 6) across the layers: numerics at the extremes (logits of ±1e4 under
``np.errstate(all="raise")`` and warnings as errors), memory safety (RSS flat over many kernel
calls and fits), concurrency (functional calls and one model's predictions from four threads),
and property-based fuzzing of the public API against numpy, on inputs in every memory layout.
Bad inputs are in test_validation.py and test_cli.py, memory layouts in the modules of the layer
they test, persistence in test_persistence.py.
"""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from _helpers import ACTS, DTYPES, relayout
from hypothesis import given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import Model, _kernels, reference
from fastnn import functional as F
from fastnn._registry import ACTIVATIONS

EPS = {np.dtype(np.float32): float(np.finfo(np.float32).eps), np.dtype(np.float64): 2.0**-52}
TINY = {np.dtype(np.float32): float(np.finfo(np.float32).tiny), np.dtype(np.float64): 2.0**-1022}


# --------------------------------------------------------------------------- numerics


@contextlib.contextmanager
def strict_floating_point(raise_fp=False):
    """Warnings are errors; with ``raise_fp`` so are numpy's floating-point exceptions.

    Cross-check mode (FASTNN_CROSSCHECK=1, as CI's second run) is switched off inside, so that
    these tests check the kernels' own behaviour; the test below checks cross-check mode itself.
    """
    errstate = np.errstate(all="raise") if raise_fp else contextlib.nullcontext()
    with warnings.catch_warnings(), fastnn.crosscheck(False), errstate:
        warnings.simplefilter("error")
        yield


def test_course_sigmoid_helpers_are_finite_under_errstate_raise():
    z = np.array([[-1e4, -1.0, 0.0, 1.0, 1e4]])
    with np.errstate(all="raise"):
        A, _ = F.sigmoid(z)
        dZ = F.sigmoid_backward(np.ones_like(z), z)
    np.testing.assert_array_equal(A[0, [0, 4]], [0, 1])
    assert np.isfinite(dZ).all()


def test_crosscheck_keeps_the_references_floating_point_exceptions_to_itself():
    z = np.array([[1e4, -1e4, 3.0]])
    params = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}
    with warnings.catch_warnings(), np.errstate(all="raise"), fastnn.crosscheck():
        warnings.simplefilter("error")
        AL, _ = F.L_model_forward(z, params)
        Model.from_parameters(params).fit(z, np.array([1, 0, 1]), 0.1, 2)
    assert np.isfinite(AL).all()


def _softplus_cost(z, y):
    with np.errstate(all="ignore"):
        return float(np.mean(np.logaddexp(0.0, z) - y * z))


@pytest.mark.parametrize("dtype", DTYPES)
def test_model_fit_with_logits_of_1e4_is_finite_and_accurate_without_warnings(dtype):
    z = np.array([[1e4, -1e4, 1e4, -1e4, 50.0, -50.0, 0.0, 3.0]])
    y = np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]])
    params = {"W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}
    with strict_floating_point(raise_fp=True):
        model = Model.from_parameters(params, dtype=dtype)
        model.fit(z, y, learning_rate=1e-12, num_iterations=2, cost_every=1)
        proba = model.predict_proba(z)
        deep = Model([1, 8, 8, 1], hidden_activation="tanh", dtype=dtype, seed=0)
        deep.fit(z, y, learning_rate=1e-3, num_iterations=20, cost_every=1)
        deep_proba = deep.predict_proba(z)
        sig = Model([1, 4, 1], hidden_activation="sigmoid", dtype=dtype, seed=0)
        sig.fit(z * 1e3, y, learning_rate=1e-3, num_iterations=5, cost_every=1)
    assert np.isfinite(model.costs_).all()
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(model.costs_[0], _softplus_cost(z, y), rtol=rtol)
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(proba[0, :4], [1, 0, 1, 0])
    assert np.isfinite(deep.costs_).all() and np.isfinite(deep_proba).all()
    assert np.isfinite(sig.costs_).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_forward_and_cost_at_the_extremes(dtype):
    # logits from -1e4 to 1e4; labels agree where sigma(z) rounds to exactly 0 or 1
    z = np.array(
        [[-1e4, 1e4, -700.0 if dtype == np.float64 else -80.0, -30.0, -1.0, 0.0, 20.0, 1e-20]]
    )
    y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]])
    P = {"W1": np.ones((1, 1), dtype), "b1": np.zeros((1, 1), dtype)}
    with strict_floating_point(raise_fp=True):
        AL, caches = F.L_model_forward(z.astype(dtype), P)
        cost = F.compute_cost(AL, y)
        A_tanh, _ = F.linear_activation_forward(z.astype(dtype), P["W1"], P["b1"], "tanh")
        A_relu, _ = F.linear_activation_forward(z.astype(dtype), P["W1"], P["b1"], "relu")
    assert AL.dtype == dtype and np.isfinite(AL).all()
    assert AL[0, 0] == 0 and AL[0, 1] == 1
    assert np.isfinite(cost)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        float(cost), _softplus_cost(z.astype(dtype).astype(float), y), rtol=rtol
    )
    np.testing.assert_array_equal(A_tanh[0, :2], [-1, 1])
    np.testing.assert_array_equal(A_relu[0, :2], [0, 1e4])


# --------------------------------------------------------------------------- memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


_PEAK_SCRIPT = """
import sys
from pathlib import Path
import numpy as np
import fastnn
def status(key):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key))
    return int(line.split()[1]) * 1024
m = 100_000
rows = np.random.default_rng(0).standard_normal((m, 100), dtype=np.float32)
Y = (rows[:, 0] > 0).astype(np.float32)[None]
model = fastnn.Model([100, 64, 32, 1], init="he", dtype=np.float32)
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS")
model.fit(rows.T, Y, 0.001, mini_batch_size=64, num_epochs=1, optimizer="adam",
          cost_every=1)
print(status("VmHWM") - before, rows.nbytes)
"""


@pytest.mark.skipif(
    not os.path.exists("/proc/self/clear_refs") or "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="needs Linux's VmHWM reset (and no AddressSanitizer, whose quarantine grows RSS)",
)
def test_mini_batch_training_adds_memory_sized_by_the_batch_not_by_X():
    """One epoch on m = 100000 examples (X: 38 MiB, examples contiguous) may add the labels'
    copy and the epoch's permutation (4 + 4 bytes an example) and a batch-sized workspace, never
    anything of X's size: an X-sized temporary (such as np.isfinite(X)) would add 9.5 MiB."""
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    added, x_bytes = map(int, out.split())
    assert added < x_bytes / 6, (
        f"the fit added {added / 2**20:.1f} MiB for a {x_bytes / 2**20:.0f} MiB X"
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm")
@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="under AddressSanitizer RSS grows by design (freed memory is quarantined, 256 MB)",
)
def test_rss_stays_flat_over_10000_kernel_calls_and_100_fits(tmp_path):
    rng = np.random.default_rng(0)
    ops = []
    for dtype in DTYPES:
        A = rng.standard_normal((48, 64)).astype(dtype)  # 24 KiB: a leak per call would show
        W = rng.standard_normal((32, 48)).astype(dtype)
        b = np.zeros((32, 1), dtype)
        dA, Z = (
            rng.standard_normal((32, 64)).astype(dtype),
            rng.standard_normal((32, 64)).astype(dtype),
        )
        Y = (rng.random((32, 64)) > 0.5).astype(dtype)
        P = rng.uniform(0.1, 0.9, (32, 64)).astype(dtype)
        WF = np.asfortranarray(W)
        ops += [
            lambda A=A, W=W, b=b: _kernels.dense_forward(A, W, b, "tanh", 0.01, True),
            lambda A=A, W=WF, b=b: _kernels.dense_forward(A, W, b, "relu", 0.01, False),
            lambda dA=dA, Z=Z, A=A, W=W: _kernels.dense_backward(
                dA, Z, A, W, "sigmoid", 0.01, True
            ),
            lambda Z=Z, Y=Y: _kernels.output_loss(Z, Y, "sigmoid"),
            lambda P=P, Y=Y: _kernels.cross_entropy_cost(P, Y),
        ]

    def bad_call():  # the error path: shapes refused after the buffers were acquired
        with contextlib.suppress(ValueError):
            _kernels.dense_forward(A, W[:, :5], b, "tanh", 0.01, True)

    Xf = rng.standard_normal((8, 200))
    Yf = (Xf[0:1] > 0).astype(float)

    class Stop(Exception):
        pass

    def stop(i, cost):
        if i >= 2:
            raise Stop

    def fits(n):
        for i in range(n):
            model = Model([8, 16, 8, 1], seed=i % 7, dtype=DTYPES[i % 2])
            if i % 10 == 3:
                with contextlib.suppress(Stop):
                    model.fit(Xf, Yf, 0.1, 50, cost_every=1, callback=stop)
            elif i % 10 == 7:
                with contextlib.suppress(FloatingPointError):
                    Model([8, 1], output="linear").fit(Xf * 1e3, Xf[0] * 1e5, 50.0, 40)
            else:
                model.fit(Xf, Yf, 0.1, 20)
                model.predict(Xf)
            if i % 20 == 0:
                model.save(tmp_path / "m.npz")
                fastnn.load(tmp_path / "m.npz")

    def calls(n):
        for i in range(n):
            ops[i % len(ops)]()
            if i % 20 == 0:
                bad_call()

    calls(2000)  # warm-up: numpy's and the allocator's caches, OpenBLAS buffers
    fits(20)
    gc.collect()
    before = _rss_mb()
    calls(10_000)
    gc.collect()
    after_calls = _rss_mb()
    fits(100)
    gc.collect()
    after_fits = _rss_mb()
    print(
        f"\nRSS: {before:.1f} MB after warm-up, {after_calls:.1f} MB after 10000 kernel calls "
        f"({after_calls - before:+.2f} MB), {after_fits:.1f} MB after 100 fits "
        f"({after_fits - after_calls:+.2f} MB)"
    )
    assert after_calls - before < 10, f"RSS grew {after_calls - before:.1f} MB over 10000 calls"
    assert after_fits - after_calls < 10, (
        f"RSS grew {after_fits - after_calls:.1f} MB over 100 fits"
    )


# --------------------------------------------------------------------------- concurrency


def test_functional_calls_from_4_threads_equal_sequential_results():
    rng = np.random.default_rng(1)
    dims = [40, 30, 20, 1]
    P = {}
    for l in range(1, len(dims)):
        P[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])
        P[f"b{l}"] = rng.standard_normal((dims[l], 1)) * 0.1
    inputs = [
        (rng.standard_normal((40, 300)), (rng.random((1, 300)) > 0.5).astype(float))
        for _ in range(4)
    ]

    def work(X, Y):
        AL, caches = F.L_model_forward(X, P, hidden_activation="tanh")
        grads = F.L_model_backward(AL, Y, caches, hidden_activation="tanh")
        return AL, float(F.compute_cost(AL, Y)), grads

    sequential = [work(X, Y) for X, Y in inputs]
    results = [[] for _ in inputs]
    barrier = threading.Barrier(len(inputs))
    errors = []

    def run(i):
        try:
            barrier.wait(10)
            for _ in range(25):
                results[i].append(work(*inputs[i]))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for want, got_list in zip(sequential, results, strict=True):
        assert len(got_list) == 25
        for AL, cost, grads in got_list:
            np.testing.assert_array_equal(AL, want[0])
            assert cost == want[1]
            for key, value in want[2].items():
                np.testing.assert_array_equal(grads[key], value)


def test_one_model_predicts_from_4_threads_at_once():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((20, 500))
    model = Model([20, 16, 8, 1], seed=4).fit(X, (X[0:1] > 0).astype(float), 0.1, 20)
    want = model.predict_proba(X)
    barrier = threading.Barrier(4)
    out = []

    def run():
        barrier.wait(10)
        out.extend(model.predict_proba(X) for _ in range(30))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 120
    for got in out:
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- fuzzing the API


def _values(draw, shape, dtype, scale):
    """Random values at ``scale``, with exact zeros and ±scale extremes sprinkled in."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * scale
    special = rng.random(shape)
    a[special < 0.1] = 0.0
    a[(special >= 0.1) & (special < 0.15)] = scale
    a[(special >= 0.15) & (special < 0.2)] = -scale
    return a.astype(dtype)


SCALES = [0.0, 1e-30, 1e-3, 1.0, 30.0, 1e4]
FUZZ_LAYOUTS = ["C", "F", "C-padded", "F-padded", "strided", "negative", "read-only", "big-endian"]


def _check_Z(Z, A_prev, W, b):
    """|Z − (W·A_prev + b)| within the rounding of a length-k dot product in Z's dtype."""
    dt = Z.dtype
    W64, A64, b64 = (np.asarray(x, dtype=np.float64) for x in (W, A_prev, b))
    exact = W64 @ A64 + b64
    bound = (W64.shape[1] + 3) * EPS[dt] * (np.abs(W64) @ np.abs(A64) + np.abs(b64)) + TINY[dt]
    assert (np.abs(Z.astype(np.float64) - exact) <= bound).all(), "Z off by more than rounding"


def _check_activation(A, Z, activation, slope):
    """A = g(Z) to a few ulp, from the kernel's own Z (so the GEMM's rounding does not enter)."""
    dt = A.dtype
    Z64 = Z.astype(np.float64)
    with np.errstate(all="ignore"):
        want = ACTIVATIONS[activation].forward(Z64, np.float64(dt.type(slope)))
    np.testing.assert_allclose(
        A.astype(np.float64), want, rtol=16 * EPS[dt], atol=4 * TINY[dt], err_msg=activation
    )


def _check_backward(got, dA, cache, activation, slope):
    """dA_prev, dW, db within rounding of the reference from the kernel's own Z."""
    (A_prev, W, _), Z = cache
    dt = np.asarray(got[1]).dtype
    dA64, Z64 = np.asarray(dA, dtype=np.float64), np.asarray(Z, dtype=np.float64)
    A64, W64 = np.asarray(A_prev, dtype=np.float64), np.asarray(W, dtype=np.float64)
    m = A64.shape[1]
    # The oracle's own arithmetic may overflow where dA is huge (AL within a denormal of 0):
    # there the bound is inf and claims nothing.
    with np.errstate(all="ignore"):
        gp = ACTIVATIONS[activation].derivative(Z64, np.float64(dt.type(slope)))
        dZ = dA64 if activation == "linear" else dA64 * gp
        want = (W64.T @ dZ, dZ @ A64.T / m, dZ.sum(axis=1, keepdims=True) / m)
        # g'(Z) is computed in dt (absolute error a few eps, |g'| <= 1): bound with |dA|
        bounds = (
            (W64.shape[0] + 16) * EPS[dt] * (np.abs(W64).T @ np.abs(dA64)),
            (m + 16) * EPS[dt] * (np.abs(dA64) @ np.abs(A64).T) / m,
            (m + 16) * EPS[dt] * np.abs(dA64).sum(axis=1, keepdims=True) / m,
        )
    for name, g, w, bound in zip(("dA_prev", "dW", "db"), got, want, bounds, strict=True):
        assert g.dtype == dt
        with np.errstate(all="ignore"):
            err = np.abs(g.astype(np.float64) - w)
        ok = (err <= bound + 4 * TINY[dt]) | ~np.isfinite(bound)
        assert ok.all(), f"{name}: max error {err.max():.3g}"


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_layer_forward_and_backward_match_numpy_property(data):
    draw = data.draw
    n, k, m = draw(st.integers(1, 7)), draw(st.integers(1, 9)), draw(st.integers(1, 8))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    activation = draw(st.sampled_from(ACTS))
    a_scale, w_scale = draw(st.sampled_from(SCALES)), draw(st.sampled_from([0.0, 1e-3, 1.0, 30.0]))
    A_prev = _values(draw, (k, m), dtype, a_scale)
    W = _values(draw, (n, k), dtype, w_scale)
    b = _values(draw, (n, 1), dtype, draw(st.sampled_from([0.0, 1.0, 1e4])))
    layout = draw(st.sampled_from(FUZZ_LAYOUTS))
    with strict_floating_point():
        A, cache = F.linear_activation_forward(
            relayout(A_prev, layout),
            relayout(W, draw(st.sampled_from(FUZZ_LAYOUTS))),
            b,
            activation,
        )
        assert A.dtype == dtype and A.shape == (n, m)
        (_, _, _), Z = cache
        _check_Z(Z, A_prev, W, b)
        _check_activation(A, Z, activation, F.LEAKY_SLOPE)
        dA = _values(draw, (n, m), dtype, draw(st.sampled_from([1e-3, 1.0, 1e4])))
        got = F.linear_activation_backward(relayout(dA, layout), cache, activation)
        _check_backward(got, dA, cache, activation, F.LEAKY_SLOPE)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_L_model_forward_cost_backward_match_numpy_property(data):
    draw = data.draw
    dims = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4)) + [1]
    m = draw(st.integers(1, 8))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    hidden = draw(st.sampled_from(ACTS))
    X = _values(draw, (dims[0], m), dtype, draw(st.sampled_from(SCALES)))
    Y = (_values(draw, (1, m), np.float64, 1.0) > 0).astype(np.float64)
    P = {}
    for l in range(1, len(dims)):
        P[f"W{l}"] = _values(
            draw, (dims[l], dims[l - 1]), dtype, draw(st.sampled_from([1e-3, 1.0, 3.0]))
        )
        P[f"b{l}"] = _values(draw, (dims[l], 1), dtype, 0.5)
    layout = draw(st.sampled_from(FUZZ_LAYOUTS))
    with strict_floating_point():
        AL, caches = F.L_model_forward(relayout(X, layout), P, hidden_activation=hidden)
        assert AL.dtype == dtype and AL.shape == (1, m) and len(caches) == len(dims) - 1
        np.testing.assert_array_equal(caches[0][0][0], X)  # the first layer's input is X
        outputs = [c[0][0] for c in caches[1:]] + [AL]  # each layer's A is the next one's input
        for l, (((A_in, _, _), Z), A_out) in enumerate(zip(caches, outputs, strict=True), start=1):
            _check_Z(Z, A_in, P[f"W{l}"], P[f"b{l}"])
            act = hidden if l < len(caches) else "sigmoid"
            _check_activation(A_out, Z, act, F.LEAKY_SLOPE)
        assert ((AL >= 0) & (AL <= 1)).all()
        cost = F.compute_cost(AL, Y)
        want = reference.cross_entropy_cost(AL.astype(np.float64), Y)
        if np.isfinite(want):
            np.testing.assert_allclose(
                float(cost), want, rtol=(m + 8) * EPS[dtype], atol=TINY[dtype]
            )
        else:
            assert float(cost) == want
        if ((AL == 0) | (AL == 1)).any():
            with pytest.raises(ValueError, match="AL has entries equal to 0 or 1"):
                F.L_model_backward(AL, Y, caches, hidden_activation=hidden)
            return
        grads = F.L_model_backward(AL, Y, caches, hidden_activation=hidden)
        L = len(caches)
        with np.errstate(all="ignore"):
            dA = -(Y / AL.astype(np.float64) - (1 - Y) / (1 - AL.astype(np.float64)))
        dA = dA.astype(dtype)
        for l in reversed(range(1, L + 1)):
            act = hidden if l < L else "sigmoid"
            got = (grads[f"dA{l - 1}"], grads[f"dW{l}"], grads[f"db{l}"])
            _check_backward(got, dA, caches[l - 1], act, F.LEAKY_SLOPE)
            dA = grads[f"dA{l - 1}"]
