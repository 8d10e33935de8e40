"""scikit-learn estimators over :class:`fastnn.Model`: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's conventions (``X`` of shape (n_samples, n_features), ``y`` of shape
(n_samples,), ``get_params``/``set_params``/``clone``, pipelines, grid search, pickling) and name
their parameters like :class:`sklearn.neural_network.MLPClassifier` where the meaning is the same.

The training is fastnn's: **full-batch gradient descent**, entirely in compiled code, with a
constant learning rate, no L2 penalty, no mini-batches, no momentum/Adam, no early stopping.
Internally ``X.T`` (an F-ordered view, no copy) is handed to :class:`fastnn.Model`.

scikit-learn is optional for fastnn: ``import fastnn`` never imports it; this module needs it
(``pip install 'fastnn[sklearn]'``).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d
except ImportError as err:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("fastnn.sklearn needs scikit-learn: pip install 'fastnn[sklearn]'") from err

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.3 to 1.5

    def validate_data(estimator, /, X="no_validation", y="no_validation", reset=True, **kwargs):
        return estimator._validate_data(X, y, reset=reset, **kwargs)


from scipy.special import expit, log_expit

from fastnn._dispatch import kernels
from fastnn._registry import ACTIVATIONS as _ACTIVATIONS
from fastnn._registry import INITS as _INITS
from fastnn._registry import check_slope
from fastnn._validation import as_matrix, check_dtype
from fastnn.model import Model

__all__ = ["MLPClassifier", "MLPRegressor"]

#: scikit-learn's activation names (plus "leaky_relu") -> fastnn's.
ACTIVATIONS = {a.sklearn_name: a.name for a in _ACTIVATIONS.values()}
#: fastnn's initialisations, plus "auto" (He for relu-like activations, Xavier otherwise).
INITS = ("auto", *_INITS)

MULTICLASS_MESSAGE = (
    "Only binary classification is supported. The type of the target is multiclass "
    "({n} classes: {preview}): multi-class classification needs a softmax output, which fastnn "
    "does not have yet. Train one binary classifier per class, e.g. with "
    "sklearn.multiclass.OneVsRestClassifier(fastnn.sklearn.MLPClassifier())."
)


def _check_number(value, name: str, *, low: float, low_open: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < low or (low_open and value == low):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return value


def _check_int(value, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}; got {value!r}")
    return int(value)


class _BaseMLP(BaseEstimator):
    """Shared parameter checks, training and forward pass; subclasses choose the output layer."""

    # fastnn output layer and scikit-learn's name for it (``out_activation_``).
    _output = ""
    _out_activation = ""

    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        *,
        learning_rate_init,
        max_iter,
        init,
        leaky_slope,
        dtype,
        random_state,
        warm_start,
        verbose,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.init = init
        self.leaky_slope = leaky_slope
        self.dtype = dtype
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # --- parameters ----------------------------------------------------------------------------

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(
                f"hidden_layer_sizes must be an int or a sequence of ints; got {sizes!r}"
            ) from None
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
                raise ValueError(
                    f"hidden_layer_sizes must hold integers >= 1; got {self.hidden_layer_sizes!r}"
                )
        return [int(s) for s in sizes]

    def _fastnn_activation(self) -> str:
        if not isinstance(self.activation, str) or self.activation not in ACTIVATIONS:
            valid = ", ".join(repr(a) for a in ACTIVATIONS)
            raise ValueError(f"activation must be one of {valid}; got {self.activation!r}")
        return ACTIVATIONS[self.activation]

    def _fastnn_init(self, activation: str, hidden: list[int]) -> str:
        if not isinstance(self.init, str) or self.init not in INITS:
            valid = ", ".join(repr(i) for i in INITS)
            raise ValueError(f"init must be one of {valid}; got {self.init!r}")
        if self.init == "zeros" and hidden:
            raise ValueError(
                "init='zeros' only works with hidden_layer_sizes=() (logistic or linear "
                "regression): zero weights give every hidden unit the same gradient"
            )
        if self.init != "auto":
            return self.init
        return "he" if _ACTIVATIONS[activation].rectifier else "xavier"

    def _seed(self) -> int:
        """An int seed for fastnn.Model: ``random_state`` itself when it is an int (so the
        estimator starts from exactly ``Model(..., seed=random_state)``), else one drawn from
        the RandomState (``None``: numpy's global one), as scikit-learn estimators do."""
        rs = self.random_state
        rng = check_random_state(rs)  # validates: None, int in [0, 2**32) or a RandomState
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        return int(rng.randint(np.iinfo(np.int32).max))

    def _check_params(self) -> dict:
        hidden = self._hidden_sizes()
        activation = self._fastnn_activation()
        return {
            "hidden": hidden,
            "activation": activation,
            "init": self._fastnn_init(activation, hidden),
            "lr": _check_number(self.learning_rate_init, "learning_rate_init", low=0.0),
            "max_iter": _check_int(self.max_iter, "max_iter", low=1),
            "slope": check_slope(self.leaky_slope),
            "dtype": check_dtype(self.dtype),
        }

    # --- training ------------------------------------------------------------------------------

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and y (n_samples,); returns self.

        Runs ``max_iter`` iterations of full-batch gradient descent (from the fitted weights
        when ``warm_start``). A fit that raises leaves the estimator as it was.
        """
        with self._unchanged_on_error():
            self._fit(X, y)
        return self

    def _fit(self, X, y):
        raise NotImplementedError

    @contextlib.contextmanager
    def _unchanged_on_error(self):
        """A fit that raises leaves the estimator as it was (validate_data sets n_features_in_
        and feature_names_in_ before training can fail)."""
        state = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _continuing(self) -> bool:
        """Whether this fit continues from the fitted weights (warm_start)."""
        return bool(self.warm_start) and hasattr(self, "coefs_")

    def _train(self, X: np.ndarray, Y: np.ndarray, p: dict) -> None:
        """Fit a fastnn.Model on X (n_samples, n_features) and Y (1, n_samples) of dtype
        ``p["dtype"]``; set the fitted attributes only once training succeeded."""
        dims = [X.shape[1], *p["hidden"], 1]
        continuing = self._continuing()
        if continuing:
            fitted = [self.coefs_[0].shape[0], *(W.shape[1] for W in self.coefs_)]
            if fitted != dims:
                raise ValueError(
                    f"warm_start=True continues from the fitted layers {fitted}, but the data and "
                    f"hidden_layer_sizes give {dims}; set warm_start=False to start afresh"
                )
            model = Model.from_parameters(
                self._course_parameters(),
                hidden_activation=p["activation"],
                output=self._output,
                leaky_slope=p["slope"],
                dtype=p["dtype"],
            )
        else:
            model = Model(
                dims,
                hidden_activation=p["activation"],
                output=self._output,
                init=p["init"],
                dtype=p["dtype"],
                seed=self._seed(),
                leaky_slope=p["slope"],
            )

        callback = None
        if self.verbose:

            def callback(i, cost):
                print(f"Iteration {i + 1}, loss = {cost:.8f}")

        try:
            # X.T is (n_features, n_samples), F-ordered: the kernels read it in place.
            # As scikit-learn's MLP, stop only on a non-finite loss, not on a finite spike.
            model.fit(
                X.T,
                Y,
                p["lr"],
                p["max_iter"],
                print_cost=False,
                cost_every=1,
                callback=callback,
                divergence_factor=math.inf,
            )
        except FloatingPointError as err:
            raise FloatingPointError(
                f"{type(self).__name__}: gradient descent diverged with learning_rate_init="
                f"{self.learning_rate_init!r} ({err}). Use a smaller learning_rate_init or "
                + ("standardize X and y" if self._output == "linear" else "standardize X")
                + "; the estimator was left unchanged."
            ) from None
        except KeyboardInterrupt:
            # As scikit-learn's MLP: keep the parameters of the last completed iteration.
            if model.n_iter_ == 0:
                raise
            warnings.warn("Training interrupted by user.", stacklevel=4)  # the caller of fit

        params = model.parameters
        L = len(dims) - 1
        self.coefs_ = [params[f"W{l}"].T for l in range(1, L + 1)]
        self.intercepts_ = [params[f"b{l}"].ravel() for l in range(1, L + 1)]
        costs = [float(c) for c in model.costs_]
        if continuing:
            self.loss_curve_ = [*self.loss_curve_, *costs]
            self.n_iter_ += model.n_iter_
        else:
            self.loss_curve_ = costs
            self.n_iter_ = model.n_iter_
        self.loss_ = self.loss_curve_[-1]
        self.n_layers_ = L + 1
        self.n_outputs_ = 1
        self.out_activation_ = self._out_activation
        self._hidden_activation = p["activation"]
        self._leaky_slope = p["slope"]

    # --- inference -----------------------------------------------------------------------------

    def _course_parameters(self) -> dict[str, np.ndarray]:
        """coefs_/intercepts_ as a fastnn parameters dict (W1, b1, ...)."""
        params = {}
        for l, (W, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True), start=1):
            params[f"W{l}"] = W.T
            params[f"b{l}"] = np.reshape(b, (-1, 1))
        return params

    def _output_values(self, X) -> np.ndarray:
        """Z[L] = W[L]·A[L-1] + b[L] (before any output activation), shape (n_samples,).

        Reads ``coefs_``/``intercepts_`` as they are now (no copies in the usual layouts),
        through the same compiled forward kernel as :meth:`fastnn.Model.forward`.
        """
        check_is_fitted(self, "coefs_")
        dtype = self.coefs_[0].dtype
        X = validate_data(self, X, reset=False, dtype=dtype)
        # (n_features, n_samples); X.T of a C-ordered X is F-ordered and read in place. as_matrix
        # checks the dimensions before any copy (finiteness was checked by validate_data).
        A = as_matrix(X.T, "X", np.dtype(dtype), check_finite=False)
        Ws = [
            as_matrix(np.asarray(coef).T, f"coefs_[{l}]", np.dtype(dtype), check_finite=False)
            for l, coef in enumerate(self.coefs_)
        ]
        bs = [np.ascontiguousarray(b, dtype=dtype).reshape(-1, 1) for b in self.intercepts_]
        acts = [self._hidden_activation] * (len(Ws) - 1)
        A, _ = kernels.forward(A, Ws, bs, acts, "linear", self._leaky_slope)
        return A.ravel()


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Binary multi-layer perceptron classifier, trained by fastnn's full-batch gradient descent.

    A sigmoid output unit and the cross-entropy loss. Labels can be of any type (numbers,
    strings, ...) but there must be exactly two classes: multi-class classification needs a
    softmax output, which fastnn does not have yet, so ``fit`` raises ``ValueError`` for more
    than two classes (wrap the estimator in :class:`sklearn.multiclass.OneVsRestClassifier`),
    and for a single class.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer. ``()`` gives logistic regression (no hidden layer).
    activation : {"relu", "leaky_relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of every hidden layer, by scikit-learn's names (fastnn's "sigmoid" is
        "logistic", its "linear" is "identity").
    learning_rate_init : float, default=0.1
        The constant step size of gradient descent. Far above scikit-learn's 0.001, which is
        meant for Adam on mini-batches: full-batch gradient descent takes a single step per
        pass over the data. With standardized inputs 0.1 trains well and, the cross-entropy
        gradient being bounded, stays stable from one to three layers of up to 512 units.
    max_iter : int, default=1000
        Number of gradient-descent iterations. Each is one pass over the whole training set
        (so also the number of epochs), and all of them run: there is no ``tol``/early stopping.
    init : {"auto", "he", "xavier", "course", "small", "zeros"}, default="auto"
        Weight initialization, as :class:`fastnn.Model`'s ``init``; biases start at 0. "auto"
        is "he" (randn · √(2/n_in)) for "relu" and "leaky_relu", "xavier" (Glorot normal,
        the variance of scikit-learn's MLP) otherwise. "zeros" only without hidden layers.
    leaky_slope : float in [0, 1), default=0.01
        Slope of "leaky_relu" for negative inputs.
    dtype : numpy.float64 or numpy.float32, default=numpy.float64
        Precision of training and prediction; inputs are converted to it.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization. An int is :class:`fastnn.Model`'s ``seed`` itself (the
        estimator starts from exactly ``Model(..., seed=random_state)``); None (numpy's global
        generator) or a RandomState draws the seed.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues from the fitted weights for
        another ``max_iter`` iterations (``loss_curve_`` grows, ``n_iter_`` accumulates).
    verbose : bool, default=False
        Print the loss at every iteration.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels, sorted; ``classes_[1]`` is the positive class (fastnn's y = 1).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names (e.g. a DataFrame).
    coefs_ : list of ndarray
        ``coefs_[i]`` has shape (units of layer i, units of layer i + 1), scikit-learn's
        orientation: fastnn's ``W{i+1}`` transposed.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` has shape (units of layer i + 1,): fastnn's ``b{i+1}`` flattened.
    loss_curve_ : list of float
        The cross-entropy −(1/m) Σ [y log a + (1 − y) log(1 − a)] at every iteration, before
        that iteration's update (``loss_curve_[0]`` is the loss of the initial weights).
    loss_ : float
        ``loss_curve_[-1]``.
    n_iter_ : int
        Iterations run: ``max_iter`` (summed over warm starts), fewer after Ctrl-C.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        1.
    out_activation_ : str
        "logistic".

    Notes
    -----
    Training is full-batch gradient descent in compiled code (fastnn's kernels over BLAS): each
    iteration computes the exact gradient over all samples and takes one step of size
    ``learning_rate_init``. So there is no ``solver`` (plain gradient descent only), no
    ``alpha`` (the kernels have no L2 penalty), no ``batch_size``, no learning-rate schedule and
    no early stopping. With a constant step, gradient descent is sensitive to the scale of the
    features: standardize ``X`` (``make_pipeline(StandardScaler(), MLPClassifier())``).

    A diverging loss raises ``FloatingPointError``; a fit that raises leaves the estimator as it
    was. Ctrl-C stops training within a fraction of a second with a warning and keeps the
    weights of the last completed iteration, as scikit-learn's MLP does.
    """

    _output = "sigmoid"
    _out_activation = "logistic"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        learning_rate_init=0.1,
        max_iter=1000,
        init="auto",
        leaky_slope=0.01,
        dtype=np.float64,
        random_state=None,
        warm_start=False,
        verbose=False,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            init=init,
            leaky_slope=leaky_slope,
            dtype=dtype,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"binary_only": True}

    def _fit(self, X, y):
        p = self._check_params()
        X, y = validate_data(self, X, y, dtype=p["dtype"], reset=not self._continuing())
        check_classification_targets(y)
        classes, y01 = np.unique(y, return_inverse=True)
        if len(classes) > 2:
            preview = ", ".join(repr(c) for c in classes[:5].tolist())
            preview += ", ..." if len(classes) > 5 else ""
            raise ValueError(MULTICLASS_MESSAGE.format(n=len(classes), preview=preview))
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of 2 classes; got 1 class ({classes[0]!r})"
            )
        if self._continuing():
            if not np.array_equal(self.classes_, classes):
                raise ValueError(
                    "warm_start can only be used where y has the same classes as in the "
                    f"previous call to fit; previous {self.classes_.tolist()}, now "
                    f"{classes.tolist()}"
                )
        Y = y01.astype(p["dtype"]).reshape(1, -1)
        self._train(X, Y, p)
        self.classes_ = classes

    def decision_function(self, X) -> np.ndarray:
        """The output unit's pre-activation z (the log-odds of ``classes_[1]``), (n_samples,)."""
        return self._output_values(X)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, (n_samples, 2), columns in the order of ``classes_``."""
        z = self._output_values(X)
        p = expit(z)
        return np.column_stack([1 - p, p])

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`, computed without overflow, (n_samples, 2)."""
        z = self._output_values(X)
        return np.column_stack([log_expit(-z), log_expit(z)])

    def predict(self, X) -> np.ndarray:
        """Predicted labels (from ``classes_``), (n_samples,): ``classes_[1]`` where z > 0."""
        z = self._output_values(X)
        return self.classes_[(z > 0).astype(np.intp)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, trained by fastnn's full-batch gradient descent.

    A linear output unit and the squared-error loss; ``score`` is R². One target: ``y`` of
    shape (n_samples,) (a single column (n_samples, 1) is accepted with a
    ``DataConversionWarning``); several targets raise ``ValueError`` (wrap the estimator in
    :class:`sklearn.multioutput.MultiOutputRegressor`).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer. ``()`` gives linear regression (no hidden layer).
    activation : {"relu", "leaky_relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of every hidden layer, by scikit-learn's names (fastnn's "sigmoid" is
        "logistic", its "linear" is "identity").
    learning_rate_init : float, default=0.01
        The constant step size of gradient descent. Above scikit-learn's 0.001, which is
        meant for Adam on mini-batches: full-batch gradient descent takes a single step per
        pass over the data. Below MLPClassifier's 0.1 because the squared-error gradient grows
        with the targets and with the width of the last hidden layer (0.1 can diverge with 100
        ReLU units and unscaled targets). With standardized targets (e.g.
        ``TransformedTargetRegressor(..., transformer=StandardScaler())``) a larger rate
        usually trains faster.
    max_iter : int, default=1000
        Number of gradient-descent iterations. Each is one pass over the whole training set
        (so also the number of epochs), and all of them run: there is no ``tol``/early stopping.
    init : {"auto", "he", "xavier", "course", "small", "zeros"}, default="auto"
        Weight initialization, as :class:`fastnn.Model`'s ``init``; biases start at 0. "auto"
        is "he" (randn · √(2/n_in)) for "relu" and "leaky_relu", "xavier" (Glorot normal,
        the variance of scikit-learn's MLP) otherwise. "zeros" only without hidden layers.
    leaky_slope : float in [0, 1), default=0.01
        Slope of "leaky_relu" for negative inputs.
    dtype : numpy.float64 or numpy.float32, default=numpy.float64
        Precision of training and prediction; inputs are converted to it.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization. An int is :class:`fastnn.Model`'s ``seed`` itself (the
        estimator starts from exactly ``Model(..., seed=random_state)``); None (numpy's global
        generator) or a RandomState draws the seed.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues from the fitted weights for
        another ``max_iter`` iterations (``loss_curve_`` grows, ``n_iter_`` accumulates).
    verbose : bool, default=False
        Print the loss at every iteration.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names (e.g. a DataFrame).
    coefs_ : list of ndarray
        ``coefs_[i]`` has shape (units of layer i, units of layer i + 1), scikit-learn's
        orientation: fastnn's ``W{i+1}`` transposed.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` has shape (units of layer i + 1,): fastnn's ``b{i+1}`` flattened.
    loss_curve_ : list of float
        The half mean squared error (1/2m) Σ (a − y)² at every iteration, before that
        iteration's update (``loss_curve_[0]`` is the loss of the initial weights).
    loss_ : float
        ``loss_curve_[-1]``.
    n_iter_ : int
        Iterations run: ``max_iter`` (summed over warm starts), fewer after Ctrl-C.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        1.
    out_activation_ : str
        "identity".

    Notes
    -----
    Training is full-batch gradient descent in compiled code (fastnn's kernels over BLAS): each
    iteration computes the exact gradient over all samples and takes one step of size
    ``learning_rate_init``. So there is no ``solver`` (plain gradient descent only), no
    ``alpha`` (the kernels have no L2 penalty), no ``batch_size``, no learning-rate schedule and
    no early stopping. With a constant step, gradient descent is sensitive to the scale of the
    features: standardize ``X`` (``make_pipeline(StandardScaler(), MLPRegressor())``).

    A diverging loss raises ``FloatingPointError``; a fit that raises leaves the estimator as it
    was. Ctrl-C stops training within a fraction of a second with a warning and keeps the
    weights of the last completed iteration, as scikit-learn's MLP does.
    """

    _output = "linear"
    _out_activation = "identity"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        learning_rate_init=0.01,
        max_iter=1000,
        init="auto",
        leaky_slope=0.01,
        dtype=np.float64,
        random_state=None,
        warm_start=False,
        verbose=False,
    ):
        super().__init__(
            hidden_layer_sizes,
            activation,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            init=init,
            leaky_slope=leaky_slope,
            dtype=dtype,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
        )

    def _fit(self, X, y):
        p = self._check_params()
        X, y = validate_data(
            self,
            X,
            y,
            dtype=p["dtype"],
            y_numeric=True,
            multi_output=True,
            reset=not self._continuing(),
        )
        if y.ndim == 2 and y.shape[1] > 1:
            raise ValueError(
                f"{type(self).__name__} supports a single target: y must have shape "
                f"(n_samples,); got {y.shape}. Fit one regressor per target, e.g. with "
                "sklearn.multioutput.MultiOutputRegressor."
            )
        y = column_or_1d(y, warn=True)  # (n_samples, 1): DataConversionWarning, then ravel
        Y = np.asarray(y, dtype=p["dtype"]).reshape(1, -1)
        self._train(X, Y, p)

    def predict(self, X) -> np.ndarray:
        """Predicted values, (n_samples,)."""
        return self._output_values(X)
