"""``fastnn.Model``: a fully-connected network in the course's notation, trained in compiled code.

X is (n_x, m), one example per column, Y is (1, m) or (m,); ``layer_dims = [n_x, n_1, …, n_L]``.
Training is full-batch gradient descent: for l = 1..L, Z[l] = W[l]·A[l-1] + b[l], A[l] = g[l](Z[l]);
cost J = −(1/m) Σ [y log a + (1−y) log(1−a)] (sigmoid output) or (1/2m) Σ (a − y)² (linear output);
backprop dZ[L] = A[L] − Y, dW[l] = (1/m) dZ[l]·A[l-1]ᵀ, db[l] = (1/m) Σ dZ[l],
dZ[l-1] = W[l]ᵀ·dZ[l] ⊙ g'(Z[l-1]); update W ← W − α dW, b ← b − α db.
"""

from __future__ import annotations

import numbers
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from fastnn._dispatch import kernels
from fastnn._registry import ACTIVATIONS, INITS, OUTPUTS, check_slope, get_activation
from fastnn._validation import (
    as_labels,
    as_matrix,
    check_count,
    check_dtype,
    check_layer_dims,
    check_learning_rate,
    check_parameters,
)

__all__ = ["Model", "load", "INITS", "OUTPUTS"]

PATHS = ("auto", "direct", "gram")
_GIVEN = "given"  # init of a model built from existing parameters
FORMAT_VERSION = 1


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {value!r}")
    return value


def _run_training(
    X, Y, Ws, bs, activations, slope, output, lr, num_iterations, cost_every, report, path="auto"
):
    """Train in place on Ws/bs with the compiled loop; returns (costs, final_cost, n_done, pending).

    ``report(i, cost)`` runs at every recorded cost. ``path``: "direct", "gram" (wide inputs:
    layer 1 advanced through XᵀX) or "auto" (the cheaper in FLOPs). A non-finite cost raises
    FloatingPointError naming the iteration, with the parameters restored to the last iteration
    whose cost was finite. Ctrl-C (or an exception from ``report``) stops training with the
    parameters of the last completed iteration; the caller re-raises it (``pending``).
    """
    from fastnn._engine import gram_is_cheaper

    _check_choice(path, "path", PATHS)
    dims = [X.shape[0]] + [W.shape[0] for W in Ws]
    if path == "auto":
        gram = gram_is_cheaper(dims, X.shape[1], num_iterations)
    else:
        gram = path == "gram"
    costs, final_cost, done, pending, diverged_at = kernels.train(
        X, Y, Ws, bs, activations, slope, output, lr, num_iterations, cost_every, report, gram
    )
    if diverged_at >= 0:
        raise FloatingPointError(
            f"training diverged: the cost is {final_cost} at iteration {diverged_at} "
            f"(learning_rate={lr} is probably too large); the parameters are those of iteration "
            f"{done}, the last whose cost was finite"
        )
    return costs, final_cost, done, pending


def _fit_arrays(
    X, Y, parameters, activations, output, slope, lr, num_iterations, cost_every, report
):
    """The course models' training: validate, copy parameters to C order, train. Raises any
    pending interrupt after training stopped cleanly."""
    dims, dtype = check_parameters(parameters)
    X = as_matrix(X, "X", dtype, shape=(dims[0], None))
    Y = as_labels(Y, X.shape[1], dtype, binary=(output == "sigmoid"))
    L = len(dims) - 1
    Ws = [np.array(parameters[f"W{l}"], dtype=dtype, order="C") for l in range(1, L + 1)]
    bs = [np.array(parameters[f"b{l}"], dtype=dtype, order="C") for l in range(1, L + 1)]
    costs, final_cost, done, pending = _run_training(
        X, Y, Ws, bs, activations, slope, output, lr, num_iterations, cost_every, report
    )
    if pending is not None:
        raise pending
    return Ws, bs, costs, final_cost, done


class Model:
    """A fully-connected network ``layer_dims = [n_x, n_1, …, n_L]`` in the course's notation.

    Parameters
    ----------
    layer_dims : sequence of int
        Layer sizes, input first. ``[n_x, 1]`` is logistic (or linear) regression.
    hidden_activation : str or sequence of str
        "relu" (default), "tanh", "sigmoid", "leaky_relu" or "linear", or one per hidden layer.
    output : {"sigmoid", "linear"}
        "sigmoid": binary classification with cross-entropy; "linear": regression with squared error.
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
        Cost at iterations 0, cost_every, 2·cost_every, … of the last fit.
    n_iter_ : int
        Iterations completed by the last fit.
    parameters : dict
        W1, b1, …, WL, bL (copies), in the course's shapes.
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
        self.output = _check_choice(output, "output", tuple(OUTPUTS))
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
        dims = self.layer_dims
        if init is _GIVEN:  # from_parameters fills the weights in; nothing to draw
            self._W = [np.empty((dims[l], dims[l - 1]), self.dtype) for l in range(1, L + 1)]
        else:
            rng = np.random.RandomState(seed)
            self._W = [
                INITS[init].draw(rng, dims[l], dims[l - 1]).astype(self.dtype)
                for l in range(1, L + 1)
            ]
        self._b = [np.zeros((dims[l], 1), dtype=self.dtype) for l in range(1, L + 1)]

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
        for l in range(1, len(dims)):
            for key, store in ((f"W{l}", self._W), (f"b{l}", self._b)):
                value = np.array(parameters[key], dtype=self.dtype, order="C")
                if not np.isfinite(value).all():
                    raise ValueError(f"parameters[{key!r}] contains NaN or infinity")
                store[l - 1] = value

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """W1, b1, …, WL, bL as copies, in the course's shapes (n_l, n_{l-1}) and (n_l, 1)."""
        out = {}
        for l, (W, b) in enumerate(zip(self._W, self._b, strict=True), start=1):
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

    def _standardized(self, X: np.ndarray) -> np.ndarray:
        if self.x_mean_ is not None:
            X = np.ascontiguousarray((X - self.x_mean_) / self.x_scale_, dtype=self.dtype)
        return X

    def _labels(self, Y, m: int) -> np.ndarray:
        return as_labels(Y, m, self.dtype, binary=(self.output == "sigmoid"))

    # --- training ------------------------------------------------------------------------------

    def fit(
        self,
        X,
        Y,
        learning_rate: float = 0.0075,
        num_iterations: int = 3000,
        print_cost: bool = False,
        cost_every: int = 100,
        callback: Callable[[int, float], object] | None = None,
        path: str = "auto",
    ) -> Model:
        """Full-batch gradient descent from the current parameters, entirely in compiled code.

        Prints "Cost after iteration i: J" at each recorded cost when ``print_cost``;
        ``callback(i, cost)`` runs at the same moments (every ``cost_every`` iterations, from 0).
        Ctrl-C stops within a fraction of a second with the parameters of the last completed
        iteration and re-raises KeyboardInterrupt. A diverging cost raises FloatingPointError
        with the parameters of the last iteration whose cost was finite.

        ``path`` chooses how layer 1 is trained: "direct" (W1·X and dZ1·Xᵀ every iteration),
        "gram" (for wide inputs, n_x > m: Z1 advanced through the m×m matrix XᵀX and W1
        materialised when training stops; same result up to rounding) or "auto" (the one with
        fewer FLOPs for this shape and iteration count).
        """
        lr = check_learning_rate(learning_rate)
        num_iterations = check_count(num_iterations, "num_iterations")
        cost_every = check_count(cost_every, "cost_every")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable; got {callback!r}")
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("this Model is already being fitted in another thread")
        try:
            X = as_matrix(X, "X", self.dtype, shape=(self.layer_dims[0], None))
            if self.standardize:
                self.x_mean_ = X.mean(axis=1, keepdims=True)
                scale = X.std(axis=1, keepdims=True)
                self.x_scale_ = np.where(scale > 0, scale, 1).astype(self.dtype)
            X = self._standardized(X)
            Y = self._labels(Y, X.shape[1])

            def report(i, cost):
                if print_cost:
                    print(f"Cost after iteration {i}: {cost}")
                if callback is not None:
                    callback(i, cost)

            self.costs_, self.n_iter_ = [], 0
            costs, _, done, pending = _run_training(
                X,
                Y,
                self._W,
                self._b,
                self.hidden_activations,
                self.leaky_slope,
                self.output,
                lr,
                num_iterations,
                cost_every,
                report,
                path,
            )
            self.costs_, self.n_iter_ = costs, done
        finally:
            self._lock.release()
        if pending is not None:
            raise pending
        return self

    # --- inference -----------------------------------------------------------------------------

    def forward(self, X) -> np.ndarray:
        """A[L] for inputs X (n_x, m): probabilities for a sigmoid output, values for linear."""
        # NaN/inf anywhere in X reaches Z1 = W1·X + b1 (0·inf is NaN too): checking the (n_1, m)
        # Z1 costs far less than scanning the (n_x, m) X, which inference would pay every call.
        X = self._inputs(X, check_finite=False)
        A, finite = kernels.forward(X, self._W, self._b, self.activations, self.leaky_slope)
        if not finite:
            raise ValueError("X contains NaN or infinity (or W1·X overflows)")
        return A

    def predict_proba(self, X) -> np.ndarray:
        """P(y = 1 | x) as a (1, m) array (sigmoid output only)."""
        if self.output != "sigmoid":
            raise ValueError("predict_proba needs output='sigmoid'; this model is a regressor")
        return self.forward(X)

    def predict(self, X) -> np.ndarray:
        """(1, m) predictions: 0/1 at threshold 0.5 for a sigmoid output, values for linear."""
        A = self.forward(X)
        return (A > 0.5).astype(self.dtype) if self.output == "sigmoid" else A

    def score(self, X, Y) -> float:
        """Accuracy (sigmoid output) or the coefficient of determination R² (linear output)."""
        P = self.predict(X)
        Y = self._labels(Y, P.shape[1])
        if self.output == "sigmoid":
            return float(np.mean(P == Y))
        ss_res = float(np.sum((Y - P) ** 2))
        ss_tot = float(np.sum((Y - Y.mean()) ** 2))
        return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)

    # --- persistence ---------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (.npz, no pickle) atomically: a temporary file in the same
        directory, then os.replace, so an interrupted save never leaves a half-written file."""
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
        for l, (W, b) in enumerate(zip(self._W, self._b, strict=True), start=1):
            arrays[f"W{l}"] = W
            arrays[f"b{l}"] = b
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
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: invalid fastnn model file: {err}") from None
    return model
