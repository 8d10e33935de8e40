"""fastnn against the numpy reference, PyTorch, JAX and the GEMM floor (see bench/README.md).

For each workload three benchmark groups: ``<workload> step`` (one training iteration per call),
``<workload> fit`` (``fit_iters`` iterations in one call: 100, or 10 for "wide") and
``<workload> forward`` (inference). Each test also checks its implementation against the numpy
reference run in float64: after ``CHECK_ITERS`` iterations through the very code path it timed,
the parameter updates and the cost must agree; forward outputs must agree too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under --import-mode=importlib

import peers  # noqa: E402  (imports fastnn first: BLAS core type before numpy's BLAS loads)

# No bench/conftest.py on purpose: tests/ imports its conftest by module name ("from conftest
# import ..."), and a second conftest.py would shadow it when both folders run in one session.


class _MachineInfo:
    """pytest-benchmark hook: record what the numbers depend on in saved runs."""

    @staticmethod
    def pytest_benchmark_update_machine_info(config, machine_info):
        machine_info["cpu_description"] = peers.cpu_description()
        machine_info["threads"] = peers.n_threads()
        machine_info["versions"] = peers.versions()
        machine_info["blas"] = peers.blas_description()
        machine_info["fastnn_fit_has_path"] = peers.fit_has_path()


@pytest.fixture(scope="session", autouse=True)
def _machine_info_plugin(request):
    """Registered here rather than in a conftest (see above); pytest-benchmark asks for the
    machine info when it saves, at the end of the session."""
    pm = request.config.pluginmanager
    if not pm.has_plugin("fastnn-bench-machine-info"):
        pm.register(_MachineInfo(), "fastnn-bench-machine-info")


@pytest.fixture(scope="module", autouse=True)
def _one_thread_when_disabled(request):
    """With --benchmark-disable only correctness is checked: one thread everywhere (OpenBLAS,
    torch; XLA by pinning to one CPU) is faster on a busy 2-core machine, where 2-thread BLAS and
    OpenMP calls stall whenever one of the threads is descheduled. Undone after this module."""
    if not request.config.getoption("benchmark_disable", False):
        yield
        return
    restore = peers.limit_threads(1)
    yield
    restore()


@pytest.fixture(scope="session")
def reduced(request) -> bool:
    """True when benchmarking is disabled: cheap workloads and iteration counts."""
    return bool(request.config.getoption("benchmark_disable", False))


@pytest.fixture(scope="module")
def impl_cache():
    """One implementation object per (name, workload): JAX compiles once, torch and fastnn build
    their parameters once; each test resets the parameters it starts from."""
    cache: dict = {}
    yield cache
    cache.clear()


WORKLOADS = list(peers.WORKLOADS)
FOR_WIDE_INPUTS = ("fastnn-direct", "fastnn-gram")  # fit's path= options, where n_x > m


def cases(impls):
    """(workload, impl) pairs; fastnn's path variants only on workloads with n_x > m."""
    return [
        pytest.param(wname, impl, id=f"{wname}-{impl}")
        for wname, w in peers.WORKLOADS.items()
        for impl in impls
        if impl not in FOR_WIDE_INPUTS or w.wide_input
    ]


#: iterations per fit call when benchmarking is disabled (the suite's quick run)
QUICK_FIT_ITERS = 2
#: pause before each benchmark (see _run)
SETTLE_SECONDS = 0.3


def _impl(impl_cache, name: str, w: peers.Workload):
    if name == "torch":
        pytest.importorskip("torch", reason="PyTorch is not installed (an optional peer)")
    if name == "jax":
        pytest.importorskip("jax", reason="JAX is not installed (an optional peer)")
    key = (name, w)
    if key not in impl_cache:
        try:
            impl_cache[key] = peers.make_impl(name, w)
        except peers.Unavailable as why:
            impl_cache[key] = why
    impl = impl_cache[key]
    if isinstance(impl, peers.Unavailable):
        pytest.skip(str(impl))
    if name != "floor":
        impl.set_params(peers.initial_params(w))
    return impl


def _workload(name: str, reduced: bool) -> peers.Workload:
    w = peers.WORKLOADS[name]
    return w.reduced() if reduced else w


def _run(benchmark, w: peers.Workload, fn, *args, heavy_rounds: int = 3):
    """Benchmark ``fn(*args)``: pytest-benchmark's calibration, except on the "wide" workload,
    whose calls take 0.1-1 s each: there a fixed few rounds after one warm-up call.

    First a pause: the idle threads of the OpenBLAS (or OpenMP) pool the previous test used spin
    for ~0.1 s and would take the cores from this test's first rounds."""
    if not benchmark.disabled:
        time.sleep(SETTLE_SECONDS)
    if w.name == "wide":
        return benchmark.pedantic(fn, args=args, rounds=heavy_rounds, warmup_rounds=1)
    return benchmark(fn, *args)


def _label(benchmark, w: peers.Workload, kind: str, **extra) -> None:
    benchmark.group = f"{w.name} {kind}"
    benchmark.extra_info.update(
        workload=w.name, dims=list(w.dims), m=w.m, dtype=w.dtype, hidden=w.hidden, **extra
    )


@pytest.mark.parametrize(("workload", "impl"), cases([*peers.TRAINERS, "floor"]))
def test_step(benchmark, impl_cache, reduced, workload, impl):
    """One training iteration per call (for the floor: the GEMMs of one iteration)."""
    w = _workload(workload, reduced)
    runner = _impl(impl_cache, impl, w)
    _label(benchmark, w, "step", iterations=1, gemm_flops=w.gemm_flops()["step"])
    if not benchmark.disabled:
        runner.step()  # warm-up (JAX compiles here)
    _run(benchmark, w, runner.step)
    if impl == "floor":  # every GEMM output right, and written in place
        assert runner.verify() <= runner.tolerance
        return
    runner.set_params(peers.initial_params(w))
    for _ in range(peers.CHECK_ITERS):
        runner.step()
    errors = peers.check_training(w, runner.get_params())
    benchmark.extra_info.update(errors)


@pytest.mark.parametrize(("workload", "impl"), cases(peers.TRAINERS))
def test_fit(benchmark, impl_cache, reduced, workload, impl):
    """A whole fit of ``fit_iters`` iterations in one call (the implementation's best loop:
    fastnn's compiled loop, a jitted lax.fori_loop for JAX, Python loops for numpy and torch)."""
    w = _workload(workload, reduced)
    runner = _impl(impl_cache, impl, w)
    n = QUICK_FIT_ITERS if benchmark.disabled else w.fit_iters
    _label(benchmark, w, "fit", iterations=n, gemm_flops=n * w.gemm_flops()["step"])
    if not benchmark.disabled:
        runner.fit(1)  # warm-up (JAX compiles here: n is traced, one compilation for every n)
    _run(benchmark, w, runner.fit, n, heavy_rounds=1)
    runner.set_params(peers.initial_params(w))
    runner.fit(peers.CHECK_ITERS)
    errors = peers.check_training(w, runner.get_params())
    benchmark.extra_info.update(errors)


FORWARD_IMPLS = [i for i in [*peers.TRAINERS, "floor"] if i not in FOR_WIDE_INPUTS]


@pytest.mark.parametrize(("workload", "impl"), cases(FORWARD_IMPLS))
def test_forward(benchmark, impl_cache, reduced, workload, impl):
    """Inference: A[L] for the training X (for the floor: the forward GEMMs only)."""
    w = _workload(workload, reduced)
    runner = _impl(impl_cache, impl, w)
    _label(benchmark, w, "forward", gemm_flops=w.gemm_flops()["forward"])
    if not benchmark.disabled:
        runner.forward()  # warm-up
    out = _run(benchmark, w, runner.forward)
    if impl == "floor":  # Z[L] has the output's shape; every GEMM output right, in place
        assert out.shape == (w.dims[-1], w.m)
        assert runner.verify() <= runner.tolerance
        return
    benchmark.extra_info["forward_error"] = peers.check_forward(w, runner.to_numpy(out))
