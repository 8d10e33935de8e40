"""fastnn.course2.regularization: the exercises on the course's test cases (their seeds and
shapes, and the published values they print), against tests/course2.py's transcription, and the
notebook's model: L2 in the compiled engine, dropout in the notebook's own loop."""

import contextlib
import io

import course2
import numpy as np
import pytest

from fastnn.course2 import regularization as reg
from fastnn.datasets import make_planar

pytestmark = pytest.mark.usefixtures("agg_plots")


def _case(m, seed=1, shapes=((2, 3), (3, 2), (1, 3))):
    """The course's test cases: np.random.seed(1), X (3, m), then W1, b1, W2, b2, W3, b3."""
    np.random.seed(seed)
    X = np.random.randn(3, m)
    p = {}
    for l, (n, k) in enumerate(shapes, start=1):
        p[f"W{l}"], p[f"b{l}"] = np.random.randn(n, k), np.random.randn(n, 1)
    return X, p


def test_cost_with_regularization_prints_the_courses_value():
    np.random.seed(1)
    Y = np.array([[1, 1, 0, 1, 0]])
    p = {}
    for l, (n, k) in enumerate(((2, 3), (3, 2), (1, 3)), start=1):
        p[f"W{l}"], p[f"b{l}"] = np.random.randn(n, k), np.random.randn(n, 1)
    a3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    cost = reg.compute_cost_with_regularization(a3, Y, p, lambd=0.1)
    assert cost == course2.compute_cost_with_regularization(a3, Y, p, 0.1)
    assert cost == pytest.approx(1.78648594516, rel=1e-10)  # the notebook's expected output


def test_backward_with_regularization_is_the_transcriptions():
    X, p = _case(5)
    Y = np.array([[1, 1, 0, 1, 0]])
    a3, cache = reg.forward_propagation(X, p)
    AL, caches = course2.forward_propagation(X, p)
    np.testing.assert_array_equal(a3, AL)
    for lambd in (0.0, 0.7):
        got = reg.backward_propagation_with_regularization(X, Y, cache, lambd)
        want = course2.backward_propagation_with_regularization(X, Y, caches, lambd)
        assert list(got) == "dZ3 dW3 db3 dA2 dZ2 dW2 db2 dA1 dZ1 dW1 db1".split()
        for key in ("dW1", "db1", "dW2", "db2", "dW3", "db3", "dA1", "dA2"):
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_dropout_forward_and_backward_are_the_courses():
    X, p = _case(5)
    A3, cache = reg.forward_propagation_with_dropout(X, p, keep_prob=0.7)
    published = [[0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721]]
    np.testing.assert_allclose(A3, published, atol=5e-9)  # the notebook's expected output
    assert len(cache) == 14 and set(np.unique(cache[1])) <= {0, 1} and cache[6].shape == (3, 5)
    AL, caches, masks = course2.forward_propagation_with_dropout(X, p, keep_prob=0.7)
    np.testing.assert_array_equal(A3, AL)
    np.testing.assert_array_equal(cache[1], masks[0])
    np.testing.assert_array_equal(cache[6], masks[1])
    again, _ = reg.forward_propagation_with_dropout(X, p, keep_prob=0.7)
    np.testing.assert_array_equal(again, A3)  # reseeded at every call, as the course
    Y = np.array([[1, 1, 0, 1, 0]])
    got = reg.backward_propagation_with_dropout(X, Y, cache, 0.8)
    want = course2.backward_propagation_with_regularization(X, Y, caches, 0, masks, 0.8)
    for key in ("dW1", "db1", "dW2", "db2", "dW3", "db3", "dA1", "dA2"):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_reg_utils_init_and_cost():
    p = reg.initialize_parameters([2, 20, 3, 1])
    np.random.seed(3)
    np.testing.assert_array_equal(p["W1"], np.random.randn(20, 2) / np.sqrt(2))
    np.testing.assert_array_equal(p["W2"], np.random.randn(3, 20) / np.sqrt(20))
    a3, Y = np.array([[0.2, 0.9]]), np.array([[0, 1]])
    assert reg.compute_cost(a3, Y) == course2.compute_cost_mean(a3, Y)


@pytest.fixture(scope="module")
def planar():
    X, Y = make_planar()
    return X, Y


def _printed(fn, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), np.errstate(divide="ignore", invalid="ignore"):
        result = fn(*args, **kwargs)
    return result, out.getvalue().splitlines()


@pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive")
@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_the_l2_model_trains_compiled_as_the_notebooks_loop(planar, lambd):
    X, Y = planar
    got, lines = _printed(reg.model, X, Y, num_iterations=10001, lambd=lambd)
    (want, _, _), want_lines = _printed(
        course2.regularization_model, X, Y, num_iterations=10001, lambd=lambd, print_cost=True
    )
    assert [line.split(": ")[0] for line in lines] == [line.split(": ")[0] for line in want_lines]
    assert len(lines) == 2  # iterations 0 and 10000
    for line, want_line in zip(lines, want_lines, strict=True):
        assert float(line.split(": ")[1]) == pytest.approx(
            float(want_line.split(": ")[1]), rel=1e-9
        )
    for key in want:  # 10 000 steps at α = 0.3: the two loops' rounding drifts to ~1e-7
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-8, err_msg=key)


@pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive")
def test_the_dropout_model_is_the_notebooks_loop(planar):
    X, Y = planar
    got, lines = _printed(reg.model, X, Y, num_iterations=10001, keep_prob=0.86)
    want, want_lines = _printed(course2.dropout_model, X, Y, 0.86, num_iterations=10001)
    assert lines == want_lines and len(lines) == 2
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def test_model_arguments_are_checked(planar):
    X, Y = planar
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\]; got 0"):
        reg.model(X, Y, keep_prob=0)
    with pytest.raises(ValueError, match="one at a time; got lambd=0.7 and keep_prob=0.5"):
        reg.model(X, Y, lambd=0.7, keep_prob=0.5)
    with pytest.raises(FileNotFoundError, match="no file at 'nowhere.mat'"):
        reg.load_2D_dataset("nowhere.mat")
