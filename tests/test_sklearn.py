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
from sklearn.exceptions import DataConversionWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastnn  # noqa: E402
import fastnn.sklearn as fsk  # noqa: E402
from fastnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# --- scikit-learn's estimator checks ------------------------------------------------------------

# The defaults, and variants covering the other activations, float32, several hidden layers and
# no hidden layer (logistic regression). Every check passes: no expected failures to declare.
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


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    name = getattr(check, "func", check).__name__
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
    clf = MLPClassifier(random_state=0).fit(X, y)
    assert clf.score(X, y) >= 0.99
    X_test, y_test = _binary(seed=1)
    assert clf.score(X_test, y_test) >= 0.97
    assert clf.n_iter_ == clf.max_iter == len(clf.loss_curve_) == 1000
    assert clf.loss_ == clf.loss_curve_[-1] < 0.1 * clf.loss_curve_[0]
    assert (clf.n_features_in_, clf.n_layers_, clf.n_outputs_) == (2, 3, 1)
    assert clf.out_activation_ == "logistic"
    assert_array_equal(clf.classes_, [0, 1])


@pytest.mark.parametrize("hidden", [(5, 3), (), 4])
def test_coefs_are_the_model_parameters_transposed(hidden):
    X, y = _binary(n=60, n_features=3)
    clf = MLPClassifier(hidden, activation="tanh", max_iter=50, random_state=7).fit(X, y)
    sizes = (hidden,) if isinstance(hidden, int) else hidden
    dims = [3, *sizes, 1]
    # random_state (an int) is the Model's seed: the same start, the same training.
    model = fastnn.Model(dims, "tanh", "sigmoid", init="xavier", seed=7)
    model.fit(X.T, y, learning_rate=0.1, num_iterations=50, cost_every=1)
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


def test_multiclass_raises_documented_error():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    with pytest.raises(ValueError, match="softmax output, which fastnn does not have yet"):
        MLPClassifier(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        MLPClassifier(max_iter=5).fit(X, np.array(["a", "b", "c"])[y])
    clf = MLPClassifier(max_iter=5)
    with pytest.raises(ValueError):
        clf.fit(X, y)
    assert not any(k.endswith("_") for k in vars(clf))  # still unfitted


def test_multiclass_through_one_vs_rest():
    X, y = make_blobs(n_samples=150, centers=3, cluster_std=0.8, random_state=0)
    X = StandardScaler().fit_transform(X)
    ovr = OneVsRestClassifier(MLPClassifier(hidden_layer_sizes=(10,), max_iter=300, random_state=0))
    assert ovr.fit(X, y).score(X, y) >= 0.95


def test_single_class_raises():
    X, _ = _binary(n=20)
    with pytest.raises(ValueError, match="2 classes; got 1 class"):
        MLPClassifier().fit(X, np.ones(20))


# --- regressor ------------------------------------------------------------------------------------


def test_regressor_fits_a_linear_function():
    X, y = _linear()
    reg = MLPRegressor(random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.99
    X_test, y_test = _linear(seed=1)
    assert reg.score(X_test, y_test) > 0.99
    pred = reg.predict(X_test)
    assert pred.shape == (300,) and pred.dtype == np.float64
    assert reg.out_activation_ == "identity" and reg.n_layers_ == 3 and reg.n_outputs_ == 1
    assert len(reg.loss_curve_) == reg.n_iter_ == 1000


def test_linear_regression_without_hidden_layer_recovers_coefficients():
    X, y = _linear(n=200)
    reg = MLPRegressor(hidden_layer_sizes=(), learning_rate_init=0.1, max_iter=2000).fit(X, y)
    assert_allclose(reg.coefs_[0].ravel(), [1.5, -2.0, 0.5, 3.0], atol=1e-6)
    assert_allclose(reg.intercepts_[0], [0.7], atol=1e-6)


def test_regressor_column_target_warns_and_multi_output_raises():
    X, y = _linear(n=50)
    a = MLPRegressor(max_iter=20, random_state=0).fit(X, y).predict(X)
    with pytest.warns(DataConversionWarning):
        b = MLPRegressor(max_iter=20, random_state=0).fit(X, y[:, None]).predict(X)
    assert_array_equal(a, b)
    with pytest.raises(ValueError, match="single target"):
        MLPRegressor(max_iter=20).fit(X, np.column_stack([y, y]))


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
def test_warm_start_continues_training(Est):
    X, y = _binary(n=60)
    full = Est(hidden_layer_sizes=(5,), max_iter=40, random_state=0).fit(X, y)
    est = Est(hidden_layer_sizes=(5,), max_iter=15, random_state=0, warm_start=True)
    est.fit(X, y)
    est.set_params(max_iter=25).fit(X, y)
    assert est.n_iter_ == 40 and len(est.loss_curve_) == 40
    assert_allclose(est.loss_curve_, full.loss_curve_, rtol=1e-10)
    for a, b in zip(est.coefs_ + est.intercepts_, full.coefs_ + full.intercepts_, strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="warm_start"):
        est.set_params(hidden_layer_sizes=(6,)).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.set_params(hidden_layer_sizes=(5,)).fit(X[:, :1], y)
    # warm_start=False starts afresh.
    again = est.set_params(warm_start=False, max_iter=40).fit(X, y)
    assert again.n_iter_ == 40


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
    reg = MLPRegressor(learning_rate_init=10.0, max_iter=100)
    with pytest.raises(FloatingPointError, match="learning_rate_init"):
        reg.fit(X * 100, y)
    assert vars(reg) == vars(MLPRegressor(learning_rate_init=10.0, max_iter=100))
    with pytest.raises(NotFittedError):
        reg.predict(X)
    # A fitted estimator keeps its fit (n_features_in_ included) when a later fit fails.
    reg.set_params(learning_rate_init=0.01).fit(X, y)
    before = pickle.dumps(reg)
    with pytest.raises(FloatingPointError):
        reg.set_params(learning_rate_init=10.0).fit(X[:, :3] * 100, y)
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
        MLPClassifier(max_iter=10).fit(X, y).predict(X)
        MLPRegressor(max_iter=10).fit(X, y.astype(float)).predict(X)
