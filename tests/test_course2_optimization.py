"""fastnn.course2.optimization: the exercises on the course's test-case inputs (their seeds and
shapes) against this file's own transcription of the course's formulas, and the notebook's
model (compiled) against a numpy transcription of the notebook's loop: the same printed lines
and the same predictions."""

import contextlib
import io

import course2
import numpy as np
import pytest

from fastnn.course2 import optimization as opt

pytestmark = pytest.mark.usefixtures("agg_plots")


def _params(seed, shapes=((2, 3), (3, 3))):
    """The course's small test cases: W1, b1, W2, b2 then dW1, db1, dW2, db2 from one seed."""
    np.random.seed(seed)
    p, g = {}, {}
    for l, (n, k) in enumerate(shapes, start=1):
        p[f"W{l}"], p[f"b{l}"] = np.random.randn(n, k), np.random.randn(n, 1)
    for l, (n, k) in enumerate(shapes, start=1):
        g[f"dW{l}"], g[f"db{l}"] = np.random.randn(n, k), np.random.randn(n, 1)
    return p, g


def _copy(d):
    return {k: v.copy() for k, v in d.items()}


def test_gradient_descent_update():
    p, g = _params(2)
    want = {k: v - 0.01 * g["d" + k] for k, v in p.items()}
    got = opt.update_parameters_with_gd(_copy(p), g, 0.01)
    for k in p:
        np.testing.assert_array_equal(got[k], want[k])


@pytest.mark.parametrize("m,size", [(148, 64), (128, 64), (5, 1), (7, 10)])
def test_random_mini_batches(m, size):
    np.random.seed(1)
    X, Y = np.random.randn(12, m), (np.random.randn(1, m) < 0.5).astype(float)
    batches = opt.random_mini_batches(X, Y, size, seed=0)
    order = np.random.RandomState(0).permutation(m)
    assert [b[0].shape[1] for b in batches] == [min(size, m - k) for k in range(0, m, size)]
    np.testing.assert_array_equal(np.hstack([b[0] for b in batches]), X[:, order])
    np.testing.assert_array_equal(np.hstack([b[1] for b in batches]), Y[:, order])
    after = np.random.RandomState(0)  # numpy's global generator was seeded with 0, as the course's
    after.permutation(m)
    assert np.random.rand() == after.rand()


def test_momentum_and_adam_updates():
    p, g = _params(1)
    v = opt.initialize_velocity(p)
    assert list(v) == ["dW1", "db1", "dW2", "db2"] and all(not a.any() for a in v.values())
    v["dW1"] += 0.5  # a velocity that is not zero
    want_v = {k: 0.9 * v[k] + (1 - 0.9) * g[k] for k in v}
    want_p = {k: p[k] - 0.01 * want_v["d" + k] for k in p}
    got_p, got_v = opt.update_parameters_with_momentum(_copy(p), g, _copy(v), 0.9, 0.01)
    for k in p:
        np.testing.assert_array_equal(got_p[k], want_p[k])
        np.testing.assert_array_equal(got_v["d" + k], want_v["d" + k])
    v, s = opt.initialize_adam(p)
    assert list(s) == list(v) == ["dW1", "db1", "dW2", "db2"]
    t, lr, b1, b2, eps = 2, 0.02, 0.8, 0.888, 1e-2
    v, s = {k: a + 0.3 for k, a in v.items()}, {k: a + 0.2 for k, a in s.items()}
    got = opt.update_parameters_with_adam(_copy(p), g, _copy(v), _copy(s), t, lr, b1, b2, eps)
    for k in p:
        vk = b1 * v["d" + k] + (1 - b1) * g["d" + k]
        sk = b2 * s["d" + k] + (1 - b2) * g["d" + k] ** 2
        vc, sc = vk / (1 - b1**t), sk / (1 - b2**t)
        np.testing.assert_array_equal(got[0][k], p[k] - lr * vc / (np.sqrt(sc) + eps))
        for i, want in ((1, vk), (2, sk), (3, vc), (4, sc)):
            np.testing.assert_array_equal(got[i]["d" + k], want)


def test_learning_rate_decays():
    assert opt.update_lr(0.5, 2, 1) == 0.5 / 3
    assert opt.schedule_lr_decay(0.5, 100, 1) == 0.5
    assert opt.schedule_lr_decay(0.5, 1000, 1) == 0.25
    assert opt.schedule_lr_decay(0.5, 2999, 2, time_interval=1000) == 0.5 / 5


@pytest.fixture(scope="module")
def moons():
    pytest.importorskip(
        "sklearn", reason="the notebook's moons come from scikit-learn's make_moons"
    )
    return opt.load_dataset()


@pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive")
@pytest.mark.parametrize(
    "optimizer,lr,decay",
    [("gd", 0.0007, None), ("momentum", 0.0007, None), ("adam", 0.0007, None),
     ("gd", 0.1, "schedule"), ("momentum", 0.1, "schedule"), ("adam", 0.01, "schedule")],
)  # fmt: skip
def test_the_notebooks_model_prints_the_transcriptions_numbers(
    moons, optimizer, lr, decay, agg_plots
):
    X, Y = moons
    assert X.shape == (2, 300) and Y.shape == (1, 300)
    dims = [2, 5, 2, 1]
    theirs, ours = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(theirs):
        decay_fn = course2.schedule_lr_decay if decay else None
        want, _, _ = course2.model(X, Y, dims, optimizer, lr, print_cost=True, decay=decay_fn)
        want_p = (opt.forward_propagation(X, want)[0] > 0.5).astype(int)
        print("Accuracy: " + str(np.mean(want_p[0, :] == Y[0, :])))
    kw = {"decay": opt.schedule_lr_decay} if decay else {}
    with contextlib.redirect_stdout(ours):
        got = opt.model(X, Y, dims, optimizer, learning_rate=lr, **kw)
        got_p = opt.predict(X, Y, got)
    assert ours.getvalue() == theirs.getvalue()  # epoch costs (every 1000), rates, accuracy
    plt = agg_plots
    if plt is not None:  # the cost every 100 epochs, plotted as the notebook does
        (line,) = plt.gca().get_lines()
        assert len(line.get_ydata()) == 50 and plt.gca().get_xlabel() == "epochs (per 100)"
    np.testing.assert_array_equal(got_p, want_p)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-9, err_msg=key)


def test_model_refuses_an_unknown_optimizer(moons):
    with pytest.raises(
        ValueError, match="optimizer must be 'gd', 'momentum' or 'adam'; got 'rmsprop'"
    ):
        opt.model(*moons, [2, 5, 2, 1], "rmsprop")


def test_opt_utils_helpers():
    np.random.seed(1)
    X, Y = np.random.randn(2, 7), (np.random.rand(1, 7) > 0.5).astype(float)
    p = opt.initialize_parameters([2, 5, 2, 1])
    np.random.seed(3)
    np.testing.assert_array_equal(p["W1"], np.random.randn(5, 2) * np.sqrt(2 / 2))
    np.testing.assert_array_equal(p["W2"], np.random.randn(2, 5) * np.sqrt(2 / 5))
    a3, cache = opt.forward_propagation(X, p)
    assert len(cache) == 12 and a3.shape == (1, 7)
    assert opt.compute_cost(a3, Y) == pytest.approx(
        float(np.sum(-Y * np.log(a3) - (1 - Y) * np.log(1 - a3))), rel=1e-15
    )
    grads = opt.backward_propagation(X, Y, cache)
    assert list(grads) == "dz3 dW3 db3 da2 dz2 dW2 db2 da1 dz1 dW1 db1".split()
    eps, key, index = 1e-6, "W1", (1, 0)
    plus, minus = _copy(p), _copy(p)
    plus[key][index] += eps
    minus[key][index] -= eps
    J = lambda q: opt.compute_cost(opt.forward_propagation(X, q)[0], Y) / 7  # noqa: E731
    assert grads["dW1"][index] == pytest.approx((J(plus) - J(minus)) / (2 * eps), rel=1e-6)
    np.testing.assert_array_equal(opt.predict_dec(p, X), a3 > 0.5)
