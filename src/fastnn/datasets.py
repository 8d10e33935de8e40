"""Datasets and dataset readers in the notation of "Neural Networks and Deep Learning".

Every function here returns arrays in the course's layout: ``X`` has shape ``(n_x, m)``
(one example per column) and ``Y`` has shape ``(1, m)``, both ``float64``.

Generators
    :func:`make_planar` -- the course's planar "flower" dataset (week 3).
    :func:`make_parity` -- n-bit XOR parity, a classic small non-linear problem.

Course data
    :func:`load_catvnoncat` -- the cat / non-cat images of weeks 2 and 4.

File readers (used by the command-line interface)
    :func:`read_h5`, :func:`read_npz`, :func:`read_csv` and the dispatcher
    :func:`read_dataset`. Each returns ``(X, Y)``; ``Y`` is ``None`` when the file holds
    no labels. A missing file raises :class:`FileNotFoundError`; any malformed content
    raises :class:`ValueError` with a one-line message naming the file.

Only numpy is required; h5py is imported lazily, when an ``.h5`` file is read
(``pip install 'fastnn[h5]'``).
"""

from __future__ import annotations

import csv
import errno
import operator
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "load_catvnoncat",
    "make_parity",
    "make_planar",
    "read_csv",
    "read_csv_table",
    "read_dataset",
    "read_h5",
    "read_npz",
]

StrPath = str | os.PathLike[str]

_H5_SUFFIXES = (".h5", ".hdf5")
_SUPPORTED_SUFFIXES = (".h5", ".hdf5", ".npz", ".csv")
_MAX_TABLE_BITS = 24


# --------------------------------------------------------------------------- helpers


def _as_int(value: Any, name: str) -> int:
    """Return ``value`` as a Python int, rejecting bools, floats and other non-integers."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def _check_file(path: StrPath) -> Path:
    """Return ``path`` as a Path; FileNotFoundError if absent, ValueError if not a file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(p))
    if not p.is_file():
        raise ValueError(f"{p}: not a regular file")
    return p


def _one_line(err: BaseException) -> str:
    """The first line of an exception's message (h5py messages can span several lines)."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    return first if first else type(err).__name__


def _numeric(arr: np.ndarray, path: Path, what: str) -> np.ndarray:
    """Check that ``arr`` holds real numbers (bool, int, uint or float)."""
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{path}: {what} has non-numeric dtype {arr.dtype}")
    return arr


def _check_finite(arr: np.ndarray, path: Path, what: str) -> None:
    """ValueError naming the first NaN/inf entry of a 2-D ``(rows, m)`` array."""
    finite = np.isfinite(arr)
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(
            f"{path}: {what} contain NaN or inf (first at row {row}, example {col}: "
            f"{arr[row, col]!r})"
        )


def _labels(y: np.ndarray, m: int, path: Path, what: str) -> np.ndarray:
    """Convert labels of shape ``(m,)`` or ``(1, m)`` to a float64 ``(1, m)`` array."""
    _numeric(y, path, what)
    if y.ndim == 1:
        y = y.reshape(1, -1)
    elif y.ndim != 2 or y.shape[0] != 1:
        raise ValueError(f"{path}: {what} must have shape (m,) or (1, m), got {y.shape}")
    if y.shape[1] != m:
        raise ValueError(f"{path}: {what} has {y.shape[1]} labels but X has {m} examples")
    y = np.asarray(y, dtype=np.float64)
    _check_finite(y, path, what)
    return y


def _features_from_examples(x: np.ndarray, path: Path, what: str) -> np.ndarray:
    """Flatten examples-first data ``(m, ...)`` to ``(n_x, m)`` float64, the course's way.

    ``uint8`` data (images) is divided by 255.
    """
    _numeric(x, path, what)
    if x.ndim < 2:
        raise ValueError(
            f"{path}: {what} must have shape (m, ...) with at least 2 dimensions, got {x.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{path}: {what} holds no examples")
    m = x.shape[0]
    flat = x.reshape(m, -1).T
    if x.dtype == np.uint8:
        flat = flat / 255.0
    flat = np.ascontiguousarray(flat, dtype=np.float64)
    if flat.shape[0] == 0:
        raise ValueError(f"{path}: {what} has no features, shape {x.shape}")
    _check_finite(flat, path, "features")
    return flat


def _import_h5py() -> Any:
    try:
        import h5py
    except ImportError as err:
        raise ImportError("reading .h5 files needs h5py: pip install 'fastnn[h5]'") from err
    return h5py


def _read_h5_datasets(path: Path, keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """Read datasets of an HDF5 file into memory.

    With ``keys=None`` every top-level dataset is read; otherwise exactly ``keys`` (a missing
    one is a ValueError). Corrupt or truncated files raise ValueError.
    """
    h5py = _import_h5py()
    try:
        with h5py.File(path, "r") as f:
            available = sorted(k for k in f.keys() if isinstance(f[k], h5py.Dataset))
            wanted = available if keys is None else keys
            missing = [k for k in wanted if k not in available]
            data = {} if missing else {k: np.asarray(f[k][()]) for k in wanted}
    except Exception as err:  # HDF5 damage surfaces as OSError, KeyError, RuntimeError, ...
        raise ValueError(f"{path}: not a readable HDF5 file ({_one_line(err)})") from err
    if missing:
        raise ValueError(
            f"{path}: missing dataset(s) {', '.join(missing)}; "
            f"found {', '.join(available) or 'none'}"
        )
    return data


# --------------------------------------------------------------------------- generators


def make_planar(m: int = 400, seed: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
    """The planar "flower" dataset of the course (week 3, ``load_planar_dataset``).

    Two classes of ``m // 2`` points each, laid out as the petals of a flower, which a
    logistic regression cannot separate but a one-hidden-layer network can.

    With the defaults (``m=400, seed=1``) the result equals the course's
    ``load_planar_dataset()`` exactly. The global numpy random state is not touched: the
    points are drawn from a private ``np.random.RandomState(seed)``, which yields the same
    stream as ``np.random.seed(seed)`` followed by ``np.random.randn``.

    Parameters
    ----------
    m : int, default 400
        Number of examples; an even integer >= 2.
    seed : int or None, default 1
        Seed of the private random generator; ``None`` draws fresh entropy.

    Returns
    -------
    X : ndarray of shape (2, m), float64
        Point coordinates, one example per column.
    Y : ndarray of shape (1, m), float64
        Labels 0.0 (first ``m // 2`` columns) and 1.0 (the rest). The course returns
        ``uint8``; ``float64`` is returned here so ``Y`` can enter the cost directly.

    Raises
    ------
    ValueError
        If ``m`` is not an even integer >= 2.
    """
    m = _as_int(m, "m")
    if m < 2 or m % 2:
        raise ValueError(f"m must be an even integer >= 2, got {m}")
    rng = np.random.RandomState(seed)
    n = m // 2
    a = 4
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1))
    for j in range(2):
        ix = slice(n * j, n * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, n) + rng.randn(n) * 0.2
        r = a * np.sin(4 * t) + rng.randn(n) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)


def make_parity(
    n_bits: int, m: int | None = None, seed: int | None = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The n-bit parity (XOR) problem.

    Parameters
    ----------
    n_bits : int
        Number of input bits, >= 1 (and <= 24 when ``m`` is None).
    m : int or None, default None
        ``None`` gives the full truth table: all ``2**n_bits`` combinations in order, column
        ``i`` holding the binary digits of ``i`` with the most significant bit in row 0.
        An integer >= 1 gives ``m`` independent uniformly random bit vectors (repeats
        possible) drawn from ``np.random.default_rng(seed)``.
    seed : int or None, default 1
        Seed for the random draws (unused when ``m`` is None); ``None`` draws fresh entropy.
        The global numpy random state is not touched.

    Returns
    -------
    X : ndarray of shape (n_bits, m), float64
        Bits 0.0 / 1.0, one example per column.
    Y : ndarray of shape (1, m), float64
        1.0 where the column has an odd number of ones, else 0.0.

    Raises
    ------
    ValueError
        If ``n_bits`` or ``m`` is out of range or not an integer.

    Notes
    -----
    The full table for ``n_bits=24`` holds 16.7 million examples (about 3.2 GB for ``X``).
    """
    n_bits = _as_int(n_bits, "n_bits")
    if n_bits < 1:
        raise ValueError(f"n_bits must be >= 1, got {n_bits}")
    if m is None:
        if n_bits > _MAX_TABLE_BITS:
            raise ValueError(
                f"n_bits must be <= {_MAX_TABLE_BITS} for the full truth table (m=None), "
                f"got {n_bits}; pass m to draw random examples instead"
            )
        idx = np.arange(2**n_bits, dtype=np.int64)
        shifts = np.arange(n_bits - 1, -1, -1, dtype=np.int64)[:, None]
        bits = ((idx[None, :] >> shifts) & 1).astype(np.uint8)
    else:
        m = _as_int(m, "m")
        if m < 1:
            raise ValueError(f"m must be >= 1 (or None for the full truth table), got {m}")
        rng = np.random.default_rng(seed)
        bits = rng.integers(0, 2, size=(n_bits, m), dtype=np.uint8)
    Y = (bits.sum(axis=0, dtype=np.int64) % 2).astype(np.float64).reshape(1, -1)
    return bits.astype(np.float64), Y


# --------------------------------------------------------------------------- course data


def load_catvnoncat(
    directory: StrPath,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load the course's cat / non-cat images (weeks 2 and 4), flattened and scaled.

    Reads ``train_catvnoncat.h5`` and ``test_catvnoncat.h5`` from ``directory`` and
    applies the course's preprocessing: each 64x64x3 image is flattened with
    ``x.reshape(m, -1).T`` and divided by 255.

    Parameters
    ----------
    directory : str or os.PathLike
        Folder holding the two ``.h5`` files.

    Returns
    -------
    train_x : ndarray of shape (12288, 209), float64, values in [0, 1]
    train_y : ndarray of shape (1, 209), float64 (1.0 = cat)
    test_x : ndarray of shape (12288, 50), float64, values in [0, 1]
    test_y : ndarray of shape (1, 50), float64
    classes : ndarray of shape (2,), bytes
        ``[b'non-cat', b'cat']``, as stored in the file.

    Raises
    ------
    FileNotFoundError
        If either file is missing.
    ValueError
        If a file is corrupt or lacks the expected datasets.
    ImportError
        If h5py is not installed.
    """
    directory = Path(directory)
    train_path = _check_file(directory / "train_catvnoncat.h5")
    test_path = _check_file(directory / "test_catvnoncat.h5")
    train = _read_h5_datasets(train_path, ["train_set_x", "train_set_y", "list_classes"])
    test = _read_h5_datasets(test_path, ["test_set_x", "test_set_y"])
    train_x = _features_from_examples(train["train_set_x"], train_path, "train_set_x")
    train_y = _labels(train["train_set_y"], train_x.shape[1], train_path, "train_set_y")
    test_x = _features_from_examples(test["test_set_x"], test_path, "test_set_x")
    test_y = _labels(test["test_set_y"], test_x.shape[1], test_path, "test_set_y")
    return train_x, train_y, test_x, test_y, train["list_classes"]


# --------------------------------------------------------------------------- file readers


def read_h5(path: StrPath) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an HDF5 file in the course's layout.

    The file must hold exactly one top-level dataset whose name ends in ``_x`` (for
    instance ``train_set_x`` or ``test_set_x``) with examples along the first axis,
    ``(m, ...)``, and optionally the matching ``<prefix>_y`` of shape ``(m,)`` or
    ``(1, m)``. Other datasets (such as ``list_classes``) are ignored.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.h5`` / ``.hdf5`` file.

    Returns
    -------
    X : ndarray of shape (n_x, m), float64
        Each example flattened in the course's order (``x.reshape(m, -1).T``); ``uint8``
        data (images) is divided by 255.
    Y : ndarray of shape (1, m), float64, or None
        The labels, or None when there is no ``<prefix>_y`` dataset.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is corrupt, has no (or several) ``*_x`` datasets, or holds
        data of the wrong shape or type, or NaN / inf.
    ImportError
        If h5py is not installed.
    """
    p = _check_file(path)
    h5py = _import_h5py()
    try:
        with h5py.File(p, "r") as f:
            names = sorted(k for k in f.keys() if isinstance(f[k], h5py.Dataset))
    except Exception as err:  # HDF5 damage surfaces as OSError, KeyError, RuntimeError, ...
        raise ValueError(f"{p}: not a readable HDF5 file ({_one_line(err)})") from err
    x_keys = [k for k in names if k.endswith("_x")]
    if not x_keys:
        raise ValueError(
            f"{p}: no '<prefix>_x' dataset (such as train_set_x); "
            f"found {', '.join(names) or 'none'}"
        )
    if len(x_keys) > 1:
        raise ValueError(
            f"{p}: several '<prefix>_x' datasets ({', '.join(x_keys)}); expected exactly one"
        )
    x_key = x_keys[0]
    y_key = x_key[:-2] + "_y"
    keys = [x_key, y_key] if y_key in names else [x_key]
    data = _read_h5_datasets(p, keys)
    X = _features_from_examples(data[x_key], p, x_key)
    Y = _labels(data[y_key], X.shape[1], p, y_key) if y_key in data else None
    return X, Y


def read_npz(path: StrPath) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a numpy ``.npz`` archive with arrays ``X`` and (optionally) ``Y``.

    Loaded with ``allow_pickle=False``, so object arrays are rejected.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file, as written by ``np.savez(path, X=X, Y=Y)``.

    Returns
    -------
    X : ndarray of shape (n_x, m), float64
        ``X`` as stored: already one example per column (no scaling is applied).
    Y : ndarray of shape (1, m), float64, or None
        ``Y`` (stored as ``(m,)`` or ``(1, m)``), or None when the archive has no ``Y``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a valid ``.npz`` archive, lacks ``X``, holds object or
        non-numeric arrays, arrays of the wrong shape, or NaN / inf.
    """
    p = _check_file(path)
    try:
        fh = open(p, "rb")  # opened here so it is closed even when np.load fails
    except OSError as err:
        raise ValueError(f"{p}: cannot open ({_one_line(err)})") from err
    with fh:
        try:
            loaded = np.load(fh, allow_pickle=False)
        except Exception as err:  # damaged archives fail in many ways
            # (BadZipFile, EOFError, ValueError for pickled data, NotImplementedError for an
            # unknown zip compression method, zlib.error, ...)
            raise ValueError(f"{p}: not a readable .npz archive ({_one_line(err)})") from err
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"{p}: a single .npy array, not an .npz archive with X and Y")
        with loaded as npz:
            names = sorted(npz.files)
            if "X" not in names:
                raise ValueError(
                    f"{p}: no array 'X' in the archive; found {', '.join(names) or 'none'}"
                )
            try:
                x = npz["X"]
                y = npz["Y"] if "Y" in names else None
            except Exception as err:  # a damaged member can fail in many ways
                # (zlib.error, EOFError, ValueError, SyntaxError or tokenize.TokenError from a
                # mangled .npy header, MemoryError from an absurd stored shape, ...)
                raise ValueError(f"{p}: cannot read the arrays ({_one_line(err)})") from err

    _numeric(x, p, "X")
    if x.ndim != 2:
        raise ValueError(f"{p}: X must have shape (n_x, m), got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{p}: X is empty, shape {x.shape}")
    X = np.ascontiguousarray(x, dtype=np.float64)
    _check_finite(X, p, "features")
    Y = _labels(y, X.shape[1], p, "Y") if y is not None else None
    return X, Y


def _csv_float(cell: str, path: Path, line: int, column: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise ValueError(
            f"{path}: row {line}, column {column!r}: cannot parse {cell!r} as a number"
        ) from None


def read_csv(path: StrPath, label: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a comma-separated file with a header row; one example per row.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.csv`` file. The first line must be a header naming the columns; every other
        non-blank line is one example and must have as many numeric cells as the header.
    label : str or None, default None
        Name of the label column, returned as ``Y``; all other columns are features.
        ``None`` means the file has no labels: every column is a feature and ``Y`` is None.

    Returns
    -------
    X : ndarray of shape (n_x, m), float64
        The feature columns, transposed so each example is a column.
    Y : ndarray of shape (1, m), float64, or None

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is empty, has no header or no data rows, has ragged rows, non-numeric
        or NaN / inf cells, or ``label`` is not a column (the message lists the columns).
        Row numbers in messages are line numbers in the file (the header is row 1).
    """
    X, labels, _, p, rows = _read_csv_table(path, label, None)
    if labels is None:
        return X, None
    try:  # one C pass; the per-cell loop only to name the cell that fails
        Y = labels.astype(np.float64).reshape(1, -1)
    except ValueError:
        for c, line in zip(labels, rows, strict=True):
            _csv_float(c, p, line, label)
        raise
    bad = ~np.isfinite(Y[0])
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(
            f"{p}: row {rows[j]}, column {label!r}: {str(labels[j])!r} is not a finite number"
        )
    return X, Y


def read_csv_table(
    path: StrPath, label: str | None = None, id_column: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Like :func:`read_csv`, but the label column is returned as text (class names such as
    "yes" / "no" or species names; stripped cells, a (m,) string array), and an optional
    ``id_column`` is set aside the same way (neither is a feature).

    Returns (X, labels, ids): X (n_x, m) float64 and the label and id columns, or None when
    not asked for.
    """
    X, labels, ids, _, _ = _read_csv_table(path, label, id_column)
    return X, labels, ids


def _read_csv_table(path, label, id_column):
    """X (n_x, m) from every column but ``label`` and ``id_column`` (which come back as
    stripped text), the path, and the file's line number of every data row."""
    p = _check_file(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = [(i, r) for i, r in enumerate(csv.reader(fh), start=1) if r]
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{p}: not a readable CSV file ({_one_line(err)})") from err
    except OSError as err:
        raise ValueError(f"{p}: cannot read ({_one_line(err)})") from err
    if not rows:
        raise ValueError(f"{p}: empty file (a header row and data rows are required)")

    header_line, raw_header = rows[0]
    header = [h.strip() for h in raw_header]
    numeric_header = True
    for h in header:
        try:
            float(h)
        except ValueError:
            numeric_header = False
            break
    if numeric_header:
        raise ValueError(
            f"{p}: row {header_line} looks like data, but a header row naming the columns "
            "is required"
        )
    text_cols = []
    for name, what in ((label, "label"), (id_column, "id")):
        if name is None:
            text_cols.append(None)
            continue
        if name not in header:
            raise ValueError(
                f"{p}: {what} column {name!r} not found; columns are {', '.join(header)}"
            )
        if header.count(name) > 1:
            raise ValueError(f"{p}: {what} column {name!r} appears more than once in the header")
        text_cols.append(header.index(name))
    if label is not None and label == id_column:
        raise ValueError(f"{p}: the label and the id column are the same column {label!r}")
    features = [j for j in range(len(header)) if j not in text_cols]
    if not features:
        raise ValueError(f"{p}: no feature columns besides the label and id columns")

    data = rows[1:]
    if not data:
        raise ValueError(f"{p}: no data rows after the header")
    width = len(header)
    for line, row in data:
        if len(row) != width:
            raise ValueError(f"{p}: row {line} has {len(row)} fields, expected {width}")

    cells = [[row[j] for j in features] for _, row in data]
    try:
        table = np.array(cells, dtype=np.float64)
    except ValueError:
        table = np.array(
            [[_csv_float(row[j], p, line, header[j]) for j in features] for line, row in data],
            dtype=np.float64,
        )
    bad = ~np.isfinite(table)
    if bad.any():
        i, k = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            f"{p}: row {data[i][0]}, column {header[features[k]]!r}: "
            f"{data[i][1][features[k]].strip()!r} is not a finite number"
        )
    texts = [
        None if j is None else np.array([row[j].strip() for _, row in data], dtype=str)
        for j in text_cols
    ]
    if texts[0] is not None and (texts[0] == "").any():
        i = int(np.argmax(texts[0] == ""))
        raise ValueError(f"{p}: row {data[i][0]}, column {label!r}: empty label")
    return np.ascontiguousarray(table.T), texts[0], texts[1], p, [line for line, _ in data]


def read_dataset(path: StrPath, label: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a dataset file, choosing the reader from its extension.

    ``.h5`` / ``.hdf5`` -> :func:`read_h5`, ``.npz`` -> :func:`read_npz`,
    ``.csv`` -> :func:`read_csv` (extensions are case-insensitive).

    Parameters
    ----------
    path : str or os.PathLike
        The file to read.
    label : str or None, default None
        Label column name; only meaningful for ``.csv`` files (the other formats name
        their labels themselves), so passing it for another format is a ValueError.

    Returns
    -------
    X : ndarray of shape (n_x, m), float64
    Y : ndarray of shape (1, m), float64, or None when the file holds no labels.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the extension is not supported, or the file is malformed.
    """
    p = _check_file(path)
    suffix = p.suffix.lower()
    if suffix not in _SUPPORTED_SUFFIXES:
        raise ValueError(
            f"{p}: unsupported file extension {p.suffix or '(none)'!r}; "
            f"supported: {', '.join(_SUPPORTED_SUFFIXES)}"
        )
    if suffix == ".csv":
        return read_csv(p, label=label)
    if label is not None:
        raise ValueError(
            f"{p}: label={label!r} only applies to .csv files; {suffix} files name their "
            "labels themselves"
        )
    if suffix in _H5_SUFFIXES:
        return read_h5(p)
    return read_npz(p)
