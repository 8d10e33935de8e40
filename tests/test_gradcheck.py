"""fastnn.gradcheck: the engine's gradient against central differences of the engine's cost, for
every activation × output × dtype, with L2; and that it reports a wrong gradient."""

import dataclasses

import numpy as np
import pytest
from _helpers import ACTS, DTYPES, OUTPUT_CASES, OUTPUT_IDS, labels

import fastnn
from fastnn import _gradcheck

# the course's threshold for float64; float32 gradients carry float32 rounding
LIMIT = {np.float64: _gradcheck.THRESHOLD, np.float32: 2e-6}


def _model(rng, hidden, output, n_out, dtype, dims=(4, 5, 3)):
    """A model whose biases are not 0, so that no ReLU unit sits at its kink z = 0 exactly."""
    model = fastnn.Model([*dims, n_out], hidden_activation=hidden, output=output, dtype=dtype)
    params = model.parameters
    for key in params:
        if key.startswith("b"):
            params[key] = rng.uniform(0.1, 0.5, params[key].shape)
    model._set_parameters(params)
    X = rng.standard_normal((dims[0], 9))
    Y = labels(rng, (n_out, 9), np.float64, output)
    return model, X, Y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
@pytest.mark.parametrize("hidden", ACTS)
def test_engine_gradient_passes_the_check(hidden, output, n_out, dtype):
    rng = np.random.default_rng(ACTS.index(hidden) + 10 * OUTPUT_CASES.index((output, n_out)))
    model, X, Y = _model(rng, hidden, output, n_out, dtype)
    before = model._state.theta.copy()
    for lambd, keep_prob in ((0.0, 1.0), (0.7, 1.0), (0.0, [0.6, 0.8]), (0.3, 0.7)):
        difference = fastnn.gradcheck(model, X, Y, lambd=lambd, keep_prob=keep_prob, seed=4)
        assert 0 < difference < LIMIT[dtype], (lambd, keep_prob, difference)
    np.testing.assert_array_equal(model._state.theta, before)  # the model is left as it was


def test_a_wrong_gradient_fails_the_check_with_the_courses_message(monkeypatch, capsys):
    rng = np.random.default_rng(0)
    model, X, Y = _model(rng, "relu", "sigmoid", 1, np.float64)
    assert fastnn.gradcheck(model, X, Y, print_msg=True) < _gradcheck.THRESHOLD
    assert (
        "Your backward propagation works perfectly fine! difference = " in capsys.readouterr().out
    )
    real = _gradcheck.kernels.cost_gradient
    n_w = model._state.n_w

    def wrong_bias_gradients(spec, X, Y, state, sample_weight=None):
        cost, grad = real(spec, X, Y, state, sample_weight)
        grad[n_w:] *= 2  # every db doubled, as a slip in the backward pass would
        return cost, grad

    monkeypatch.setattr(_gradcheck.kernels, "cost_gradient", wrong_bias_gradients)
    difference = fastnn.gradcheck(model, X, Y, print_msg=True)
    assert difference > 1e-3
    out = capsys.readouterr().out
    assert out == (
        f"\033[93mThere is a mistake in the backward propagation! difference = {difference}\033[0m\n"
    )


def test_the_checked_cost_is_the_models_cost_with_its_l2_term():
    """What the check differentiates is J = (1/m)·Σ loss + (λ/2m)·Σ‖W‖², computed here by
    hand."""
    rng = np.random.default_rng(1)
    model, X, Y = _model(rng, "tanh", "linear", 2, np.float64)
    spec_cost = fastnn._gradcheck.make_spec(
        layer_dims=model.layer_dims, m=9, activations=model.hidden_activations, output="linear",
        slope=0.01, learning_rate=1.0, num_epochs=1, lambd=0.7,
    )  # fmt: skip
    J, _ = fastnn._gradcheck.kernels.cost_gradient(
        spec_cost, X, np.ascontiguousarray(Y), model._state
    )
    W = [model.parameters[f"W{l}"] for l in (1, 2, 3)]
    A = np.tanh(W[1] @ np.tanh(W[0] @ X + model.parameters["b1"]) + model.parameters["b2"])
    Z3 = W[2] @ A + model.parameters["b3"]
    want = np.sum((Z3 - Y) ** 2) / 2 / 9 + 0.7 / (2 * 9) * sum(np.sum(w**2) for w in W)
    assert J == pytest.approx(want, rel=1e-12)


def test_bad_arguments_raise_clear_errors():
    rng = np.random.default_rng(2)
    model, X, Y = _model(rng, "relu", "sigmoid", 1, np.float64)
    with pytest.raises(ValueError, match="epsilon must be a finite number > 0; got 0"):
        fastnn.gradcheck(model, X, Y, epsilon=0)
    with pytest.raises(ValueError, match=r"Y must have shape \(1, 9\)"):
        fastnn.gradcheck(model, X, Y[:, :4])
    with pytest.raises(ValueError, match="lambd"):
        fastnn.gradcheck(model, X, Y, lambd=-1)
    with pytest.raises(TypeError, match="epsilon must be a number; got True"):
        fastnn.gradcheck(model, X, Y, epsilon=True)
    with pytest.raises(TypeError, match="model must be a fastnn.Model; got NoneType"):
        fastnn.gradcheck(None, X, Y)
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\]"):
        fastnn.gradcheck(model, X, Y, keep_prob=0)


def test_the_check_under_dropout_is_under_one_fixed_mask(monkeypatch):
    """Both sides use the masks of the model's next step: a backward pass that forgot the mask
    (dA not multiplied by D/keep_prob) fails the check."""
    rng = np.random.default_rng(3)
    model, X, Y = _model(rng, "tanh", "sigmoid", 1, np.float64)
    model._state.t = 17
    assert fastnn.gradcheck(model, X, Y, keep_prob=0.5, seed=9) < _gradcheck.THRESHOLD
    real = _gradcheck.kernels.cost_gradient

    def maskless_gradient(spec, X, Y, state, sample_weight=None):
        cost, _ = real(spec, X, Y, state, sample_weight)
        _, grad = real(dataclasses.replace(spec, keep_probs=()), X, Y, state, sample_weight)
        return cost, grad

    monkeypatch.setattr(_gradcheck.kernels, "cost_gradient", maskless_gradient)
    assert fastnn.gradcheck(model, X, Y, keep_prob=0.5, seed=9) > 1e-3
