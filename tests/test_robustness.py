"""Robustness (issue 6): bad inputs at every public entry point, memory layouts, numerics at the
extremes, memory safety (RSS over many calls), concurrency, persistence, and property-based
fuzzing of the public API against numpy.

The table BAD_INPUTS lists one bad input per row for the functional API, ``fastnn.Model``, the
scikit-learn estimators and ``fastnn.load``; CLI_BAD_INPUTS does the same for the command line
(exit code and message). Every row asserts the exception type (or exit code) and a fragment of the
message, which names the argument, what was expected and what came.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import itertools
import os
import pickle
import struct
import threading
import warnings
import zipfile
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import Model, _kernels, reference
from fastnn import functional as F
from fastnn._registry import ACTIVATIONS
from fastnn._validation import INT_MAX

ACTS = list(ACTIVATIONS)
DTYPES = [np.float32, np.float64]
EPS = {np.dtype(np.float32): float(np.finfo(np.float32).eps), np.dtype(np.float64): 2.0**-52}
TINY = {np.dtype(np.float32): float(np.finfo(np.float32).tiny), np.dtype(np.float64): 2.0**-1022}
HUGE = 2**31  # > INT_MAX


# --------------------------------------------------------------------------- shared data


def _data(seed: int = 20240601):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, 5))
    Y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    P = {
        "W1": rng.standard_normal((4, 3)) / np.sqrt(3),
        "b1": rng.standard_normal((4, 1)) * 0.1,
        "W2": rng.standard_normal((1, 4)) / 2,
        "b2": np.zeros((1, 1)),
    }
    return X, Y, P


X5, Y5, P5 = _data()


def fake(shape, dtype=np.float64):
    """A read-only array of ``shape`` that owns 8 bytes: zero strides, nothing allocated."""
    return np.lib.stride_tricks.as_strided(
        np.zeros(1, dtype=dtype), shape=shape, strides=(0,) * len(shape), writeable=False
    )


def without(d, key):
    return {k: v for k, v in d.items() if k != key}


def with_(d, **changes):
    return {**d, **changes}


def forward_caches():
    AL, caches = F.L_model_forward(X5, P5)
    return AL, caches


def grads5():
    AL, caches = forward_caches()
    return F.L_model_backward(AL, Y5, caches)


def model5(**kwargs) -> Model:
    return Model([3, 4, 1], **kwargs)


def fitted5(**kwargs) -> Model:
    return model5(**kwargs).fit(X5, Y5, 0.1, 5)


def sk(name):
    mod = pytest.importorskip("fastnn.sklearn", reason="scikit-learn not installed")
    return getattr(mod, name)


def sk_fit(name="MLPClassifier", X=None, y=None, **params):
    est = sk(name)(**{"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **params})
    return est.fit(X5.T if X is None else X, Y5.ravel() if y is None else y)


# --- model files ----------------------------------------------------------------------------


def saved_arrays():
    """The arrays of a saved, fitted, standardizing [3, 4, 1] model."""
    path = _TMP.path("base.npz")
    fitted5(standardize=True).save(path)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


class _TmpDir:
    """Where the table's file cases write (set per test by an autouse fixture)."""

    root = None

    def path(self, name):
        return os.path.join(self.root, name)


_TMP = _TmpDir()


@pytest.fixture(autouse=True)
def _tmp_for_cases(tmp_path):
    _TMP.root = str(tmp_path)
    yield
    _TMP.root = None


def model_file(name="m.npz", **changes):
    """A saved model's arrays with ``changes`` (None deletes a key), written with np.savez."""
    arrays = saved_arrays()
    for key, value in changes.items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    path = _TMP.path(name)
    np.savez(path, **arrays)
    return path


def bytes_file(name, data: bytes):
    path = _TMP.path(name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def good_model_bytes() -> bytes:
    path = _TMP.path("good.npz")
    fitted5().save(path)
    with open(path, "rb") as fh:
        return fh.read()


def patch_zip_member(data: bytes, member: str, *, flags: int = 0, method: int | None = None):
    """Set flag bits / the compression method of one member, in both zip headers."""
    b = bytearray(data)
    name = member.encode()
    pos = 0
    while (pos := b.find(b"PK\x01\x02", pos)) >= 0:
        n = struct.unpack("<H", b[pos + 28 : pos + 30])[0]
        if bytes(b[pos + 46 : pos + 46 + n]) == name:
            local = struct.unpack("<I", b[pos + 42 : pos + 46])[0]
            for flag_at, method_at in ((pos + 8, pos + 10), (local + 6, local + 8)):
                old = struct.unpack("<H", b[flag_at : flag_at + 2])[0]
                b[flag_at : flag_at + 2] = struct.pack("<H", old | flags)
                if method is not None:
                    b[method_at : method_at + 2] = struct.pack("<H", method)
            return bytes(b)
        pos += 4
    raise KeyError(member)


def corrupt_deflate() -> bytes:
    """A compressed model archive whose W1 member holds garbage instead of a deflate stream."""
    path = _TMP.path("compressed.npz")
    np.savez_compressed(path, **saved_arrays())
    with open(path, "rb") as fh:
        b = bytearray(fh.read())
    info = zipfile.ZipFile(path).getinfo("W1.npy")
    local = info.header_offset
    n, extra = struct.unpack("<HH", b[local + 26 : local + 30])
    start = local + 30 + n + extra
    b[start : start + info.compress_size] = b"\xff" * info.compress_size
    return bytes(b)


class _Reduce:
    """Unpickling this makes a directory: evidence that a loader unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def raw_pickle_file():
    return bytes_file("raw.npz", pickle.dumps(_Reduce(_TMP.path("unpickled"))))


def object_member_file():
    return model_file("obj.npz", W1=np.array([_Reduce(_TMP.path("unpickled"))], dtype=object))


def npy_file():
    path = _TMP.path("plain.npy")
    np.save(path, np.ones((3, 4)))
    return path


# --------------------------------------------------------------------------- the table


class C(NamedTuple):
    """One bad input: ``call()`` must raise ``exc`` with a message matching ``match``."""

    call: Callable[[], object]
    exc: type[BaseException]
    match: str


# fmt: off
BAD_INPUTS = {
    # --- functional: L_model_forward --------------------------------------------------------
    "fwd-X-1d": C(lambda: F.L_model_forward(X5[0], P5), ValueError, r"X must be a 2-D array of shape \(3, \?\); got shape \(5,\)"),
    "fwd-X-3d": C(lambda: F.L_model_forward(X5[None], P5), ValueError, r"X must be a 2-D array .* got shape \(1, 3, 5\)"),
    "fwd-X-m0": C(lambda: F.L_model_forward(X5[:, :0], P5), ValueError, r"X is empty \(shape \(3, 0\)\)"),
    "fwd-X-rows": C(lambda: F.L_model_forward(X5[:2], P5), ValueError, r"X must have shape \(3, \?\); got \(2, 5\)"),
    "fwd-X-complex": C(lambda: F.L_model_forward(X5 + 0j, P5), TypeError, "X must hold real numbers; got dtype complex128"),
    "fwd-X-object": C(lambda: F.L_model_forward(X5.astype(object), P5), TypeError, "X must hold real numbers; got dtype object"),
    "fwd-X-str": C(lambda: F.L_model_forward(X5.astype(str), P5), TypeError, "X must hold real numbers; got dtype <U"),
    "fwd-X-float16": C(lambda: F.L_model_forward(X5.astype(np.float16), P5), TypeError, "X must be float32 or float64; got float16"),
    "fwd-X-ragged": C(lambda: F.L_model_forward([[1.0, 2.0], [3.0]], P5), TypeError, "X must be a numeric array; got list"),
    "fwd-X-nan": C(lambda: F.L_model_forward(np.where(X5 > 0.5, np.nan, X5), P5), ValueError, "X contains NaN or infinity"),
    "fwd-X-inf": C(lambda: F.L_model_forward(np.where(X5 > 0.5, -np.inf, X5), P5), ValueError, "X contains NaN or infinity"),
    "fwd-X-huge": C(lambda: F.L_model_forward(fake((3, HUGE)), P5), ValueError, r"X has a dimension >= 2\*\*31 - 1 \(shape \(3, 2147483648\)\)"),
    "fwd-hidden": C(lambda: F.L_model_forward(X5, P5, hidden_activation="swish"), ValueError, "activation must be one of 'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu'; got 'swish'"),
    "fwd-params-list": C(lambda: F.L_model_forward(X5, [P5["W1"]]), TypeError, "parameters must be a dict of W1, b1, ...; got list"),
    "fwd-params-no-W1": C(lambda: F.L_model_forward(X5, without(P5, "W1")), ValueError, "parameters is missing key 'W1'"),
    "fwd-params-no-b2": C(lambda: F.L_model_forward(X5, without(P5, "b2")), ValueError, r"parameters is missing key 'b2' \(expected shape \(1, 1\)\)"),
    "fwd-params-W2-shape": C(lambda: F.L_model_forward(X5, with_(P5, W2=np.ones((1, 7)))), ValueError, r"parameters\['W2'\] must have shape \(n_2, 4\); got \(1, 7\)"),
    "fwd-params-b1-shape": C(lambda: F.L_model_forward(X5, with_(P5, b1=np.ones(4))), ValueError, r"parameters\['b1'\] must have shape \(4, 1\); got \(4,\)"),
    "fwd-params-W1-1d": C(lambda: F.L_model_forward(X5, with_(P5, W1=P5["W1"].ravel())), ValueError, r"parameters\['W1'\] must be 2-D \(n_1, n_x\); got shape \(12,\)"),
    "fwd-params-W1-complex": C(lambda: F.L_model_forward(X5, with_(P5, W1=P5["W1"] + 0j)), TypeError, r"parameters\['W1'\] must hold real numbers; got dtype complex128"),
    "fwd-params-b1-str": C(lambda: F.L_model_forward(X5, with_(P5, b1=P5["b1"].astype(str))), TypeError, r"parameters\['b1'\] must hold real numbers"),
    "fwd-params-W1-nan": C(lambda: F.L_model_forward(X5, with_(P5, W1=P5["W1"] * np.nan)), ValueError, r"non-finite values in Z = W·A_prev \+ b"),
    "fwd-params-huge": C(lambda: F.L_model_forward(X5, with_(P5, W1=fake((HUGE, 3)), b1=fake((HUGE, 1)), W2=fake((1, HUGE)))), ValueError, r"W has a dimension >= 2\*\*31 - 1 \(shape \(2147483648, 3\)\)"),
    # --- functional: compute_cost ------------------------------------------------------------
    "cost-AL-rows": C(lambda: F.compute_cost(np.full((2, 5), 0.5), Y5), ValueError, r"AL must have shape \(1, \?\); got \(2, 5\)"),
    "cost-AL-above-1": C(lambda: F.compute_cost(np.full((1, 5), 1.5), Y5), ValueError, r"AL must hold probabilities in \[0, 1\]"),
    "cost-AL-nan": C(lambda: F.compute_cost(np.full((1, 5), np.nan), Y5), ValueError, "AL contains NaN or infinity"),
    "cost-AL-huge": C(lambda: F.compute_cost(fake((1, HUGE)), fake((1, HUGE))), ValueError, r"AL has a dimension >= 2\*\*31 - 1"),
    "cost-Y-label-2": C(lambda: F.compute_cost(np.full((1, 5), 0.5), Y5 * 2), ValueError, r"Y must hold labels 0 or 1 for a sigmoid output; found \[2.0\]"),
    "cost-Y-nan": C(lambda: F.compute_cost(np.full((1, 5), 0.5), Y5 * np.nan), ValueError, "Y contains NaN or infinity"),
    "cost-Y-m": C(lambda: F.compute_cost(np.full((1, 5), 0.5), Y5[:, :3]), ValueError, r"Y must have shape \(1, 5\) or \(5,\); got \(1, 3\)"),
    "cost-Y-column": C(lambda: F.compute_cost(np.full((1, 5), 0.5), Y5.T), ValueError, r"Y must have shape \(1, 5\) or \(5,\); got \(5, 1\)"),
    "cost-Y-complex": C(lambda: F.compute_cost(np.full((1, 5), 0.5), Y5 + 0j), TypeError, "Y must hold real numbers; got dtype complex128"),
    "cost-Y-str": C(lambda: F.compute_cost(np.full((1, 5), 0.5), Y5.astype(str)), TypeError, "Y must hold real numbers"),
    # --- functional: backward ----------------------------------------------------------------
    "bwd-Y-label-2": C(lambda: F.L_model_backward(*forward_caches()[:1], Y5 * 2, forward_caches()[1]), ValueError, r"Y must hold labels 0 or 1 for a sigmoid output; found \[2.0\]"),
    "bwd-Y-m": C(lambda: F.L_model_backward(forward_caches()[0], Y5[:, :2], forward_caches()[1]), ValueError, r"Y must have shape \(1, 5\) or \(5,\); got \(1, 2\)"),
    "bwd-caches-empty": C(lambda: F.L_model_backward(forward_caches()[0], Y5, []), ValueError, "caches must be the non-empty list of layer caches returned by L_model_forward; got"),
    "bwd-caches-garbage": C(lambda: F.L_model_backward(forward_caches()[0], Y5, [1]), ValueError, r"caches\[0\] must be \(\(A_prev, W, b\), Z\) as returned by linear_activation_forward; got int"),
    "bwd-AL-saturated": C(lambda: F.L_model_backward(np.ones((1, 5)), Y5, forward_caches()[1]), ValueError, "AL has entries equal to 0 or 1"),
    "bwd-hidden": C(lambda: F.L_model_backward(*forward_caches()[:1], Y5, forward_caches()[1], hidden_activation="gelu"), ValueError, "activation must be one of .*; got 'gelu'"),
    "lin-fwd-W-1d": C(lambda: F.linear_forward(X5, np.ones(3), np.zeros((1, 1))), ValueError, r"W must be a 2-D array; got shape \(3,\)"),
    "lin-fwd-b-shape": C(lambda: F.linear_forward(X5, np.ones((2, 3)), np.zeros((3, 1))), ValueError, r"b must have shape \(2, 1\); got \(3, 1\)"),
    "lin-fwd-A-rows": C(lambda: F.linear_forward(X5[:2], np.ones((2, 3)), np.zeros((2, 1))), ValueError, r"A_prev must have shape \(3, \?\); got \(2, 5\)"),
    "lin-fwd-W-object": C(lambda: F.linear_forward(X5, np.ones((2, 3), dtype=object), np.zeros((2, 1))), TypeError, "W must hold real numbers; got dtype object"),
    "lin-act-fwd-activation": C(lambda: F.linear_activation_forward(X5, P5["W1"], P5["b1"], "softmax"), ValueError, "activation must be one of .*; got 'softmax'"),
    "lin-act-fwd-A-huge": C(lambda: F.linear_activation_forward(fake((3, HUGE)), P5["W1"], P5["b1"], "relu"), ValueError, r"A_prev has a dimension >= 2\*\*31 - 1"),
    "lin-act-bwd-dA-shape": C(lambda: F.linear_activation_backward(np.ones((4, 3)), forward_caches()[1][0], "relu"), ValueError, r"dA must have shape \(4, 5\); got \(4, 3\)"),
    "lin-act-bwd-dA-nan": C(lambda: F.linear_activation_backward(np.full((4, 5), np.nan), forward_caches()[1][0], "relu"), ValueError, "dA contains NaN or infinity"),
    "lin-act-bwd-dA-complex": C(lambda: F.linear_activation_backward(np.ones((4, 5)) + 0j, forward_caches()[1][0], "relu"), TypeError, "dA must hold real numbers"),
    "lin-act-bwd-cache": C(lambda: F.linear_activation_backward(np.ones((4, 5)), (1, 2), "relu"), ValueError, r"cache must be \(\(A_prev, W, b\), Z\)"),
    "lin-act-bwd-activation": C(lambda: F.linear_activation_backward(np.ones((4, 5)), forward_caches()[1][0], "elu"), ValueError, "activation must be one of .*; got 'elu'"),
    "lin-bwd-cache": C(lambda: F.linear_backward(np.ones((4, 5)), None), ValueError, r"cache must be \(A_prev, W, b\) as returned by linear_forward; got NoneType"),
    # --- functional: update, training loops, init, predict -----------------------------------
    "update-lr-0": C(lambda: F.update_parameters(P5, grads5(), 0), ValueError, "learning_rate must be a finite number > 0; got 0"),
    "update-lr-negative": C(lambda: F.update_parameters(P5, grads5(), -0.1), ValueError, r"learning_rate must be a finite number > 0; got -0.1"),
    "update-lr-nan": C(lambda: F.update_parameters(P5, grads5(), float("nan")), ValueError, "learning_rate must be a finite number > 0; got nan"),
    "update-lr-inf": C(lambda: F.update_parameters(P5, grads5(), float("inf")), ValueError, "learning_rate must be a finite number > 0; got inf"),
    "update-lr-huge-int": C(lambda: F.update_parameters(P5, grads5(), 10**400), ValueError, "learning_rate must be a finite number > 0; got 1000"),
    "update-lr-str": C(lambda: F.update_parameters(P5, grads5(), "fast"), TypeError, "learning_rate must be a number; got 'fast'"),
    "update-grads-missing": C(lambda: F.update_parameters(P5, without(grads5(), "db2"), 0.1), ValueError, "grads is missing key 'db2'"),
    "update-grads-shape": C(lambda: F.update_parameters(P5, with_(grads5(), dW1=np.ones(3)), 0.1), ValueError, r"grads\['dW1'\] must have shape \(4, 3\); got \(3,\)"),
    "update-grads-nan": C(lambda: F.update_parameters(P5, with_(grads5(), db2=np.full((1, 1), np.nan)), 0.1), ValueError, r"grads\['db2'\] contains NaN or infinity"),
    "update-grads-complex": C(lambda: F.update_parameters(P5, with_(grads5(), dW2=np.ones((1, 4)) + 0j), 0.1), TypeError, r"grads\['dW2'\] must hold real numbers"),
    "L-layer-iterations-negative": C(lambda: F.L_layer_model(X5, Y5, [3, 1], num_iterations=-1), ValueError, "num_iterations must be >= 0; got -1"),
    "L-layer-iterations-float": C(lambda: F.L_layer_model(X5, Y5, [3, 1], num_iterations=1.5), TypeError, "num_iterations must be an integer; got 1.5"),
    "L-layer-lr-0": C(lambda: F.L_layer_model(X5, Y5, [3, 1], learning_rate=0), ValueError, "learning_rate must be a finite number > 0; got 0"),
    "L-layer-labels": C(lambda: F.L_layer_model(X5, Y5 * 3, [3, 1], num_iterations=1), ValueError, r"Y must hold labels 0 or 1 for a sigmoid output; found \[3.0\]"),
    "L-layer-X-mismatch": C(lambda: F.L_layer_model(X5, Y5, [4, 1], num_iterations=1), ValueError, r"X must have shape \(4, \?\); got \(3, 5\)"),
    "L-layer-Y-nan": C(lambda: F.L_layer_model(X5, Y5 * np.nan, [3, 1], num_iterations=1), ValueError, "Y contains NaN or infinity"),
    "dims-too-short": C(lambda: F.initialize_parameters_deep([3]), ValueError, r"layer_dims needs at least \[n_x, n_y\]; got \[3\]"),
    "dims-zero": C(lambda: F.initialize_parameters_deep([3, 0, 1]), ValueError, r"layer_dims\[1\] must be an integer in \[1, 2\*\*31 - 1\); got 0"),
    "dims-huge": C(lambda: F.L_layer_model(X5, Y5, [3, HUGE, 1], num_iterations=1), ValueError, r"layer_dims\[1\] must be an integer in \[1, 2\*\*31 - 1\); got 2147483648"),
    "dims-not-a-sequence": C(lambda: F.initialize_parameters_deep(5), TypeError, "layer_dims must be a sequence of ints; got 5"),
    "dims-float": C(lambda: F.initialize_parameters_deep([3, 2.0, 1]), ValueError, r"layer_dims\[1\] must be an integer .*; got 2.0"),
    "two-layer-dims": C(lambda: F.two_layer_model(X5, Y5, [3, 2, 2, 1], num_iterations=1), ValueError, r"layers_dims must be \(n_x, n_h, n_y\) for two_layer_model; got \[3, 2, 2, 1\]"),
    "init-two-layer-zero": C(lambda: F.initialize_parameters(0, 2, 1), ValueError, r"layer_dims\[0\] must be an integer in \[1, 2\*\*31 - 1\); got 0"),
    "predict-y-m": C(lambda: F.predict(X5, Y5[:, :2], P5), ValueError, r"y must have shape \(1, 5\) or \(5,\); got \(1, 2\)"),
    "predict-X-1d": C(lambda: F.predict(X5[0], Y5, P5), ValueError, r"X must be a 2-D array of shape \(3, \?\)"),
    # --- Model: construction -----------------------------------------------------------------
    "model-dims-short": C(lambda: Model([2]), ValueError, r"layer_dims needs at least \[n_x, n_y\]; got \[2\]"),
    "model-dims-float": C(lambda: Model([2, 1.5]), ValueError, r"layer_dims\[1\] must be an integer in \[1, 2\*\*31 - 1\); got 1.5"),
    "model-dims-huge": C(lambda: Model([HUGE, 1]), ValueError, r"layer_dims\[0\] must be an integer .*; got 2147483648"),
    "model-hidden-unknown": C(lambda: Model([2, 3, 1], hidden_activation="swish"), ValueError, "activation must be one of 'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu'; got 'swish'"),
    "model-hidden-int": C(lambda: Model([2, 3, 1], hidden_activation=3), TypeError, "hidden_activation must be one of 'linear', .* or a sequence of them; got 3"),
    "model-hidden-count": C(lambda: Model([2, 3, 1], hidden_activation=["relu", "tanh"]), ValueError, r"hidden_activation needs one name per hidden layer \(1\); got 2"),
    "model-output": C(lambda: Model([2, 1], output="softmax"), ValueError, "output must be one of 'sigmoid', 'linear'; got 'softmax'"),
    "model-init": C(lambda: Model([2, 1], init="glorot"), ValueError, "init must be one of 'course', 'small', 'he', 'xavier', 'zeros'; got 'glorot'"),
    "model-init-zeros-hidden": C(lambda: Model([2, 3, 1], init="zeros"), ValueError, "init='zeros' only works without hidden layers"),
    "model-dtype-int": C(lambda: Model([2, 1], dtype=np.int32), ValueError, "dtype must be float32 or float64; got int32"),
    "model-dtype-float16": C(lambda: Model([2, 1], dtype="float16"), ValueError, "dtype must be float32 or float64; got float16"),
    "model-dtype-junk": C(lambda: Model([2, 1], dtype="junk"), ValueError, "dtype must be float32 or float64; got 'junk'"),
    "model-seed-float": C(lambda: Model([2, 1], seed=1.5), TypeError, "seed must be an int or None; got 1.5"),
    "model-slope-1": C(lambda: Model([2, 3, 1], leaky_slope=1.0), ValueError, r"leaky_slope must be in \[0, 1\); got 1.0"),
    "model-slope-negative": C(lambda: Model([2, 3, 1], leaky_slope=-0.1), ValueError, r"leaky_slope must be in \[0, 1\); got -0.1"),
    "model-slope-nan": C(lambda: Model([2, 3, 1], leaky_slope=float("nan")), ValueError, r"leaky_slope must be in \[0, 1\); got nan"),
    "model-slope-str": C(lambda: Model([2, 3, 1], leaky_slope="steep"), TypeError, r"leaky_slope must be a number in \[0, 1\); got 'steep'"),
    "model-from-params-missing": C(lambda: Model.from_parameters(without(P5, "b1")), ValueError, r"parameters is missing key 'b1' \(expected shape \(4, 1\)\)"),
    "model-from-params-nan": C(lambda: Model.from_parameters(with_(P5, W2=P5["W2"] * np.inf)), ValueError, r"parameters\['W2'\] contains NaN or infinity"),
    "model-from-params-b-shape": C(lambda: Model.from_parameters(with_(P5, b2=np.zeros((2, 1)))), ValueError, r"parameters\['b2'\] must have shape \(1, 1\); got \(2, 1\)"),
    # --- Model.fit -----------------------------------------------------------------------------
    "fit-lr-negative": C(lambda: model5().fit(X5, Y5, learning_rate=-1), ValueError, "learning_rate must be a finite number > 0; got -1"),
    "fit-lr-inf": C(lambda: model5().fit(X5, Y5, learning_rate=np.inf), ValueError, "learning_rate must be a finite number > 0; got inf"),
    "fit-lr-none": C(lambda: model5().fit(X5, Y5, learning_rate=None), TypeError, "learning_rate must be a number; got None"),
    "fit-iterations-float": C(lambda: model5().fit(X5, Y5, num_iterations=2.0), TypeError, "num_iterations must be an integer; got 2.0"),
    "fit-iterations-bool": C(lambda: model5().fit(X5, Y5, num_iterations=True), TypeError, "num_iterations must be an integer; got True"),
    "fit-cost-every-str": C(lambda: model5().fit(X5, Y5, cost_every="10"), TypeError, "cost_every must be an integer; got '10'"),
    "fit-callback": C(lambda: model5().fit(X5, Y5, callback=3), TypeError, "callback must be callable; got 3"),
    "fit-X-m0": C(lambda: model5().fit(X5[:, :0], Y5[:, :0]), ValueError, r"X is empty \(shape \(3, 0\)\)"),
    "fit-X-3d": C(lambda: model5().fit(X5[None], Y5), ValueError, r"X must be a 2-D array of shape \(3, \?\); got shape \(1, 3, 5\)"),
    "fit-X-nan": C(lambda: model5().fit(X5 * np.nan, Y5), ValueError, "X contains NaN or infinity"),
    "fit-X-inf": C(lambda: model5().fit(np.where(X5 > 0, np.inf, X5), Y5), ValueError, "X contains NaN or infinity"),
    "fit-X-str": C(lambda: model5().fit(X5.astype(str), Y5), TypeError, "X must hold real numbers; got dtype <U"),
    "fit-X-object": C(lambda: model5().fit(X5.astype(object), Y5), TypeError, "X must hold real numbers; got dtype object"),
    "fit-X-huge": C(lambda: model5().fit(fake((3, HUGE)), fake((1, HUGE))), ValueError, r"X has a dimension >= 2\*\*31 - 1 \(shape \(3, 2147483648\)\)"),
    "fit-X-huge-standardize": C(lambda: model5(standardize=True).fit(fake((3, HUGE)), fake((1, HUGE))), ValueError, r"X has a dimension >= 2\*\*31 - 1"),
    "fit-Y-nan": C(lambda: model5().fit(X5, Y5 * np.nan), ValueError, "Y contains NaN or infinity"),
    "fit-Y-half": C(lambda: model5().fit(X5, Y5 * 0.5), ValueError, r"Y must hold labels 0 or 1 for a sigmoid output; found \[0.5\]"),
    "fit-Y-minus-1": C(lambda: model5().fit(X5, Y5 - 1), ValueError, r"found \[-1.0\]"),
    "fit-Y-column": C(lambda: model5().fit(X5, Y5.T), ValueError, r"Y must have shape \(1, 5\) or \(5,\); got \(5, 1\)"),
    "fit-Y-two-rows": C(lambda: model5().fit(X5, np.vstack([Y5, Y5])), ValueError, r"Y must have shape \(1, 5\) or \(5,\); got \(2, 5\)"),
    "fit-Y-scalar": C(lambda: model5().fit(X5, 1.0), ValueError, r"Y must have shape \(1, 5\) or \(5,\); got \(\)"),
    "fit-Y-complex": C(lambda: model5().fit(X5, Y5 + 0j), TypeError, "Y must hold real numbers; got dtype complex128"),
    "fit-Y-none": C(lambda: model5().fit(X5, None), TypeError, "Y must hold real numbers; got dtype object"),
    "fit-regressor-Y-inf": C(lambda: Model([3, 1], output="linear").fit(X5, Y5 + np.inf), ValueError, "Y contains NaN or infinity"),
    "fit-path": C(lambda: model5().fit(X5, Y5, path="fastest"), ValueError, "path must be one of 'auto', 'direct', 'gram'; got 'fastest'"),
    # --- Model inference -------------------------------------------------------------------------
    "predict-X-rows": C(lambda: fitted5().predict(X5[:2]), ValueError, r"X must have shape \(3, \?\); got \(2, 5\)"),
    "predict-X-nan": C(lambda: fitted5().predict(X5 * np.nan), ValueError, "X contains NaN or infinity"),
    "predict-X-m0": C(lambda: fitted5().predict(X5[:, :0]), ValueError, r"X is empty"),
    "predict-X-huge": C(lambda: fitted5().predict(fake((3, HUGE))), ValueError, r"X has a dimension >= 2\*\*31 - 1"),
    "predict-X-complex": C(lambda: fitted5().predict_proba(X5 + 0j), TypeError, "X must hold real numbers; got dtype complex128"),
    "predict-proba-regressor": C(lambda: Model([3, 1], output="linear").predict_proba(X5), ValueError, "predict_proba needs output='sigmoid'"),
    "score-Y-labels": C(lambda: fitted5().score(X5, Y5 + 1), ValueError, r"Y must hold labels 0 or 1 for a sigmoid output; found \[2.0\]"),
    "score-Y-m": C(lambda: fitted5().score(X5, Y5[:, :4]), ValueError, r"Y must have shape \(1, 5\) or \(5,\); got \(1, 4\)"),
    # --- scikit-learn estimators (scikit-learn's conventions: complex data is a ValueError) ------
    "sk-lr-0": C(lambda: sk_fit(learning_rate_init=0), ValueError, "learning_rate_init must be a finite number > 0.0; got 0.0"),
    "sk-lr-nan": C(lambda: sk_fit(learning_rate_init=float("nan")), ValueError, "learning_rate_init must be a finite number > 0.0; got nan"),
    "sk-max-iter-0": C(lambda: sk_fit(max_iter=0), ValueError, "max_iter must be >= 1; got 0"),
    "sk-activation": C(lambda: sk_fit(activation="relu6"), ValueError, "activation must be one of 'identity', 'logistic', 'tanh', 'relu', 'leaky_relu'; got 'relu6'"),
    "sk-slope": C(lambda: sk_fit(leaky_slope=1.0), ValueError, r"leaky_slope must be in \[0, 1\); got 1.0"),
    "sk-hidden-0": C(lambda: sk("MLPClassifier")(hidden_layer_sizes=(0,)).fit(X5.T, Y5.ravel()), ValueError, r"hidden_layer_sizes must hold integers >= 1; got \(0,\)"),
    "sk-hidden-huge": C(lambda: sk("MLPClassifier")(hidden_layer_sizes=(HUGE,)).fit(X5.T, Y5.ravel()), ValueError, r"layer_dims\[1\] must be an integer in \[1, 2\*\*31 - 1\); got 2147483648"),
    "sk-dtype": C(lambda: sk_fit(dtype=np.int64), ValueError, "dtype must be float32 or float64; got int64"),
    "sk-init-zeros-hidden": C(lambda: sk_fit(init="zeros"), ValueError, r"init='zeros' only works with hidden_layer_sizes=\(\)"),
    "sk-X-nan": C(lambda: sk_fit(X=X5.T * np.nan), ValueError, "Input X contains NaN"),
    "sk-X-complex": C(lambda: sk_fit(X=X5.T + 1j), ValueError, "Complex data not supported"),
    "sk-X-3d": C(lambda: sk_fit(X=X5.T[None]), ValueError, "Found array with dim 3"),
    "sk-X-no-samples": C(lambda: sk_fit(X=X5.T[:0], y=Y5.ravel()[:0]), ValueError, r"Found array with 0 sample\(s\)"),
    "sk-y-length": C(lambda: sk_fit(y=Y5.ravel()[:3]), ValueError, "inconsistent numbers of samples: \\[5, 3\\]"),
    "sk-y-nan": C(lambda: sk_fit(name="MLPRegressor", y=Y5.ravel() * np.nan), ValueError, "Input y contains NaN"),
    "sk-multiclass": C(lambda: sk_fit(y=np.arange(5) % 3), ValueError, r"Only binary classification is supported. .*\(3 classes: 0, 1, 2\)"),
    "sk-one-class": C(lambda: sk_fit(y=np.zeros(5)), ValueError, r"needs samples of 2 classes; got 1 class"),
    "sk-regressor-two-targets": C(lambda: sk_fit(name="MLPRegressor", y=np.ones((5, 2))), ValueError, r"supports a single target: y must have shape \(n_samples,\); got \(5, 2\)"),
    "sk-predict-features": C(lambda: sk_fit().predict(X5.T[:, :2]), ValueError, "X has 2 features, but MLPClassifier is expecting 3 features"),
    # --- fastnn.load -----------------------------------------------------------------------------
    "load-missing": C(lambda: fastnn.load(_TMP.path("missing.npz")), FileNotFoundError, "no such model file: .*missing.npz"),
    "load-directory": C(lambda: fastnn.load(_TMP.root), ValueError, "not a readable fastnn model file"),
    "load-raw-pickle": C(lambda: fastnn.load(raw_pickle_file()), ValueError, r"raw.npz: not a readable fastnn model file \(.*pickled"),
    "load-object-member": C(lambda: fastnn.load(object_member_file()), ValueError, r"obj.npz: not a readable fastnn model file \(Object arrays cannot be loaded"),
    "load-npy": C(lambda: fastnn.load(npy_file()), ValueError, r"plain.npy: not a readable fastnn model file \(a single .npy array"),
    "load-truncated": C(lambda: fastnn.load(bytes_file("t.npz", good_model_bytes()[:700])), ValueError, "t.npz: not a readable fastnn model file"),
    "load-empty": C(lambda: fastnn.load(bytes_file("e.npz", b"")), ValueError, "e.npz: not a readable fastnn model file"),
    "load-garbage": C(lambda: fastnn.load(bytes_file("g.npz", b"PK\x03\x04" + b"\x00" * 60)), ValueError, "g.npz: not a readable fastnn model file"),
    "load-deflate-garbage": C(lambda: fastnn.load(bytes_file("z.npz", corrupt_deflate())), ValueError, r"z.npz: not a readable fastnn model file \(Error -3 while decompressing"),
    "load-unknown-compression": C(lambda: fastnn.load(bytes_file("u.npz", patch_zip_member(good_model_bytes(), "W1.npy", method=99))), ValueError, r"u.npz: not a readable fastnn model file \(That compression method is not supported"),
    "load-encrypted-member": C(lambda: fastnn.load(bytes_file("p.npz", patch_zip_member(good_model_bytes(), "b1.npy", flags=1))), ValueError, r"p.npz: not a readable fastnn model file \(File 'b1.npy' is encrypted"),
    "load-foreign-npz": C(lambda: fastnn.load(model_file("f.npz", format=np.array("something-else"))), ValueError, "f.npz: not a fastnn model file"),
    "load-version-99": C(lambda: fastnn.load(model_file("v.npz", format_version=np.array(99))), ValueError, "v.npz: model format version 99; this fastnn reads 1"),
    "load-version-junk": C(lambda: fastnn.load(model_file("vj.npz", format_version=np.array(["1", "2"]))), ValueError, "vj.npz: unreadable model format version"),
    "load-W1-shape": C(lambda: fastnn.load(model_file("w.npz", W1=np.ones((4, 2)))), ValueError, r"w.npz: invalid fastnn model file: layer_dims \[3, 4, 1\] do not match the stored weights"),
    "load-W1-nan": C(lambda: fastnn.load(model_file("wn.npz", W1=np.full((4, 3), np.nan))), ValueError, r"invalid fastnn model file: parameters\['W1'\] contains NaN or infinity"),
    "load-W1-complex": C(lambda: fastnn.load(model_file("wc.npz", W1=np.ones((4, 3), complex))), ValueError, r"parameters\['W1'\] must hold real numbers; got dtype complex128"),
    "load-no-b1": C(lambda: fastnn.load(model_file("nb.npz", b1=None)), ValueError, "missing 'b1'"),
    "load-activation": C(lambda: fastnn.load(model_file("a.npz", activations=np.array(["swish", "sigmoid"]))), ValueError, "activation must be one of .*; got 'swish'"),
    "load-activation-output": C(lambda: fastnn.load(model_file("ao.npz", output=np.array("linear"))), ValueError, r"activations \['relu', 'sigmoid'\] do not end with the output 'linear'"),
    "load-dtype": C(lambda: fastnn.load(model_file("d.npz", dtype=np.array("int8"))), ValueError, "dtype must be float32 or float64; got int8"),
    "load-slope": C(lambda: fastnn.load(model_file("s.npz", leaky_slope=np.array(2.0))), ValueError, r"leaky_slope must be in \[0, 1\); got 2.0"),
    "load-n-iter": C(lambda: fastnn.load(model_file("n.npz", n_iter=np.array(-5))), ValueError, "n_iter must be >= 0; got -5"),
    "load-x-scale-missing": C(lambda: fastnn.load(model_file("xs.npz", x_scale=None)), ValueError, "missing 'x_scale'"),
    "load-x-scale-zero": C(lambda: fastnn.load(model_file("x0.npz", x_scale=np.zeros((3, 1)))), ValueError, "standardisation statistics must be finite, with a scale > 0"),
    "load-x-mean-nan": C(lambda: fastnn.load(model_file("xn.npz", x_mean=np.full((3, 1), np.nan))), ValueError, "standardisation statistics must be finite"),
    "load-x-mean-shape": C(lambda: fastnn.load(model_file("xm.npz", x_mean=np.zeros(3))), ValueError, r"standardisation statistics must have shape \(3, 1\); got \(3,\) and \(3, 1\)"),
}
# fmt: on


@pytest.mark.parametrize("case", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_raises_a_clear_error(case):
    with pytest.raises(case.exc, match=case.match):
        case.call()


def test_the_bad_input_table_is_large():
    assert len(BAD_INPUTS) >= 60


# --- the command line: exit code 1 (data) or 2 (usage), one line on stderr -----------------------


def _cli(argv):
    from fastnn.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _npz(name, **arrays):
    path = _TMP.path(name)
    np.savez(path, **arrays)
    return path


def _text(name, text):
    path = _TMP.path(name)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _h5(name, **datasets):
    h5py = pytest.importorskip("h5py")
    path = _TMP.path(name)
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f[key] = value
    return path


def _saved_model(name="model.npz", dims=(2, 1)):
    path = _TMP.path(name)
    Model(list(dims)).save(path)
    return path


X2 = np.array([[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 0.0]])
Y2 = np.array([0, 1, 0, 1])
TRAIN = ["--iterations", "1", "--layers", "", "-q"]

# fmt: off
CLI_BAD_INPUTS = {
    "complex-X": (lambda: ["train", _npz("c.npz", X=X2 + 0j, Y=Y2), *TRAIN], 1, "X has non-numeric dtype complex128"),
    "object-X": (lambda: ["train", _npz("o.npz", X=X2.astype(object), Y=Y2), *TRAIN], 1, "cannot read the arrays (Object arrays cannot be loaded"),
    "nan-X": (lambda: ["train", _npz("n.npz", X=X2 * np.nan, Y=Y2), *TRAIN], 1, "features contain NaN or inf"),
    "3d-X": (lambda: ["train", _npz("t.npz", X=X2[..., None], Y=Y2), *TRAIN], 1, "X must have shape (n_x, m), got (2, 4, 1)"),
    "empty-X": (lambda: ["train", _npz("e.npz", X=X2[:, :0], Y=Y2[:0]), *TRAIN], 1, "X is empty, shape (2, 0)"),
    "Y-length": (lambda: ["train", _npz("y.npz", X=X2, Y=Y2[:3]), *TRAIN], 1, "Y has 3 labels but X has 4 examples"),
    "Y-labels": (lambda: ["train", _npz("l.npz", X=X2, Y=Y2 * 2), *TRAIN], 1, "labels must be 0 or 1 for --output sigmoid"),
    "Y-nan-regression": (lambda: ["train", _npz("r.npz", X=X2, Y=Y2 * np.nan), "--output", "linear", *TRAIN], 1, "Y contain NaN or inf"),
    "csv-inf": (lambda: ["train", _text("i.csv", "a,y\n1,0\ninf,1\n"), "--label", "y", *TRAIN], 1, "row 3, column 'a': 'inf' is not a finite number"),
    "csv-no-label": (lambda: ["train", _text("nl.csv", "a,b\n1,0\n2,1\n"), "--label", "y", *TRAIN], 1, "label column 'y' not found; columns are a, b"),
    "csv-ragged": (lambda: ["train", _text("rg.csv", "a,y\n1,0\n2\n"), "--label", "y", *TRAIN], 1, "row 3 has 1 fields, expected 2"),
    "csv-not-utf8": (lambda: ["train", bytes_file("u.csv", b"a,y\n\xff\xfe,1\n"), "--label", "y", *TRAIN], 1, "not a readable CSV file"),
    "h5-1d": (lambda: ["train", _h5("x.h5", train_set_x=np.arange(4.0), train_set_y=Y2), *TRAIN], 1, "train_set_x must have shape (m, ...) with at least 2 dimensions, got (4,)"),
    "h5-two-x": (lambda: ["train", _h5("xx.h5", a_x=np.ones((4, 2)), b_x=np.ones((4, 2))), *TRAIN], 1, "several '<prefix>_x' datasets (a_x, b_x)"),
    "lr-overflow": (lambda: ["train", "--lr", "1e400"], 2, "argument --lr: must be a finite number > 0; got '1e400'"),
    "iterations-text": (lambda: ["train", "--iterations", "abc"], 2, "argument --iterations: must be an integer >= 0; got 'abc'"),
    "layers-negative": (lambda: ["train", "--layers", "-3"], 2, "hidden layer sizes must be >= 1; got '-3'"),
    "layers-huge": (lambda: ["train", "--layers", str(HUGE), "--iterations", "1"], 2, "layer_dims[1] must be an integer in [1, 2**31 - 1); got 2147483648"),
    "seed-2**32": (lambda: ["train", "--seed", str(2**32)], 2, "argument --seed: must be an integer in [0, 2**32); got '4294967296'"),
    "activation-list": (lambda: ["train", "--activation", "relu,bogus"], 2, "unknown activation 'bogus'; choose from linear, sigmoid, tanh, relu, leaky_relu"),
    "predict-pickle-model": (lambda: ["predict", raw_pickle_file(), _npz("d.npz", X=X2, Y=Y2)], 1, "not a readable fastnn model file"),
    "predict-corrupt-model": (lambda: ["predict", bytes_file("cm.npz", patch_zip_member(good_model_bytes(), "W1.npy", method=99)), _npz("d.npz", X=X2, Y=Y2)], 1, "That compression method is not supported"),
    "predict-features": (lambda: ["predict", _saved_model(dims=(3, 1)), _npz("d.npz", X=X2, Y=Y2)], 1, "2 features per example; the model"),
    "predict-labels": (lambda: ["predict", _saved_model(), _npz("d.npz", X=X2, Y=Y2 + 1)], 1, "labels 0 or 1"),
}
# fmt: on


@pytest.mark.parametrize(
    "argv, code, message", list(CLI_BAD_INPUTS.values()), ids=list(CLI_BAD_INPUTS)
)
def test_cli_bad_input_is_a_one_line_error(argv, code, message):
    got, out, err = _cli(argv())
    assert got == code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastnn: error: "), err
    assert message in lines[0]
    assert "Cost after" not in out


def test_accepted_inputs_are_converted():
    """The other side of the table: ints and bools convert; Y is (1, m) or (m,), any real type."""
    Xb = X5 > 0
    AL, caches = F.L_model_forward(Xb, P5)
    assert AL.dtype == np.float64
    np.testing.assert_array_equal(F.L_model_forward(Xb.astype(np.int8), P5)[0], AL)
    np.testing.assert_array_equal(F.L_model_forward(Xb.astype(float).tolist(), P5)[0], AL)
    cost = F.compute_cost(AL, Y5)
    grads = F.L_model_backward(AL, Y5, caches)
    want = Model([3, 4, 1]).fit(X5, Y5, 0.1, 5).costs_
    for Y in (Y5[0], Y5[0].tolist(), Y5.astype(bool), Y5[0].astype(np.uint8), Y5[:, ::-1][:, ::-1]):
        assert F.compute_cost(AL, Y) == cost
        for key, value in F.L_model_backward(AL, Y, caches).items():
            np.testing.assert_array_equal(value, grads[key])
        assert Model([3, 4, 1]).fit(X5, Y, 0.1, 5).costs_ == want


def test_number_of_bad_input_cases():
    # Reported in the issue: the two tables together.
    assert len(BAD_INPUTS) + len(CLI_BAD_INPUTS) >= 150


# --------------------------------------------------------------------------- layouts


_MEMMAP_IDS = itertools.count()


def relayout(a, kind, tmp_dir=None):
    """The same values as ``a`` in another memory layout."""
    a = np.asarray(a)
    if kind == "C":
        return np.ascontiguousarray(a)
    if kind == "F":
        return np.asfortranarray(a)
    if kind == "C-padded":  # row stride > row length (BLAS reads it in place)
        big = np.zeros((a.shape[0] + 2, a.shape[1] + 3), dtype=a.dtype)
        big[1:-1, 2:-1] = a
        return big[1:-1, 2:-1]
    if kind == "F-padded":
        big = np.zeros((a.shape[0] + 3, a.shape[1] + 2), dtype=a.dtype, order="F")
        big[2:-1, 1:-1] = a
        return big[2:-1, 1:-1]
    if kind == "strided":  # non-unit steps in both dimensions
        big = np.zeros((2 * a.shape[0], 3 * a.shape[1]), dtype=a.dtype)
        big[::2, ::3] = a
        return big[::2, ::3]
    if kind == "negative":
        return np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    if kind == "F-negative":
        return np.asfortranarray(a[::-1])[::-1]
    if kind == "read-only":
        b = a.copy()
        b.flags.writeable = False
        return b
    if kind == "memmap":
        path = os.path.join(tmp_dir, f"memmap-{next(_MEMMAP_IDS)}.dat")
        mm = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
        mm[:] = a
        mm.flush()
        del mm
        return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)
    if kind == "big-endian":
        return a.astype(a.dtype.newbyteorder(">"))
    raise ValueError(kind)


LAYOUT_KINDS = [
    "C",
    "F",
    "C-padded",
    "F-padded",
    "strided",
    "negative",
    "F-negative",
    "read-only",
    "memmap",
    "big-endian",
]
# BLAS reads F-ordered operands in place with a transpose flag; its kernels may then sum in
# another order, so results agree to rounding (a few ulp), not bit for bit. Every other layout is
# read as C order (padded rows included) or copied to C order, and gives identical bits, except
# that an operand with a single row and a non-unit column step ("strided", "F-negative" for the
# output layer's W) is itself a valid column-major matrix, which BLAS then reads transposed.
TRANSPOSED = {"F", "F-padded"}
SINGLE_ROW_TRANSPOSED = {"strided", "F-negative"}


def assert_same(got, want, kind, dtype, rtol=None, transposed=TRANSPOSED):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype
    if kind in transposed:
        rtol = rtol or (1e-5 if np.dtype(dtype) == np.float32 else 1e-12)
        scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-30)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUT_KINDS)
def test_functional_layouts_give_identical_results(kind, dtype, tmp_path):
    rng = np.random.default_rng(7)
    dims, m = [6, 5, 3, 1], 9
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = (rng.random((1, m)) > 0.5).astype(dtype)
    P = {}
    for l in range(1, len(dims)):
        P[f"W{l}"] = (rng.standard_normal((dims[l], dims[l - 1])) / 2).astype(dtype)
        P[f"b{l}"] = (rng.standard_normal((dims[l], 1)) * 0.1).astype(dtype)
    AL0, caches0 = F.L_model_forward(X, P, hidden_activation="tanh")
    grads0 = F.L_model_backward(AL0, Y, caches0, hidden_activation="tanh")
    cost0 = F.compute_cost(AL0, Y)

    same = functools.partial(assert_same, transposed=TRANSPOSED | SINGLE_ROW_TRANSPOSED)
    Xk = relayout(X, kind, tmp_path)
    Pk = {k: relayout(v, kind, tmp_path) for k, v in P.items()}
    AL, caches = F.L_model_forward(Xk, Pk, hidden_activation="tanh")
    assert AL.dtype == dtype
    same(AL, AL0, kind, dtype)
    for (_, Z), (_, Z0) in zip(caches, caches0, strict=True):
        same(Z, Z0, kind, dtype)
    grads = F.L_model_backward(
        relayout(AL, kind, tmp_path), relayout(Y, kind, tmp_path), caches, "tanh"
    )
    assert grads.keys() == grads0.keys()
    for key in grads0:
        same(grads[key], grads0[key], kind, dtype)
    same(
        F.compute_cost(relayout(AL, kind, tmp_path), relayout(Y, kind, tmp_path)),
        cost0,
        kind,
        dtype,
    )
    # per layer, too: linear_activation_forward / backward on relaid-out operands
    A1, cache1 = F.linear_activation_forward(Xk, Pk["W1"], Pk["b1"], "leaky_relu")
    A1_0, cache1_0 = F.linear_activation_forward(X, P["W1"], P["b1"], "leaky_relu")
    same(A1, A1_0, kind, dtype)
    dA = relayout(np.ones_like(A1_0), kind, tmp_path)
    for g, g0 in zip(
        F.linear_activation_backward(dA, cache1, "leaky_relu"),
        F.linear_activation_backward(np.ones_like(A1_0), cache1_0, "leaky_relu"),
        strict=True,
    ):
        same(g, g0, kind, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LAYOUT_KINDS)
def test_model_fit_predict_layouts_give_identical_results(kind, dtype, tmp_path):
    rng = np.random.default_rng(11)
    X = (rng.standard_normal((5, 40)) * 2 + 1).astype(dtype)
    Y = (X[0] + X[1] > 2).astype(dtype).reshape(1, -1)
    ref = Model([5, 6, 1], hidden_activation="tanh", dtype=dtype, seed=3, standardize=True)
    ref.fit(X, Y, 0.5, 30, cost_every=1)
    model = Model([5, 6, 1], hidden_activation="tanh", dtype=dtype, seed=3, standardize=True)
    model.fit(relayout(X, kind, tmp_path), relayout(Y, kind, tmp_path), 0.5, 30, cost_every=1)
    rtol = 1e-4 if np.dtype(dtype) == np.float32 else 1e-11  # 30 iterations of ulp differences
    assert_same(np.array(model.costs_), np.array(ref.costs_), kind, np.float64, rtol)
    for key, value in ref.parameters.items():
        assert_same(model.parameters[key], value, kind, dtype, rtol)
    assert_same(
        model.predict_proba(relayout(X, kind, tmp_path)), ref.predict_proba(X), kind, dtype, rtol
    )
    # labels as (m,) with a negative stride
    model2 = Model([5, 6, 1], hidden_activation="tanh", dtype=dtype, seed=3, standardize=True)
    model2.fit(X, np.ascontiguousarray(Y[0, ::-1])[::-1], 0.5, 30, cost_every=1)
    assert model2.costs_ == ref.costs_


def test_a_view_whose_leading_dimension_overflows_int_is_copied_not_misread(tmp_path):
    """A view such as big[:, :5] of an array with >= 2**31 columns has a row stride BLAS cannot
    take as its int leading dimension; validation copies it. A sparse memmap fakes the big array
    (the file occupies a few pages)."""
    path = tmp_path / "sparse.dat"
    try:
        big = np.memmap(path, dtype=np.float32, mode="w+", shape=(4, INT_MAX + 9))
    except (OSError, ValueError, OverflowError) as err:  # pragma: no cover - no sparse files
        pytest.skip(f"cannot map a sparse 32 GiB file here: {err}")
    rng = np.random.default_rng(3)
    values = rng.standard_normal((4, 6)).astype(np.float32)
    big[:, :6] = values
    view = big[:, :6]
    assert view.strides[0] // view.itemsize >= INT_MAX
    P = {k: v.astype(np.float32) for k, v in with_(P5, W1=rng.standard_normal((4, 4))).items()}
    AL, caches = F.L_model_forward(view, P)
    AL0, caches0 = F.L_model_forward(values, P)
    np.testing.assert_array_equal(AL, AL0)
    model = Model([4, 3, 1], dtype=np.float32)
    np.testing.assert_array_equal(model.predict_proba(view), model.predict_proba(values))
    Y = np.array([[0, 1, 1, 0, 1, 0]])
    fitted = Model([4, 3, 1], dtype=np.float32).fit(view, Y, 0.1, 3, cost_every=1)
    again = Model([4, 3, 1], dtype=np.float32).fit(values, Y, 0.1, 3, cost_every=1)
    assert fitted.costs_ == again.costs_
    del big, view
    path.unlink()  # 16 KiB on disk, but 32 GiB apparent size: do not leave it in pytest's tmp


# --- the promotion rule: float32 only when every float input is float32 ---------------------------


def _p(dtype):
    return {k: v.astype(dtype) for k, v in P5.items()}


@pytest.mark.parametrize(
    "x_dtype, p_dtype, want",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float32, np.float64),
        (np.float32, np.float64, np.float64),
        (np.int32, np.float32, np.float64),  # integers are converted to float64
        (np.bool_, np.float32, np.float64),
        (np.int64, np.float64, np.float64),
        (">f4", np.float32, np.float32),  # byte order is not a dtype change
        (np.float32, ">f4", np.float32),
    ],
)
def test_functional_promotion_rule(x_dtype, p_dtype, want):
    X = (X5 * 3).astype(x_dtype)
    P = _p(p_dtype)
    AL, caches = F.L_model_forward(X, P)
    assert AL.dtype == want
    assert all(c[1].dtype == want and c[0][1].dtype == want for c in caches)
    # the same numbers as converting everything to ``want`` first
    AL_ref, _ = F.L_model_forward(X.astype(want), {k: v.astype(want) for k, v in P.items()})
    np.testing.assert_array_equal(AL, AL_ref)
    grads = F.L_model_backward(AL, Y5, caches)
    assert {g.dtype for g in grads.values()} == {np.dtype(want)}
    assert F.compute_cost(AL, Y5).dtype == want  # labels (exact 0/1) take AL's dtype


def test_one_float64_parameter_makes_the_computation_float64():
    P = with_(_p(np.float32), b2=P5["b2"])
    AL, caches = F.L_model_forward(X5.astype(np.float32), P)
    assert AL.dtype == np.float64 and caches[0][1].dtype == np.float64


def test_backward_promotes_float64_gradients_over_float32_caches():
    AL32, caches32 = F.L_model_forward(X5.astype(np.float32), _p(np.float32))
    grads = F.L_model_backward(AL32.astype(np.float64), Y5, caches32)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float64)}
    dA = np.ones((1, 5))  # float64 dA, float32 cache
    assert {g.dtype for g in F.linear_activation_backward(dA, caches32[1], "sigmoid")} == {
        np.dtype(np.float64)
    }
    grads32 = F.L_model_backward(AL32, Y5, caches32)
    assert {g.dtype for g in grads32.values()} == {np.dtype(np.float32)}
    # update_parameters keeps numpy's promotion per key
    new = F.update_parameters(_p(np.float32), grads32, 0.1)
    assert {v.dtype for v in new.values()} == {np.dtype(np.float32)}


@pytest.mark.parametrize("model_dtype", DTYPES)
@pytest.mark.parametrize("x_dtype", [np.float32, np.float64, np.int16, ">f8"])
def test_model_fixes_its_dtype_and_converts_inputs(model_dtype, x_dtype):
    X = np.round(X5 * 4).astype(x_dtype)
    model = Model([3, 4, 1], dtype=model_dtype).fit(X, Y5.astype(np.int8), 0.1, 10)
    same = Model([3, 4, 1], dtype=model_dtype).fit(X.astype(model_dtype), Y5, 0.1, 10)
    assert model.costs_ == same.costs_
    for key, value in same.parameters.items():
        assert model.parameters[key].dtype == model_dtype
        np.testing.assert_array_equal(model.parameters[key], value)
    assert model.predict_proba(X).dtype == model_dtype


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


# --------------------------------------------------------------------------- memory


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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


# --------------------------------------------------------------------------- persistence


class _Unpickled(BaseException):
    """Raised by the patched pickle module: no ``except Exception`` can swallow it."""


def test_load_never_unpickles(tmp_path, monkeypatch):
    marker = tmp_path / "unpickled"
    payload = _Reduce(marker)
    files = {
        "raw-pickle.npz": lambda p: p.write_bytes(pickle.dumps(payload)),
        "object-member.npz": lambda p: np.savez(
            p, format=np.array("fastnn-model"), W1=np.array([payload], dtype=object)
        ),
        "object-format.npz": lambda p: np.savez(p, format=np.array([payload], dtype=object)),
        "object.npy": lambda p: np.save(p, np.array([payload], dtype=object), allow_pickle=True),
    }
    for name, write in files.items():
        write(tmp_path / name)

    def refuse(*args, **kwargs):
        raise _Unpickled("pickle was called")

    with monkeypatch.context() as patch:
        for fn in ("load", "loads", "_load", "_loads"):
            if hasattr(pickle, fn):
                patch.setattr(pickle, fn, refuse)
        patch.setattr(pickle, "Unpickler", refuse)
        for name in files:
            with pytest.raises(ValueError, match=f"{name}: not a readable fastnn model file"):
                fastnn.load(tmp_path / name)
    assert not marker.exists()
    # the payload is live: unpickling it (what load refuses to do) creates the marker
    with np.load(tmp_path / "object-member.npz", allow_pickle=True) as data:
        data["W1"]
    assert marker.is_dir()


class _Boom(Exception):
    pass


def _partial_savez(exc):
    def savez(fh, **arrays):
        fh.write(b"PK\x03\x04 partial archive" * 100)
        fh.flush()
        raise exc

    return savez


@pytest.mark.parametrize(
    "where, exc",
    [
        ("savez", OSError("disk full")),
        ("savez", KeyboardInterrupt()),
        ("savez", _Boom("writer failed")),
        ("fsync", KeyboardInterrupt()),
        ("replace", KeyboardInterrupt()),
        ("replace", OSError("cross-device link")),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
@pytest.mark.parametrize("existing", [True, False], ids=["over-old-file", "new-file"])
def test_an_interrupted_save_leaves_the_old_file_and_no_temporary_files(
    where, exc, existing, tmp_path, monkeypatch
):
    path = tmp_path / "model.npz"
    old = Model([3, 2, 1], seed=1)
    if existing:
        old.save(path)
        before = path.read_bytes()
    new = fitted5()

    def fail(*args, **kwargs):
        raise exc

    with monkeypatch.context() as patch:
        if where == "savez":
            patch.setattr(np, "savez", _partial_savez(exc))
        elif where == "fsync":
            patch.setattr(os, "fsync", fail)
        else:
            patch.setattr(os, "replace", fail)
        with pytest.raises(type(exc)):
            new.save(path)
    if existing:
        assert path.read_bytes() == before
        loaded = fastnn.load(path)
        for key, value in old.parameters.items():
            np.testing.assert_array_equal(loaded.parameters[key], value)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    else:
        assert list(tmp_path.iterdir()) == []


def test_save_then_load_round_trips_models_fitted_on_any_layout(tmp_path):
    X = relayout(np.random.default_rng(4).standard_normal((3, 12)), "F")
    Y = (X[0:1] > 0).astype(float)
    model = Model([3, 5, 1], hidden_activation="leaky_relu", leaky_slope=0.2).fit(X, Y, 0.2, 10)
    model.save(tmp_path / "m.npz")
    loaded = fastnn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.activations == model.activations and loaded.leaky_slope == 0.2


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    mutations=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6
    ),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    compressed=st.booleans(),
)
def test_load_of_a_damaged_file_gives_a_model_or_valueerror(mutations, cut, compressed, tmp_path):
    data = _DAMAGE_SOURCES[compressed]
    b = bytearray(data)
    for pos, value in mutations:
        b[pos % len(b)] = value
    if cut is not None:
        b = b[: cut % len(b)]
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(b))
    try:
        model = fastnn.load(path)
    except ValueError as err:
        assert "damaged.npz" in str(err)
    else:
        assert isinstance(model, Model)
        assert all(np.isfinite(v).all() for v in model.parameters.values())


def _damage_sources():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        model = Model([4, 3, 1], standardize=True)
        model.fit(np.arange(24.0).reshape(4, 6), np.array([0, 1, 0, 1, 1, 0]), 0.1, 3)
        plain = os.path.join(d, "plain.npz")
        model.save(plain)
        with np.load(plain) as z:
            arrays = {k: z[k] for k in z.files}
        packed = os.path.join(d, "packed.npz")
        np.savez_compressed(packed, **arrays)
        with open(plain, "rb") as a, open(packed, "rb") as b:
            return {False: a.read(), True: b.read()}


_DAMAGE_SOURCES = _damage_sources()


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
        err = np.abs(g.astype(np.float64) - w)
        assert (err <= bound + 4 * TINY[dt]).all(), f"{name}: max error {err.max():.3g}"


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
