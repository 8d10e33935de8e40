"""fastnn.Model, the public training API: training results and the course's figures, per-layer
activations and regression, initialisation, copies and pickling, Ctrl-C, divergence, threads,
argument checks, the Gram path through fit, and fit/predict on inputs in every memory layout.
Saving and loading are in test_persistence.py."""

from __future__ import annotations

import os
import signal
import threading
import time

import course
import numpy as np
import pytest
from _helpers import DTYPES, LAYOUT_KINDS, assert_same_layout, relayout

from fastnn import Model, functional
from fastnn.datasets import make_planar


def test_planar_tanh_classifier_reaches_the_course_accuracy():
    X, Y = make_planar()
    model = Model([2, 4, 1], hidden_activation="tanh", init="small")
    model.fit(X, Y, learning_rate=1.2, num_iterations=10000)
    assert model.n_iter_ == 10000
    assert len(model.costs_) == 100
    assert model.score(X, Y) >= 0.88


def test_costs_match_the_course_L_layer_model_and_the_reference(rng):
    X = rng.standard_normal((6, 30))
    Y = (rng.random((1, 30)) > 0.5).astype(float)
    model = Model([6, 5, 3, 1]).fit(X, Y, learning_rate=0.05, num_iterations=250)
    np.random.seed(0)
    params_c, costs_c = course.L_layer_model(X, Y, [6, 5, 3, 1], 0.05, 250)
    np.testing.assert_allclose(model.costs_, np.array(costs_c, dtype=float), rtol=1e-10)
    for key, value in model.parameters.items():
        np.testing.assert_allclose(value, params_c[key], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_fit_predict_every_activation_and_dtype(dtype, hidden, rng):
    X = rng.standard_normal((3, 60))
    Y = (X[0:1] + 0.5 * X[1:2] > 0).astype(float)
    model = Model([3, 6, 1], hidden_activation=hidden, init="he", dtype=dtype, seed=3)
    model.fit(X, Y, learning_rate=0.5, num_iterations=300)
    assert model.parameters["W1"].dtype == dtype
    assert model.predict(X).shape == (1, 60)
    assert model.score(X, Y) > 0.9
    proba = model.predict_proba(X)
    assert proba.dtype == dtype and ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(model.predict(X), (proba > 0.5).astype(dtype))


def test_per_layer_activations_and_regression(rng):
    X = rng.standard_normal((2, 80))
    Y = 3 * X[0] - 2 * X[1] + 0.5
    model = Model(
        [2, 8, 4, 1], hidden_activation=["tanh", "linear"], output="linear", init="xavier"
    )
    model.fit(X, Y, learning_rate=0.05, num_iterations=2000)
    assert model.score(X, Y) > 0.99
    assert model.predict(X).shape == (1, 80)
    with pytest.raises(ValueError, match="predict_proba needs output='sigmoid'"):
        model.predict_proba(X)


def test_initialisations_are_seeded_in_the_course_order():
    np.testing.assert_array_equal(
        Model([7, 5, 3, 1]).parameters["W2"],
        functional.initialize_parameters_deep([7, 5, 3, 1])["W2"],
    )
    small = Model([6, 4, 1], init="small").parameters
    np.testing.assert_array_equal(small["W1"], functional.initialize_parameters(6, 4, 1)["W1"])
    state = np.random.get_state()[1].copy()
    Model([5, 3, 1], seed=7)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG untouched
    he = Model([400, 300, 1], init="he", seed=0).parameters["W1"]
    assert abs(he.std() - np.sqrt(2 / 400)) < 0.01 * np.sqrt(2 / 400) * 5
    assert not Model([3, 1], init="zeros").parameters["W1"].any()
    with pytest.raises(ValueError, match="only works without hidden layers"):
        Model([3, 2, 1], init="zeros")


def test_from_parameters_and_parameters_are_copies(rng):
    params = functional.initialize_parameters_deep([4, 3, 1])
    model = Model.from_parameters(params, hidden_activation="tanh")
    assert model.layer_dims == [4, 3, 1] and model.hidden_activations == ["tanh"]
    got = model.parameters
    got["W1"][:] = 0
    assert model.parameters["W1"].any()
    X = rng.standard_normal((4, 5))
    AL, _ = functional.L_model_forward(X, params, hidden_activation="tanh")
    np.testing.assert_allclose(model.predict_proba(X), AL, rtol=1e-14)


def test_models_pickle_and_deepcopy(rng):
    import copy
    import pickle

    X = rng.standard_normal((3, 8))
    model = Model([3, 4, 1]).fit(X, (X[0:1] > 0).astype(float), 0.1, 20)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(clone.predict_proba(X), model.predict_proba(X))
        clone.fit(X, (X[0:1] > 0).astype(float), 0.1, 5)  # its own lock, its own arrays
    assert model.n_iter_ == 20


def test_ctrl_c_stops_promptly_with_the_parameters_of_the_last_completed_iteration():
    X, Y = make_planar()
    model = Model([2, 50, 50, 1], hidden_activation="tanh")
    start_params = model.parameters
    sent = {}

    def interrupt_once(i, cost):
        # From the callback at iteration 100: inside the real run even in cross-check mode
        # (FASTNN_CROSSCHECK=1), whose checked prefix runs 20 iterations without callbacks.
        if i >= 100 and not sent:
            sent["at"] = time.perf_counter()
            threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, learning_rate=0.1, num_iterations=10**8, callback=interrupt_once)
    elapsed = time.perf_counter() - sent["at"]
    # 50 ms signal checks; the margin is for a loaded machine (CI shares 2 cores).
    assert elapsed < 0.05 + 1.5, f"fit took {elapsed:.2f}s to notice Ctrl-C"
    assert 0 < model.n_iter_ < 10**8
    replay = Model.from_parameters(start_params, hidden_activation="tanh")
    replay.fit(X, Y, learning_rate=0.1, num_iterations=model.n_iter_)
    for key, value in replay.parameters.items():
        np.testing.assert_allclose(model.parameters[key], value, rtol=1e-12, atol=1e-14)


def test_divergence_raises_and_restores_finite_parameters(rng):
    X = rng.standard_normal((3, 20)) * 100
    Y = X[0] * 50
    model = Model([3, 5, 1], output="linear")
    with pytest.raises(FloatingPointError, match="diverged.*iteration"):
        model.fit(X, Y, learning_rate=10.0, num_iterations=500, cost_every=10)
    assert all(np.isfinite(v).all() for v in model.parameters.values())


def test_two_models_in_two_threads_match_sequential_fits(rng):
    X = rng.standard_normal((20, 300))
    Y = (X[0:1] > 0).astype(float)

    def make():
        return [Model([20, 16, 8, 1], seed=s) for s in (1, 2)]

    sequential = [m.fit(X, Y, 0.1, 300) for m in make()]
    parallel = make()
    threads = [threading.Thread(target=m.fit, args=(X, Y, 0.1, 300)) for m in parallel]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(sequential, parallel, strict=True):
        for key, value in a.parameters.items():
            np.testing.assert_array_equal(b.parameters[key], value)


def test_one_model_fitted_from_two_threads_at_once_refuses_the_second(rng):
    X = rng.standard_normal((2, 50))
    Y = (X[0:1] > 0).astype(float)
    model = Model([2, 30, 30, 1])
    inside, second_done = threading.Event(), threading.Event()

    class Stop(Exception):
        pass

    def hold(i, cost):  # keeps the first fit running until the second attempt is over
        inside.set()
        second_done.wait(10)
        raise Stop

    def first():
        with pytest.raises(Stop):
            model.fit(X, Y, 0.01, 10**6, callback=hold)

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(10)
    with pytest.raises(RuntimeError, match="already being fitted"):
        model.fit(X, Y, 0.01, 10)
    second_done.set()
    t.join()
    # the first fit stopped on its callback's exception: like any failed fit, it changed nothing
    assert model.n_iter_ == 0


def test_fit_arguments_are_validated(rng):
    X = rng.standard_normal((2, 5))
    Y = np.array([0, 1, 1, 0, 1])
    model = Model([2, 3, 1])
    for kwargs, match in [
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"num_iterations": -1}, "num_iterations"),
        ({"cost_every": -5}, "cost_every"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.fit(X, Y, **kwargs)
    with pytest.raises(ValueError, match=r"X must have shape \(2, \?\)"):
        model.fit(X[:1], Y)
    with pytest.raises(ValueError, match=r"Y must have shape \(1, 5\) or \(5,\)"):
        model.fit(X, Y[:3])
    with pytest.raises(ValueError, match="labels 0 or 1"):
        model.fit(X, Y + 1)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        model.fit(X.astype(complex), Y)
    with pytest.raises(ValueError, match="hidden_activation needs one name per hidden layer"):
        Model([2, 3, 3, 1], hidden_activation=["relu"])
    with pytest.raises(ValueError, match="output must be one of"):
        Model([2, 1], output="tanh")
    with pytest.raises(ValueError, match="output='softmax' needs one output unit per class"):
        Model([2, 1], output="softmax")
    with pytest.raises(ValueError, match=r"leaky_slope must be in \[0, 1\)"):
        Model([2, 3, 1], leaky_slope=1.5)
    assert "Model([2, 3, 1]" in repr(model)


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
    assert_same_layout(np.array(model.costs_), np.array(ref.costs_), kind, np.float64, rtol)
    for key, value in ref.parameters.items():
        assert_same_layout(model.parameters[key], value, kind, dtype, rtol)
    assert_same_layout(
        model.predict_proba(relayout(X, kind, tmp_path)), ref.predict_proba(X), kind, dtype, rtol
    )
    # labels as (m,) with a negative stride
    model2 = Model([5, 6, 1], hidden_activation="tanh", dtype=dtype, seed=3, standardize=True)
    model2.fit(X, np.ascontiguousarray(Y[0, ::-1])[::-1], 0.5, 30, cost_every=1)
    assert model2.costs_ == ref.costs_


# --- the course's figures through Model ---------------------------------------------------------


def test_cat_logistic_regression_matches_week_2(cat_data):
    train_x, train_y, test_x, test_y, _ = cat_data
    model = Model([12288, 1], init="zeros").fit(
        train_x, train_y, learning_rate=0.005, num_iterations=2000
    )
    assert round(model.score(train_x, train_y), 4) == 0.9904
    assert round(model.score(test_x, test_y), 2) == 0.70


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gram_path_through_Model_matches_the_direct_path(dtype, rng):
    X = rng.random((400, 30)).astype(dtype)
    Y = (rng.random((1, 30)) > 0.5).astype(dtype)
    direct = Model([400, 6, 1], dtype=dtype).fit(X, Y, 0.05, 50, path="direct")
    gram = Model([400, 6, 1], dtype=dtype).fit(X, Y, 0.05, 50, path="gram")
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(gram.costs_, direct.costs_, rtol=rtol)
    np.testing.assert_allclose(gram.predict_proba(X), direct.predict_proba(X), rtol=rtol)
    with pytest.raises(ValueError, match="path must be one of"):
        Model([400, 1]).fit(X, Y, path="fast")


def test_cat_L_layer_model_costs_through_Model(cat_data):
    train_x, train_y, test_x, test_y, _ = cat_data
    model = Model([12288, 20, 7, 5, 1]).fit(train_x, train_y, 0.0075, 2500)  # auto: the Gram path
    assert round(model.costs_[0], 6) == 0.771749
    assert round(model.costs_[-1], 6) == 0.092878  # the course's "Cost after iteration 2400"
    assert round(model.score(train_x, train_y), 4) == 0.9856
    assert round(model.score(test_x, test_y), 2) == 0.80
    model32 = Model([12288, 20, 7, 5, 1], dtype=np.float32).fit(train_x, train_y, 0.0075, 300)
    assert round(model32.costs_[0], 5) == 0.77175  # float32: the course's 0.771749 to 5 places
    assert model32.costs_[-1] < model32.costs_[0]


def test_cat_gram_path_equals_the_direct_path_in_float64(cat_data):
    """The wide-input path on the course's own net and data: every recorded cost and every
    parameter within 1e-9 of the direct path (400 iterations keep the direct run to seconds;
    tests/test_engine.py runs 2500 on smaller wide problems)."""
    train_x, train_y, _, _, _ = cat_data
    direct = Model([12288, 20, 7, 5, 1]).fit(train_x, train_y, 0.0075, 400, path="direct")
    gram = Model([12288, 20, 7, 5, 1]).fit(train_x, train_y, 0.0075, 400, path="gram")
    assert len(gram.costs_) == 4
    np.testing.assert_allclose(gram.costs_, direct.costs_, rtol=1e-9)
    for key, value in direct.parameters.items():
        atol = 1e-9 * np.abs(value).max()
        np.testing.assert_allclose(gram.parameters[key], value, rtol=1e-9, atol=atol)
