"""fastnn.course2.gradient_checking on the course's test-case inputs (np.random.seed(1) and the
shapes of its public gradient_check_n_test_case), against this file's own transcription of the
course's formulas, fastnn.functional's kernels and the course's published numbers."""

import numpy as np
import pytest

from fastnn import functional as F
from fastnn.course2 import gradient_checking as gc


def _test_case():
    """The course's gradient_check_n_test_case: seed 1, X (4, 3), Y = [1, 1, 0] and the 3-layer
    net's parameters drawn in the order W1, b1, W2, b2, W3, b3."""
    np.random.seed(1)
    X = np.random.randn(4, 3)
    Y = np.array([1, 1, 0])
    shapes = {"W1": (5, 4), "b1": (5, 1), "W2": (3, 5), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1)}
    return X, Y, {key: np.random.randn(*shape) for key, shape in shapes.items()}


def _cost(X, Y, p):
    """The course's cost of the 3-layer net, transcribed independently of the module."""
    A = X
    for l in (1, 2):
        A = np.maximum(0, np.dot(p[f"W{l}"], A) + p[f"b{l}"])
    A3 = 1 / (1 + np.exp(-(np.dot(p["W3"], A) + p["b3"])))
    return (
        1.0 / X.shape[1] * np.sum(np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y))
    )


def _difference(X, Y, p, grads, epsilon=1e-7):
    """The course's check with each parameter entry perturbed in place (no vector round trip)."""
    grad, approx = [], []
    for key in ("W1", "b1", "W2", "b2", "W3", "b3"):
        for index in np.ndindex(p[key].shape):
            q = {k: v.copy() for k, v in p.items()}
            q[key][index] = p[key][index] + epsilon
            J_plus = _cost(X, Y, q)
            q[key][index] = p[key][index] - epsilon
            J_minus = _cost(X, Y, q)
            approx.append((J_plus - J_minus) / (2 * epsilon))
            grad.append(grads["d" + key][index])
    grad, approx = np.array(grad), np.array(approx)
    return np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))


def test_one_dimensional_check(capsys):
    assert gc.forward_propagation(2, 4) == 8 and gc.backward_propagation(2, 4) == 2
    for x, theta in ((2, 4), (3.0, -1.5)):
        approx = (x * (theta + 1e-7) - x * (theta - 1e-7)) / 2e-7
        want = abs(x - approx) / (abs(x) + abs(approx))
        assert gc.gradient_check(x, theta) == want < 2e-7
    assert capsys.readouterr().out == ""
    difference = gc.gradient_check(2, 4, print_msg=True)
    assert capsys.readouterr().out == (
        f"\033[92mYour backward propagation works perfectly fine! difference = {difference}\033[0m\n"
    )


def test_forward_and_backward_n_are_the_courses_and_the_kernels():
    X, Y, p = _test_case()
    cost, cache = gc.forward_propagation_n(X, Y, p)
    assert cost == _cost(X, Y, p)
    assert len(cache) == 12 and cache[2] is p["W1"] and cache[10] is p["W3"]
    AL, caches = F.L_model_forward(X, p)  # fastnn's kernels: relu, relu, sigmoid
    np.testing.assert_allclose(cache[9], AL, rtol=1e-14)
    assert cost == pytest.approx(float(F.compute_cost(AL, Y.reshape(1, -1))), rel=1e-13)
    grads = gc.backward_propagation_n(X, Y, cache)
    assert list(grads) == "dZ3 dW3 db3 dA2 dZ2 dW2 db2 dA1 dZ1 dW1 db1".split()
    want = F.L_model_backward(AL, Y.reshape(1, -1), caches)
    for key in ("dW1", "db1", "dW2", "db2", "dW3", "db3", "dA1", "dA2"):
        np.testing.assert_allclose(grads[key], want[key], rtol=1e-12, atol=1e-15, err_msg=key)


def test_gradient_check_n_prints_the_courses_numbers(capsys):
    X, Y, p = _test_case()
    _, cache = gc.forward_propagation_n(X, Y, p)
    grads = gc.backward_propagation_n(X, Y, cache)
    difference = gc.gradient_check_n(p, grads, X, Y, 1e-7, True)
    assert difference == _difference(X, Y, p, grads)  # the same bits
    assert difference == pytest.approx(1.1890913e-07, rel=1e-6)  # the course's published value
    assert isinstance(difference, np.float64)
    assert capsys.readouterr().out == (
        f"\033[92mYour backward propagation works perfectly fine! difference = {difference}\033[0m\n"
    )
    # the notebook's planted mistakes (dW2 doubled, db1 with 4/m): its published 0.2850931567761624
    wrong = dict(grads, dW2=grads["dW2"] * 2, db1=grads["db1"] * 4)
    difference = gc.gradient_check_n(p, wrong, X, Y, print_msg=True)
    assert difference == pytest.approx(0.2850931567761624, rel=1e-9)
    assert "There is a mistake in the backward propagation! difference = 0.28509315" in (
        capsys.readouterr().out
    )


def test_vectors_and_dictionaries_in_the_courses_order():
    _, _, p = _test_case()
    theta, keys = gc.dictionary_to_vector(p)
    assert theta.shape == (47, 1)
    assert keys == ["W1"] * 20 + ["b1"] * 5 + ["W2"] * 15 + ["b2"] * 3 + ["W3"] * 3 + ["b3"]
    np.testing.assert_array_equal(theta[:20, 0], p["W1"].ravel())
    back = gc.vector_to_dictionary(theta)
    assert list(back) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for key in p:
        np.testing.assert_array_equal(back[key], p[key])
    grads = {"d" + k: v * 2 for k, v in p.items()}
    np.testing.assert_array_equal(gc.gradients_to_vector(grads), theta * 2)
    other = gc.vector_to_dictionary(np.arange(2 * 3 + 3 + 3 + 1.0), [2, 3, 1])
    assert other["W1"].shape == (3, 2) and other["b2"].shape == (1, 1)
    with pytest.raises(
        ValueError, match=r"theta has 46 entries; layer_dims \[4, 5, 3, 1\] need 47"
    ):
        gc.vector_to_dictionary(theta[:46])
    with pytest.raises(ValueError, match="expected keys W1, b1"):
        gc.dictionary_to_vector({"weights": theta})


def test_star_import_gives_the_notebooks_names():
    namespace = {}
    exec("from fastnn.course2.gradient_checking import *", namespace)
    for name in ("sigmoid", "relu", "dictionary_to_vector", "vector_to_dictionary",
                 "gradients_to_vector", "forward_propagation", "backward_propagation",
                 "gradient_check", "forward_propagation_n", "backward_propagation_n",
                 "gradient_check_n"):  # fmt: skip
        assert callable(namespace[name]), name
    np.testing.assert_array_equal(namespace["relu"](np.array([-1.0, 2.0])), [0.0, 2.0])
    assert namespace["sigmoid"](0.0) == 0.5
