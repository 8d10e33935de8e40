"""fastnn's MLPClassifier against scikit-learn's, side by side in one run: 5-fold cross-validation
of ``make_pipeline(StandardScaler(), MLPClassifier(random_state=0))`` with the defaults, on
scikit-learn's digits (10 classes), wine (3) and iris (3).

    python bench/sklearn_cv.py              # 5 rounds
    python bench/sklearn_cv.py --rounds 1 --only iris,wine   # a quick look
    python bench/sklearn_cv.py --fit        # one fit on all of the (standardized) data instead
                                            # (and per epoch, against the GEMM-only floor)

Each round times ``cross_val_score(..., cv=5)`` once per estimator, the two interleaved, each
after a 0.15 s pause (numpy's and scipy's OpenBLAS threads spin for a while after work); the
table has the minimum over the rounds and the mean accuracy (the same in every round: both are
deterministic for a fixed random_state). The targets: fastnn's accuracy within 0.015 of
scikit-learn's and fastnn at least 3x faster (issue 12); with --fit, one fit on all of the
standardized data (breast_cancer too: --only digits,breast_cancer), at least 10x (issue 13).
With --fit a second table divides each fit by its epochs and sets it beside the floor: the
GEMMs of one epoch's batches of 200 (``peers.FloorImpl``: scipy's BLAS on preallocated arrays,
the five products of a step, nothing else), so that "sklearn ÷ floor" is the speed-up a fastnn
running at the GEMM floor would reach.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
import warnings

import numpy as np

import fastnn.sklearn as fsk  # fastnn first: it picks the OpenBLAS core before numpy's BLAS loads

try:
    from sklearn import datasets
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
except ImportError:  # pragma: no cover
    sys.exit("bench/sklearn_cv.py needs scikit-learn: pip install scikit-learn")

DATASETS = {
    "digits": datasets.load_digits,
    "wine": datasets.load_wine,
    "iris": datasets.load_iris,
    "breast_cancer": datasets.load_breast_cancer,
}
ACCURACY_GAP, SPEEDUP, FIT_SPEEDUP = 0.015, 3.0, 10.0  # issue 12's CV target, issue 13's fit
SETTLE_SECONDS = 0.15  # as bench/report.py: a pause before each timing


def cv(estimator, X, y) -> tuple[float, float]:
    """(mean accuracy, seconds) of one 5-fold cross-validation."""
    pipe = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        scores = cross_val_score(pipe, X, y, cv=5)
        return float(scores.mean()), time.perf_counter() - start


def fit_once(estimator, X, y) -> tuple[float, float]:
    """(training accuracy, seconds) of one fit on the standardized X."""
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - start
    return float(estimator.score(X, y)), seconds


def floor_epoch_seconds(n_features: int, n_outputs: int, n: int, rounds: int) -> float:
    """The GEMM-only time of one epoch of the default MLP (one hidden layer of 100, batches of
    200): ceil(n/200) steps of peers.FloorImpl at m = 200, best of ``rounds`` (the last, smaller
    batch counted as a full one)."""
    import peers

    w = peers.Workload("floor", (n_features, 100, n_outputs), "relu", "float64", 200, 0.001,
                       "he", "randn")  # fmt: skip
    floor = peers.FloorImpl(w)
    steps = -(-n // 200)
    best = np.inf
    for _ in range(max(rounds, 3)):
        time.sleep(SETTLE_SECONDS)
        start = time.perf_counter()
        for _ in range(20 * steps):
            floor.step()
        best = min(best, (time.perf_counter() - start) / 20)
    return best


def per_epoch_table(rows, rounds: int) -> None:
    """Each fit per epoch (its n_iter_), beside the GEMM-only floor of an epoch."""
    print("\n| dataset | epochs | sklearn ms/epoch | fastnn ms/epoch | GEMM floor ms/epoch "
          "| fastnn ÷ floor | sklearn ÷ floor |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, X, y, best, n_iter in rows:
        n_out = 1 if len(np.unique(y)) == 2 else len(np.unique(y))
        floor = floor_epoch_seconds(X.shape[1], n_out, X.shape[0], rounds) * 1e3
        sk = best["sklearn"] / n_iter["sklearn"] * 1e3
        ours = best["fastnn"] / n_iter["fastnn"] * 1e3
        print(f"| {name} | {n_iter['fastnn']} | {sk:.3f} | {ours:.3f} | {floor:.3f} | "
              f"{ours / floor:.2f}× | {sk / floor:.2f}× |")  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="digits,wine,iris", help="datasets, comma-separated")
    p.add_argument("--fit", action="store_true", help="time one fit instead of 5-fold CV")
    args = p.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - DATASETS.keys())
    if unknown:
        p.error(f"unknown datasets {unknown}; choose from {', '.join(DATASETS)}")
    import sklearn

    print(f"# bench/sklearn_cv.py, {datetime.datetime.now():%Y-%m-%d %H:%M}, "
          f"{platform.processor() or platform.machine()}, scikit-learn {sklearn.__version__}, "
          f"{args.rounds} rounds (min)\n")  # fmt: skip
    print("| dataset | n × features, classes | sklearn acc | fastnn acc | sklearn s | fastnn s "
          "| speed-up | targets met |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    target = FIT_SPEEDUP if args.fit else SPEEDUP
    epochs_rows = []
    for name in names:
        X, y = DATASETS[name](return_X_y=True)
        best = {"sklearn": np.inf, "fastnn": np.inf}
        acc, n_iter = {}, {}
        for _ in range(args.rounds):
            for who, Est in (("sklearn", MLPClassifier), ("fastnn", fsk.MLPClassifier)):
                time.sleep(SETTLE_SECONDS)  # the other's idle OpenBLAS threads spin a while
                run = fit_once if args.fit else cv
                est = Est(random_state=0)
                acc[who], seconds = run(est, X, y)
                best[who] = min(best[who], seconds)
                n_iter[who] = getattr(est, "n_iter_", None)
        if args.fit:
            epochs_rows.append((name, X, y, best, n_iter))
        speedup = best["sklearn"] / best["fastnn"]
        met = acc["fastnn"] >= acc["sklearn"] - ACCURACY_GAP and speedup >= target
        failed |= not met
        print(f"| {name} | {X.shape[0]} × {X.shape[1]}, {len(np.unique(y))} | "
              f"{acc['sklearn']:.4f} | {acc['fastnn']:.4f} | {best['sklearn']:.3f} | "
              f"{best['fastnn']:.3f} | {speedup:.2f}× | {'yes' if met else 'NO'} |")  # fmt: skip
    if epochs_rows:
        per_epoch_table(epochs_rows, args.rounds)
    how = ("one fit on the standardized data, training accuracy" if args.fit else
           "cross_val_score, cv=5, StandardScaler pipeline")  # fmt: skip
    print(f"\nTargets: fastnn accuracy ≥ scikit-learn's − {ACCURACY_GAP}, fastnn ≥ {target:g}× "
          f"faster ({how}, defaults, random_state=0).")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
