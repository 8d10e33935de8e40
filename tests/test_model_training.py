"""The Model's training API beyond full-batch gradient descent: mini-batches, momentum and Adam,
learning-rate decay, L2, early stopping, divergence, warm starts and partial_fit, as a user
calls them. The second course's loops (tests/course2.py, our numpy transcription of the
Optimization and Regularization notebooks) are the oracle, cost by cost and parameter by
parameter, and the course's published figures are reproduced.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time

import numpy as np
import pytest

from fastnn import Model

course2 = pytest.importorskip("course2")
sklearn = pytest.importorskip("sklearn", reason="the course's moons data comes from scikit-learn")

DIMS = [2, 5, 2, 1]  # the Optimization notebook's net


@functools.cache
def moons():
    return course2.load_moons()


@functools.cache
def course_run(optimizer, num_epochs=5000, learning_rate=0.0007, decay=None, lambd=0.0):
    """The notebook's model() in our transcription (cached: the numpy loop takes seconds)."""
    X, Y = moons()
    fn = {None: None, "inverse": course2.update_lr, "scheduled": course2.schedule_lr_decay}[decay]
    return course2.model(X, Y, DIMS, optimizer, learning_rate=learning_rate,
                         num_epochs=num_epochs, decay=fn, lambd=lambd)  # fmt: skip


def assert_matches_course(model, params, costs, rtol=1e-9):
    np.testing.assert_allclose(model.costs_, costs, rtol=rtol)
    for key, value in params.items():
        np.testing.assert_allclose(model.parameters[key], value, rtol=rtol,
                                   atol=rtol * np.abs(value).max(), err_msg=key)  # fmt: skip


# --------------------------------------------------------------------------- the course


@pytest.mark.parametrize(
    "optimizer, cost0, accuracy",
    # the notebook's printed "Cost after epoch 0" and its train accuracies (5000 epochs)
    [("gd", 0.702405, 0.7167), ("momentum", 0.702413, 0.7167), ("adam", 0.702166, 0.9433)],
)
def test_the_optimization_notebook_reproduced(optimizer, cost0, accuracy):
    X, Y = moons()
    params, costs_every_100, all_costs = course_run(optimizer)
    model = Model(DIMS, init="he", seed=3)  # the course's He init, np.random.seed(3)
    model.fit(X, Y, 0.0007, mini_batch_size=64, num_epochs=5000, optimizer=optimizer, seed=10,
              cost_every=1)  # fmt: skip
    assert_matches_course(model, params, all_costs)
    assert round(model.costs_[0], 6) == cost0
    assert round(model.score(X, Y), 4) == accuracy
    assert model.n_iter_ == 5000
    # the default cost_every=100 records what the notebook's costs list holds
    again = Model(DIMS, init="he", seed=3)
    again.fit(X, Y, 0.0007, mini_batch_size=64, num_epochs=5000, optimizer=optimizer, seed=10)
    np.testing.assert_allclose(again.costs_, costs_every_100, rtol=1e-9)


@pytest.mark.parametrize(
    "optimizer, decay, learning_rate",
    [("gd", "inverse", 0.1), ("gd", "scheduled", 0.1), ("momentum", "scheduled", 0.1),
     ("adam", "scheduled", 0.01)],
)  # fmt: skip
def test_the_notebooks_learning_rate_decay_reproduced(optimizer, decay, learning_rate):
    """1500 epochs: past the first step of the schedule (every 1000 epochs)."""
    X, Y = moons()
    params, _, all_costs = course_run(optimizer, 1500, learning_rate, decay)
    model = Model(DIMS, init="he", seed=3)
    model.fit(X, Y, learning_rate, mini_batch_size=64, num_epochs=1500, optimizer=optimizer,
              seed=10, decay=decay, decay_rate=1, cost_every=1)  # fmt: skip
    assert_matches_course(model, params, all_costs)


def test_a_decay_function_gets_the_courses_arguments():
    X, Y = moons()
    calls = []

    def update_lr(learning_rate0, epoch_num, decay_rate):
        calls.append((learning_rate0, epoch_num, decay_rate))
        return course2.update_lr(learning_rate0, epoch_num, decay_rate)

    params, _, all_costs = course_run("gd", 300, 0.1, "inverse")
    model = Model(DIMS, init="he", seed=3)
    model.fit(X, Y, 0.1, mini_batch_size=64, num_epochs=300, seed=10, decay=update_lr,
              cost_every=1)  # fmt: skip
    assert_matches_course(model, params, all_costs)
    # (cross-check mode runs a checked prefix first, with its own calls)
    # epoch e > 0 runs at the rate after epoch e − 1: epochs 1..299 ask for it
    assert calls[-299:] == [(0.1, e, 1.0) for e in range(299)]


def test_the_regularization_notebooks_l2_model_reproduced():
    """Full-batch gradient descent with L2 (λ = 0.7), the notebook's [n_x, 20, 3, 1] net and init
    (randn/√n, seed 3), on moons (the notebook's data file is not public)."""
    X, Y = moons()
    dims = [2, 20, 3, 1]
    params, costs_every_1000, all_costs = course2.regularization_model(
        X, Y, learning_rate=0.3, num_iterations=3000, lambd=0.7, layers_dims=dims
    )
    model = Model(dims, init="course", seed=3)
    model.fit(X, Y, 0.3, 3000, lambd=0.7, cost_every=1)
    assert_matches_course(model, params, all_costs)
    again = Model(dims, init="course", seed=3).fit(X, Y, 0.3, 3000, lambd=0.7, cost_every=1000)
    np.testing.assert_allclose(again.costs_, costs_every_1000, rtol=1e-9)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_l2_with_mini_batches_matches_the_transcription(optimizer):
    X, Y = moons()
    params, _, all_costs = course_run(optimizer, 500, 0.01, None, 0.7)
    model = Model(DIMS, init="he", seed=3)
    model.fit(X, Y, 0.01, mini_batch_size=64, num_epochs=500, optimizer=optimizer, seed=10,
              lambd=0.7, cost_every=1)  # fmt: skip
    assert_matches_course(model, params, all_costs)


# --------------------------------------------------------------------------- warm starts


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("batch", [None, 64])
def test_a_fit_of_2n_equals_n_then_a_warm_start_of_n(optimizer, batch):
    X, Y = moons()
    kw = dict(mini_batch_size=batch, optimizer=optimizer, seed=10, decay="scheduled",
              time_interval=30, cost_every=7)  # fmt: skip
    whole = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=100, **kw)
    split = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=50, **kw)
    split.fit(X, Y, 0.01, num_epochs=50, warm_start=True, **kw)
    assert split.n_iter_ == whole.n_iter_ == 100
    np.testing.assert_allclose(split.costs_, whole.costs_, rtol=1e-12)
    for key, value in whole.parameters.items():
        np.testing.assert_allclose(split.parameters[key], value, rtol=1e-12, atol=1e-15)


def test_a_plain_second_fit_continues_the_weights_with_a_fresh_optimizer():
    X, Y = moons()
    kw = dict(mini_batch_size=64, optimizer="adam", seed=10)
    model = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=20, **kw)
    trained = model.parameters
    model.fit(X, Y, 0.01, num_epochs=20, **kw)  # not warm: t, v, s and the epochs restart
    fresh = Model.from_parameters(trained).fit(X, Y, 0.01, num_epochs=20, **kw)
    assert model.n_iter_ == 20 and len(model.costs_) == 1
    for key, value in fresh.parameters.items():
        np.testing.assert_array_equal(model.parameters[key], value)


def test_partial_fit_is_one_epoch_with_the_state_kept():
    X, Y = moons()
    kw = dict(mini_batch_size=64, optimizer="adam", seed=10)
    whole = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=25, cost_every=1, **kw)
    streamed = Model(DIMS, init="he", seed=3)
    for _ in range(25):
        streamed.partial_fit(X, Y, 0.01, **kw)
    assert streamed.n_iter_ == 25
    np.testing.assert_allclose(streamed.costs_, whole.costs_, rtol=1e-12)
    for key, value in whole.parameters.items():
        np.testing.assert_allclose(streamed.parameters[key], value, rtol=1e-12, atol=1e-15)
    # without mini_batch_size: one full-batch step per call
    step = Model(DIMS, init="he", seed=3).partial_fit(X, Y, 0.01, optimizer="momentum")
    one = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, 1, optimizer="momentum")
    assert step.n_iter_ == 1 and step.costs_ == one.costs_
    with pytest.raises(ValueError, match="optimizer='adam'"):
        streamed.partial_fit(X, Y, 0.01, mini_batch_size=64, optimizer="gd")


def test_warm_start_refuses_another_optimizer_and_leaves_the_model_unchanged():
    X, Y = moons()
    model = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=5, optimizer="adam")
    before = model.parameters
    with pytest.raises(ValueError, match="warm_start"):
        model.fit(X, Y, 0.01, num_epochs=5, optimizer="momentum", warm_start=True)
    assert model.n_iter_ == 5
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters[key], value)


def test_the_optimizer_state_survives_pickling():
    import pickle

    X, Y = moons()
    kw = dict(mini_batch_size=64, optimizer="adam", seed=10)
    model = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=10, **kw)
    copy = pickle.loads(pickle.dumps(model))
    model.fit(X, Y, 0.01, num_epochs=10, warm_start=True, **kw)
    copy.fit(X, Y, 0.01, num_epochs=10, warm_start=True, **kw)
    for key, value in model.parameters.items():
        np.testing.assert_array_equal(copy.parameters[key], value)


# --------------------------------------------------------------------------- early stopping


def test_early_stopping_with_a_validation_fraction():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 400))
    Y = (X[0] + X[1] * X[2] + 0.9 * rng.standard_normal(400) > 0).astype(float)[None]
    model = Model([4, 64, 64, 1], init="he")
    model.fit(X, Y, 0.01, mini_batch_size=32, num_epochs=2000, optimizer="adam",
              validation_fraction=0.25, n_iter_no_change=8, tol=1e-4)  # fmt: skip
    vc = model.validation_costs_
    assert 8 < len(vc) < 2000  # it stopped
    # the model is as it was after its best epoch (the check after epoch e sees e + 1 epochs)
    assert model.best_cost_ == min(vc) and model.n_iter_ == int(np.argmin(vc)) + 1
    # the held-out part is the seeded split: its cost at the restored parameters is best_cost_
    perm = np.random.RandomState(model.seed).permutation(400)
    val = np.sort(perm[:100])
    A = model.predict_proba(X[:, val])
    y = Y[:, val]
    cost = -np.mean(y * np.log(A) + (1 - y) * np.log(1 - A))
    np.testing.assert_allclose(cost, model.best_cost_, rtol=1e-9)


def test_early_stopping_with_validation_data_in_full_batch():
    rng = np.random.default_rng(1)
    X, X_val = rng.standard_normal((3, 60)), rng.standard_normal((3, 60))
    Y = (rng.random((1, 60)) > 0.5).astype(float)  # noise: validation only gets worse
    Y_val = (rng.random((1, 60)) > 0.5).astype(float)
    model = Model([3, 32, 1], init="he")
    model.fit(X, Y, 0.5, 5000, cost_every=10, validation=(X_val, Y_val), n_iter_no_change=3)
    vc = model.validation_costs_
    assert len(vc) < 501  # it stopped; checked at every recorded iteration (0, 10, ...)
    assert model.n_iter_ == 10 * int(np.argmin(vc))  # the best iteration's parameters


def test_early_stopping_arguments_are_checked():
    X, Y = moons()
    model = Model(DIMS)
    with pytest.raises(ValueError, match="not both"):
        model.fit(X, Y, validation=(X, Y), validation_fraction=0.1)
    with pytest.raises(ValueError, match="validation_fraction"):
        model.fit(X, Y, validation_fraction=1.5)
    with pytest.raises(ValueError, match="cost_every"):
        model.fit(X, Y, cost_every=0, validation_fraction=0.2)
    with pytest.raises(ValueError, match=r"X_val must have shape \(2, \?\)"):
        model.fit(X, Y, validation=(X[:1], Y))
    with pytest.raises(TypeError, match=r"validation must be \(X_val, Y_val\) or"):
        model.fit(X, Y, validation=X)
    with pytest.raises(ValueError, match="Y_val must hold labels 0 or 1"):
        model.fit(X, Y, validation=(X, Y * 2))
    assert model.n_iter_ == 0


# --------------------------------------------------------------------------- divergence, errors


def test_a_finite_blow_up_raises_and_keeps_the_last_good_parameters():
    """The case a user met: targets around 500, lr 0.006; the cost went from 1.3e5 to 2.6e143
    and fit returned normally. Recorded every iteration, the cost is seen rising past 1e6 times
    its start while still finite, and fit stops there."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 200))
    Y = 500 + 20 * rng.standard_normal((1, 200))
    model = Model([5, 8, 1], output="linear")
    with pytest.raises(FloatingPointError, match=r"diverged at iteration \d+: the cost rose to"):
        model.fit(X, Y, learning_rate=0.006, num_iterations=3000, cost_every=1)
    assert 0 < model.n_iter_ == len(model.costs_) - 1 < 3000
    assert np.isfinite(np.concatenate([p.ravel() for p in model.parameters.values()])).all()
    assert max(model.costs_) <= 1e6 * model.costs_[0]
    # the model holds the parameters of the last iteration whose cost passed: their cost
    replay = Model.from_parameters(model.parameters, output="linear")
    replay.fit(X, Y, 0.006, 1, cost_every=1)
    np.testing.assert_allclose(replay.costs_[0], model.costs_[-1], rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"mini_batch_size": 0}, ValueError, "mini_batch_size"),
        ({"mini_batch_size": 2.5}, TypeError, "mini_batch_size"),
        ({"num_epochs": -1}, ValueError, "num_epochs"),
        ({"optimizer": "sgd"}, ValueError, "optimizer must be one of 'gd', 'momentum', 'adam'"),
        ({"beta": 1.0}, ValueError, "beta"),
        ({"beta1": -0.1}, ValueError, "beta1"),
        ({"beta2": "x"}, TypeError, "beta2"),
        ({"epsilon": 0}, ValueError, "epsilon"),
        ({"lambd": -1}, ValueError, "lambd"),
        ({"lambd": float("nan")}, ValueError, "lambd"),
        ({"decay": "exponential"}, ValueError, "decay"),
        ({"decay_rate": -1}, ValueError, "decay_rate"),
        ({"time_interval": 0}, ValueError, "time_interval"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 2**32}, ValueError, "seed"),
        ({"seed": 2**32 - 2, "mini_batch_size": 8, "num_epochs": 5}, ValueError, "seed"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change"),
        ({"tol": -1e-3}, ValueError, "tol"),
        ({"divergence_factor": 0.5}, ValueError, "divergence_factor"),
        ({"warm_start": "yes"}, TypeError, "warm_start"),
        ({"path": "gram", "optimizer": "adam"}, ValueError, "path='gram'"),
        ({"path": "gram", "mini_batch_size": 8}, ValueError, "path='gram'"),
        ({"path": "gram", "keep_prob": 0.5}, ValueError, "path='gram'"),
        (
            {"keep_prob": 0},
            ValueError,
            r"keep_prob must be in \(0, 1\] \(the share of units kept\); got 0",
        ),
        ({"keep_prob": 1.5}, ValueError, r"keep_prob must be in \(0, 1\]"),
        ({"keep_prob": float("nan")}, ValueError, r"keep_prob must be in \(0, 1\]"),
        (
            {"keep_prob": "half"},
            TypeError,
            r"keep_prob must be a number in \(0, 1\] or one per hidden layer; got 'half'",
        ),
        (
            {"keep_prob": [0.5]},
            ValueError,
            r"keep_prob needs one value per hidden layer \(2\); got 1",
        ),
        ({"keep_prob": [0.5, True]}, TypeError, "keep_prob must hold numbers in"),
        ({"keep_prob": {0.5: 1, 0.6: 2}}, TypeError, "keep_prob must be a number in"),
    ],
)
def test_bad_training_arguments_name_themselves_and_change_nothing(kwargs, error, match):
    X, Y = moons()
    model = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, 3)
    before, costs = model.parameters, list(model.costs_)
    with pytest.raises(error, match=match):
        model.fit(X, Y, 0.01, **kwargs)
    assert model.costs_ == costs and model.n_iter_ == 3
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters[key], value)


def test_ctrl_c_stops_a_mini_batch_epoch_promptly_at_an_epoch_boundary():
    """Ctrl-C is noticed between batches; the model then holds the state of its last completed
    epoch (parameters, optimizer state, counters), so a warm start goes on as if the fit had
    been asked for that many epochs."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((20, 200_000))
    Y = (rng.random((1, 200_000)) > 0.5).astype(float)
    kw = dict(mini_batch_size=16, optimizer="adam", cost_every=0)
    model = Model([20, 64, 64, 1], init="he")
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, 0.001, num_epochs=1000, **kw)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.3 + 1.5, f"took {elapsed:.2f}s to notice Ctrl-C"
    n = model.n_iter_
    assert n < 1000 and (model._state.epoch, model._state.t) == (n, n * 12_500)
    replay = Model([20, 64, 64, 1], init="he")
    if n:
        replay.fit(X, Y, 0.001, num_epochs=n, **kw)
    for key, value in replay.parameters.items():
        np.testing.assert_array_equal(model.parameters[key], value)


# --------------------------------------------------------------------------- what a run commits


def test_a_blow_up_spread_over_partial_fit_calls_and_warm_starts_is_caught():
    """The divergence rule's reference is the first cost since the optimizer started, not the
    first of each call: a cost that explodes one partial_fit at a time still stops."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 200))
    Y = 500 + 20 * rng.standard_normal((1, 200))
    model = Model([5, 8, 1], output="linear")
    with pytest.raises(FloatingPointError, match="the cost rose to"):
        for _ in range(50):
            model.partial_fit(X, Y, 0.006)
    assert max(model.costs_) <= 1e6 * model.costs_[0]
    assert np.isfinite(model.parameters["W1"]).all()
    again = Model([5, 8, 1], output="linear")
    with pytest.raises(FloatingPointError, match="the cost rose to"):
        for _ in range(50):
            again.fit(X, Y, 0.006, 2, cost_every=1, warm_start=True)


def test_the_decay_is_asked_only_for_epochs_that_run():
    """A schedule reaching 0 after the last epoch is fine: epoch e > 0 asks for its own rate."""
    X, Y = moons()
    asked = []

    def linear_to_zero(lr0, epoch_num, decay_rate):
        asked.append(epoch_num)
        return lr0 * (1 - (epoch_num + 1) / 10)

    model = Model(DIMS, init="he", seed=3)
    model.fit(X, Y, 0.1, mini_batch_size=64, num_epochs=10, decay=linear_to_zero)
    assert model.n_iter_ == 10 and asked[-9:] == list(range(9))


@pytest.mark.parametrize("where", ["callback", "decay", "decay arity", "decay value"])
def test_a_fit_that_fails_in_a_callback_or_a_decay_leaves_the_model_as_it_was(where):
    X, Y = moons()
    model = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, 5, optimizer="adam")
    before, costs, state = model.parameters, list(model.costs_), model._state

    def boom(i, cost):
        if i >= 3:
            raise RuntimeError("boom")

    kw = {
        "callback": {"callback": boom, "cost_every": 1},
        "decay": {"decay": lambda lr0, e, r: (_ for _ in ()).throw(RuntimeError("boom"))},
        "decay arity": {"decay": lambda lr0, e: lr0},
        "decay value": {"decay": lambda lr0, e, r: -1.0},
    }[where]
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        model.fit(X, Y, 0.01, mini_batch_size=64, num_epochs=10, optimizer="adam",
                  warm_start=True, **kw)  # fmt: skip
    assert model._state is state and model.n_iter_ == 5 and model.costs_ == costs
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters[key], value)


def test_ctrl_c_in_a_fit_with_validation_keeps_the_last_epoch_not_the_best():
    X, Y = moons()
    kw = dict(mini_batch_size=64, optimizer="adam", seed=10, cost_every=1)

    def interrupt(i, cost):
        if i == 6:
            raise KeyboardInterrupt

    model = Model(DIMS, init="he", seed=3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, 0.05, num_epochs=100, validation=(X, Y), callback=interrupt, **kw)
    assert model.n_iter_ == 7 and len(model.validation_costs_) == 7
    plain = Model(DIMS, init="he", seed=3).fit(X, Y, 0.05, num_epochs=7, **kw)
    for key, value in plain.parameters.items():
        np.testing.assert_array_equal(model.parameters[key], value)


def test_warm_start_keeps_the_standardisation_and_the_shuffle_seed():
    X, Y = moons()
    kw = dict(mini_batch_size=64, optimizer="adam", cost_every=1)
    whole = Model(DIMS, init="he", seed=None, standardize=True)
    whole.fit(X, Y, 0.01, num_epochs=20, seed=None, **kw)  # a fresh random shuffle seed
    seed = whole._state.seed
    split = Model.from_parameters(Model(DIMS, init="he", seed=3).parameters)
    split.standardize = True
    split.fit(X * 3 + 1, Y, 0.01, num_epochs=1, seed=seed, **kw)  # stats of other data
    mean = split.x_mean_.copy()
    split.fit(X, Y, 0.01, num_epochs=5, warm_start=True, **kw)
    np.testing.assert_array_equal(split.x_mean_, mean)  # a warm start keeps them
    # with seed=None a warm start continues the shuffles of the seed its optimizer started with
    other = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=10, seed=seed, **kw)
    cont = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, num_epochs=5, seed=seed, **kw)
    cont.fit(X, Y, 0.01, num_epochs=5, warm_start=True, **kw)  # seed=None: the same seed
    np.testing.assert_allclose(cont.costs_, other.costs_, rtol=1e-12)


def test_standardize_keeps_the_examples_contiguous():
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((500, 4))
    model = Model([4, 3, 1], standardize=True)
    Z = model._standardized(rows.T, rows.T.mean(axis=1, keepdims=True), np.ones((4, 1)))
    assert Z.flags.f_contiguous and not np.shares_memory(Z, rows)


def test_num_iterations_and_num_epochs_are_one_count_and_counts_are_bounded():
    X, Y = moons()
    model = Model(DIMS)
    with pytest.raises(ValueError, match="give one of them"):
        model.fit(X, Y, num_iterations=5, num_epochs=5)
    for kwargs, name in [({"num_iterations": 2**63}, "num_iterations"),
                         ({"cost_every": 2**64}, "cost_every"),
                         ({"num_epochs": 2**63, "mini_batch_size": 8}, "num_epochs"),
                         ({"time_interval": 2**70}, "time_interval")]:  # fmt: skip
        with pytest.raises(ValueError, match=f"{name} must be <= 2\\*\\*62"):
            model.fit(X, Y, **kwargs)
    with pytest.raises(
        TypeError, match=r"validation must be \(X_val, Y_val\) or .*; got a tuple of 1"
    ):
        model.fit(X, Y, validation=(X,))


# --- dropout ---------------------------------------------------------------------------------


def test_dropout_fits_reproducibly_and_predicts_without_dropout():
    X, Y = moons()
    kw = dict(mini_batch_size=64, num_epochs=30, optimizer="adam", keep_prob=[0.8, 0.9])
    a = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, seed=4, **kw)
    b = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, seed=4, **kw)
    c = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, seed=5, **kw)
    plain = Model(DIMS, init="he", seed=3).fit(X, Y, 0.01, seed=4, **{**kw, "keep_prob": 1.0})
    for key, value in a.parameters.items():
        np.testing.assert_array_equal(b.parameters[key], value)
    assert not np.allclose(c.parameters["W1"], a.parameters["W1"])  # other seed, other masks
    assert not np.allclose(plain.parameters["W1"], a.parameters["W1"])
    p = a.parameters  # predict: the plain network, no units dropped, the same every call
    A1 = np.maximum(p["W1"] @ X + p["b1"], 0)
    A2 = np.maximum(p["W2"] @ A1 + p["b2"], 0)
    want = 1 / (1 + np.exp(-(p["W3"] @ A2 + p["b3"])))
    np.testing.assert_allclose(a.predict_proba(X), want, rtol=1e-12)


def test_dropout_with_partial_fit_and_warm_start_goes_on_step_by_step():
    """The masks follow the step counter: two halves of a run (a warm start, or partial_fit
    epochs) draw what the whole run draws."""
    X, Y = moons()
    kw = dict(mini_batch_size=50, optimizer="momentum", keep_prob=0.7, seed=2)
    whole = Model(DIMS, init="he", seed=3).fit(X, Y, 0.05, num_epochs=6, **kw)
    halves = Model(DIMS, init="he", seed=3).fit(X, Y, 0.05, num_epochs=3, **kw)
    halves.fit(X, Y, 0.05, num_epochs=3, warm_start=True, **kw)
    steps = Model(DIMS, init="he", seed=3)
    for _ in range(6):
        steps.partial_fit(X, Y, 0.05, **kw)
    for key, value in whole.parameters.items():
        np.testing.assert_allclose(halves.parameters[key], value, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(steps.parameters[key], value, rtol=1e-12, atol=1e-15)


def test_the_plateau_rule_on_a_validation_cost_keeps_the_lowest_cost():
    """With validation data, mini-batches and stop_on_plateau, the default metric "cost" is a
    loss: the rule stops once it no longer falls, and the model keeps the parameters of the
    lowest one (a score would be negated; a cost is not)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 400))
    Y = ((X[0] + X[1] * X[2]) > 0).astype(float).reshape(1, -1)
    model = Model([5, 16, 1], seed=1, init="he")
    model.fit(X[:, :300], Y[:, :300], 0.01, num_epochs=200, mini_batch_size=32,
              optimizer="adam", validation=(X[:, 300:], Y[:, 300:]), stop_on_plateau=True,
              n_iter_no_change=5, cost_every=1)  # fmt: skip
    costs = model.validation_costs_
    assert model.stopped_early_ and 10 < len(costs) < 200
    assert costs[0] > min(costs) + 0.1  # it learned before it stopped
    A = model.predict_proba(X[:, 300:])
    Yv = Y[:, 300:]
    held_out = -np.mean(Yv * np.log(A) + (1 - Yv) * np.log(1 - A))
    assert held_out == pytest.approx(min(costs), rel=1e-9)


def test_sample_weights_never_take_the_gram_path():
    """A wide X (n_x > m) takes the Gram path by default; with sample weights it must not (W1
    is rebuilt there with 1/m, not 1/Σw), so "auto" gives the direct path's weights."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 20))
    Y = (rng.random((1, 20)) > 0.5).astype(float)
    w = rng.random(20) * 3
    fits = {
        path: Model([60, 8, 1], seed=1).fit(X, Y, 0.05, 300, path=path, sample_weight=w)
        for path in ("auto", "direct")
    }
    for key, value in fits["direct"].parameters.items():
        np.testing.assert_array_equal(fits["auto"].parameters[key], value)
    with pytest.raises(ValueError, match="path='gram' is for .* or sample weights"):
        Model([60, 8, 1], seed=1).fit(X, Y, 0.05, 10, path="gram", sample_weight=w)


def test_weights_that_sum_to_zero_in_a_batch_or_a_split_raise_and_change_nothing():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((3, 60)), rng.standard_normal(60)
    w = np.ones(60)
    w[:10] = 0  # the first batch of an unshuffled run weighs nothing
    model = Model([3, 4, 1], output="linear")
    before = model.parameters
    with pytest.raises(ValueError, match="all 10 examples of a mini-batch of epoch 0 weigh 0"):
        model.fit(X, y, 0.1, num_epochs=2, mini_batch_size=10, shuffle=False, sample_weight=w)
    assert model.costs_ == [] and model.n_iter_ == 0
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters[key], value)
    held_out = np.sort(np.random.RandomState(1).permutation(60)[:6])  # the split's, seed 1
    w = np.ones(60)
    w[held_out] = 0
    with pytest.raises(
        ValueError, match="the validation part of the validation_fraction split weighs 0"
    ):
        model.fit(X, y, 0.1, num_epochs=2, validation_fraction=0.1, sample_weight=w, seed=1)
