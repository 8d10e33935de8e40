"""Measure fastnn against its peers on the fixed workloads and print a markdown report.

    python bench/report.py                  # all workloads, 7 repeats of >= 0.2 s each
    python bench/report.py --quick          # 3 repeats of >= 0.1 s
    python bench/report.py --only planar,cat64 --out report.md

"ms/iteration" of training is (time of an N-iteration fit) / N, with one fixed N per workload, the
same for every implementation (``Workload.report_iters``: the numpy reference's fit takes ~0.2 s
on an idle 2-core machine; ``--iters`` overrides it); faster implementations run k such fits back
to back so each measurement lasts >= --min-time. Call overhead is amortised over the same N for
everyone, and fastnn's path="auto" decides for that N. The median of --repeats
measurements is reported, after a warm-up fit (JAX compiles there). Each implementation runs in its best form: fastnn's compiled loop, the numpy
reference's loop, PyTorch's autograd loop, JAX's jitted lax.fori_loop or the Python loop of
jitted steps, whichever is faster (both in the details table). Forward: the same, N calls.

Ratios are peer_time / fastnn_time (> 1: fastnn faster); "% of floor" is
floor_time / fastnn_time · 100, the floor being only the GEMMs of one step through scipy's BLAS.
No pytest needed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402  (imports fastnn first: BLAS core type before numpy's BLAS loads)

COLUMNS = ["fastnn", "fastnn-direct", "fastnn-gram", "reference", "torch", "jax", "floor"]
TITLES = {"reference": "numpy ref", "floor": "GEMM floor", "fastnn-direct": "fastnn direct"}
TITLES["fastnn-gram"] = "fastnn gram"
PEERS = ["reference", "torch", "jax"]


def timed(run, n: int) -> float:
    """Seconds of ``run(n)``, with Python's garbage collector paused."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        run(n)
        return time.perf_counter() - t0
    finally:
        if enabled:
            gc.enable()


def calibrate(run, min_time: float) -> tuple[int, float]:
    """(n, seconds): the n for which ``run(n)`` (n units of work) takes >= min_time, after a
    warm-up call ``run(1)``."""
    run(1)
    n, t = 1, timed(run, 1)
    while t < min_time and n < 10**8:
        grow = min_time / max(t, 1e-7) * 1.2
        n = max(n + 1, min(int(n * grow) + 1, n * 100))
        t = timed(run, n)
    return n, t


#: pause before each measurement: OpenBLAS's idle threads spin for ~0.1 s after a call, and
#: would steal a core from whatever is measured next
SETTLE_SECONDS = 0.15


class Timing:
    """One timed loop: ``run(units)`` does ``units`` units of work (iterations, calls)."""

    def __init__(self, name: str, label: str, run, units: int):
        self.name, self.label, self.run, self.units = name, label, run, units
        self.times: list[float] = []

    def measure(self) -> None:
        time.sleep(SETTLE_SECONDS)
        self.times.append(timed(self.run, self.units) / self.units)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def fit_timing(name, label, fit, n: int, min_time: float) -> tuple[Timing, int]:
    """Timing of k back-to-back ``fit(n)`` calls per measurement, k making it last >= min_time;
    after a warm-up fit (JAX compiles there). Units are iterations."""
    fit(n)
    t = timed(fit, n)
    k = max(1, math.ceil(min_time / max(t, 1e-9))) if t < min_time else 1

    def run(_units):
        for _ in range(k):
            fit(n)

    return Timing(name, label, run, k * n), k


def forward_timing(name, impl, min_time: float) -> Timing:
    def run(calls):
        for _ in range(calls):
            impl.forward()

    calls, _ = calibrate(run, min_time)
    return Timing(name, "forward", run, calls)


def _train_variants(name: str, impl) -> list[tuple[str, object]]:
    if name == "jax":
        return [("jit fori_loop", impl.fit), ("Python loop of jit steps", impl.fit_steploop)]
    if name in ("reference", "torch"):
        return [("Python loop", impl.fit)]
    if name == "floor":
        return [("scipy ?gemm calls", impl.fit)]
    path = impl.kw.get("path")
    return [(f"Model.fit(path={path!r})" if path else "Model.fit", impl.fit)]


def _check(name: str, impl, w: peers.Workload) -> str:
    if name == "floor":
        return f"GEMMs ok ({impl.verify():.1e})"
    out = []
    for _, fit in _train_variants(name, impl):
        impl.set_params(peers.initial_params(w))
        fit(peers.CHECK_ITERS)
        try:
            out.append(f"{peers.check_training(w, impl.get_params())['update_error']:.1e}")
        except AssertionError as e:
            out.append(f"FAILED: {e}")
    return "; ".join(out)


def measure_workload(w: peers.Workload, args, log) -> tuple[dict, int]:
    """({impl: {"train": s/iteration, "forward": s/call, ...}}, N) for one workload.

    All implementations are set up first, then measured round-robin, ``repeats`` rounds: a burst
    of load from elsewhere hits one round of everyone rather than all rounds of one."""
    n_iters = args.iters or w.report_iters
    log(f"  N = {n_iters} iterations per fit")
    impls = {}
    for name in COLUMNS:
        if args.impls and name not in args.impls:
            continue
        try:
            impls[name] = peers.make_impl(name, w)
        except peers.Unavailable as why:
            log(f"  {name}: skipped ({why})")
    out: dict = {name: {"variants": {}} for name in impls}
    train, forward = [], []
    for name, impl in impls.items():
        for label, fit in _train_variants(name, impl):
            if name != "floor":
                impl.set_params(peers.initial_params(w))
            timing, k = fit_timing(name, label, fit, n_iters, args.min_time)
            train.append(timing)
            out[name]["variants"][label] = timing
            out[name]["k"] = k
        if name not in ("fastnn-direct", "fastnn-gram"):
            forward.append(forward_timing(name, impl, args.min_time))
    for r in range(args.repeats):
        for timing in train + forward:
            timing.measure()
        log(f"  round {r + 1}/{args.repeats} done")
    for name, res in out.items():
        best = min(res["variants"].values(), key=lambda t: t.median)
        res["train"], res["train_variant"] = best.median, best.label
        for t in res["variants"].values():
            log(
                f"  {name} [{t.label}]: {t.median * 1e3:.4g} ms/iteration (min {min(t.times) * 1e3:.4g})"
            )
    for t in forward:
        out[t.name]["forward"] = t.median
        out[t.name]["forward_calls"] = t.units
        log(f"  {t.name} forward: {t.median * 1e3:.4g} ms/call ({t.units} calls)")
    if args.check:
        for name, impl in impls.items():
            out[name]["check"] = _check(name, impl, w)
    return out, n_iters


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def _ratio(peer: float | None, fast: float | None) -> str:
    return "–" if peer is None or fast is None else f"{peer / fast:.2f}×"


def _pct(floor: float | None, fast: float | None) -> str:
    return "–" if floor is None or fast is None else f"{floor / fast * 100:.0f}%"


def table(results: dict, key: str, title: str) -> list[str]:
    cols = [c for c in COLUMNS if any(key in r.get(c, {}) for r in results.values())]
    head = ["workload", *(f"{TITLES.get(c, c)} (ms)" for c in cols)]
    peers_here = [p for p in PEERS if p in cols]
    head += [f"vs {TITLES.get(p, p)}" for p in peers_here] + ["% of floor"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for wname, res in results.items():
        get = {c: res.get(c, {}).get(key) for c in cols}
        fast = get.get("fastnn")
        row = [wname, *(_ms(get[c]) for c in cols)]
        row += [_ratio(get[p], fast) for p in peers_here]
        row.append(_pct(get.get("floor"), fast))
        lines.append("| " + " | ".join(row) + " |")
    return lines


def header(args, load_before) -> list[str]:
    v = peers.versions()
    b = peers.blas_description()
    vs = ", ".join(f"{k} {v[k]}" for k in ("python", "fastnn", "numpy", "scipy") if k in v)
    peer_v = []
    if "torch" in v:
        peer_v.append(f"torch {v['torch']} (BLAS: {v.get('torch_blas', '?')})")
    if "jax" in v:
        peer_v.append(f"jax {v['jax']} / jaxlib {v.get('jaxlib', '?')}")
    now = datetime.datetime.now(datetime.timezone.utc)
    threads = peers.n_threads()
    xla = (
        "its CPU default, all usable cores"
        if threads == peers.n_cores()
        else f"the process pinned to {threads} CPU(s)"
    )
    return [
        "# fastnn benchmark report",
        "",
        f"- date: {now:%Y-%m-%d %H:%M} UTC",
        f"- machine: {peers.cpu_description()}; load average before the run "
        f"{load_before[0]:.2f} (1 min), {load_before[1]:.2f} (5 min)",
        f"- versions: {vs}; peers: {', '.join(peer_v) or 'none installed'}",
        f"- BLAS: fastnn and the GEMM floor use scipy's OpenBLAS {b['scipy_openblas_version']} "
        f"core {b['scipy_openblas_core']}, {b['scipy_openblas_threads']} threads; the numpy "
        f"reference uses numpy's OpenBLAS {b['numpy_openblas_version']} core "
        f"{b['numpy_openblas_core']}, {b['numpy_openblas_threads']} threads "
        f"(OPENBLAS_CORETYPE={b['OPENBLAS_CORETYPE']}: {b['decision']})",
        f"- threads: {threads} for everyone (OpenBLAS {threads}; torch.set_num_threads({threads}); "
        f"XLA: {xla}); implementations run one after another, never at once",
        "- method: training ms/iteration = time of an N-iteration fit / N, the same N for every "
        "implementation of a workload (workloads table); k fits back to back per measurement, "
        f"k making it last >= {args.min_time} s; median of {args.repeats} measurements after a "
        "warm-up fit, taken round-robin over the implementations (a burst of load hits one round of "
        "everyone); JAX: the faster of a jitted lax.fori_loop and a Python "
        f"loop of jitted steps. Forward: N' calls per measurement. Model.fit has path=: "
        f"{peers.fit_has_path()}",
    ]


def workload_table(ws, iters: dict) -> list[str]:
    lines = [
        "### Workloads",
        "",
        "| workload | layer dims | hidden | dtype | m | lr | init | GEMM GFLOP/iteration "
        "| N (iterations per timed fit) | data |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w in ws:
        _, _, src = peers.load_data(w)
        gf = w.gemm_flops()["step"] / 1e9
        hidden = w.hidden if len(w.dims) > 2 else "–"
        lines.append(
            f"| {w.name} | {list(w.dims)} | {hidden} | {w.dtype} | {w.m} | {w.lr} | {w.init} "
            f"| {gf:.3g} | {iters[w.name]} | {src} |"
        )
    return lines


def details(results: dict, ws: dict, iters: dict) -> list[str]:
    lines = [
        "### Details (training)",
        "",
        "| workload | implementation | loop | fits × N per measurement | ms/iteration, median "
        "| min | max | GEMM GFLOP/s (median) | check: ‖ΔW − ΔW_ref‖/‖ΔW_ref‖ after 3 iterations |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for wname, res in results.items():
        flops = ws[wname].gemm_flops()["step"]
        for name, r in res.items():
            for label, t in r["variants"].items():
                lines.append(
                    f"| {wname} | {name} | {label} | {t.units // iters[wname]} × {iters[wname]} "
                    f"| {t.median * 1e3:.4g} | {min(t.times) * 1e3:.4g} | {max(t.times) * 1e3:.4g} "
                    f"| {flops / t.median / 1e9:.3g} | {r.get('check', '')} |"
                )
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 repeats of >= 0.1 s (default 7 of 0.2)")
    p.add_argument(
        "--only", default="", help="comma-separated workloads: " + ",".join(peers.WORKLOADS)
    )
    p.add_argument("--impls", default="", help="comma-separated subset of: " + ",".join(COLUMNS))
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--min-time", type=float, default=None, help="seconds per measurement")
    p.add_argument("--iters", type=int, default=0,
                   help="N, iterations per timed fit, for every workload (default: each "
                   "workload's own, see the workloads table)")  # fmt: skip
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="skip the correctness check of each implementation")  # fmt: skip
    p.add_argument("--threads", type=int, default=0,
                   help="threads for everyone (default: all usable cores): OpenBLAS and torch "
                   "get N threads and the process is pinned to N CPUs (for XLA); 1 steadies "
                   "the numbers on a busy machine")  # fmt: skip
    p.add_argument("--out", default=None, help="also write the report to this file")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.min_time = args.min_time or (0.1 if args.quick else 0.2)
    args.impls = [s for s in args.impls.split(",") if s]
    names = [s for s in args.only.split(",") if s] or list(peers.WORKLOADS)
    unknown = [n for n in names if n not in peers.WORKLOADS] + [
        i for i in args.impls if i not in COLUMNS
    ]
    if unknown:
        p.error(f"unknown workload or implementation: {', '.join(unknown)}")

    if args.threads:
        peers.limit_threads(args.threads)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    ws = {n: peers.WORKLOADS[n] for n in names}
    results, iters = {}, {}
    t0 = time.perf_counter()
    for n, w in ws.items():
        log(f"{n}: {list(w.dims)} m={w.m} {w.dtype}")
        results[n], iters[n] = measure_workload(w, args, log)
    load_after = os.getloadavg()
    lines = header(args, load_before)
    lines += [
        f"- load average after the run {load_after[0]:.2f} (1 min); run time "
        f"{time.perf_counter() - t0:.0f} s. On a 2-core machine shared with other work the "
        "numbers are noisy: compare ratios within a row, not runs.",
        "",
        *table(results, "train", "Training: ms per iteration (full-batch GD)"),
        "",
        "Ratios: peer time / fastnn time (> 1: fastnn faster). % of floor: GEMM-only floor / "
        "fastnn time (100% = fastnn costs exactly its GEMMs; the floor pays ~1-2 µs of Python per "
        "GEMM call, so on tiny networks it is not a lower bound; a Gram-matrix path does fewer "
        "FLOPs than the floor's GEMMs and can exceed 100%).",
        "",
        *table(results, "forward", "Inference: ms per forward pass (A[L] for the training X)"),
        "",
        *workload_table(ws.values(), iters),
        "",
        *details(results, ws, iters),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
