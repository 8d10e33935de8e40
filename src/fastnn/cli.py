"""The ``fastnn`` command line: ``fastnn train``, ``fastnn predict`` and ``fastnn info``.

``main(argv)`` returns the exit code instead of exiting, so it can be called in-process::

    fastnn train                          # the course's planar "flower" classifier (week 3)
    fastnn train train.h5 --test test.h5  # the course's L-layer Application (week 4)
    fastnn train data.csv --label y --layers 8,4 --save model.npz --plot curve.png
    fastnn predict model.npz new.csv --output preds.csv
    fastnn info                           # versions, BLAS, core type, threads, compile flags, CPU

Exit codes: 0 success; 1 unreadable or malformed data or model files, a diverging training run,
files that cannot be written, a missing optional package; 2 usage errors (bad options or option
values); 130 Ctrl-C. Every error is one line on stderr, ``fastnn: error: <message>``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import platform
import re
import sys
import sysconfig
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import fastnn
from fastnn import datasets
from fastnn._registry import ACTIVATIONS, DECAYS, INITS, OPTIMIZERS, OUTPUTS
from fastnn.model import Model

__all__ = ["main", "build_parser", "train_settings", "PLANAR_DEFAULTS", "FILE_DEFAULTS"]

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: The course's planar classifier (week 3): one hidden layer of 4 tanh units, ~90% accuracy.
PLANAR_DEFAULTS: dict[str, Any] = {
    "layers": [4],
    "activation": "tanh",
    "init": "small",
    "lr": 1.2,
    "iterations": 10000,
}
#: The course's L-layer Application (week 4): [n_x, 20, 7, 5, 1], ReLU, W ~ randn / sqrt(n).
FILE_DEFAULTS: dict[str, Any] = {
    "layers": [20, 7, 5],
    "activation": "relu",
    "init": "course",
    "lr": 0.0075,
    "iterations": 2500,
}
COST_EVERY = 100
#: more distinct numeric labels than this look like a regression target: --output must say
MAX_AUTO_CLASSES = 20
PLOT_HINT = "--plot needs matplotlib: pip install 'fastnn[plot]'"

# Errors that loading, training and saving report as "fastnn: error: ..." with exit code 1.
_DATA_ERRORS = (
    ValueError,
    TypeError,
    OSError,
    FloatingPointError,
    MemoryError,
    ImportError,  # h5py missing: datasets says "pip install 'fastnn[h5]'"
)


class CLIError(Exception):
    """An error reported as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_DATA):
        super().__init__(message)
        self.code = code


class UsageError(CLIError):
    def __init__(self, message: str):
        super().__init__(message, EXIT_USAGE)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())


def _describe(err: BaseException) -> str:
    """A one-line message for an exception from loading, training or saving."""
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        return f"{err.filename}: {err.strerror}"
    if isinstance(err, MemoryError):
        return f"out of memory{': ' + str(err) if str(err) else ''}"
    return _one_line(str(err)) or type(err).__name__


@contextlib.contextmanager
def _data_errors(prefix: str = "") -> Iterator[None]:
    """Turn the exceptions of data loading, training or saving into a CLIError (exit code 1)."""
    try:
        yield
    except _DATA_ERRORS as err:
        raise CLIError(prefix + _describe(err)) from err


class _Parser(argparse.ArgumentParser):
    """argparse without its multi-line usage dump: errors become one-line UsageErrors."""

    def error(self, message: str):  # type: ignore[override]
        hint = f" (see '{self.prog} --help')"
        raise UsageError(_one_line(message) + hint)


# --------------------------------------------------------------------------- option types


def _layers(text: str) -> list[int]:
    """Hidden layer sizes: "20,7,5" -> [20, 7, 5]; "" -> [] (logistic regression)."""
    if not text.strip():
        return []
    sizes = []
    for part in text.split(","):
        part = part.strip()
        try:
            size = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"hidden layer sizes must be comma-separated integers such as 20,7,5 "
                f"(or '' for none); got {text!r} ({part!r} is not an integer)"
            ) from None
        if size < 1:
            raise argparse.ArgumentTypeError(f"hidden layer sizes must be >= 1; got {text!r}")
        sizes.append(size)
    return sizes


def _activation(text: str) -> list[str]:
    """ "relu" or one name per hidden layer, "relu,relu,tanh"."""
    names = [t.strip() for t in text.split(",")]
    for name in names:
        if name not in ACTIVATIONS:
            valid = ", ".join(ACTIVATIONS)
            raise argparse.ArgumentTypeError(f"unknown activation {name!r}; choose from {valid}")
    return names


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {text!r}")
    return value


def _iterations(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}")
    return value


def _count(minimum: int):
    """An integer >= minimum."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}; got {text!r}")
        return value

    return parse


def _real(low: float, high: float = math.inf, *, low_open=False, high_open=False):
    """A finite number in a range, e.g. [0, 1) for beta."""
    if math.isinf(high):
        want = f"{'>' if low_open else '>='} {low:g}"
    else:
        want = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (value > low if low_open else value >= low)
        if not (ok and (value < high if high_open else value <= high)):
            raise argparse.ArgumentTypeError(f"must be a finite number {want}; got {text!r}")
        return value

    return parse


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32); got {text!r}")
    return value


# --------------------------------------------------------------------------- parser

_TRAIN_EPILOG = f"""\
defaults depend on the data:
  no DATA (the built-in planar "flower" dataset, the course's week 3 classifier, ~90% accuracy):
      --layers {",".join(map(str, PLANAR_DEFAULTS["layers"]))} --activation {PLANAR_DEFAULTS["activation"]} \
--init {PLANAR_DEFAULTS["init"]} --lr {PLANAR_DEFAULTS["lr"]} --iterations {PLANAR_DEFAULTS["iterations"]}
  DATA files (the course's week 4 L-layer Application):
      --layers {",".join(map(str, FILE_DEFAULTS["layers"]))} --activation {FILE_DEFAULTS["activation"]} \
--init {FILE_DEFAULTS["init"]} --lr {FILE_DEFAULTS["lr"]} --iterations {FILE_DEFAULTS["iterations"]}
  options given on the command line always win.

data files (chosen by extension):
  .h5/.hdf5  the course's layout: one <prefix>_x dataset (m, ...) and <prefix>_y; uint8 / 255
  .npz       arrays X (n_x, m) and Y (m,) or (1, m)
  .csv       a header row and one example per row; --label names the label column, whose
             values may be numbers or names (yes/no, species, ...)

training: full-batch gradient descent by default; --mini-batch-size B trains --epochs epochs
of the course's shuffled mini-batches (seeded by --seed), --optimizer momentum or adam, --lambd
adds L2, --keep-prob drops hidden units (inverted dropout), --decay inverse|scheduled decays the learning rate after each epoch, and
--validation-fraction F holds out that share of the data and stops early when its cost has not
improved by --tol for --n-iter-no-change checks (the best parameters are kept).

output: "Cost after iteration i: J" every {COST_EVERY} iterations (with mini-batches "Cost after
epoch i: J", ten times in a run) and a progress bar on stderr counting iterations or epochs
(tqdm if installed, else a line every 10%), then the accuracy (R^2 for --output linear) and the
wall time; --quiet prints the accuracy lines only. --plot draws the training cost and, with
--validation-fraction, the validation cost. Ctrl-C stops training, prints how many iterations
(epochs) ran and exits with 130 without saving or plotting (a half-trained model never
overwrites a --save file). A cost that diverges (not finite, or above 1e6 times its first
value) is an error (exit 1).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fastnn",
        description="Fast fully-connected neural networks on the CPU, in the notation of the "
        "course Neural Networks and Deep Learning.",
        epilog="exit codes: 0 success, 1 bad data or model file (or training diverged), "
        "2 bad usage, 130 interrupted. 'fastnn COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"fastnn {fastnn.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = sub.add_parser(
        "train",
        help="train a network on a data file or the built-in planar dataset",
        description="Train a fully-connected binary classifier (or a regressor, --output linear)\n"
        "with full-batch gradient descent or mini-batches; layer_dims = [n_x, *LAYERS, 1].",
        epilog=_TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "data",
        nargs="?",
        metavar="DATA",
        help="training data (.h5, .npz or .csv); omit for the built-in planar flower dataset",
    )
    train.add_argument("--test", metavar="DATA", help="labelled test data: print its accuracy")
    train.add_argument("--label", metavar="COL", help="label column of .csv files")
    train.add_argument(
        "--id", metavar="COL", help="an id column of .csv files, which is not a feature"
    )
    train.add_argument(
        "--layers",
        type=_layers,
        metavar="LIST",
        help="hidden layer sizes, comma-separated; '' for none (logistic regression). "
        "Default: 20,7,5 for DATA files, 4 for the planar dataset",
    )
    train.add_argument(
        "--activation",
        type=_activation,
        metavar="NAME",
        help=f"hidden activation ({', '.join(ACTIVATIONS)}), or one per hidden layer, "
        "comma-separated. Default: relu for DATA files, tanh for the planar dataset",
    )
    train.add_argument(
        "--output",
        choices=tuple(OUTPUTS),
        default=None,
        help="sigmoid: two classes; softmax: two or more classes; linear: regression; relu: "
        "non-negative regression. Default: sigmoid for two classes, softmax for more",
    )
    train.add_argument(
        "--lr",
        type=_learning_rate,
        metavar="RATE",
        help="learning rate. Default: 0.0075 for DATA files, 1.2 for the planar dataset",
    )
    train.add_argument(
        "--iterations",
        type=_iterations,
        metavar="N",
        help="gradient descent iterations. Default: 2500 for DATA files, 10000 for planar",
    )
    train.add_argument(
        "--mini-batch-size",
        type=_count(1),
        metavar="B",
        help="train on shuffled mini-batches of B examples (default: full batch)",
    )
    train.add_argument(
        "--epochs",
        type=_iterations,
        metavar="N",
        help="passes over the data with --mini-batch-size (default: --iterations' value)",
    )
    train.add_argument(
        "--optimizer",
        choices=tuple(OPTIMIZERS),
        default="gd",
        help="gd (default), momentum (--beta), adam (--beta1, --beta2, --epsilon; the course's), "
        "or scikit-learn's sklearn_adam, sklearn_sgd and sklearn_nesterov (momentum --beta)",
    )
    train.add_argument(
        "--beta", type=_real(0, 1, high_open=True), default=0.9, help="momentum (default 0.9)"
    )
    train.add_argument(
        "--beta1", type=_real(0, 1, high_open=True), default=0.9, help="Adam (default 0.9)"
    )
    train.add_argument(
        "--beta2", type=_real(0, 1, high_open=True), default=0.999, help="Adam (default 0.999)"
    )
    train.add_argument(
        "--epsilon", type=_real(0, low_open=True), default=1e-8, help="Adam (default 1e-8)"
    )
    train.add_argument(
        "--lambd", type=_real(0), default=0.0, metavar="L", help="L2 strength λ (default 0)"
    )
    train.add_argument(
        "--keep-prob",
        type=_real(0, 1, low_open=True),
        default=1.0,
        metavar="P",
        help="inverted dropout: keep each hidden unit with probability P (default 1: none)",
    )
    train.add_argument(
        "--decay",
        choices=tuple(DECAYS),
        help="learning-rate decay after each epoch: inverse lr0/(1+rate*epoch), scheduled "
        "lr0/(1+rate*floor(epoch/interval)) (default: none)",
    )
    train.add_argument("--decay-rate", type=_real(0), default=1.0, metavar="R", help="default 1")
    train.add_argument(
        "--time-interval", type=_count(1), default=1000, metavar="T", help="default 1000"
    )
    train.add_argument(
        "--validation-fraction",
        type=_real(0, 1, low_open=True, high_open=True),
        metavar="F",
        help="hold out this share of the data and stop early when its cost stops improving",
    )
    train.add_argument(
        "--n-iter-no-change", type=_count(1), default=10, metavar="N", help="default 10"
    )
    train.add_argument("--tol", type=_real(0), default=1e-4, help="default 1e-4")
    train.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64", help="default float64"
    )
    train.add_argument(
        "--init",
        choices=tuple(INITS),
        help="weight initialisation. Default: course (randn/sqrt(n)) for DATA files, "
        "small (randn*0.01) for the planar dataset",
    )
    train.add_argument("--seed", type=_seed, default=1, help="initialisation seed (default 1)")
    train.add_argument(
        "--standardize",
        action="store_true",
        help="z-score every feature with the training set's mean and std (stored in the model)",
    )
    train.add_argument("--save", metavar="PATH", help="save the trained model (.npz)")
    train.add_argument("--plot", metavar="PNG", help="write the learning curve (needs matplotlib)")
    train.add_argument(
        "--quiet", "-q", action="store_true", help="print only the final accuracy lines"
    )
    train.set_defaults(func=_cmd_train)

    predict = sub.add_parser(
        "predict",
        help="predict with a saved model",
        description="Predict with a model saved by 'fastnn train --save'. Prints a summary, and "
        "the accuracy (R^2 for regressors) when DATA holds labels.",
    )
    predict.add_argument("model", metavar="MODEL", help="model file written by --save")
    predict.add_argument("data", metavar="DATA", help="data file (.h5, .npz or .csv)")
    predict.add_argument(
        "--label",
        metavar="COL",
        help="label column of a .csv file (without it every column is a feature)",
    )
    predict.add_argument(
        "--output",
        metavar="CSV",
        help="write the predictions (class names for a classifier), one per line under a "
        "'prediction' header; '-' for stdout",
    )
    predict.add_argument(
        "--proba",
        action="store_true",
        help="with --output: also one probability column per class, named by the class",
    )
    predict.add_argument(
        "--id",
        metavar="COL",
        help="an id column of a .csv file: not a feature, copied into --output's first column",
    )
    predict.set_defaults(func=_cmd_predict)

    info = sub.add_parser(
        "info",
        help="versions, BLAS library and core type, threads, compile flags, CPU",
        description="Describe the installation: versions, the BLAS library and the OpenBLAS "
        "core type fastnn chose (and why), threads, the kernels' compile flags, the CPU.",
    )
    info.set_defaults(func=_cmd_info)
    return parser


# --------------------------------------------------------------------------- helpers


def train_settings(args: argparse.Namespace) -> dict[str, Any]:
    """layers/activation/init/lr/iterations: the command line's, else the dataset's defaults.

    The planar defaults apply when no DATA file is given, the L-layer Application's otherwise.
    ``layers`` is a list of ints, ``activation`` a list of one name or one per hidden layer.
    """
    defaults = PLANAR_DEFAULTS if args.data is None else FILE_DEFAULTS
    out = {}
    for key, default in defaults.items():
        value = getattr(args, key, None)
        out[key] = value if value is not None else default
    out["layers"] = list(out["layers"])
    activation = out["activation"]
    out["activation"] = [activation] if isinstance(activation, str) else list(activation)
    return out


def _is_csv(path: str | None) -> bool:
    return path is not None and Path(path).suffix.lower() == ".csv"


def _check_label_usage(files: Sequence[str | None], label: str | None, need_labels: bool) -> None:
    csv_files = [f for f in files if _is_csv(f)]
    if label is not None and not csv_files:
        raise UsageError("--label only applies to .csv files (.h5 and .npz name their labels)")
    if need_labels and label is None and csv_files:
        raise UsageError(
            f"{csv_files[0]}: training needs labels: pass --label COL naming the label column"
        )


def _read(
    path: str, label: str | None, id_column: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """X (n_x, m), the labels (m,) as written (.csv: text; .h5/.npz: numbers) or None, and the
    id column (.csv only) or None."""
    with _data_errors():
        if _is_csv(path):
            return datasets.read_csv_table(path, label=label, id_column=id_column)
        X, Y = datasets.read_dataset(path)
        return X, None if Y is None else Y.ravel(), None


def _label_names(labels: np.ndarray) -> np.ndarray:
    """Labels as class names: text as it is; numbers (also numbers written as text) in one
    spelling, 1, 1.0 and 1e0 all "1", so classes sort and match by value."""
    numbers = _as_numbers(labels)
    if numbers is None:
        return labels.astype(str)
    values, inverse = np.unique(numbers, return_inverse=True)  # spell each value once
    spelled = [str(int(v)) if v == int(v) else repr(float(v)) for v in values]
    return np.array(spelled, dtype=str)[inverse.reshape(-1)]


def _as_numbers(labels: np.ndarray) -> np.ndarray | None:
    """The labels as float64 when every one is a finite number, else None."""
    if labels.dtype.kind in "fiu":
        return labels.astype(np.float64)
    try:
        values = labels.astype(np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def _classes(names: np.ndarray) -> np.ndarray:
    """The distinct class names, sorted by value when they are numbers, else as text."""
    classes = np.unique(names)
    numbers = _as_numbers(classes)
    return classes[np.argsort(numbers, kind="stable")] if numbers is not None else classes


def _class_indices(labels: np.ndarray, classes: np.ndarray, source: str) -> np.ndarray:
    """Each label's index in ``classes``; a CLIError naming labels the model does not know."""
    names, inverse = np.unique(_label_names(labels), return_inverse=True)
    index = {c: i for i, c in enumerate(classes.tolist())}
    unknown = sorted(set(names.tolist()) - index.keys())
    if unknown:
        raise CLIError(
            f"{source}: labels {unknown[:5]} are not among the model's classes "
            f"{classes.tolist()[:10]}"
        )
    return np.array([index[n] for n in names.tolist()], dtype=np.intp)[inverse.reshape(-1)]


def _regression_targets(labels: np.ndarray, source: str) -> np.ndarray:
    values = _as_numbers(labels)
    if values is None:
        bad = next(v for v in labels.tolist() if _as_numbers(np.array([v])) is None)
        raise CLIError(f"{source}: a regression needs numeric labels; found {bad!r}")
    return values.reshape(1, -1)


def _choose_output(
    requested: str | None, labels: np.ndarray, source: str
) -> tuple[str, np.ndarray | None]:
    """The output layer, and the sorted class names for a classifier (None for regression):
    --output as given, else sigmoid for two classes and softmax for more."""
    if requested is not None and not OUTPUTS[requested].classifier:
        return requested, None
    classes = _classes(_label_names(labels))
    if len(classes) < 2:
        raise CLIError(
            f"{source}: a classifier needs two classes or more; every label is {str(classes[0])!r}"
        )
    numbers = _as_numbers(classes)
    if (
        requested is None
        and len(classes) > 2
        and numbers is not None
        and (numbers != np.round(numbers)).any()
    ):
        raise UsageError(
            f"{source}: the labels look like real numbers ({len(classes)} distinct values, e.g. "
            f"{next(c for c, v in zip(classes, numbers, strict=True) if v != round(v))}): pass "
            "--output linear for regression (or --output softmax to treat each value as a class)"
        )
    if requested is None and numbers is not None and len(classes) > MAX_AUTO_CLASSES:
        raise UsageError(
            f"{source}: {len(classes)} distinct numeric labels ({', '.join(classes.tolist()[:3])}, "
            f"...): pass --output linear for regression, or --output softmax to train "
            f"{len(classes)} classes"
        )
    if requested == "sigmoid" and len(classes) > 2:
        raise UsageError(
            f"{source}: {len(classes)} classes ({', '.join(classes.tolist()[:5])}"
            f"{', ...' if len(classes) > 5 else ''}); --output sigmoid is for two classes: use "
            "--output softmax (or leave --output out to choose it)"
        )
    output = requested or ("sigmoid" if len(classes) == 2 else "softmax")
    return output, classes


def _check_output_path(path: str, option: str) -> None:
    """Fail before training when ``path`` cannot be written to."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{option} {path}: directory {str(parent)!r} is not writable")


def _plotting():
    """(Figure, FigureCanvasAgg) from matplotlib, without pyplot or a global backend switch."""
    try:
        import matplotlib  # noqa: F401  (first: a blocked or missing package fails here)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise CLIError(PLOT_HINT) from None
    return Figure, FigureCanvasAgg


def _write_plot(path: str, curves, plotting, title: str, xlabel: str, ylabel: str) -> None:
    """curves: (label, x, y) for each line (the training cost, the validation cost)."""
    Figure, FigureCanvasAgg = plotting
    fig = Figure(figsize=(6.4, 4.4), layout="tight")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, x, y in curves:
        ax.plot(x, y, label=label)
    if len(curves) > 1:
        ax.legend()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.savefig(path)


class _Progress:
    """A progress bar on stderr: tqdm when importable, otherwise a plain line every 10%.

    Cost lines go to stdout (through tqdm.write when a bar is shown, so they do not tear it).
    """

    def __init__(self, total: int, enabled: bool, unit: str = "iteration"):
        self.total = total
        self.unit = unit
        self.enabled = enabled and total > 0
        self.start = time.perf_counter()
        self.done = 0
        self.bar = None
        self._next_tenth = 1
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                short = "it" if unit == "iteration" else unit
                self.bar = tqdm(total=total, unit=short, file=sys.stderr, dynamic_ncols=True)

    def print(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def update(self, done: int) -> None:
        if not self.enabled or done <= self.done:
            return
        if self.bar is not None:
            self.bar.update(done - self.done)
        elif done >= self._next_tenth * self.total / 10:
            while done >= self._next_tenth * self.total / 10:
                self._next_tenth += 1
            elapsed = time.perf_counter() - self.start
            left = elapsed * (self.total - done) / done
            pct = 100 * done // self.total
            print(
                f"[{pct:3d}%] {done}/{self.total} {self.unit}s, {elapsed:.2f} s elapsed, "
                f"~{left:.2f} s left",
                file=sys.stderr,
                flush=True,
            )
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _score_line(name: str, model: Model, X: np.ndarray, Y: np.ndarray) -> str:
    with _data_errors(f"{name}: "):
        score = model.score(X, Y)
    what = "accuracy" if OUTPUTS[model.output].classifier else "R^2"
    return f"{name} {what}: {score:.4f}"


# --------------------------------------------------------------------------- train


def _cmd_train(args: argparse.Namespace) -> int:
    settings = train_settings(args)
    layers, activation = settings["layers"], settings["activation"]
    if len(activation) > 1 and len(activation) != len(layers):
        raise UsageError(
            f"--activation lists {len(activation)} activations for {len(layers)} hidden layers"
        )
    _check_label_usage([args.data, args.test], args.label, need_labels=True)
    if args.id is not None and not any(_is_csv(f) for f in (args.data, args.test)):
        raise UsageError("--id only applies to .csv files")
    plotting = None
    if args.plot is not None:
        plotting = _plotting()  # a missing matplotlib fails here, before any training
        suffix = Path(args.plot).suffix.lower().lstrip(".")
        supported = plotting[1].get_supported_filetypes()
        if suffix and suffix not in supported:
            raise UsageError(
                f"--plot {args.plot}: unsupported image format {suffix!r}; "
                f"use one of {', '.join(sorted(supported))}"
            )
        _check_output_path(args.plot, "--plot")
    if args.save is not None:
        _check_output_path(args.save, "--save")

    # data
    if args.data is None:
        X, Y = datasets.make_planar()
        labels = Y.ravel()
        source = "the planar flower dataset"
    else:
        X, labels, _ = _read(args.data, args.label, args.id)
        source = args.data
        if labels is None:
            raise CLIError(f"{args.data}: holds no labels; training needs labelled data")
    output, classes = _choose_output(args.output, labels, source)

    def targets(labels: np.ndarray, where: str) -> np.ndarray:
        """What the model trains on: class indices (sigmoid: 0/1 in a row), or the values."""
        if classes is None:
            return _regression_targets(labels, where)
        idx = _class_indices(labels, classes, where)
        return idx.reshape(1, -1).astype(np.float64) if output == "sigmoid" else idx

    Y = targets(labels, source)
    test = None
    if args.test is not None:
        X_test, labels_test, _ = _read(args.test, args.label, args.id)
        if labels_test is None:
            raise CLIError(f"{args.test}: holds no labels; --test needs labelled data")
        if X_test.shape[0] != X.shape[0]:
            raise CLIError(
                f"{args.test}: {X_test.shape[0]} features per example; the training data has "
                f"{X.shape[0]}"
            )
        test = (X_test, targets(labels_test, args.test))

    # model
    dims = [X.shape[0], *layers, len(classes) if output == "softmax" else 1]
    hidden = activation[0] if len(activation) == 1 else activation
    try:
        model = Model(
            dims,
            hidden_activation=hidden,
            output=output,
            init=settings["init"],
            dtype=args.dtype,
            seed=args.seed,
            standardize=args.standardize,
        )
    except (ValueError, TypeError) as err:
        raise UsageError(_describe(err)) from err
    model.classes_ = classes
    lr, iterations = settings["lr"], settings["iterations"]
    batch = args.mini_batch_size
    if args.epochs is not None and args.iterations is not None:
        raise UsageError("--epochs and --iterations say the same thing; give one of them")
    if args.epochs is not None:
        iterations = args.epochs
    unit = "epoch" if batch else "iteration"
    # Mini-batch runs record every epoch (the progress bar and the plot follow epochs) and
    # print ten cost lines; full-batch runs record and print every COST_EVERY iterations.
    cost_every = 1 if batch else COST_EVERY
    print_every = max(1, iterations // 10) if batch else COST_EVERY
    options = {
        "mini_batch_size": batch,
        "optimizer": args.optimizer,
        "beta": args.beta,
        "beta1": args.beta1,
        "beta2": args.beta2,
        "epsilon": args.epsilon,
        "lambd": args.lambd,
        "keep_prob": args.keep_prob,
        "decay": args.decay,
        "decay_rate": args.decay_rate,
        "time_interval": args.time_interval,
        "validation_fraction": args.validation_fraction,
        "n_iter_no_change": args.n_iter_no_change,
        "tol": args.tol,
    }

    quiet = args.quiet
    if not quiet:
        acts = f"{','.join(activation)} hidden, " if layers else ""
        how = f"{iterations} iterations"
        if batch:
            how = f"{iterations} epochs of mini-batches of {batch}"
        extras = [f"optimizer {args.optimizer}"] if args.optimizer != "gd" else []
        extras += [f"lambd {args.lambd}"] if args.lambd else []
        extras += [f"keep_prob {args.keep_prob:g}"] if args.keep_prob < 1 else []
        extras += [f"decay {args.decay} (rate {args.decay_rate})"] if args.decay else []
        if args.validation_fraction:
            extras.append(f"{args.validation_fraction:g} held out for early stopping")
        extras += ["standardized"] if args.standardize else []
        print(
            f"training {dims} ({acts}{output} output) on {X.shape[1]} examples of {source}: "
            f"learning rate {lr}, {how}, init {settings['init']}, {args.dtype}, "
            f"seed {args.seed}{''.join(', ' + e for e in extras)}",
            flush=True,
        )

    progress = _Progress(iterations, enabled=not quiet, unit=unit)

    def report(i: int, cost: float) -> None:
        if not quiet and i % print_every == 0:
            progress.print(f"Cost after {unit} {i}: {cost}")
        progress.update(i + 1)

    start = time.perf_counter()
    try:
        with _data_errors():
            model.fit(X, Y, lr, iterations, cost_every=cost_every, callback=report, **options)
        progress.update(model.n_iter_)
    except KeyboardInterrupt:
        progress.close()
        print(
            f"interrupted after {model.n_iter_} {unit}s{' (model not saved)' if args.save else ''}",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_INTERRUPTED
    finally:
        progress.close()
    elapsed = time.perf_counter() - start

    if args.validation_fraction and not quiet:
        # validations: after every epoch, or at every recorded iteration (0, 100, ...)
        checks = len(model.validation_costs_)
        ran = checks if batch else (checks - 1) * cost_every
        if checks < (iterations if batch else -(-iterations // cost_every)):
            print(
                f"stopped early after {ran} {unit}s: the validation cost did not improve by "
                f"{args.tol:g} for {args.n_iter_no_change} checks; kept the model of {unit} "
                f"{model.n_iter_}, whose validation cost is the best, {model.best_cost_:.6g}"
            )
    print(_score_line("train", model, X, Y))
    if test is not None:
        print(_score_line("test", model, *test))
    if not quiet:
        print(f"trained in {elapsed:.2f} s")

    if args.save is not None:
        with _data_errors(f"cannot save the model to {args.save}: "):
            model.save(args.save)
        if not quiet:
            print(f"saved the model to {args.save}")
    if plotting is not None:
        title = f"layers {dims}, learning rate {lr}"
        cost = OUTPUTS[output].cost
        x = np.arange(len(model.costs_)) * cost_every
        curves = [("training", x, model.costs_)]
        if model.validation_costs_:
            # mini-batches: after every epoch (1, 2, ...); full batch: at the recorded iterations
            n = len(model.validation_costs_)
            xv = np.arange(1, n + 1) if batch else np.arange(n) * cost_every
            curves.append(("validation", xv, model.validation_costs_))
        with _data_errors(f"cannot write the plot {args.plot}: "):
            _write_plot(args.plot, curves, plotting, title, unit, f"cost ({cost})")
        if not quiet:
            print(f"wrote the learning curve to {args.plot}")
    return EXIT_OK


# --------------------------------------------------------------------------- predict


def _model_classes(model: Model) -> np.ndarray | None:
    """A classifier's class names: the stored ones, else its indices ("0", "1", ...)."""
    if not OUTPUTS[model.output].classifier:
        return None
    if model.classes_ is not None:
        return model.classes_
    n = model.layer_dims[-1] if model.output == "softmax" else 2
    return np.array([str(i) for i in range(n)])


def _cmd_predict(args: argparse.Namespace) -> int:
    _check_label_usage([args.data], args.label, need_labels=False)
    if args.id is not None and not _is_csv(args.data):
        raise UsageError("--id only applies to .csv files")
    if args.proba and args.output is None:
        raise UsageError("--proba adds probability columns to --output: give --output CSV")
    if args.output not in (None, "-"):
        _check_output_path(args.output, "--output")
    with _data_errors():
        model = fastnn.load(args.model)
    if model.output != "softmax" and model.layer_dims[-1] > 1:
        raise CLIError(
            f"{args.model}: {model.layer_dims[-1]} {model.output} outputs (multi-label or "
            "multi-output); fastnn predict handles models of one label column"
        )
    classes = _model_classes(model)
    if args.proba and classes is None:
        raise UsageError(f"--proba needs a classifier; {args.model} is a regressor")
    X, labels, ids = _read(args.data, args.label, args.id)
    n_x = model.layer_dims[0]
    if X.shape[0] != n_x:
        hint = ""
        if _is_csv(args.data) and args.label is None and X.shape[0] == n_x + 1:
            hint = " (if one column holds the labels, name it with --label COL)"
        raise CLIError(
            f"{args.data}: {X.shape[0]} features per example; the model {args.model} expects "
            f"{n_x}{hint}"
        )
    with _data_errors():
        A = model.forward(X)
    if model.output == "softmax":
        P = classes[A.argmax(axis=0)]
        proba = A
    elif classes is not None:  # a sigmoid unit: classes_[1] where P(y = 1) > 0.5
        P = classes[(A[0] > 0.5).astype(np.intp)]
        proba = np.vstack([1 - A[0], A[0]])
    else:
        P, proba = A.ravel(), None

    # With --output - the CSV owns stdout; the summary goes to stderr.
    info = sys.stderr if args.output == "-" else sys.stdout
    if args.output is not None:
        header = ([args.id] if ids is not None else []) + ["prediction"]
        columns = ([ids] if ids is not None else []) + [
            P if classes is not None else [repr(float(v)) for v in P]
        ]
        if args.proba:
            header += classes.tolist()
            columns += [[repr(float(p)) for p in row] for row in proba]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(zip(*columns, strict=True))
        text = buffer.getvalue()
        if args.output == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            with _data_errors(f"cannot write {args.output}: "):
                with open(args.output, "w", encoding="utf-8", newline="") as fh:
                    fh.write(text)
            print(f"wrote {P.size} predictions to {args.output}", file=info)
    if classes is not None:
        counts = ", ".join(f"{c} {int(np.count_nonzero(P == c))}" for c in classes.tolist())
        print(f"{P.size} predictions: {counts}", file=info)
    else:
        print(
            f"{P.size} predictions: mean {P.mean():.6g}, min {P.min():.6g}, max {P.max():.6g}",
            file=info,
        )
    if labels is not None:
        if classes is None:
            Y = _regression_targets(labels, args.data)
        else:
            Y = _class_indices(labels, classes, args.data)
            Y = Y.reshape(1, -1).astype(np.float64) if model.output == "sigmoid" else Y
        what = "accuracy" if classes is not None else "R^2"
        with _data_errors(f"{args.data}: "):
            print(f"{what}: {model.score(X, Y):.4f}", file=info)
    return EXIT_OK


# --------------------------------------------------------------------------- info


def _version_of(module: str) -> str:
    try:
        mod = __import__(module)
    except Exception:
        return "not installed"
    return getattr(mod, "__version__", "unknown version")


def compile_info() -> dict[str, str | None]:
    """Compiler and flags of ``fastnn._kernels``, as the compiler recorded them in the binary.

    GCC stores the command-line options in the DWARF producer string when building with -g (the
    default for extension modules, whose CFLAGS come from Python's build) and its version in the
    .comment section. Where nothing is recorded, Python's build CFLAGS are reported as such.
    """
    out: dict[str, str | None] = {"path": None, "compiler": None, "flags": None, "source": None}
    try:
        from fastnn import _kernels

        out["path"] = _kernels.__file__
        data = Path(_kernels.__file__).read_bytes()
    except Exception:
        data = b""
    producers = re.findall(rb"GNU C[0-9+]* [0-9][^\x00]{0,4000}", data)
    producers += re.findall(rb"clang version [^\x00]{0,4000}", data)
    comment = re.search(rb"GCC: \([^\x00]*", data) or re.search(rb"clang version [^\x00]*", data)
    if comment:
        text = comment.group(0).decode("utf-8", "replace").strip()
        out["compiler"] = "GCC " + text[len("GCC: ") :] if text.startswith("GCC: ") else text
    if producers:
        text = producers[0].decode("utf-8", "replace").strip()
        m = re.match(r"(GNU C\S* \S+|clang version \S+(?: \([^)]*\))?)\s*(.*)", text)
        if m:
            out["flags"] = m.group(2) or "(none recorded)"
            out["compiler"] = out["compiler"] or m.group(1)
            out["source"] = "recorded in the binary by the compiler"
    if out["flags"] is None:
        cflags = sysconfig.get_config_var("CFLAGS")
        out["flags"] = cflags or "unknown"
        out["source"] = (
            "not recorded in the binary; these are Python's build CFLAGS, which extensions "
            "inherit (fastnn's setup.py adds its own on top)"
        )
    return out


def _cmd_info(args: argparse.Namespace) -> int:
    from fastnn import _coretype

    info = _coretype.blas_info()  # never raises
    dec = info.get("decision") or {}
    threads = info.get("threads") or {}
    sc = info.get("scipy_openblas") or {}
    lines = [
        f"fastnn {fastnn.__version__} ({Path(fastnn.__file__).parent})",
        f"python {platform.python_version()} ({platform.python_implementation()}, "
        f"{sys.platform} {platform.machine()})",
        f"numpy {np.__version__}, scipy {info.get('scipy_version') or _version_of('scipy')}",
        "optional: "
        + ", ".join(f"{m} {_version_of(m)}" for m in ("h5py", "tqdm", "matplotlib", "sklearn")),
    ]
    blas = "scipy's OpenBLAS"
    if info.get("openblas_version"):
        blas += f" {info['openblas_version']}"
    lines.append(f"BLAS: {blas} ({sc.get('path') or 'library not found'})")
    if sc.get("config"):
        lines.append(f"BLAS config: {sc['config']}")
    core = info.get("corename") or "unknown"
    lines.append(f"core type: {core}")
    why = dec.get("reason") or "unknown"
    requested = dec.get("requested")
    detail = []
    if requested:
        detail.append(f"requested {requested}")
        if info.get("corename_matches_request") is False:
            detail.append("NOT in effect")
    if dec.get("applied"):
        detail.append("OPENBLAS_CORETYPE set before scipy's OpenBLAS was loaded")
    lines.append(f"core type choice: {why}" + (f" ({'; '.join(detail)})" if detail else ""))
    for note in dec.get("notes") or []:
        lines.append(f"  note: {note}")
    npy = info.get("numpy_openblas")
    if npy:
        lines.append(
            f"numpy's own OpenBLAS (not used by fastnn's kernels): {npy.get('version') or '?'}, "
            f"core type {npy.get('corename') or '?'}"
        )

    def env(var: str) -> str:
        value = threads.get(var)
        return f"{var}={value}" if value is not None else f"{var} unset"

    lines.append(
        f"threads: OpenBLAS {threads.get('openblas_num_threads') or '?'}; "
        f"CPUs {threads.get('cpu_count') or '?'} ({threads.get('affinity') or '?'} usable); "
        f"{env('OPENBLAS_NUM_THREADS')}; {env('OMP_NUM_THREADS')}"
    )
    comp = compile_info()
    lines.append(f"kernels: {comp['path'] or 'not found'}")
    lines.append(f"compiler: {comp['compiler'] or 'unknown'}")
    lines.append(f"compile flags: {comp['flags']} ({comp['source']})")

    def yes(flag: Any) -> str:
        return "yes" if flag else "no"

    lines.append(f"CPU: {info.get('cpu_model') or 'unknown'} ({info.get('machine')})")
    lines.append(
        f"CPU features: avx2 {yes(info.get('cpu_has_avx2'))}, "
        f"avx512f {yes(info.get('cpu_has_avx512f'))}, "
        f"AVX-512 F/BW/VL/DQ {yes(info.get('cpu_has_avx512_skx'))}"
    )
    if info.get("machine") not in ("x86_64", "AMD64"):
        clone = "the one portable build"
    elif info.get("cpu_has_avx512_skx"):
        clone = "the x86-64-v4 (AVX-512) build"
    elif info.get("cpu_has_avx2"):
        clone = "the x86-64-v3 (AVX2, FMA) build"
    else:
        clone = "the baseline x86-64 build"
    from fastnn import _blas

    lines.append(
        f"own loops: elementwise passes in {clone} (gcc picks it at load on x86-64 Linux); "
        f"small products: {_blas._describe_small_gemm()}"
    )
    for err in info.get("errors") or []:
        lines.append(f"  warning: {err}")
    print("\n".join(lines))
    return EXIT_OK


# --------------------------------------------------------------------------- main


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_DATA


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help, --version
            return _exit_code(stop.code)
        if getattr(args, "func", None) is None:
            raise UsageError("a command is required: train, predict or info (see 'fastnn --help')")
        return args.func(args)
    except CLIError as err:
        print(f"fastnn: error: {_one_line(str(err))}", file=sys.stderr, flush=True)
        return err.code
    except KeyboardInterrupt:
        print("fastnn: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout was closed early (fastnn ... | head): exit quietly, as other tools do.
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_DATA
