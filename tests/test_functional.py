"""fastnn.functional, the course's helper functions: against the course's own numpy code
(tests/course.py), gradient checks by finite differences, the course's cat Application figures,
inputs in every memory layout, and the promotion rule (float32 only when every float input is
float32)."""

from __future__ import annotations

import contextlib
import functools
import io

import course
import numpy as np
import pytest
from _helpers import (
    DTYPES,
    LAYOUT_KINDS,
    P5,
    SINGLE_ROW_TRANSPOSED,
    TRANSPOSED,
    X5,
    Y5,
    assert_same_layout,
    numeric_gradient,
    relayout,
    with_,
)

from fastnn import functional as F

HIDDEN = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]


def small_problem(rng, dims=(5, 4, 3, 1), m=6):
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    parameters = {}
    for l in range(1, len(dims)):
        parameters[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])
        parameters[f"b{l}"] = rng.standard_normal((dims[l], 1)) * 0.1
    return X, Y, parameters


def assert_same(got, want, rtol=1e-12):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-14)


def test_initializers_are_the_courses():
    for got, want in [
        (F.initialize_parameters(5, 4, 1), course.initialize_parameters(5, 4, 1)),
        (
            F.initialize_parameters_deep([7, 5, 3, 1]),
            course.initialize_parameters_deep([7, 5, 3, 1]),
        ),
    ]:
        assert got.keys() == want.keys()
        for key in got:
            np.testing.assert_array_equal(got[key], want[key])


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_linear_activation_forward_and_cache_match_course(activation, rng):
    X, _, p = small_problem(rng)
    A, cache = F.linear_activation_forward(X, p["W1"], p["b1"], activation)
    A_c, cache_c = course.linear_activation_forward(X, p["W1"], p["b1"], activation)
    assert_same(A, A_c)
    (A_prev, W, b), Z = cache
    (A_prev_c, W_c, b_c), Z_c = cache_c
    for got, want in [(A_prev, A_prev_c), (W, W_c), (b, b_c), (Z, Z_c)]:
        assert_same(got, want)
    Z2, lin_cache = F.linear_forward(X, p["W1"], p["b1"])
    assert_same(Z2, Z_c)
    assert len(lin_cache) == 3


def test_L_model_forward_cost_backward_update_match_course(rng):
    X, Y, p = small_problem(rng)
    AL, caches = F.L_model_forward(X, p)
    AL_c, caches_c = course.L_model_forward(X, p)
    assert_same(AL, AL_c)
    assert len(caches) == len(caches_c) == 3
    cost = F.compute_cost(AL, Y)
    assert cost.shape == ()
    assert_same(cost, course.compute_cost(AL_c, Y))
    grads = F.L_model_backward(AL, Y, caches)
    grads_c = course.L_model_backward(AL_c, Y, caches_c)
    assert (
        grads.keys()
        == grads_c.keys()
        == {"dA0", "dA1", "dA2", "dW1", "dW2", "dW3", "db1", "db2", "db3"}
    )
    for key in grads:
        assert_same(grads[key], grads_c[key], rtol=1e-11)
    updated = F.update_parameters(p, grads, 0.1)
    updated_c = course.update_parameters(dict(p), grads_c, 0.1)
    for key in updated:
        assert_same(updated[key], updated_c[key])


def test_L_model_backward_follows_the_course_formula_for_hand_made_caches(rng):
    # The course's test case: AL is given, not σ(Z_L), so dZ_L = dAL·σ'(Z_L) ≠ AL − Y.
    _, Y, p = small_problem(rng, dims=(4, 3, 1), m=2)
    A_prev0, A_prev1 = rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    Z1, Z2 = rng.standard_normal((3, 2)), rng.standard_normal((1, 2))
    AL = np.array([[1.78862847, 0.43650985]]) / 2
    caches = [((A_prev0, p["W1"], p["b1"]), Z1), ((A_prev1, p["W2"], p["b2"]), Z2)]
    grads = F.L_model_backward(AL, Y, caches)
    grads_c = course.L_model_backward(AL, Y, caches)
    for key in grads_c:
        assert_same(grads[key], grads_c[key])
    sigma = 1 / (1 + np.exp(-Z2))
    assert not np.allclose(grads["dW2"], (sigma - Y) @ A_prev1.T / 2)


@pytest.mark.parametrize("hidden", HIDDEN)
def test_backprop_matches_finite_differences(hidden, rng):
    X, Y, p = small_problem(rng, dims=(4, 5, 3, 1), m=5)

    def cost(params):
        AL, _ = F.L_model_forward(X, params, hidden_activation=hidden)
        return float(F.compute_cost(AL, Y))

    AL, caches = F.L_model_forward(X, p, hidden_activation=hidden)
    grads = F.L_model_backward(AL, Y, caches, hidden_activation=hidden)
    for key, numeric in numeric_gradient(cost, p, 1e-6).items():
        np.testing.assert_allclose(grads["d" + key], numeric, rtol=1e-5, atol=1e-8, err_msg=key)
    # dA0 = ∂J/∂X times m (the course's dA are per-example gradients of the summed loss)
    numeric_dX = numeric_gradient(
        lambda d: float(F.compute_cost(F.L_model_forward(d["X"], p, hidden)[0], Y)), {"X": X}, 1e-6
    )["X"]
    np.testing.assert_allclose(grads["dA0"] / X.shape[1], numeric_dX, rtol=1e-5, atol=1e-8)


def test_float32_gradients_agree_with_float64(rng):
    X, Y, p = small_problem(rng)
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    AL, caches = F.L_model_forward(X.astype(np.float32), p32)
    assert AL.dtype == np.float32
    grads32 = F.L_model_backward(AL, Y, caches)
    AL64, caches64 = F.L_model_forward(X, p)
    grads64 = F.L_model_backward(AL64, Y, caches64)
    for key in grads64:
        assert grads32[key].dtype == np.float32
        np.testing.assert_allclose(grads32[key], grads64[key], rtol=1e-3, atol=1e-5)


def test_course_helpers_sigmoid_relu_and_backward(rng):
    Z = rng.standard_normal((3, 4))
    dA = rng.standard_normal((3, 4))
    for name in ["sigmoid", "relu"]:
        got, cache = getattr(F, name)(Z)
        want, _ = getattr(course, name)(Z)
        assert_same(got, want)
        assert_same(
            getattr(F, name + "_backward")(dA, cache), getattr(course, name + "_backward")(dA, Z)
        )


def capture(fn, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


@pytest.mark.parametrize("print_cost", [True, False])
def test_L_layer_model_prints_and_returns_what_the_course_does(print_cost, rng):
    X, Y, _ = small_problem(rng, dims=(6, 1), m=30)
    dims = [6, 5, 3, 1]
    (params, costs), text = capture(F.L_layer_model, X, Y, dims, 0.05, 250, print_cost)
    (params_c, costs_c), text_c = capture(course.L_layer_model, X, Y, dims, 0.05, 250, print_cost)
    got_lines, want_lines = text.splitlines(), text_c.splitlines()
    assert [line.split(":")[0] for line in got_lines] == [line.split(":")[0] for line in want_lines]
    assert len(got_lines) == (4 if print_cost else 1)  # 0, 100, 200 and always the last, 249
    for g, w in zip(got_lines, want_lines, strict=True):
        np.testing.assert_allclose(float(g.split(":")[1]), float(w.split(":")[1]), rtol=1e-10)
    np.testing.assert_allclose(
        np.array(costs, dtype=float), np.array(costs_c, dtype=float), rtol=1e-10
    )
    for key in params_c:
        np.testing.assert_allclose(params[key], params_c[key], rtol=1e-9, atol=1e-12)


def test_two_layer_model_matches_course(rng):
    X, Y, _ = small_problem(rng, dims=(6, 1), m=30)
    (params, costs), _ = capture(F.two_layer_model, X, Y, (6, 4, 1), 0.1, 201)
    (params_c, costs_c), _ = capture(course.two_layer_model, X, Y, (6, 4, 1), 0.1, 201)
    np.testing.assert_allclose(
        np.array(costs, dtype=float), np.array(costs_c, dtype=float), rtol=1e-10
    )
    for key in params_c:
        np.testing.assert_allclose(params[key], params_c[key], rtol=1e-9, atol=1e-12)


def test_predict_prints_accuracy_like_the_course(rng):
    X, Y, p = small_problem(rng, m=40)
    got, text = capture(F.predict, X, Y, p)
    want, text_c = capture(course.predict, X, Y, p)
    np.testing.assert_array_equal(got, want)
    assert text == text_c and text.startswith("Accuracy: ")


COURSE_SCRIPT = """
parameters = initialize_parameters_deep(layers_dims)
AL, caches = L_model_forward(X, parameters)
cost = compute_cost(AL, Y)
grads = L_model_backward(AL, Y, caches)
parameters = update_parameters(parameters, grads, 0.0075)
print("cost", cost)
parameters, costs = L_layer_model(X, Y, layers_dims, num_iterations=120, print_cost=True)
pred = predict(X, Y, parameters)
"""


def test_a_course_script_runs_unchanged_and_prints_the_same(rng):
    X, Y, _ = small_problem(rng, dims=(8, 1), m=25)
    namespace = {"X": X, "Y": Y, "layers_dims": [8, 6, 4, 1]}
    outputs = []
    for module in (F, course):
        scope = dict(namespace)
        exec(f"from {module.__name__} import *", scope)  # the script's own import line
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(COURSE_SCRIPT, scope)
        outputs.append(buffer.getvalue().splitlines())
    got, want = outputs
    assert len(got) == len(want) == 5
    for g, w in zip(got, want, strict=True):
        g_label, g_value = g.rsplit(" ", 1)
        w_label, w_value = w.rsplit(" ", 1)
        assert g_label == w_label
        np.testing.assert_allclose(float(g_value), float(w_value), rtol=1e-10)


@pytest.mark.parametrize("activation", ["tanh", "leaky_relu", "linear"])
def test_extra_activations_are_accepted_everywhere(activation, rng):
    X, Y, p = small_problem(rng)
    A, cache = F.linear_activation_forward(X, p["W1"], p["b1"], activation)
    dA_prev, dW, db = F.linear_activation_backward(np.ones_like(A), cache, activation)
    assert dA_prev.shape == X.shape and dW.shape == p["W1"].shape and db.shape == p["b1"].shape
    AL, caches = F.L_model_forward(X, p, hidden_activation=activation)
    assert (
        F.L_model_backward(AL, Y, caches, hidden_activation=activation)["dW1"].shape
        == p["W1"].shape
    )


def test_bad_inputs_raise_clear_errors(rng):
    X, Y, p = small_problem(rng)
    with pytest.raises(ValueError, match=r"activation must be one of 'linear', 'sigmoid'"):
        F.linear_activation_forward(X, p["W1"], p["b1"], "softmax")
    with pytest.raises(ValueError, match=r"A_prev must have shape \(5, \?\)"):
        F.linear_forward(X[:3], p["W1"], p["b1"])
    with pytest.raises(ValueError, match="missing key 'b2'"):
        F.L_model_forward(X, {k: v for k, v in p.items() if k != "b2"})
    with pytest.raises(ValueError, match="NaN or infinity"):
        F.L_model_forward(np.where(X > 1, np.nan, X), p)
    with pytest.raises(ValueError, match="learning_rate"):
        F.L_layer_model(X, Y, [5, 1], learning_rate=-1)
    with pytest.raises(ValueError, match="labels 0 or 1"):
        F.L_layer_model(X, Y * 2, [5, 1], num_iterations=1)


# --- memory layouts ---------------------------------------------------------------------------


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

    same = functools.partial(assert_same_layout, transposed=TRANSPOSED | SINGLE_ROW_TRANSPOSED)
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


# --- the course's published results on the cat data -------------------------------------------


def test_cat_L_layer_model_reproduces_the_course(cat_data):
    train_x, train_y, test_x, test_y, _ = cat_data
    (parameters, costs), text = capture(
        F.L_layer_model,
        train_x,
        train_y,
        [12288, 20, 7, 5, 1],
        num_iterations=2500,
        print_cost=True,
    )
    assert round(float(costs[0]), 6) == 0.771749
    assert text.splitlines()[0].startswith("Cost after iteration 0: 0.771749")
    assert len(costs) == 25
    (p_train, out_train) = capture(F.predict, train_x, train_y, parameters)
    (p_test, out_test) = capture(F.predict, test_x, test_y, parameters)
    assert round(float(np.mean(p_train == train_y)), 4) == 0.9856
    assert round(float(np.mean(p_test == test_y)), 2) == 0.80
    assert out_test == "Accuracy: 0.8\n"


def test_cat_two_layer_model_reproduces_the_course(cat_data):
    train_x, train_y, test_x, test_y, _ = cat_data
    (parameters, costs), _ = capture(
        F.two_layer_model, train_x, train_y, (12288, 7, 1), num_iterations=2500
    )
    p_test, _ = capture(F.predict, test_x, test_y, parameters)
    assert round(float(np.mean(p_test == test_y)), 2) == 0.72
    assert (
        round(float(costs[0]), 6) == 0.693050
    )  # the course's "Cost after iteration 0: 0.6930497356599888"


# --- softmax and the other outputs: against a numpy transcription of the formulas -----------


def _numpy_softmax_net(X, Y, parameters, hidden):
    """The course's forward and backward written out in numpy for a softmax output: Z_L, A_L =
    exp(Z_L − max)/Σ, J = −(1/m) Σ y·log a, dZ_L = A_L − Y, then the course's backward."""
    act = {"relu": lambda Z: np.maximum(0, Z), "tanh": np.tanh}[hidden]
    dact = {"relu": lambda Z: (Z > 0).astype(float), "tanh": lambda Z: 1 - np.tanh(Z) ** 2}[hidden]
    L, m = len(parameters) // 2, X.shape[1]
    As, Zs = [X], []
    for l in range(1, L + 1):
        Z = parameters[f"W{l}"] @ As[-1] + parameters[f"b{l}"]
        Zs.append(Z)
        if l < L:
            As.append(act(Z))
        else:
            E = np.exp(Z - Z.max(axis=0))
            As.append(E / E.sum(axis=0))
    AL = As[-1]
    J = -np.sum(Y * np.log(AL)) / m
    grads, dZ = {}, AL - Y
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = dZ @ As[l - 1].T / m
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        dA = parameters[f"W{l}"].T @ dZ
        grads[f"dA{l - 1}"] = dA
        if l > 1:
            dZ = dA * dact(Zs[l - 2])
    return AL, J, grads


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
@pytest.mark.parametrize("C", [2, 3, 10])
@pytest.mark.parametrize("labels_form", ["one-hot", "labels"])
def test_softmax_forward_cost_and_backward_match_numpy(hidden, C, labels_form, rng):
    X, _, parameters = small_problem(rng, dims=(5, 4, 3, C), m=7)
    y = rng.integers(0, C, 7)
    Y = F.convert_to_one_hot(y, C)
    np.testing.assert_array_equal(Y, np.eye(C)[y.reshape(-1)].T)  # the course's one-liner
    AL_want, J_want, grads_want = _numpy_softmax_net(X, Y, parameters, hidden)
    AL, caches = F.L_model_forward(X, parameters, hidden, output="softmax")
    np.testing.assert_allclose(AL, AL_want, rtol=1e-12)
    (A_prev, W, b), ZL = caches[-1]  # the course's cache layout
    assert len(caches) == 3
    np.testing.assert_array_equal(W, parameters["W3"])
    np.testing.assert_allclose(ZL, W @ A_prev + b, rtol=1e-12)
    y_given = Y if labels_form == "one-hot" else y.reshape(1, -1)
    np.testing.assert_allclose(F.compute_cost(AL, y_given, output="softmax"), J_want, rtol=1e-12)
    grads = F.L_model_backward(AL, y_given, caches, hidden, output="softmax")
    assert set(grads) == set(grads_want)
    for key in grads_want:
        np.testing.assert_allclose(grads[key], grads_want[key], rtol=1e-10, atol=1e-14, err_msg=key)


def test_softmax_backward_matches_finite_differences_of_the_cost(rng):
    X, _, parameters = small_problem(rng, dims=(4, 3, 3), m=5)
    y = rng.integers(0, 3, 5)

    def cost(p):
        AL, _ = F.L_model_forward(X, p, "tanh", output="softmax")
        return float(F.compute_cost(AL, y, output="softmax"))

    AL, caches = F.L_model_forward(X, parameters, "tanh", output="softmax")
    grads = F.L_model_backward(AL, y, caches, "tanh", output="softmax")
    for key, numeric in numeric_gradient(cost, parameters, 1e-7).items():
        # the course's gradient check: ‖g − g̃‖ / (‖g‖ + ‖g̃‖)
        g = grads["d" + key]
        assert np.linalg.norm(g - numeric) / (np.linalg.norm(g) + np.linalg.norm(numeric)) < 1e-7


@pytest.mark.parametrize("output", ["linear", "relu", "poisson"])
def test_regression_outputs_forward_and_backward_match_numpy(output, rng):
    X, _, parameters = small_problem(rng, dims=(4, 3, 2), m=6)
    parameters["b2"] = parameters["b2"] + 0.3
    Y = np.abs(rng.standard_normal((2, 6)))
    AL, caches = F.L_model_forward(X, parameters, "relu", output=output)
    A1 = np.maximum(0, parameters["W1"] @ X + parameters["b1"])
    Z2 = parameters["W2"] @ A1 + parameters["b2"]
    A2 = {"linear": Z2, "relu": np.maximum(0, Z2), "poisson": np.exp(Z2)}[output]
    np.testing.assert_allclose(AL, A2, rtol=1e-12)
    dZ2 = (A2 - Y) * ((Z2 > 0) if output == "relu" else 1)
    grads = F.L_model_backward(AL, Y, caches, "relu", output=output)
    np.testing.assert_allclose(grads["dW2"], dZ2 @ A1.T / 6, rtol=1e-12)
    np.testing.assert_allclose(grads["db2"], dZ2.sum(1, keepdims=True) / 6, rtol=1e-12)


def test_softmax_helper_and_one_hot_refuse_bad_input():
    A, cache = F.softmax(np.array([[1e4, 0.0], [-1e4, 0.0]]))
    np.testing.assert_array_equal(A, [[1.0, 0.5], [0.0, 0.5]])
    assert cache.shape == (2, 2)
    with pytest.raises(ValueError, match="Z contains NaN or infinity"):
        F.softmax(np.array([[np.nan], [1.0]]))
    with pytest.raises(ValueError, match=r"class labels 0..2 .*found \[3\]"):
        F.convert_to_one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match=r"integer class labels; found \[0.5\]"):
        F.convert_to_one_hot(np.array([0.5]), 3)
    with pytest.raises(ValueError, match=r"shape \(m,\) or \(1, m\)"):
        F.convert_to_one_hot(np.zeros((2, 2), dtype=int), 3)
    with pytest.raises(ValueError, match="needs one output unit per class"):
        F.L_model_forward(np.zeros((2, 3)), {"W1": np.zeros((1, 2)), "b1": np.zeros((1, 1))},
                          output="softmax")  # fmt: skip
    with pytest.raises(ValueError, match=r"one-hot \(or probability\) columns"):
        F.compute_cost(np.full((3, 2), 1 / 3), np.ones((3, 2)), output="softmax")
    with pytest.raises(ValueError, match="compute_cost takes output='sigmoid' or 'softmax'"):
        F.compute_cost(np.full((1, 2), 0.5), np.ones((1, 2)), output="linear")
