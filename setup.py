"""Build the Cython kernels.

FASTNN_DEBUG=1 at build time compiles with Cython's boundscheck and initializedcheck on and -O0 -g,
for the memory-safety runs (see README "Development").
"""

import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

debug = os.environ.get("FASTNN_DEBUG", "") not in ("", "0")
# -O3 vectorises the elementwise loops; no -ffast-math: it would let the compiler drop NaN/inf checks.
compile_args = ["-O0", "-g"] if debug else ["-O3", "-fno-math-errno"]

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
