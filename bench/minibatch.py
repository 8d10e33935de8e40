"""One epoch of mini-batch Adam: fastnn against its peers, side by side in one run.

    python bench/minibatch.py              # 7 rounds, ~2 minutes with every peer installed
    python bench/minibatch.py --quick      # 3 rounds
    python bench/minibatch.py --smoke      # m <= 2048, 1 round, every installed peer: ~20 s
    python bench/minibatch.py --only tab --impls fastnn,torch,floor

Four workloads (``WORKLOADS``): relu hidden layers, a sigmoid output with binary cross-entropy
(``mnist10``: a softmax over 10 classes with the categorical cross-entropy), Adam (lr 0.001,
β1 0.9, β2 0.999, ε 1e-8), the same initial parameters for everyone
(``fastnn.Model(dims, init="he", seed=3, dtype=dtype).parameters``). The data is X_rows (m, n_x),
C-ordered, one example per row, and y (m,) of 0/1 (``mnist10``: class labels 0..9, given to each
implementation in its own form: one-hot columns for fastnn and numpy, ints for the others);
each implementation gets it in its own best layout. What is timed is ONE EPOCH, every implementation in its best form:

- ``fastnn``: ``Model.fit(X_rows.T, ...,  mini_batch_size=B, num_epochs=1, optimizer="adam",
  cost_every=0, warm_start=True)`` (X F-ordered: examples contiguous); ``fastnn C-ordered X``:
  the same with a C-ordered (n_x, m) copy of X;
- ``numpy``: ``fastnn.reference.train``, the course's numpy loop (fastnn's twin), on X_rows.T;
- ``torch``: eager nn.Sequential, BCEWithLogitsLoss (CrossEntropyLoss for mnist10),
  ``torch.optim.Adam(fused=True)`` (the
  fastest of its CPU variants here), batches ``X[perm[i:i+B]]``, ``perm = torch.randperm(m)``;
- ``jax step``: a jitted step (params, Adam state, X_b, y_b) -> (params, state, loss), Adam by
  hand, called once per batch from Python with the batch gathered by numpy indexing;
- ``jax scan``: the epoch's full batches as ONE jitted ``lax.scan`` (the batch gathered inside
  by indexing with a (batches, B) permutation), then the remainder batch, if any, as one call
  of the jitted step;
- ``sklearn``: ``MLPClassifier(solver="adam", batch_size=B, alpha=0, ...).partial_fit`` (one
  epoch; ``alpha=0``: no L2, the same problem as everyone else's);
- ``floor``: the GEMMs of one batch step and nothing else (``peers.FloorImpl`` with m = B),
  through scipy's BLAS on preallocated arrays; timed as ceil(m/B) steps back to back.

Reported: µs per step = epoch time / ceil(m/B). Each implementation first runs a warm-up epoch
from the initial parameters (JAX compiles there), which is also the one checked: every trainer's
training loss (float64, all of X) must be finite and below the initial one, its parameters of
the workload's dtype. fastnn (both layouts) must also equal the numpy reference after one epoch
from the same start (‖Δθ − Δθ_ref‖/‖Δθ_ref‖ per array, Δ the change over the epoch): on a
float64 copy of the workload to 1e-9, and for float32 workloads in float32 on their first 20.5
batches of rows to 1e-3 (``parity``: over a whole float32 epoch ReLU units die at threshold
events in one run and not in the other, and the difference is reported, not checked). A failed
check puts ⚠ in that cell. Then rounds of measurements, the implementations interleaved within
each round (after a 0.15 s pause each: OpenBLAS's idle threads spin), each measurement k epochs
back to back (k making it last >= --min-time), training continuing from epoch to epoch. The
table has the minimum over the rounds; the details table the median and maximum too. Ratios:
peer time / fastnn time.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import math
import os
import shlex
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# isort: off
import peers  # noqa: E402  (imports fastnn first: BLAS core type before numpy's BLAS loads)
import numpy as np  # noqa: E402
from report import SETTLE_SECONDS, timed  # noqa: E402  (the same timing as the full-batch report)

# isort: on
from fastnn import Model, reference  # noqa: E402
from fastnn._spec import TrainSpec, TrainState  # noqa: E402

LR, BETA1, BETA2, EPS = 0.001, 0.9, 0.999, 1e-8
SEED = 3  # He initialisation, and fastnn's (and the reference's) shuffle seed
SMOKE_M = 2048  # at least 16 steps an epoch: after a handful of Adam steps the loss may rise


@dataclass(frozen=True)
class MBWorkload:
    name: str
    dims: tuple[int, ...]
    m: int
    batch: int
    dtype: str
    data: str

    @property
    def steps(self) -> int:
        return math.ceil(self.m / self.batch)

    @property
    def output(self) -> str:
        return "softmax" if self.dims[-1] > 1 else "sigmoid"


WORKLOADS = {
    w.name: w
    for w in (
        MBWorkload("moons", (2, 5, 2, 1), 300, 64, "float64", "make_moons(300, noise=0.2, seed 3)"),
        MBWorkload("tab", (20, 64, 64, 1), 100_000, 64, "float32", "N(0, 1), linear teacher"),
        MBWorkload("mnist", (784, 128, 64, 1), 60_000, 128, "float32", "U[0, 1), half-mean rule"),
        MBWorkload(
            "mnist10", (784, 128, 64, 10), 60_000, 128, "float32", "U[0, 1), brightest tenth"
        ),
    )
}

#: fastnn's targets, peer time / fastnn time per epoch (floor: floor time / fastnn time)
TARGETS = {
    "moons": {"torch": 5, "jax-step": 3, "jax-scan": 1.5, "sklearn": 10},
    "tab": {"torch": 5, "jax-step": 3, "jax-scan": 1.5, "sklearn": 10},
    "mnist": {"torch": 2, "jax-step": 3, "jax-scan": 1.5, "sklearn": 2.5, "floor": 1 / 1.3},
}
TARGETS["mnist10"] = TARGETS["mnist"]  # the same targets as the mnist-shaped binary workload


@functools.cache
def load_data(w: MBWorkload) -> tuple[np.ndarray, np.ndarray]:
    """(X_rows (m, n_x) C-ordered, y (m,)): y of 0/1 of the workload's dtype, or for a softmax
    workload class labels (int64)."""
    m, n_x = w.m, w.dims[0]
    if w.name == "moons":
        from sklearn.datasets import make_moons

        X, y = make_moons(m, noise=0.2, random_state=3)
    elif w.name == "tab":
        rng = np.random.RandomState(4)
        X = rng.standard_normal((m, n_x))
        teacher = rng.standard_normal(n_x)
        y = X @ teacher + 0.5 * rng.standard_normal(m) > 0
    elif w.name == "mnist10":  # pixel-like features; label: which tenth of the pixels is brightest
        rng = np.random.RandomState(6)
        X = rng.rand(m, n_x)
        tenths = X[:, : n_x // 10 * 10].reshape(m, 10, -1).mean(axis=2)
        return np.ascontiguousarray(X, w.dtype), tenths.argmax(axis=1).astype(np.int64)
    else:  # pixel-like features; label: is the first half of the pixels brighter than the rest?
        rng = np.random.RandomState(5)
        X = rng.rand(m, n_x)
        y = X[:, : n_x // 2].mean(axis=1) > X[:, n_x // 2 :].mean(axis=1)
    return np.ascontiguousarray(X, w.dtype), np.asarray(y, w.dtype)


def targets(w: MBWorkload) -> np.ndarray:
    """Y as fastnn and the numpy reference train on it: (1, m) of 0/1, or one-hot (10, m)."""
    X, y = load_data(w)
    if w.output == "sigmoid":
        return y[None]
    Y = np.zeros((w.dims[-1], w.m), dtype=w.dtype)
    Y[y, np.arange(w.m)] = 1
    return Y


@functools.cache
def initial_params(w: MBWorkload) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """[(W (out, in), b (out, 1))] from ``Model(dims, init="he", seed=3)``, the workload's dtype."""
    p = Model(list(w.dims), init="he", seed=SEED, dtype=w.dtype).parameters
    return tuple((p[f"W{l}"], p[f"b{l}"]) for l in range(1, len(w.dims)))


def loss64(w: MBWorkload, params) -> float:
    """Mean (binary or categorical) cross-entropy of ``params`` on all of the training data, in
    float64."""
    X, y = load_data(w)
    A = X.astype(np.float64)
    for l, (W, b) in enumerate(params):
        Z = A @ np.asarray(W, np.float64).T + np.asarray(b, np.float64).reshape(1, -1)
        A = np.maximum(Z, 0) if l < len(params) - 1 else Z
    if w.output == "softmax":
        mx = A.max(axis=1, keepdims=True)
        lse = mx[:, 0] + np.log(np.exp(A - mx).sum(axis=1))
        return float(np.mean(lse - A[np.arange(w.m), y]))
    z = A[:, 0]
    return float(np.mean(np.logaddexp(0, z) - y * z))


# --------------------------------------------------------------------------- implementations
# Each: reset() (initial parameters, fresh optimizer), epoch() (one epoch, continuing the
# training), params() ([(W (out, in), b (out, 1))] as numpy) and ``what`` (for the details).


class FastnnMB:
    def __init__(self, w: MBWorkload, c_order: bool = False):
        X, _ = load_data(w)
        self.w, self.Y = w, targets(w)
        self.X = np.ascontiguousarray(X.T) if c_order else X.T
        layout = "C-ordered (n_x, m) copy" if c_order else "X_rows.T, F-ordered"
        self.what = f"Model.fit(X = {layout}, num_epochs=1, warm_start=True)"

    def reset(self):
        self.model = Model(
            list(self.w.dims), output=self.w.output, init="he", seed=SEED, dtype=self.w.dtype
        )

    def epoch(self):
        self.model.fit(self.X, self.Y, learning_rate=LR, mini_batch_size=self.w.batch,
                       num_epochs=1, optimizer="adam", cost_every=0, warm_start=True)  # fmt: skip

    def params(self):
        p = self.model.parameters
        return [(p[f"W{l}"], p[f"b{l}"]) for l in range(1, len(self.w.dims))]


class NumpyMB:
    what = "fastnn.reference.train (the numpy course loop) on X_rows.T"

    def __init__(self, w: MBWorkload):
        X, _ = load_data(w)
        self.w, self.X, self.Y = w, X.T, targets(w)
        L = len(w.dims) - 1
        self.spec = TrainSpec(
            activations=("relu",) * (L - 1), output=w.output, slope=0.01, learning_rate=LR,
            num_epochs=1, mini_batch_size=w.batch, optimizer="adam", cost_every=0, seed=SEED,
        )  # fmt: skip

    def reset(self):
        init = initial_params(self.w)
        self.state = TrainState.from_arrays([W for W, _ in init], [b for _, b in init], "adam")

    def epoch(self):
        reference.train(self.spec, self.X, self.Y, self.state)

    def params(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.state.W, self.state.b, strict=True)]


class TorchMB:
    what = "eager nn.Sequential, BCEWithLogitsLoss (CrossEntropyLoss), Adam(fused=True), X[perm[i:i+B]]"

    def __init__(self, w: MBWorkload):
        torch = self.torch = peers._import_torch()  # Unavailable if absent; sets the threads
        X, y = load_data(w)
        softmax = w.output == "softmax"
        self.w, self.X = w, torch.from_numpy(X)
        self.Y = torch.from_numpy(y) if softmax else torch.from_numpy(y[:, None])
        dt = getattr(torch, w.dtype)
        layers = []
        for n_in, n_out in zip(w.dims[:-1], w.dims[1:], strict=True):
            layers += [torch.nn.Linear(n_in, n_out, dtype=dt), torch.nn.ReLU()]
        self.net = torch.nn.Sequential(*layers[:-1])
        self.linears = [mod for mod in self.net if isinstance(mod, torch.nn.Linear)]
        self.loss = torch.nn.CrossEntropyLoss() if softmax else torch.nn.BCEWithLogitsLoss()
        self.gen = torch.Generator().manual_seed(0)

    def reset(self):
        with self.torch.no_grad():
            for lin, (W, b) in zip(self.linears, initial_params(self.w), strict=True):
                lin.weight.copy_(self.torch.from_numpy(W))  # (out, in), as fastnn's W
                lin.bias.copy_(self.torch.from_numpy(b.ravel()))
        self.opt = self.torch.optim.Adam(
            self.net.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS, fused=True
        )

    def epoch(self):
        X, Y, B, opt = self.X, self.Y, self.w.batch, self.opt
        perm = self.torch.randperm(self.w.m, generator=self.gen)
        for i in range(0, self.w.m, B):
            idx = perm[i : i + B]
            opt.zero_grad()
            self.loss(self.net(X[idx]), Y[idx]).backward()
            opt.step()

    def params(self):
        return [
            (lin.weight.detach().numpy().copy(), lin.bias.detach().numpy().copy()[:, None])
            for lin in self.linears
        ]


@functools.cache
def _jax_functions(output: str = "sigmoid"):
    """(jitted step, jitted scanned epoch); jit compiles once per shape and dtype."""
    jax = peers._import_jax()  # Unavailable if absent; enables x64 (float32 arrays stay float32)
    jnp = jax.numpy

    def loss(params, X, y):  # X (B, n_x) rows; the cross-entropy from the logits
        A = X
        for W, b in params[:-1]:
            A = jax.nn.relu(A @ W.T + b)
        W, b = params[-1]
        Z = A @ W.T + b
        if output == "softmax":  # y: class labels
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(Z), y[:, None], axis=1))
        z = Z[:, 0]
        return jnp.mean(jax.nn.softplus(z) - y * z)  # mean[softplus(z) − y·z]

    def step(params, opt, X, y):
        J, g = jax.value_and_grad(loss)(params, X, y)
        v, s, t = opt
        t = t + 1  # a scalar of the parameters' dtype, so 1 − β^t keeps it
        v = jax.tree.map(lambda v, g: BETA1 * v + (1 - BETA1) * g, v, g)
        s = jax.tree.map(lambda s, g: BETA2 * s + (1 - BETA2) * g * g, s, g)
        c1, c2 = 1 - BETA1**t, 1 - BETA2**t
        params = jax.tree.map(
            lambda p, v, s: p - LR * (v / c1) / (jnp.sqrt(s / c2) + EPS), params, v, s
        )
        return params, (v, s, t), J

    def epoch(params, opt, X, y, perm):  # perm: (full batches, B) row indices
        def body(carry, idx):
            p, o, J = step(*carry, X[idx], y[idx])
            return (p, o), J

        (params, opt), Js = jax.lax.scan(body, (params, opt), perm)
        return params, opt, Js.sum()

    return jax.jit(step), jax.jit(epoch)


class _JaxMB:
    def __init__(self, w: MBWorkload):
        self.step, self.scan_epoch = _jax_functions(w.output)
        import jax

        self.jax = jax
        self.w = w
        self.X, self.y = load_data(w)
        self.Xd, self.yd = jax.device_put(self.X), jax.device_put(self.y)
        self.rng = np.random.default_rng(0)

    def reset(self):
        jnp = self.jax.numpy
        dt = self.w.dtype
        self.p = tuple((jnp.asarray(W), jnp.asarray(b.ravel())) for W, b in initial_params(self.w))
        zeros = self.jax.tree.map(jnp.zeros_like, self.p)
        self.opt = (zeros, zeros, jnp.zeros((), dt))

    def params(self):
        return [(np.asarray(W), np.asarray(b)[:, None]) for W, b in self.p]


class JaxStepMB(_JaxMB):
    what = "jitted step per batch from Python, batch gathered by numpy indexing"

    def epoch(self):
        B, p, opt = self.w.batch, self.p, self.opt
        perm = self.rng.permutation(self.w.m)
        for i in range(0, self.w.m, B):
            idx = perm[i : i + B]
            p, opt, J = self.step(p, opt, self.X[idx], self.y[idx])
        self.p, self.opt = self.jax.block_until_ready((p, opt))


class JaxScanMB(_JaxMB):
    what = "jitted lax.scan over the full batches + 1 jitted step for the remainder"

    def epoch(self):
        B, m = self.w.batch, self.w.m
        perm = self.rng.permutation(m).astype(np.int32)
        full = m // B * B
        p, opt, J = self.scan_epoch(self.p, self.opt, self.Xd, self.yd, perm[:full].reshape(-1, B))
        if full < m:
            rest = perm[full:]
            p, opt, J = self.step(p, opt, self.Xd[rest], self.yd[rest])
        self.p, self.opt = self.jax.block_until_ready((p, opt))


class SklearnMB:
    what = "MLPClassifier(solver='adam', alpha=0).partial_fit(X_rows, y): one epoch"

    def __init__(self, w: MBWorkload):
        try:
            from sklearn.neural_network import MLPClassifier
        except ImportError as err:
            raise peers.Unavailable(f"scikit-learn not installed ({err})") from None
        self.w = w
        self.X, self.y = load_data(w)
        self.clf = MLPClassifier(
            hidden_layer_sizes=w.dims[1:-1], activation="relu", solver="adam", alpha=0.0,
            batch_size=w.batch, learning_rate_init=LR, beta_1=BETA1, beta_2=BETA2, epsilon=EPS,
            max_iter=1, shuffle=True, random_state=0,
        )  # fmt: skip
        with warnings.catch_warnings():  # initialise coefs_ (and classes_) on a few rows
            warnings.simplefilter("ignore")
            classes = np.arange(max(2, w.dims[-1]))
            self.clf.partial_fit(self.X[: w.batch], self.y[: w.batch], classes=classes)

    def reset(self):
        init = initial_params(self.w)
        self.clf.coefs_ = [W.T.copy() for W, _ in init]  # sklearn's are (in, out)
        self.clf.intercepts_ = [b.ravel().copy() for _, b in init]
        if hasattr(self.clf, "_optimizer"):
            del self.clf._optimizer  # the next partial_fit starts a fresh Adam on these

    def epoch(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning
            self.clf.partial_fit(self.X, self.y)

    def params(self):
        return [
            (W.T, b[:, None]) for W, b in zip(self.clf.coefs_, self.clf.intercepts_, strict=True)
        ]


class FloorMB:
    what = "the GEMMs of one batch step (scipy ?gemm, preallocated), ceil(m/B) times"

    def __init__(self, w: MBWorkload):
        pw = peers.Workload(w.name, w.dims, "relu", w.dtype, w.batch, LR, "he", "randn")
        self.floor, self.steps = peers.FloorImpl(pw), w.steps

    def reset(self):
        pass

    def epoch(self):
        for _ in range(self.steps):
            self.floor.step()

    def params(self):
        return None


IMPLS = {
    "fastnn": FastnnMB,
    "fastnn-C": lambda w: FastnnMB(w, c_order=True),
    "numpy": NumpyMB,
    "torch": TorchMB,
    "jax-step": JaxStepMB,
    "jax-scan": JaxScanMB,
    "sklearn": SklearnMB,
    "floor": FloorMB,
}
TITLES = {"fastnn-C": "fastnn C-ordered X", "jax-step": "jax step", "jax-scan": "jax scan"}
PEERS = ["numpy", "torch", "jax-step", "jax-scan", "sklearn"]


# --------------------------------------------------------------------------- checks and timing


def update_error(before, after, expected) -> float:
    """max over arrays of ‖Δ − Δ_ref‖ / ‖Δ_ref‖, Δ the change from ``before``."""
    worst = 0.0
    for p0, p, pe in zip(
        (a for pair in before for a in pair),
        (a for pair in after for a in pair),
        (a for pair in expected for a in pair),
        strict=True,
    ):
        p0 = np.asarray(p0, np.float64)
        d_ref = np.asarray(pe, np.float64) - p0
        diff = np.linalg.norm(np.asarray(p, np.float64) - p0 - d_ref)
        worst = max(worst, float(diff / max(np.linalg.norm(d_ref), 1e-300)))
    return worst


@functools.cache
def reference_epoch(w: MBWorkload):
    """The numpy reference's parameters after one epoch from the initial ones."""
    ref = NumpyMB(w)
    ref.reset()
    ref.epoch()
    return ref.params()


def parity(w: MBWorkload, c_order: bool) -> tuple[bool, str]:
    """fastnn against the numpy reference, one epoch from the same start: in float64 on the
    whole workload (1e-9), and, for a float32 workload, in float32 on its first 20.5 batches of
    rows (1e-3): over a whole float32 epoch the two drift apart wherever a ReLU unit dies in one
    of them and not in the other (a threshold event; the float32 reference drifts from the
    float64 one the same way), so the full-epoch float32 difference is only reported."""
    runs = [(replace(w, dtype="float64"), 1e-9, "float64 epoch")]
    if w.dtype == "float32":
        m = 20 * w.batch + w.batch // 2
        runs.append((replace(w, m=m), 1e-3, f"float32 epoch of {math.ceil(m / w.batch)} steps"))
    ok, texts = True, []
    for wc, tol, label in runs:
        fast = FastnnMB(wc, c_order)
        fast.reset()
        fast.epoch()
        err = update_error(initial_params(wc), fast.params(), reference_epoch(wc))
        ok = ok and err <= tol
        texts.append(f"{label} {err:.1e} (≤ {tol:g})")
    return ok, "vs numpy ‖Δθ−Δθ_ref‖/‖Δθ_ref‖: " + ", ".join(texts)


def check(w: MBWorkload, name: str, impl, after: dict, loss0: float) -> tuple[bool, str]:
    """(ok, text) for one implementation after its first epoch from the initial parameters."""
    if name == "floor":
        return True, f"GEMMs ok (rel. error {impl.floor.verify():.1e})"
    params = after[name]
    bad_dtype = {str(a.dtype) for pair in params for a in pair} - {w.dtype}
    loss = loss64(w, params)
    ok = math.isfinite(loss) and loss < loss0 and not bad_dtype
    text = f"loss {loss0:.4f} → {loss:.4f}"
    if bad_dtype:
        text += f", parameters of dtype {sorted(bad_dtype)}"
    if name.startswith("fastnn"):
        same, more = parity(w, c_order=name == "fastnn-C")
        ok = ok and same
        text += f"; {more}"
        if w.dtype == "float32" and "numpy" in after:
            err = update_error(initial_params(w), params, after["numpy"])
            text += f"; the timed float32 epoch: {err:.1e} (not checked)"
    return ok, ("" if ok else "FAILED: ") + text


def measure(w: MBWorkload, args, log, skipped: dict) -> dict:
    """{impl: {"times": [s/step per round], "k": epochs per measurement, "ok", "check"}}."""
    impls = {}
    for name in args.impls:
        try:
            impls[name] = IMPLS[name](w)
        except peers.Unavailable as why:
            log(f"  {name}: skipped ({why})")
            skipped[name] = str(why)
    loss0 = loss64(w, initial_params(w))
    after, out = {}, {}
    for name, impl in impls.items():  # warm-up: the checked epoch from the initial parameters
        impl.reset()
        impl.epoch()
        after[name] = impl.params()
    for name, impl in impls.items():
        ok, text = check(w, name, impl, after, loss0)
        log(f"  check {name}: {text}")
        t = timed(lambda _: impl.epoch(), 1)  # noqa: B023  (called at once)
        k = 1 if args.smoke else max(1, math.ceil(args.min_time / max(t, 1e-9)))
        out[name] = {"times": [], "k": k, "ok": ok, "check": text, "what": impl.what}

    def run_k(impl, k):
        for _ in range(k):
            impl.epoch()

    for r in range(args.rounds):
        for name, impl in impls.items():
            time.sleep(SETTLE_SECONDS)
            k = out[name]["k"]
            out[name]["times"].append(timed(lambda _: run_k(impl, k), 1) / (k * w.steps))  # noqa: B023
        log(f"  round {r + 1}/{args.rounds} done")
    for name, res in out.items():
        log(f"  {name}: {min(res['times']) * 1e6:.4g} µs/step (min of {args.rounds})")
    return out


# --------------------------------------------------------------------------- report


def _us(res: dict | None) -> str:
    if res is None:
        return "–"
    us = min(res["times"]) * 1e6
    return ("⚠ " if not res["ok"] else "") + (f"{us:.3g}" if us < 1000 else f"{us:.0f}")


def _ratio(num: dict | None, den: dict | None, pct: bool = False) -> str:
    if num is None or den is None:
        return "–"
    r = min(num["times"]) / min(den["times"])
    warn = "⚠ " if not (num["ok"] and den["ok"]) else ""
    return warn + (f"{r * 100:.0f}%" if pct else f"{r:.2f}×")


def tables(ws: dict, results: dict) -> list[str]:
    names = [n for n in IMPLS if any(n in r for r in results.values())]
    peers_here = [p for p in PEERS if p in names]
    head = ["workload", "steps/epoch", *(f"{TITLES.get(n, n)} (µs)" for n in names)]
    head += [f"vs {TITLES.get(p, p)}" for p in peers_here] + ["% of floor"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for wn, res in results.items():
        fast = res.get("fastnn")
        row = [wn, str(ws[wn].steps), *(_us(res.get(n)) for n in names)]
        row += [_ratio(res.get(p), fast) for p in peers_here]
        row.append(_ratio(res.get("floor"), fast, pct=True))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "### Targets (peer time / fastnn time; floor: fastnn within 1.3× of it)", ""]
    lines += ["| workload | target | measured | met |", "|---|---|---|---|"]
    for wn, res in results.items():
        for peer, goal in TARGETS.get(wn, {}).items():
            if peer in res and "fastnn" in res:
                r = min(res[peer]["times"]) / min(res["fastnn"]["times"])
                label = f"≥ {goal:g}× {TITLES.get(peer, peer)}"
                if peer == "floor":
                    label, r, goal = "fastnn ≤ 1.3× floor", 1 / r, 1 / goal
                    met = r <= goal
                else:
                    met = r >= goal
                lines.append(f"| {wn} | {label} | {r:.2f}× | {'yes' if met else 'NO'} |")
    return lines


def details(ws: dict, results: dict) -> list[str]:
    lines = [
        "| workload | implementation | what runs | epochs per measurement | µs/step min | median "
        "| max | check (first epoch from the initial parameters) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for wn, res in results.items():
        for name, r in res.items():
            t = [x * 1e6 for x in r["times"]]
            lines.append(
                f"| {wn} | {TITLES.get(name, name)} | {r['what']} | {r['k']} | {min(t):.4g} "
                f"| {statistics.median(t):.4g} | {max(t):.4g} | {r['check']} |"
            )
    return lines


def header(args, ws: dict, load_before, load_after, seconds: float) -> list[str]:
    v = peers.versions()
    b = peers.blas_description()
    try:
        import sklearn

        v["scikit-learn"] = sklearn.__version__
    except ImportError:
        pass
    keys = ("python", "fastnn", "numpy", "scipy", "torch", "jax", "jaxlib", "scikit-learn")
    vs = ", ".join(f"{k} {v[k]}" for k in keys if k in v)
    threads = peers.n_threads()
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        "# fastnn mini-batch Adam: one epoch, µs per step",
        "",
        f"- command: `{shlex.join(['python', 'bench/minibatch.py', *args.argv])}`",
        f"- date: {now:%Y-%m-%d %H:%M} UTC; run time {seconds:.0f} s",
        f"- machine: {peers.cpu_description()}; load average (1 min) {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after",
        f"- versions: {vs}; torch BLAS: {v.get('torch_blas', '–')}",
        f"- BLAS: fastnn and the floor: scipy's OpenBLAS {b['scipy_openblas_version']} core "
        f"{b['scipy_openblas_core']}, {b['scipy_openblas_threads']} threads; numpy and "
        f"scikit-learn: numpy's OpenBLAS {b['numpy_openblas_version']} core "
        f"{b['numpy_openblas_core']}, {b['numpy_openblas_threads']} threads",
        f"- threads: {threads} for everyone (torch.set_num_threads({threads}); XLA's default)",
        f"- method: one epoch per call, µs/step = epoch time / ceil(m/B); minimum of {args.rounds} "
        "rounds, the implementations interleaved in each round, each measurement k epochs back "
        f"to back (k making it last >= {args.min_time} s; details table) after a "
        f"{SETTLE_SECONDS} s pause; a warm-up epoch first (the checked one); training continues "
        "from epoch to epoch",
        "",
        "| workload | dims | m | batch | dtype | data |",
        "|---|---|---|---|---|---|",
    ]
    for w in ws.values():
        lines.append(f"| {w.name} | {list(w.dims)} | {w.m} | {w.batch} | {w.dtype} | {w.data} |")
    return lines


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 rounds (default 7)")
    p.add_argument("--smoke", action="store_true", help=f"m <= {SMOKE_M}, 1 round, 1 epoch each")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--min-time", type=float, default=0.2, help="seconds per measurement")
    p.add_argument("--only", default="", help="workloads: " + ",".join(WORKLOADS))
    p.add_argument("--impls", default="", help="implementations: " + ",".join(IMPLS))
    p.add_argument("--out", default=None, help="also write the report to this file")
    args = p.parse_args(argv)
    args.argv = argv
    args.rounds = args.rounds or (1 if args.smoke else 3 if args.quick else 7)
    names = [s for s in args.only.split(",") if s] or list(WORKLOADS)
    args.impls = [s for s in args.impls.split(",") if s] or list(IMPLS)
    unknown = [n for n in names if n not in WORKLOADS] + [i for i in args.impls if i not in IMPLS]
    if unknown:
        p.error(f"unknown workload or implementation: {', '.join(unknown)}")
    ws = {n: WORKLOADS[n] for n in names}
    if args.smoke:
        ws = {n: MBWorkload(**{**vars(w), "m": min(w.m, SMOKE_M)}) for n, w in ws.items()}

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    load_before, t0 = os.getloadavg(), time.perf_counter()
    results, skipped = {}, {}
    for n, w in ws.items():
        log(f"{n}: {list(w.dims)} m={w.m} batch {w.batch} {w.dtype}, {w.steps} steps/epoch")
        results[n] = measure(w, args, log, skipped)
    lines = header(args, ws, load_before, os.getloadavg(), time.perf_counter() - t0)
    lines += ["", "### One epoch of mini-batch Adam: µs per step (minimum over the rounds)", ""]
    lines += tables(ws, results)
    failed = [f"{wn} {n}: {r['check']}" for wn, res in results.items() for n, r in res.items()
              if not r["ok"]]  # fmt: skip
    lines += [
        "",
        "Ratios: peer time / fastnn time (> 1: fastnn faster), fastnn = F-ordered X. % of floor: "
        "GEMM-only floor / fastnn time (the floor pays ~1-2 µs of Python per GEMM call). "
        "⚠: that implementation failed its check (see below).",
        "",
        "Checks: " + ("all passed" if not failed else "FAILED: " + "; ".join(failed)),
        "",
        "Skipped: " + ("; ".join(f"{k}: {v}" for k, v in skipped.items()) or "none"),
        "",
        "### Details",
        "",
        *details(ws, results),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
