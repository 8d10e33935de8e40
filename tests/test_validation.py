"""Input validation at every public entry point (fastnn._validation): the table BAD_INPUTS lists
one bad input per row for the functional API, ``fastnn.Model``, the scikit-learn estimators and
``fastnn.load``, and asserts the exception type and a fragment of the message, which names the
argument, what was expected and what came (the command line's table, CLI_BAD_INPUTS, is in
test_cli.py); the other side of the table, the inputs that are accepted and converted (ints,
bools, lists, labels of any real type, views BLAS cannot take, another dtype than the Model's).
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from _helpers import (
    DTYPES,
    HUGE,
    P5,
    TMP,
    X5,
    Y5,
    UnpickleMarker,
    bytes_file,
    fitted5,
    good_model_bytes,
    model5,
    patch_zip_member,
    raw_pickle_file,
    with_,
)
from test_cli import CLI_BAD_INPUTS

import fastnn
from fastnn import Model
from fastnn import functional as F
from fastnn._validation import INT_MAX


def fake(shape, dtype=np.float64):
    """A read-only array of ``shape`` that owns 8 bytes: zero strides, nothing allocated."""
    return np.lib.stride_tricks.as_strided(
        np.zeros(1, dtype=dtype), shape=shape, strides=(0,) * len(shape), writeable=False
    )


def without(d, key):
    return {k: v for k, v in d.items() if k != key}


def forward_caches():
    AL, caches = F.L_model_forward(X5, P5)
    return AL, caches


def grads5():
    AL, caches = forward_caches()
    return F.L_model_backward(AL, Y5, caches)


def sk(name):
    mod = pytest.importorskip("fastnn.sklearn", reason="scikit-learn not installed")
    return getattr(mod, name)


def sk_fit(name="MLPClassifier", X=None, y=None, **params):
    est = sk(name)(**{"hidden_layer_sizes": (3,), "max_iter": 2, "random_state": 0, **params})
    return est.fit(X5.T if X is None else X, Y5.ravel() if y is None else y)


# --- model files ----------------------------------------------------------------------------


def saved_arrays():
    """The arrays of a saved, fitted, standardizing [3, 4, 1] model."""
    path = TMP.path("base.npz")
    fitted5(standardize=True).save(path)
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def model_file(name="m.npz", **changes):
    """A saved model's arrays with ``changes`` (None deletes a key), written with np.savez."""
    arrays = saved_arrays()
    for key, value in changes.items():
        if value is None:
            arrays.pop(key, None)
        else:
            arrays[key] = value
    path = TMP.path(name)
    np.savez(path, **arrays)
    return path


def corrupt_deflate() -> bytes:
    """A compressed model archive whose W1 member holds garbage instead of a deflate stream."""
    path = TMP.path("compressed.npz")
    np.savez_compressed(path, **saved_arrays())
    with open(path, "rb") as fh:
        b = bytearray(fh.read())
    info = zipfile.ZipFile(path).getinfo("W1.npy")
    local = info.header_offset
    n, extra = struct.unpack("<HH", b[local + 26 : local + 30])
    start = local + 30 + n + extra
    b[start : start + info.compress_size] = b"\xff" * info.compress_size
    return bytes(b)


def object_member_file():
    return model_file("obj.npz", W1=np.array([UnpickleMarker(TMP.path("unpickled"))], dtype=object))


def npy_file():
    path = TMP.path("plain.npy")
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
    "model-output": C(lambda: Model([2, 1], output="tanh"), ValueError, "output must be one of 'sigmoid', 'linear', 'softmax', 'relu', 'poisson'; got 'tanh'"),
    "model-poisson-negative": C(lambda: Model([3, 1], output="poisson").fit(X5, np.r_[1.0, 0, 2, -3, 1]), ValueError, r"Y must hold targets >= 0 for a 'poisson' output \(a log link\); Y\[0, 3\] is -3.0"),
    "model-softmax-units": C(lambda: Model([2, 1], output="softmax"), ValueError, "output='softmax' needs one output unit per class, at least 2; the last layer has 1"),
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
    "sk-solver": C(lambda: sk("MLPClassifier")(solver="newton").fit(X5.T, Y5.ravel()), ValueError, r"solver must be one of 'adam', 'sgd', 'lbfgs'; got 'newton'"),
    "sk-one-class": C(lambda: sk_fit(y=np.zeros(5)), ValueError, r"needs samples of 2 classes; got 1 class"),
    "sk-batch-size": C(lambda: sk("MLPRegressor")(batch_size=0).fit(X5.T, Y5.ravel()), ValueError, r"batch_size must be >= 1; got 0"),
    "sk-predict-features": C(lambda: sk_fit().predict(X5.T[:, :2]), ValueError, "X has 2 features, but MLPClassifier is expecting 3 features"),
    # --- fastnn.load -----------------------------------------------------------------------------
    "load-missing": C(lambda: fastnn.load(TMP.path("missing.npz")), FileNotFoundError, "no such model file: .*missing.npz"),
    "load-directory": C(lambda: fastnn.load(TMP.root), ValueError, "not a readable fastnn model file"),
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


@pytest.mark.usefixtures("case_files")
@pytest.mark.parametrize("case", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_raises_a_clear_error(case):
    with pytest.raises(case.exc, match=case.match):
        case.call()


def test_the_bad_input_table_is_large():
    assert len(BAD_INPUTS) >= 60


def test_number_of_bad_input_cases():
    # Reported in the issue: the two tables together.
    assert len(BAD_INPUTS) + len(CLI_BAD_INPUTS) >= 150


# --------------------------------------------------------------------------- accepted inputs


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
