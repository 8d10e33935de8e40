"""Shared fixtures: the course's cat data (skipped with a reason when absent), a seeded
generator, the switch that runs a kernel test through the kernels' own small GEMM and then
through BLAS, and the folder that the bad-input tables' file cases write to."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from _helpers import GEMM_LIMITS, TMP

from fastnn import _blas


def datasets_dir() -> Path:
    """``$FASTNN_DATASETS`` or ``shared/datasets`` beside the repository checkout."""
    env = os.environ.get("FASTNN_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"


CAT_DIR = datasets_dir() / "catvnoncat"
needs_cat = pytest.mark.skipif(
    not (CAT_DIR / "train_catvnoncat.h5").exists(),
    reason=f"cat dataset not found at {CAT_DIR} (set FASTNN_DATASETS to the shared/datasets folder)",
)


@pytest.fixture(scope="session")
def cat_data():
    pytest.importorskip("h5py", reason="reading the cat dataset needs h5py")
    if not (CAT_DIR / "train_catvnoncat.h5").exists():
        pytest.skip(f"cat dataset not found at {CAT_DIR}")
    from fastnn.datasets import load_catvnoncat

    return load_catvnoncat(CAT_DIR)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=list(GEMM_LIMITS))
def gemm_path(request):
    """Run the test with every product through the kernels' own small GEMM, then through BLAS
    (by default tiny and skinny products take the first under OpenBLAS's Haswell kernels, and
    every product the second under its AVX-512 ones: _small_gemm_policy)."""
    previous = _blas._set_small_gemm_limit(GEMM_LIMITS[request.param])
    yield request.param
    _blas._set_small_gemm_limit(previous)


@pytest.fixture
def case_files(tmp_path):
    """Where the bad-input tables' file cases write (``_helpers.TMP``): this test's tmp_path."""
    TMP.root = str(tmp_path)
    yield
    TMP.root = None


@pytest.fixture
def agg_plots():
    """The course notebooks' plots go to matplotlib's Agg backend, closed after the test; yields
    pyplot, or None when matplotlib is not installed (the plots are then skipped)."""
    try:
        import matplotlib
    except ImportError:
        yield None
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")
