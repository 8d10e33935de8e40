"""The command line fed garbage: random bytes, truncated and byte-flipped .csv/.npz/.h5 data files
and model files. ``fastnn.cli.main`` runs in-process; whatever the input, it returns an exit code
(never raises), and a failure is exactly one line on stderr, ``fastnn: error: ...``, without a
traceback. A damaged file that still happens to be valid data may train (exit 0)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnn import Model
from fastnn.cli import main
from fastnn.datasets import make_planar

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TRAIN = ["--iterations", "1", "--layers", "", "--quiet"]


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])  # must return, whatever the file holds
    return code, out.getvalue(), err.getvalue()


def assert_clean_exit(code, err, *, must_fail=False):
    assert isinstance(code, int)
    assert "Traceback" not in err, err
    if must_fail:
        assert code != 0
    if code != 0:
        assert code == 1, (code, err)  # data errors, never usage errors, for a file's content
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("fastnn: error: "), err


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Valid files of every kind, as bytes: the starting points of the damage."""
    d = tmp_path_factory.mktemp("sources")
    X, Y = make_planar(24)
    out = {}
    rows = "".join(f"{a!r},{int(y)},{b!r}\n" for a, b, y in zip(X[0], X[1], Y[0], strict=True))
    out["csv"] = ("x1,y,x2\n" + rows).encode()
    np.savez(d / "data.npz", X=X, Y=Y)
    out["npz"] = (d / "data.npz").read_bytes()
    np.savez_compressed(d / "packed.npz", X=X, Y=Y[0])
    out["npz-compressed"] = (d / "packed.npz").read_bytes()
    try:
        import h5py
    except ImportError:
        pass
    else:
        with h5py.File(d / "data.h5", "w") as f:
            f["train_set_x"] = (np.arange(24 * 12) % 256).astype(np.uint8).reshape(24, 2, 2, 3)
            f["train_set_y"] = Y[0].astype(np.int64)
            f["list_classes"] = np.array([b"non-cat", b"cat"])
        out["h5"] = (d / "data.h5").read_bytes()
    model = Model([2, 3, 1], standardize=True).fit(X, Y, 0.5, 5)
    model.save(d / "model.npz")
    out["model"] = (d / "model.npz").read_bytes()
    np.savez(d / "predict.npz", X=X, Y=Y)
    out["predict-data"] = d / "predict.npz"
    return out


def _argv(kind, path, sources):
    if kind == "model":
        return ["predict", path, sources["predict-data"]]
    if kind == "csv":
        return ["train", path, "--label", "y", *TRAIN]
    return ["train", path, *TRAIN]


SUFFIX = {"csv": ".csv", "npz": ".npz", "npz-compressed": ".npz", "h5": ".h5", "model": ".npz"}
KINDS = list(SUFFIX)


def _source(sources, kind):
    if kind not in sources:
        pytest.skip("h5py not installed")
    return sources[kind]


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_fail_with_one_line(kind, data, sources, tmp_path):
    path = tmp_path / f"garbage{SUFFIX[kind]}"
    path.write_bytes(data)
    code, _, err = run(_argv(kind, path, sources))
    assert_clean_exit(code, err, must_fail=True)


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_files_fail_with_one_line_or_still_work(kind, cut, sources, tmp_path):
    original = _source(sources, kind)
    path = tmp_path / f"truncated{SUFFIX[kind]}"
    path.write_bytes(original[: int(cut * len(original))])
    code, _, err = run(_argv(kind, path, sources))
    assert_clean_exit(code, err, must_fail=kind != "csv")  # a CSV cut after a row is valid


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(
    flips=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_byte_flipped_files_fail_with_one_line_or_still_work(kind, flips, sources, tmp_path):
    b = bytearray(_source(sources, kind))
    for where, value in flips:
        b[int(where * len(b))] = value
    path = tmp_path / f"flipped{SUFFIX[kind]}"
    path.write_bytes(bytes(b))
    code, _, err = run(_argv(kind, path, sources))
    assert_clean_exit(code, err)


CELLS = st.one_of(
    st.sampled_from(["0", "1", "0.5", "-3e2", "nan", "inf", "-inf", "1e999", "", " ", "x", '"1"']),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)


@FUZZ
@given(
    header=st.lists(st.text(max_size=5), min_size=0, max_size=4),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=5), max_size=6),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    label=st.sampled_from(["y", "", "x1"]),
)
def test_malformed_csv_text_fails_with_one_line_or_trains(header, rows, newline, label, tmp_path):
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path = tmp_path / "text.csv"
    path.write_text(newline.join(lines), encoding="utf-8", newline="")
    code, _, err = run(["train", path, "--label", label or "y", *TRAIN])
    assert_clean_exit(code, err)


@FUZZ
@given(data=st.binary(max_size=300))
def test_predict_with_a_garbage_data_file(data, sources, tmp_path):
    model = tmp_path / "model.npz"
    model.write_bytes(sources["model"])
    for suffix in (".csv", ".npz", ".h5"):
        path = tmp_path / f"data{suffix}"
        path.write_bytes(data)
        code, _, err = run(["predict", model, path])
        assert_clean_exit(code, err, must_fail=suffix != ".csv")
