"""Cross-check mode: every kernel call recomputed by fastnn.reference and compared."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _engine, _kernels, functional


@pytest.fixture
def layer(rng):
    return rng.standard_normal((4, 6)), rng.standard_normal((3, 4)), rng.standard_normal((3, 1))


def test_switches(monkeypatch):
    previous = fastnn.set_crosscheck(False)
    try:
        assert not fastnn.crosscheck_enabled()
        with fastnn.crosscheck():
            assert fastnn.crosscheck_enabled()
            with fastnn.crosscheck(False):
                assert not fastnn.crosscheck_enabled()
            assert fastnn.crosscheck_enabled()
        assert not fastnn.crosscheck_enabled()
        assert fastnn.set_crosscheck(True) is False
        assert fastnn.crosscheck_enabled()
    finally:
        fastnn.set_crosscheck(previous)


@pytest.mark.parametrize("value,expected", [("1", "True"), ("0", "False"), ("", "False")])
def test_environment_variable_turns_it_on(value, expected):
    env = dict(os.environ, FASTNN_CROSSCHECK=value)
    out = subprocess.run(
        [sys.executable, "-c", "import fastnn; print(fastnn.crosscheck_enabled())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == expected


def test_a_wrong_kernel_result_is_caught(monkeypatch, layer):
    A_prev, W, b = layer
    real = _kernels.dense_forward

    def wrong(*args):
        A, Z = real(*args)
        A[1, 2] += 1e-3  # a small, plausible-looking error
        return A, Z

    monkeypatch.setattr(_kernels, "dense_forward", wrong)
    with fastnn.crosscheck(False):
        functional.linear_activation_forward(A_prev, W, b, "tanh")  # unnoticed when off
    with fastnn.crosscheck(), pytest.raises(fastnn.CrossCheckError) as err:
        functional.linear_activation_forward(A_prev, W, b, "tanh")
    message = str(err.value)
    for part in ["dense_forward", "(4, 6)", "(3, 4)", "float64", "max abs error 0.001"]:
        assert part in message


def test_a_wrong_training_loop_is_caught(monkeypatch, rng):
    real = _engine.train

    def wrong(spec, X, Y, state, *rest):
        result = real(spec, X, Y, state, *rest)
        state.W[0][0, 0] += 1e-6
        return result

    monkeypatch.setattr(_engine, "train", wrong)
    X = rng.standard_normal((3, 10))
    Y = (rng.random((1, 10)) > 0.5).astype(float)
    with fastnn.crosscheck(), pytest.raises(fastnn.CrossCheckError, match="train"):
        fastnn.Model([3, 4, 1]).fit(X, Y, num_iterations=5)
    with fastnn.crosscheck(), pytest.raises(fastnn.CrossCheckError, match="train"):
        fastnn.Model([3, 4, 1]).fit(X, Y, num_epochs=5, mini_batch_size=4, optimizer="adam")


def test_a_wrong_optimizer_state_is_caught(monkeypatch, rng):
    real = _engine.train

    def wrong(spec, X, Y, state, *rest):
        result = real(spec, X, Y, state, *rest)
        state.s[0] *= 1.001  # Adam's second moment, nothing the parameters show yet
        return result

    monkeypatch.setattr(_engine, "train", wrong)
    X = rng.standard_normal((3, 10))
    Y = (rng.random((1, 10)) > 0.5).astype(float)
    with fastnn.crosscheck(), pytest.raises(fastnn.CrossCheckError, match="train"):
        fastnn.Model([3, 4, 1]).fit(X, Y, num_epochs=3, mini_batch_size=4, optimizer="adam")


def test_ctrl_c_during_the_checked_prefix_stops_training_unchanged(monkeypatch, rng):
    real = _engine.train
    calls = []

    def interrupted_once(spec, *args):
        result = real(spec, *args)
        calls.append(spec.num_epochs)
        if len(calls) == 1:  # the checked prefix: as if Ctrl-C arrived before it finished
            result.pending = KeyboardInterrupt()
        return result

    monkeypatch.setattr(_engine, "train", interrupted_once)
    X = rng.standard_normal((3, 10))
    Y = (rng.random((1, 10)) > 0.5).astype(float)
    model = fastnn.Model([3, 4, 1])
    before = model.parameters
    with fastnn.crosscheck(), pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, num_iterations=500)
    assert calls == [20] and model.n_iter_ == 0  # neither the reference nor the real run
    for key, value in before.items():
        np.testing.assert_array_equal(model.parameters[key], value)


def test_correct_kernels_pass_in_float32_and_float64(layer, rng):
    A_prev, W, b = layer
    with fastnn.crosscheck():
        for dtype in (np.float32, np.float64):
            X = rng.standard_normal((5, 40)).astype(dtype)
            Y = (rng.random((1, 40)) > 0.5).astype(dtype)
            model = fastnn.Model([5, 8, 4, 1], hidden_activation="tanh", dtype=dtype)
            model.fit(X, Y, learning_rate=0.1, num_iterations=50)
            model.predict(X)
            AL, caches = functional.L_model_forward(X, model.parameters)
            functional.L_model_backward(AL, Y, caches)
            functional.compute_cost(AL, Y)


@pytest.mark.parametrize("field", ["t", "epoch", "best_epoch", "stopped_early"])
def test_a_wrong_counter_or_outcome_of_the_training_loop_is_caught(field, monkeypatch, rng):
    real = _engine.train

    def wrong(spec, X, Y, state, *rest):
        result = real(spec, X, Y, state, *rest)
        if field in ("t", "epoch"):
            setattr(state, field, getattr(state, field) + 1)
        else:
            setattr(result, field, 7 if field == "best_epoch" else not result.stopped_early)
        return result

    monkeypatch.setattr(_engine, "train", wrong)
    X = rng.standard_normal((3, 30))
    Y = (rng.random((1, 30)) > 0.5).astype(float)
    with fastnn.crosscheck(), pytest.raises(fastnn.CrossCheckError, match=f"on {field}: "):
        fastnn.Model([3, 4, 1]).fit(X, Y, num_epochs=3, mini_batch_size=8, optimizer="adam",
                                    validation=(X, Y))  # fmt: skip


# --- the outputs and scikit-learn's training under cross-check ------------------------------------


def _classes(rng, C=3, m=90):
    X = rng.standard_normal((4, m))
    return X, (X[0] > 0).astype(int) + (X[1] > 0) * (C - 2)


@pytest.mark.parametrize(
    "kind", ["softmax", "relu", "sklearn_adam-stream-plateau", "sklearn_adam-float32"]
)
def test_every_output_and_the_sklearn_training_run_checked(kind, rng):
    X, y = _classes(rng)
    kw = dict(learning_rate=0.01, num_epochs=5, mini_batch_size=16, cost_every=1)
    with fastnn.crosscheck():
        if kind == "softmax":
            fastnn.Model([4, 5, 3], output="softmax").fit(X, y, optimizer="adam", **kw)
        elif kind == "relu":
            m = fastnn.Model([4, 5, 2], output="relu")
            m.fit(X, np.abs(X[:2]), optimizer="momentum", lambd=0.1, **kw)
        else:
            dtype = np.float32 if kind.endswith("float32") else np.float64
            m = fastnn.Model([4, 5, 3], output="softmax", dtype=dtype)
            m.fit(X, y, optimizer="sklearn_adam", shuffle_rng=np.random.RandomState(0),
                  stop_on_plateau=True, tol=0.5, n_iter_no_change=1, **kw)  # fmt: skip
            assert m.stopped_early_  # the plateau rule fired, in both runs alike


def test_a_wrong_sklearn_adam_twin_is_caught(monkeypatch, rng):
    import dataclasses

    from fastnn._registry import OPTIMIZERS

    real = OPTIMIZERS["sklearn_adam"]

    def off(theta, grad, state, lr, t, hp):
        real.step(theta, grad, state, lr * 1.001, t, hp)  # a 0.1% larger step

    monkeypatch.setitem(OPTIMIZERS, "sklearn_adam", dataclasses.replace(real, step=off))
    X, y = _classes(rng)
    with fastnn.crosscheck(), pytest.raises(fastnn.CrossCheckError, match="train"):
        fastnn.Model([4, 5, 3], output="softmax").fit(
            X, y, learning_rate=0.01, num_epochs=3, mini_batch_size=16, optimizer="sklearn_adam"
        )


def test_ctrl_c_in_the_checked_prefix_of_a_shuffle_stream_fit(monkeypatch, rng):
    """Ctrl-C while cross-check runs its prefix: KeyboardInterrupt, the model and the
    generator as they were (not a TypeError from the missing stream state)."""
    calls = []

    def interrupted(spec, X, Y, state, callback=None, validation=None, sample_weight=None):
        calls.append(spec)
        from fastnn._spec import TrainResult

        return TrainResult(pending=KeyboardInterrupt())

    monkeypatch.setattr(_engine, "train", interrupted)
    X, y = _classes(rng)
    model, stream = fastnn.Model([4, 5, 3], output="softmax"), np.random.RandomState(3)
    before, state = model.parameters, stream.get_state()
    with fastnn.crosscheck(), pytest.raises(KeyboardInterrupt):
        model.fit(X, y, learning_rate=0.01, num_epochs=3, mini_batch_size=16,
                  optimizer="sklearn_adam", shuffle_rng=stream)  # fmt: skip
    assert calls and all(np.array_equal(v, model.parameters[k]) for k, v in before.items())
    assert np.array_equal(stream.get_state()[1], state[1])
