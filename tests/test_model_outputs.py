"""Model with every output layer: softmax multi-class (one-hot or integer labels), multi-label
sigmoid, multi-output linear regression and the ReLU output; with every training feature of the
engine (mini-batches, optimizers, L2, early stopping, partial_fit, the Gram path), persistence,
and the scores scikit-learn defines (accuracy, subset accuracy, uniform-average R²)."""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from fastnn import Model


def blobs(rng, C=3, n_x=4, m=150, spread=0.6):
    """C Gaussian blobs, one class each: X (n_x, m), labels (m,)."""
    centers = rng.standard_normal((n_x, C)) * 3
    y = rng.integers(0, C, m)
    X = centers[:, y] + spread * rng.standard_normal((n_x, m))
    return X, y


def onehot(y, C):
    return np.eye(C)[y].T.copy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_learns_blobs_and_labels_equal_one_hot(dtype, rng):
    X, y = blobs(rng)
    kw = dict(learning_rate=0.01, num_epochs=30, mini_batch_size=16, optimizer="adam", cost_every=1)
    a = Model([4, 8, 3], output="softmax", dtype=dtype, seed=3).fit(X, y, **kw)
    b = Model([4, 8, 3], output="softmax", dtype=dtype, seed=3).fit(X, onehot(y, 3), **kw)
    c = Model([4, 8, 3], output="softmax", dtype=dtype, seed=3).fit(X, y.reshape(1, -1), **kw)
    for other in (b, c):  # the same fit, bit for bit: labels become those one-hot columns
        for key, value in a.parameters.items():
            np.testing.assert_array_equal(value, other.parameters[key])
        assert a.costs_ == other.costs_
    P = a.predict_proba(X)
    assert P.shape == (3, 150) and P.dtype == dtype
    np.testing.assert_allclose(P.sum(axis=0), 1, rtol=1e-6)
    pred = a.predict(X)
    assert pred.shape == (1, 150) and pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred[0], P.argmax(axis=0))
    assert a.score(X, y) == np.mean(pred[0] == y) > 0.95
    assert a.score(X, onehot(y, 3)) == a.score(X, y)
    assert a.costs_[-1] < a.costs_[0]


def _numpy_softmax_gd(X, Y, params, lr, iterations):
    """Full-batch gradient descent on a [n_x, n_h (relu), C (softmax)] net, numpy by hand."""
    W1, b1, W2, b2 = (params[k].copy() for k in ("W1", "b1", "W2", "b2"))
    m, costs = X.shape[1], []
    for _ in range(iterations):
        Z1 = W1 @ X + b1
        A1 = np.maximum(0, Z1)
        Z2 = W2 @ A1 + b2
        E = np.exp(Z2 - Z2.max(axis=0))
        A2 = E / E.sum(axis=0)
        costs.append(-np.sum(Y * np.log(A2)) / m)
        dZ2 = A2 - Y
        dW2, db2 = dZ2 @ A1.T / m, dZ2.sum(1, keepdims=True) / m
        dZ1 = (W2.T @ dZ2) * (Z1 > 0)
        dW1, db1 = dZ1 @ X.T / m, dZ1.sum(1, keepdims=True) / m
        W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, costs


@pytest.mark.parametrize("path", ["direct", "gram"])
def test_softmax_full_batch_matches_numpy_gradient_descent(path, rng):
    n_x = 40 if path == "gram" else 4  # the Gram path: wide inputs, n_x > m
    X, y = blobs(rng, C=4, n_x=n_x, m=30)
    model = Model([n_x, 6, 4], output="softmax", seed=2)
    want, costs = _numpy_softmax_gd(X, onehot(y, 4), model.parameters, 0.05, 200)
    model.fit(X, y, learning_rate=0.05, num_iterations=200, cost_every=1, path=path)
    np.testing.assert_allclose(model.costs_, costs, rtol=1e-10)
    for key, value in want.items():
        np.testing.assert_allclose(model.parameters[key], value, rtol=1e-9, atol=1e-12)


def test_softmax_with_l2_momentum_decay_and_early_stopping(rng):
    X, y = blobs(rng, C=5, m=400, spread=1.5)
    model = Model([4, 16, 5], output="softmax", seed=0)
    model.fit(X[:, :300], y[:300], learning_rate=0.05, num_epochs=200, mini_batch_size=32,
              optimizer="momentum", lambd=0.1, decay="inverse", decay_rate=0.01,
              validation=(X[:, 300:], y[300:]), n_iter_no_change=5)  # fmt: skip
    assert 0 < model.n_iter_ < 200 and model.best_cost_ == min(model.validation_costs_)
    assert model.score(X[:, 300:], y[300:]) > 0.8


def test_softmax_partial_fit_equals_fit(rng):
    X, y = blobs(rng, C=3, m=60)
    kw = dict(learning_rate=0.01, mini_batch_size=10, optimizer="adam", seed=4)
    whole = Model([4, 5, 3], output="softmax", seed=1).fit(X, y, num_epochs=3, **kw)
    parts = Model([4, 5, 3], output="softmax", seed=1)
    for _ in range(3):
        parts.partial_fit(X, y, **kw)
    for key, value in whole.parameters.items():
        np.testing.assert_array_equal(value, parts.parameters[key])


def test_softmax_labels_are_checked(rng):
    X, y = blobs(rng, C=3, m=10)
    model = Model([4, 3], output="softmax")
    with pytest.raises(
        ValueError, match=r"class labels 0..2 for a softmax over 3 classes; found \[3\]"
    ):
        model.fit(X, np.where(y == 0, 3, y), num_iterations=1)
    with pytest.raises(ValueError, match="one-hot columns \\(3, 10\\) or class labels \\(10,\\)"):
        model.fit(X, np.zeros((2, 10)), num_iterations=1)
    with pytest.raises(ValueError, match="column 0 is"):
        model.fit(X, np.ones((3, 10)), num_iterations=1)
    with pytest.raises(TypeError, match="Y must hold real numbers; got dtype <U1"):
        model.fit(X, np.array(list("abcabcabca")), num_iterations=1)
    with pytest.raises(ValueError, match=r"Y_val must hold class labels 0..2"):
        model.fit(X, y, num_iterations=1, validation=(X, y + 5))
    before = model.parameters
    with pytest.raises(ValueError):
        model.fit(X, y - 1, num_iterations=1)
    for key, value in before.items():  # a failed fit leaves the model as it was
        np.testing.assert_array_equal(value, model.parameters[key])


def test_multilabel_sigmoid_and_subset_accuracy(rng):
    X = rng.standard_normal((3, 200))
    Y = np.stack([X[0] > 0, X[1] + X[2] > 0]).astype(float)  # two independent labels
    model = Model([3, 8, 2], output="sigmoid", seed=0)
    model.fit(X, Y, learning_rate=0.05, num_epochs=60, mini_batch_size=20, optimizer="adam")
    P = model.predict(X)
    assert P.shape == (2, 200) and set(np.unique(P)) <= {0.0, 1.0}
    assert model.predict_proba(X).shape == (2, 200)
    assert model.score(X, Y) == np.mean((P == Y).all(axis=0)) > 0.9
    with pytest.raises(ValueError, match=r"Y must have shape \(2, 200\); got \(200,\)"):
        model.fit(X, Y[0], num_iterations=1)


def test_multioutput_regression_scores_the_mean_r2(rng):
    X = rng.standard_normal((3, 300))
    Y = np.stack([X[0] - 2 * X[1], 0.5 * X[2] + 1])
    model = Model([3, 2], output="linear", seed=0).fit(X, Y, learning_rate=0.1, num_iterations=500)
    P = model.predict(X)
    assert P.shape == (2, 300)
    r2 = [1 - np.sum((Y[i] - P[i]) ** 2) / np.sum((Y[i] - Y[i].mean()) ** 2) for i in range(2)]
    assert model.score(X, Y) == pytest.approx(np.mean(r2), rel=1e-12)
    assert model.score(X, Y) > 0.999
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    assert model.score(X, Y) == pytest.approx(sklearn_metrics.r2_score(Y.T, P.T), rel=1e-12)


def test_relu_output_fits_the_house_price_neuron():
    """The seed notes' first network: price = max(0, w·size + b), one ReLU unit; the README's
    example, checked against the parameters that generated the prices."""
    size = np.array([[0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0]])
    price = np.maximum(0, 3.0 * size - 1.0)  # the smallest house is worth nothing
    start = {"W1": np.array([[1.0]]), "b1": np.array([[1.0]])}
    model = Model.from_parameters(start, output="relu")
    model.fit(size, price, learning_rate=0.1, num_iterations=3000, cost_every=1)
    np.testing.assert_allclose(model.parameters["W1"], [[3.0]], rtol=1e-9)
    np.testing.assert_allclose(model.parameters["b1"], [[-1.0]], rtol=1e-9)
    assert model.costs_[-1] < 1e-18 < model.costs_[0]
    np.testing.assert_allclose(model.predict(np.array([[0.9, 3.0]])), [[1.7, 8.0]], rtol=1e-9)
    assert (model.predict(np.array([[0.1, 0.3]])) == 0).all()  # max(0, ·): never negative
    dead = Model.from_parameters(
        {"W1": np.array([[-1.0]]), "b1": np.array([[-1.0]])}, output="relu"
    )
    dead.fit(size, price, learning_rate=0.1, num_iterations=10)  # z < 0 everywhere: no gradient
    np.testing.assert_array_equal(dead.parameters["W1"], [[-1.0]])
    with pytest.raises(ValueError, match="predict_proba needs output='sigmoid' or 'softmax'"):
        model.predict_proba(size)


@pytest.mark.parametrize(
    "output,n_out", [("softmax", 3), ("sigmoid", 2), ("linear", 2), ("relu", 1)]
)
def test_every_output_round_trips_through_save_and_load(output, n_out, rng, tmp_path):
    X = rng.standard_normal((4, 30))
    Y = {"softmax": rng.integers(0, 3, 30), "sigmoid": (rng.random((2, 30)) > 0.5) * 1.0,
         "linear": rng.standard_normal((2, 30)), "relu": np.abs(rng.standard_normal(30))}[output]  # fmt: skip
    model = Model([4, 5, n_out], output=output, seed=1)
    model.fit(X, Y, learning_rate=0.01, num_epochs=3, mini_batch_size=8, optimizer="adam")
    if output == "softmax":
        model.classes_ = np.array(["setosa", "versicolor", "virginica"])
    model.save(tmp_path / "m.npz")
    loaded = fastnn.load(tmp_path / "m.npz")
    assert loaded.output == output
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.forward(X), model.forward(X))
    if output == "softmax":
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
    else:
        assert loaded.classes_ is None


def test_from_parameters_imports_a_multiclass_network(rng):
    params = {"W1": rng.standard_normal((5, 4)), "b1": np.zeros((5, 1)),
              "W2": rng.standard_normal((3, 5)), "b2": rng.standard_normal((3, 1))}  # fmt: skip
    model = Model.from_parameters(params, output="softmax")
    X = rng.standard_normal((4, 7))
    Z2 = params["W2"] @ np.maximum(0, params["W1"] @ X) + params["b2"]
    E = np.exp(Z2 - Z2.max(axis=0))
    np.testing.assert_allclose(model.predict_proba(X), E / E.sum(axis=0), rtol=1e-12)


def test_model_learns_scikit_learns_digits_wine_and_iris():
    """The real multi-class sets through Model: standardized, softmax, mini-batch Adam; held-out
    accuracy as scikit-learn's MLP reaches on them (about 0.95-0.97 on these splits)."""
    datasets = pytest.importorskip("sklearn.datasets")
    for load, dims in ((datasets.load_digits, [64, 64, 10]), (datasets.load_wine, [13, 16, 3]),
                       (datasets.load_iris, [4, 16, 3])):  # fmt: skip
        X, y = load(return_X_y=True)
        order = np.random.RandomState(0).permutation(len(y))
        train, test = order[: len(y) * 4 // 5], order[len(y) * 4 // 5 :]
        model = Model(dims, output="softmax", init="he", seed=0, standardize=True)
        model.fit(X[train].T, y[train], learning_rate=0.01, num_epochs=100, mini_batch_size=32,
                  optimizer="adam")  # fmt: skip
        assert model.score(X[test].T, y[test]) > 0.9, load.__name__


def test_save_refuses_class_names_that_do_not_fit_and_writes_nothing(tmp_path):
    model = Model([2, 1], output="sigmoid")
    model.classes_ = np.array(["a", "b", "c"])
    with pytest.raises(ValueError, match="do not fit a 'sigmoid' output"):
        model.save(tmp_path / "m.npz")
    model.classes_ = np.array(["a", "a"])
    with pytest.raises(ValueError, match="classes must be distinct"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_softmax_and_output_loss_read_read_only_arrays(rng):
    from fastnn import _kernels, functional

    Z = rng.standard_normal((3, 5))
    Z.setflags(write=False)
    A, _ = functional.softmax(Z)
    np.testing.assert_allclose(A.sum(axis=0), 1, rtol=1e-15)
    Y = np.eye(3)[:, [0, 1, 2, 0, 1]].copy()
    Y.setflags(write=False)
    J, A2, dZ = _kernels.output_loss(Z, Y, "softmax")
    np.testing.assert_array_equal(A2, A)
    assert not Z.flags.writeable  # untouched


def test_a_nan_logit_reaches_the_relu_outputs_gradient():
    """A ReLU output passes NaN on (as the hidden ReLU does): a NaN cost, never a silent 0."""
    from fastnn import _kernels, reference

    Z = np.array([[np.nan, 1.0, -1.0]])
    Y = np.array([[1.0, 0.5, 0.0]])
    for impl in (_kernels, reference):
        J, A, dZ = impl.output_loss(Z, Y, "relu")
        assert np.isnan(J) and np.isnan(A[0, 0]) and np.isnan(dZ[0, 0])
        np.testing.assert_array_equal(dZ[0, 1:], [0.5, 0.0])


def test_functional_softmax_needs_two_units():
    from fastnn import functional as F

    with pytest.raises(ValueError, match="needs one output unit per class"):
        F.compute_cost(np.full((1, 3), 0.5), np.ones((1, 3)), output="softmax")
    with pytest.raises(ValueError, match="needs one output unit per class"):
        F.L_model_backward(np.full((1, 3), 0.5), np.ones((1, 3)), [((None, None, None), None)],
                           output="softmax")  # fmt: skip
