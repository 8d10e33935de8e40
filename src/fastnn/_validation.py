"""Input validation, done once at each public boundary; the kernels trust what passes here.

Promotion rule (one rule, everywhere): the computation dtype is float32 only when every float
input is float32 (or the caller fixes the dtype, as ``Model(dtype=...)`` does); otherwise float64.
Integers and booleans are converted to float64; complex, object and string arrays are refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from fastnn._registry import OUTPUTS, lookup

INT_MAX = 2**31 - 1
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype) -> np.dtype:
    """float32 or float64 as a numpy dtype; ValueError otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be float32 or float64; got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float32 or float64; got {dt}")
    return dt


def _to_array(a, name: str) -> np.ndarray:
    if isinstance(a, np.ndarray):
        arr = a
    else:
        try:
            arr = np.asarray(a)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be a numeric array; got {type(a).__name__}") from err
    kind = arr.dtype.kind
    if kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    if kind == "f" and arr.dtype.itemsize not in (4, 8):
        raise TypeError(f"{name} must be float32 or float64; got {arr.dtype}")
    return arr


def result_dtype(*arrays) -> np.dtype:
    """The computation dtype of some inputs (arrays or dtypes) under the promotion rule above."""
    kinds = [
        a if isinstance(a, np.dtype) else getattr(a, "dtype", np.dtype(np.float64))
        for a in arrays
        if a is not None
    ]
    # byte order is not part of the rule: '>f4' is float32 too
    if kinds and all(np.dtype(k).newbyteorder("=") == np.float32 for k in kinds):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_matrix(
    a,
    name: str,
    dtype: np.dtype,
    *,
    shape: tuple | None = None,
    contiguous: bool = False,
    check_finite: bool = True,
) -> np.ndarray:
    """A 2-D float array of ``dtype`` that the kernels can read, copying only when needed.

    ``shape`` entries that are not None must match. ``contiguous`` asks for C order (elementwise
    kernel inputs); otherwise any layout BLAS reads in place (C or F order, positive strides) is
    kept as it is.
    """
    from fastnn._blas import blas_readable
    from fastnn._kernels import all_finite_2d

    arr = _to_array(a, name)
    if arr.ndim != 2:
        want = f" of shape {_fmt(shape)}" if shape else ""
        raise ValueError(f"{name} must be a 2-D array{want}; got shape {arr.shape}")
    if shape is not None:
        for got, want in zip(arr.shape, shape, strict=True):
            if want is not None and got != want:
                raise ValueError(f"{name} must have shape {_fmt(shape)}; got {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least one row and column")
    if max(arr.shape) >= INT_MAX:
        raise ValueError(
            f"{name} has a dimension >= 2**31 - 1 (shape {arr.shape}); BLAS cannot index it"
        )
    if arr.dtype != dtype or not arr.dtype.isnative:
        arr = arr.astype(dtype.newbyteorder("="))
    if contiguous:
        arr = np.ascontiguousarray(arr)
    elif not blas_readable(arr) or _huge_stride(arr):
        arr = np.ascontiguousarray(arr)
    if check_finite and not all_finite_2d(arr):  # np.isfinite(arr) would take m·n_x bytes
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def _huge_stride(arr: np.ndarray) -> bool:
    """Whether a stride (in elements) of a dimension longer than 1 does not fit BLAS's int.

    BLAS takes the leading dimension as a C int: a view such as ``big[:, :5]`` of an array with
    2**31 or more columns would hand it an overflowed value (DGEMM refuses it and leaves the
    output unwritten). Such views are copied instead.
    """
    limit = INT_MAX * arr.itemsize
    return any(n > 1 and abs(s) >= limit for n, s in zip(arr.shape, arr.strides, strict=True))


def as_labels(
    Y, m: int, dtype: np.dtype, name: str = "Y", binary: bool = True, n_out: int = 1
) -> np.ndarray:
    """Labels as a C-ordered (n_out, m) array; accepts (n_out, m), or (m,) when n_out = 1.
    Binary labels must be 0/1; any others finite."""
    arr = _to_array(Y, name)
    if arr.ndim == 1 and n_out == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape != (n_out, m):
        also = f" or ({m},)" if n_out == 1 else ""
        raise ValueError(f"{name} must have shape ({n_out}, {m}){also}; got {np.shape(Y)}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    # 0/1 labels are finite: one pass answers both checks for the usual input (np.isin was 3x
    # slower than the comparisons, a visible share of a short fit's fixed cost)
    labels = ((arr == 0) | (arr == 1)).all() if binary else False
    if not labels and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if binary and not labels:
        bad = np.unique(arr[(arr != 0) & (arr != 1)])[:5]
        raise ValueError(
            f"{name} must hold labels 0 or 1 for a sigmoid output; found {bad.tolist()}"
        )
    return arr


def as_class_labels(Y, m: int, n_classes: int, name: str = "Y") -> np.ndarray:
    """Integer class labels (m,) in 0..n_classes−1 from (m,) or (1, m) (integers, or floats
    holding integers)."""
    arr = _to_array(Y, name)
    if arr.shape not in ((m,), (1, m)):
        raise ValueError(f"{name} must have shape ({m},) or (1, {m}); got {np.shape(Y)}")
    arr = arr.reshape(-1)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integer class labels; got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinity")
        if (arr != np.round(arr)).any():
            bad = np.unique(arr[arr != np.round(arr)])[:5]
            raise ValueError(f"{name} must hold integer class labels; found {bad.tolist()}")
    bad = arr[(arr < 0) | (arr >= n_classes)]
    if bad.size:
        raise ValueError(
            f"{name} must hold class labels 0..{n_classes - 1} for a softmax over {n_classes} "
            f"classes; found {np.unique(bad)[:5].tolist()}"
        )
    return arr.astype(np.intp)


def as_targets(Y, m: int, dtype: np.dtype, output: str, n_out: int, name: str = "Y") -> np.ndarray:
    """What the output layer trains on, as a C-ordered (n_out, m) array of ``dtype``.

    sigmoid: 0/1 labels (n_out, m), or (m,) for one unit; linear and relu: real targets, the
    same shapes; poisson: real targets >= 0; softmax over C = n_out classes: one-hot (or probability) columns (C, m), or
    integer labels (m,) / (1, m) in 0..C−1, turned into one-hot columns here.
    """
    kind = lookup(OUTPUTS, output, "output").labels
    if kind == "count":
        arr = as_labels(Y, m, dtype, name, binary=False, n_out=n_out)
        if (arr < 0).any():
            i, j = (int(k[0]) for k in np.nonzero(arr < 0))
            raise ValueError(
                f"{name} must hold targets >= 0 for a {output!r} output (a log link); "
                f"{name}[{i}, {j}] is {float(arr[i, j])}"
            )
        return arr
    if kind != "one-hot":
        return as_labels(Y, m, dtype, name, binary=(kind == "binary"), n_out=n_out)
    shape = np.shape(Y)
    if shape in ((m,), (1, m)):
        classes = as_class_labels(Y, m, n_out, name)
        onehot = np.zeros((n_out, m), dtype=dtype)
        onehot[classes, np.arange(m)] = 1
        return onehot
    if shape != (n_out, m):
        raise ValueError(
            f"{name} must be one-hot columns ({n_out}, {m}) or class labels ({m},) / (1, {m}) "
            f"for a softmax over {n_out} classes; got {shape}"
        )
    arr = as_labels(Y, m, dtype, name, binary=False, n_out=n_out)
    sums = arr.sum(axis=0, dtype=np.float64)
    tol = 1e-6 if arr.dtype == np.float32 else 1e-12
    if (arr < 0).any() or (np.abs(sums - 1) > tol * n_out).any():
        j = int(np.flatnonzero((arr < 0).any(axis=0) | (np.abs(sums - 1) > tol * n_out))[0])
        raise ValueError(
            f"{name} must hold one-hot (or probability) columns for a softmax output: entries "
            f">= 0 summing to 1; column {j} is {arr[:, j].tolist()[:10]}"
        )
    return arr


def as_sample_weight(w, m: int, dtype: np.dtype, name: str = "sample_weight") -> np.ndarray:
    """Per-example weights: (m,) finite, >= 0, not all 0, contiguous, of ``dtype``."""
    arr = _to_array(w, name)
    if arr.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},), one weight per example; got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or not np.any(arr > 0):
        raise ValueError(f"{name} must hold finite weights >= 0, not all zero")
    return arr


def check_positive(value, name: str) -> float:
    """A finite number > 0; TypeError or ValueError naming ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number; got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number; got {value!r}") from None
    except OverflowError:  # an int beyond float's range
        number = math.inf
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return number


def check_learning_rate(learning_rate) -> float:
    return check_positive(learning_rate, "learning_rate")


#: The largest count (iterations, epochs, batch sizes, intervals) the engine takes: its counters
#: are 64-bit, and a count this large would never finish anyway.
COUNT_MAX = 2**62


def check_count(value, name: str, minimum: int = 0) -> int:
    """An integer in [minimum, 2**62]; TypeError or ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if value > COUNT_MAX:
        raise ValueError(f"{name} must be <= 2**62; got {value}")
    return int(value)


def check_layer_dims(layer_dims) -> list[int]:
    try:
        dims = list(layer_dims)
    except TypeError:
        raise TypeError(f"layer_dims must be a sequence of ints; got {layer_dims!r}") from None
    if len(dims) < 2:
        raise ValueError(f"layer_dims needs at least [n_x, n_y]; got {dims}")
    for i, d in enumerate(dims):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d < INT_MAX:
            raise ValueError(f"layer_dims[{i}] must be an integer in [1, 2**31 - 1); got {d!r}")
    return [int(d) for d in dims]


def check_parameters(parameters: Mapping, dtype=None) -> tuple[list[int], np.dtype]:
    """Check a course parameters dict (W1, b1, …, WL, bL); returns (layer_dims, dtype).

    ValueError names the missing key or the key with the wrong shape and the expected shape.
    """
    if not isinstance(parameters, Mapping):
        raise TypeError(
            f"parameters must be a dict of W1, b1, ...; got {type(parameters).__name__}"
        )
    if "W1" not in parameters:
        raise ValueError("parameters is missing key 'W1'")
    L = 0
    while f"W{L + 1}" in parameters:
        L += 1
    W1 = _to_array(parameters["W1"], "parameters['W1']")
    if W1.ndim != 2:
        raise ValueError(f"parameters['W1'] must be 2-D (n_1, n_x); got shape {W1.shape}")
    dims = [W1.shape[1]]
    for l in range(1, L + 1):
        W = _to_array(parameters[f"W{l}"], f"parameters['W{l}']")
        if W.ndim != 2 or W.shape[1] != dims[-1]:
            raise ValueError(
                f"parameters['W{l}'] must have shape (n_{l}, {dims[-1]}); got {W.shape}"
            )
        dims.append(W.shape[0])
        key = f"b{l}"
        if key not in parameters:
            raise ValueError(f"parameters is missing key {key!r} (expected shape ({dims[-1]}, 1))")
        b = _to_array(parameters[key], f"parameters[{key!r}]").shape
        if b != (dims[-1], 1):
            raise ValueError(f"parameters[{key!r}] must have shape ({dims[-1]}, 1); got {b}")
    if dtype is None:
        dtype = result_dtype(*(parameters[k] for k in parameters if k[:1] in "Wb"))
    return dims, np.dtype(dtype)


def _fmt(shape) -> str:
    inner = ", ".join("?" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"
