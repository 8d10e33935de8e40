"""``fastnn.Model``: a fully-connected network in the course's notation, trained in compiled code.

X is (n_x, m), one example per column, Y is (n_L, m) (or (m,) for one output unit, or class
labels for a softmax); ``layer_dims = [n_x, n_1, …, n_L]``.
Forward: for l = 1..L, Z[l] = W[l]·A[l-1] + b[l], A[l] = g[l](Z[l]); cost
J = −(1/m) Σ [y log a + (1−y) log(1−a)] (sigmoid output), −(1/m) Σ_j Σ_c y_cj log a_cj (softmax
over each column), (1/2m) Σ (a − y)² (linear or ReLU output) or (1/m) Σ [a − y log a + y log y − y]
(Poisson output a = exp(z), half the deviance), plus (λ/2m) Σ_l ‖W[l]‖² with
L2; backprop dZ[L] = A[L] − Y (ReLU output: times [Z[L] > 0]), dW[l] = (1/m) dZ[l]·A[l-1]ᵀ + (λ/m) W[l],
db[l] = (1/m) Σ dZ[l], dZ[l-1] = W[l]ᵀ·dZ[l] ⊙ g'(Z[l-1]). Updates: gradient descent
W ← W − α dW, momentum or Adam (the course's formulas), over the whole X or mini-batches.
The parameters live in one flat buffer (fastnn._spec.TrainState) with W[l] and b[l] as views.
"""

from __future__ import annotations

import numbers
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from fastnn import _training
from fastnn._dispatch import kernels
from fastnn._registry import (
    ACTIVATIONS,
    INITS,
    OPTIMIZERS,
    OUTPUTS,
    check_slope,
    get_activation,
    get_output,
    lookup,
)
from fastnn._spec import DIVERGENCE_FACTOR, TrainState
from fastnn._validation import (
    as_matrix,
    as_sample_weight,
    as_targets,
    check_count,
    check_dtype,
    check_layer_dims,
    check_parameters,
)

__all__ = ["Model", "load", "INITS", "OUTPUTS"]

_GIVEN = "given"  # init of a model built from existing parameters
FORMAT_VERSION = 1


#: The training options that fit and partial_fit pass through to fastnn._training.make_spec.
_OPTIONS = (
    "keep_prob",
    "mini_batch_size",
    "seed",
    "optimizer",
    "beta",
    "beta1",
    "beta2",
    "epsilon",
    "decay",
    "decay_rate",
    "time_interval",
    "lambd",
    "n_iter_no_change",
    "tol",
    "stop_on_plateau",
    "adaptive",
    "shuffle",
    "loss_scale",
    "validation_metric",
    "divergence_factor",
)


def _options(arguments: dict) -> dict:
    """The training options among a method's arguments (its ``locals()``)."""
    return {name: arguments[name] for name in _OPTIONS if name in arguments}


class _FitRequest(NamedTuple):
    """One call of fit or partial_fit, as given (checked by Model._fit and make_spec)."""

    X: object
    Y: object
    learning_rate: object
    num_epochs: object
    print_cost: bool
    cost_every: object
    callback: object
    path: str
    warm_start: object
    options: dict
    validation: object = None
    validation_fraction: object = None
    partial: bool = False
    shuffle_rng: np.random.RandomState | None = None
    sample_weight: object = None


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {value!r}")
    return value


class Model:
    """A fully-connected network ``layer_dims = [n_x, n_1, …, n_L]`` in the course's notation.

    Parameters
    ----------
    layer_dims : sequence of int
        Layer sizes, input first. ``[n_x, 1]`` is logistic (or linear) regression.
    hidden_activation : str or sequence of str
        "relu" (default), "tanh", "sigmoid", "leaky_relu" or "linear", or one per hidden layer.
    output : {"sigmoid", "softmax", "linear", "relu", "poisson"}
        "sigmoid": binary classification with cross-entropy (n_L > 1: n_L independent labels,
        multi-label); "softmax": n_L ≥ 2 classes, a softmax over each column with the
        categorical cross-entropy; "linear": regression with squared error (n_L > 1: several
        targets); "relu": non-negative regression, max(0, z) with squared error; "poisson":
        counts or rates y >= 0, a = exp(z) (a log link) with half the Poisson deviance
        y·log(y/a) − y + a (scikit-learn's MLPRegressor(loss="poisson")); dZ = A − Y.
    init : {"course", "small", "he", "xavier", "zeros"}
        W[l] = randn(n_l, n_{l-1}) times 1/√n_{l-1} ("course", the Application's), 0.01 ("small"),
        √(2/n_{l-1}) ("he"), √(2/(n_l + n_{l-1})) ("xavier"); "zeros" only without hidden layers.
        Drawn in the course's order from ``np.random.RandomState(seed)`` (the global state is
        untouched); b[l] = 0.
    dtype : float32 or float64
    seed : int or None
    leaky_slope : float in [0, 1)
        Slope of "leaky_relu" for z < 0.
    standardize : bool
        Z-score each feature with the training set's mean and standard deviation (stored with the
        model, re-applied by predict).

    Attributes
    ----------
    costs_ : list of float
        Cost at iterations (epochs) 0, cost_every, 2·cost_every, … of the last fit (see fit),
        continued by warm starts and partial_fit.
    n_iter_ : int
        Iterations (full batch) or epochs (mini-batches) completed by the last fit, summed over
        its warm starts and partial_fit calls.
    validation_costs_ : list of float
        The validation costs (mean loss, no L2) of the last fit; empty without validation.
    best_cost_ : float or None
        The best of them, whose state the model holds; None without validation or after a
        divergence.
    stopped_early_ : bool
        Whether the last fit stopped before its last epoch, by early stopping on the
        validation cost or by ``stop_on_plateau``.
    learning_rate_ : float
        The learning rate the last fit ended with (after a decay or ``adaptive``).
    parameters : dict
        W1, b1, …, WL, bL (copies), in the course's shapes.
    classes_ : ndarray of str or None
        Names of the classes (a softmax's units, a sigmoid's labels 0 and 1), when given (the
        command line stores its label column's names); saved with the model. ``predict``
        returns indices into it.
    """

    def __init__(
        self,
        layer_dims: Sequence[int],
        hidden_activation: str | Sequence[str] = "relu",
        output: str = "sigmoid",
        init: str = "course",
        dtype=np.float64,
        seed: int | None = 1,
        leaky_slope: float = 0.01,
        standardize: bool = False,
    ):
        self.layer_dims = check_layer_dims(layer_dims)
        L = len(self.layer_dims) - 1
        if isinstance(hidden_activation, str):
            activations = [hidden_activation] * (L - 1)
        else:
            try:
                activations = list(hidden_activation)
            except TypeError:
                valid = ", ".join(repr(a) for a in ACTIVATIONS)
                raise TypeError(
                    f"hidden_activation must be one of {valid} or a sequence of them; "
                    f"got {hidden_activation!r}"
                ) from None
            if len(activations) != L - 1:
                raise ValueError(
                    f"hidden_activation needs one name per hidden layer ({L - 1}); got {len(activations)}"
                )
        self.hidden_activations = [get_activation(a).name for a in activations]
        self.output = get_output(output, self.layer_dims[-1]).name
        self.init = init if init is _GIVEN else _check_choice(init, "init", tuple(INITS))
        if init == "zeros" and L > 1:
            raise ValueError(
                "init='zeros' only works without hidden layers (logistic regression): zero weights "
                "give every hidden unit the same gradient, so they never differ"
            )
        self.dtype = check_dtype(dtype)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"seed must be an int or None; got {seed!r}")
        self.seed = seed
        self.leaky_slope = check_slope(leaky_slope)
        self.standardize = bool(standardize)
        self.x_mean_: np.ndarray | None = None
        self.x_scale_: np.ndarray | None = None
        self.costs_: list[float] = []
        self.n_iter_ = 0
        self._lock = threading.Lock()
        self.validation_costs_: list[float] = []
        self.best_cost_: float | None = None
        self.stopped_early_ = False
        self.learning_rate_ = float("nan")
        self.classes_: np.ndarray | None = None
        dims = self.layer_dims
        self._state = TrainState(dims, self.dtype)  # θ (W then b: zeros), optimizer state
        if init is not _GIVEN:  # from_parameters fills the weights in; nothing to draw
            rng = np.random.RandomState(seed)
            for l in range(1, L + 1):
                self._state.W[l - 1][...] = INITS[init].draw(rng, dims[l], dims[l - 1])

    # --- construction and state ---------------------------------------------------------------

    @classmethod
    def from_parameters(
        cls,
        parameters: Mapping[str, np.ndarray],
        hidden_activation: str | Sequence[str] = "relu",
        output: str = "sigmoid",
        leaky_slope: float = 0.01,
        dtype=None,
    ) -> Model:
        """A model holding copies of a course parameters dict (W1, b1, …); dtype from W1 by default."""
        dims, dt = check_parameters(parameters, dtype)
        model = cls(dims, hidden_activation, output, _GIVEN, dt, None, leaky_slope)
        model._set_parameters(parameters)
        return model

    def _set_parameters(self, parameters: Mapping[str, np.ndarray]) -> None:
        dims, _ = check_parameters(parameters)
        if dims != self.layer_dims:
            raise ValueError(f"parameters have layer dims {dims}; this model has {self.layer_dims}")
        values = {}
        for key in [f"{p}{l}" for l in range(1, len(dims)) for p in "Wb"]:
            values[key] = np.asarray(parameters[key], dtype=self.dtype)
            if not np.isfinite(values[key]).all():
                raise ValueError(f"parameters[{key!r}] contains NaN or infinity")
        for l in range(1, len(dims)):  # every value checked: now write them into θ
            self._state.W[l - 1][...] = values[f"W{l}"]
            self._state.b[l - 1][...] = values[f"b{l}"]

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """W1, b1, …, WL, bL as copies, in the course's shapes (n_l, n_{l-1}) and (n_l, 1)."""
        out = {}
        for l, (W, b) in enumerate(zip(self._state.W, self._state.b, strict=True), start=1):
            out[f"W{l}"] = W.copy()
            out[f"b{l}"] = b.copy()
        return out

    @property
    def activations(self) -> list[str]:
        """Activation of every layer, the output's last."""
        return [*self.hidden_activations, self.output]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]  # a lock cannot be pickled; each copy gets its own
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        hidden = self.hidden_activations
        act = hidden[0] if hidden and len(set(hidden)) == 1 else hidden
        return (
            f"Model({self.layer_dims}, hidden_activation={act!r}, output={self.output!r}, "
            f"dtype={self.dtype.name}, n_iter_={self.n_iter_})"
        )

    # --- data ----------------------------------------------------------------------------------

    def _inputs(self, X, name: str = "X", check_finite: bool = True) -> np.ndarray:
        X = as_matrix(
            X, name, self.dtype, shape=(self.layer_dims[0], None), check_finite=check_finite
        )
        return self._standardized(X)

    def _standardized(self, X: np.ndarray, mean=None, scale=None) -> np.ndarray:
        """(X − mean) / scale with the model's statistics (or the ones given): one copy of X,
        in X's layout (examples stay contiguous in an F-ordered X)."""
        if mean is None:
            mean, scale = self.x_mean_, self.x_scale_
        if mean is not None:
            Z = np.subtract(X, mean, dtype=self.dtype, order="K")
            Z /= scale
            X = Z
        return X

    def _labels(self, Y, m: int, name: str = "Y") -> np.ndarray:
        """Y as the output layer trains on it, (n_L, m) (class labels become one-hot)."""
        return as_targets(Y, m, self.dtype, self.output, self.layer_dims[-1], name)

    # --- training ------------------------------------------------------------------------------

    def fit(
        self,
        X,
        Y,
        learning_rate: float = 0.0075,
        num_iterations: int | None = None,
        print_cost: bool = False,
        cost_every: int = 100,
        callback: Callable[[int, float], object] | None = None,
        path: str = "auto",
        *,
        mini_batch_size: int | None = None,
        num_epochs: int | None = None,
        seed: int | None = None,
        warm_start: bool = False,
        optimizer: str = "gd",
        beta: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        decay: str | Callable[[float, int, float], float] | None = None,
        decay_rate: float = 1.0,
        time_interval: int = 1000,
        lambd: float = 0.0,
        keep_prob: float | Sequence[float] = 1.0,
        validation: tuple | None = None,
        validation_fraction: float | None = None,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        stop_on_plateau: bool = False,
        adaptive: bool = False,
        shuffle: bool = True,
        shuffle_rng: np.random.RandomState | None = None,
        loss_scale: float = 1.0,
        sample_weight=None,
        validation_metric: str = "cost",
        divergence_factor: float = DIVERGENCE_FACTOR,
    ) -> Model:
        """Train from the current parameters, entirely in compiled code (the GIL released).

        **Batches.** ``mini_batch_size=None``: full-batch training, ``num_iterations`` (3000 by
        default) steps over all of X. With a ``mini_batch_size``: ``num_epochs`` epochs (give
        one of the two; either means the same count); epoch e shuffles the columns as the
        course's ``random_mini_batches`` does with seed s = seed + 1 + e
        (``np.random.seed(s); np.random.permutation(m)``, without touching numpy's global
        generator), then steps through full batches and the remainder. ``seed`` defaults to
        the model's ``seed`` (a warm start: to the seed the optimizer started with);
        ``seed=10`` reproduces the course's Optimization notebook, which starts at 10 and adds
        1 before each epoch. ``shuffle_rng`` (a ``np.random.RandomState``) shuffles as
        scikit-learn's MLP does instead: the fit starts from the order 0..m−1 and each epoch
        permutes the previous order by ``shuffle_rng.permutation(m)``, advancing that generator
        (when the fit commits). Give X with its examples contiguous (F order, ``X_rows.T``):
        each batch is gathered from it in place.

        **Updates** (the course's formulas; t counts steps from 1):
        ``optimizer="gd"``: W ← W − α·dW; ``"momentum"``: v = β·v + (1 − β)·dW, W ← W − α·v;
        ``"adam"``: v = β1·v + (1 − β1)·dW, s = β2·s + (1 − β2)·dW², W ← W − α·v̂/(√ŝ + ε) with
        v̂ = v/(1 − β1ᵗ), ŝ = s/(1 − β2ᵗ); ``"sklearn_adam"``: scikit-learn's form of it,
        W ← W − α_t·v/(√s + ε) with α_t = α·√(1 − β2ᵗ)/(1 − β1ᵗ). The same for every b.
        ``lambd`` > 0 adds L2: J += (λ/2m)·Σ‖W[l]‖², dW += (λ/m)·W (biases not penalised; m the
        batch's size). ``keep_prob`` < 1 (one number, or one per hidden layer) trains with
        inverted dropout: each step keeps each hidden unit of each example with probability
        keep_prob, A ← A·D/keep_prob, and backpropagates through the same mask
        (dA ← dA·D/keep_prob). The masks come from a counter-based generator keyed by
        (seed, step, layer, unit, column in the batch): a fit is reproducible, and independent
        of threads. Training costs are those of the dropped-out network (as the course's);
        validation, predict and score never drop units. (The course's
        forward_propagation_with_dropout reseeds numpy at every call, so its masks repeat each
        iteration; fastnn.course2.regularization reproduces that, this does not.) ``decay``:
        after epoch i (0-based) the rate becomes
        α0/(1 + decay_rate·i) (``"inverse"``, the course's update_lr),
        α0/(1 + decay_rate·⌊i/time_interval⌋) (``"scheduled"``, schedule_lr_decay) or
        ``decay(learning_rate, i, decay_rate)`` for a function, asked for when epoch i + 1
        starts; epoch 0 runs at α0.

        **What a second fit continues.** A plain ``fit`` continues from the current parameters
        but starts a fresh optimizer (v, s = 0, t = 0), epoch count and cost history.
        ``warm_start=True`` continues all of it: parameters, optimizer state, step counter and
        epoch counter (so the shuffle seeds and the decay go on), the standardisation
        statistics, appending to ``costs_``; a fit of 2N epochs equals a fit of N then a
        warm-started fit of N.

        **Costs.** ``costs_`` records the cost every ``cost_every`` iterations (epochs), from 0:
        for full batch the cost of the parameters before that iteration's step; for mini-batches
        the course's epoch cost, Σ over the epoch's batches of the summed loss (plus
        (λ/2)·Σ‖W‖² per batch), divided by m; ``loss_scale`` multiplies the loss part (not
        the L2 part, the gradient or the validation costs: scikit-learn's MLPRegressor
        averages its squared error over the n_L outputs, ``loss_scale=1/n_L``).
        ``print_cost`` prints each one ("Cost after
        iteration i: J" or "Cost after epoch i: J"); ``callback(i, cost)`` runs at the same
        moments.

        **Early stopping.** ``validation=(X_val, Y_val)`` or ``validation_fraction`` (that share
        of X held out, drawn with ``RandomState(seed)``; X is then copied into the two parts):
        the validation cost (the mean loss, without L2) is computed after every epoch (full
        batch: at every recorded iteration) into ``validation_costs_``; training stops when it
        has not improved by ``tol`` for ``n_iter_no_change`` of them, and the model is then as it
        was at the best one (``best_cost_``): parameters, optimizer state and counters, so
        ``n_iter_`` counts the epochs up to it. Without validation, ``stop_on_plateau=True``
        (with ``cost_every=1``) applies scikit-learn's rule to the training cost instead:
        training stops after more than ``n_iter_no_change`` epochs in a row whose cost is not
        below the best so far minus ``tol``, keeping the last epoch's state (a warm start
        continues that best cost and count); ``adaptive=True`` divides the learning rate by 5
        where that rule would stop, restarting the count, and stops only once the rate is at
        most 1e-6 (scikit-learn's "adaptive" schedule; ``learning_rate_`` has the last rate).
        With validation data, mini-batches and ``stop_on_plateau=True``, that rule watches the
        validation score instead (scikit-learn's early_stopping): ``validation_metric``
        "accuracy" (classifiers) or "r2" (averaged over the outputs), recorded after every
        epoch in ``validation_costs_``; the model ends with the parameters of the best score
        (the optimizer state and counters of the last epoch).

        **Sample weights.** ``sample_weight`` (m,), finite and >= 0: each example's loss and
        gradient count w times, and each batch is normalised by its Σ w instead of its size
        (scikit-learn's MLP); ``validation=(X_val, Y_val, w_val)`` weights the validation
        score or cost, and ``validation_fraction`` splits the weights with the examples.

        **Errors.** Ctrl-C stops within a fraction of a second and re-raises KeyboardInterrupt,
        keeping the state of the last completed iteration (mini-batches: epoch). Divergence: a
        computed cost (recorded, or the last) that is not finite or exceeds ``divergence_factor``
        (1e6) times the first cost computed since the optimizer started (over warm starts and
        partial_fit too) stops training with FloatingPointError, naming the iteration (epoch);
        the model then holds the parameters and optimizer state of the last iteration (epoch)
        whose cost passed. ``divergence_factor=math.inf`` keeps only the non-finite test. Any
        other failure (a bad argument or input, an exception from ``callback`` or ``decay``)
        leaves the model as it was.

        ``path`` (full-batch gradient descent without L2 or validation): "direct" (W1·X and dZ1·Xᵀ
        every iteration), "gram" (wide inputs, n_x > m: Z1 advanced through the m×m matrix XᵀX,
        W1 materialised when training stops; the same result up to rounding) or "auto" (the one
        with fewer FLOPs).
        """
        if num_iterations is not None and num_epochs is not None:
            raise ValueError(
                "num_iterations and num_epochs count the same passes: give one of them; got "
                f"num_iterations={num_iterations!r} and num_epochs={num_epochs!r}"
            )
        if num_epochs is None:
            num_iterations = 3000 if num_iterations is None else num_iterations
            num_epochs = check_count(num_iterations, "num_iterations")
        if shuffle_rng is not None and not isinstance(shuffle_rng, np.random.RandomState):
            raise TypeError(f"shuffle_rng must be a numpy RandomState or None; got {shuffle_rng!r}")
        self._fit(
            _FitRequest(
                X, Y, learning_rate, num_epochs, print_cost, cost_every, callback, path,
                warm_start, _options(locals()), validation, validation_fraction,
                shuffle_rng=shuffle_rng, sample_weight=sample_weight,
            )
        )  # fmt: skip
        return self

    def partial_fit(
        self,
        X,
        Y,
        learning_rate: float = 0.0075,
        *,
        mini_batch_size: int | None = None,
        seed: int | None = None,
        optimizer: str = "gd",
        beta: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        decay: str | Callable[[float, int, float], float] | None = None,
        decay_rate: float = 1.0,
        time_interval: int = 1000,
        lambd: float = 0.0,
        keep_prob: float | Sequence[float] = 1.0,
        divergence_factor: float = DIVERGENCE_FACTOR,
        print_cost: bool = False,
        callback: Callable[[int, float], object] | None = None,
    ) -> Model:
        """One epoch over the data given (one full-batch step without ``mini_batch_size``),
        continuing the parameters, optimizer state, step and epoch counters like
        ``fit(..., num_epochs=1, warm_start=True)``: the building block for streaming data.
        Its epoch cost is appended to ``costs_`` and ``n_iter_`` grows by one. The arguments mean
        what they mean in :meth:`fit`; the optimizer must stay the one the state belongs to.
        With ``standardize=True`` the first call's statistics are kept for the later ones.
        """
        self._fit(
            _FitRequest(
                X, Y, learning_rate, 1, print_cost, 1, callback, "direct", True,
                _options(locals()), partial=True,
            )
        )  # fmt: skip
        return self

    def _fit(self, r: _FitRequest) -> None:
        """Validate everything, train a copy of the state, then commit it: on success, on
        Ctrl-C (as documented) and on divergence (the restored state); otherwise nothing."""
        if r.callback is not None and not callable(r.callback):
            raise TypeError(f"callback must be callable; got {r.callback!r}")
        if not isinstance(r.warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be True or False; got {r.warm_start!r}")
        if r.validation is not None and r.validation_fraction is not None:
            raise ValueError("pass validation=(X_val, Y_val) or validation_fraction, not both")
        optimizer = lookup(OPTIMIZERS, r.options["optimizer"], "optimizer").name
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("this Model is already being fitted in another thread")
        try:
            state = self._state.copy()
            continuing = r.warm_start and state.optimizer is not None
            if continuing and state.optimizer != optimizer:
                how = "" if r.partial else " (pass warm_start=False to start a fresh optimizer)"
                raise ValueError(
                    f"the optimizer state continued here belongs to optimizer="
                    f"{state.optimizer!r}; got optimizer={optimizer!r}{how}"
                )
            if not continuing:
                state.reset_optimizer(optimizer)
            if not r.warm_start:
                state.reset_plateau()
            options = dict(r.options)
            seed = options.pop("seed")
            if seed is None:  # the model's; a continued optimizer's own; else a fresh one
                seed = state.seed if continuing else self.seed
                seed = seed if seed is not None else int(np.random.default_rng().integers(2**31))
            state.seed = _training.check_seed(seed)
            self._train(r, state, options, continuing)
        finally:
            self._lock.release()

    def _train(self, r: _FitRequest, state: TrainState, options: dict, continuing: bool) -> None:
        X = as_matrix(r.X, "X", self.dtype, shape=(self.layer_dims[0], None))
        mean, scale = self.x_mean_, self.x_scale_
        if self.standardize and not (continuing and mean is not None):
            mean = X.mean(axis=1, keepdims=True)
            std = X.std(axis=1, keepdims=True)
            scale = np.where(std > 0, std, 1).astype(self.dtype)
        X = self._standardized(X, mean, scale)
        Y = self._labels(r.Y, X.shape[1])
        w = r.sample_weight
        if w is not None:
            w = as_sample_weight(w, X.shape[1], self.dtype)
        val = None
        if r.validation is not None:
            if not isinstance(r.validation, (tuple, list)) or len(r.validation) not in (2, 3):
                what = type(r.validation).__name__
                if isinstance(r.validation, (tuple, list)):
                    what = f"a {what} of {len(r.validation)}"
                raise TypeError(
                    f"validation must be (X_val, Y_val) or (X_val, Y_val, w_val); got {what}"
                )
            X_val, Y_val, *w_val = r.validation
            X_val = as_matrix(X_val, "X_val", self.dtype, shape=(self.layer_dims[0], None))
            X_val = self._standardized(X_val, mean, scale)
            val = (X_val, self._labels(Y_val, X_val.shape[1], "Y_val"))
            if w_val and w_val[0] is not None:
                val += (as_sample_weight(w_val[0], X_val.shape[1], self.dtype, "w_val"),)
        elif r.validation_fraction is not None:
            X, Y, *val, w = _training.split_validation(X, Y, r.validation_fraction, state.seed, w)
            val = tuple(v for v in val if v is not None)
        spec = _training.make_spec(
            layer_dims=self.layer_dims,
            m=X.shape[1],
            activations=self.hidden_activations,
            output=self.output,
            slope=self.leaky_slope,
            learning_rate=r.learning_rate,
            num_epochs=r.num_epochs,
            cost_every=r.cost_every,
            seed=state.seed,
            epoch0=state.epoch,
            validating=val is not None,
            weighted=w is not None,
            path=r.path,
            shuffle_state=None if r.shuffle_rng is None else r.shuffle_rng.get_state(),
            **options,
        )
        unit = "epoch" if spec.mini_batch_size else "iteration"

        def report(i, cost):
            if r.print_cost:
                print(f"Cost after {unit} {i}: {cost}")
            if r.callback is not None:
                r.callback(i, cost)

        result = _training.run(spec, X, Y, state, report, val, w)
        diverged = result.diverged_at >= 0
        if result.pending is not None and not diverged:
            if not isinstance(result.pending, KeyboardInterrupt):
                raise result.pending  # the callback's or the decay's: nothing is committed
        # commit: the run succeeded, was interrupted by Ctrl-C, or diverged and restored the
        # last state whose cost passed
        self._state = state
        self.x_mean_, self.x_scale_ = mean, scale
        if r.warm_start:
            self.costs_ = [*self.costs_, *result.costs]
            self.n_iter_ += result.n_done
        else:
            self.costs_, self.n_iter_ = result.costs, result.n_done
        self.validation_costs_ = result.validation_costs
        self.best_cost_ = result.best_cost if result.best_epoch >= 0 and not diverged else None
        self.stopped_early_ = result.stopped_early
        self.learning_rate_ = result.final_learning_rate
        if r.shuffle_rng is not None and result.shuffle_state is not None:
            r.shuffle_rng.set_state(result.shuffle_state)
        if diverged:
            raise _training.divergence_error(spec, result, state)
        if result.pending is not None:
            raise result.pending

    # --- inference -----------------------------------------------------------------------------

    def forward(self, X) -> np.ndarray:
        """A[L] (n_L, m) for inputs X (n_x, m): probabilities for a sigmoid output (one per
        unit) and a softmax (columns summing to 1), values for a linear or ReLU one."""
        # NaN/inf anywhere in X reaches Z1 = W1·X + b1 (0·inf is NaN too): checking the (n_1, m)
        # Z1 costs far less than scanning the (n_x, m) X, which inference would pay every call.
        X = self._inputs(X, check_finite=False)
        A, finite = kernels.forward(
            X, self._state.W, self._state.b, self.hidden_activations, self.output,
            self.leaky_slope,
        )  # fmt: skip
        if not finite:
            raise ValueError("X contains NaN or infinity (or W1·X overflows)")
        return A

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities, (n_L, m): P(y_i = 1 | x) per sigmoid unit, or P(class c | x) per
        softmax unit (each column sums to 1). Classifiers only."""
        if not OUTPUTS[self.output].classifier:
            raise ValueError(
                f"predict_proba needs output='sigmoid' or 'softmax'; this model's output "
                f"{self.output!r} is a regressor's"
            )
        return self.forward(X)

    def predict(self, X) -> np.ndarray:
        """Predictions: (n_L, m) 0/1 at threshold 0.5 for a sigmoid output; (1, m) class
        indices (the argmax of each column, ints) for a softmax; (n_L, m) values for a linear,
        ReLU or Poisson (exp(z)) output."""
        A = self.forward(X)
        if self.output == "softmax":
            return A.argmax(axis=0).reshape(1, -1)
        return (A > 0.5).astype(self.dtype) if self.output == "sigmoid" else A

    def score(self, X, Y) -> float:
        """Accuracy for a classifier (a sigmoid with n_L > 1: the share of columns whose labels
        all match, scikit-learn's subset accuracy); for regression the coefficient of
        determination R² of each output, averaged over them (scikit-learn's
        ``uniform_average``; an output whose targets are constant scores 1 if predicted
        exactly, else 0)."""
        P = self.predict(X)
        m = P.shape[1]
        Y = self._labels(Y, m)
        if self.output == "softmax":
            return float(np.mean(P[0] == Y.argmax(axis=0)))
        if self.output == "sigmoid":
            return float(np.mean((P == Y).all(axis=0)))
        Y64, P64 = Y.astype(np.float64), P.astype(np.float64)
        ss_res = np.sum((Y64 - P64) ** 2, axis=1)
        ss_tot = np.sum((Y64 - Y64.mean(axis=1, keepdims=True)) ** 2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
        return float(np.mean(r2))

    # --- persistence ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (.npz, no pickle) atomically: a temporary file in the same
        directory, then os.replace, so an interrupted save never leaves a half-written file.

        The file holds the parameters, the standardisation statistics, the cost history and,
        after a fit, the optimizer's state (v, s, the step and epoch counters), so a loaded
        model continues with ``fit(..., warm_start=True)`` exactly where this one would."""
        path = os.fspath(path)
        arrays = {
            "format": np.array("fastnn-model"),
            "format_version": np.array(FORMAT_VERSION),
            "layer_dims": np.array(self.layer_dims, dtype=np.int64),
            "activations": np.array(self.activations),
            "output": np.array(self.output),
            "dtype": np.array(self.dtype.name),
            "leaky_slope": np.array(self.leaky_slope),
            "n_iter": np.array(self.n_iter_),
            "costs": np.array(self.costs_, dtype=np.float64),
        }
        if self.x_mean_ is not None:
            arrays["x_mean"] = self.x_mean_
            arrays["x_scale"] = self.x_scale_
        if self.classes_ is not None:  # an optional member, a string array (never a pickle)
            arrays["classes"] = _checked_classes(np.asarray(self.classes_, dtype=str), self)
        for l, (W, b) in enumerate(zip(self._state.W, self._state.b, strict=True), start=1):
            arrays[f"W{l}"] = W
            arrays[f"b{l}"] = b
        state = self._state
        if state.optimizer is not None:  # optional members: older readers ignore them
            arrays["optimizer"] = np.array(state.optimizer)
            arrays["optimizer_t"] = np.array(state.t, dtype=np.int64)
            arrays["optimizer_epoch"] = np.array(state.epoch, dtype=np.int64)
            arrays["optimizer_cost0"] = np.array(state.cost0, dtype=np.float64)
            if state.seed is not None:
                arrays["optimizer_seed"] = np.array(state.seed, dtype=np.int64)
            for key, value in (("optimizer_v", state.v), ("optimizer_s", state.s)):
                if value is not None:
                    arrays[key] = value
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".fastnn-", suffix=".npz.tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def _load_optimizer_state(state: TrainState, get) -> None:
    """The optimizer state stored by save(), checked, into ``state``."""
    name = str(get("optimizer"))
    opt = lookup(OPTIMIZERS, name, "optimizer")
    counts = {}
    for key in ("optimizer_t", "optimizer_epoch"):
        value = get(key)
        if value.shape != () or value.dtype.kind not in "iu" or not 0 <= int(value) < 2**62:
            raise ValueError(f"{key} must be an integer in [0, 2**62); got {value!r}")
        counts[key] = int(value)
    vectors = []
    for key in ("optimizer_v", "optimizer_s")[: opt.n_state]:
        value = get(key)
        if value.shape != state.theta.shape or value.dtype.kind != "f":
            raise ValueError(f"{key} must be {state.theta.size} floats; got {value.shape}")
        if not np.isfinite(value).all():
            raise ValueError(f"{key} contains NaN or infinity")
        vectors.append(value)
    cost0 = get("optimizer_cost0")
    if cost0.shape != () or cost0.dtype.kind != "f" or np.isinf(cost0) or cost0 < 0:
        raise ValueError(f"optimizer_cost0 must be a cost >= 0 (or NaN: none yet); got {cost0!r}")
    seed = None
    if "optimizer_seed" in get.arrays:
        value = get("optimizer_seed")
        if value.shape != () or value.dtype.kind not in "iu" or not 0 <= int(value) < 2**32:
            raise ValueError(f"optimizer_seed must be an integer in [0, 2**32); got {value!r}")
        seed = int(value)
    state.reset_optimizer(opt.name)
    for live, value in zip(state.opt_state, vectors, strict=True):
        live[...] = value
    state.t, state.epoch = counts["optimizer_t"], counts["optimizer_epoch"]
    state.cost0, state.seed = float(cost0), seed


def _checked_classes(classes: np.ndarray, model: Model) -> np.ndarray:
    """The stored class names: distinct strings, one per softmax unit (two for a sigmoid)."""
    if classes.ndim != 1 or classes.dtype.kind != "U":
        raise ValueError(f"classes must be a 1-D string array; got {classes.dtype} {classes.shape}")
    n = model.layer_dims[-1] if model.output == "softmax" else 2
    if model.output not in ("softmax", "sigmoid") or len(classes) != n:
        raise ValueError(
            f"classes {classes.tolist()[:5]} do not fit a {model.output!r} output of "
            f"{model.layer_dims[-1]} units"
        )
    if len(set(classes.tolist())) != len(classes):
        raise ValueError(f"classes must be distinct; got {classes.tolist()}")
    return classes


def load(path: str | os.PathLike) -> Model:
    """Read a model written by :meth:`Model.save`. Never unpickles.

    FileNotFoundError for a missing file; ValueError for anything that is not a fastnn model file
    of a known format version (corrupt, truncated, foreign, or holding object arrays).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        with open(path, "rb") as fh:
            data = np.load(fh, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            with data:
                arrays = {k: data[k] for k in data.files}
    except Exception as err:
        # A damaged archive fails in many ways: BadZipFile, EOFError, zlib.error,
        # NotImplementedError (unknown compression), RuntimeError (encrypted member),
        # ValueError (pickled data, bad .npy header), MemoryError (absurd stored shape), ...
        detail = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"{path}: not a readable fastnn model file ({detail})") from None

    def get(key):
        if key not in arrays:
            raise ValueError(f"{path}: not a fastnn model file (missing {key!r})")
        return arrays[key]

    get.arrays = arrays

    if str(get("format")) != "fastnn-model":
        raise ValueError(f"{path}: not a fastnn model file")
    try:
        version = int(get("format_version"))
    except (TypeError, ValueError):
        raise ValueError(f"{path}: unreadable model format version") from None
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path}: model format version {version}; this fastnn reads {FORMAT_VERSION}"
        )
    try:
        dims = [int(d) for d in get("layer_dims")]
        activations = [str(a) for a in get("activations")]
        parameters = {}
        for l in range(1, len(dims)):
            parameters[f"W{l}"] = get(f"W{l}")
            parameters[f"b{l}"] = get(f"b{l}")
        model = Model.from_parameters(
            parameters,
            hidden_activation=activations[:-1],
            output=str(get("output")),
            leaky_slope=float(get("leaky_slope")),
            dtype=str(get("dtype")),
        )
        if model.layer_dims != dims:
            raise ValueError(f"layer_dims {dims} do not match the stored weights")
        if activations[-1:] != [model.output]:
            raise ValueError(
                f"activations {activations} do not end with the output {model.output!r}"
            )
        model.n_iter_ = int(get("n_iter"))
        if model.n_iter_ < 0:
            raise ValueError(f"n_iter must be >= 0; got {model.n_iter_}")
        model.costs_ = [float(c) for c in get("costs")]
        if "x_mean" in arrays or "x_scale" in arrays:
            mean, scale = get("x_mean"), get("x_scale")
            if mean.dtype.kind not in "fiu" or scale.dtype.kind not in "fiu":
                raise ValueError(
                    f"standardisation statistics must be real numbers; got {mean.dtype} and "
                    f"{scale.dtype}"
                )
            if mean.shape != (dims[0], 1) or scale.shape != (dims[0], 1):
                raise ValueError(
                    f"standardisation statistics must have shape ({dims[0]}, 1); "
                    f"got {mean.shape} and {scale.shape}"
                )
            if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
                raise ValueError("standardisation statistics must be finite, with a scale > 0")
            model.x_mean_ = mean.astype(model.dtype)
            model.x_scale_ = scale.astype(model.dtype)
            model.standardize = True
        if "classes" in arrays:
            model.classes_ = _checked_classes(get("classes"), model)
        if "optimizer" in arrays:
            _load_optimizer_state(model._state, get)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: invalid fastnn model file: {err}") from None
    return model
