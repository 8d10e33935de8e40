"""What a training run is given and what it gives back, shared by the compiled engine
(``fastnn._engine.train``) and its numpy twin (``fastnn.reference.train``).

- :class:`TrainSpec`: everything that describes a run (the network's activations and output, the
  optimizer and its hyperparameters, batches, decay, L2, early stopping), validated once by
  ``fastnn._training`` and packed by the engine into one C struct;
- :class:`TrainState`: what a run changes and a later run continues from: the parameters in one
  flat buffer θ (W1..WL then b1..bL, each W[l] and b[l] a view into it), the optimizer's state
  vectors, the step counter t and the epoch counter;
- :class:`TrainResult`: what a run reports.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from fastnn._registry import OPTIMIZERS

__all__ = ["TrainSpec", "TrainState", "TrainResult", "DIVERGENCE_FACTOR"]

#: A recorded cost above this many times the first cost recorded in the same fit counts as a
#: divergence, as does a cost that is not finite (see TrainSpec.divergence_factor).
DIVERGENCE_FACTOR = 1e6


#: what validation data can measure (TrainSpec.validation_metric); the index is the engine's id
VALIDATION_METRICS = ("cost", "accuracy", "r2")


@dataclass(frozen=True)
class TrainSpec:
    """One training run. Epoch e of the run is epoch ``E = state.epoch + e`` of the model: the
    shuffle seed, the decay and the recording schedule follow E, so a run continued with the
    same state (warm start) goes on exactly as one longer run would.

    Full batch (``mini_batch_size`` None): an epoch is one gradient step over all of X, and the
    cost of epoch E is that of the parameters before its step. Mini-batches: epoch E permutes
    the columns as ``RandomState(seed + 1 + E).permutation(m)`` and steps through full batches
    then the remainder; its cost is Σ over its batches of (Σ loss + (λ/2)·Σ‖W‖²) / m, each batch's
    loss and weights taken before that batch's step (the course's epoch cost).

    Costs are recorded at E % cost_every == 0 (0: never) and computed at the run's last epoch.
    A cost that is not finite or exceeds ``divergence_factor`` times the first cost computed
    since the optimizer started (``state.cost0``, kept across warm-started runs) stops the run,
    with the state (parameters, optimizer state, counters) of the last epoch whose cost was
    computed and passed restored. The decay gives epoch E > 0 the rate after epoch E − 1. An
    exception inside a mini-batch epoch (Ctrl-C, between steps) restores the state at that
    epoch's start. With validation data, its cost (the mean loss, no L2) is computed after
    every epoch of a mini-batch run and at every recorded epoch of a full-batch run; when it
    has not improved by ``tol`` for ``n_iter_no_change`` of them the run stops, and a run that
    ends without an exception restores the state with the best validation cost. Without
    validation data, ``stop_on_plateau`` applies scikit-learn's rule to the training cost of
    every epoch (which cost_every = 1 computes): more than ``n_iter_no_change`` epochs in a row
    whose cost is not below the best so far minus ``tol`` stop the run, keeping its last state.
    With validation data and ``stop_on_plateau`` (mini-batches only; scikit-learn's
    early_stopping), that rule watches −(the validation score, ``validation_metric``) after
    every epoch instead, the scores go into TrainResult.validation_costs, and the run ends
    with the θ of the best score (or the starting θ, if none beat ``state.best_loss``), with
    the last epoch's optimizer state and counters.

    Sample weights (scikit-learn's ``sample_weight``) weight each example's loss and
    gradient; a batch's loss and gradient are then normalised by its Σ w instead of its size,
    and its epoch cost is Σ over batches of cnt·(Σ w·loss + (λ/2)·Σ‖W‖²) / (Σ w) / m.
    """

    activations: tuple[str, ...]  # one per hidden layer
    output: str
    slope: float
    learning_rate: float
    num_epochs: int
    mini_batch_size: int | None = None
    cost_every: int = 100
    optimizer: str = "gd"
    beta: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    lambd: float = 0.0
    decay: str | Callable | None = None  # None, a DECAYS name, or decay(lr0, epoch, decay_rate)
    decay_rate: float = 1.0
    time_interval: int = 1000
    seed: int = 0
    n_iter_no_change: int = 10
    tol: float = 1e-4
    stop_on_plateau: bool = False
    shuffle: bool = True  # mini-batches: False takes them in X's column order every epoch
    # with stop_on_plateau: scikit-learn's "adaptive" schedule, the rate divided by 5 where the
    # rule would stop (which it does once the rate is at most 1e-6)
    adaptive: bool = False
    # multiplies the loss part of every training cost (not the L2 part, not the gradient, not
    # the validation costs): scikit-learn's MLPRegressor reports its squared error averaged over
    # the outputs, loss_scale = 1 / n_L
    loss_scale: float = 1.0
    # a numpy RandomState's legacy state (RandomState.get_state()) whose one stream shuffles
    # every epoch, as scikit-learn's MLP does: the run starts from the order 0..m−1 and epoch
    # e's order is epoch e − 1's permuted by the stream's permutation(m); None: epoch E shuffles
    # with RandomState(seed + 1 + E) (the course's). TrainResult.shuffle_state continues it.
    shuffle_state: tuple | None = field(default=None, compare=False, repr=False)
    # what validation data measures: "cost" (the mean loss, no L2), "accuracy" or "r2" (the
    # scores scikit-learn's early_stopping watches, through stop_on_plateau)
    validation_metric: str = "cost"
    # inverted dropout: the keep_prob of each hidden layer (() or all 1: none); masks are drawn
    # per step from (seed, step, layer, unit, column) by fnn_random.h's counter-based generator
    keep_probs: tuple[float, ...] = ()
    gram: bool = False  # full-batch gd without L2 or validation: layer 1 through XᵀX
    divergence_factor: float = DIVERGENCE_FACTOR

    @property
    def fused(self) -> bool:
        """Plain gradient descent without L2: the update is fused into the dW GEMM (beta = 1)."""
        return OPTIMIZERS[self.optimizer].fusable and self.lambd == 0

    @property
    def hyperparameters(self) -> dict[str, float]:
        return {
            "beta": self.beta,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "epsilon": self.epsilon,
        }


def theta_layout(layer_dims: Sequence[int]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Offsets (start, stop) of W1..WL and of b1..bL in θ: all weights first, then all biases,
    so that the weights (which L2 penalises) are one contiguous range θ[:n_w]."""
    return _layout(tuple(layer_dims))


@functools.lru_cache(maxsize=64)
def _layout(layer_dims: tuple[int, ...]) -> tuple[tuple[tuple[int, int], ...], ...]:
    W, b, at = [], [], 0
    for l in range(1, len(layer_dims)):
        size = layer_dims[l] * layer_dims[l - 1]
        W.append((at, at + size))
        at += size
    for l in range(1, len(layer_dims)):
        b.append((at, at + layer_dims[l]))
        at += layer_dims[l]
    return tuple(W), tuple(b)


class TrainState:
    """A network's parameters in one flat buffer θ, with W[l] and b[l] as views, and the state an
    optimizer keeps between steps (v, s: vectors of θ's size; t: steps taken) and the number of
    epochs trained (``epoch``), which a warm start continues."""

    def __init__(self, layer_dims: Sequence[int], dtype):
        self.layer_dims = [int(d) for d in layer_dims]
        self.dtype = np.dtype(dtype)
        W, b = theta_layout(self.layer_dims)
        self.theta = np.zeros(b[-1][1], dtype=self.dtype)
        self.n_w = W[-1][1]
        self.optimizer: str | None = None
        self.v: np.ndarray | None = None
        self.s: np.ndarray | None = None
        self.t = 0
        self.epoch = 0
        self.cost0 = float("nan")
        self.seed: int | None = None  # the shuffle seed the optimizer started with
        self.reset_plateau()
        self._views()

    @classmethod
    def from_arrays(cls, Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray], optimizer="gd"):
        """A state holding copies of W1..WL and b1..bL (dtype of W1), with a fresh optimizer."""
        dims = [Ws[0].shape[1], *(W.shape[0] for W in Ws)]
        state = cls(dims, Ws[0].dtype)
        for l, (W, b) in enumerate(zip(Ws, bs, strict=True)):
            state.W[l][...] = W
            state.b[l][...] = np.reshape(b, (-1, 1))
        state.reset_optimizer(optimizer)
        return state

    def _views(self) -> None:
        dims = self.layer_dims
        Wo, bo = theta_layout(dims)
        self.W = [self.theta[a:z].reshape(dims[l + 1], dims[l]) for l, (a, z) in enumerate(Wo)]
        self.b = [self.theta[a:z].reshape(dims[l + 1], 1) for l, (a, z) in enumerate(bo)]

    def reset_optimizer(self, name: str | None) -> None:
        """Fresh state for optimizer ``name`` (zeros), t = 0, epoch = 0, and no reference cost
        for the divergence rule yet (``cost0``: the first cost computed since, kept across
        warm-started runs and partial_fit calls, so that their blow-ups are caught too)."""
        n_state = OPTIMIZERS[name].n_state if name is not None else 0
        self.optimizer = name
        self.v = np.zeros_like(self.theta) if n_state >= 1 else None
        self.s = np.zeros_like(self.theta) if n_state >= 2 else None
        self.t = 0
        self.epoch = 0
        self.cost0 = float("nan")

    def reset_plateau(self) -> None:
        """No history for stop_on_plateau: no best training cost yet, no epochs without
        improvement (warm starts continue both; the optimizer's reset leaves them)."""
        self.best_loss = float("inf")
        self.no_improvement = 0

    @property
    def opt_state(self) -> list[np.ndarray]:
        return [a for a in (self.v, self.s) if a is not None]

    def copy(self) -> TrainState:
        """An independent copy: θ, the optimizer state and the counters."""
        new = object.__new__(TrainState)
        new.__dict__.update(self.__dict__)
        new.layer_dims = list(self.layer_dims)
        new.theta = self.theta.copy()
        new.v = None if self.v is None else self.v.copy()
        new.s = None if self.s is None else self.s.copy()
        new._views()
        return new

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["W"], state["b"]  # views: rebuilt on unpickling, so they share θ again
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "best_loss" not in state:  # pickled before stop_on_plateau existed
            self.reset_plateau()
        self._views()

    def __repr__(self) -> str:
        return (
            f"TrainState({self.layer_dims}, {self.dtype.name}, optimizer={self.optimizer!r}, "
            f"t={self.t}, epoch={self.epoch})"
        )


@dataclass
class TrainResult:
    """What a run reports. Epoch numbers are the model's (E), not the run's."""

    costs: list[float] = field(default_factory=list)  # at E % cost_every == 0
    validation_costs: list[float] = field(default_factory=list)
    final_cost: float = float("nan")  # the cost of the run's last epoch
    n_done: int = 0  # epochs of this run that the parameters reflect
    pending: BaseException | None = None  # Ctrl-C or a callback's exception
    diverged_at: int = -1  # the epoch whose cost diverged
    diverged_cost: float = float("nan")
    first_cost: float = float("nan")  # the divergence rule's reference (state.cost0)
    best_cost: float = float("inf")  # the best validation cost
    best_epoch: int = -1  # the epoch count of the state with the best validation cost
    stopped_early: bool = False
    shuffle_state: tuple | None = None  # the stream's state after the run (spec.shuffle_state)
    final_learning_rate: float = float("nan")  # the rate the run ended with (decay, adaptive)
