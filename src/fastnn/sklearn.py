"""scikit-learn estimators over :class:`fastnn.Model`: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's conventions (``X`` of shape (n_samples, n_features), ``y`` of shape
(n_samples,) or (n_samples, n_outputs), ``get_params``/``set_params``/``clone``, pipelines, grid
search, pickling) and name their parameters like :class:`sklearn.neural_network.MLPClassifier`
where the meaning is the same. As there, the classifier takes any number of classes (a softmax
output for more than two) and multi-label indicator targets (one sigmoid per label), and the
regressor any number of targets.

The training is scikit-learn's algorithm for ``solver="adam"`` and ``"sgd"`` (its
initialisation, shuffles, batches, L2 penalty, optimizers, schedules and tol stopping rule), run
entirely in fastnn's compiled engine;
internally ``X.T`` (an F-ordered view, no copy) is handed to :class:`fastnn.Model`.

scikit-learn is optional for fastnn: ``import fastnn`` never imports it; this module needs it
(``pip install 'fastnn[sklearn]'``).
"""

from __future__ import annotations

import contextlib
import inspect
import math
import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted, column_or_1d
except ImportError as err:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("fastnn.sklearn needs scikit-learn: pip install 'fastnn[sklearn]'") from err

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.3 to 1.5

    def validate_data(estimator, /, X="no_validation", y="no_validation", reset=True, **kwargs):
        return estimator._validate_data(X, y, reset=reset, **kwargs)


import scipy.optimize
from scipy.special import expit, log_expit, log_softmax, softmax

from fastnn._dispatch import kernels
from fastnn._registry import ACTIVATIONS as _ACTIVATIONS
from fastnn._registry import INITS as _INITS
from fastnn._registry import OUTPUTS, check_slope
from fastnn._spec import theta_layout
from fastnn._training import check_split_weights as _check_split_weights
from fastnn._training import make_spec
from fastnn._validation import as_matrix, as_sample_weight, check_dtype, check_layer_dims
from fastnn.model import Model

__all__ = ["MLPClassifier", "MLPRegressor"]

#: scikit-learn's activation names (plus "leaky_relu") -> fastnn's.
ACTIVATIONS = {a.sklearn_name: a.name for a in _ACTIVATIONS.values()}
#: fastnn's initialisations, plus "auto" (scikit-learn's Glorot uniform, biases included).
INITS = ("auto", *_INITS)
#: the solvers fastnn has of scikit-learn's MLP
SOLVERS = ("adam", "sgd", "lbfgs")
# MLPRegressor's loss -> fastnn's output layer
LOSSES = {"squared_error": "linear", "poisson": "poisson"}
#: scikit-learn's learning-rate schedules (the "sgd" solver's)
SCHEDULES = ("constant", "invscaling", "adaptive")


def _check_number(
    value, name: str, *, low: float, low_open: bool = True, high: float = math.inf
) -> float:
    """A finite number above ``low`` (or at it, unless ``low_open``) and below ``high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < low or (low_open and value == low) or value >= high:
        bound = f"> {low}" if low_open else f">= {low}"
        bound += f" and < {high}" if high < math.inf else ""
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}")
    return value


def _sklearn_packing(layer_dims) -> np.ndarray:
    """The index in θ of each entry of scikit-learn's packed parameter vector (every
    coefs_[i] (fan_in, fan_out) flattened in C order, then every intercepts_[i]): θ holds
    W_l = coefs_[l-1].T, (fan_out, fan_in) in C order, then the biases in the same order."""
    W_at, b_at = theta_layout(layer_dims)
    parts = []
    for l, (start, _) in enumerate(W_at):
        fan_in, fan_out = layer_dims[l], layer_dims[l + 1]
        parts.append(start + (np.arange(fan_out)[None, :] * fan_in + np.arange(fan_in)[:, None]))
    parts += [np.arange(a, z) for a, z in b_at]
    return np.concatenate([q.ravel() for q in parts])


def _check_int(value, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}; got {value!r}")
    return int(value)


# The parameters and notes both estimators' docstrings share (inserted at the end of the module).
_PARAMETERS_DOC = """hidden_layer_sizes : int or tuple of int, default=(100,)
        Units of each hidden layer. ``()``: no hidden layer (logistic or linear regression).
    activation : {"relu", "leaky_relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of every hidden layer, by scikit-learn's names (fastnn's "sigmoid" is
        "logistic", its "linear" is "identity"; "leaky_relu" is fastnn's).
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Mini-batch Adam, stochastic gradient descent with momentum (scikit-learn's
        SGDOptimizer), or full-batch L-BFGS (scipy's L-BFGS-B, for up to ``max_iter``
        iterations and ``max_fun`` loss evaluations, stopping where the largest gradient entry
        is below ``tol``).
    alpha : float, default=0.0001
        L2 penalty: each batch's loss gets (α/2n)·Σ‖W‖² (n the batch's size) and its weight
        gradients (α/n)·W; biases are not penalised.
    batch_size : int or "auto", default="auto"
        Samples per mini-batch; "auto" is min(200, n_samples); larger than n_samples is clipped
        with a warning.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The "sgd" solver's schedule: "invscaling" steps with α/(t + 1)^power_t after each epoch,
        t the samples seen; "adaptive" divides α by 5 where the ``tol`` rule would stop, and
        stops once α ≤ 1e-6. Adam ignores it.
    learning_rate_init : float, default=0.001
        The initial step size α.
    power_t : float, default=0.5
        The exponent of "invscaling".
    max_iter : int, default=200
        Maximum number of epochs (passes over the training set).
    shuffle : bool, default=True
        Reshuffle the samples every epoch (from ``random_state``, as scikit-learn); False takes
        the batches in the samples' order.
    random_state : int, RandomState instance or None, default=None
        As scikit-learn's: every fit takes ``check_random_state(random_state)`` (an int: a
        fresh ``RandomState(random_state)``; None: numpy's global generator), which draws the
        initial weights and then shuffles every epoch. With fastnn's own ``init`` choices, an
        int is also :class:`fastnn.Model`'s ``seed``.
    tol : float, default=1e-4
        Training stops when the epoch's loss has not fallen below the best so far minus ``tol``
        for more than ``n_iter_no_change`` epochs in a row (scikit-learn's rule without early
        stopping); if ``max_iter`` comes first, a ``ConvergenceWarning`` says so.
    verbose : bool, default=False
        Print the loss after every epoch.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues from the fitted weights (with a
        fresh optimizer state, as scikit-learn's) for up to ``max_iter`` more epochs (``loss_curve_``
        grows, ``t_`` accumulates, the tol rule's best loss and count go on; ``n_iter_`` counts
        the last fit's epochs, as in scikit-learn).
    momentum : float in [0, 1), default=0.9
        The "sgd" solver's momentum μ: v ← μ·v − α·g.
    nesterovs_momentum : bool, default=True
        With "sgd", step by μ·v − α·g (Nesterov's) instead of v.
    early_stopping : bool, default=False
        With "adam" and "sgd": hold out ``validation_fraction`` of the training data
        (scikit-learn's train_test_split from ``random_state``, stratified for a single-output
        classifier), score it after every epoch (accuracy, or R² for the regressor) into
        ``validation_scores_``, apply the ``tol`` rule to that score instead of the loss, and
        end with the weights of the best score (``best_validation_score_``).
    validation_fraction : float in [0, 1), default=0.1
        The share held out by ``early_stopping``.
    beta_1, beta_2 : float in [0, 1), default=0.9, 0.999
        Adam's decay rates of the first and second moments.
    epsilon : float, default=1e-8
        Adam's ε.
    n_iter_no_change : int, default=10
        See ``tol``.
    max_fun : int, default=15000
        "lbfgs" only: the most loss and gradient evaluations.
    init : {"auto", "he", "xavier", "course", "small", "zeros"}, default="auto"
        fastnn's own: "auto" is scikit-learn's initialization (Glorot uniform weights and
        biases, ±√(6/(fan_in + fan_out)), factor 2 instead of 6 for "logistic", drawn from
        ``random_state`` in scikit-learn's order); the others are :class:`fastnn.Model`'s
        ``init`` with biases at 0 ("zeros" only without hidden layers).
    leaky_slope : float in [0, 1), default=0.01
        fastnn's own: the slope of "leaky_relu" for negative inputs.
    dtype : numpy.float64 or numpy.float32, default=numpy.float64
        fastnn's own: the precision of training and prediction; inputs are converted to it.

"""

_NOTES_DOC = """Notes
    -----
    Training runs entirely in compiled code (fastnn's engine over BLAS), one epoch after
    another with no Python per batch. It computes what scikit-learn's MLP computes: the same
    initial weights from ``random_state``, the same shuffles (one stream from the same
    generator), batches, L2 penalty, Adam and SGD in scikit-learn's form, learning-rate
    schedules, loss curve and stopping rule, so the loss curve and weights agree with
    scikit-learn's to rounding (tests/test_sklearn.py compares them), and so do
    ``early_stopping``, ``sample_weight`` and the "lbfgs" solver (scipy's L-BFGS-B, with the
    loss and gradient from the engine). Standardize ``X``
    (``make_pipeline(StandardScaler(), ...)``), as scikit-learn advises for its MLP.

    A non-finite loss raises ``FloatingPointError``; a fit that raises leaves the estimator as
    it was. Ctrl-C stops training within a fraction of a second with a warning and keeps the
    weights of the last completed epoch, as scikit-learn's MLP does.
"""


_WEIGHTS_DOC = """n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names (e.g. a DataFrame).
    coefs_ : list of ndarray
        ``coefs_[i]`` has shape (units of layer i, units of layer i + 1), scikit-learn's
        orientation: fastnn's ``W{i+1}`` transposed.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` has shape (units of layer i + 1,): fastnn's ``b{i+1}`` flattened.
"""
_TRAINING_DOC = """loss_ : float
        ``loss_curve_[-1]``; with "lbfgs", the loss at the solution (there is no loss curve).
    best_loss_ : float or None
        The lowest ``loss_curve_`` entry the ``tol`` rule saw; None with ``early_stopping``.
    validation_scores_ : list of float or None
        With ``early_stopping``, the score of every epoch on the held-out data; else None.
    best_validation_score_ : float or None
        The best of them, whose weights the estimator holds; None without early stopping.
    t_ : int
        Training samples seen by the stochastic solvers (0 for a first "lbfgs" fit).
    n_iter_ : int
        Epochs of the last fit (a warm start's own, as in scikit-learn).
    n_layers_ : int
        Number of layers, input and output included.
"""


def _signature_with_first(init, name: str, default) -> inspect.Signature:
    """``init``'s signature with a parameter ``name=default`` inserted after ``self``."""
    sig = inspect.signature(init)
    self_, *rest = sig.parameters.values()
    first = inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
    return sig.replace(parameters=[self_, first, *rest])


def _keywords(est, params: dict) -> dict:
    """``params`` once every name is one of the estimators' keyword parameters; otherwise the
    TypeError Python raises, naming the public class (not the private base)."""
    known = inspect.signature(_BaseMLP.__init__).parameters
    for name in params:
        if name not in known or known[name].kind != inspect.Parameter.KEYWORD_ONLY:
            raise TypeError(
                f"{type(est).__name__}.__init__() got an unexpected keyword argument {name!r}"
            )
    return params


class _BaseMLP(BaseEstimator):
    """Shared parameter checks, training and forward pass; each fit chooses the output layer
    (``_fit`` passes it to ``_train``)."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        init="auto",
        leaky_slope=0.01,
        dtype=np.float64,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.leaky_slope = leaky_slope
        self.dtype = dtype

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
        return self.init

    def _seed(self, rng: np.random.RandomState) -> int:
        """An int seed for fastnn.Model's own inits: ``random_state`` itself when it is an int
        (the estimator then starts from exactly ``Model(..., seed=random_state)``), else one
        drawn from ``rng``."""
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        return int(rng.randint(np.iinfo(np.int32).max))

    def _glorot_parameters(self, dims: list[int], rng: np.random.RandomState) -> dict:
        """scikit-learn's MLP initialisation, in its order: layer by layer, weights
        (fan_in, fan_out) then biases, uniform in ±√(factor / (fan_in + fan_out)) with
        factor 2 for a logistic hidden activation and 6 otherwise, drawn from ``rng``."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        params = {}
        for l in range(1, len(dims)):
            fan_in, fan_out = dims[l - 1], dims[l]
            bound = np.sqrt(factor / (fan_in + fan_out))
            params[f"W{l}"] = rng.uniform(-bound, bound, (fan_in, fan_out)).T
            params[f"b{l}"] = rng.uniform(-bound, bound, fan_out).reshape(-1, 1)
        return params

    def _batch_size(self, n_samples: int) -> int:
        """``batch_size``: "auto" is min(200, n_samples); a larger one is clipped to
        n_samples with a warning, as scikit-learn does."""
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            return min(200, n_samples)
        size = _check_int(self.batch_size, "batch_size", low=1)
        if size > n_samples:
            warnings.warn(
                f"Got `batch_size` larger than sample size. It is going to be clipped to "
                f"{n_samples}.",
                stacklevel=5,
            )
        return min(size, n_samples)

    def _check_params(self) -> dict:
        if self.solver not in SOLVERS:
            raise ValueError(
                f"solver must be one of {', '.join(repr(s) for s in SOLVERS)}; got {self.solver!r}"
            )
        for flag in ("shuffle", "nesterovs_momentum", "early_stopping"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise TypeError(f"{flag} must be True or False; got {getattr(self, flag)!r}")
        if self.learning_rate not in SCHEDULES:
            valid = ", ".join(repr(x) for x in SCHEDULES)
            raise ValueError(f"learning_rate must be one of {valid}; got {self.learning_rate!r}")
        hidden = self._hidden_sizes()
        activation = self._fastnn_activation()
        beta = {"low": 0.0, "low_open": False, "high": 1.0}
        return {
            "hidden": hidden,
            "activation": activation,
            "init": self._fastnn_init(activation, hidden),
            "lr": _check_number(self.learning_rate_init, "learning_rate_init", low=0.0),
            "max_iter": _check_int(self.max_iter, "max_iter", low=1),
            "alpha": _check_number(self.alpha, "alpha", low=0.0, low_open=False),
            "tol": _check_number(self.tol, "tol", low=0.0, low_open=False),
            "n_iter_no_change": _check_int(self.n_iter_no_change, "n_iter_no_change", low=1),
            "max_fun": _check_int(self.max_fun, "max_fun", low=1),
            "validation_fraction": _check_number(
                self.validation_fraction, "validation_fraction", **beta
            ),
            "beta1": _check_number(self.beta_1, "beta_1", **beta),
            "beta2": _check_number(self.beta_2, "beta_2", **beta),
            "epsilon": _check_number(self.epsilon, "epsilon", low=0.0),
            "momentum": _check_number(self.momentum, "momentum", **beta),
            "power_t": _check_number(self.power_t, "power_t", low=0.0, low_open=False),
            "slope": check_slope(self.leaky_slope),
            "dtype": check_dtype(self.dtype),
        }

    # --- training ------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and y (n_samples,) or (n_samples, n_outputs);
        returns self.

        Up to ``max_iter`` epochs of mini-batch Adam or SGD (from the fitted weights when
        ``warm_start``), stopping earlier when the training loss (or with ``early_stopping``
        the validation score) plateaus (see ``tol``); or L-BFGS with ``solver="lbfgs"``.
        ``sample_weight`` (n_samples,), finite and >= 0 (or one number for all): each sample's
        loss and gradient count that many times, and every batch is normalised by its Σ w
        (scikit-learn's definition since 1.7). A fit that raises leaves the estimator as it was.
        """
        with self._unchanged_on_error():
            self._fit(X, y, sample_weight=sample_weight)
        return self

    def _fit(self, X, y, incremental=False, classes=None, sample_weight=None):
        raise NotImplementedError

    def _check_solver(self) -> bool:
        """partial_fit exists for the stochastic solvers only (scikit-learn's AttributeError)."""
        if self.solver not in ("adam", "sgd"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic."
            )
        return True

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

    def _continuing(self, incremental: bool = False) -> bool:
        """Whether this fit continues from the fitted weights (warm_start, partial_fit)."""
        return (bool(self.warm_start) or incremental) and hasattr(self, "coefs_")

    def _train(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        p: dict,
        output: str,
        incremental: bool = False,
        sample_weight=None,
    ) -> None:
        """Fit a fastnn.Model with ``output`` on X (n_samples, n_features) and Y (n_outputs,
        n_samples) of dtype ``p["dtype"]`` (``incremental``: one epoch, continuing the
        optimizer of the last fit or partial_fit, as scikit-learn's partial_fit); set the fitted
        attributes only once training succeeded."""
        dims = check_layer_dims([X.shape[1], *p["hidden"], Y.shape[0]])  # before any draw
        if sample_weight is not None:  # a number weighs every sample alike, as in scikit-learn
            w = np.asarray(sample_weight)
            w = np.full(X.shape[0], w) if w.ndim == 0 else w
            sample_weight = as_sample_weight(w, X.shape[0], p["dtype"])
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        continuing = self._continuing(incremental)
        # as scikit-learn: a fresh generator from random_state at every fit (None: numpy's
        # global one), which draws the initial weights, then the validation split, then
        # shuffles every epoch
        rng = check_random_state(self.random_state)
        model = self._initial_model(dims, p, output, rng, continuing, incremental)
        if self.solver == "lbfgs":
            self._fit_lbfgs(model, X, Y, p, output, sample_weight)
            if not continuing:
                self.t_ = 0
        else:
            self._fit_stochastic(
                model, X, Y, p, output, rng, continuing, incremental, sample_weight
            )
        params = model.parameters
        L = len(dims) - 1
        self.coefs_ = [params[f"W{l}"].T for l in range(1, L + 1)]
        self.intercepts_ = [params[f"b{l}"].ravel() for l in range(1, L + 1)]
        self.n_layers_ = L + 1
        self.n_outputs_ = Y.shape[0]
        self.out_activation_ = OUTPUTS[output].sklearn_name
        self._hidden_activation = p["activation"]
        self._leaky_slope = p["slope"]

    def _initial_model(self, dims, p, output, rng, continuing, incremental) -> Model:
        """The network training starts from: the fitted one (warm start, partial_fit),
        scikit-learn's Glorot initialisation drawn from ``rng``, or fastnn's own ``init``."""
        common = {
            "hidden_activation": p["activation"],
            "output": output,
            "leaky_slope": p["slope"],
            "dtype": p["dtype"],
        }
        if continuing:
            fitted = [self.coefs_[0].shape[0], *(W.shape[1] for W in self.coefs_)]
            if fitted != dims:
                raise ValueError(
                    f"{'partial_fit' if incremental else 'warm_start=True'} continues from the "
                    f"fitted layers {fitted}, but the data and hidden_layer_sizes give {dims}"
                    + ("" if incremental else "; set warm_start=False to start afresh")
                )
            return Model.from_parameters(self._course_parameters(), **common)
        if p["init"] == "auto":
            return Model.from_parameters(self._glorot_parameters(dims, rng), **common)
        return Model(dims, init=p["init"], seed=self._seed(rng), **common)

    def _fit_lbfgs(self, model: Model, X, Y, p: dict, output: str, sample_weight) -> None:
        """scikit-learn's "lbfgs": scipy's L-BFGS-B over the parameters packed as scikit-learn
        packs them (every coefs_[i] flattened in C order, then every intercepts_[i]), on the
        full-batch loss (1/n)·Σ loss + (α/2n)·Σ‖W‖² (n: the samples, or Σ sample_weight) and
        its gradient, both from one call of the compiled engine."""
        state = model._state
        spec = make_spec(
            layer_dims=state.layer_dims,
            m=X.shape[0],
            activations=model.hidden_activations,
            output=output,
            slope=p["slope"],
            learning_rate=1.0,
            num_epochs=1,
            lambd=p["alpha"],
            loss_scale=self._loss_scale(output, Y),
        )
        Xt, Yc = X.T, np.ascontiguousarray(Y)
        order = _sklearn_packing(state.layer_dims)

        def loss_grad(packed):
            state.theta[order] = packed
            cost, grad = kernels.cost_gradient(spec, Xt, Yc, state, sample_weight)
            return cost, grad[order].astype(np.float64, copy=False)

        result = scipy.optimize.minimize(
            loss_grad,
            state.theta[order].astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={"maxfun": p["max_fun"], "maxiter": p["max_iter"], "gtol": p["tol"]},
        )
        if not np.all(np.isfinite(result.x)):
            raise FloatingPointError("lbfgs produced non-finite parameters")
        state.theta[order] = result.x
        self.n_iter_ = min(int(result.nit), p["max_iter"])
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) (status="
                f"{result.status}):\n{result.message}\n"
                + (
                    f"\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={p['max_iter']})."
                    if self.n_iter_ == p["max_iter"]
                    else ""
                ),
                ConvergenceWarning,
                stacklevel=5,
            )
        self.loss_ = float(result.fun)

    @staticmethod
    def _loss_scale(output: str, Y: np.ndarray) -> float:
        # scikit-learn's squared error is a mean over the outputs too (its log losses and its
        # Poisson deviance are sums over them); the gradient is not scaled
        return 1 / Y.shape[0] if output == "linear" else 1.0

    def _fit_stochastic(
        self, model, X, Y, p, output, rng, continuing, incremental, sample_weight
    ) -> None:
        """scikit-learn's "adam" and "sgd": epochs of mini-batches in fastnn's engine, with
        its early_stopping split drawn from ``rng`` after the initial weights."""
        early = bool(self.early_stopping)
        validation = None
        if early:
            X, Y, sample_weight, validation = self._validation_split(X, Y, p, rng, sample_weight)
        if continuing:  # as scikit-learn: the rule's best (a loss, or −a score) and count go on
            best = getattr(self, "best_validation_score_" if early else "best_loss_", None)
            model._state.best_loss = math.inf if best is None else (-best if early else best)
            model._state.no_improvement = self._no_improvement_count
        # The optimizer: a new one for fit; partial_fit goes on with the last fit's or
        # partial_fit's, its state, its hyperparameters and the rate its schedule left (as
        # scikit-learn keeps its optimizer object, whatever set_params changed since)
        saved = getattr(self, "_optimizer_state", None) if incremental else None
        if saved is not None:
            optimizer, v, s, t, lr, hyper = saved
            model._state.reset_optimizer(optimizer)
            for live, value in zip(model._state.opt_state, (v, s), strict=False):
                live[...] = value
            model._state.t = t
        else:
            optimizer = "sklearn_adam"
            if self.solver == "sgd":
                optimizer = "sklearn_nesterov" if self.nesterovs_momentum else "sklearn_sgd"
            schedule = self.learning_rate if self.solver == "sgd" else "constant"
            hyper = {k: p[k] for k in ("momentum", "beta1", "beta2", "epsilon", "power_t", "lr")}
            hyper["schedule"] = schedule
            lr = p["lr"]
        decay, n = None, X.shape[0]
        if saved is None and hyper["schedule"] == "invscaling":
            # α/(t_ + 1)^power_t after each epoch, t_ the samples seen (over warm starts too)
            t0, lr0, power_t = (self.t_ if continuing else 0), hyper["lr"], hyper["power_t"]

            def decay(lr_init, epoch, rate):
                return float(lr0) / (t0 + (epoch + 1) * n + 1) ** power_t

        callback = None
        if self.verbose:

            def callback(i, cost):
                print(f"Iteration {i + 1}, loss = {cost:.8f}")

        try:
            # X.T is (n_features, n_samples), F-ordered: batches are gathered from it in place.
            # As scikit-learn's MLP, stop only on a non-finite loss, not on a finite spike.
            model.fit(
                X.T,
                Y,
                lr,
                num_epochs=1 if incremental else p["max_iter"],
                mini_batch_size=self._batch_size(X.shape[0]),
                optimizer=optimizer,
                beta=hyper["momentum"],
                decay=decay,
                adaptive=hyper["schedule"] == "adaptive",
                shuffle=bool(self.shuffle),
                shuffle_rng=rng,
                beta1=hyper["beta1"],
                beta2=hyper["beta2"],
                epsilon=hyper["epsilon"],
                lambd=p["alpha"],
                cost_every=1,
                callback=callback,
                tol=p["tol"],
                n_iter_no_change=p["n_iter_no_change"],
                stop_on_plateau=True,
                warm_start=continuing,
                validation=validation,
                validation_metric="cost" if validation is None else self._validation_metric,
                sample_weight=sample_weight,
                loss_scale=self._loss_scale(output, Y),
                divergence_factor=math.inf,
            )
        except FloatingPointError as err:
            raise FloatingPointError(
                f"{type(self).__name__}: training diverged with learning_rate_init="
                f"{self.learning_rate_init!r} ({err}). Use a smaller learning_rate_init or "
                + ("standardize X and y" if output == "linear" else "standardize X")
                + "; the estimator was left unchanged."
            ) from None
        except KeyboardInterrupt:
            # As scikit-learn's MLP: keep the parameters of the last completed epoch.
            if model.n_iter_ == 0:
                raise
            warnings.warn("Training interrupted by user.", stacklevel=5)  # the caller of fit
        else:
            if not model.stopped_early_ and not incremental:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({p['max_iter']}) reached and "
                    "the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=5,
                )

        costs = [float(c) for c in model.costs_]
        # as scikit-learn: the loss curve and the sample count t_ go on over warm starts; n_iter_
        # counts this fit's epochs
        self.loss_curve_ = [*self.loss_curve_, *costs] if continuing else costs
        self.t_ = (self.t_ if continuing else 0) + model.n_iter_ * X.shape[0]
        self.n_iter_ = model.n_iter_
        self.loss_ = self.loss_curve_[-1]
        state = model._state
        self._no_improvement_count = state.no_improvement
        if early:
            scores = [float(c) for c in model.validation_costs_]
            previous = getattr(self, "validation_scores_", None) if continuing else None
            self.validation_scores_ = [*(previous or []), *scores]
            self.best_validation_score_ = -state.best_loss
            self.best_loss_ = None
        else:
            self.best_loss_ = state.best_loss
            self.validation_scores_ = self.best_validation_score_ = None
        lr_next = model.learning_rate_
        if hyper["schedule"] == "invscaling":  # the rate after the last epoch
            lr_next = hyper["lr"] / (self.t_ + 1) ** hyper["power_t"]
        v, s = (state.opt_state + [None, None])[:2]
        self._optimizer_state = (
            optimizer,
            v.copy(),
            None if s is None else s.copy(),
            state.t,
            lr_next,
            hyper,
        )

    def _validation_split(self, X, Y, p, rng, sample_weight):
        """scikit-learn's early_stopping split: train_test_split from ``rng`` (stratified for a
        classifier with one output unit: two classes, as scikit-learn's), validation_fraction
        held out. Returns the training X, Y, sample weights and the engine's (X_val.T, Y_val,
        w_val)."""
        stratify = None
        if is_classifier(self) and Y.shape[0] == 1:
            stratify = Y.T.astype(np.int64)
        arrays = [X, Y.T] + ([] if sample_weight is None else [sample_weight])
        parts = train_test_split(
            *arrays, random_state=rng, test_size=p["validation_fraction"], stratify=stratify
        )
        X, X_val, Yt, Yt_val = parts[:4]
        w, w_val = parts[4:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        _check_split_weights(w, w_val, "validation_fraction")
        return X, np.ascontiguousarray(Yt.T), w, (X_val.T, np.ascontiguousarray(Yt_val.T), w_val)

    # --- inference -----------------------------------------------------------------------------

    def _course_parameters(self) -> dict[str, np.ndarray]:
        """coefs_/intercepts_ as a fastnn parameters dict (W1, b1, ...)."""
        params = {}
        for l, (W, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True), start=1):
            params[f"W{l}"] = W.T
            params[f"b{l}"] = np.reshape(b, (-1, 1))
        return params

    def _output_values(self, X) -> np.ndarray:
        """Z[L] = W[L]·A[L-1] + b[L] (before any output activation), (n_samples, n_outputs_).

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
        return A.T


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier, trained by mini-batch Adam or SGD, or by L-BFGS, in fastnn's engine.

    The output layer and loss follow the target, as in scikit-learn's MLP (through its
    ``LabelBinarizer``): two classes, one sigmoid unit with the binary cross-entropy; more
    classes, a softmax over one unit per class with the categorical cross-entropy; a multi-label
    indicator matrix y (n_samples, n_labels) of 0/1, one sigmoid per label. Labels can be of any
    type (numbers, strings, ...); ``classes_`` is sorted. A single class raises ``ValueError``.

    Parameters
    ----------
    %(parameters)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; with two, ``classes_[1]`` is the positive class (fastnn's y = 1).
        For a multi-label y, ``arange(n_labels)``.
    %(weights)s    loss_curve_ : list of float
        The loss of every epoch: the cross-entropy of each batch (−Σ [y log a + (1 − y)
        log(1 − a)] over the labels for sigmoid outputs, −Σ_j log a_{y_j j} for a softmax)
        before its step, plus (α/2)·Σ‖W‖² per batch, summed over the epoch and divided by
        n_samples (scikit-learn's).
    %(training)s    n_outputs_ : int
        Output units: 1 for two classes, n_classes for more, n_labels for multi-label.
    out_activation_ : str
        "logistic" (two classes, multi-label) or "softmax".

    %(notes)s"""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", **params):
        _BaseMLP.__init__(self, hidden_layer_sizes, activation, **_keywords(self, params))

    __init__.__signature__ = inspect.signature(_BaseMLP.__init__)  # what scikit-learn reads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True  # indicator targets, as scikit-learn's MLP
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multilabel": True}

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over X and y from the current state, as scikit-learn's partial_fit: the
        weights and the optimizer (its state, its hyperparameters as they were when it was
        created, and the rate its schedule reached) go on from the last fit or partial_fit; the
        first call initialises them and needs ``classes``, all the labels any call will see
        (for a multi-label indicator y the labels are y's columns). With ``shuffle`` the
        epoch's samples are shuffled from a fresh ``check_random_state(random_state)``.
        ``n_iter_`` is 1 after it, ``t_`` and ``loss_curve_`` go on. A call that raises leaves
        the estimator as it was."""
        with self._unchanged_on_error():
            self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)
        return self

    _validation_metric = "accuracy"  # what early_stopping watches

    def _fit(self, X, y, incremental=False, classes=None, sample_weight=None):
        p = self._check_params()
        continuing = self._continuing(incremental)
        X, y = validate_data(self, X, y, dtype=p["dtype"], multi_output=True, reset=not continuing)
        check_classification_targets(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        binarizer = self._binarizer(y, incremental, classes)
        known = binarizer.classes_
        if len(known) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of 2 classes; got 1 class ({known[0]!r})"
            )
        if continuing and not incremental and not np.array_equal(self.classes_, known):
            raise ValueError(
                "warm_start can only be used where y has the same classes as in the "
                f"previous call to fit; previous {self.classes_.tolist()}, now {known.tolist()}"
            )
        if incremental and self.warm_start and binarizer.y_type_ != "multilabel-indicator":
            seen = np.unique(y)  # as scikit-learn: warm_start asks every partial_fit for them all
            if set(seen.tolist()) != set(known.tolist()):
                raise ValueError(
                    "warm_start can only be used where y has the same classes as in the "
                    f"previous call to fit; previous {known.tolist()}, y has {seen.tolist()}"
                )
        if binarizer.y_type_ != "multilabel-indicator":
            unseen = np.setdiff1d(np.unique(y), known)
            if unseen.size:
                raise ValueError(
                    f"y has classes not in classes_ {known.tolist()}: {unseen.tolist()[:5]}"
                )
        Y = binarizer.transform(y).T.astype(p["dtype"])  # (n_outputs, n_samples)
        output = "sigmoid" if binarizer.y_type_ in ("binary", "multilabel-indicator") else "softmax"
        self._train(X, Y, p, output, incremental, sample_weight)
        self.classes_ = known
        self._label_binarizer = binarizer

    def _binarizer(self, y, incremental: bool, classes) -> LabelBinarizer:
        """scikit-learn's LabelBinarizer for this fit: fitted on y for fit; for partial_fit,
        on ``classes`` at the first call (which needs them; on y for a multi-label indicator),
        then the one of the first call (``classes``, when given again, must be the same)."""
        if not incremental:
            return LabelBinarizer().fit(y)
        first = not hasattr(self, "_label_binarizer") or not hasattr(self, "coefs_")
        if not first:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.unique(classes).tolist()} is not the same as on the first "
                    f"call to partial_fit, {self.classes_.tolist()}"
                )
            return self._label_binarizer
        if classes is None:  # as scikit-learn, for a multi-label y too
            raise ValueError("classes must be passed on the first call to partial_fit")
        if type_of_target(y).startswith("multilabel"):
            return LabelBinarizer().fit(y)
        return LabelBinarizer().fit(np.asarray(classes))

    def decision_function(self, X) -> np.ndarray:
        """The output layer's pre-activations: the log-odds of ``classes_[1]`` (n_samples,) for
        two classes, else (n_samples, n_outputs_) (a softmax's logits, or one per label)."""
        z = self._output_values(X)
        return z.ravel() if z.shape[1] == 1 else z

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities, (n_samples, n_classes) in the order of ``classes_`` (each row sums
        to 1), or (n_samples, n_labels) for a multi-label fit (one probability per label)."""
        z = self._output_values(X)
        if self.out_activation_ == "softmax":
            return softmax(z, axis=1)
        p = expit(z)
        return np.column_stack([1 - p[:, 0], p[:, 0]]) if z.shape[1] == 1 else p

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`, computed without overflow."""
        z = self._output_values(X)
        if self.out_activation_ == "softmax":
            return log_softmax(z, axis=1)
        if z.shape[1] == 1:
            return np.column_stack([log_expit(-z[:, 0]), log_expit(z[:, 0])])
        return log_expit(z)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (from ``classes_``), (n_samples,): ``classes_[1]`` where z > 0 for
        two classes, the most probable class for more; a 0/1 indicator matrix
        (n_samples, n_labels) for a multi-label fit."""
        z = self._output_values(X)
        if self.out_activation_ == "softmax":
            return self.classes_[z.argmax(axis=1)]
        if z.shape[1] == 1:
            return self.classes_[(z[:, 0] > 0).astype(np.intp)]
        return (z > 0).astype(np.int64)  # scikit-learn's MLP returns int64 indicators too


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, trained by mini-batch Adam or SGD, or by L-BFGS, in fastnn's engine.

    Linear output units with the squared-error loss, or exponential ones (a log link) with the
    Poisson deviance; ``score`` is R² (averaged over the targets). ``y`` of shape (n_samples,)
    or (n_samples, n_outputs), one output unit per target (a single column (n_samples, 1) is
    taken as (n_samples,) with a ``DataConversionWarning``, as scikit-learn's MLP does).

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        "squared_error": identity outputs and half the squared error (a − y)²/2, averaged over
        the targets; "poisson": outputs a = exp(z) and half the Poisson deviance
        y·log(y/a) − y + a, summed over the targets, for counts and rates: ``y`` must be >= 0.
        Both give dZ = A − Y at the output (scikit-learn's definitions).
    %(parameters)s
    Attributes
    ----------
    %(weights)s    loss_curve_ : list of float
        The loss of every epoch: each batch's ``loss`` (the squared error Σ (a − y)²/2 averaged
        over the targets, or the Poisson deviance summed over them) before its step, plus
        (α/2)·Σ‖W‖² per batch, summed over the epoch and divided by n_samples (scikit-learn's;
        the gradient is that of the sum over the targets).
    %(training)s    n_outputs_ : int
        Number of targets.
    out_activation_ : str
        "identity", or "exp" for ``loss="poisson"``.

    %(notes)s"""

    def __init__(
        self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", **params
    ):
        self.loss = loss
        _BaseMLP.__init__(self, hidden_layer_sizes, activation, **_keywords(self, params))

    # scikit-learn reads the parameters from this signature (get_params, clone): the base's,
    # with ``loss`` first, as in scikit-learn's MLPRegressor
    __init__.__signature__ = _signature_with_first(_BaseMLP.__init__, "loss", "squared_error")

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X and y from the current state, as scikit-learn's partial_fit: the
        weights and the optimizer (its state, its hyperparameters as they were when it was
        created, and the rate its schedule reached) go on from the last fit or partial_fit.
        With ``shuffle`` the epoch's samples are shuffled from a fresh
        ``check_random_state(random_state)``. ``n_iter_`` is 1 after it, ``t_`` and
        ``loss_curve_`` go on. A call that raises leaves the estimator as it was."""
        with self._unchanged_on_error():
            self._fit(X, y, incremental=True, sample_weight=sample_weight)
        return self

    _validation_metric = "r2"  # what early_stopping watches

    def _fit(self, X, y, incremental=False, classes=None, sample_weight=None):
        p = self._check_params()
        X, y = validate_data(
            self,
            X,
            y,
            dtype=p["dtype"],
            y_numeric=True,
            multi_output=True,
            reset=not self._continuing(incremental),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # DataConversionWarning, then ravel
        Y = np.asarray(y, dtype=p["dtype"]).reshape(len(y), -1).T  # (n_outputs, n_samples)
        output = self._output()
        if output == "poisson" and (Y < 0).any():
            raise ValueError(
                f"loss='poisson' needs targets y >= 0 (its log link); got min(y) = {float(Y.min())}"
            )
        self._train(X, Y, p, output, incremental, sample_weight)

    def _output(self) -> str:
        """fastnn's output layer for ``loss``."""
        if not isinstance(self.loss, str) or self.loss not in LOSSES:
            valid = ", ".join(repr(k) for k in LOSSES)
            raise ValueError(f"loss must be one of {valid}; got {self.loss!r}")
        return LOSSES[self.loss]

    def predict(self, X) -> np.ndarray:
        """Predicted values, (n_samples,) for one target, else (n_samples, n_outputs_)."""
        z = self._output_values(X)
        if self.out_activation_ == "exp":
            z = np.exp(z)
        return z.ravel() if z.shape[1] == 1 else z


_SHARED_DOCS = {
    "parameters": _PARAMETERS_DOC,
    "notes": _NOTES_DOC,
    "weights": _WEIGHTS_DOC,
    "training": _TRAINING_DOC,
}
for _estimator in (MLPClassifier, MLPRegressor):
    _estimator.__doc__ = _estimator.__doc__ % _SHARED_DOCS
