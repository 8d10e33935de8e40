"""fastnn.sklearn: scikit-learn's estimator checks, and the estimators' own behaviour."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.base import clone, is_regressor  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastnn  # noqa: E402
import fastnn.sklearn as fsk  # noqa: E402
from fastnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# --- scikit-learn's estimator checks ------------------------------------------------------------

# The defaults, and variants covering the other activations, float32, several hidden layers and
# no hidden layer (logistic regression). Every check passes, the multi-class and multi-label
# ones included: no expected failures to declare.
# (Fixed random_state only to keep the run deterministic; the checks set it themselves too.)
ESTIMATORS = [
    MLPClassifier(random_state=0),
    MLPRegressor(random_state=0),
    MLPClassifier(
        hidden_layer_sizes=(16, 8),
        activation="tanh",
        dtype=np.float32,
        max_iter=300,
        random_state=0,
    ),
    MLPRegressor(
        hidden_layer_sizes=(16, 8),
        activation="tanh",
        dtype=np.float32,
        max_iter=300,
        random_state=0,
    ),
    MLPClassifier(activation="leaky_relu", leaky_slope=0.1, random_state=0),
    MLPClassifier(hidden_layer_sizes=(), init="zeros", max_iter=200),
]


def test_the_checks_include_multiclass_and_multilabel():
    tags = MLPClassifier().__sklearn_tags__().classifier_tags
    assert tags.multi_class and tags.multi_label


@parametrize_with_checks(ESTIMATORS)
@pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)  # as scikit-learn's MLP
def test_sklearn_estimator_checks(estimator, check):
    name = getattr(check, "func", check).__name__
    if name == "check_sample_weight_equivalence_on_dense_data" and estimator.dtype == np.float32:
        pytest.skip(
            "float32: weighted and repeated samples sum in other orders, and the fits agree to "
            "float32 rounding (1e-6), beyond the check's fixed rtol of 1e-7; float64 passes"
        )
    if name == "check_methods_sample_order_invariance" and estimator.dtype == np.float32:
        # BLAS's float32 GEMM sums a column's products in an order that depends on where the
        # column falls in its blocks: permuting the samples moves predictions by 1-2 ulp
        # (2.5e-7 relative), beyond the check's fixed rtol of 1e-7. The same check, float32's
        # tolerance:
        rng = np.random.RandomState(0)
        X = 3 * rng.uniform(size=(20, 3))
        y = X[:, 0] if is_regressor(estimator) else (X[:, 0] > 1.5).astype(int)
        est = clone(estimator).fit(X, y)
        idx = rng.permutation(20)
        for method in ("predict", "predict_proba", "decision_function"):
            if hasattr(est, method):
                got = getattr(est, method)(X[idx])
                np.testing.assert_allclose(got, getattr(est, method)(X)[idx], rtol=2e-6)
        return
    check(estimator)


# --- data ---------------------------------------------------------------------------------------


def _binary(n=200, n_features=2, seed=0, std=1.0):
    X, y = make_blobs(
        n_samples=n,
        centers=[[-2.0] * n_features, [2.0] * n_features],
        n_features=n_features,
        cluster_std=std,
        random_state=seed,
    )
    return X, y


def _linear(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.7
    return X, y


# --- optional dependency --------------------------------------------------------------------------


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_fastnn_does_not_import_sklearn():
    assert _run("import sys, fastnn; print('sklearn' in sys.modules)") == "False"


def test_clear_import_error_without_sklearn():
    out = _run(
        "import sys\n"
        "sys.modules['sklearn'] = None  # as if scikit-learn were not installed\n"
        "try:\n"
        "    import fastnn.sklearn\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    assert out == "fastnn.sklearn needs scikit-learn: pip install 'fastnn[sklearn]'"


# --- classifier -----------------------------------------------------------------------------------


def test_classifier_separable_problem_high_accuracy():
    X, y = _binary()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(200\) reached"):
        clf = MLPClassifier(random_state=0).fit(X, y)
    assert clf.score(X, y) >= 0.99
    X_test, y_test = _binary(seed=1)
    assert clf.score(X_test, y_test) >= 0.97
    assert clf.n_iter_ == clf.max_iter == len(clf.loss_curve_) == 200
    assert clf.t_ == 200 * 200
    assert clf.loss_ == clf.loss_curve_[-1] == clf.best_loss_ < 0.1 * clf.loss_curve_[0]
    assert (clf.n_features_in_, clf.n_layers_, clf.n_outputs_) == (2, 3, 1)
    assert clf.out_activation_ == "logistic"
    assert_array_equal(clf.classes_, [0, 1])


# --- the same numbers as scikit-learn's MLP -------------------------------------------------------


def _sklearn_pair(Est, data, **params):
    """fastnn's and scikit-learn's estimator fitted with the same parameters and data."""
    from sklearn import neural_network

    X, y = data
    theirs = getattr(neural_network, Est.__name__)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
        ours = Est(**params).fit(X, y)
    return ours, theirs


def _assert_same_fit(ours, theirs):
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-7)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    assert (ours.n_outputs_, ours.out_activation_, ours.n_layers_) == (
        theirs.n_outputs_, theirs.out_activation_, theirs.n_layers_,
    )  # fmt: skip


def _digits(n=400):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:n]), y[:n]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"activation": "tanh", "batch_size": 64, "alpha": 0.01},
        {"activation": "logistic", "hidden_layer_sizes": (20, 7), "batch_size": 33},
        {"activation": "identity", "hidden_layer_sizes": (), "learning_rate_init": 0.01},
        {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6, "max_iter": 300, "tol": 1e-3},
        {"shuffle": False, "batch_size": 50},
        {"solver": "sgd"},
        {"solver": "sgd", "nesterovs_momentum": False, "momentum": 0.5, "alpha": 0.01},
        {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.05},
        {
            "solver": "sgd",
            "learning_rate": "adaptive",
            "learning_rate_init": 0.05,
            "tol": 1e-2,
            "max_iter": 100,
        },  # fmt: skip
    ],
    ids=[
        "defaults",
        "tanh-batch64-alpha",
        "logistic-2layers-batch33",
        "logreg",
        "adam-params",
        "no-shuffle",
        "sgd-nesterov",
        "sgd-momentum",
        "sgd-invscaling",
        "sgd-adaptive",
    ],
)
@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel"])
def test_classifier_computes_what_scikit_learns_mlp_computes(params, task):
    """The same random_state and data give scikit-learn's loss curve (1e-7), epoch count
    (its tol stopping rule included), weights (1e-5) and predictions."""
    X, y = _digits()
    if task == "binary":
        y = y % 2
    elif task == "multilabel":
        y = np.stack([y % 2, y > 4, y % 3 == 0], axis=1).astype(int)
    ours, theirs = _sklearn_pair(
        MLPClassifier, (X, y), **{"random_state": 3, "max_iter": 60, **params}
    )
    _assert_same_fit(ours, theirs)
    assert_array_equal(ours.classes_, theirs.classes_)
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-5, atol=1e-8)


def test_the_tol_rule_stops_at_scikit_learns_epoch():
    X, y = _digits(300)
    ours, theirs = _sklearn_pair(MLPClassifier, (X, y), random_state=0, learning_rate_init=0.01)
    assert theirs.n_iter_ < 200  # stopped by the rule, not by max_iter
    _assert_same_fit(ours, theirs)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_regressor_computes_what_scikit_learns_mlp_computes(n_outputs):
    rng = np.random.RandomState(0)
    X = rng.randn(250, 5)
    Y = X @ rng.randn(5, n_outputs) + 0.1 * rng.randn(250, n_outputs)
    y = Y.ravel() if n_outputs == 1 else Y
    ours, theirs = _sklearn_pair(
        MLPRegressor, (X, y), random_state=1, hidden_layer_sizes=(16,), max_iter=80,
        learning_rate_init=0.01, batch_size=32,
    )  # fmt: skip
    _assert_same_fit(ours, theirs)
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-5, atol=1e-8)


def test_random_state_none_and_a_randomstate_draw_as_scikit_learn_does():
    X, y = _digits(200)
    np.random.seed(4)
    ours, theirs = None, None
    from sklearn.neural_network import MLPClassifier as SkMLP

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(max_iter=5, random_state=np.random.RandomState(9)).fit(X, y)
        theirs = SkMLP(max_iter=5, random_state=np.random.RandomState(9)).fit(X, y)
        _assert_same_fit(ours, theirs)
        np.random.seed(4)
        ours = MLPClassifier(max_iter=5).fit(X, y)
        after_ours = np.random.rand()
        np.random.seed(4)
        theirs = SkMLP(max_iter=5).fit(X, y)
        after_theirs = np.random.rand()
    _assert_same_fit(ours, theirs)
    assert after_ours == after_theirs  # the global generator advanced alike


@pytest.mark.parametrize("hidden", [(5, 3), (), 4])
def test_coefs_are_the_model_parameters_transposed(hidden):
    X, y = _binary(n=60, n_features=3)
    clf = MLPClassifier(hidden, activation="tanh", init="xavier", max_iter=50, random_state=7)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    sizes = (hidden,) if isinstance(hidden, int) else hidden
    dims = [3, *sizes, 1]
    # random_state (an int) is the Model's seed with fastnn's inits: the same start, and the
    # same training as Model.fit with scikit-learn's Adam, batches and shuffle stream.
    model = fastnn.Model(dims, "tanh", "sigmoid", init="xavier", seed=7)
    model.fit(X.T, y, learning_rate=0.001, num_epochs=50, mini_batch_size=60, cost_every=1,
              optimizer="sklearn_adam", lambd=1e-4, shuffle_rng=np.random.RandomState(7),
              stop_on_plateau=True)  # fmt: skip
    params = model.parameters
    assert len(clf.coefs_) == len(clf.intercepts_) == len(dims) - 1
    for l in range(1, len(dims)):
        W, b = clf.coefs_[l - 1], clf.intercepts_[l - 1]
        assert W.shape == (dims[l - 1], dims[l])  # scikit-learn's (n_in, n_out)
        assert b.shape == (dims[l],)
        assert_allclose(W, params[f"W{l}"].T, rtol=1e-12, atol=0)
        assert_allclose(b, params[f"b{l}"].ravel(), rtol=1e-12, atol=0)
    assert_allclose(clf.loss_curve_, model.costs_, rtol=1e-12)
    assert_allclose(clf.predict_proba(X)[:, 1], model.predict_proba(X.T).ravel(), rtol=1e-12)
    assert_array_equal(clf.predict(X), model.predict(X.T).ravel())


def test_predictions_read_coefs_as_they_are():
    X, y = _binary(n=40)
    clf = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    z = clf.decision_function(X)
    # Any layout works (here C-ordered copies instead of the fitted F-ordered views).
    clf.coefs_ = [np.ascontiguousarray(W) for W in clf.coefs_]
    assert_allclose(clf.decision_function(X), z, rtol=1e-12)
    # Edits in place take effect, as in scikit-learn's MLP.
    clf.coefs_[-1][:] = 0
    clf.intercepts_[-1][:] = -3.0
    assert_array_equal(clf.decision_function(X), np.full(40, -3.0))
    assert_array_equal(clf.predict(X), np.zeros(40))


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_agrees_with_the_numpy_reference(Est):
    X, y = _binary(n=40)
    with fastnn.crosscheck():  # every kernel call recomputed by fastnn.reference and compared
        est = Est(hidden_layer_sizes=(7, 5), activation="leaky_relu", max_iter=30).fit(X, y)
        est.predict(X)


@pytest.mark.parametrize(
    "labels", [("cat", "dog"), (-1, 1), (False, True), (10, 3)], ids=["str", "pm1", "bool", "int"]
)
def test_any_two_labels(labels):
    X, y01 = _binary()
    y = np.array(labels, dtype=object if isinstance(labels[0], str) else None)[y01]
    clf = MLPClassifier(random_state=0, max_iter=300).fit(X, y)
    assert_array_equal(clf.classes_, np.sort(np.array(labels)))
    pred = clf.predict(X)
    assert set(pred.tolist()) <= set(labels)
    assert np.mean(pred == y) >= 0.99
    # Column 1 of predict_proba, the positive decision_function, is classes_[1].
    proba = clf.predict_proba(X)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    assert_array_equal(
        np.where(clf.decision_function(X) > 0, clf.classes_[1], clf.classes_[0]), pred
    )


def test_string_labels_list_input():
    X, y01 = _binary(n=80)
    y = ["spam" if v else "ham" for v in y01]
    clf = MLPClassifier(random_state=0, max_iter=300).fit(X.tolist(), y)
    assert clf.classes_.tolist() == ["ham", "spam"]
    assert clf.predict(X[:3]).tolist() == y[:3]


def test_probabilities_and_decision_function_agree():
    X, y = _binary(n=100, std=2.0)
    clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0, max_iter=200).fit(X, y)
    z = clf.decision_function(X)
    proba = clf.predict_proba(X)
    assert z.shape == (100,) and proba.shape == (100, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("labels", [[0, 1, 2], ["setosa", "versicolor", "virginica"], [-5, 7, 40]])
def test_multiclass_softmax_with_any_labels(labels):
    X, y = make_blobs(n_samples=150, centers=3, cluster_std=0.8, random_state=0)
    X = StandardScaler().fit_transform(X)
    y_named = np.array(labels)[y]
    clf = MLPClassifier(hidden_layer_sizes=(10,), max_iter=300, random_state=0).fit(X, y_named)
    assert clf.classes_.tolist() == sorted(labels)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    assert clf.score(X, y_named) >= 0.95
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    z = clf.decision_function(X)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    assert_allclose(proba, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10, atol=1e-12)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_multiclass_is_the_softmax_model():
    """More than two classes: fastnn.Model([n_features, *hidden, C], output="softmax") on the
    one-hot Y of the sorted classes."""
    X, y = make_blobs(n_samples=90, centers=4, random_state=1)
    clf = MLPClassifier(hidden_layer_sizes=(7,), init="he", max_iter=50, random_state=3)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, np.array(list("dcba"))[y])
    model = fastnn.Model([2, 7, 4], output="softmax", init="he", seed=3)
    model.fit(X.T, 3 - y, learning_rate=0.001, num_epochs=50, mini_batch_size=90, cost_every=1,
              optimizer="sklearn_adam", lambd=1e-4, shuffle_rng=np.random.RandomState(3),
              stop_on_plateau=True)  # fmt: skip
    assert_allclose(clf.loss_curve_, model.costs_, rtol=1e-12)
    assert_allclose(clf.coefs_[1], model.parameters["W2"].T, rtol=1e-12)


def test_multiclass_with_cross_val_score_and_one_class_missing_in_a_fold():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import cross_val_score

    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(random_state=0, max_iter=200))
    assert cross_val_score(pipe, X, y, cv=5).mean() > 0.9


def test_multilabel_indicator_target_as_scikit_learns_mlp():
    from sklearn.datasets import make_multilabel_classification
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=500, random_state=0).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkMLP(hidden_layer_sizes=(20,), max_iter=20, random_state=0).fit(X, Y)
    P = clf.predict(X)
    assert P.shape == Y.shape and P.dtype == ref.predict(X).dtype
    assert_array_equal(clf.classes_, ref.classes_)
    assert (clf.n_outputs_, clf.out_activation_) == (ref.n_outputs_, ref.out_activation_)
    assert clf.predict_proba(X).shape == ref.predict_proba(X).shape == (120, 4)
    assert_array_equal(P, (clf.predict_proba(X) > 0.5).astype(int))
    assert clf.score(X, Y) > 0.8  # subset accuracy, scikit-learn's for multi-label


def test_model_from_parameters_reproduces_a_scikit_learn_multiclass_network():
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkMLP(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, y)
    params = {}
    for l, (W, b) in enumerate(zip(sk.coefs_, sk.intercepts_, strict=True), start=1):
        params[f"W{l}"], params[f"b{l}"] = W.T, b.reshape(-1, 1)
    model = fastnn.Model.from_parameters(params, output="softmax")
    assert_allclose(model.predict_proba(X.T).T, sk.predict_proba(X), rtol=1e-12)
    assert_array_equal(sk.classes_[model.predict(X.T)[0]], sk.predict(X))


def test_single_class_raises():
    X, _ = _binary(n=20)
    with pytest.raises(ValueError, match="2 classes; got 1 class"):
        MLPClassifier().fit(X, np.ones(20))


# --- regressor ------------------------------------------------------------------------------------


def test_regressor_fits_a_linear_function():
    X, y = _linear()
    reg = MLPRegressor(random_state=0, learning_rate_init=0.01, max_iter=500).fit(X, y)
    assert reg.score(X, y) > 0.99
    X_test, y_test = _linear(seed=1)
    assert reg.score(X_test, y_test) > 0.99
    pred = reg.predict(X_test)
    assert pred.shape == (300,) and pred.dtype == np.float64
    assert reg.out_activation_ == "identity" and reg.n_layers_ == 3 and reg.n_outputs_ == 1
    assert len(reg.loss_curve_) == reg.n_iter_ < 500  # stopped by the tol rule


def test_linear_regression_without_hidden_layer_recovers_coefficients():
    X, y = _linear(n=200)
    reg = MLPRegressor(hidden_layer_sizes=(), alpha=0.0, learning_rate_init=0.05, max_iter=3000,
                       tol=0.0, n_iter_no_change=3000, random_state=0)  # fmt: skip
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    assert_allclose(reg.coefs_[0].ravel(), [1.5, -2.0, 0.5, 3.0], atol=1e-4)
    assert_allclose(reg.intercepts_[0], [0.7], atol=1e-4)


def test_regressor_column_target_warns_and_several_targets_fit_together():
    from sklearn.metrics import r2_score

    X, y = _linear(n=50)
    a = MLPRegressor(max_iter=20, random_state=0).fit(X, y).predict(X)
    with pytest.warns(DataConversionWarning):
        b = MLPRegressor(max_iter=20, random_state=0).fit(X, y[:, None]).predict(X)
    assert_array_equal(a, b)
    Y = np.column_stack([y, -0.5 * y + X[:, 0]])
    reg = MLPRegressor(hidden_layer_sizes=(), learning_rate_init=0.05, max_iter=2000).fit(X, Y)
    P = reg.predict(X)
    assert P.shape == (50, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, P), rel=1e-12)
    assert reg.score(X, Y) > 0.999


def test_regressor_has_no_classifier_methods():
    reg = MLPRegressor(max_iter=5).fit(*_linear(n=20))
    for name in ("predict_proba", "decision_function", "classes_"):
        assert not hasattr(reg, name)


# --- shared behaviour -----------------------------------------------------------------------------


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_reproducible_with_random_state(Est):
    X, y = _binary(n=50)
    kw = {"hidden_layer_sizes": (6,), "max_iter": 30}

    def coefs(rs):
        return np.concatenate([W.ravel() for W in Est(random_state=rs, **kw).fit(X, y).coefs_])

    assert_array_equal(coefs(3), coefs(3))
    assert_array_equal(coefs(np.random.RandomState(5)), coefs(np.random.RandomState(5)))
    assert not np.array_equal(coefs(3), coefs(4))
    # random_state=None draws from numpy's global generator, as scikit-learn estimators do.
    np.random.seed(11)
    a = coefs(None)
    np.random.seed(11)
    assert_array_equal(a, coefs(None))


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_float32(Est):
    X, y = _binary(n=50)
    est = Est(dtype=np.float32, max_iter=50, random_state=0).fit(X, y)
    assert all(W.dtype == np.float32 for W in est.coefs_ + est.intercepts_)
    out = est.predict_proba(X) if Est is MLPClassifier else est.predict(X)
    assert out.dtype == np.float32
    ref = Est(max_iter=50, random_state=0).fit(X, y)
    ref_out = ref.predict_proba(X) if Est is MLPClassifier else ref.predict(X)
    assert_allclose(out, ref_out, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_warm_start_continues_as_scikit_learns(Est):
    """warm_start: the fitted weights go on with a fresh Adam state and a fresh generator from
    random_state; loss_curve_ and t_ accumulate, n_iter_ counts the last fit (scikit-learn's)."""
    from sklearn import neural_network

    X, y = _binary(n=60)
    ours = Est(hidden_layer_sizes=(5,), max_iter=15, random_state=0, warm_start=True)
    sk = getattr(neural_network, Est.__name__)(
        hidden_layer_sizes=(5,), max_iter=15, random_state=0, warm_start=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for max_iter in (15, 25):
            ours.set_params(max_iter=max_iter).fit(X, y)
            sk.set_params(max_iter=max_iter).fit(X, y)
    assert ours.n_iter_ == 25 and len(ours.loss_curve_) == 40
    _assert_same_fit(ours, sk)
    with pytest.raises(ValueError, match="warm_start"):
        ours.set_params(hidden_layer_sizes=(6,)).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        ours.set_params(hidden_layer_sizes=(5,)).fit(X[:, :1], y)
    # warm_start=False starts afresh.
    with pytest.warns(ConvergenceWarning):
        again = ours.set_params(warm_start=False, max_iter=40).fit(X, y)
    assert again.n_iter_ == 40 == len(again.loss_curve_)


def test_warm_start_classes_must_match():
    X, y = _binary(n=40)
    clf = MLPClassifier(max_iter=5, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, y + 1)


def test_verbose_prints_every_iteration(capsys):
    X, y = _binary(n=30)
    clf = MLPClassifier(max_iter=3, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Iteration {i + 1}, loss = {c:.8f}" for i, c in enumerate(clf.loss_curve_)]


def test_keyboard_interrupt_keeps_the_last_completed_iteration(monkeypatch):
    X, y = _binary(n=30)
    calls = []

    def interrupt_at_fifth(*args):
        calls.append(args)
        if len(calls) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(fsk, "print", interrupt_at_fifth, raising=False)
    clf = MLPClassifier(max_iter=100, verbose=True, random_state=0)
    with pytest.warns(UserWarning, match="interrupted") as record:
        clf.fit(X, y)
    assert record[0].filename == __file__  # attributed to the caller of fit
    assert clf.n_iter_ == len(clf.loss_curve_) == len(calls) == 5
    clf.predict(X)  # fitted


def test_divergence_raises_and_leaves_the_estimator_as_it_was():
    X, y = _linear(n=50)
    huge = {"learning_rate_init": 1e300, "max_iter": 100}
    reg = MLPRegressor(**huge)
    with pytest.raises(FloatingPointError, match="learning_rate_init"):
        reg.fit(X * 1e100, y)
    assert vars(reg) == vars(MLPRegressor(**huge))
    with pytest.raises(NotFittedError):
        reg.predict(X)
    # A fitted estimator keeps its fit (n_features_in_ included) when a later fit fails.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.set_params(learning_rate_init=0.01).fit(X, y)
    before = pickle.dumps(reg)
    with pytest.raises(FloatingPointError):
        reg.set_params(learning_rate_init=1e300).fit(X[:, :3] * 1e100, y)
    assert pickle.dumps(reg.set_params(learning_rate_init=0.01)) == before


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"hidden_layer_sizes": (10, 0)}, ValueError, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "big"}, ValueError, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": 2.5}, TypeError, "hidden_layer_sizes"),
        ({"activation": "softmax"}, ValueError, "activation must be one of"),
        ({"activation": "sigmoid"}, ValueError, "'logistic'"),
        ({"learning_rate_init": 0}, ValueError, "learning_rate_init"),
        ({"learning_rate_init": float("nan")}, ValueError, "learning_rate_init"),
        ({"learning_rate_init": "fast"}, TypeError, "learning_rate_init"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_iter": 10.0}, TypeError, "max_iter"),
        ({"init": "glorot"}, ValueError, "init must be one of"),
        ({"solver": "newton"}, ValueError, "solver must be one of"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"max_fun": 0}, ValueError, "max_fun"),
        ({"early_stopping": "yes"}, TypeError, "early_stopping must be True or False"),
        ({"learning_rate": "optimal"}, ValueError, "learning_rate must be one of"),
        ({"momentum": 1.5}, ValueError, "momentum"),
        ({"power_t": -1.0}, ValueError, "power_t"),
        ({"nesterovs_momentum": 1}, TypeError, "nesterovs_momentum must be True or False"),
        ({"init": "zeros"}, ValueError, "init='zeros'"),
        ({"leaky_slope": 1.5}, ValueError, "leaky_slope"),
        ({"dtype": np.int32}, ValueError, "dtype"),
        ({"random_state": -1}, ValueError, "Seed must be between"),
    ],
)
def test_invalid_parameters_raise_in_fit(Est, params, error, match):
    X, y = _binary(n=20)
    est = Est(**params)  # __init__ only stores
    assert est.get_params()[next(iter(params))] is next(iter(params.values()))
    with pytest.raises(error, match=match):
        est.fit(X, y)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_unfitted_raises(Est):
    with pytest.raises(NotFittedError):
        Est().predict(np.zeros((2, 2)))


def test_pipeline_grid_search_clone_and_pickle():
    X, y = _binary(n=80, std=2.0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(4,), max_iter=50))
    grid = GridSearchCV(pipe, {"mlpclassifier__learning_rate_init": [0.03, 0.3]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["mlpclassifier__learning_rate_init"] in (0.03, 0.3)
    best = grid.best_estimator_
    restored = pickle.loads(pickle.dumps(best))
    assert_array_equal(restored.predict_proba(X), best.predict_proba(X))
    fresh = clone(best[-1])
    assert not hasattr(fresh, "coefs_")
    assert fresh.get_params() == best[-1].get_params()


def test_no_warnings_on_a_plain_fit():
    X, y = _binary(n=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # stopped by the tol rule (epochs 2-4 do not improve by tol): no ConvergenceWarning
        clf = MLPClassifier(max_iter=10, tol=10.0, n_iter_no_change=2).fit(X, y)
        clf.predict(X)
        assert clf.n_iter_ == 4
        MLPRegressor(max_iter=10, tol=10.0, n_iter_no_change=2).fit(X, y.astype(float)).predict(X)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_warm_start_after_the_tol_rule_stopped_continues_its_count(Est):
    """scikit-learn keeps best_loss_ and the no-improvement count over warm starts: a second
    fit after a tol stop stops again at once."""
    from sklearn import neural_network

    X, y = _digits(300)
    if Est is MLPRegressor:
        y = X[:, :3] @ np.arange(3.0)
    params = {"random_state": 0, "learning_rate_init": 0.01, "warm_start": True}
    ours, sk = Est(**params), getattr(neural_network, Est.__name__)(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        epochs = []
        for _ in range(2):
            ours.fit(X, y)
            sk.fit(X, y)
            _assert_same_fit(ours, sk)
            epochs.append(ours.n_iter_)
    assert epochs[0] < 200 and epochs[1] == 1  # stopped by the rule, then at once
    assert ours._no_improvement_count == sk._no_improvement_count


# --- partial_fit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd-invscaling", "sgd-adaptive"])
@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel", "regressor"])
def test_partial_fit_sequences_compute_what_scikit_learn_computes(task, solver):
    """Chunks through partial_fit (the first with classes), then a fit, then more chunks: the
    weights, loss curve, counters and Adam state go on as scikit-learn's do."""
    from sklearn import neural_network

    X, y = _digits(360)
    Est = MLPRegressor if task == "regressor" else MLPClassifier
    kw = {}
    if task == "binary":
        y = y % 2
    elif task == "multilabel":
        y = np.stack([y % 2, y > 4], axis=1).astype(int)
    elif task == "regressor":
        y = X[:, :2] @ np.array([1.0, -2.0])
    if task != "regressor":
        kw["classes"] = np.unique(y) if task != "multilabel" else np.arange(2)
    params = {"random_state": 2, "batch_size": 50, "hidden_layer_sizes": (12,), "max_iter": 15}
    if solver != "adam":  # the rate the schedule reached goes on into partial_fit
        params |= {"solver": "sgd", "learning_rate": solver[4:], "learning_rate_init": 0.05}
    ours, sk = Est(**params), getattr(neural_network, Est.__name__)(**params)
    chunks = [slice(0, 120), slice(120, 240), slice(240, 360)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, c in enumerate(chunks):
            extra = kw if i == 0 else {}
            ours.partial_fit(X[c], y[c], **extra)
            sk.partial_fit(X[c], y[c], **extra)
            _assert_same_fit(ours, sk)
        ours.fit(X, y)
        sk.fit(X, y)
        _assert_same_fit(ours, sk)
        for c in chunks[:2]:
            ours.partial_fit(X[c], y[c])
            sk.partial_fit(X[c], y[c])
            _assert_same_fit(ours, sk)
    assert ours.n_iter_ == 1 and len(ours.loss_curve_) == 15 + 2


def test_partial_fit_errors_as_scikit_learns():
    X, y = _digits(100)
    clf = MLPClassifier(max_iter=5)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "coefs_")  # a failed call leaves it as it was
    clf.partial_fit(X[:50], y[:50], classes=np.arange(10))
    before = [W.copy() for W in clf.coefs_]
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=np.arange(5))
    with pytest.raises(ValueError, match=r"y has classes not in classes_ .*: \[11\]"):
        clf.partial_fit(X[:3], np.array([1, 2, 11]))
    for a, b in zip(clf.coefs_, before, strict=True):
        assert_array_equal(a, b)
    clf.partial_fit(X[50:], y[50:])  # classes may be left out after the first call
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2


@pytest.mark.parametrize(
    "change",
    [{"nesterovs_momentum": False}, {"momentum": 0.5}, {"solver": "adam"},
     {"learning_rate": "invscaling"}, {"learning_rate_init": 0.2}],
)  # fmt: skip
def test_partial_fit_keeps_the_optimizer_it_has_after_set_params(change):
    """scikit-learn's partial_fit goes on with the optimizer object it made, whatever
    set_params changed since: its kind, momentum, schedule and rates."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = _digits(200)
    params = {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.05,
              "random_state": 1, "max_iter": 5, "batch_size": 50}  # fmt: skip
    ours, sk = MLPClassifier(**params), SkMLP(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        sk.fit(X, y)
    ours.set_params(**change)
    sk.set_params(**change)
    for _ in range(3):
        ours.partial_fit(X, y)
        sk.partial_fit(X, y)
    _assert_same_fit(ours, sk)


def test_partial_fit_with_warm_start_wants_every_class_as_scikit_learn():
    X, y = _digits(100)
    y3 = y % 3
    clf = MLPClassifier(warm_start=True, max_iter=5)
    with pytest.raises(
        ValueError, match="warm_start can only be used where y has the same classes"
    ):
        clf.partial_fit(X[y3 < 2], y3[y3 < 2], classes=[0, 1, 2])
    clf.partial_fit(X, y3, classes=[0, 1, 2])
    assert clf.n_iter_ == 1


# --- lbfgs, early_stopping and sample_weight, against scikit-learn --------------------------------


def _weights(n, seed=0):
    w = np.random.RandomState(seed).rand(n) * 2
    w[::7] = 0  # weight 0 drops a sample
    return w


def _fit_pair(Est, X, y, sample_weight=None, **params):
    from sklearn import neural_network

    theirs = getattr(neural_network, Est.__name__)(**params)
    ours = Est(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y, sample_weight=sample_weight)
        ours.fit(X, y, sample_weight=sample_weight)
    return ours, theirs


def _assert_same_weights(ours, theirs, rtol=1e-5, atol=1e-8):
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert_allclose(a, b, rtol=rtol, atol=atol)


def _task(task):
    X, y = _digits()
    if task == "binary":
        y = y % 2
    elif task == "multilabel":
        y = np.stack([y % 2, y > 4, y % 3 == 0], axis=1).astype(int)
    return X, y


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize(
    "params", [{}, {"activation": "tanh", "alpha": 0.1, "hidden_layer_sizes": (12, 6)}]
)
def test_lbfgs_computes_what_scikit_learn_computes(params, task, weighted):
    X, y = _task(task)
    w = _weights(len(y)) if weighted else None
    ours, theirs = _fit_pair(
        MLPClassifier, X, y, w, solver="lbfgs", random_state=2, max_iter=40, **params
    )
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_ == 0
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-5)
    _assert_same_weights(ours, theirs)
    assert not hasattr(ours, "loss_curve_") and not hasattr(ours, "partial_fit")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_lbfgs_regressor_computes_what_scikit_learn_computes(n_outputs, weighted):
    rng = np.random.RandomState(0)
    X = rng.randn(250, 5)
    Y = X @ rng.randn(5, n_outputs) + 0.1 * rng.randn(250, n_outputs)
    y = Y.ravel() if n_outputs == 1 else Y
    w = _weights(250) if weighted else None
    ours, theirs = _fit_pair(
        MLPRegressor, X, y, w, solver="lbfgs", random_state=1, hidden_layer_sizes=(16,),
        max_iter=40,  # L-BFGS amplifies rounding (BLAS's sums): after 80 steps, 1e-4 apart
    )  # fmt: skip
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-5)
    _assert_same_weights(ours, theirs, atol=1e-5)


def test_lbfgs_warns_as_scikit_learn_and_max_fun_bounds_the_calls():
    X, y = _digits(200)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 5 iteration"):
        clf = MLPClassifier(solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
    assert clf.n_iter_ == 5
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        few = MLPClassifier(solver="lbfgs", max_fun=3, random_state=0).fit(X, y)
    assert few.n_iter_ < 5


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.05,
         "n_iter_no_change": 3},
        {"validation_fraction": 0.25, "tol": 1e-2, "batch_size": 37},
    ],
    ids=["adam", "sgd-adaptive", "fraction-batch37"],
)  # fmt: skip
def test_early_stopping_computes_what_scikit_learn_computes(params, task, weighted):
    """The same split (stratified for one output), validation scores, stopping epoch and
    best weights as scikit-learn's early_stopping."""
    X, y = _task(task)
    w = _weights(len(y)) if weighted else None
    ours, theirs = _fit_pair(
        MLPClassifier, X, y, w, early_stopping=True, random_state=3, max_iter=60, **params
    )
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
    assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-7)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=1e-7)
    assert ours.best_loss_ is None is theirs.best_loss_
    _assert_same_weights(ours, theirs)
    assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("weighted", [False, True])
def test_regressor_early_stopping_and_weights_compute_what_scikit_learn_computes(weighted):
    rng = np.random.RandomState(0)
    X = rng.randn(250, 5)
    Y = X @ rng.randn(5, 3) + 0.1 * rng.randn(250, 3)
    w = _weights(250) if weighted else None
    for early in (False, True):
        ours, theirs = _fit_pair(
            MLPRegressor, X, Y, w, random_state=1, hidden_layer_sizes=(16,), max_iter=80,
            learning_rate_init=0.01, batch_size=30, early_stopping=early,
        )  # fmt: skip
        assert ours.n_iter_ == theirs.n_iter_
        assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
        if early:
            assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-7)
        _assert_same_weights(ours, theirs)


@pytest.mark.parametrize(
    "params",
    [{}, {"solver": "sgd", "alpha": 0.01, "batch_size": 33}, {"shuffle": False}],
    ids=["adam", "sgd", "no-shuffle"],
)
@pytest.mark.parametrize("task", ["multiclass", "binary"])
def test_sample_weight_computes_what_scikit_learn_computes(params, task):
    X, y = _task(task)
    ours, theirs = _fit_pair(
        MLPClassifier, X, y, _weights(len(y)), random_state=3, max_iter=30, **params
    )
    _assert_same_fit(ours, theirs)


def test_sample_weight_in_partial_fit_and_as_one_number():
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = _digits(300)
    w = _weights(300)
    ours, theirs = MLPClassifier(random_state=0), SkMLP(random_state=0)
    for est in (ours, theirs):
        for part in (slice(0, 150), slice(150, 300)):
            est.partial_fit(X[part], y[part], w[part], classes=np.arange(10))
    _assert_same_fit(ours, theirs)
    a = MLPClassifier(random_state=0, max_iter=5, alpha=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X, y, sample_weight=3.0)
        b = MLPClassifier(random_state=0, max_iter=5, alpha=0.0).fit(X, y)
    # a common weight cancels (without L2, whose term scikit-learn divides by Σ w)
    assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-12)


def test_warm_start_with_early_stopping_goes_on_as_scikit_learn():
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = _digits(300)
    params = {"early_stopping": True, "warm_start": True, "max_iter": 15, "random_state": 0}
    ours, theirs = MLPClassifier(**params), SkMLP(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in (ours, theirs):
            est.fit(X, y)
            est.fit(X, y)
    assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-7)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    _assert_same_weights(ours, theirs)


def test_early_stopping_and_sample_weight_errors():
    X, y = _digits(100)
    clf = MLPClassifier(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        clf.partial_fit(X, y, classes=np.arange(10))
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.01).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight must hold finite weights >= 0"):
        MLPClassifier().fit(X, y, sample_weight=-np.ones(100))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(100,\)"):
        MLPClassifier().fit(X, y, sample_weight=np.ones(99))
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        MLPRegressor(solver="lbfgs").partial_fit(X, y)
    assert not hasattr(clf, "coefs_")  # the failed calls left it unfitted


# --- MLPRegressor(loss="poisson") -----------------------------------------------------------------


def _sklearn_has_poisson():
    import inspect

    from sklearn.neural_network import MLPRegressor as Theirs

    return "loss" in inspect.signature(Theirs).parameters


needs_sklearn_poisson = pytest.mark.skipif(
    not _sklearn_has_poisson(), reason="MLPRegressor(loss='poisson') came in scikit-learn 1.7"
)


def _counts(n=300, n_outputs=1, seed=0):
    """Poisson counts whose log-rate is linear in X (zeros among them)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    rate = np.exp(0.4 * X[:, :1] - 0.3 * X[:, 1:2] + np.arange(n_outputs) * 0.5)
    Y = rng.poisson(rate).astype(float)
    return X, (Y.ravel() if n_outputs == 1 else Y)


@needs_sklearn_poisson
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"solver": "sgd", "learning_rate": "adaptive", "batch_size": 37, "alpha": 0.1},
        {"activation": "tanh", "early_stopping": True},
    ],
    ids=["adam", "sgd-adaptive-batch37-alpha", "tanh-early-stopping"],
)
def test_poisson_regressor_computes_what_scikit_learn_computes(params, n_outputs, weighted):
    """exp outputs and the half Poisson deviance, summed over the targets: scikit-learn's loss
    curve, validation scores, weights and predictions (exp(z))."""
    X, y = _counts(n_outputs=n_outputs)
    w = _weights(len(y)) if weighted else None
    kw = {"loss": "poisson", "random_state": 1, "hidden_layer_sizes": (8,), "max_iter": 40}
    ours, theirs = _fit_pair(MLPRegressor, X, y, w, **kw, **params)
    assert (
        ours.n_iter_ == theirs.n_iter_ and ours.out_activation_ == theirs.out_activation_ == "exp"
    )
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
    if params.get("early_stopping"):
        assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-7)
    _assert_same_weights(ours, theirs)
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-5)
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), rel=1e-6)


@needs_sklearn_poisson
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_poisson_lbfgs_and_partial_fit_compute_what_scikit_learn_computes(n_outputs):
    from sklearn.neural_network import MLPRegressor as Theirs

    X, y = _counts(n_outputs=n_outputs, seed=3)
    ours, theirs = _fit_pair(
        MLPRegressor, X, y, loss="poisson", solver="lbfgs", random_state=0, max_iter=30,
        hidden_layer_sizes=(6,),
    )  # fmt: skip
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-5)
    _assert_same_weights(ours, theirs, atol=1e-6)
    params = {"loss": "poisson", "random_state": 0, "batch_size": 40, "hidden_layer_sizes": (6,)}
    ours, theirs = MLPRegressor(**params), Theirs(**params)
    for c in (slice(0, 100), slice(100, 300), slice(0, 300)):
        ours.partial_fit(X[c], y[c])
        theirs.partial_fit(X[c], y[c])
        _assert_same_fit(ours, theirs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_poisson_is_exp_of_a_linear_output_and_matches_the_numpy_reference():
    """Without scikit-learn's help: predictions are exp of the network's logits, and the fit
    passes cross-check mode (every engine call recomputed by fastnn.reference; a mismatch raises
    CrossCheckError)."""
    X, y = _counts(200)
    est = MLPRegressor("poisson", (5,), random_state=0, max_iter=20, batch_size=50).fit(X, y)
    Z = X @ est.coefs_[0] + est.intercepts_[0]
    Z = np.maximum(Z, 0) @ est.coefs_[1] + est.intercepts_[1]
    assert_allclose(est.predict(X), np.exp(Z.ravel()), rtol=1e-12)
    with fastnn.crosscheck():
        MLPRegressor("poisson", (5,), random_state=0, max_iter=20, batch_size=50).fit(X, y)


def test_poisson_errors_and_the_loss_parameter_comes_first():
    X, y = _counts(50)
    est = MLPRegressor("poisson", max_iter=2)
    assert est.get_params()["loss"] == "poisson" and clone(est).loss == "poisson"
    with pytest.raises(
        ValueError, match=r"loss='poisson' needs targets y >= 0 .*got min\(y\) = -1.0"
    ):
        est.fit(X, np.r_[y[:-1], -1.0])
    assert not hasattr(est, "coefs_")
    with pytest.raises(
        ValueError, match="loss must be one of 'squared_error', 'poisson'; got 'huber'"
    ):
        MLPRegressor(loss="huber").fit(X, y)
    with pytest.raises(
        TypeError, match=r"MLPRegressor.__init__\(\) got an unexpected keyword argument 'los'"
    ):
        MLPRegressor(los="poisson")
    with pytest.raises(
        TypeError, match=r"MLPClassifier.__init__\(\) got an unexpected keyword argument 'loss'"
    ):
        MLPClassifier(loss="poisson")


def test_a_mini_batch_whose_weights_sum_to_zero_raises_clearly():
    """scikit-learn's MLP fails there too (its np.average: "Weights sum to zero"); here a
    ValueError that says which batch, and the estimator stays unfitted."""
    X, y = _linear(60)
    w = np.ones(60)
    w[:10] = 0
    est = MLPRegressor(batch_size=10, shuffle=False, max_iter=3)
    with pytest.raises(ValueError, match="all 10 examples of a mini-batch of epoch 0 weigh 0"):
        est.fit(X, y, sample_weight=w)
    assert not hasattr(est, "coefs_")
