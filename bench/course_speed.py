"""The course's own numbers, side by side: fastnn vs the course's numpy code, full runs.

    python bench/course_speed.py

cat: fastnn.functional.L_layer_model vs the course's L_layer_model (tests/course.py, written out
literally), [12288, 20, 7, 5, 1], 2500 iterations; planar: Model.fit vs fastnn.reference.train,
[2, 4, 1] tanh, 10 000 iterations; the second course's Optimization notebook:
fastnn.course2.optimization.model vs its numpy loop (tests/course2.py) on the moons, [2, 5, 2, 1],
5000 epochs of batches of 64, for each optimizer (needs scikit-learn for the moons). The cat line
needs the cat data ($FASTNN_DATASETS or ../shared/datasets) and is skipped without it.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import course  # noqa: E402
import course2  # noqa: E402

from fastnn import Model, reference  # noqa: E402
from fastnn import functional as F  # noqa: E402
from fastnn._spec import TrainSpec, TrainState  # noqa: E402
from fastnn.datasets import load_catvnoncat, make_planar  # noqa: E402


def timed(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def optimization() -> None:
    import matplotlib

    matplotlib.use("Agg")  # the notebook's model plots its costs

    from fastnn.course2 import optimization as opt

    X, Y = opt.load_dataset()
    timed(opt.model, X, Y, [2, 5, 2, 1], "gd", num_epochs=1)  # warm-up: the first plot's setup
    for optimizer in ("gd", "momentum", "adam"):
        t_fast, _ = timed(opt.model, X, Y, [2, 5, 2, 1], optimizer)
        t_course, _ = timed(course2.model, X, Y, [2, 5, 2, 1], optimizer)
        print(
            f"Optimization notebook model, {optimizer}, 5000 epochs: fastnn {t_fast:.3f} s, "
            f"numpy loop {t_course:.2f} s: {t_course / t_fast:.1f}x"
        )


def main() -> None:
    optimization()
    data = Path(os.environ.get("FASTNN_DATASETS", ROOT.parent / "shared" / "datasets"))
    if not (data / "catvnoncat").exists():
        print(f"cat: skipped, no {data / 'catvnoncat'}")
        return
    X, Y, *_ = load_catvnoncat(data / "catvnoncat")
    n = 2500
    t_fast, (_, c_fast) = timed(F.L_layer_model, X, Y, [12288, 20, 7, 5, 1], num_iterations=n)
    t_course, (_, c_course) = timed(
        course.L_layer_model, X, Y, [12288, 20, 7, 5, 1], num_iterations=n
    )
    print(
        f"cat L_layer_model, {n} iterations: fastnn {t_fast:.3f} s ({t_fast / n * 1e3:.3f} ms/it), "
        f"course numpy {t_course:.2f} s ({t_course / n * 1e3:.2f} ms/it): {t_course / t_fast:.1f}x; "
        f"last recorded cost {float(c_fast[-1]):.6f} vs {float(c_course[-1]):.6f}"
    )
    Xp, Yp = make_planar()
    n = 10000
    model = Model([2, 4, 1], hidden_activation="tanh", init="small")
    state = TrainState.from_arrays(model._state.W, model._state.b)
    spec = TrainSpec(("tanh",), "sigmoid", 0.01, 1.2, n)
    t_fast, _ = timed(model.fit, Xp, Yp, 1.2, n)
    t_ref, _ = timed(reference.train, spec, Xp, Yp, state)
    print(
        f"planar [2,4,1] tanh, {n} iterations: Model.fit {t_fast:.3f} s ({t_fast / n * 1e6:.2f} us/it), "
        f"numpy reference {t_ref:.2f} s ({t_ref / n * 1e6:.1f} us/it): {t_ref / t_fast:.1f}x"
    )


if __name__ == "__main__":
    main()
