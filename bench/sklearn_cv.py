"""fastnn's MLPClassifier against scikit-learn's, side by side in one run: 5-fold cross-validation
of ``make_pipeline(StandardScaler(), MLPClassifier(random_state=0))`` with the defaults, on
scikit-learn's digits (10 classes), wine (3) and iris (3).

    python bench/sklearn_cv.py              # 5 rounds
    python bench/sklearn_cv.py --rounds 1 --only iris,wine   # a quick look

Each round times ``cross_val_score(..., cv=5)`` once per estimator, the two interleaved; the
table has the minimum over the rounds and the mean accuracy (the same in every round: both are
deterministic for a fixed random_state). The targets (issue 12): fastnn's accuracy within 0.015
of scikit-learn's and fastnn at least 3x faster.
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

DATASETS = {"digits": datasets.load_digits, "wine": datasets.load_wine, "iris": datasets.load_iris}
ACCURACY_GAP, SPEEDUP = 0.015, 3.0


def cv(estimator, X, y) -> tuple[float, float]:
    """(mean accuracy, seconds) of one 5-fold cross-validation."""
    pipe = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        scores = cross_val_score(pipe, X, y, cv=5)
        return float(scores.mean()), time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default=",".join(DATASETS), help="datasets, comma-separated")
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
    for name in names:
        X, y = DATASETS[name](return_X_y=True)
        best = {"sklearn": np.inf, "fastnn": np.inf}
        acc = {}
        for _ in range(args.rounds):
            for who, est in (("sklearn", MLPClassifier), ("fastnn", fsk.MLPClassifier)):
                acc[who], seconds = cv(est(random_state=0), X, y)
                best[who] = min(best[who], seconds)
        speedup = best["sklearn"] / best["fastnn"]
        met = acc["fastnn"] >= acc["sklearn"] - ACCURACY_GAP and speedup >= SPEEDUP
        failed |= not met
        print(f"| {name} | {X.shape[0]} × {X.shape[1]}, {len(np.unique(y))} | "
              f"{acc['sklearn']:.4f} | {acc['fastnn']:.4f} | {best['sklearn']:.3f} | "
              f"{best['fastnn']:.3f} | {speedup:.2f}× | {'yes' if met else 'NO'} |")  # fmt: skip
    print(f"\nTargets: fastnn accuracy ≥ scikit-learn's − {ACCURACY_GAP}, fastnn ≥ {SPEEDUP:g}× "
          "faster (cross_val_score, cv=5, StandardScaler pipeline, defaults, random_state=0).")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
