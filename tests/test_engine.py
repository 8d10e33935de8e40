"""The training engine, fastnn._engine.train, against its numpy twin fastnn.reference.train, both
driven by one TrainSpec on copies of one TrainState: full-batch and mini-batch runs, every
optimizer, activation, output and dtype, X in any BLAS layout, batch sizes from 1 to beyond m,
L2, the decays, early stopping, the divergence rule and its edge, warm starts, callbacks and
their exceptions, zero epochs, the permutation each epoch draws, the fused ?gemv update, the
Gram path for wide inputs (equal to the direct path in float64, bounded drift in float32, chosen
only when cheaper); and the gradients a training step applies, read off one step through Model
and checked against finite differences, with and without L2, on both paths.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _helpers import (
    ACTS,
    DTYPES,
    LAYOUTS,
    OUTPUT_CASES,
    OUTPUT_IDS,
    close,
    draw,
    labels,
    layout,
    net,
    numeric_gradient,
    spec,
    state_of,
)  # fmt: skip

from fastnn import Model, _blas, _engine, reference

OPTIMIZERS = ["gd", "momentum", "adam", "sklearn_adam", "sklearn_sgd", "sklearn_nesterov"]


def run_both(s, X, Y, Ws, bs, optimizer="gd", validation=None, callback=None, x_layout="C"):
    """The kernel and the reference on the same spec and copies of the same state."""
    mine, theirs = state_of(Ws, bs, optimizer), state_of(Ws, bs, optimizer)
    got = _engine.train(s, layout(X, x_layout), Y, mine, callback, validation)
    want = reference.train(s, X, Y, theirs, None, validation)
    return got, want, mine, theirs


def assert_same_run(got, want, mine, theirs, dtype, k=1):
    assert (got.n_done, got.pending, got.diverged_at, got.stopped_early) == (
        want.n_done,
        want.pending,
        want.diverged_at,
        want.stopped_early,
    )
    assert (mine.t, mine.epoch) == (theirs.t, theirs.epoch)
    assert len(got.costs) == len(want.costs)
    close(got.costs, want.costs, dtype, k)
    close(got.final_cost, want.final_cost, dtype, k)
    close(got.validation_costs, want.validation_costs, dtype, k)
    assert mine.theta.dtype == dtype
    for a, b in zip([mine.theta, *mine.opt_state], [theirs.theta, *theirs.opt_state], strict=True):
        close(a, b, dtype, k)


# --------------------------------------------------------------------------- full batch


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
@pytest.mark.parametrize("dims", [[3, 1], [4, 5, 1], [6, 5, 4, 1], [1, 1, 1]])
def test_train_matches_reference(dtype, activation, output, n_out, dims, rng, gemm_path):
    m = 7
    dims = [*dims[:-1], n_out]
    X = draw(rng, (dims[0], m), dtype)
    Y = labels(rng, (n_out, m), dtype, output)
    Ws, bs = net(rng, dims, dtype)
    s = spec([activation] * (len(dims) - 2), output, 0.05, 30, slope=0.1, cost_every=7)
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs)
    assert (got.n_done, got.pending, got.diverged_at) == (30, None, -1)
    assert len(got.costs) == 5  # iterations 0, 7, 14, 21, 28
    assert_same_run(got, want, mine, theirs, dtype)


@pytest.mark.parametrize("x_layout", LAYOUTS)
def test_train_reads_X_in_any_blas_layout(x_layout, rng, gemm_path):
    X = draw(rng, (5, 8), np.float64)
    Y = labels(rng, (1, 8), np.float64)
    Ws, bs = net(rng, [5, 3, 1], np.float64)
    s = spec(["tanh"], learning_rate=0.1, num_epochs=5, slope=0.0, cost_every=1)
    assert_same_run(*run_both(s, X, Y, Ws, bs, x_layout=x_layout), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gram", [False, True])
@pytest.mark.parametrize("x_layout", ["C", "F"])
def test_train_one_unit_layer_through_gemv_with_beta_one(dtype, gram, x_layout, rng):
    """A logistic regression large enough for ?gemv: the fused update W ← W − (α/m)·dZ·Xᵀ
    (beta = 1), on the Gram path also Z1 ← Z1 − (α/m)·dZ1·G and W1's materialisation."""
    X = draw(rng, (784, 300), dtype, 0.1)
    Y = labels(rng, (1, 300), dtype)
    Ws, bs = net(rng, [784, 1], dtype)
    previous = _blas._set_small_gemm_limit(0)
    try:
        s = spec([], learning_rate=0.5, num_epochs=20, cost_every=5, gram=gram)
        got, want, mine, theirs = run_both(s, X, Y, Ws, bs, x_layout=x_layout)
    finally:
        _blas._set_small_gemm_limit(previous)
    assert_same_run(got, want, mine, theirs, dtype, 784)


def test_train_calls_back_at_every_recorded_cost_and_stops_on_its_exception(rng):
    X = draw(rng, (3, 4), np.float64)
    Y = np.array([[0.0, 1.0, 1.0, 0.0]])
    Ws, bs = net(rng, [3, 2, 1], np.float64)
    seen = []

    def callback(i, cost):
        seen.append((i, cost))
        if i == 20:
            raise RuntimeError("stop here")

    state = state_of(Ws, bs)
    result = _engine.train(spec(["relu"], num_epochs=100, cost_every=10), X, Y, state, callback)
    assert [i for i, _ in seen] == [0, 10, 20]
    assert [c for _, c in seen] == result.costs
    assert result.n_done == 21 == state.epoch == state.t
    assert isinstance(result.pending, RuntimeError)


@pytest.mark.parametrize("batch", [None, 2])
def test_train_with_zero_epochs_changes_nothing(batch, rng):
    X = draw(rng, (3, 4), np.float64)
    Ws, bs = net(rng, [3, 2, 1], np.float64)
    state = state_of(Ws, bs)
    before = state.theta.copy()
    s = spec(["relu"], num_epochs=0, mini_batch_size=batch)
    result = _engine.train(s, X, np.ones((1, 4)), state)
    assert (result.costs, result.n_done, result.pending, result.diverged_at) == ([], 0, None, -1)
    assert np.isnan(result.final_cost) and (state.t, state.epoch) == (0, 0)
    np.testing.assert_array_equal(state.theta, before)


def test_the_parameters_are_one_flat_buffer_with_views(rng):
    Ws, bs = net(rng, [3, 4, 2, 1], np.float64)
    state = state_of(Ws, bs)
    assert state.theta.size == 12 + 8 + 2 + 4 + 2 + 1 and state.n_w == 22
    for view, value in zip(state.W + state.b, Ws + bs, strict=True):
        assert np.shares_memory(view, state.theta)
        np.testing.assert_array_equal(view, value)
    _engine.train(spec(["tanh", "tanh"], num_epochs=3), draw(rng, (3, 5), np.float64),
                  labels(rng, (1, 5), np.float64), state)  # fmt: skip
    assert not np.array_equal(state.W[0], Ws[0])  # trained through the views
    assert all(np.shares_memory(v, state.theta) for v in state.W + state.b)


# --------------------------------------------------------------------------- mini-batches


@pytest.mark.parametrize("m, seed", [(1, 0), (7, 10), (300, 3), (1000, 2**31)])
def test_each_epoch_draws_numpys_legacy_permutation(m, seed):
    for E in range(3):
        got = _engine._permutation(m, seed + 1 + E)
        np.testing.assert_array_equal(got, np.random.RandomState(seed + 1 + E).permutation(m))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
def test_minibatch_optimizers_match_reference(dtype, optimizer, activation, output, n_out, rng):
    dims, m = [4, 6, 3, n_out], 37
    X = draw(rng, (dims[0], m), dtype)
    Y = labels(rng, (n_out, m), dtype, output)
    Ws, bs = net(rng, dims, dtype)
    s = spec([activation] * 2, output, 0.01, 12, mini_batch_size=8, cost_every=3,
             optimizer=optimizer, seed=10, beta=0.8, beta1=0.85, beta2=0.99)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs, optimizer)
    assert got.n_done == 12 and mine.t == 12 * 5  # 4 full batches of 8 and one of 5 per epoch
    assert len(got.costs) == 4  # epochs 0, 3, 6, 9
    assert_same_run(got, want, mine, theirs, dtype, 8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_layout", LAYOUTS)
@pytest.mark.parametrize("batch", [1, 3, 9, 10, 64])
def test_minibatch_gathers_X_in_any_layout_and_any_batch_size(dtype, x_layout, batch, rng):
    X = draw(rng, (5, 10), dtype)
    Y = labels(rng, (1, 10), dtype)
    Ws, bs = net(rng, [5, 4, 1], dtype)
    s = spec(["relu"], num_epochs=4, mini_batch_size=batch, cost_every=1, optimizer="adam",
             learning_rate=0.01)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs, "adam", x_layout=x_layout)
    assert mine.t == 4 * -(-10 // min(batch, 10))
    assert_same_run(got, want, mine, theirs, dtype, 5)


def test_one_example_and_one_unit(rng):
    X = draw(rng, (1, 1), np.float64)
    Ws, bs = net(rng, [1, 1, 1], np.float64)
    for batch in (None, 1):
        s = spec(["relu"], num_epochs=3, mini_batch_size=batch, cost_every=1, optimizer="adam")
        assert_same_run(*run_both(s, X, np.ones((1, 1)), Ws, bs, "adam"), np.float64)


def test_epoch_cost_is_the_courses_sum_over_batches_divided_by_m(rng):
    """With a learning rate of ~0 the parameters stay put: the epoch cost is the loss of all
    examples at θ0, however they are batched."""
    X = draw(rng, (3, 20), np.float64)
    Y = labels(rng, (1, 20), np.float64)
    Ws, bs = net(rng, [3, 4, 1], np.float64)
    costs = []
    for batch in (None, 1, 6, 20):
        state = state_of(Ws, bs)
        s = spec(["tanh"], learning_rate=1e-300, num_epochs=1, mini_batch_size=batch, cost_every=1)
        costs.append(_engine.train(s, X, Y, state).costs[0])
    np.testing.assert_allclose(costs, costs[0], rtol=1e-14)


# --------------------------------------------------------------------------- L2, decay


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("batch", [None, 16])
def test_l2_matches_reference(dtype, optimizer, batch, rng):
    X = draw(rng, (4, 40), dtype)
    Y = labels(rng, (1, 40), dtype)
    Ws, bs = net(rng, [4, 5, 1], dtype)
    s = spec(["relu"], learning_rate=0.05, num_epochs=15, mini_batch_size=batch, cost_every=1,
             optimizer=optimizer, lambd=0.7)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs, optimizer)
    assert_same_run(got, want, mine, theirs, dtype, 8)
    # and the L2 term is in the cost: (λ/2m)·Σ‖W‖² at θ0 for the full-batch cost of iteration 0
    if batch is None:
        no_l2 = run_both(dataclasses.replace(s, lambd=0.0), X, Y, Ws, bs, optimizer)[0]
        term = 0.7 / (2 * 40) * sum(float(np.sum(W.astype(np.float64) ** 2)) for W in Ws)
        close(got.costs[0] - no_l2.costs[0], term, dtype)


@pytest.mark.parametrize("decay", ["inverse", "scheduled", "callable"])
@pytest.mark.parametrize("batch", [None, 7])
def test_decays_match_reference(decay, batch, rng):
    X = draw(rng, (3, 20), np.float64)
    Y = labels(rng, (1, 20), np.float64)
    Ws, bs = net(rng, [3, 4, 1], np.float64)
    fn = (lambda lr0, e, r: lr0 * 0.9**e) if decay == "callable" else decay
    s = spec(["tanh"], learning_rate=0.5, num_epochs=12, mini_batch_size=batch, cost_every=1,
             decay=fn, decay_rate=0.5, time_interval=4)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs)
    assert_same_run(got, want, mine, theirs, np.float64)
    plain = run_both(dataclasses.replace(s, decay=None), X, Y, Ws, bs)[2]
    assert not np.allclose(mine.theta, plain.theta)  # the decay changed the run


def test_a_decay_function_that_fails_stops_training_with_its_error(rng):
    X, Y = draw(rng, (3, 6), np.float64), labels(rng, (1, 6), np.float64)
    Ws, bs = net(rng, [3, 2, 1], np.float64)
    for bad, error in [(lambda lr0, e, r: -1.0, ValueError), (lambda lr0, e, r: "x", TypeError)]:
        state = state_of(Ws, bs)
        result = _engine.train(spec(["relu"], num_epochs=5, decay=bad), X, Y, state)
        assert isinstance(result.pending, error) and "decay" in str(result.pending)
        assert result.n_done == 1  # the epoch before the rate was asked for ran


# --------------------------------------------------------------------------- early stopping


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [None, 10])
def test_early_stopping_matches_reference_and_restores_the_best_parameters(dtype, batch, rng):
    X, X_val = draw(rng, (3, 60), dtype), draw(rng, (3, 25), dtype)
    w = rng.standard_normal((1, 3))
    Y = (w @ X + 0.8 * rng.standard_normal((1, 60)) > 0).astype(dtype)  # noisy: it overfits
    Y_val = (w @ X_val > 0).astype(dtype)
    Ws, bs = net(rng, [3, 32, 1], dtype)
    s = spec(["relu"], learning_rate=0.05, num_epochs=3000, mini_batch_size=batch, cost_every=1,
             optimizer="adam", n_iter_no_change=5, tol=1e-3)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs, "adam", (X_val, Y_val))
    assert got.stopped_early
    assert_same_run(got, want, mine, theirs, dtype, 10)
    vc = got.validation_costs
    # full batch: iteration i's check sees the parameters after i steps (and the stopping check
    # takes no step); mini-batches: the check after epoch e sees e + 1 epochs
    best = int(np.argmin(vc))
    assert got.best_epoch == want.best_epoch == best + (batch is not None)
    assert got.best_cost == min(vc)
    close(got.best_cost, want.best_cost, dtype, 10)
    # the state restored is the best one: parameters, optimizer state and counters together
    assert got.n_done == mine.epoch == got.best_epoch < 3000
    check = state_of(mine.W, mine.b)
    probe = dataclasses.replace(s, num_epochs=1, learning_rate=1e-300, optimizer="gd")
    again = _engine.train(probe, X, Y, check, None, (X_val, Y_val))
    close(again.validation_costs[0], got.best_cost, dtype, 10)
    # the validation cost improved by less than tol for n_iter_no_change checks in a row
    best_before = min(vc[: -s.n_iter_no_change])
    assert all(c > best_before - s.tol for c in vc[-s.n_iter_no_change :])


def test_early_stopping_restores_the_optimizer_state_and_counters_with_the_parameters(rng):
    """A warm start after early stopping goes on from the best epoch exactly as a run that had
    stopped there: parameters, Adam's v and s, t and the epoch count all come from it."""
    X, X_val = draw(rng, (3, 60), np.float64), draw(rng, (3, 25), np.float64)
    Y, Y_val = labels(rng, (1, 60), np.float64), labels(rng, (1, 25), np.float64)
    Ws, bs = net(rng, [3, 32, 1], np.float64)
    s = spec(["relu"], learning_rate=0.05, num_epochs=500, mini_batch_size=10, cost_every=1,
             optimizer="adam", n_iter_no_change=3, seed=5)  # fmt: skip
    stopped = state_of(Ws, bs, "adam")
    result = _engine.train(s, X, Y, stopped, None, (X_val, Y_val))
    assert result.stopped_early and stopped.epoch == result.best_epoch
    straight = state_of(Ws, bs, "adam")
    _engine.train(dataclasses.replace(s, num_epochs=result.best_epoch), X, Y, straight)
    assert (stopped.t, stopped.epoch) == (straight.t, straight.epoch)
    for a, b in zip([stopped.theta, *stopped.opt_state], [straight.theta, *straight.opt_state],
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- divergence


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference overflows on purpose
@pytest.mark.parametrize("gram", [False, True])
def test_divergence_restores_the_last_finite_parameters_like_the_reference(gram, rng):
    X = rng.random((50, 20)) * 30
    Y = draw(rng, (1, 20), np.float64) * 1e3
    Ws, bs = net(rng, [50, 6, 1], np.float64)
    # divergence_factor=inf: only the non-finite test, which this run reaches
    s = spec(["linear"], "linear", 5.0, 400, slope=0.0, cost_every=5, gram=gram,
             divergence_factor=np.inf)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs)
    assert got.diverged_at > 0 and got.diverged_at == want.diverged_at
    assert got.n_done == want.n_done == got.diverged_at - 5  # those of the previous record
    assert not np.isfinite(got.diverged_cost)
    assert np.isfinite(mine.theta).all()
    np.testing.assert_allclose(mine.theta, theirs.theta, rtol=1e-6)


@pytest.mark.parametrize("batch", [None, 8])
def test_a_finite_blow_up_is_divergence_and_the_rule_has_a_sharp_edge(batch, rng):
    """Targets around 500, a learning rate too large: the cost explodes (by 1e7 to 1e27) while it
    is still finite. The rule (cost > divergence_factor × the first cost) stops it there; the
    same run with a factor just above the largest ratio reached by then does not stop."""
    X = rng.standard_normal((5, 40))
    Y = 500 + 10 * rng.standard_normal((1, 40))
    Ws, bs = net(rng, [5, 8, 1], np.float64)
    s = spec(["relu"], "linear", 0.006, 10, mini_batch_size=batch, cost_every=1,
             divergence_factor=np.inf)  # fmt: skip
    free = _engine.train(s, X, Y, state_of(Ws, bs))  # only the non-finite test
    ratios = np.array(free.costs) / free.costs[0]  # the recorded costs, all finite
    assert ratios.max() > 1e6
    first = int(np.argmax(ratios > 1e6))  # the first epoch over the default factor
    got, want, mine, theirs = run_both(dataclasses.replace(s, divergence_factor=1e6), X, Y, Ws, bs)
    assert got.diverged_at == want.diverged_at == first and np.isfinite(got.diverged_cost)
    # the last parameters whose cost passed: before iteration first − 1's step (full batch),
    # after epoch first − 1 (mini-batches)
    assert got.n_done == want.n_done == (first - 1 if batch is None else first)
    np.testing.assert_allclose(mine.theta, theirs.theta, rtol=1e-9)
    edge = ratios[: first + 1].max()
    below = dataclasses.replace(s, divergence_factor=edge * (1 + 1e-9), num_epochs=first + 1)
    above = dataclasses.replace(s, divergence_factor=edge * (1 - 1e-9), num_epochs=first + 1)
    assert _engine.train(below, X, Y, state_of(Ws, bs)).diverged_at == -1
    assert _engine.train(above, X, Y, state_of(Ws, bs)).diverged_at == first


# --------------------------------------------------------------------------- warm starts


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("batch", [None, 6])
@pytest.mark.parametrize("decay", [None, "scheduled"])
def test_a_run_of_2n_epochs_equals_n_then_n_from_the_same_state(optimizer, batch, decay, rng):
    X, Y = draw(rng, (3, 20), np.float64), labels(rng, (1, 20), np.float64)
    Ws, bs = net(rng, [3, 5, 1], np.float64)
    s = spec(["relu"], learning_rate=0.05, num_epochs=20, mini_batch_size=batch, cost_every=3,
             optimizer=optimizer, decay=decay, decay_rate=1.0, time_interval=4, seed=10)  # fmt: skip
    whole = state_of(Ws, bs, optimizer)
    once = _engine.train(s, X, Y, whole)
    split = state_of(Ws, bs, optimizer)
    first = _engine.train(dataclasses.replace(s, num_epochs=10), X, Y, split)
    second = _engine.train(dataclasses.replace(s, num_epochs=10), X, Y, split)
    assert (split.t, split.epoch) == (whole.t, whole.epoch)
    np.testing.assert_allclose(first.costs + second.costs, once.costs, rtol=1e-12)
    for a, b in zip([split.theta, *split.opt_state], [whole.theta, *whole.opt_state], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_a_state_of_another_optimizer_is_refused(rng):
    Ws, bs = net(rng, [3, 2, 1], np.float64)
    with pytest.raises(ValueError, match="optimizer"):
        _engine.train(spec(["relu"], optimizer="adam"), draw(rng, (3, 4), np.float64),
                      np.ones((1, 4)), state_of(Ws, bs, "gd"))  # fmt: skip


# --------------------------------------------------------------------------- Gram path


def _wide_problem(rng, dims, m, dtype, output="sigmoid"):
    X = rng.random((dims[0], m)).astype(dtype)  # non-negative, like pixels: XᵀX is far from I
    Y = labels(rng, (dims[-1], m), dtype, output)
    Ws, bs = net(rng, dims, dtype)
    if output == "relu":
        bs[-1][...] = 1  # a live ReLU output unit: one that starts at z ≤ 0 everywhere never moves
    return X, Y, Ws, bs


@pytest.mark.parametrize("dims", [[300, 1], [300, 6, 1], [300, 8, 5, 3, 1]])
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
@pytest.mark.parametrize("x_layout", ["C", "F"])
def test_gram_path_equals_direct_path_in_float64(dims, activation, output, n_out, x_layout, rng):
    dims = [*dims[:-1], n_out]
    X, Y, Ws, bs = _wide_problem(rng, dims, 40, np.float64, output)
    X = layout(X, x_layout)
    acts = [activation] * (len(dims) - 2)
    # A stable learning rate: an oscillating run would amplify rounding differences.
    s = spec(acts, output, 0.003, 2500, slope=0.05, cost_every=100)
    direct, gram = state_of(Ws, bs), state_of(Ws, bs)
    d = _engine.train(s, X, Y, direct)
    g = _engine.train(dataclasses.replace(s, gram=True), X, Y, gram)
    assert d.costs[-1] < d.costs[0]
    assert (g.n_done, g.pending, g.diverged_at) == (d.n_done, d.pending, d.diverged_at)
    assert d.n_done == 2500
    np.testing.assert_allclose(g.costs, d.costs, rtol=1e-9)
    np.testing.assert_allclose(gram.theta, direct.theta, rtol=1e-9,
                               atol=1e-9 * np.abs(direct.theta).max())  # fmt: skip


def test_gram_path_with_a_decay_equals_the_direct_path(rng):
    X, Y, Ws, bs = _wide_problem(rng, [300, 6, 1], 40, np.float64)
    s = spec(["tanh"], learning_rate=0.01, num_epochs=300, cost_every=10, decay="inverse",
             decay_rate=0.01)  # fmt: skip
    direct, gram = state_of(Ws, bs), state_of(Ws, bs)
    d = _engine.train(s, X, Y, direct)
    g = _engine.train(dataclasses.replace(s, gram=True), X, Y, gram)
    np.testing.assert_allclose(g.costs, d.costs, rtol=1e-10)
    np.testing.assert_allclose(gram.theta, direct.theta, rtol=1e-9, atol=1e-12)


def test_gram_path_float32_drift_is_bounded(rng):
    X, Y, Ws, bs = _wide_problem(rng, [500, 10, 4, 1], 60, np.float64)

    def run(dtype, gram, iterations):
        state = state_of([w.astype(dtype) for w in Ws], [x.astype(dtype) for x in bs])
        s = spec(["tanh"] * 2, learning_rate=0.05, num_epochs=iterations, slope=0.0,
                 cost_every=50, gram=gram)  # fmt: skip
        return _engine.train(s, X.astype(dtype), Y.astype(dtype), state), state.theta

    # A few iterations: the Gram path's float32 rounding matches the direct path's.
    (_, short_gram), (_, short_direct) = run(np.float32, True, 10), run(np.float32, False, 10)
    np.testing.assert_allclose(short_gram, short_direct, rtol=1e-4,
                               atol=1e-5 * np.abs(short_direct).max())  # fmt: skip
    # 600 iterations cross two refreshes of W1 and Z1 (every 250): the float32 runs, Gram or
    # direct, end within 1% of the float64 trajectory, and their last recorded costs within 2%.
    # (lr = 0.05 makes iterations 50-100 unstable: float32 rounding, which differs between
    # BLAS and fnn_small_gemm, takes them through a different transient; measured at most 1.1%
    # at iteration 450 and 0.65% at the end, Gram path, every product through BLAS.)
    exact, _ = run(np.float64, False, 600)
    for gram in (False, True):
        approx, _ = run(np.float32, gram, 600)
        np.testing.assert_allclose(approx.final_cost, exact.final_cost, rtol=1e-2)
        np.testing.assert_allclose(approx.costs[-4:], exact.costs[-4:], rtol=2e-2)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference overflows on purpose
def test_gram_path_float32_divergence_after_refreshes_restores_like_the_reference():
    """float32 refreshes W1 and Z1 every 250 iterations and rebases the snapshot of S: a run
    that diverges after two refreshes (a decay that multiplies the rate by 10 at 620) must
    come back to the same parameters as the direct path. (A fixed seed: where float32 rounding
    lets the two paths first exceed the rule one record apart, they restore different records.)"""
    rng = np.random.default_rng(7)
    X = rng.random((300, 40)).astype(np.float32)
    Y = labels(rng, (1, 40), np.float32, "linear")
    Ws, bs = net(rng, [300, 6, 1], np.float32)
    jump = lambda lr0, e, r: lr0 if e < 620 else lr0 * 10  # noqa: E731
    s = spec(["linear"], "linear", 0.01, 3000, slope=0.0, cost_every=10, gram=True, decay=jump)
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs)
    assert got.diverged_at == want.diverged_at == 630 and got.n_done == want.n_done == 620
    np.testing.assert_allclose(mine.theta, theirs.theta, rtol=1e-4,
                               atol=1e-5 * np.abs(theirs.theta).max())  # fmt: skip


def test_the_gram_path_is_refused_where_it_is_not_exact(rng):
    X, Y, Ws, bs = _wide_problem(rng, [30, 4, 1], 10, np.float64)
    for bad in ({"mini_batch_size": 4}, {"optimizer": "adam"}, {"lambd": 0.1}):
        with pytest.raises(ValueError, match="Gram path"):
            _engine.train(spec(["relu"], gram=True, **bad), X, Y,
                          state_of(Ws, bs, bad.get("optimizer", "gd")))  # fmt: skip


def test_gram_is_chosen_only_when_cheaper():
    assert _engine.gram_is_cheaper([12288, 20, 7, 5, 1], 209, 2500)
    assert not _engine.gram_is_cheaper([12288, 20, 7, 5, 1], 209, 1)
    assert not _engine.gram_is_cheaper([784, 128, 64, 1], 1024, 2500)  # n_x < m
    assert not _engine.gram_is_cheaper([2, 4, 1], 400, 10000)


# --- gradients against finite differences, through Model, every activation, both dtypes ---------


def _model_cost(params, hidden, output, X, Y, lambd=0.0):
    m = Model.from_parameters(params, hidden_activation=hidden, output=output, dtype=np.float64)
    m.fit(X, Y, learning_rate=1.0, num_iterations=1, cost_every=1, lambd=lambd)
    return m.costs_[0]


def _model_gradient(params, hidden, output, X, Y, dtype, path="direct", lambd=0.0):
    """dJ/dθ read off one gradient step of size 1: θ_1 = θ_0 − ∇J."""
    m = Model.from_parameters(params, hidden_activation=hidden, output=output, dtype=dtype)
    before = m.parameters
    m.fit(X, Y, learning_rate=1.0, num_iterations=1, cost_every=1, path=path, lambd=lambd)
    after = m.parameters
    return {k: before[k].astype(np.float64) - after[k].astype(np.float64) for k in before}


@pytest.mark.parametrize("lambd", [0.0, 0.7])
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
@pytest.mark.parametrize("hidden", ACTS)
def test_model_gradients_match_finite_differences_in_both_dtypes(hidden, output, n_out, lambd):
    rng = np.random.default_rng(ACTS.index(hidden) + 10 * OUTPUT_CASES.index((output, n_out)))
    dims, m = [3, 4, 2, n_out], 7
    X = rng.standard_normal((dims[0], m))
    Y = labels(rng, (n_out, m), np.float64, output)
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])
        params[f"b{l}"] = rng.standard_normal((dims[l], 1)) * 0.3
    # the float32 model's parameters, exactly representable, so both dtypes see the same point
    params = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
    X = X.astype(np.float32).astype(np.float64)
    numeric = numeric_gradient(lambda p: _model_cost(p, hidden, output, X, Y, lambd), params, 1e-6)
    for dtype, rtol, atol in [(np.float64, 1e-6, 1e-8), (np.float32, 2e-3, 2e-5)]:
        p = {k: v.astype(dtype) for k, v in params.items()}
        grads = _model_gradient(
            p, hidden, output, X.astype(dtype), Y.astype(dtype), dtype, lambd=lambd
        )
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


@pytest.mark.parametrize("stream", [False, True])
def test_minibatches_without_shuffling_take_the_columns_in_order(stream, rng):
    """shuffle=False: every epoch the batches are X's columns in order, with no draw (a shuffle
    stream is left as it was), the same in the engine and its twin."""
    X = draw(rng, (3, 23), np.float64)
    Y = labels(rng, (2, 23), np.float64, "softmax")
    Ws, bs = net(rng, [3, 4, 2], np.float64)
    state0 = np.random.RandomState(7).get_state() if stream else None
    s = spec(["tanh"], "softmax", 0.05, 4, mini_batch_size=5, cost_every=1, shuffle=False,
             optimizer="sklearn_adam", shuffle_state=state0)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs, "sklearn_adam")
    assert_same_run(got, want, mine, theirs, np.float64)
    if stream:
        assert np.array_equal(got.shuffle_state[1], state0[1]) and got.shuffle_state[2] == state0[2]
    # the same as one ordered pass by hand: batches 0..4, 5..9, ... of the columns
    ordered = state_of(Ws, bs, "sklearn_adam")
    for _ in range(4):
        for start in range(0, 23, 5):
            cols = slice(start, start + 5)
            one = dataclasses.replace(s, num_epochs=1, mini_batch_size=None, shuffle_state=None)
            reference.train(one, X[:, cols], np.ascontiguousarray(Y[:, cols]), ordered)
    np.testing.assert_allclose(mine.theta, ordered.theta, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_adaptive_schedule_divides_the_rate_where_the_plateau_rule_would_stop(dtype, rng):
    X = draw(rng, (3, 40), dtype)
    Y = labels(rng, (1, 40), dtype)
    Ws, bs = net(rng, [3, 4, 1], dtype)
    s = spec(["tanh"], "sigmoid", 0.1, 60, mini_batch_size=8, cost_every=1, seed=2,
             optimizer="sklearn_nesterov", stop_on_plateau=True, adaptive=True, tol=0.05,
             n_iter_no_change=2)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs, "sklearn_nesterov")
    assert_same_run(got, want, mine, theirs, dtype)
    # 0.1 → 0.02 → ... : the rate has been divided by 5 at least once, as in the twin
    assert got.final_learning_rate < 0.1 and got.final_learning_rate == pytest.approx(
        want.final_learning_rate, rel=1e-12
    )
    assert np.log(0.1 / got.final_learning_rate) / np.log(5) == pytest.approx(
        round(np.log(0.1 / got.final_learning_rate) / np.log(5))
    )


# --------------------------------------------------------------------------- sample weights,
# scikit-learn's early stopping scores, the full-batch cost and gradient


def _weighted_case(rng, dtype, output, n_out, m=29):
    dims = [4, 6, n_out]
    X = draw(rng, (dims[0], m), dtype)
    Y = labels(rng, (n_out, m), dtype, output)
    w = (rng.random(m) * 3).astype(dtype)
    w[::5] = 0  # weights of 0 drop a sample
    return dims, X, Y, w


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", ["gd", "sklearn_adam", "sklearn_nesterov"])
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
@pytest.mark.parametrize("batch", [None, 1, 8])
def test_sample_weights_match_reference(dtype, optimizer, output, n_out, batch, rng):
    dims, X, Y, w = _weighted_case(rng, dtype, output, n_out)
    if batch == 1:
        w[w == 0] = 0.5  # a batch of one sample of weight 0 has no normaliser
    Ws, bs = net(rng, dims, dtype)
    s = spec(["tanh"], output, 0.01, 4, mini_batch_size=batch, cost_every=1,
             optimizer=optimizer, lambd=0.01 if batch == 1 else 0.3, seed=4)  # fmt: skip
    mine, theirs = state_of(Ws, bs, optimizer), state_of(Ws, bs, optimizer)
    got = _engine.train(s, X, Y, mine, None, None, w)
    want = reference.train(s, X, Y, theirs, None, None, w)
    assert_same_run(got, want, mine, theirs, dtype, 8)


@pytest.mark.parametrize("batch", [None, 7])
def test_unit_weights_are_no_weights_and_integer_weights_repeat_samples(batch, rng):
    dims, X, Y, _ = _weighted_case(rng, np.float64, "softmax", 3)
    Ws, bs = net(rng, dims, np.float64)
    s = spec(["relu"], "softmax", 0.1, 5, mini_batch_size=batch, cost_every=1, lambd=0.2,
             optimizer="sklearn_adam", shuffle=False)  # fmt: skip
    plain, ones = state_of(Ws, bs, "sklearn_adam"), state_of(Ws, bs, "sklearn_adam")
    a = _engine.train(s, X, Y, plain)
    b = _engine.train(s, X, Y, ones, None, None, np.ones(X.shape[1]))
    np.testing.assert_allclose(b.costs, a.costs, rtol=1e-13)
    np.testing.assert_allclose(ones.theta, plain.theta, rtol=1e-12, atol=1e-14)
    if batch is None:  # full batch: weight 2 is the sample twice
        w = np.ones(X.shape[1])
        w[3] = 2
        twice = state_of(Ws, bs, "sklearn_adam")
        Xd, Yd = np.hstack([X, X[:, 3:4]]), np.hstack([Y, Y[:, 3:4]])
        c = _engine.train(s, X, Y, state_of(Ws, bs, "sklearn_adam"), None, None, w)
        d = _engine.train(s, Xd, Yd, twice)
        np.testing.assert_allclose(c.costs, d.costs, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "output,n_out,metric",
    [("sigmoid", 1, "accuracy"), ("sigmoid", 3, "accuracy"), ("softmax", 4, "accuracy"),
     ("linear", 1, "r2"), ("linear", 3, "r2"), ("relu", 2, "r2"), ("poisson", 2, "r2")],
)  # fmt: skip
@pytest.mark.parametrize("weighted", [False, True])
def test_validation_scores_and_their_rule_match_reference(dtype, output, n_out, metric,
                                                          weighted, rng):  # fmt: skip
    dims, X, Y, w = _weighted_case(rng, dtype, output, n_out, m=60)
    Xv, Yv = X[:, :21].copy(), Y[:, :21].copy()
    validation = (Xv, Yv, w[:21].copy()) if weighted else (Xv, Yv)
    Ws, bs = net(rng, dims, dtype)
    s = spec(["tanh"], output, 0.05, 40, mini_batch_size=9, cost_every=1,
             optimizer="sklearn_adam", stop_on_plateau=True, n_iter_no_change=3, tol=1e-3,
             validation_metric=metric)  # fmt: skip
    mine, theirs = state_of(Ws, bs, "sklearn_adam"), state_of(Ws, bs, "sklearn_adam")
    got = _engine.train(s, X[:, 21:], Y[:, 21:].copy(), mine, None, validation)
    want = reference.train(s, X[:, 21:], Y[:, 21:].copy(), theirs, None, validation)
    assert_same_run(got, want, mine, theirs, dtype, 8)
    assert len(got.validation_costs) == got.n_done > 0
    scores = np.array(got.validation_costs)
    assert np.all(scores <= 1) and (metric == "r2" or np.all(scores >= 0))
    # θ is that of the best score: recomputing the score there gives the best one
    check = dataclasses.replace(s, num_epochs=0)
    assert mine.best_loss == -scores.max()
    again = reference._validation_value(check, mine.W, mine.b, *validation)
    close(again, scores.max(), dtype, 8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cost_gradient_matches_reference_and_finite_differences(dtype, output, n_out,
                                                                weighted, rng):  # fmt: skip
    dims, X, Y, w = _weighted_case(rng, np.float64, output, n_out, m=13)
    w = w if weighted else None
    Ws, bs = net(rng, [4, 5, 3, n_out], np.float64)
    X = draw(rng, (4, 13), np.float64)
    s = spec(["tanh", "leaky_relu"], output, 1.0, 1, lambd=0.7)
    state = state_of(Ws, bs)
    cost, grad = _engine.cost_gradient(s, X, Y, state, w)
    want_cost, want_grad = reference.cost_gradient(s, X, Y, state_of(Ws, bs), w)
    close(cost, want_cost, np.float64)
    close(grad, want_grad, np.float64)
    eps, theta = 1e-6, state.theta.copy()

    def cost_at(i, delta):
        state.theta[...] = theta
        state.theta[i] += delta
        return _engine.cost_gradient(s, X, Y, state, w)[0]

    numeric = [(cost_at(i, eps) - cost_at(i, -eps)) / (2 * eps) for i in range(theta.size)]
    np.testing.assert_allclose(numeric, grad, rtol=1e-5, atol=1e-7)
    if dtype == np.float32:  # the float32 kernel against the float64 one
        s32 = state_of([W.astype(np.float32) for W in Ws], [b.astype(np.float32) for b in bs])
        w32 = None if w is None else w.astype(np.float32)
        c32, g32 = _engine.cost_gradient(s, X.astype(np.float32), Y.astype(np.float32), s32, w32)
        assert g32.dtype == np.float32
        np.testing.assert_allclose(c32, cost, rtol=1e-4)
        np.testing.assert_allclose(g32, grad, rtol=1e-3, atol=1e-5)


def test_weights_and_validation_metrics_are_checked(rng):
    from fastnn._training import make_spec

    X, Y = draw(rng, (3, 5), np.float64), labels(rng, (1, 5), np.float64)
    Ws, bs = net(rng, [3, 1], np.float64)
    with pytest.raises(ValueError, match=r"sample weights must be \(5,\)"):
        _engine.train(spec([]), X, Y, state_of(Ws, bs), None, None, np.ones(4))
    with pytest.raises(ValueError, match="validation_metric must be one of"):
        make_spec(layer_dims=[3, 1], m=5, activations=[], output="sigmoid", slope=0.01,
                  learning_rate=0.1, num_epochs=1, validation_metric="f1")  # fmt: skip
    with pytest.raises(ValueError, match="needs validation data and stop_on_plateau"):
        make_spec(layer_dims=[3, 1], m=5, activations=[], output="sigmoid", slope=0.01,
                  learning_rate=0.1, num_epochs=1, validation_metric="accuracy")  # fmt: skip
    for output, metric in (("linear", "accuracy"), ("sigmoid", "r2"), ("poisson", "accuracy")):
        with pytest.raises(ValueError, match=f"validation_metric='{metric}' scores a"):
            make_spec(layer_dims=[3, 1], m=5, activations=[], output=output, slope=0.01,
                      learning_rate=0.1, num_epochs=1, validation_metric=metric,
                      validating=True, stop_on_plateau=True, cost_every=1)  # fmt: skip
    with pytest.raises(ValueError, match=r"cost_gradient: sample weights must be \(5,\)"):
        _engine.cost_gradient(spec([]), X, Y, state_of(Ws, bs), np.ones(4))


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output,n_out", OUTPUT_CASES, ids=OUTPUT_IDS)
@pytest.mark.parametrize(
    "batch,optimizer,lambd",
    [(None, "gd", 0.0), (None, "adam", 0.3), (4, "momentum", 0.0), (5, "gd", 0.2)],
)
def test_dropout_matches_reference(dtype, activation, output, n_out, batch, optimizer, lambd, rng):
    """Inverted dropout on both hidden layers (different keep_probs): the engine's masks, drawn
    in C, and its backward through them equal the reference's numpy draw and formulas, for the
    fused update, L2, every optimizer, full batch and batches that do not divide m."""
    m = 11
    dims = [4, 6, 5, n_out]
    X = draw(rng, (4, m), dtype)
    Y = labels(rng, (n_out, m), dtype, output)
    Ws, bs = net(rng, dims, dtype)
    s = spec([activation] * 2, output, 0.05, 6, slope=0.1, cost_every=1, mini_batch_size=batch,
             optimizer=optimizer, lambd=lambd, keep_probs=(0.7, 0.9), seed=5)  # fmt: skip
    got, want, mine, theirs = run_both(s, X, Y, Ws, bs, optimizer)
    assert_same_run(got, want, mine, theirs, dtype)
    plain = run_both(dataclasses.replace(s, keep_probs=()), X, Y, Ws, bs, optimizer)
    assert not np.allclose(plain[2].theta, mine.theta)  # the masks changed the trajectory


def test_dropout_masks_keep_the_share_asked_and_are_new_each_step_and_column():
    u = reference._dropout_mask(7, 3, 1, 200, 500)
    assert u.shape == (200, 500) and 0 <= u.min() and u.max() < 1
    kept = u < 0.8
    assert abs(kept.mean() - 0.8) < 4 * np.sqrt(0.8 * 0.2 / kept.size)  # binomial, 4σ
    assert abs(kept[:, 0].mean() - 0.8) < 0.15 and abs(kept[0].mean() - 0.8) < 0.1
    for other in ((7, 4, 1), (8, 3, 1), (7, 3, 0)):  # another step, seed or layer
        assert np.mean((reference._dropout_mask(*other, 200, 500) < 0.8) == kept) < 0.75
    np.testing.assert_array_equal(reference._dropout_mask(7, 3, 1, 200, 500), u)


def test_dropout_is_the_same_whatever_the_threads_and_reproducible(rng):
    """The masks depend on (seed, step, layer, unit, column) only: two fits in two threads at
    once give the fit run alone."""
    import threading

    X, Y = draw(rng, (6, 300), np.float64), labels(rng, (1, 300), np.float64)
    Ws, bs = net(rng, [6, 32, 16, 1], np.float64)
    s = spec(["relu", "relu"], mini_batch_size=50, num_epochs=4, cost_every=1,
             keep_probs=(0.5, 0.8), seed=11)  # fmt: skip
    alone = state_of(Ws, bs)
    _engine.train(s, X, Y, alone)
    states = [state_of(Ws, bs) for _ in range(2)]
    threads = [threading.Thread(target=_engine.train, args=(s, X, Y, st)) for st in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for st in states:
        np.testing.assert_array_equal(st.theta, alone.theta)


def test_cost_gradient_with_dropout_uses_the_next_steps_masks(rng):
    X, Y = draw(rng, (4, 9), np.float64), labels(rng, (1, 9), np.float64)
    Ws, bs = net(rng, [4, 5, 1], np.float64)
    s = spec(["tanh"], keep_probs=(0.6,), seed=2, lambd=0.1)
    st = state_of(Ws, bs)
    st.t = 4
    cost, grad = _engine.cost_gradient(s, X, Y, st)
    want_cost, want_grad = reference.cost_gradient(s, X, Y, st)
    assert cost == pytest.approx(want_cost, rel=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-14)
    st.t = 5
    assert _engine.cost_gradient(s, X, Y, st)[0] != cost  # another step, other masks
