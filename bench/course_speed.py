"""The course's own numbers, side by side: fastnn vs the course's numpy code, full runs.

    python bench/course_speed.py

cat: fastnn.functional.L_layer_model vs the course's L_layer_model (tests/course.py, written out
literally), [12288, 20, 7, 5, 1], 2500 iterations; planar: Model.fit vs fastnn.reference.train,
[2, 4, 1] tanh, 10 000 iterations. Needs the cat data ($FASTNN_DATASETS or ../shared/datasets).
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

from fastnn import Model, reference  # noqa: E402
from fastnn import functional as F  # noqa: E402
from fastnn._spec import TrainSpec, TrainState  # noqa: E402
from fastnn.datasets import load_catvnoncat, make_planar  # noqa: E402


def timed(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    data = Path(os.environ.get("FASTNN_DATASETS", ROOT.parent / "shared" / "datasets"))
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
