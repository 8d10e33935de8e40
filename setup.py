"""Build the Cython kernels.

FASTNN_DEBUG=1 at build time compiles with Cython's boundscheck and initializedcheck on and -O0 -g,
for the memory-safety runs (see README "Development").
"""

import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("FASTNN_DEBUG", "") not in ("", "0")
# -O3 vectorises the elementwise loops; -fno-trapping-math lets gcc if-convert the range selects
# of the vectorised exp/tanh (we never enable FP traps). No -ffast-math: it would let the
# compiler assume there is no NaN or inf and drop the checks that rely on them.
# -fopenmp-simd honours the "omp simd" reductions of the row loops (no OpenMP runtime).
# -g0 overrides the -g in Python's own CFLAGS: debug info would make the wheel four times larger.
compile_args = ["-O0", "-g"] if debug else ["-O3", "-g0", "-fno-math-errno", "-fno-trapping-math"]
compile_args.append("-fopenmp-simd")

directives = {
    "language_level": 3,
    "boundscheck": debug,
    # Negative indices in the Python-level wrappers must keep their meaning; hot loops use pointers.
    "wraparound": True,
    "initializedcheck": debug,
    "cdivision": True,
    "embedsignature": True,
}

# One extension per concern, each private: the BLAS wrapper and its routing (_blas, declared for
# the others in _blas.pxd), the course's per-layer kernels (_kernels) and the training engine
# (_engine). The hand-written C they share is in src/fastnn/_native (static inline headers,
# declared once in _rows.pxd), compiled into each extension that includes it.
NATIVE = "src/fastnn/_native"
extensions = [
    Extension(
        f"fastnn.{name}",
        [f"src/fastnn/{name}.pyx"],
        include_dirs=[np.get_include(), NATIVE],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
        depends=[str(p) for p in sorted(Path(NATIVE).glob("*.h"))],
    )
    for name in ("_blas", "_kernels", "_engine")
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives, include_path=["src"]))
