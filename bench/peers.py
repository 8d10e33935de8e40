"""Benchmark workloads and the implementations compared on them, shared by the pytest benchmarks
(``bench/test_bench.py``) and the stand-alone report (``bench/report.py``).

Every implementation trains the same network on the same data from the same initial parameters
with full-batch gradient descent, in the course's notation: X (n_x, m), one example per column,
hidden layers ``g(W·A + b)``, a sigmoid output with the cross-entropy cost. They differ only in
who runs the loop:

=================  ===========================================================================
``fastnn``         ``fastnn.Model.fit`` (the compiled loop; ``path="auto"`` when fit has it)
``fastnn-direct``  the same with ``path="direct"`` (only when fit has ``path`` and n_x > m)
``fastnn-gram``    the same with ``path="gram"`` (only when fit has ``path`` and n_x > m)
``reference``      ``fastnn.reference.train``, the pure-numpy course loop
``torch``          PyTorch CPU: autograd + manual SGD updates, full batch (optional)
``jax``            JAX: ``jax.jit`` of a ``value_and_grad`` step; fits run a jitted
                   ``lax.fori_loop`` over the steps, the "whole loop compiled" form (optional)
``floor``          only the GEMMs one training step needs, called through scipy's BLAS (the
                   library fastnn's kernels use) on preallocated arrays: the "GEMM floor"
=================  ===========================================================================

Each implementation object has ``set_params``/``get_params`` (lists of numpy ``(W, b)``),
``step()`` (one training iteration, one call), ``fit(n)`` (n iterations in one call, the
implementation's best form) and ``forward()`` (A[L] for the training X, inference only);
``to_numpy`` converts what ``forward`` returns. The floor has ``step``, ``fit`` and ``forward``
(the forward GEMMs only) and ``verify()`` instead of parameters.

Import ``fastnn`` before numpy's BLAS is loaded if you can (``fastnn`` picks OpenBLAS' core type
at import, and numpy's own OpenBLAS then gets the same one): this module does that itself.
"""

from __future__ import annotations

import functools
import inspect
import os
from dataclasses import dataclass, replace
from pathlib import Path

# isort: off
import fastnn  # first: sets OPENBLAS_CORETYPE before scipy's (and, if still unloaded, numpy's) BLAS
import numpy as np

# isort: on
from fastnn import reference
from fastnn._spec import TrainSpec, TrainState
from fastnn.datasets import make_planar
from fastnn.model import Model

# Benchmarks time fastnn's kernels, never the cross-checking wrapper (FASTNN_CROSSCHECK=1).
fastnn.set_crosscheck(False)

#: Iterations run by the correctness checks (fastnn and every peer against the reference).
CHECK_ITERS = 3
#: layer dims (and m) of the "wide" workload in reduced mode (``pytest bench --benchmark-disable``)
REDUCED_WIDE_DIMS = (512, 512, 512, 1)
#: Cost recording interval passed to fastnn and the reference (the course's 100).
COST_EVERY = 100


def _affinity() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


_CPUS = _affinity()  # the CPUs this process may use, as it started


def n_cores() -> int:
    """CPU cores this process may use (as it started, before any ``limit_threads``)."""
    return len(_CPUS) if _CPUS else (os.cpu_count() or 1)


_THREADS = {"n": None}


def n_threads() -> int:
    """Threads every implementation gets: all usable cores, unless ``limit_threads`` said less."""
    return _THREADS["n"] or n_cores()


def limit_threads(n: int):
    """Run everything on ``n`` threads: both OpenBLAS copies (threadpoolctl, when installed) and
    torch get n threads, and the process (so XLA, whose thread pool ignores its flags) is pinned
    to n CPUs; do it before JAX is imported. Returns a function undoing it (XLA threads created
    meanwhile stay pinned).

    For the quick correctness run, where timings do not matter and on a busy machine 2-thread
    BLAS and OpenMP calls stall whenever one of the threads is descheduled; and for
    ``report.py --threads``."""
    import sys

    previous = _THREADS["n"]
    _THREADS["n"] = n
    limiter = None
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(n)
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    pinned = False
    if _CPUS and n < len(_CPUS):
        os.sched_setaffinity(0, sorted(_CPUS)[:n])
        pinned = True

    def restore() -> None:
        _THREADS["n"] = previous
        if limiter is not None:
            limiter.restore_original_limits()
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(n_threads())
        if pinned:
            os.sched_setaffinity(0, _CPUS)

    return restore


# --------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Workload:
    name: str
    dims: tuple[int, ...]
    hidden: str
    dtype: str  # "float64" | "float32"
    m: int
    lr: float
    init: str
    data: str  # "cat" | "planar" | "random" | "randn"
    fit_iters: int = 100  # iterations of the pytest "fit" benchmark
    report_iters: int = 100  # N of report.py: the numpy reference's fit of N takes ~0.2 s
    description: str = ""

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def activations(self) -> list[str]:
        return [self.hidden] * (len(self.dims) - 2)

    @property
    def wide_input(self) -> bool:
        """n_x > m: where a Gram-matrix path (XᵀX, m×m) can replace the first layer's GEMMs."""
        return self.dims[0] > self.m

    def gemm_flops(self) -> dict[str, int]:
        """FLOPs of the GEMMs of one training step (and of one forward pass)."""
        d, m = self.dims, self.m
        fwd = sum(2 * d[l] * d[l - 1] * m for l in range(1, len(d)))
        dA = sum(2 * d[l] * d[l - 1] * m for l in range(2, len(d)))
        return {"forward": fwd, "step": 2 * fwd + dA}

    def reduced(self) -> Workload:
        """The cheap variant used when benchmarking is disabled: only "wide" shrinks, to
        [512, 512, 512, 1] with m=512 (1/64 of its FLOPs)."""
        if self.name != "wide":
            return self
        return replace(self, dims=REDUCED_WIDE_DIMS, m=REDUCED_WIDE_DIMS[0])


_W = Workload
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        #  name      dims                  hidden  dtype      m     lr      init      data
        _W("cat64", (12288, 20, 7, 5, 1), "relu", "float64", 209, 0.0075, "course", "cat",
           report_iters=30, description="the course's L-layer cat classifier"),
        _W("cat32", (12288, 20, 7, 5, 1), "relu", "float32", 209, 0.0075, "course", "cat",
           report_iters=60, description="the same in float32"),
        _W("planar", (2, 4, 1), "tanh", "float64", 400, 1.2, "small", "planar",
           report_iters=5000, description="the course's planar flower, 4 tanh units"),
        _W("mlp", (784, 128, 64, 1), "relu", "float32", 1024, 0.05, "he", "random",
           report_iters=50, description="an MNIST-sized MLP on random data"),
        _W("wide", (2048, 2048, 2048, 1), "relu", "float32", 2048, 0.01, "he", "randn",
           fit_iters=10, report_iters=1, description="GEMM-bound: 2048-wide layers, random data"),
        _W("logreg", (12288, 1), "relu", "float64", 209, 0.005, "zeros", "cat",
           report_iters=200, description="the course's logistic regression on the cat data"),
    )
}  # fmt: skip


def datasets_dir() -> Path:
    """``$FASTNN_DATASETS`` or ``shared/datasets`` beside the repository checkout."""
    env = os.environ.get("FASTNN_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"


@functools.cache
def _cat_data() -> tuple[np.ndarray, np.ndarray, str]:
    directory = datasets_dir() / "catvnoncat"
    try:
        import h5py  # noqa: F401

        from fastnn.datasets import load_catvnoncat

        X, Y, *_ = load_catvnoncat(directory)
        return X, Y, f"catvnoncat train set ({directory})"
    except (ImportError, FileNotFoundError, ValueError) as err:
        rng = np.random.RandomState(0)
        X = rng.rand(12288, 209)
        Y = (rng.rand(1, 209) < 0.35).astype(np.float64)
        return X, Y, f"random, shaped like the cat data (cat data unavailable: {err})"


@functools.cache
def load_data(w: Workload) -> tuple[np.ndarray, np.ndarray, str]:
    """(X, Y, source) for a workload: C-contiguous arrays of its dtype, Y of 0/1."""
    n_x, m = w.dims[0], w.m
    if w.data == "cat":
        X, Y, source = _cat_data()
    elif w.data == "planar":
        X, Y = make_planar(m, seed=1)
        source = f"fastnn.datasets.make_planar({m}, seed=1)"
    elif w.data == "random":  # pixel-like features in [0, 1), a learnable label
        rng = np.random.RandomState(1)
        X = rng.rand(n_x, m)
        Y = (X[: n_x // 2].mean(axis=0) > X[n_x // 2 :].mean(axis=0)).astype(np.float64)[None]
        source = "random uniform [0, 1), seed 1"
    elif w.data == "randn":
        rng = np.random.RandomState(2)
        X = rng.standard_normal((n_x, m))
        Y = (rng.rand(1, m) < 0.5).astype(np.float64)
        source = "random standard normal, seed 2"
    else:  # pragma: no cover
        raise ValueError(w.data)
    X = np.ascontiguousarray(X, dtype=w.dtype)
    Y = np.ascontiguousarray(Y, dtype=w.dtype)
    assert X.shape == (n_x, m) and Y.shape == (1, m), (X.shape, Y.shape)
    return X, Y, source


@functools.cache
def initial_params(w: Workload) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """fastnn's seeded initialisation (seed 1, the course's draw order), in the workload's dtype."""
    model = Model(list(w.dims), w.hidden, "sigmoid", w.init, dtype=w.dtype, seed=1)
    p = model.parameters
    L = len(w.dims) - 1
    out = tuple((p[f"W{l}"], p[f"b{l}"]) for l in range(1, L + 1))
    for W, b in out:
        W.flags.writeable = b.flags.writeable = False
    return out


# --------------------------------------------------------------------------- correctness oracle


def _forward64(params, X, activations) -> np.ndarray:
    A = np.asarray(X, dtype=np.float64)
    for (W, b), act in zip(params, [*activations, "sigmoid"], strict=True):
        A, _ = reference.dense_forward(
            A, np.asarray(W, np.float64), np.asarray(b, np.float64), act, 0.01, False
        )
    return A


def cost64(params, X, Y, activations) -> float:
    """The cross-entropy cost of ``params`` on (X, Y), in float64 with the numpy reference."""
    A = _forward64(params, X, activations)
    return reference.cross_entropy_cost(A, np.asarray(Y, np.float64))


@functools.cache
def expected_after(w: Workload, iters: int = CHECK_ITERS):
    """Parameters after ``iters`` iterations from ``initial_params(w)``, by the numpy reference
    in float64 (float32 workloads: from the same float32 values, upcast)."""
    X, Y, _ = load_data(w)
    Ws = [W.astype(np.float64) for W, _ in initial_params(w)]
    bs = [b.astype(np.float64) for _, b in initial_params(w)]
    state = TrainState.from_arrays(Ws, bs)
    reference.train(_gd_spec(w, iters), X.astype(np.float64), Y.astype(np.float64), state)
    return tuple(zip(state.W, state.b, strict=True))


def _gd_spec(w: Workload, iters: int) -> TrainSpec:
    """Full-batch gradient descent on the workload, as every implementation runs it."""
    return TrainSpec(
        activations=tuple(w.activations), output="sigmoid", slope=0.01, learning_rate=w.lr,
        num_epochs=iters, cost_every=COST_EVERY,
    )  # fmt: skip


@functools.cache
def expected_forward(w: Workload) -> np.ndarray:
    X, _, _ = load_data(w)
    return _forward64(initial_params(w), X, w.activations)


def tolerances(w: Workload) -> dict[str, float]:
    """Relative tolerances of the checks for the workload's dtype."""
    if w.np_dtype == np.float64:
        return {"update": 1e-7, "cost": 1e-9, "forward": 1e-10}
    return {"update": 1e-2, "cost": 1e-4, "forward": 1e-4}


def update_error(w: Workload, params, iters: int = CHECK_ITERS) -> float:
    """max over parameters of ‖Δp − Δp_ref‖ / ‖Δp_ref‖, Δ = change from the initial parameters.

    The updates are compared, not the parameters, so a wrong gradient cannot hide under W0; in
    Frobenius norm, as in float32 a ReLU unit with Z ≈ 0 may flip and move single entries; with an
    allowance for rounding the parameters to the workload's dtype each iteration."""
    worst = 0.0
    init = initial_params(w)
    for (W0, b0), (W, b), (We, be) in zip(init, params, expected_after(w, iters), strict=True):
        for p0, p, pe in ((W0, W, We), (b0, b, be)):
            d_exp = pe - p0.astype(np.float64)
            d_got = np.asarray(p, np.float64) - p0.astype(np.float64)
            # storing W0 + ΔW in the workload's dtype rounds by ~eps·|W| per iteration: allowed
            rounding = iters * np.finfo(w.np_dtype).eps * np.linalg.norm(pe)
            scale = np.linalg.norm(d_exp) + rounding
            diff = np.linalg.norm(d_got - d_exp)
            err = diff / scale if scale > 0 else diff
            worst = max(worst, float(err))
    return worst


def check_training(w: Workload, params, iters: int = CHECK_ITERS) -> dict[str, float]:
    """Errors of ``params`` (after ``iters`` iterations from the initial ones) against the
    reference: the updates and the cost they reach. Raises AssertionError beyond tolerance."""
    X, Y, _ = load_data(w)
    tol = tolerances(w)
    upd = update_error(w, params, iters)
    c_got = cost64(params, X, Y, w.activations)
    c_exp = cost64(expected_after(w, iters), X, Y, w.activations)
    c_err = abs(c_got - c_exp) / abs(c_exp)
    assert np.isfinite(c_got), f"{w.name}: cost {c_got}"
    assert upd <= tol["update"], f"{w.name}: updates differ from the reference by {upd:.3g}"
    assert c_err <= tol["cost"], f"{w.name}: cost {c_got!r} vs reference {c_exp!r}"
    return {"update_error": upd, "cost_error": c_err}


def check_forward(w: Workload, out) -> float:
    """Max abs error of a forward output (initial parameters) against the reference."""
    got = np.asarray(out, dtype=np.float64)
    exp = expected_forward(w)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    err = float(np.abs(got - exp).max())
    assert err <= tolerances(w)["forward"], f"{w.name}: forward differs by {err:.3g}"
    return err


# --------------------------------------------------------------------------- implementations


class Unavailable(Exception):
    """The implementation cannot run here (module missing, option absent); message = reason."""


def fit_has_path() -> bool:
    """Whether ``Model.fit`` takes ``path=`` ("auto" | "direct" | "gram")."""
    return "path" in inspect.signature(Model.fit).parameters


class FastnnImpl:
    """``fastnn.Model.fit`` / ``Model.forward``; ``path`` passed only when fit has the option."""

    def __init__(self, w: Workload, path: str | None = None):
        if path is not None and not fit_has_path():
            raise Unavailable(f"Model.fit has no path= option (path={path!r} not available)")
        if path in ("direct", "gram") and not w.wide_input:
            raise Unavailable(f"path={path!r} only compared where n_x > m")
        self.w = w
        self.X, self.Y, _ = load_data(w)
        self.kw = {"path": path} if path is not None else {}
        if path is None and fit_has_path():
            self.kw = {"path": "auto"}
        self.set_params(initial_params(w))

    def set_params(self, params) -> None:
        d = {}
        for l, (W, b) in enumerate(params, start=1):
            d[f"W{l}"], d[f"b{l}"] = W, b
        self.model = Model.from_parameters(d, self.w.hidden, "sigmoid", dtype=self.w.dtype)

    def get_params(self):
        p = self.model.parameters
        return [(p[f"W{l}"], p[f"b{l}"]) for l in range(1, len(self.w.dims))]

    def fit(self, n: int) -> None:
        self.model.fit(self.X, self.Y, self.w.lr, n, cost_every=COST_EVERY, **self.kw)

    def step(self) -> None:
        self.fit(1)

    def forward(self):
        return self.model.forward(self.X)

    @staticmethod
    def to_numpy(out):
        return out


class ReferenceImpl:
    """``fastnn.reference.train`` (the numpy course loop) and its ``dense_forward``."""

    def __init__(self, w: Workload):
        self.w = w
        self.X, self.Y, _ = load_data(w)
        self.acts = w.activations
        self.set_params(initial_params(w))

    def set_params(self, params) -> None:
        self.state = TrainState.from_arrays([W for W, _ in params], [b for _, b in params])

    def get_params(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.state.W, self.state.b, strict=True)]

    def fit(self, n: int) -> None:
        reference.train(_gd_spec(self.w, n), self.X, self.Y, self.state)

    def step(self) -> None:
        self.fit(1)

    def forward(self):
        A = self.X
        for W, b, act in zip(self.state.W, self.state.b, [*self.acts, "sigmoid"], strict=True):
            A, _ = reference.dense_forward(A, W, b, act, 0.01, False)
        return A

    @staticmethod
    def to_numpy(out):
        return out


def _import_torch():
    try:
        import torch
    except ImportError as err:
        raise Unavailable(f"PyTorch not installed ({err})") from None
    if torch.get_num_threads() != n_threads():
        torch.set_num_threads(n_threads())
    return torch


class TorchImpl:
    """PyTorch CPU, what people write: autograd for the gradients, manual SGD updates under
    ``torch.no_grad()``, full batch, the dtype of the workload, ``torch.set_num_threads(cores)``."""

    def __init__(self, w: Workload):
        torch = self.torch = _import_torch()
        self.w = w
        X, Y, _ = load_data(w)
        self.X, self.Y = torch.from_numpy(X), torch.from_numpy(Y)
        self.act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[w.hidden]
        self.set_params(initial_params(w))

    def set_params(self, params) -> None:
        t = self.torch
        self.params = []
        for W, b in params:
            self.params += [t.tensor(W, requires_grad=True), t.tensor(b, requires_grad=True)]

    def get_params(self):
        p = [q.detach().numpy().copy() for q in self.params]
        return list(zip(p[0::2], p[1::2], strict=True))

    def _logits(self, X):
        p = self.params
        A = X
        for l in range(0, len(p) - 2, 2):
            A = self.act(p[l] @ A + p[l + 1])
        return p[-2] @ A + p[-1]

    def step(self) -> None:
        F = self.torch.nn.functional
        loss = F.binary_cross_entropy_with_logits(self._logits(self.X), self.Y)
        loss.backward()
        with self.torch.no_grad():
            for q in self.params:
                q -= self.w.lr * q.grad
                q.grad = None

    def fit(self, n: int) -> None:
        for _ in range(n):
            self.step()

    def forward(self):
        with self.torch.no_grad():
            return self.torch.sigmoid(self._logits(self.X))

    @staticmethod
    def to_numpy(out):
        return out.numpy()


def _import_jax():
    try:
        import jax
    except ImportError as err:
        raise Unavailable(f"JAX not installed ({err})") from None
    jax.config.update("jax_enable_x64", True)  # float64 workloads; float32 arrays stay float32
    return jax


@functools.cache
def _jax_functions(n_layers: int, hidden: str, lr: float):
    """Jitted (step, fit, forward) for a network shape; cached so each compiles once."""
    jax = _import_jax()
    jnp = jax.numpy
    act = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[hidden]

    def logits(params, X):
        A = X
        for W, b in params[:-1]:
            A = act(W @ A + b)
        W, b = params[-1]
        return W @ A + b

    def loss(params, X, Y):  # −mean[y log a + (1−y) log(1−a)] from the logits
        Z = logits(params, X)
        return jnp.mean(jax.nn.softplus(Z) - Y * Z)

    def step(params, X, Y):
        J, grads = jax.value_and_grad(loss)(params, X, Y)
        params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return params, J

    def fit(params, X, Y, n):
        def body(_, carry):
            return step(carry[0], X, Y)

        J0 = jnp.zeros((), X.dtype)
        return jax.lax.fori_loop(0, n, body, (params, J0))

    def forward(params, X):
        return jax.nn.sigmoid(logits(params, X))

    return jax.jit(step), jax.jit(fit), jax.jit(forward)


class JaxImpl:
    """JAX on the CPU: ``jax.jit`` of a ``value_and_grad`` step, full batch. ``fit(n)`` runs a
    jitted ``lax.fori_loop`` over n steps (n traced: one compilation for every n);
    ``fit_steploop(n)`` is the Python loop of jitted steps. ``jax_enable_x64`` is on, every
    array has the workload's dtype; XLA's CPU thread pool has its default size (all cores)."""

    def __init__(self, w: Workload):
        self.jax = _import_jax()
        self.w = w
        X, Y, _ = load_data(w)
        self.X, self.Y = self.jax.device_put(X), self.jax.device_put(Y)
        self._step, self._fit, self._forward = _jax_functions(len(w.dims) - 1, w.hidden, w.lr)
        self.set_params(initial_params(w))

    def set_params(self, params) -> None:
        self.params = tuple((self.jax.device_put(W), self.jax.device_put(b)) for W, b in params)

    def get_params(self):
        return [(np.array(W), np.array(b)) for W, b in self.params]

    def step(self) -> None:
        self.params, J = self._step(self.params, self.X, self.Y)
        J.block_until_ready()

    def fit(self, n: int) -> None:
        self.params, J = self._fit(self.params, self.X, self.Y, n)
        self.jax.block_until_ready((self.params, J))

    def fit_steploop(self, n: int) -> None:
        for _ in range(n):
            self.params, J = self._step(self.params, self.X, self.Y)
        self.jax.block_until_ready((self.params, J))

    def forward(self):
        return self._forward(self.params, self.X).block_until_ready()

    @staticmethod
    def to_numpy(out):
        return np.asarray(out)


class FloorImpl:
    """The GEMMs of one training step and nothing else: for l = 1..L Z[l] = W[l]·A[l-1] (forward),
    dW[l] = dZ[l]·A[l-1]ᵀ, and dA[l-1] = W[l]ᵀ·dZ[l] for l = 2..L; scipy's ?gemm (the OpenBLAS
    fastnn calls) on preallocated C-ordered arrays, written in place (no copies; checked by
    ``verify``). The buffers hold random values and do not chain: this times the GEMMs only.
    Each call costs ~1-2 µs of f2py overhead, which dominates tiny networks (planar)."""

    def __init__(self, w: Workload):
        from scipy.linalg import blas

        self.w = w
        self.gemm = blas.dgemm if w.np_dtype == np.float64 else blas.sgemm
        rng = np.random.RandomState(3)
        d, m, dt = w.dims, w.m, w.np_dtype
        L = len(d) - 1
        X, _, _ = load_data(w)

        def rand(*shape):
            return rng.standard_normal(shape).astype(dt)

        self.A = [X] + [rand(d[l], m) for l in range(1, L)]  # A[0..L-1] (inputs of each layer)
        self.W = [rand(d[l], d[l - 1]) for l in range(1, L + 1)]
        self.Z = [np.empty((d[l], m), dt) for l in range(1, L + 1)]
        self.dZ = [rand(d[l], m) for l in range(1, L + 1)]
        self.dW = [np.empty((d[l], d[l - 1]), dt) for l in range(1, L + 1)]
        self.dA = [None] + [np.empty((d[l], m), dt) for l in range(1, L)]  # dA[l-1], l ≥ 2
        self.L = L

    def forward(self):
        g = self.gemm
        for l in range(self.L):  # Zᵀ = Aᵀ·Wᵀ (C-ordered arrays are F-ordered transposes)
            g(1.0, self.A[l].T, self.W[l].T, 0.0, self.Z[l].T, overwrite_c=1)
        return self.Z[-1]

    def step(self) -> None:
        g = self.gemm
        self.forward()
        for l in reversed(range(self.L)):
            # dWᵀ = A·dZᵀ
            g(1.0, self.A[l].T, self.dZ[l].T, 0.0, self.dW[l].T, trans_a=1, overwrite_c=1)
            if l > 0:  # dA_prevᵀ = dZᵀ·W
                g(1.0, self.dZ[l].T, self.W[l].T, 0.0, self.dA[l].T, trans_b=1, overwrite_c=1)

    def fit(self, n: int) -> None:
        for _ in range(n):
            self.step()

    def verify(self) -> float:
        """Recompute every GEMM output with numpy and check the in-place results; max rel error."""
        worst = 0.0
        g = self.gemm
        for l in range(self.L):
            pairs = [
                (self.Z[l], self.W[l] @ self.A[l]),
                (self.dW[l], self.dZ[l] @ self.A[l].T),
            ]
            if l > 0:
                pairs.append((self.dA[l], self.W[l].T @ self.dZ[l]))
            for got, exp in pairs:
                err = np.abs(got - exp).max() / max(np.abs(exp).max(), 1e-30)
                worst = max(worst, float(err))
        # the results were written in place: gemm returned the buffer itself, not a copy
        out = g(1.0, self.A[0].T, self.W[0].T, 0.0, self.Z[0].T, overwrite_c=1)
        assert np.shares_memory(out, self.Z[0]), "gemm copied its output buffer"
        assert worst <= self.tolerance, f"floor GEMMs wrong: rel. error {worst:.3g}"
        return worst

    @property
    def tolerance(self) -> float:
        """Relative error allowed in ``verify`` (grows with the summation length)."""
        return (1e-12 if self.w.np_dtype == np.float64 else 1e-4) * max(self.w.dims)


#: name -> factory(workload). Order = column order in the report.
IMPLS = {
    "fastnn": lambda w: FastnnImpl(w),
    "fastnn-direct": lambda w: FastnnImpl(w, "direct"),
    "fastnn-gram": lambda w: FastnnImpl(w, "gram"),
    "reference": ReferenceImpl,
    "torch": TorchImpl,
    "jax": JaxImpl,
    "floor": FloorImpl,
}
TRAINERS = [k for k in IMPLS if k != "floor"]


def make_impl(name: str, w: Workload):
    """An implementation for a workload, or ``Unavailable`` with the reason."""
    return IMPLS[name](w)


def versions() -> dict[str, str]:
    """Versions of everything measured (absent optional peers omitted)."""
    import platform

    import scipy

    out = {
        "python": platform.python_version(),
        "fastnn": getattr(fastnn, "__version__", "?"),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    try:
        import torch

        out["torch"] = torch.__version__
        cfg = torch.__config__.show()
        blas = [s.split("=", 1)[1] for s in cfg.replace(",", "\n").split() if "BLAS_INFO=" in s]
        if blas:
            out["torch_blas"] = blas[0]
    except ImportError:
        pass
    try:
        import jax
        import jaxlib

        out["jax"] = jax.__version__
        out["jaxlib"] = jaxlib.__version__
    except ImportError:
        pass
    return out


def blas_description() -> dict[str, object]:
    """scipy's OpenBLAS (fastnn's BLAS) and numpy's, from ``fastnn._coretype.blas_info()``."""
    info = fastnn._coretype.blas_info()
    threads = info.get("threads") or {}
    numpy_ob = info.get("numpy_openblas") or {}
    return {
        "scipy_openblas_version": info.get("openblas_version"),
        "scipy_openblas_core": info.get("corename"),
        "scipy_openblas_threads": threads.get("openblas_num_threads"),
        "numpy_openblas_version": numpy_ob.get("version"),
        "numpy_openblas_core": numpy_ob.get("corename"),
        "numpy_openblas_threads": numpy_ob.get("num_threads"),
        "OPENBLAS_CORETYPE": info.get("OPENBLAS_CORETYPE"),
        "decision": (info.get("decision") or {}).get("reason"),
    }


def cpu_description() -> str:
    """CPU model (with family/model, the model name alone is often generic on VMs), cores."""
    name, fam, mod = None, None, None
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and name is None:
                    name = value
                elif key == "cpu family" and fam is None:
                    fam = value
                elif key == "model" and mod is None:
                    mod = value
    except OSError:
        pass
    import platform

    name = name or platform.processor() or platform.machine()
    extra = f" (family {fam}, model {mod})" if fam and mod else ""
    return f"{name}{extra}, {n_cores()} usable cores of {os.cpu_count()}"
