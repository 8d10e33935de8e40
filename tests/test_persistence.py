"""Saving and loading models (``Model.save``, ``fastnn.load``): round trips, files that load
refuses (missing, truncated, foreign, pickled: load never unpickles), damaged files (Hypothesis
mutates bytes: a model or a ValueError, nothing else), and saves interrupted at every step
(the old file stays, no temporary file is left)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from _helpers import UnpickleMarker, fitted5, relayout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import Model

# --------------------------------------------------------------------------- round trips


def test_save_and_load_give_identical_predictions(tmp_path, rng):
    X = rng.standard_normal((3, 20)) * 5 + 2
    Y = (X[0:1] > 2).astype(float)
    model = Model(
        [3, 4, 1],
        hidden_activation="leaky_relu",
        leaky_slope=0.1,
        standardize=True,
        dtype=np.float32,
    )
    model.fit(X, Y, learning_rate=0.3, num_iterations=200)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastnn.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.dtype == np.float32 and loaded.leaky_slope == pytest.approx(0.1)
    assert loaded.costs_ == pytest.approx(model.costs_) and loaded.n_iter_ == 200
    np.testing.assert_array_equal(loaded.x_mean_, model.x_mean_)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary file left


def test_save_then_load_round_trips_models_fitted_on_any_layout(tmp_path):
    X = relayout(np.random.default_rng(4).standard_normal((3, 12)), "F")
    Y = (X[0:1] > 0).astype(float)
    model = Model([3, 5, 1], hidden_activation="leaky_relu", leaky_slope=0.2).fit(X, Y, 0.2, 10)
    model.save(tmp_path / "m.npz")
    loaded = fastnn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.activations == model.activations and loaded.leaky_slope == 0.2


# --------------------------------------------------------------------------- bad and damaged files


def test_load_refuses_bad_files(tmp_path, rng):
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "missing.npz")
    good = tmp_path / "good.npz"
    Model([2, 1]).save(good)
    data = good.read_bytes()
    cases = {
        "truncated.npz": data[: len(data) // 2],
        "garbage.npz": b"not a zip file at all",
        "empty.npz": b"",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    np.savez(tmp_path / "foreign.npz", X=np.ones(3))
    np.savez(tmp_path / "pickled.npz", format=np.array([{"a": 1}], dtype=object))
    np.savez(tmp_path / "newer.npz", format=np.array("fastnn-model"), format_version=np.array(99))
    for name in [*cases, "foreign.npz", "pickled.npz", "newer.npz"]:
        with pytest.raises(ValueError, match=name):
            fastnn.load(tmp_path / name)


class _Unpickled(BaseException):
    """Raised by the patched pickle module: no ``except Exception`` can swallow it."""


def test_load_never_unpickles(tmp_path, monkeypatch):
    marker = tmp_path / "unpickled"
    payload = UnpickleMarker(marker)
    files = {
        "raw-pickle.npz": lambda p: p.write_bytes(pickle.dumps(payload)),
        "object-member.npz": lambda p: np.savez(
            p, format=np.array("fastnn-model"), W1=np.array([payload], dtype=object)
        ),
        "object-format.npz": lambda p: np.savez(p, format=np.array([payload], dtype=object)),
        "object.npy": lambda p: np.save(p, np.array([payload], dtype=object), allow_pickle=True),
    }
    for name, write in files.items():
        write(tmp_path / name)

    def refuse(*args, **kwargs):
        raise _Unpickled("pickle was called")

    with monkeypatch.context() as patch:
        for fn in ("load", "loads", "_load", "_loads"):
            if hasattr(pickle, fn):
                patch.setattr(pickle, fn, refuse)
        patch.setattr(pickle, "Unpickler", refuse)
        for name in files:
            with pytest.raises(ValueError, match=f"{name}: not a readable fastnn model file"):
                fastnn.load(tmp_path / name)
    assert not marker.exists()
    # the payload is live: unpickling it (what load refuses to do) creates the marker
    with np.load(tmp_path / "object-member.npz", allow_pickle=True) as data:
        data["W1"]
    assert marker.is_dir()


def _damage_sources():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        model = Model([4, 3, 1], standardize=True)
        model.fit(np.arange(24.0).reshape(4, 6), np.array([0, 1, 0, 1, 1, 0]), 0.1, 3)
        plain = os.path.join(d, "plain.npz")
        model.save(plain)
        with np.load(plain) as z:
            arrays = {k: z[k] for k in z.files}
        packed = os.path.join(d, "packed.npz")
        np.savez_compressed(packed, **arrays)
        with open(plain, "rb") as a, open(packed, "rb") as b:
            return {False: a.read(), True: b.read()}


_DAMAGE_SOURCES = _damage_sources()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    mutations=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6
    ),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    compressed=st.booleans(),
)
def test_load_of_a_damaged_file_gives_a_model_or_valueerror(mutations, cut, compressed, tmp_path):
    data = _DAMAGE_SOURCES[compressed]
    b = bytearray(data)
    for pos, value in mutations:
        b[pos % len(b)] = value
    if cut is not None:
        b = b[: cut % len(b)]
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(b))
    try:
        model = fastnn.load(path)
    except ValueError as err:
        assert "damaged.npz" in str(err)
    else:
        assert isinstance(model, Model)
        assert all(np.isfinite(v).all() for v in model.parameters.values())


# --------------------------------------------------------------------------- interrupted saves


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    Model([2, 1], seed=1).save(path)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        Model([2, 1], seed=2).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


class _Boom(Exception):
    pass


def _partial_savez(exc):
    def savez(fh, **arrays):
        fh.write(b"PK\x03\x04 partial archive" * 100)
        fh.flush()
        raise exc

    return savez


@pytest.mark.parametrize(
    "where, exc",
    [
        ("savez", OSError("disk full")),
        ("savez", KeyboardInterrupt()),
        ("savez", _Boom("writer failed")),
        ("fsync", KeyboardInterrupt()),
        ("replace", KeyboardInterrupt()),
        ("replace", OSError("cross-device link")),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
@pytest.mark.parametrize("existing", [True, False], ids=["over-old-file", "new-file"])
def test_an_interrupted_save_leaves_the_old_file_and_no_temporary_files(
    where, exc, existing, tmp_path, monkeypatch
):
    path = tmp_path / "model.npz"
    old = Model([3, 2, 1], seed=1)
    if existing:
        old.save(path)
        before = path.read_bytes()
    new = fitted5()

    def fail(*args, **kwargs):
        raise exc

    with monkeypatch.context() as patch:
        if where == "savez":
            patch.setattr(np, "savez", _partial_savez(exc))
        elif where == "fsync":
            patch.setattr(os, "fsync", fail)
        else:
            patch.setattr(os, "replace", fail)
        with pytest.raises(type(exc)):
            new.save(path)
    if existing:
        assert path.read_bytes() == before
        loaded = fastnn.load(path)
        for key, value in old.parameters.items():
            np.testing.assert_array_equal(loaded.parameters[key], value)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    else:
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])
def test_a_loaded_model_continues_its_optimizer_exactly(optimizer, tmp_path):
    """save() keeps v, s, t and the epoch counter: fit N, save, load, warm-start N more is the
    same as fitting 2N without the file in between."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 50))
    Y = (X[0] > X[1]).astype(float)[None]
    kw = dict(mini_batch_size=8, optimizer=optimizer, seed=4, cost_every=1)
    whole = Model([3, 6, 1], init="he").fit(X, Y, 0.01, num_epochs=20, **kw)
    first = Model([3, 6, 1], init="he").fit(X, Y, 0.01, num_epochs=10, **kw)
    first.save(tmp_path / "half.npz")
    loaded = fastnn.load(tmp_path / "half.npz")
    assert (loaded._state.t, loaded._state.epoch) == (10 * 7, 10)
    loaded.fit(X, Y, 0.01, num_epochs=10, warm_start=True, **kw)
    assert loaded.costs_ == whole.costs_ and loaded.n_iter_ == 20
    for key, value in whole.parameters.items():
        np.testing.assert_array_equal(loaded.parameters[key], value)


def test_a_damaged_optimizer_state_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 20)), (rng.random((1, 20)) > 0.5).astype(float)
    Model([3, 4, 1]).fit(X, Y, 0.01, 3, optimizer="adam").save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        good = dict(f)
    for change, message in [
        ({"optimizer": np.array("rmsprop")}, "optimizer must be one of"),
        ({"optimizer_t": np.array(-1)}, "optimizer_t must be an integer"),
        ({"optimizer_epoch": np.array(1.5)}, "optimizer_epoch must be an integer"),
        ({"optimizer_s": good["optimizer_s"][:-1]}, "optimizer_s must be 21 floats"),
        ({"optimizer_v": good["optimizer_v"] * np.nan}, "optimizer_v contains NaN"),
    ]:
        np.savez(tmp_path / "bad.npz", **{**good, **change})
        with pytest.raises(ValueError, match=message):
            fastnn.load(tmp_path / "bad.npz")
    del good["optimizer_v"]
    np.savez(tmp_path / "bad.npz", **good)
    with pytest.raises(ValueError, match="missing 'optimizer_v'"):
        fastnn.load(tmp_path / "bad.npz")
