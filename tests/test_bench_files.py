"""The benchmark files run once, untimed, inside the normal suite, so that they cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.skipif(
    not (BENCH / "test_bench.py").exists(), reason=f"no bench/ beside the tests ({BENCH})"
)
def test_bench_files_run_with_benchmarks_disabled():
    pytest.importorskip("pytest_benchmark", reason="the benchmarks need pytest-benchmark")
    env = dict(os.environ, FASTNN_CROSSCHECK="0")  # timing code, not kernels, is under test here
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(BENCH),
            "--benchmark-disable",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=BENCH.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.parametrize(
    "name,n_rows,marker",
    [("small_gemm.py", 2, "×, "), ("elementwise.py", 10, "× |")],
)
def test_bench_script_runs_in_smoke_mode(name, n_rows, marker):
    """The stand-alone scripts: one table row per dtype and case, each with its result."""
    script = BENCH / name
    if not script.exists():
        pytest.skip(f"no {script}")
    result = subprocess.run(
        [sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| float")]
    assert len(rows) == n_rows and all(marker in row for row in rows)


def test_minibatch_script_runs_in_smoke_mode():
    """bench/minibatch.py --smoke: every installed implementation, one round on small m; one
    table row per workload with fastnn's time, and every check passing."""
    script = BENCH / "minibatch.py"
    if not script.exists():
        pytest.skip(f"no {script}")
    pytest.importorskip("sklearn", reason="the moons workload is sklearn's make_moons")
    result = subprocess.run(
        [sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for name in ("moons", "tab", "mnist", "mnist10"):
        rows = [line for line in out.splitlines() if line.startswith(f"| {name} | ")]
        cells = rows[1].split(" | ")  # rows[0]: the workloads table; rows[1]: the timings
        assert float(cells[2]) > 0, rows[1]  # fastnn's µs per step
    assert "Checks: all passed" in out, out[-3000:]


def test_sklearn_cv_script_runs():
    """bench/sklearn_cv.py on the two small datasets, one round: a row each with both
    accuracies and times (exit 1 means a target missed: timing, not checked here)."""
    script = BENCH / "sklearn_cv.py"
    if not script.exists():
        pytest.skip(f"no {script}")
    pytest.importorskip("sklearn", reason="the script compares with scikit-learn's MLP")
    result = subprocess.run(
        [sys.executable, str(script), "--rounds", "1", "--only", "iris,wine"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    for name in ("iris", "wine"):
        row = next(line for line in result.stdout.splitlines() if line.startswith(f"| {name} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(float(c) > 0 for c in cells[2:6]), row
    result = subprocess.run(
        [sys.executable, str(script), "--fit", "--rounds", "1", "--only", "iris"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| iris |")]
    assert len(rows) == 2  # the fit, then the fit per epoch beside the GEMM floor
    cells = [c.strip().rstrip("×") for c in rows[1].strip("|").split("|")]
    assert int(cells[1]) > 0 and all(float(c) > 0 for c in cells[2:]), rows[1]
