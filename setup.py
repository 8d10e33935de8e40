"""Build the Cython kernels.

FASTNN_DEBUG=1 at build time compiles with Cython's boundscheck and initializedcheck on and -O0 -g,
for the memory-safety runs (see README "Development").
"""

import os

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

extensions = [
    Extension(
        "fastnn._kernels",
        ["src/fastnn/_kernels.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
