"""Smoke test of an installed fastnn, run outside the source tree by tools/check_wheel.sh.

Checks that ``fastnn`` (and its compiled ``_kernels``) come from site-packages, that the kernels
load scipy's BLAS and agree with the numpy reference in float32 and float64, and that a small
Model trains. Used for the oldest-supported numpy/scipy check, where the full test suite may need
newer test tools than those versions allow; stdlib + numpy only.

Usage: python wheel_smoke.py [SITE_PACKAGES]  (when given, fastnn must be installed there)
"""

import sys
from pathlib import Path

import numpy as np
import scipy

import fastnn
from fastnn import _kernels, reference
from fastnn.model import Model

if len(sys.argv) > 1:
    site = Path(sys.argv[1]).resolve()
    for mod in (fastnn, _kernels):
        where = Path(mod.__file__).resolve()
        if site not in where.parents:
            sys.exit(f"{mod.__name__} imported from {where}, not from {site}")

rng = np.random.default_rng(0)
for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
    A = rng.standard_normal((7, 13)).astype(dtype)
    W = rng.standard_normal((5, 7)).astype(dtype)
    b = rng.standard_normal((5, 1)).astype(dtype)
    for act in ("relu", "tanh", "sigmoid"):
        A_k, Z_k = _kernels.dense_forward(A, W, b, act)
        A_r, Z_r = reference.dense_forward(A, W, b, act)
        assert A_k.dtype == dtype, (A_k.dtype, dtype)
        np.testing.assert_allclose(A_k, A_r, rtol=tol, atol=tol)
        np.testing.assert_allclose(Z_k, Z_r, rtol=tol, atol=tol)

X = rng.standard_normal((2, 200))
Y = (X[0:1] * X[1:2] > 0).astype(np.float64)
for dtype in (np.float64, np.float32):
    model = Model([2, 8, 1], hidden_activation="tanh", dtype=dtype, seed=1)
    model.fit(X, Y, learning_rate=0.5, num_iterations=300, cost_every=100)
    assert model.costs_[-1] < model.costs_[0], model.costs_
    assert model.score(X, Y) > 0.8, model.score(X, Y)

print(
    f"smoke ok: fastnn {fastnn.__version__} from {Path(fastnn.__file__).parent}, "
    f"numpy {np.__version__}, scipy {scipy.__version__}, Python {sys.version.split()[0]}"
)
