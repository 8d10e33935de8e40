"""Pure-numpy reference: the oracle for the compiled kernels, name for name and signature for signature.

Every function here mirrors one entry point of ``fastnn._kernels`` (``train``: of
``fastnn._engine``) and is written with the course's
formulas, favouring clarity over speed. Tests compare each kernel with its twin; cross-check mode
(``fastnn.crosscheck()``) does the same at run time.
"""

from __future__ import annotations

import numpy as np

from fastnn._registry import DECAYS, OPTIMIZERS, OUTPUTS, get_activation, lookup
from fastnn._spec import TrainResult, theta_layout

__all__ = [
    "dense_forward",
    "forward",
    "dense_backward",
    "output_loss",
    "softmax",
    "cross_entropy_cost",
    "train",
]


def dense_forward(A_prev, W, b, activation, slope=0.01, keep_Z=True):
    """Z = W·A_prev + b; A = g(Z). Returns (A, Z), Z None unless keep_Z."""
    Z = np.dot(W, A_prev) + b
    A = get_activation(activation).forward(Z, slope)
    return A, (Z if keep_Z else None)


def forward(X, Ws, bs, activations, output, slope=0.01):
    """A[L] through every layer (dense_forward in turn, the output layer's link last).
    Returns (AL, finite): whether Z1 = W1·X + b1 is all finite."""
    A, finite = X, True
    link = lookup(OUTPUTS, output, "output").link
    for l, (W, b) in enumerate(zip(Ws, bs, strict=True)):
        Z = np.dot(W, A) + b
        if l == 0:
            finite = bool(np.isfinite(Z).all())
        A = get_activation(activations[l]).forward(Z, slope) if l < len(Ws) - 1 else link(Z)
    return A, finite


def dense_backward(dA, Z, A_prev, W, activation, slope=0.01, need_dA_prev=True):
    """dZ = dA ⊙ g'(Z); dW = (1/m) dZ·A_prevᵀ; db = (1/m) Σ_cols dZ; dA_prev = Wᵀ·dZ."""
    m = A_prev.shape[1]
    act = get_activation(activation)
    dZ = dA if act.name == "linear" else dA * act.derivative(Z, slope)
    dW = 1.0 / m * np.dot(dZ, A_prev.T)
    db = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
    dA_prev = np.dot(W.T, dZ) if need_dA_prev else None
    return dA_prev, dW.astype(W.dtype, copy=False), db.astype(W.dtype, copy=False)


def output_loss(Z, Y, output):
    """Output layer and loss (fastnn._registry.OUTPUTS): (J, A, dZ) with J the mean loss."""
    out = lookup(OUTPUTS, output, "output")
    A = out.link(Z)
    J = np.sum(out.loss(Z, Y)) / Z.shape[1]
    return float(J), A, out.gradient(Z, Y)


def softmax(Z):
    """exp(z − max) / Σ exp(z − max) over each column."""
    return OUTPUTS["softmax"].link(Z)


def cross_entropy_cost(AL, Y):
    """J = −(1/m) Σ [y·log(a) + (1 − y)·log(1 − a)], terms of weight 0 taken as 0."""
    m = AL.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(Y != 0, Y * np.log(AL), 0)
        neg = np.where(Y != 1, (1 - Y) * np.log1p(-AL), 0)
    return float(-np.sum(pos + neg) / m)


def _rate(spec, epoch: int) -> float:
    """The learning rate after epoch ``epoch`` (0-based) under spec.decay; a decay function's
    result must be a finite number > 0 (TypeError, ValueError otherwise, as the kernel)."""
    if not callable(spec.decay):
        return DECAYS[spec.decay].rate(
            spec.learning_rate, epoch, spec.decay_rate, spec.time_interval
        )
    rate = spec.decay(spec.learning_rate, epoch, spec.decay_rate)
    try:
        value = float(rate)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"decay must return a number; got {rate!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"decay must return a finite learning rate > 0; got {rate!r}")
    return value


_MIX = (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)


def _mix64(x):
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic), as fnn_random.h's."""
    x = x + np.uint64(_MIX[0])
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_MIX[1])
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_MIX[2])
    return x ^ (x >> np.uint64(31))


def _dropout_mask(seed, step, layer, n, m):
    """The engine's dropout draw for hidden layer ``layer`` (0-based) at training step ``step``:
    u[i, j] = (mix(key_i + j) >> 11)·2⁻⁵³ with key_i = mix(mix(mix(seed) ^ step) ^ (layer << 32
    | i)); returns u (n, m) in [0, 1), float64 (fnn_random.h)."""
    with np.errstate(over="ignore"):
        k = _mix64(_mix64(np.array([seed], dtype=np.uint64)) ^ np.uint64(step))
        rows = (np.uint64(layer) << np.uint64(32)) | np.arange(n, dtype=np.uint64)
        keys = _mix64(k ^ rows)
        h = _mix64(keys[:, None] + np.arange(m, dtype=np.uint64)[None, :])
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _loss_and_gradient(spec, Ws, bs, X, Y, grad_W, grad_b, w=None, step=0):
    """One forward and backward pass over the columns of X: returns Σ loss and writes
    dW[l] = (1/m) dZ·A_prevᵀ and db[l] = (1/m) Σ_cols dZ into grad_W / grad_b. With sample
    weights w (m,): Σ_j w_j·loss_j, dZ[:, j] scaled by w_j, and Σ w in place of m. With
    spec.keep_probs (inverted dropout), hidden layer l keeps the units whose draw for training
    step ``step`` is below keep_prob: A ← A/keep_prob there and 0 elsewhere, and dA the same."""
    L = len(Ws)
    m = X.shape[1] if w is None else float(np.sum(w, dtype=np.float64))
    As, Zs, masks = [X], [], []
    keep = spec.keep_probs
    for l in range(L - 1):
        A, Z = dense_forward(As[-1], Ws[l], bs[l], spec.activations[l], spec.slope)
        if keep and keep[l] < 1:
            kp = A.dtype.type(keep[l])
            kept = _dropout_mask(spec.seed, step, l, *A.shape) < float(kp)
            A = np.where(kept, A / kp, 0).astype(A.dtype)
            masks.append((kept, kp))
        else:
            masks.append(None)
        As.append(A)
        Zs.append(Z)
    ZL = np.dot(Ws[-1], As[-1]) + bs[-1]
    out = OUTPUTS[spec.output]
    if w is None:
        loss = spec.loss_scale * float(np.sum(out.loss(ZL, Y)))
        dZ = out.gradient(ZL, Y)
    else:
        per_sample = np.sum(out.loss(ZL, Y), axis=0, dtype=np.float64)
        loss = spec.loss_scale * float(np.dot(w.astype(np.float64), per_sample))
        dZ = out.gradient(ZL, Y) * w
    for l in reversed(range(L)):
        grad_W[l][...] = 1.0 / m * np.dot(dZ, As[l].T)
        grad_b[l][...] = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        if l > 0:
            dA = np.dot(Ws[l].T, dZ)
            if masks[l - 1] is not None:
                kept, kp = masks[l - 1]
                dA = np.where(kept, dA / kp, 0).astype(dA.dtype)
            dZ = dA * get_activation(spec.activations[l - 1]).derivative(Zs[l - 1], spec.slope)
    return loss


def _l2_term(lambd, state) -> float:
    """(λ/2)·Σ‖W‖² over the weights θ[:n_w], summed in float64 as the kernel does."""
    return lambd / 2 * float(np.sum(state.theta[: state.n_w].astype(np.float64) ** 2))


def _validation_value(spec, Ws, bs, X_val, Y_val, w=None) -> float:
    """spec.validation_metric on the validation data, weighted by w: the mean loss (no L2),
    the accuracy (the largest logit's class for a softmax, sigmoid > 0.5 per unit else; all of
    a sample's units right), or R² of the predictions (the output's link of the logits)
    averaged over the outputs (scikit-learn's r2_score)."""
    ZL, _ = forward(X_val, Ws, bs, spec.activations, "linear", spec.slope)
    w = np.ones(X_val.shape[1]) if w is None else w.astype(np.float64)
    if spec.validation_metric == "cost":
        per_sample = np.sum(OUTPUTS[spec.output].loss(ZL, Y_val), axis=0, dtype=np.float64)
        return float(np.dot(w, per_sample) / w.sum())
    if spec.validation_metric == "accuracy":
        if spec.output == "softmax":
            hits = ZL.argmax(axis=0) == Y_val.argmax(axis=0)
        else:
            hits = np.all((OUTPUTS["sigmoid"].link(ZL) > 0.5) == (Y_val > 0.5), axis=0)
        return float(np.dot(w, hits) / w.sum())
    Yd = Y_val.astype(np.float64)
    predictions = OUTPUTS[spec.output].link(ZL.astype(np.float64))  # a ReLU's max(z, 0), exp(z)
    ss_res = (w * (Yd - predictions) ** 2).sum(axis=1)
    ss_tot = (w * (Yd - np.average(Yd, axis=1, weights=w)[:, None]) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot != 0, 1 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


def train(spec, X, Y, state, callback=None, validation=None, sample_weight=None):
    """The training engine's twin, in place on ``state`` (a fastnn._spec.TrainState): the same
    epochs, batches, permutations, updates, costs, divergence rule, decay, early stopping,
    restores and result as ``fastnn._engine.train`` (see fastnn._spec.TrainSpec), written with
    the course's numpy formulas. Each step: forward, loss, backward to dW = (1/m)·dZ·A_prevᵀ
    and db = (1/m)·Σ dZ, dW += (λ/m)·W, then the optimizer's update
    (fastnn._registry.OPTIMIZERS). ``spec.gram`` is ignored: this is the direct path, the
    oracle the Gram path must agree with. ``validation``: (X_val, Y_val) or (X_val, Y_val,
    their weights); ``sample_weight``: (m,) or None.
    """
    m = X.shape[1]
    Ws, bs = state.W, state.b
    opt = OPTIMIZERS[spec.optimizer]
    grad = np.zeros_like(state.theta)
    grad_W, grad_b = _views(grad, state)
    result = TrainResult(first_cost=state.cost0)
    E0 = state.epoch
    lr = spec.learning_rate
    lambd = spec.lambd
    hp = spec.hyperparameters

    def keep():
        return state.theta.copy(), [a.copy() for a in state.opt_state], state.epoch, state.t

    def restore(saved):
        theta, opt_state, state.epoch, state.t = saved
        state.theta[...] = theta
        for live, value in zip(state.opt_state, opt_state, strict=True):
            live[...] = value

    w_all = sample_weight
    norm_all = m if w_all is None else float(np.sum(w_all, dtype=np.float64))
    watch_score = spec.stop_on_plateau and validation is not None

    def update(m):
        """The optimizer's step from grad, with L2's (λ/m)·W added to the weights' part."""
        if lambd:
            grad[: state.n_w] += lambd / m * state.theta[: state.n_w]
        state.t += 1
        opt.step(state.theta, grad, state.opt_state, lr, state.t, hp)

    def step(Xb, Yb, want_cost, wb=None):
        """One batch: Σ loss (+ (λ/2)ΣW² when want_cost) at the current θ, then the update;
        with sample weights, cnt·(Σ w·loss + (λ/2)ΣW²)/Σw."""
        total = _loss_and_gradient(spec, Ws, bs, Xb, Yb, grad_W, grad_b, wb, state.t + 1)
        norm = Xb.shape[1] if wb is None else float(np.sum(wb, dtype=np.float64))
        if want_cost and lambd:
            total += _l2_term(lambd, state)
        if wb is not None:
            total = total / norm * Xb.shape[1]
        update(norm)
        return total

    def passes(cost, epoch, record):
        """The divergence rule; a cost that passes is recorded (when due) as the last one."""
        if np.isnan(result.first_cost):
            result.first_cost = cost
        first = result.first_cost
        if not np.isfinite(cost) or (first > 0 and cost > spec.divergence_factor * first):
            result.diverged_at, result.diverged_cost = epoch, cost
            return False
        result.final_cost = cost
        if record:
            result.costs.append(cost)
        return True

    def validate():
        """Record the validation cost; keep the best state; True when training stops."""
        vcost = _validation_value(spec, Ws, bs, *validation)
        result.validation_costs.append(vcost)
        if vcost > result.best_cost - spec.tol:
            validate.no_improvement += 1
        else:
            validate.no_improvement = 0
        if vcost < result.best_cost:
            result.best_cost, result.best_epoch = vcost, state.epoch
            validate.best = keep()
        result.stopped_early = validate.no_improvement >= spec.n_iter_no_change
        return result.stopped_early

    def plateau(cost):
        """scikit-learn's rule on the training cost (or −the validation score): True after
        more than n_iter_no_change epochs in a row not below the best minus tol. A new best
        validation score keeps θ."""
        nonlocal lr
        plateau.no_improvement = plateau.no_improvement + 1 if cost > plateau.best - spec.tol else 0
        if cost < plateau.best and watch_score:
            plateau.best_theta = state.theta.copy()
        plateau.best = min(plateau.best, cost)
        if plateau.no_improvement > spec.n_iter_no_change:
            if spec.adaptive and lr > 1e-6:  # scikit-learn's "adaptive": a fifth of the rate
                lr /= 5.0
                plateau.no_improvement = 0
            else:
                result.stopped_early = True
        return result.stopped_early

    plateau.no_improvement, plateau.best = state.no_improvement, state.best_loss
    plateau.best_theta = state.theta.copy()
    validate.no_improvement, validate.best = 0, None
    snap, epoch_start = keep(), None
    stream, order = None, np.arange(m)
    if spec.shuffle_state is not None and spec.mini_batch_size:
        stream = np.random.RandomState()
        stream.set_state(spec.shuffle_state)
    try:
        for e in range(spec.num_epochs):
            E = E0 + e
            record = spec.cost_every > 0 and E % spec.cost_every == 0
            want_cost = record or e == spec.num_epochs - 1
            stop = False
            if spec.decay is not None and E > 0:
                lr = _rate(spec, E - 1)  # epoch E > 0 runs at the rate after epoch E − 1
            if not spec.mini_batch_size:
                # the full-batch cost is that of the parameters before the step
                total = _loss_and_gradient(spec, Ws, bs, X, Y, grad_W, grad_b, w_all, state.t + 1)
                if want_cost:
                    if lambd:
                        total += _l2_term(lambd, state)
                    if not passes(total / norm_all, E, record):
                        break
                    snap = keep()
                    stop = spec.stop_on_plateau and plateau(total / norm_all)
                if validation is not None and record:
                    stop = validate()
                if not stop:
                    update(norm_all)
                    state.epoch = E + 1
            else:
                epoch_start = keep()
                if not spec.shuffle:
                    perm = np.arange(m)
                elif stream is not None:  # scikit-learn's: the last order, permuted again
                    order = order[stream.permutation(m)]
                    perm = order
                else:
                    perm = np.random.RandomState(spec.seed + 1 + E).permutation(m)
                total = 0.0
                for start in range(0, m, spec.mini_batch_size):
                    idx = perm[start : start + spec.mini_batch_size]
                    wb = None if w_all is None else w_all[idx]
                    total += step(X[:, idx], Y[:, idx], want_cost, wb)
                epoch_start = None
                state.epoch = E + 1
                if want_cost:
                    if not passes(total / m, E, record):
                        break
                    snap = keep()
                    stop = spec.stop_on_plateau and not watch_score and plateau(total / m)
                if watch_score:  # scikit-learn's early_stopping
                    score = _validation_value(spec, Ws, bs, *validation)
                    result.validation_costs.append(score)
                    stop = plateau(score if spec.validation_metric == "cost" else -score)
                elif validation is not None:
                    stop = validate()
            if record and callback is not None:
                callback(E, result.final_cost)
            if stop:
                break
    except BaseException as exc:  # as the kernel: report after the parameters are safe
        result.pending = exc
    if result.diverged_at >= 0:
        restore(snap)
    elif result.pending is not None and epoch_start is not None:
        restore(epoch_start)  # an epoch half done matches no run
    elif result.pending is None and validate.best is not None:
        restore(validate.best)
    if watch_score and result.diverged_at < 0:
        state.theta[...] = plateau.best_theta  # θ only, after Ctrl-C too
    state.cost0 = result.first_cost
    if spec.stop_on_plateau:
        state.best_loss, state.no_improvement = plateau.best, plateau.no_improvement
    result.n_done = state.epoch - E0
    if stream is not None:
        result.shuffle_state = stream.get_state()
    result.final_learning_rate = lr
    return result


def cost_gradient(spec, X, Y, state, sample_weight=None):
    """The engine's cost_gradient twin: the full-batch cost (loss_scale·Σ loss +
    (λ/2)·Σ‖W‖²)/n and its gradient laid out like θ, n = m or Σ sample_weight."""
    grad = np.zeros_like(state.theta)
    grad_W, grad_b = _views(grad, state)
    total = _loss_and_gradient(
        spec, state.W, state.b, X, Y, grad_W, grad_b, sample_weight, state.t + 1
    )
    n = X.shape[1] if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
    if spec.lambd:
        grad[: state.n_w] += spec.lambd / n * state.theta[: state.n_w]
        total += _l2_term(spec.lambd, state)
    return total / n, grad


def _views(flat, state):
    """W and b views of a flat vector laid out like state.theta."""
    W_at, b_at = theta_layout(state.layer_dims)
    return (
        [flat[a:z].reshape(W.shape) for (a, z), W in zip(W_at, state.W, strict=True)],
        [flat[a:z].reshape(b.shape) for (a, z), b in zip(b_at, state.b, strict=True)],
    )
