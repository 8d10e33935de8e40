"""Tests for fastnn.datasets: generators, the course data and the file readers."""

import sys
import zipfile

import numpy as np
import pytest
from conftest import CAT_DIR

from fastnn import datasets

CATVNONCAT_DIR = CAT_DIR  # $FASTNN_DATASETS or shared/datasets beside the checkout
HAVE_CATVNONCAT = (CATVNONCAT_DIR / "train_catvnoncat.h5").is_file() and (
    CATVNONCAT_DIR / "test_catvnoncat.h5"
).is_file()


def _one_line(excinfo: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(excinfo.value)


# --------------------------------------------------------------------------- make_planar


def _course_load_planar_dataset():
    """The course's load_planar_dataset, verbatim (uses the global random state)."""
    np.random.seed(1)  # noqa: NPY002
    m = 400  # number of examples
    N = int(m / 2)  # number of points per class
    D = 2  # dimensionality
    X = np.zeros((m, D))  # data matrix where each row is a single example
    Y = np.zeros((m, 1), dtype="uint8")  # labels vector (0 for red, 1 for blue)
    a = 4  # maximum ray of the flower

    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2  # noqa: NPY002
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2  # noqa: NPY002
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j

    X = X.T
    Y = Y.T
    return X, Y


def test_planar_matches_course():
    state = np.random.get_state()  # noqa: NPY002
    try:
        X_ref, Y_ref = _course_load_planar_dataset()
    finally:
        np.random.set_state(state)  # noqa: NPY002
    X, Y = datasets.make_planar(400, seed=1)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(Y, Y_ref)
    X_default, Y_default = datasets.make_planar()
    np.testing.assert_array_equal(X_default, X_ref)
    np.testing.assert_array_equal(Y_default, Y_ref)


@pytest.mark.parametrize("m", [2, 10, 400, 1000])
def test_planar_shapes_dtypes_balanced(m):
    X, Y = datasets.make_planar(m, seed=3)
    assert X.shape == (2, m) and Y.shape == (1, m)
    assert X.dtype == np.float64 and Y.dtype == np.float64
    assert set(np.unique(Y)) <= {0.0, 1.0}
    assert Y.sum() == m // 2
    np.testing.assert_array_equal(Y[0, : m // 2], 0.0)
    np.testing.assert_array_equal(Y[0, m // 2 :], 1.0)
    assert np.isfinite(X).all()


def test_planar_leaves_global_random_state_alone():
    np.random.seed(12345)  # noqa: NPY002
    before = np.random.get_state()  # noqa: NPY002
    datasets.make_planar(400, seed=1)
    datasets.make_planar(20, seed=None)
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_planar_seeds():
    a = datasets.make_planar(50, seed=7)
    b = datasets.make_planar(50, seed=7)
    c = datasets.make_planar(50, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("m", [0, 1, 3, 401, -2, 4.0, True, "400"])
def test_planar_rejects_bad_m(m):
    with pytest.raises(ValueError, match=r"\bm\b") as excinfo:
        datasets.make_planar(m)
    _one_line(excinfo)


# --------------------------------------------------------------------------- make_parity


@pytest.mark.parametrize("n_bits", [1, 2, 3, 5, 8])
def test_parity_truth_table(n_bits):
    X, Y = datasets.make_parity(n_bits)
    m = 2**n_bits
    assert X.shape == (n_bits, m) and Y.shape == (1, m)
    assert X.dtype == np.float64 and Y.dtype == np.float64
    for i in range(m):
        bits = [int(b) for b in format(i, f"0{n_bits}b")]
        assert X[:, i].tolist() == bits
        assert Y[0, i] == bin(i).count("1") % 2
    # every combination exactly once
    assert len({tuple(col) for col in X.T}) == m


def test_parity_random_draws():
    X, Y = datasets.make_parity(6, m=500, seed=0)
    assert X.shape == (6, 500) and Y.shape == (1, 500)
    assert X.dtype == np.float64 and Y.dtype == np.float64
    assert set(np.unique(X)) == {0.0, 1.0}
    np.testing.assert_array_equal(Y[0], X.sum(axis=0) % 2)
    X2, _ = datasets.make_parity(6, m=500, seed=0)
    np.testing.assert_array_equal(X, X2)


def test_parity_leaves_global_random_state_alone():
    before = np.random.get_state()  # noqa: NPY002
    datasets.make_parity(4, m=10, seed=None)
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(before[1], after[1])


@pytest.mark.parametrize(
    ("n_bits", "m", "match"),
    [
        (0, None, "n_bits"),
        (-1, 10, "n_bits"),
        (25, None, "n_bits"),
        (2.5, None, "n_bits"),
        (3, 0, r"\bm\b"),
        (3, 2.0, r"\bm\b"),
    ],
)
def test_parity_rejects_bad_arguments(n_bits, m, match):
    with pytest.raises(ValueError, match=match):
        datasets.make_parity(n_bits, m)


# --------------------------------------------------------------------------- load_catvnoncat


@pytest.mark.skipif(
    not HAVE_CATVNONCAT, reason=f"catvnoncat .h5 files not found in {CATVNONCAT_DIR}"
)
def test_load_catvnoncat_real_files():
    h5py = pytest.importorskip("h5py")
    train_x, train_y, test_x, test_y, classes = datasets.load_catvnoncat(CATVNONCAT_DIR)
    assert train_x.shape == (12288, 209) and train_y.shape == (1, 209)
    assert test_x.shape == (12288, 50) and test_y.shape == (1, 50)
    for a in (train_x, train_y, test_x, test_y):
        assert a.dtype == np.float64
    assert 0.0 <= train_x.min() and train_x.max() <= 1.0
    assert 0.0 <= test_x.min() and test_x.max() <= 1.0
    assert set(np.unique(train_y)) == {0.0, 1.0}
    assert list(classes) == [b"non-cat", b"cat"]
    # the course's preprocessing, step by step
    with h5py.File(CATVNONCAT_DIR / "train_catvnoncat.h5", "r") as f:
        orig = np.array(f["train_set_x"][:])
        orig_y = np.array(f["train_set_y"][:])
    np.testing.assert_array_equal(train_x, orig.reshape(orig.shape[0], -1).T / 255.0)
    np.testing.assert_array_equal(train_y, orig_y.reshape((1, orig_y.shape[0])))


def _write_fake_catvnoncat(directory, m_train=4, m_test=3, x_dtype=np.uint8):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    train_x = rng.integers(0, 256, size=(m_train, 4, 4, 3)).astype(x_dtype)
    test_x = rng.integers(0, 256, size=(m_test, 4, 4, 3)).astype(x_dtype)
    with h5py.File(directory / "train_catvnoncat.h5", "w") as f:
        f["train_set_x"] = train_x
        f["train_set_y"] = np.arange(m_train) % 2
        f["list_classes"] = np.array([b"non-cat", b"cat"])
    with h5py.File(directory / "test_catvnoncat.h5", "w") as f:
        f["test_set_x"] = test_x
        f["test_set_y"] = np.ones(m_test, dtype=np.int64)
    return train_x, test_x


def test_load_catvnoncat_fake_files(tmp_path):
    train_x_orig, test_x_orig = _write_fake_catvnoncat(tmp_path)
    train_x, train_y, test_x, test_y, classes = datasets.load_catvnoncat(str(tmp_path))
    np.testing.assert_array_equal(train_x, train_x_orig.reshape(4, -1).T / 255.0)
    np.testing.assert_array_equal(test_x, test_x_orig.reshape(3, -1).T / 255.0)
    np.testing.assert_array_equal(train_y, [[0.0, 1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(test_y, [[1.0, 1.0, 1.0]])
    assert train_x.shape == (48, 4) and test_x.shape == (48, 3)
    assert list(classes) == [b"non-cat", b"cat"]


def test_load_catvnoncat_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_catvnoncat.h5"):
        datasets.load_catvnoncat(tmp_path)
    _write_fake_catvnoncat(tmp_path)
    (tmp_path / "test_catvnoncat.h5").unlink()
    with pytest.raises(FileNotFoundError, match="test_catvnoncat.h5"):
        datasets.load_catvnoncat(tmp_path)


def test_load_catvnoncat_missing_key(tmp_path):
    h5py = pytest.importorskip("h5py")
    _write_fake_catvnoncat(tmp_path)
    with h5py.File(tmp_path / "train_catvnoncat.h5", "a") as f:
        del f["list_classes"]
    with pytest.raises(ValueError, match="train_catvnoncat.h5.*list_classes") as excinfo:
        datasets.load_catvnoncat(tmp_path)
    _one_line(excinfo)


def test_load_catvnoncat_corrupt(tmp_path):
    _write_fake_catvnoncat(tmp_path)
    (tmp_path / "test_catvnoncat.h5").write_bytes(b"garbage" * 10)
    with pytest.raises(ValueError, match="test_catvnoncat.h5.*HDF5") as excinfo:
        datasets.load_catvnoncat(tmp_path)
    _one_line(excinfo)


# --------------------------------------------------------------------------- writers


def _write_h5(path, **arrays):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f[key] = value
    return path


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


def _write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- read_h5


def test_read_h5_images_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(5, 3, 2, 3), dtype=np.uint8)
    y = np.array([0, 1, 1, 0, 1])
    path = _write_h5(tmp_path / "train.h5", train_set_x=x, train_set_y=y, list_classes=[b"a"])
    X, Y = datasets.read_h5(path)
    assert X.shape == (18, 5) and X.dtype == np.float64
    np.testing.assert_array_equal(X, x.reshape(5, -1).T / 255.0)
    assert Y.shape == (1, 5) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y, y.reshape(1, -1))


def test_read_h5_generic_prefix_float_no_scaling(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = _write_h5(tmp_path / "d.hdf5", my_x=x, my_y=np.ones((1, 4)))
    X, Y = datasets.read_h5(path)
    np.testing.assert_array_equal(X, x.T)  # float data is not divided by 255
    np.testing.assert_array_equal(Y, np.ones((1, 4)))


def test_read_h5_without_labels(tmp_path):
    path = _write_h5(tmp_path / "d.h5", test_set_x=np.zeros((3, 2, 2), dtype=np.uint8))
    X, Y = datasets.read_h5(path)
    assert X.shape == (4, 3) and Y is None


def _truncated_h5(tmp_path):
    path = _write_h5(tmp_path / "full.h5", train_set_x=np.ones((50, 64)), train_set_y=np.ones(50))
    data = path.read_bytes()
    out = tmp_path / "trunc.h5"
    out.write_bytes(data[: len(data) // 2])
    return out


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: _write_csv(d / "bad.h5", "not hdf5 at all"), "bad.h5: not a readable HDF5"),
        (lambda d: _write_bytes(d / "empty.h5", b""), "empty.h5: not a readable HDF5"),
        (_truncated_h5, "trunc.h5"),
        (lambda d: _write_h5(d / "nox.h5", foo=np.ones((3, 2))), "nox.h5: no '<prefix>_x'.*foo"),
        (
            lambda d: _write_h5(d / "two.h5", a_x=np.ones((3, 2)), b_x=np.ones((3, 2))),
            "two.h5: several.*a_x, b_x",
        ),
        (lambda d: _write_h5(d / "ndim.h5", train_set_x=np.ones(5)), "ndim.h5: train_set_x.*shape"),
        (
            lambda d: _write_h5(d / "nan.h5", train_set_x=np.array([[1.0, np.nan], [0.0, 1.0]])),
            "nan.h5: features contain NaN or inf",
        ),
        (
            lambda d: _write_h5(d / "inf.h5", s_x=np.ones((2, 2)), s_y=np.array([0.0, np.inf])),
            "inf.h5: s_y contain NaN or inf",
        ),
        (
            lambda d: _write_h5(d / "len.h5", s_x=np.ones((3, 2)), s_y=np.ones(4)),
            "len.h5: s_y has 4 labels but X has 3 examples",
        ),
        (
            lambda d: _write_h5(d / "yshape.h5", s_x=np.ones((3, 2)), s_y=np.ones((3, 1))),
            r"yshape.h5: s_y must have shape \(m,\) or \(1, m\)",
        ),
        (
            lambda d: _write_h5(d / "str.h5", s_x=np.array([[b"a", b"b"]])),
            "str.h5: s_x has non-numeric dtype",
        ),
        (
            lambda d: _write_h5(d / "zero.h5", s_x=np.ones((0, 3))),
            "zero.h5: s_x holds no examples",
        ),
    ],
)
def test_read_h5_malformed(tmp_path, make, match):
    pytest.importorskip("h5py")
    path = make(tmp_path)
    with pytest.raises(ValueError, match=match) as excinfo:
        datasets.read_h5(path)
    _one_line(excinfo)


def test_read_h5_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        datasets.read_h5(tmp_path / "nope.h5")


def test_read_h5_without_h5py(tmp_path, monkeypatch):
    path = _write_h5(tmp_path / "d.h5", s_x=np.ones((2, 2)))
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` fail
    with pytest.raises(ImportError, match=r"pip install 'fastnn\[h5\]'"):
        datasets.read_h5(path)
    with pytest.raises(ImportError, match="reading .h5 files needs h5py"):
        datasets.load_catvnoncat(_write_fake_catvnoncat_dir(tmp_path))


def _write_fake_catvnoncat_dir(tmp_path):
    d = tmp_path / "cats"
    d.mkdir()
    for name in ("train_catvnoncat.h5", "test_catvnoncat.h5"):
        (d / name).write_bytes(b"")
    return d


# --------------------------------------------------------------------------- read_npz


@pytest.mark.parametrize("y_shape", [(7,), (1, 7)])
def test_read_npz_round_trip(tmp_path, y_shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 7))
    y = (rng.random(7) > 0.5).astype(np.int8).reshape(y_shape)
    path = tmp_path / "d.npz"
    np.savez(path, X=x, Y=y)
    X, Y = datasets.read_npz(path)
    np.testing.assert_array_equal(X, x)
    assert X.dtype == np.float64 and Y.dtype == np.float64
    np.testing.assert_array_equal(Y, y.reshape(1, 7))


def test_read_npz_compressed_without_labels(tmp_path):
    x = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = tmp_path / "d.npz"
    np.savez_compressed(path, X=x)
    X, Y = datasets.read_npz(path)
    np.testing.assert_array_equal(X, x.astype(np.float64))  # npz X is used as stored
    assert Y is None


def test_read_npz_uses_allow_pickle_false(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.ones((2, 2)))
    seen = {}
    real_load = np.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    datasets.read_npz(path)
    assert seen.get("allow_pickle") is False


def _npz_truncated(d):
    path = d / "full.npz"
    np.savez(path, X=np.ones((20, 20)), Y=np.ones(20))
    data = path.read_bytes()
    out = d / "trunc.npz"
    out.write_bytes(data[: len(data) // 2])
    return out


def _npz_bad_member(d):
    """A zip whose X member is not a valid .npy payload."""
    out = d / "member.npz"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("X.npy", b"\x93NUMPY garbage")
    return out


def _savez(d, name, **arrays):
    path = d / name
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: _write_csv(d / "bad.npz", "plain text"), "bad.npz: not a readable .npz"),
        (lambda d: _write_bytes(d / "empty.npz", b""), "empty.npz: not a readable .npz"),
        (_npz_truncated, "trunc.npz: not a readable .npz"),
        (_npz_bad_member, "member.npz: cannot read the arrays"),
        (
            lambda d: _savez(d, "obj.npz", X=np.array([{"a": 1}, None], dtype=object)),
            "obj.npz: cannot read the arrays.*[Oo]bject arrays",
        ),
        (lambda d: _savez(d, "nox.npz", Z=np.ones((2, 2))), "nox.npz: no array 'X'.*found Z"),
        (
            lambda d: _savez(d, "ndim1.npz", X=np.ones(3)),
            r"ndim1.npz: X must have shape \(n_x, m\)",
        ),
        (lambda d: _savez(d, "ndim3.npz", X=np.ones((2, 2, 2))), "ndim3.npz: X must have shape"),
        (lambda d: _savez(d, "emptyx.npz", X=np.ones((2, 0))), "emptyx.npz: X is empty"),
        (
            lambda d: _savez(d, "nan.npz", X=np.array([[1.0, 2.0], [np.nan, 0.0]])),
            "nan.npz: features contain NaN or inf",
        ),
        (
            lambda d: _savez(d, "inf.npz", X=np.array([[np.inf, 2.0]])),
            "inf.npz: features contain NaN or inf",
        ),
        (lambda d: _savez(d, "str.npz", X=np.array([["a", "b"]])), "str.npz: X has non-numeric"),
        (
            lambda d: _savez(d, "ylen.npz", X=np.ones((2, 3)), Y=np.ones(2)),
            "ylen.npz: Y has 2 labels but X has 3 examples",
        ),
        (
            lambda d: _savez(d, "yshape.npz", X=np.ones((2, 3)), Y=np.ones((3, 1))),
            r"yshape.npz: Y must have shape \(m,\) or \(1, m\)",
        ),
        (
            lambda d: _savez(d, "ynan.npz", X=np.ones((2, 2)), Y=np.array([0.0, np.nan])),
            "ynan.npz: Y contain NaN or inf",
        ),
    ],
)
def test_read_npz_malformed(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(ValueError, match=match) as excinfo:
        datasets.read_npz(path)
    _one_line(excinfo)


def test_read_npz_rejects_npy(tmp_path):
    path = tmp_path / "x.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.ones((2, 2)))
    with pytest.raises(ValueError, match="x.npz: a single .npy array"):
        datasets.read_npz(path)


def test_read_npz_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        datasets.read_npz(tmp_path / "nope.npz")


# --------------------------------------------------------------------------- read_csv


def test_read_csv_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))  # rows are examples
    x[0, 0] = 1e-300  # repr() round-trips exactly, even for extreme values
    y = np.array([0, 1, 1, 0, 1])
    lines = ["a,b,label,c"] + [
        ",".join([repr(float(x[i, 0])), repr(float(x[i, 1])), str(y[i]), repr(float(x[i, 2]))])
        for i in range(5)
    ]
    path = _write_csv(tmp_path / "d.csv", "\n".join(lines) + "\n")
    X, Y = datasets.read_csv(path, label="label")
    assert X.shape == (3, 5) and Y.shape == (1, 5)
    assert X.dtype == np.float64 and Y.dtype == np.float64
    np.testing.assert_array_equal(X, x.T)
    np.testing.assert_array_equal(Y, y.reshape(1, -1))


def test_read_csv_without_label_blank_lines_spaces_crlf(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xef\xbb\xbf x1 , x2\r\n1, 2\r\n\r\n 3 ,4e0\r\n")
    X, Y = datasets.read_csv(path)
    np.testing.assert_array_equal(X, [[1.0, 3.0], [2.0, 4.0]])
    assert Y is None
    X, Y = datasets.read_csv(path, label="x2")
    np.testing.assert_array_equal(X, [[1.0, 3.0]])
    np.testing.assert_array_equal(Y, [[2.0, 4.0]])


@pytest.mark.parametrize(
    ("text", "label", "match"),
    [
        ("", None, "d.csv: empty file"),
        ("\n\n", None, "d.csv: empty file"),
        ("a,b\n", None, "d.csv: no data rows"),
        ("1,2\n3,4\n", None, "d.csv: row 1 looks like data.*header"),
        ("a,b\n1,2\n3\n", None, "d.csv: row 3 has 1 fields, expected 2"),
        ("a,b\n1,2\n3,4,5\n", None, "d.csv: row 3 has 3 fields, expected 2"),
        ("a,b\n1,2\n3,x\n", None, "d.csv: row 3, column 'b': cannot parse 'x' as a number"),
        ("a,b\n1,\n", None, "d.csv: row 2, column 'b': cannot parse '' as a number"),
        ("a,b\n1,2\nnan,4\n", None, "d.csv: row 3, column 'a': 'nan' is not a finite number"),
        ("a,y\n1,inf\n", "y", "d.csv: row 2, column 'y': 'inf' is not a finite number"),
        ("a,b\n1,2\n", "label", "d.csv: label column 'label' not found; columns are a, b"),
        ("y\n1\n", "y", "d.csv: no feature columns"),
        ("y,y\n1,2\n", "y", "d.csv: label column 'y' appears more than once"),
    ],
)
def test_read_csv_malformed(tmp_path, text, label, match):
    path = _write_csv(tmp_path / "d.csv", text)
    with pytest.raises(ValueError, match=match) as excinfo:
        datasets.read_csv(path, label=label)
    _one_line(excinfo)


def test_read_csv_not_utf8(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(ValueError, match="d.csv: not a readable CSV") as excinfo:
        datasets.read_csv(path)
    _one_line(excinfo)


def test_read_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        datasets.read_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- read_dataset


def test_read_dataset_dispatch(tmp_path):
    x = np.arange(6, dtype=np.float64).reshape(2, 3)  # (n_x, m)
    y = np.array([[0.0, 1.0, 0.0]])
    npz = tmp_path / "d.npz"
    np.savez(npz, X=x, Y=y)
    csv_path = _write_csv(tmp_path / "d.CSV", "f0,f1,t\n0,3,0\n1,4,1\n2,5,0\n")
    h5 = _write_h5(tmp_path / "d.hdf5", set_x=x.T, set_y=y[0])
    results = [
        datasets.read_dataset(npz),
        datasets.read_dataset(csv_path, label="t"),
        datasets.read_dataset(str(h5)),
    ]
    for X, Y in results:
        np.testing.assert_array_equal(X, x)
        np.testing.assert_array_equal(Y, y)


def test_read_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        datasets.read_dataset(tmp_path / "missing.npz")
    txt = _write_csv(tmp_path / "d.txt", "a\n1\n")
    with pytest.raises(ValueError, match=r"d.txt: unsupported.*\.h5, \.hdf5, \.npz, \.csv"):
        datasets.read_dataset(txt)
    npz = tmp_path / "d.npz"
    np.savez(npz, X=np.ones((2, 2)))
    with pytest.raises(ValueError, match="only applies to .csv"):
        datasets.read_dataset(npz, label="y")
    with pytest.raises(ValueError, match="not a regular file"):
        datasets.read_dataset(tmp_path)
