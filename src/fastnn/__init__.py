"""fastnn: fast fully-connected neural networks on the CPU.

Compiled kernels over scipy's BLAS, a pure-numpy reference (``fastnn.reference``), the course
*Neural Networks and Deep Learning*'s helper functions as a drop-in (``fastnn.functional``),
a ``Model`` trained entirely in compiled code, its gradient check (``gradcheck``), the second
course's helpers (``fastnn.course2``) and scikit-learn estimators (``fastnn.sklearn``).
"""

# Choose OpenBLAS's core type before anything loads scipy's BLAS (see fastnn._coretype).
from fastnn import _coretype

_coretype.configure()

from fastnn._dispatch import CrossCheckError, crosscheck, crosscheck_enabled, set_crosscheck  # noqa: E402
from fastnn._gradcheck import gradcheck  # noqa: E402
from fastnn._version import __version__  # noqa: E402
from fastnn.model import Model, load  # noqa: E402

__all__ = [
    "__version__",
    "Model",
    "load",
    "CrossCheckError",
    "crosscheck",
    "crosscheck_enabled",
    "set_crosscheck",
    "gradcheck",
]
