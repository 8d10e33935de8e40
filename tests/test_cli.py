"""The command line, ``fastnn.cli`` / ``python -m fastnn``: defaults, training and prediction on
every file format, the one-line errors (with the table CLI_BAD_INPUTS: one bad input per row, its
exit code, 1 for data or 2 for usage, and a fragment of its message), plots and ``fastnn info``.
Most run ``main(argv)`` in-process with capsys; the course's cat run goes through a subprocess.
"""

import csv
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from _helpers import HUGE, TMP, bytes_file, good_model_bytes, patch_zip_member, raw_pickle_file
from conftest import CAT_DIR

import fastnn
from fastnn import _blas, cli, datasets
from fastnn.cli import main

CATVNONCAT_DIR = CAT_DIR  # $FASTNN_DATASETS or shared/datasets beside the checkout
CAT_TRAIN = CATVNONCAT_DIR / "train_catvnoncat.h5"
CAT_TEST = CATVNONCAT_DIR / "test_catvnoncat.h5"
HAVE_CATVNONCAT = CAT_TRAIN.is_file() and CAT_TEST.is_file()

try:
    import matplotlib  # noqa: F401

    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, expected_code=None, contains=None):
    assert code != 0
    if expected_code is not None:
        assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastnn: error: "), err
    if contains is not None:
        assert contains in lines[0]


def accuracy(out, name="train"):
    for line in out.splitlines():
        if line.startswith(f"{name} accuracy: "):
            return float(line.split(": ")[1])
    raise AssertionError(f"no '{name} accuracy' line in:\n{out}")


@pytest.fixture(scope="module")
def planar_files(tmp_path_factory):
    """The planar dataset as .csv (label column 'y' in the middle) and .npz."""
    d = tmp_path_factory.mktemp("planar")
    X, Y = datasets.make_planar()
    csv_path = d / "planar.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x1", "y", "x2"])
        for (x1, x2), y in zip(X.T, Y[0], strict=True):
            w.writerow([repr(float(x1)), int(y), repr(float(x2))])
    npz_path = d / "planar.npz"
    np.savez(npz_path, X=X, Y=Y)
    return {"X": X, "Y": Y, "csv": csv_path, "npz": npz_path, "dir": d}


# --------------------------------------------------------------------------- defaults


def test_planar_and_file_defaults_resolve_per_dataset():
    parser = cli.build_parser()
    planar = cli.train_settings(parser.parse_args(["train"]))
    assert planar == {
        "layers": [4],
        "activation": ["tanh"],
        "init": "small",
        "lr": 1.2,
        "iterations": 10000,
    }
    files = cli.train_settings(parser.parse_args(["train", "data.h5"]))
    assert files == {
        "layers": [20, 7, 5],
        "activation": ["relu"],
        "init": "course",
        "lr": 0.0075,
        "iterations": 2500,
    }
    # explicit options win, including an empty --layers (logistic regression)
    args = parser.parse_args(["train", "--layers", "", "--lr", "0.5", "--init", "he"])
    got = cli.train_settings(args)
    assert got["layers"] == [] and got["lr"] == 0.5 and got["init"] == "he"
    assert got["activation"] == ["tanh"] and got["iterations"] == 10000
    args = parser.parse_args(["train", "d.npz", "--layers", " 3, 2 ", "--activation", "tanh,relu"])
    assert cli.train_settings(args)["layers"] == [3, 2]
    assert cli.train_settings(args)["activation"] == ["tanh", "relu"]


def test_help_documents_the_defaults(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    assert "planar" in out and "--lr 1.2 --iterations 10000" in out
    assert "--lr 0.0075 --iterations 2500" in out


def test_version_and_missing_command(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"fastnn {fastnn.__version__}"
    code, _, err = run(capsys)
    assert_one_line_error(code, err, 2, "a command is required")


# --------------------------------------------------------------------------- train


def test_train_planar_short_run(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain progress lines
    code, out, err = run(capsys, "train", "--iterations", "300")
    assert code == 0, err
    lines = out.splitlines()
    assert "[2, 4, 1]" in lines[0] and "tanh" in lines[0] and "learning rate 1.2" in lines[0]
    assert "init small" in lines[0] and "300 iterations" in lines[0]
    costs = [line for line in lines if line.startswith("Cost after iteration ")]
    assert [c.split(":")[0] for c in costs] == [
        "Cost after iteration 0",
        "Cost after iteration 100",
        "Cost after iteration 200",
    ]
    assert float(costs[0].split(": ")[1]) == pytest.approx(np.log(2), abs=1e-3)
    assert 0.5 < accuracy(out) <= 1.0
    assert lines[-1].startswith("trained in ") and lines[-1].endswith(" s")
    assert "[100%] 300/300 iterations" in err  # plain progress lines when tqdm is missing
    assert "Traceback" not in err


def test_train_planar_full_defaults_reach_course_accuracy(capsys):
    code, out, err = run(capsys, "train")
    assert code == 0, err
    assert "10000 iterations" in out.splitlines()[0]
    assert "Cost after iteration 9900: " in out
    assert accuracy(out) >= 0.88


def test_quiet_prints_only_accuracy_lines(capsys, planar_files):
    code, out, err = run(
        capsys, "train", planar_files["npz"], "--test", planar_files["npz"], "--quiet",
        "--layers", "4", "--activation", "tanh", "--lr", "1.2", "--iterations", "500",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0].startswith("train accuracy: ")
    assert out.splitlines()[1].startswith("test accuracy: ")
    assert len(out.splitlines()) == 2
    assert err == ""
    assert accuracy(out) == accuracy(out, "test")


def test_train_csv_with_label_matches_in_process_model(capsys, planar_files):
    code, out, err = run(
        capsys, "train", planar_files["csv"], "--label", "y", "--layers", "4",
        "--activation", "tanh", "--init", "small", "--lr", "1.2", "--iterations", "1000",
    )  # fmt: skip
    assert code == 0, err
    X, Y = planar_files["X"], planar_files["Y"]
    model = fastnn.Model([2, 4, 1], "tanh", init="small", seed=1).fit(X, Y, 1.2, 1000)
    assert f"train accuracy: {model.score(X, Y):.4f}" in out
    assert f"Cost after iteration 900: {model.costs_[-1]}" in out


def test_train_with_the_second_courses_options_matches_in_process_model(capsys, planar_files):
    code, out, err = run(
        capsys, "train", planar_files["csv"], "--label", "y", "--layers", "4",
        "--activation", "tanh", "--init", "small", "--lr", "0.01", "--mini-batch-size", "64",
        "--epochs", "40", "--optimizer", "adam", "--beta1", "0.8", "--lambd", "0.7",
        "--decay", "scheduled", "--decay-rate", "1", "--time-interval", "10", "--keep-prob", "0.9",
    )  # fmt: skip
    assert code == 0, err
    X, Y = planar_files["X"], planar_files["Y"]
    model = fastnn.Model([2, 4, 1], "tanh", init="small", seed=1)
    model.fit(X, Y, 0.01, mini_batch_size=64, num_epochs=40, optimizer="adam", beta1=0.8,
              lambd=0.7, decay="scheduled", decay_rate=1, time_interval=10, cost_every=1,
              keep_prob=0.9)  # fmt: skip
    assert f"train accuracy: {model.score(X, Y):.4f}" in out
    # ten cost lines, every 4th epoch, each the model's epoch cost
    lines = [line for line in out.splitlines() if line.startswith("Cost after epoch ")]
    assert lines == [f"Cost after epoch {i}: {model.costs_[i]}" for i in range(0, 40, 4)]
    assert "40 epochs of mini-batches of 64" in out and "optimizer adam" in out
    assert "keep_prob 0.9" in out


def test_early_stopping_from_the_command_line(capsys, monkeypatch, tmp_path):
    drawn = {}
    monkeypatch.setattr(cli, "_write_plot", lambda path, curves, *a: drawn.update(curves=curves))
    code, out, err = run(
        capsys, "train", "--mini-batch-size", "32", "--epochs", "500", "--optimizer", "adam",
        "--lr", "0.05", "--layers", "32", "--validation-fraction", "0.2",
        "--n-iter-no-change", "5", "--plot", tmp_path / "c.png",
    )  # fmt: skip
    assert code == 0, err
    match = re.search(r"stopped early after (\d+) epochs: .* kept the model of epoch (\d+)", out)
    assert match and int(match.group(2)) < int(match.group(1)) < 500
    n = int(match.group(1))
    (l1, x1, y1), (l2, x2, y2) = drawn["curves"]
    assert (l1, l2) == ("training", "validation") and len(y1) == len(y2) == n
    np.testing.assert_array_equal(x2, np.arange(1, n + 1))  # after every epoch
    assert int(np.argmin(y2)) + 1 == int(match.group(2))  # the best epoch's model was kept


def test_a_finite_blow_up_is_an_error_and_saves_nothing(capsys, tmp_path):
    """Targets around 500 with the L-layer defaults: the cost rose from 1.2e5 to 1.6e155 and
    the command used to exit 0 (R² of -8e136) and save the model."""
    rng = np.random.default_rng(1)
    X = 0.05 * rng.standard_normal((2, 100))
    y = 500 + 30 * rng.standard_normal(100)
    path = tmp_path / "reg.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "y"])
        w.writerows(
            [repr(float(a)), repr(float(b)), repr(float(t))]
            for (a, b), t in zip(X.T, y, strict=True)
        )
    code, _, err = run(
        capsys, "train", path, "--label", "y", "--output", "linear", "--save",
        tmp_path / "m.npz", "--quiet",
    )  # fmt: skip
    assert_one_line_error(code, err, 1, "training diverged at iteration 100: the cost rose to")
    assert not (tmp_path / "m.npz").exists()


def test_train_npz_logistic_regression(capsys, planar_files):
    code, out, err = run(
        capsys, "train", planar_files["npz"], "--layers", "", "--init", "zeros",
        "--iterations", "200", "--lr", "0.1",
    )  # fmt: skip
    assert code == 0, err
    assert "[2, 1]" in out.splitlines()[0]
    assert 0.3 < accuracy(out) < 0.75  # the flower is not linearly separable


def test_train_linear_output_reports_r2(capsys, tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randn(3, 200)
    Y = (X[0] - 2 * X[1] + 0.5).reshape(1, -1)
    np.savez(tmp_path / "reg.npz", X=X, Y=Y)
    code, out, err = run(
        capsys, "train", tmp_path / "reg.npz", "--output", "linear", "--layers", "",
        "--lr", "0.1", "--iterations", "300", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("train R^2: ")
    assert float(out.split(": ")[1]) > 0.99


def test_train_with_tqdm_uses_the_bar(capsys, monkeypatch):
    """With tqdm importable, progress goes through it and cost lines through tqdm.write."""
    events = []

    class FakeTqdm:
        def __init__(self, total, **kwargs):
            events.append(("init", total, kwargs["file"] is sys.stderr))

        def update(self, n):
            events.append(("update", n))

        def write(self, line, file=None):
            print(line, file=file)
            events.append(("write", line.split(":")[0]))

        def close(self):
            events.append(("close",))

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeTqdm))
    code, out, err = run(capsys, "train", "--iterations", "250")
    assert code == 0, err
    assert events[0] == ("init", 250, True)
    assert sum(e[1] for e in events if e[0] == "update") == 250
    assert ("write", "Cost after iteration 200") in events
    assert events[-1] == ("close",)
    assert "Cost after iteration 200: " in out
    assert "iterations," not in err  # no plain progress lines


@pytest.mark.skipif(not HAVE_CATVNONCAT, reason=f"cat/non-cat data not found in {CATVNONCAT_DIR}")
def test_cat_application_subprocess():
    """The course's L-layer Application with all defaults: 98.6% train, 80% test accuracy."""
    # One BLAS thread: on a busy 2-CPU machine, OpenBLAS's spinning threads can make this
    # run ten times slower; the result does not depend on the thread count.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "fastnn", "train", str(CAT_TRAIN), "--test", str(CAT_TEST)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "[12288, 20, 7, 5, 1]" in proc.stdout.splitlines()[0]
    assert "Cost after iteration 2400: " in proc.stdout
    assert "train accuracy: 0.98" in proc.stdout
    assert "test accuracy: 0.80" in proc.stdout
    assert "trained in " in proc.stdout


def test_keyboard_interrupt_stops_without_saving(capsys, monkeypatch, tmp_path):
    def interrupt(self, done):
        if done >= 300:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Progress, "update", interrupt)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # no progress bar on stderr
    target = tmp_path / "model.npz"
    code, out, err = run(capsys, "train", "--iterations", "1000", "--save", target)
    assert code == 130
    match = re.fullmatch(r"interrupted after (\d+) iterations \(model not saved\)\n", err)
    assert match and 300 <= int(match.group(1)) <= 301, err
    assert "Traceback" not in err
    assert "train accuracy" not in out
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- save / predict


def test_save_then_predict_matches_in_process_model(capsys, planar_files, tmp_path):
    model_path = tmp_path / "model.npz"
    preds_path = tmp_path / "preds.csv"
    args = ["--layers", "5", "--activation", "tanh", "--init", "small", "--lr", "1.2"]
    code, out, err = run(
        capsys, "train", planar_files["csv"], "--label", "y", *args, "--iterations", "800",
        "--save", model_path,
    )  # fmt: skip
    assert code == 0, err
    assert f"saved the model to {model_path}" in out
    code, out, err = run(
        capsys, "predict", model_path, planar_files["csv"], "--label", "y", "--output", preds_path
    )
    assert code == 0, err
    X, Y = planar_files["X"], planar_files["Y"]
    model = fastnn.Model([2, 5, 1], "tanh", init="small", seed=1).fit(X, Y, 1.2, 800)
    expected = model.predict(X).ravel()
    lines = preds_path.read_text().splitlines()
    assert lines[0] == "prediction"
    np.testing.assert_array_equal(np.array(lines[1:], dtype=float), expected)
    assert f"wrote 400 predictions to {preds_path}" in out
    positive = int(expected.sum())
    assert f"400 predictions: 0 {400 - positive}, 1 {positive}" in out
    assert f"accuracy: {model.score(X, Y):.4f}" in out
    # the same model read back in-process
    np.testing.assert_array_equal(fastnn.load(model_path).predict(X).ravel(), expected)


def test_predict_regressor_standardized_exact_floats(capsys, tmp_path):
    rng = np.random.RandomState(3)
    X = rng.randn(4, 120) * [[1.0], [10.0], [100.0], [0.1]] + 5
    Y = np.sin(X[0]) + 0.01 * X[1]
    np.savez(tmp_path / "train.npz", X=X, Y=Y)
    np.savez(tmp_path / "new.npz", X=X[:, :30])  # no labels
    model_path = tmp_path / "reg.npz"
    code, _, err = run(
        capsys, "train", tmp_path / "train.npz", "--output", "linear", "--standardize",
        "--layers", "8", "--activation", "tanh", "--lr", "0.05", "--iterations", "300",
        "--dtype", "float32", "--quiet", "--save", model_path,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "predict", model_path, tmp_path / "new.npz", "--output", "-")
    assert code == 0, err
    model = fastnn.Model([4, 8, 1], "tanh", output="linear", dtype=np.float32, standardize=True)
    model.fit(X, Y, 0.05, 300)
    expected = model.predict(X[:, :30]).ravel()
    lines = out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 31
    got = np.array([float(v) for v in lines[1:]], dtype=np.float32)
    np.testing.assert_array_equal(got, expected)
    assert "30 predictions: mean" in err  # with --output - the summary goes to stderr
    assert "R^2" not in err and "accuracy" not in err  # no labels


def test_predict_summary_without_output(capsys, planar_files, tmp_path):
    model = fastnn.Model([2, 1], init="zeros").fit(planar_files["X"], planar_files["Y"], 0.1, 50)
    model.save(tmp_path / "m.npz")
    code, out, err = run(capsys, "predict", tmp_path / "m.npz", planar_files["npz"])
    assert code == 0, err
    assert out.splitlines()[0].startswith("400 predictions: ")
    assert out.splitlines()[1].startswith("accuracy: ")


# --------------------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    files = {}
    files["ragged.csv"] = "a,b,y\n1,2,0\n3,4\n"
    files["text.csv"] = "a,b,y\n1,2,0\n3,oops,1\n"
    files["empty.csv"] = ""
    files["garbage.npz"] = b"this is not a zip archive"
    files["garbage.h5"] = b"\x89HDF\r\n\x1a\nthis is truncated"
    files["data.txt"] = "1,2,3\n"
    for name, content in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(d / name, mode) as fh:
            fh.write(content)
    np.savez(d / "nolabels.npz", X=np.ones((2, 5)))
    np.savez(d / "strings.npz", X=np.array([["a", "b"]]), Y=np.array([0]))
    np.savez(d / "three.npz", X=np.ones((3, 4)), Y=np.array([0, 1, 0, 1]))
    np.savez(d / "badlabels.npz", X=np.ones((2, 4)), Y=np.array([0, 1, 2, 1]))
    return d


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("ragged.csv", ["--label", "y"], "row 3 has 2 fields"),
        ("text.csv", ["--label", "y"], "cannot parse 'oops'"),
        ("empty.csv", ["--label", "y"], "empty file"),
        ("ragged.csv", ["--label", "nope"], "label column 'nope' not found"),
        ("garbage.npz", [], "not a readable .npz archive"),
        ("garbage.h5", [], "not a readable HDF5 file"),
        ("strings.npz", [], "non-numeric"),
        ("nolabels.npz", [], "holds no labels"),
        ("data.txt", [], "unsupported file extension '.txt'"),
        ("missing.npz", [], "No such file or directory"),
    ],
)
def test_malformed_data_is_a_one_line_error(capsys, bad_files, name, extra, message):
    if name.endswith(".h5"):
        pytest.importorskip("h5py")
    code, out, err = run(capsys, "train", bad_files / name, *extra, "--iterations", "1")
    assert_one_line_error(code, err, 1, message)
    assert name in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layers", "20,x"], "argument --layers"),
        (["--layers", "20,0"], "must be >= 1"),
        (["--layers", "20,,5"], "argument --layers"),
        (["--lr", "0"], "argument --lr"),
        (["--lr", "-1"], "argument --lr"),
        (["--lr", "nan"], "argument --lr"),
        (["--lr", "inf"], "argument --lr"),
        (["--lr", "fast"], "argument --lr"),
        (["--iterations", "-5"], "argument --iterations"),
        (["--iterations", "1e3"], "argument --iterations"),
        (["--seed", "-1"], "argument --seed"),
        (["--activation", "swish"], "unknown activation 'swish'"),
        (["--activation", "relu,tanh"], "2 activations for 1 hidden layers"),
        (["--output", "tanh"], "argument --output"),
        (["--dtype", "float16"], "argument --dtype"),
        (["--init", "zeros"], "init='zeros' only works without hidden layers"),
        (["--label", "y"], "--label only applies to .csv files"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--save", "/nonexistent-dir/m.npz"], "does not exist"),
        (["--mini-batch-size", "0"], "argument --mini-batch-size: must be an integer >= 1"),
        (["--epochs", "-1"], "argument --epochs"),
        (["--epochs", "3", "--iterations", "5"], "--epochs and --iterations say the same"),
        (["--optimizer", "rmsprop"], "argument --optimizer: invalid choice"),
        (["--beta", "1"], "argument --beta: must be a finite number in [0, 1)"),
        (["--beta2", "nan"], "argument --beta2"),
        (["--epsilon", "0"], "argument --epsilon: must be a finite number > 0"),
        (["--lambd", "-0.1"], "argument --lambd"),
        (["--keep-prob", "0"], "argument --keep-prob: must be a finite number in (0, 1]"),
        (["--keep-prob", "1.5"], "argument --keep-prob"),
        (["--decay", "exponential"], "argument --decay: invalid choice"),
        (["--decay-rate", "x"], "argument --decay-rate"),
        (["--time-interval", "0"], "argument --time-interval"),
        (["--validation-fraction", "1"], "argument --validation-fraction"),
        (["--n-iter-no-change", "0"], "argument --n-iter-no-change"),
        (["--tol", "-1"], "argument --tol"),
    ],
)
def test_bad_arguments_are_usage_errors(capsys, argv, message):
    code, out, err = run(capsys, "train", *argv)
    assert_one_line_error(code, err, 2, message)
    assert "Cost after" not in out  # nothing was trained


def test_csv_needs_label_and_h5_refuses_it(capsys, planar_files):
    code, _, err = run(capsys, "train", planar_files["csv"])
    assert_one_line_error(code, err, 2, "pass --label COL")
    code, _, err = run(capsys, "train", planar_files["npz"], "--label", "y")
    assert_one_line_error(code, err, 2, "--label only applies to .csv")


def test_test_set_must_match_features(capsys, planar_files, bad_files):
    code, out, err = run(
        capsys, "train", planar_files["npz"], "--test", bad_files / "three.npz", "--iterations", "1"
    )
    assert_one_line_error(code, err, 1, "3 features per example; the training data has 2")
    assert "Cost after" not in out


def test_diverging_training_is_a_data_error(capsys, tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randn(3, 50) * 100
    np.savez(tmp_path / "reg.npz", X=X, Y=X[0] * 50)
    code, _, err = run(
        capsys, "train", tmp_path / "reg.npz", "--output", "linear", "--layers", "",
        "--lr", "10", "--iterations", "500", "--quiet",
    )  # fmt: skip
    assert_one_line_error(code, err, 1, "training diverged")


def test_predict_errors(capsys, planar_files, bad_files, tmp_path):
    code, _, err = run(capsys, "predict", tmp_path / "none.npz", planar_files["npz"])
    assert_one_line_error(code, err, 1, "no such model file")
    code, _, err = run(capsys, "predict", bad_files / "garbage.npz", planar_files["npz"])
    assert_one_line_error(code, err, 1, "not a readable fastnn model file")
    code, _, err = run(capsys, "predict", planar_files["npz"], planar_files["npz"])
    assert_one_line_error(code, err, 1, "not a fastnn model file")
    fastnn.Model([2, 1]).save(tmp_path / "m.npz")
    # the label column taken as a feature: 3 features for a 2-feature model, with a hint
    code, _, err = run(capsys, "predict", tmp_path / "m.npz", planar_files["csv"])
    assert_one_line_error(code, err, 1, "name it with --label COL")
    code, _, err = run(capsys, "predict", tmp_path / "m.npz", bad_files / "three.npz")
    assert_one_line_error(code, err, 1, "expects 2")


def test_usage_error_in_subprocess_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "fastnn", "train", "--layers", "20,x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.returncode, proc.stderr, 2, "argument --layers")


# --- the bad-input table: exit code 1 (data) or 2 (usage), one line on stderr ---------------------


def _npz(name, **arrays):
    path = TMP.path(name)
    np.savez(path, **arrays)
    return path


def _text(name, text):
    path = TMP.path(name)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _h5(name, **datasets):
    h5py = pytest.importorskip("h5py")
    path = TMP.path(name)
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f[key] = value
    return path


def _saved_model(name="model.npz", dims=(2, 1)):
    path = TMP.path(name)
    fastnn.Model(list(dims)).save(path)
    return path


X2 = np.array([[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 0.0]])
Y2 = np.array([0, 1, 0, 1])
TRAIN = ["--iterations", "1", "--layers", "", "-q"]

# fmt: off
CLI_BAD_INPUTS = {
    "complex-X": (lambda: ["train", _npz("c.npz", X=X2 + 0j, Y=Y2), *TRAIN], 1, "X has non-numeric dtype complex128"),
    "object-X": (lambda: ["train", _npz("o.npz", X=X2.astype(object), Y=Y2), *TRAIN], 1, "cannot read the arrays (Object arrays cannot be loaded"),
    "nan-X": (lambda: ["train", _npz("n.npz", X=X2 * np.nan, Y=Y2), *TRAIN], 1, "features contain NaN or inf"),
    "3d-X": (lambda: ["train", _npz("t.npz", X=X2[..., None], Y=Y2), *TRAIN], 1, "X must have shape (n_x, m), got (2, 4, 1)"),
    "empty-X": (lambda: ["train", _npz("e.npz", X=X2[:, :0], Y=Y2[:0]), *TRAIN], 1, "X is empty, shape (2, 0)"),
    "Y-length": (lambda: ["train", _npz("y.npz", X=X2, Y=Y2[:3]), *TRAIN], 1, "Y has 3 labels but X has 4 examples"),
    "Y-one-class": (lambda: ["train", _npz("l.npz", X=X2, Y=Y2 * 0 + 3), *TRAIN], 1, "a classifier needs two classes or more; every label is '3'"),
    "Y-three-for-sigmoid": (lambda: ["train", _npz("l.npz", X=X2, Y=np.array([0, 1, 2, 1])), *TRAIN, "--output", "sigmoid"], 2, "3 classes (0, 1, 2); --output sigmoid is for two classes"),
    "Y-real-numbers": (lambda: ["train", _npz("l.npz", X=X2, Y=np.array([0.5, 1.5, 2.25, 3.0])), *TRAIN], 2, "look like real numbers (4 distinct values, e.g. 0.5): pass --output linear for regression"),
    "Y-text-for-regression": (lambda: ["train", _text("t.csv", "a,y\n1,x\n2,y\n"), "--label", "y", *TRAIN, "--output", "linear"], 1, "a regression needs numeric labels; found 'x'"),
    "Y-nan-regression": (lambda: ["train", _npz("r.npz", X=X2, Y=Y2 * np.nan), "--output", "linear", *TRAIN], 1, "Y contain NaN or inf"),
    "csv-inf": (lambda: ["train", _text("i.csv", "a,y\n1,0\ninf,1\n"), "--label", "y", *TRAIN], 1, "row 3, column 'a': 'inf' is not a finite number"),
    "csv-no-label": (lambda: ["train", _text("nl.csv", "a,b\n1,0\n2,1\n"), "--label", "y", *TRAIN], 1, "label column 'y' not found; columns are a, b"),
    "csv-ragged": (lambda: ["train", _text("rg.csv", "a,y\n1,0\n2\n"), "--label", "y", *TRAIN], 1, "row 3 has 1 fields, expected 2"),
    "csv-not-utf8": (lambda: ["train", bytes_file("u.csv", b"a,y\n\xff\xfe,1\n"), "--label", "y", *TRAIN], 1, "not a readable CSV file"),
    "h5-1d": (lambda: ["train", _h5("x.h5", train_set_x=np.arange(4.0), train_set_y=Y2), *TRAIN], 1, "train_set_x must have shape (m, ...) with at least 2 dimensions, got (4,)"),
    "h5-two-x": (lambda: ["train", _h5("xx.h5", a_x=np.ones((4, 2)), b_x=np.ones((4, 2))), *TRAIN], 1, "several '<prefix>_x' datasets (a_x, b_x)"),
    "lr-overflow": (lambda: ["train", "--lr", "1e400"], 2, "argument --lr: must be a finite number > 0; got '1e400'"),
    "iterations-text": (lambda: ["train", "--iterations", "abc"], 2, "argument --iterations: must be an integer >= 0; got 'abc'"),
    "layers-negative": (lambda: ["train", "--layers", "-3"], 2, "hidden layer sizes must be >= 1; got '-3'"),
    "layers-huge": (lambda: ["train", "--layers", str(HUGE), "--iterations", "1"], 2, "layer_dims[1] must be an integer in [1, 2**31 - 1); got 2147483648"),
    "seed-2**32": (lambda: ["train", "--seed", str(2**32)], 2, "argument --seed: must be an integer in [0, 2**32); got '4294967296'"),
    "activation-list": (lambda: ["train", "--activation", "relu,bogus"], 2, "unknown activation 'bogus'; choose from linear, sigmoid, tanh, relu, leaky_relu"),
    "predict-pickle-model": (lambda: ["predict", raw_pickle_file(), _npz("d.npz", X=X2, Y=Y2)], 1, "not a readable fastnn model file"),
    "predict-corrupt-model": (lambda: ["predict", bytes_file("cm.npz", patch_zip_member(good_model_bytes(), "W1.npy", method=99)), _npz("d.npz", X=X2, Y=Y2)], 1, "That compression method is not supported"),
    "predict-features": (lambda: ["predict", _saved_model(dims=(3, 1)), _npz("d.npz", X=X2, Y=Y2)], 1, "2 features per example; the model"),
    "predict-labels": (lambda: ["predict", _saved_model(), _npz("d.npz", X=X2, Y=Y2 + 1)], 1, "labels ['2'] are not among the model's classes ['0', '1']"),
    "predict-proba-no-output": (lambda: ["predict", _saved_model(), _npz("d.npz", X=X2, Y=Y2), "--proba"], 2, "--proba adds probability columns to --output"),
    "predict-id-npz": (lambda: ["predict", _saved_model(), _npz("d.npz", X=X2, Y=Y2), "--id", "k"], 2, "--id only applies to .csv files"),
}
# fmt: on


@pytest.mark.usefixtures("case_files")
@pytest.mark.parametrize(
    "argv, code, message", list(CLI_BAD_INPUTS.values()), ids=list(CLI_BAD_INPUTS)
)
def test_cli_bad_input_is_a_one_line_error(capsys, argv, code, message):
    got, out, err = run(capsys, *argv())
    assert_one_line_error(got, err, code, message)
    assert "Cost after" not in out


# --------------------------------------------------------------------------- plot


@pytest.mark.skipif(
    not HAVE_MATPLOTLIB, reason="matplotlib not installed (pip install 'fastnn[plot]')"
)
def test_plot_writes_png(capsys, tmp_path):
    target = tmp_path / "curve.png"
    code, out, err = run(capsys, "train", "--iterations", "500", "--plot", target)
    assert code == 0, err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote the learning curve to {target}" in out


@pytest.mark.skipif(
    not HAVE_MATPLOTLIB, reason="matplotlib not installed (pip install 'fastnn[plot]')"
)
def test_plot_unknown_format_fails_before_training(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--plot", tmp_path / "curve.xyz")
    assert_one_line_error(code, err, 2, "unsupported image format 'xyz'")
    assert out == ""


def test_plot_without_matplotlib_fails_before_training(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail

    def no_training(*args, **kwargs):
        raise AssertionError("trained although --plot cannot work")

    monkeypatch.setattr(fastnn.Model, "fit", no_training)
    code, out, err = run(capsys, "train", "--plot", tmp_path / "curve.png")
    assert_one_line_error(code, err, 1)
    assert err.strip() == "fastnn: error: --plot needs matplotlib: pip install 'fastnn[plot]'"
    assert out == ""
    assert not (tmp_path / "curve.png").exists()


# --------------------------------------------------------------------------- info


def test_info(capsys):
    code, out, err = run(capsys, "info")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"fastnn {fastnn.__version__}")
    assert f"numpy {np.__version__}" in out
    core = [line for line in lines if line.startswith("core type: ")]
    assert len(core) == 1 and len(core[0]) > len("core type: ")
    assert any(line.startswith("core type choice: ") for line in lines)
    assert any(line.startswith("threads: OpenBLAS ") for line in lines)
    assert any(line.startswith("compile flags: ") for line in lines)
    assert any(line.startswith("CPU features: avx2 ") and "avx512f" in line for line in lines)
    own = [line for line in lines if line.startswith("own loops: ")]
    assert len(own) == 1 and own[0].endswith(_blas._describe_small_gemm())
    small = "<= 32768 multiply-adds" in own[0] and ">= 32 examples" in own[0]
    assert small != ("every product goes to BLAS" in own[0])  # one of the two rules, named


def test_compile_info_reads_the_binary():
    info = cli.compile_info()
    assert info["path"] is not None and Path(info["path"]).is_file()
    assert info["flags"]
    if info["source"] == "recorded in the binary by the compiler":
        # setup.py's optimisation flags (release build) or the debug build's
        assert "-O3" in info["flags"] or "-O0" in info["flags"]


# --- classes by name: multi-class (softmax), names in the model file, --proba and --id ------------


def _species_csv(path, rng, m=150, names=("setosa", "versicolor", "virginica"), ids=True):
    """Three well-separated classes named by text, with an id column before the features."""
    centers = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = rng.integers(0, len(names), m)
    X = centers[y] + 0.5 * rng.standard_normal((m, 2))
    lines = [("id," if ids else "") + "a,b,species"]
    lines += [(f"s{i}," if ids else "") + f"{float(x0)!r},{float(x1)!r},{names[k]}"
              for i, ((x0, x1), k) in enumerate(zip(X, y, strict=True))]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return X, np.array(names)[y]


def test_three_string_classes_train_predict_names_and_probabilities(capsys, tmp_path, rng):
    data, model_path, preds = tmp_path / "iris.csv", tmp_path / "m.npz", tmp_path / "p.csv"
    X, names = _species_csv(data, rng)
    code, out, err = run(capsys, "train", data, "--label", "species", "--id", "id", "--layers",
                         "8", "--mini-batch-size", "16", "--epochs", "40", "--optimizer", "adam",
                         "--lr", "0.01", "--save", model_path)  # fmt: skip
    assert code == 0, err
    assert "(relu hidden, softmax output)" in out and "[2, 8, 3]" in out
    assert accuracy(out) > 0.95
    model = fastnn.load(model_path)
    assert model.output == "softmax" and model.classes_.tolist() == [
        "setosa",
        "versicolor",
        "virginica",
    ]
    code, out, err = run(capsys, "predict", model_path, data, "--label", "species", "--id", "id",
                         "--output", preds, "--proba")  # fmt: skip
    assert code == 0, err
    rows = list(csv.reader(preds.read_text().splitlines()))
    assert rows[0] == ["id", "prediction", "setosa", "versicolor", "virginica"]
    assert [r[0] for r in rows[1:]] == [f"s{i}" for i in range(150)]
    predicted = np.array([r[1] for r in rows[1:]])
    proba = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    want = model.predict_proba(X.T).T
    np.testing.assert_array_equal(proba, want)  # repr round-trips the floats exactly
    np.testing.assert_array_equal(predicted, model.classes_[want.argmax(axis=1)])
    assert np.mean(predicted == names) > 0.95
    assert f"accuracy: {np.mean(predicted == names):.4f}" in out
    counts = ", ".join(f"{c} {int(np.sum(predicted == c))}" for c in model.classes_)
    assert f"150 predictions: {counts}" in out


def test_yes_no_labels_train_a_sigmoid_with_named_classes(capsys, tmp_path, rng):
    data, model_path = tmp_path / "yn.csv", tmp_path / "m.npz"
    X = rng.standard_normal((80, 2))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    data.write_text(
        "a,b,answer\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, labels, strict=True))
    )
    code, out, err = run(capsys, "train", data, "--label", "answer", "--layers", "", "--lr", "0.5",
                         "--iterations", "300", "--save", model_path, "-q")  # fmt: skip
    assert code == 0, err
    model = fastnn.load(model_path)
    assert model.output == "sigmoid" and model.classes_.tolist() == ["no", "yes"]
    code, out, err = run(capsys, "predict", model_path, data, "--label", "answer", "--output", "-")
    assert code == 0, err
    predicted = out.splitlines()[1:]
    assert set(predicted) <= {"no", "yes"}
    np.testing.assert_array_equal(predicted, model.classes_[model.predict(X.T)[0].astype(int)])
    assert float(err.split("accuracy: ")[1]) > 0.95


def test_numeric_classes_sort_by_value_and_test_labels_must_be_known(capsys, tmp_path, rng):
    data, test = tmp_path / "d.npz", tmp_path / "t.npz"
    X = rng.standard_normal((2, 60))
    y = np.array([2, 9, 10])[rng.integers(0, 3, 60)]
    np.savez(data, X=X, Y=y)
    np.savez(test, X=X[:, :5], Y=np.array([2, 9, 10, 11, 2]))
    code, out, err = run(capsys, "train", data, "--layers", "", "--iterations", "5", "-q",
                         "--save", tmp_path / "m.npz")  # fmt: skip
    assert code == 0, err
    assert fastnn.load(tmp_path / "m.npz").classes_.tolist() == ["2", "9", "10"]
    code, out, err = run(capsys, "train", data, "--test", test, "--layers", "", "--iterations", "5")
    assert_one_line_error(
        code, err, 1, "labels ['11'] are not among the model's classes ['2', '9', '10']"
    )


def test_read_csv_table_keeps_label_and_id_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("key, x ,label\nA1,1.5, cat \nB2,-2,dog\n")
    X, labels, ids = datasets.read_csv_table(path, label="label", id_column="key")
    np.testing.assert_array_equal(X, [[1.5, -2.0]])
    assert labels.tolist() == ["cat", "dog"] and ids.tolist() == ["A1", "B2"]
    with pytest.raises(ValueError, match="id column 'nope' not found; columns are key, x, label"):
        datasets.read_csv_table(path, label="label", id_column="nope")
    with pytest.raises(ValueError, match="the label and the id column are the same column"):
        datasets.read_csv_table(path, label="key", id_column="key")
    (tmp_path / "two.csv").write_text("key,label\nA1,cat\n")
    with pytest.raises(ValueError, match="no feature columns besides the label and id columns"):
        datasets.read_csv_table(tmp_path / "two.csv", label="label", id_column="key")


def test_iris_with_species_names_through_the_command_line(capsys, tmp_path):
    """scikit-learn's iris as a CSV of measurements and species names: train, save, predict."""
    datasets_ = pytest.importorskip("sklearn.datasets")
    iris = datasets_.load_iris()
    path = tmp_path / "iris.csv"
    header = "sepal_length,sepal_width,petal_length,petal_width,species"
    rows = [
        ",".join(map(str, x)) + "," + iris.target_names[t]
        for x, t in zip(iris.data, iris.target, strict=True)
    ]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    code, out, err = run(capsys, "train", path, "--label", "species", "--layers", "16",
                         "--standardize", "--optimizer", "adam", "--mini-batch-size", "16",
                         "--epochs", "100", "--lr", "0.01", "--save", tmp_path / "iris.npz")  # fmt: skip
    assert code == 0, err
    assert accuracy(out) > 0.95 and "softmax output" in out
    code, out, err = run(capsys, "predict", tmp_path / "iris.npz", path, "--label", "species",
                         "--output", "-", "--proba")  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "prediction,setosa,versicolor,virginica"
    assert {line.split(",")[0] for line in lines[1:]} <= set(iris.target_names)
    assert float(err.split("accuracy: ")[1]) > 0.95


def test_many_numeric_labels_ask_for_an_explicit_output(capsys, tmp_path, rng):
    """Integer prices in a label column look like classes and like a regression target: with
    more than 20 distinct values fastnn asks instead of training a 52-class softmax."""
    X = rng.standard_normal((60, 2))
    price = (100 + 30 * X[:, 0]).round().astype(int)
    path = tmp_path / "houses.csv"
    path.write_text(
        "a,b,price\n" + "".join(f"{a},{b},{p}\n" for (a, b), p in zip(X, price, strict=True))
    )
    code, _, err = run(capsys, "train", path, "--label", "price", "--iterations", "1")
    assert_one_line_error(code, err, 2, "distinct numeric labels")
    assert "pass --output linear for regression, or --output softmax" in err
    code, out, err = run(capsys, "train", path, "--label", "price", "--iterations", "1",
                         "--output", "linear", "-q")  # fmt: skip
    assert code == 0, err


def test_an_empty_label_cell_is_an_error(capsys, tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("a,species\n1,x\n2,\n3,y\n")
    code, _, err = run(capsys, "train", path, "--label", "species", "--iterations", "1")
    assert_one_line_error(code, err, 1, "row 3, column 'species': empty label")
