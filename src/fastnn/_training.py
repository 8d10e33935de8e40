"""Between the public training calls and the engine: the training arguments checked once (into
a ``TrainSpec``), the validation split, the run through the (optionally cross-checked) engine,
and the errors a run ends with. Model.fit / partial_fit, the course's models in
``fastnn.functional`` and the scikit-learn estimators all train through here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np

from fastnn._dispatch import kernels
from fastnn._registry import DECAYS, OPTIMIZERS, OUTPUTS, get_output, lookup
from fastnn._spec import (
    DIVERGENCE_FACTOR,
    VALIDATION_METRICS,
    TrainResult,
    TrainSpec,
    TrainState,
)
from fastnn._validation import (
    as_matrix,
    as_targets,
    check_count,
    check_learning_rate,
    check_parameters,
)

__all__ = [
    "PATHS",
    "make_spec",
    "check_seed",
    "check_keep_prob",
    "check_split_weights",
    "split_validation",
    "run",
    "train_parameters",
]

PATHS = ("auto", "direct", "gram")
SEED_MAX = 2**32 - 1  # numpy's legacy seeding takes seeds in [0, 2**32 - 1]


def _check_real(
    value, name: str, *, low: float, high: float = math.inf, low_open=False, high_open=False
) -> float:
    """A finite number in the given range; TypeError or ValueError naming ``name``."""
    if type(value) is not float and (  # the usual case first: isinstance on ABCs is slow
        isinstance(value, bool) or not isinstance(value, numbers.Real)
    ):
        raise TypeError(f"{name} must be a number; got {value!r}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not (
        math.isfinite(x)
        and (x > low if low_open else x >= low)
        and (x < high if high_open else x <= high)
    ):
        if math.isinf(high):
            want = f"{'>' if low_open else '>='} {low:g}"
        else:
            want = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number {want}; got {value!r}")
    return x


def check_seed(seed, name: str = "seed") -> int:
    """An int in [0, 2**32 - 1], as numpy's RandomState takes."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be an integer in [0, 2**32 - 1]; got {seed!r}")
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"{name} must be in [0, 2**32 - 1]; got {seed}")
    return int(seed)


def make_spec(
    *,
    layer_dims,
    m: int,
    activations,
    output: str,
    slope: float,
    learning_rate,
    num_epochs,
    mini_batch_size=None,
    cost_every=100,
    optimizer="gd",
    beta=0.9,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    lambd=0.0,
    decay=None,
    decay_rate=1.0,
    time_interval=1000,
    seed=0,
    epoch0: int = 0,
    validating: bool = False,
    weighted: bool = False,
    n_iter_no_change=10,
    tol=1e-4,
    stop_on_plateau=False,
    adaptive=False,
    shuffle=True,
    loss_scale=1.0,
    shuffle_state=None,
    validation_metric="cost",
    divergence_factor=DIVERGENCE_FACTOR,
    path="auto",
    keep_prob=1.0,
) -> TrainSpec:
    """Check every training argument and pack them into a TrainSpec; ``m`` is the number of
    training examples, ``epoch0`` the epoch the run starts at (a warm start's), ``validating``
    and ``weighted`` whether validation data and sample weights come with the run (neither
    goes the Gram path)."""
    output = get_output(output, layer_dims[-1]).name
    lr = check_learning_rate(learning_rate)
    num_epochs = check_count(num_epochs, "num_epochs")
    cost_every = check_count(cost_every, "cost_every")
    if mini_batch_size is not None:
        mini_batch_size = check_count(mini_batch_size, "mini_batch_size", minimum=1)
        mini_batch_size = min(mini_batch_size, m)
    opt = lookup(OPTIMIZERS, optimizer, "optimizer")
    beta = _check_real(beta, "beta", low=0, high=1, high_open=True)
    beta1 = _check_real(beta1, "beta1", low=0, high=1, high_open=True)
    beta2 = _check_real(beta2, "beta2", low=0, high=1, high_open=True)
    epsilon = _check_real(epsilon, "epsilon", low=0, low_open=True)
    lambd = _check_real(lambd, "lambd", low=0)
    if decay is not None and not callable(decay):
        lookup(DECAYS, decay, "decay (or a function decay(learning_rate0, epoch_num, decay_rate))")
    decay_rate = _check_real(decay_rate, "decay_rate", low=0)
    time_interval = check_count(time_interval, "time_interval", minimum=1)
    seed = check_seed(seed)
    if mini_batch_size is not None and seed + epoch0 + num_epochs > SEED_MAX:
        raise ValueError(
            f"seed must leave room for the epochs' seeds: epoch e shuffles with seed + 1 + e, "
            f"and seed {seed} + 1 + epoch {epoch0 + num_epochs - 1} exceeds 2**32 - 1"
        )
    n_iter_no_change = check_count(n_iter_no_change, "n_iter_no_change", minimum=1)
    tol = _check_real(tol, "tol", low=0)
    if isinstance(divergence_factor, bool) or not isinstance(divergence_factor, numbers.Real):
        raise TypeError(f"divergence_factor must be a number > 1; got {divergence_factor!r}")
    if not divergence_factor > 1:  # math.inf is allowed: only non-finite costs then
        raise ValueError(f"divergence_factor must be > 1; got {divergence_factor!r}")
    if path not in PATHS:
        valid = ", ".join(repr(p) for p in PATHS)
        raise ValueError(f"path must be one of {valid}; got {path!r}")
    flags = ((stop_on_plateau, "stop_on_plateau"), (shuffle, "shuffle"), (adaptive, "adaptive"))
    for flag, name in flags:
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {flag!r}")
    loss_scale = _check_real(loss_scale, "loss_scale", low=0, low_open=True)
    if shuffle_state is not None and mini_batch_size is None:
        raise ValueError(
            "a shuffle stream (shuffle_rng) shuffles mini-batches: give mini_batch_size"
        )
    if adaptive and (not stop_on_plateau or decay is not None):
        raise ValueError(
            "adaptive divides the learning rate where stop_on_plateau would stop: it needs "
            "stop_on_plateau=True and no decay"
        )
    if validation_metric not in VALIDATION_METRICS:
        valid = ", ".join(repr(x) for x in VALIDATION_METRICS)
        raise ValueError(f"validation_metric must be one of {valid}; got {validation_metric!r}")
    scores = {"accuracy": "classifier", "r2": "regression"}
    if validation_metric in scores and OUTPUTS[output].classifier != (
        validation_metric == "accuracy"
    ):
        raise ValueError(
            f"validation_metric={validation_metric!r} scores a {scores[validation_metric]} "
            f"output; output={output!r} is not one"
        )
    if validation_metric != "cost" and not (validating and stop_on_plateau):
        raise ValueError(
            f"validation_metric={validation_metric!r} is scikit-learn's early_stopping score: it "
            "needs validation data and stop_on_plateau=True"
        )
    if stop_on_plateau and (cost_every != 1 or (validating and mini_batch_size is None)):
        raise ValueError(
            "stop_on_plateau watches every epoch (the training cost, or with validation data "
            "the validation score of every mini-batch epoch): it needs cost_every=1"
            + (" and mini_batch_size" if validating else "")
            + f"; got cost_every={cost_every!r}"
        )
    if validating and mini_batch_size is None and cost_every == 0:
        raise ValueError(
            "early stopping in full-batch training checks the validation cost at each recorded "
            "iteration: cost_every must be > 0"
        )
    keep_probs = check_keep_prob(keep_prob, len(layer_dims) - 2)
    dropout = any(k < 1 for k in keep_probs)
    gram_allowed = (
        mini_batch_size is None
        and opt.fusable
        and lambd == 0
        and not (validating or dropout or weighted)
    )
    if path == "gram" and not gram_allowed:
        raise ValueError(
            "path='gram' is for full-batch gradient descent (mini_batch_size=None, "
            "optimizer='gd') without L2 (lambd=0), validation, dropout (keep_prob=1) or "
            "sample weights"
        )
    if path == "auto":
        from fastnn._engine import gram_is_cheaper

        gram = gram_allowed and gram_is_cheaper(layer_dims, m, num_epochs)
    else:
        gram = path == "gram"
    return TrainSpec(
        activations=tuple(activations),
        output=output,
        slope=slope,
        learning_rate=lr,
        num_epochs=num_epochs,
        mini_batch_size=mini_batch_size,
        cost_every=cost_every,
        optimizer=opt.name,
        beta=beta,
        beta1=beta1,
        beta2=beta2,
        epsilon=epsilon,
        lambd=lambd,
        decay=decay,
        decay_rate=decay_rate,
        time_interval=time_interval,
        seed=seed,
        n_iter_no_change=n_iter_no_change,
        tol=tol,
        stop_on_plateau=bool(stop_on_plateau),
        shuffle=bool(shuffle),
        adaptive=bool(adaptive),
        loss_scale=loss_scale,
        shuffle_state=shuffle_state,
        validation_metric=validation_metric,
        gram=gram,
        divergence_factor=float(divergence_factor),
        keep_probs=keep_probs if dropout else (),
    )


def check_keep_prob(keep_prob, n_hidden: int) -> tuple[float, ...]:
    """Inverted dropout's keep_prob: one number for every hidden layer, or one per hidden
    layer, each in (0, 1]; returns one per hidden layer."""
    scalar = isinstance(keep_prob, numbers.Real) and not isinstance(keep_prob, bool)
    values = [keep_prob] * max(n_hidden, 1) if scalar else keep_prob
    try:
        if isinstance(values, (str, bytes, Mapping)):
            raise TypeError
        values = list(values)
    except TypeError:
        raise TypeError(
            f"keep_prob must be a number in (0, 1] or one per hidden layer; got {keep_prob!r}"
        ) from None
    if not scalar and len(values) != n_hidden:
        raise ValueError(
            f"keep_prob needs one value per hidden layer ({n_hidden}); got {len(values)}"
        )
    for k in values:
        if isinstance(k, bool) or not isinstance(k, numbers.Real):
            raise TypeError(f"keep_prob must hold numbers in (0, 1]; got {k!r}")
        if not 0 < k <= 1:
            raise ValueError(f"keep_prob must be in (0, 1] (the share of units kept); got {k!r}")
    if n_hidden == 0 and (any(k != 1 for k in values) if scalar else len(values) > 0):
        raise ValueError(
            f"keep_prob drops hidden units; this network has no hidden layer; got {keep_prob!r}"
        )
    return tuple(float(k) for k in values[:n_hidden])


def _columns(X: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """X[:, idx], in X's layout (examples stay contiguous in an F-ordered X)."""
    if X.flags.f_contiguous and not X.flags.c_contiguous:
        return np.asfortranarray(X.T[idx].T)
    return np.ascontiguousarray(X[:, idx])


def split_validation(X, Y, validation_fraction, seed: int, w=None):
    """The seeded split: ⌈fraction·m⌉ examples drawn by RandomState(seed).permutation(m) hold
    out for validation; both parts keep the examples' order. Returns (X, Y, X_val, Y_val,
    w_val, w): the sample weights w (or None) split the same way."""
    fraction = _check_real(
        validation_fraction, "validation_fraction", low=0, high=1, low_open=True, high_open=True
    )
    m = X.shape[1]
    n_val = math.ceil(fraction * m)
    if not 1 <= n_val <= m - 1:
        raise ValueError(
            f"validation_fraction={validation_fraction!r} of {m} examples leaves "
            f"{m - n_val} for training and {n_val} for validation; both need at least one"
        )
    perm = np.random.RandomState(seed).permutation(m)
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    parts = _columns(X, train), _columns(Y, train), _columns(X, val), _columns(Y, val)
    if w is None:
        return (*parts, None, None)
    check_split_weights(w[train], w[val], "validation_fraction")
    return (*parts, w[val], w[train])


def check_split_weights(w_train, w_val, name: str) -> None:
    """Both parts of a split of sample weights must weigh something: ValueError naming
    ``name`` (the split's argument) otherwise."""
    for part, weights in (("training", w_train), ("validation", w_val)):
        if weights is not None and not np.sum(weights, dtype=np.float64) > 0:
            raise ValueError(
                f"sample_weight: the {part} part of the {name} split weighs 0 (all its "
                f"{len(weights)} examples have weight 0); nothing to average over there"
            )


def run(
    spec: TrainSpec, X, Y, state: TrainState, report=None, validation=None, sample_weight=None
) -> TrainResult:
    """One run through the engine (cross-checked when cross-check mode is on), in place on
    ``state``. The caller commits the state and then raises ``divergence_error`` or the
    pending exception, in that order."""
    return kernels.train(spec, X, Y, state, report, validation, sample_weight)


def divergence_error(spec: TrainSpec, result: TrainResult, state: TrainState) -> FloatingPointError:
    """The error a diverged run ends with: what diverged where, and what was restored."""
    unit = "epoch" if spec.mini_batch_size else "iteration"
    cost = result.diverged_cost
    why = (
        f"the cost is {cost}"
        if not math.isfinite(cost)
        else f"the cost rose to {cost:.6g}, more than {spec.divergence_factor:g} times the "
        f"first cost of this fit ({result.first_cost:.6g})"
    )
    return FloatingPointError(
        f"training diverged at {unit} {result.diverged_at}: {why} (learning_rate="
        f"{spec.learning_rate} is probably too large); the parameters are restored to those "
        f"after {state.epoch} {unit}s, the last whose cost passed"
    )


def train_parameters(
    X,
    Y,
    parameters: Mapping,
    activations,
    output: str,
    slope: float,
    learning_rate,
    num_iterations,
    cost_every: int,
    report: Callable | None,
):
    """The course models' training: full-batch gradient descent on a parameters dict (W1, b1,
    …), which is not modified. Returns (W list, b list, result); raises divergence and any
    pending interrupt."""
    dims, dtype = check_parameters(parameters)
    X = as_matrix(X, "X", dtype, shape=(dims[0], None))
    Y = as_targets(Y, X.shape[1], dtype, output, dims[-1])
    state = TrainState(dims, dtype)
    for l in range(1, len(dims)):
        state.W[l - 1][...] = np.asarray(parameters[f"W{l}"], dtype=dtype)
        state.b[l - 1][...] = np.asarray(parameters[f"b{l}"], dtype=dtype)
    state.reset_optimizer("gd")
    spec = make_spec(
        layer_dims=dims,
        m=X.shape[1],
        activations=activations,
        output=output,
        slope=slope,
        learning_rate=learning_rate,
        num_epochs=num_iterations,
        cost_every=cost_every,
    )
    result = run(spec, X, Y, state, report)
    if result.diverged_at >= 0:
        raise divergence_error(spec, result, state)
    if result.pending is not None:
        raise result.pending
    return [W.copy() for W in state.W], [b.copy() for b in state.b], result
