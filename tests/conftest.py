"""Shared fixtures: the course's cat data (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


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
