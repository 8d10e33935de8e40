"""Helpers shared by the test modules (no tests here): the kernel tests' operands and tolerance,
a small fitted [3, 4, 1] problem, the files that the bad-input tables of test_validation.py and
test_cli.py write, and the memory layouts an input may arrive in (``relayout``), which the layout
tests of the functional API, the Model, persistence and the fuzzing read their inputs through."""

from __future__ import annotations

import itertools
import os
import pickle
import struct

import numpy as np

from fastnn import Model
from fastnn._registry import ACTIVATIONS

DTYPES = [np.float32, np.float64]
ACTS = list(ACTIVATIONS)
HUGE = 2**31  # > INT_MAX


# --------------------------------------------------------------------------- memory layouts


_MEMMAP_IDS = itertools.count()


def relayout(a, kind, tmp_dir=None):
    """The same values as ``a`` in another memory layout."""
    a = np.asarray(a)
    if kind == "C":
        return np.ascontiguousarray(a)
    if kind == "F":
        return np.asfortranarray(a)
    if kind == "C-padded":  # row stride > row length (BLAS reads it in place)
        big = np.zeros((a.shape[0] + 2, a.shape[1] + 3), dtype=a.dtype)
        big[1:-1, 2:-1] = a
        return big[1:-1, 2:-1]
    if kind == "F-padded":
        big = np.zeros((a.shape[0] + 3, a.shape[1] + 2), dtype=a.dtype, order="F")
        big[2:-1, 1:-1] = a
        return big[2:-1, 1:-1]
    if kind == "strided":  # non-unit steps in both dimensions
        big = np.zeros((2 * a.shape[0], 3 * a.shape[1]), dtype=a.dtype)
        big[::2, ::3] = a
        return big[::2, ::3]
    if kind == "negative":
        return np.ascontiguousarray(a[::-1, ::-1])[::-1, ::-1]
    if kind == "F-negative":
        return np.asfortranarray(a[::-1])[::-1]
    if kind == "read-only":
        b = a.copy()
        b.flags.writeable = False
        return b
    if kind == "memmap":
        path = os.path.join(tmp_dir, f"memmap-{next(_MEMMAP_IDS)}.dat")
        mm = np.memmap(path, dtype=a.dtype, mode="w+", shape=a.shape)
        mm[:] = a
        mm.flush()
        del mm
        return np.memmap(path, dtype=a.dtype, mode="r", shape=a.shape)
    if kind == "big-endian":
        return a.astype(a.dtype.newbyteorder(">"))
    raise ValueError(kind)


LAYOUT_KINDS = [
    "C",
    "F",
    "C-padded",
    "F-padded",
    "strided",
    "negative",
    "F-negative",
    "read-only",
    "memmap",
    "big-endian",
]
# BLAS reads F-ordered operands in place with a transpose flag; its kernels may then sum in
# another order, so results agree to rounding (a few ulp), not bit for bit. Every other layout is
# read as C order (padded rows included) or copied to C order, and gives identical bits, except
# that an operand with a single row and a non-unit column step ("strided", "F-negative" for the
# output layer's W) is itself a valid column-major matrix, which BLAS then reads transposed.
TRANSPOSED = {"F", "F-padded"}
SINGLE_ROW_TRANSPOSED = {"strided", "F-negative"}


def assert_same_layout(got, want, kind, dtype, rtol=None, transposed=TRANSPOSED):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype
    if kind in transposed:
        rtol = rtol or (1e-5 if np.dtype(dtype) == np.float32 else 1e-12)
        scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-30)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)
    else:
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------- kernel operands


RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def close(got, want, dtype, k=1):
    """Elementwise |got − want| ≤ rtol·√k·(1 + |want|): GEMM rounding grows with the length k."""
    rtol = RTOL[dtype] * max(1.0, np.sqrt(k) / 4)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


LAYOUTS = ["C", "F", "Cblock", "Fblock"]


def layout(a, kind):
    """The same values in another memory layout, all readable by BLAS without a copy: C, F and
    sub-block views whose leading dimension exceeds the row length ("Cblock", "Fblock", the
    "C-padded" and "F-padded" of relayout)."""
    if kind not in LAYOUTS:
        raise ValueError(kind)
    return relayout(a, {"Cblock": "C-padded", "Fblock": "F-padded"}.get(kind, kind))


def draw(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def net(rng, dims, dtype):
    Ws = [
        draw(rng, (dims[l + 1], dims[l]), dtype, 1 / np.sqrt(dims[l])) for l in range(len(dims) - 1)
    ]
    bs = [draw(rng, (d, 1), dtype, 0.1) for d in dims[1:]]
    return Ws, bs


GEMM_LIMITS = {"small": -1, "blas": 0}  # the gemm_path fixture's small-GEMM limits (conftest.py)


# --------------------------------------------------------------------------- a small problem


def _data(seed: int = 20240601):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, 5))
    Y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    P = {
        "W1": rng.standard_normal((4, 3)) / np.sqrt(3),
        "b1": rng.standard_normal((4, 1)) * 0.1,
        "W2": rng.standard_normal((1, 4)) / 2,
        "b2": np.zeros((1, 1)),
    }
    return X, Y, P


X5, Y5, P5 = _data()


def with_(d, **changes):
    return {**d, **changes}


def model5(**kwargs) -> Model:
    return Model([3, 4, 1], **kwargs)


def fitted5(**kwargs) -> Model:
    return model5(**kwargs).fit(X5, Y5, 0.1, 5)


# --------------------------------------------------------------------------- model files


class _TmpDir:
    """Where the bad-input tables' file cases write (set per test by conftest.py's case_files)."""

    root = None

    def path(self, name):
        return os.path.join(self.root, name)


TMP = _TmpDir()


def bytes_file(name, data: bytes):
    path = TMP.path(name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def good_model_bytes() -> bytes:
    path = TMP.path("good.npz")
    fitted5().save(path)
    with open(path, "rb") as fh:
        return fh.read()


def patch_zip_member(data: bytes, member: str, *, flags: int = 0, method: int | None = None):
    """Set flag bits / the compression method of one member, in both zip headers."""
    b = bytearray(data)
    name = member.encode()
    pos = 0
    while (pos := b.find(b"PK\x01\x02", pos)) >= 0:
        n = struct.unpack("<H", b[pos + 28 : pos + 30])[0]
        if bytes(b[pos + 46 : pos + 46 + n]) == name:
            local = struct.unpack("<I", b[pos + 42 : pos + 46])[0]
            for flag_at, method_at in ((pos + 8, pos + 10), (local + 6, local + 8)):
                old = struct.unpack("<H", b[flag_at : flag_at + 2])[0]
                b[flag_at : flag_at + 2] = struct.pack("<H", old | flags)
                if method is not None:
                    b[method_at : method_at + 2] = struct.pack("<H", method)
            return bytes(b)
        pos += 4
    raise KeyError(member)


class UnpickleMarker:
    """Unpickling this makes a directory: evidence that a loader unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def raw_pickle_file():
    return bytes_file("raw.npz", pickle.dumps(UnpickleMarker(TMP.path("unpickled"))))


# --------------------------------------------------------------------------- training runs


def spec(activations, output="sigmoid", learning_rate=0.1, num_epochs=10, slope=0.01, **kw):
    """A TrainSpec (fastnn._spec) with the engine tests' defaults."""
    from fastnn._spec import TrainSpec

    return TrainSpec(tuple(activations), output, slope, learning_rate, num_epochs, **kw)


def state_of(Ws, bs, optimizer="gd"):
    """A TrainState holding copies of Ws and bs, with a fresh optimizer."""
    from fastnn._spec import TrainState

    return TrainState.from_arrays(Ws, bs, optimizer)


#: (output, n_L): every output layer, and the multi-unit ones (multi-label, multi-output, classes)
OUTPUT_CASES = [
    ("sigmoid", 1), ("linear", 1), ("relu", 1), ("softmax", 2), ("softmax", 5),
    ("sigmoid", 3), ("linear", 2), ("poisson", 1), ("poisson", 2),
]  # fmt: skip
OUTPUT_IDS = [f"{o}{n}" for o, n in OUTPUT_CASES]


def labels(rng, shape, dtype, output="sigmoid"):
    """0/1 labels for a sigmoid output, one-hot columns for a softmax, real targets for a linear
    one, non-negative ones for a ReLU output, counts (zeros among them) for a Poisson one."""
    if output == "sigmoid":
        return (rng.random(shape) > 0.5).astype(dtype)
    if output == "softmax":
        return np.eye(shape[0], dtype=dtype)[:, rng.integers(0, shape[0], shape[1])].copy()
    if output == "relu":
        return np.abs(rng.standard_normal(shape)).astype(dtype)
    if output == "poisson":
        return rng.poisson(1.5, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def numeric_gradient(cost, parameters, eps):
    """Central differences (cost(θ + ε) − cost(θ − ε)) / 2ε of every parameter entry."""
    grads = {}
    for key, value in parameters.items():
        grads[key] = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus, minus = dict(parameters), dict(parameters)
            plus[key], minus[key] = value.copy(), value.copy()
            plus[key][idx] += eps
            minus[key][idx] -= eps
            grads[key][idx] = (cost(plus) - cost(minus)) / (2 * eps)
    return grads
