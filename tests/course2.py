"""Our own numpy transcription of the formulas of deeplearning.ai's second course, *Improving Deep
Neural Networks* (week 1: the L2 part of the Regularization notebook; week 2: the Optimization
notebook), written in the course's notation and order of operations so that results agree with
the course's code to rounding. It is the oracle for fastnn's engine tests, not part of the package
(tests/course.py plays the same part for course 1).

The course hard-codes a 3-layer net [n_x, n1, n2, 1]; here every function takes any L-layer net
with relu hidden layers and a sigmoid output, and reduces exactly to the course's formulas for
three layers. Parameters are the course's dictionaries "W1", "b1", ..., "WL", "bL".

Quirks confirmed from the public course materials (opt_utils_v1a.py as in
nguyenlinhvn512/Optimization-Methods and camilogutierrez/MachineLearning; reg_utils.py as in
camilogutierrez/MachineLearning; Optimization_methods.ipynb v1.2, e.g. in
CinkerZX/ImprovingDeepNeuralNetworks; Regularization.ipynb v1.1, same repository; the notebooks'
public_tests.py and testCases.py):

- opt_utils' compute_cost returns the SUM of the losses over the batch (from probabilities:
  -log(a)*y + -log(1-a)*(1-y), then np.sum), not the mean; the model divides the epoch's total by
  the full training-set size m once per epoch (opt_utils_v1a.py; notebook, model cell).
- opt_utils' backward_propagation applies 1/m once, first: dZ_L = 1/m (A_L - Y); then
  dW_l = dZ_l A_{l-1}^T and db_l = sum(dZ_l) with no further 1/m; dA_{l-1} = W_l^T dZ_l and the
  relu derivative is read off the activation: dZ_{l-1} = dA_{l-1} * int64(A_{l-1} > 0)
  (opt_utils_v1a.py).
- reg_utils (Regularization notebook) orders it the other way: dZ_L = A_L - Y,
  dW_l = 1/m dZ_l A_{l-1}^T, db_l = 1/m sum(dZ_l); its compute_cost is the MEAN taken with
  np.nansum, so a nan loss term (0 * log 0 at a saturated output) is dropped rather than
  propagated (reg_utils.py).
- L2 (Regularization notebook, exercises 1-2): cost = cross-entropy mean + (1/m)(lambd/2) sum_l
  sum(W_l^2) (formula (2): "sum the three terms and multiply by 1/m lambda/2");
  dW_l += (lambd/m) W_l, biases are not penalised; the notebook's model uses the L2 cost and
  gradient only when lambd != 0, and dropout only when keep_prob < 1 (not transcribed here).
- Initialisation: opt_utils' initialize_parameters is He, np.random.seed(3) then
  W_l = randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1}); reg_utils' is np.random.seed(3) then
  W_l = randn(n_l, n_{l-1}) / sqrt(n_{l-1}); b_l = 0 in both, so only the W's draw from the
  generator, in layer order (both utils files).
- random_mini_batches: np.random.seed(seed), one np.random.permutation(m) applied to the columns
  of X and Y, floor(m / mini_batch_size) full batches in order, then the remainder (if any) as a
  last, smaller batch (notebook exercise 2; its test with m = 148, nx = 12288 expects the first
  batch's X[0, :3] = [294912, 86016, 454656]).
- model: parameters are initialised once (seed 3) before the loop; seed starts at 10 and is
  incremented BEFORE each epoch's shuffle, so epoch i shuffles with seed 11 + i; Adam's t starts
  at 0 and is incremented before each Adam step (first step t = 1) and keeps counting across
  epochs; cost_avg = sum over batches of the summed loss, divided by m (notebook, model cell).
- Costs are appended at i % 100 == 0 and printed at i % 1000 == 0 ("Cost after epoch %i: %f"),
  but the course appends only when print_cost is True; ours always records them (recording does
  not touch the trajectory). Likewise the Regularization model appends at i % 1000 == 0 (only
  when print_cost) and prints at i % 10000 == 0 (notebooks, model cells).
- Learning-rate decay: after the epoch's updates and cost, learning_rate = decay(learning_rate0,
  i, decay_rate) with i the epoch just finished, so epochs 0 and 1 both run at learning_rate0 and
  epoch i + 1 runs at decay(learning_rate0, i, decay_rate); decay is called with three arguments,
  so schedule_lr_decay always runs with its default time_interval = 1000; the printed "learning
  rate after epoch i" is the already-updated rate (notebook, second model cell).
- update_lr: alpha = 1 / (1 + decay_rate * epoch_num) * alpha0 and schedule_lr_decay:
  alpha = 1 / (1 + decay_rate * floor(epoch_num / time_interval)) * alpha0 with np.floor, as the
  notebook writes the formulas (7.1, 7.2); the graded solution is hidden and public_tests accept
  either grouping (np.isclose), e.g. update_lr(0.5, 2, 1) = 0.16666666666666666 and
  schedule_lr_decay(0.5, 100, 0.3, 100) = 0.3846153846153846.
- Momentum: v = beta v + (1 - beta) dW, W = W - alpha v. Adam: v = beta1 v + (1 - beta1) dW,
  v_corrected = v / (1 - beta1^t), s = beta2 s + (1 - beta2) dW^2, s_corrected = s / (1 - beta2^t),
  W = W - alpha v_corrected / (sqrt(s_corrected) + epsilon), epsilon outside the square root;
  update_parameters_with_adam returns (parameters, v, s, v_corrected, s_corrected) (notebook
  exercises 4 and 6 and their public tests). The grouping of alpha * v_corrected / (...) is left
  to the student; ours is left to right.
- load_dataset (moons): np.random.seed(3), then sklearn.datasets.make_moons(n_samples=300,
  noise=.2) (which draws from numpy's global generator), X transposed to (2, 300), Y reshaped to
  (1, 300) (opt_utils_v1a.py). predict thresholds at a > 0.5 and reports np.mean(p == y).
- The train accuracies 0.797 (gd), 0.797 (momentum), 0.94 (adam) often quoted for these
  experiments come from the older v1b notebook, which ran num_epochs = 10000; the current v1.2
  notebook runs 5000 epochs (gd: 0.7167, its summary table says "> 71%" for gd and momentum and
  "> 94%" for adam).
"""

import math

import numpy as np


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def relu(Z):
    return np.maximum(0, Z)


# --- initialisation ------------------------------------------------------------------------


def initialize_parameters_he(layers_dims, seed=3):
    """opt_utils' initialize_parameters: He, W_l = randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1})."""
    np.random.seed(seed)
    parameters = {}
    for l in range(1, len(layers_dims)):
        n_l, n_prev = layers_dims[l], layers_dims[l - 1]
        parameters["W" + str(l)] = np.random.randn(n_l, n_prev) * np.sqrt(2 / n_prev)
        parameters["b" + str(l)] = np.zeros((n_l, 1))
    return parameters


def initialize_parameters_course(layers_dims, seed=3):
    """reg_utils' initialize_parameters: W_l = randn(n_l, n_{l-1}) / sqrt(n_{l-1})."""
    np.random.seed(seed)
    parameters = {}
    for l in range(1, len(layers_dims)):
        n_l, n_prev = layers_dims[l], layers_dims[l - 1]
        parameters["W" + str(l)] = np.random.randn(n_l, n_prev) / np.sqrt(n_prev)
        parameters["b" + str(l)] = np.zeros((n_l, 1))
    return parameters


# --- mini-batches --------------------------------------------------------------------------


def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The course's shuffle-and-partition: a list of (mini_batch_X, mini_batch_Y)."""
    np.random.seed(seed)
    m = X.shape[1]
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((Y.shape[0], m))
    mini_batches = []
    num_complete = math.floor(m / mini_batch_size)
    for k in range(num_complete):
        start, stop = k * mini_batch_size, (k + 1) * mini_batch_size
        mini_batches.append((shuffled_X[:, start:stop], shuffled_Y[:, start:stop]))
    if m % mini_batch_size != 0:
        start = num_complete * mini_batch_size
        mini_batches.append((shuffled_X[:, start:], shuffled_Y[:, start:]))
    return mini_batches


# --- forward, costs, backward --------------------------------------------------------------


def forward_propagation(X, parameters):
    """LINEAR -> RELU (x L-1) -> LINEAR -> SIGMOID, Z_l = W_l . A_{l-1} + b_l.

    Returns (AL, caches) with caches[l - 1] = (A_prev, W, b, Z, A) for layer l."""
    L = len(parameters) // 2
    caches = []
    A_prev = X
    for l in range(1, L + 1):
        W = parameters["W" + str(l)]
        b = parameters["b" + str(l)]
        Z = np.dot(W, A_prev) + b
        A = relu(Z) if l < L else sigmoid(Z)
        caches.append((A_prev, W, b, Z, A))
        A_prev = A
    return A_prev, caches


def compute_cost(AL, Y):
    """opt_utils: the cross-entropy SUMMED over the batch (no 1/m)."""
    losses = -np.log(AL) * Y + -np.log(1 - AL) * (1 - Y)
    return np.sum(losses)


def compute_cost_mean(AL, Y):
    """reg_utils: the cross-entropy mean, 1/m * nansum(losses)."""
    m = Y.shape[1]
    losses = -np.log(AL) * Y + -np.log(1 - AL) * (1 - Y)
    return 1.0 / m * np.nansum(losses)


def sum_of_squared_weights(parameters):
    """sum(W1^2) + sum(W2^2) + ... + sum(WL^2), added left to right (biases excluded)."""
    L = len(parameters) // 2
    total = np.sum(np.square(parameters["W1"]))
    for l in range(2, L + 1):
        total = total + np.sum(np.square(parameters["W" + str(l)]))
    return total


def compute_cost_with_regularization(AL, Y, parameters, lambd):
    """Regularization notebook, formula (2): cross-entropy mean + (1/m)(lambd/2) sum_l sum(W_l^2)."""
    m = Y.shape[1]
    cross_entropy_cost = compute_cost_mean(AL, Y)
    L2_regularization_cost = (1 / m) * (lambd / 2) * sum_of_squared_weights(parameters)
    return cross_entropy_cost + L2_regularization_cost


def backward_propagation(X, Y, caches, lambd=0.0):
    """opt_utils' order: dZ_L = 1/m (A_L - Y), dW_l = dZ_l . A_{l-1}^T, db_l = sum(dZ_l).

    lambd is our extension for the L2 runs of model(): when non-zero, dW_l += (lambd/m) W_l after
    the product (m = this batch's size); with lambd = 0 this is opt_utils' function exactly."""
    m = X.shape[1]
    L = len(caches)
    grads = {}
    dZ = 1.0 / m * (caches[-1][4] - Y)
    for l in range(L, 0, -1):
        A_prev, W, _, _, _ = caches[l - 1]
        grads["dZ" + str(l)] = dZ
        dW = np.dot(dZ, A_prev.T)
        if lambd:
            dW = dW + lambd / m * W
        grads["dW" + str(l)] = dW
        grads["db" + str(l)] = np.sum(dZ, axis=1, keepdims=True)
        if l > 1:
            dA_prev = np.dot(W.T, dZ)
            grads["dA" + str(l - 1)] = dA_prev
            dZ = dA_prev * np.int64(A_prev > 0)
    return grads


def backward_propagation_with_regularization(X, Y, caches, lambd, masks=None, keep_prob=1.0):
    """Regularization notebook / reg_utils order: dZ_L = A_L - Y, dW_l = 1/m dZ_l . A_{l-1}^T
    (+ (lambd/m) W_l when lambd != 0), db_l = 1/m sum(dZ_l); biases are not penalised. With
    dropout ``masks`` (exercise 4), each dA_l is multiplied by D_l and divided by keep_prob
    before the ReLU's derivative.

    With lambd = 0 and no masks this is reg_utils' backward_propagation exactly."""
    m = X.shape[1]
    L = len(caches)
    grads = {}
    dZ = caches[-1][4] - Y
    for l in range(L, 0, -1):
        A_prev, W, _, _, _ = caches[l - 1]
        grads["dZ" + str(l)] = dZ
        dW = 1.0 / m * np.dot(dZ, A_prev.T)
        if lambd:
            dW = dW + lambd / m * W
        grads["dW" + str(l)] = dW
        grads["db" + str(l)] = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)
        if l > 1:
            dA_prev = np.dot(W.T, dZ)
            if masks is not None:
                dA_prev = dA_prev * masks[l - 2]
                dA_prev = dA_prev / keep_prob
            grads["dA" + str(l - 1)] = dA_prev
            dZ = dA_prev * np.int64(A_prev > 0)
    return grads


def predict(X, parameters):
    """0/1 predictions, thresholding the sigmoid output at a > 0.5."""
    AL, _ = forward_propagation(X, parameters)
    return (AL > 0.5).astype(int)


def accuracy(X, Y, parameters):
    """The course's reported accuracy: np.mean(p == y)."""
    p = predict(X, parameters)
    return float(np.mean(p[0, :] == Y[0, :]))


# --- optimisers ----------------------------------------------------------------------------


def update_parameters_with_gd(parameters, grads, learning_rate):
    """W_l = W_l - alpha dW_l, b_l = b_l - alpha db_l (rebinding the dictionary's entries)."""
    L = len(parameters) // 2
    for l in range(1, L + 1):
        for p in ("W", "b"):
            key = p + str(l)
            parameters[key] = parameters[key] - learning_rate * grads["d" + key]
    return parameters


def initialize_velocity(parameters):
    """v["dW1"], v["db1"], ...: zeros shaped like the parameters."""
    L = len(parameters) // 2
    v = {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            v["d" + p + str(l)] = np.zeros(parameters[p + str(l)].shape)
    return v


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    """v = beta v + (1 - beta) dW, then W = W - alpha v (and the same for b)."""
    L = len(parameters) // 2
    for l in range(1, L + 1):
        for p in ("W", "b"):
            key = p + str(l)
            v["d" + key] = beta * v["d" + key] + (1 - beta) * grads["d" + key]
            parameters[key] = parameters[key] - learning_rate * v["d" + key]
    return parameters, v


def initialize_adam(parameters):
    """v and s: zeros shaped like the parameters, keyed like the gradients."""
    return initialize_velocity(parameters), initialize_velocity(parameters)


def update_parameters_with_adam(
    parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8
):
    """One Adam step at step count t (the course's first step has t = 1).

    Returns (parameters, v, s, v_corrected, s_corrected) as the course does."""
    L = len(parameters) // 2
    v_corrected = {}
    s_corrected = {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            key = p + str(l)
            g = grads["d" + key]
            v["d" + key] = beta1 * v["d" + key] + (1 - beta1) * g
            v_corrected["d" + key] = v["d" + key] / (1 - beta1**t)
            s["d" + key] = beta2 * s["d" + key] + (1 - beta2) * g**2
            s_corrected["d" + key] = s["d" + key] / (1 - beta2**t)
            parameters[key] = parameters[key] - learning_rate * v_corrected["d" + key] / (
                np.sqrt(s_corrected["d" + key]) + epsilon
            )
    return parameters, v, s, v_corrected, s_corrected


# --- learning-rate decay -------------------------------------------------------------------


def update_lr(learning_rate0, epoch_num, decay_rate):
    """alpha = 1 / (1 + decay_rate * epoch_num) * alpha0."""
    return 1 / (1 + decay_rate * epoch_num) * learning_rate0


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """alpha = 1 / (1 + decay_rate * floor(epoch_num / time_interval)) * alpha0."""
    return 1 / (1 + decay_rate * np.floor(epoch_num / time_interval)) * learning_rate0


# --- the notebooks' training loops ---------------------------------------------------------


def model(
    X,
    Y,
    layers_dims,
    optimizer,
    learning_rate=0.0007,
    mini_batch_size=64,
    beta=0.9,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    num_epochs=5000,
    print_cost=False,
    decay=None,
    decay_rate=1,
    lambd=0.0,
    parameters=None,
    seed=10,
):
    """The Optimization notebook's mini-batch loop (optimizer "gd", "momentum" or "adam").

    As the course: He init (seed 3) unless `parameters` is given (then a copy of it is trained);
    before each epoch seed += 1 and the data are reshuffled with it; per batch: forward,
    cost_total += compute_cost (summed loss), opt_utils' backward, one optimizer step (Adam's t
    counts steps from 1 across epochs); cost_avg = cost_total / m (m = X.shape[1]); then, if
    decay is given, learning_rate = decay(learning_rate0, i, decay_rate).

    Our generalisations: `lambd` adds L2 per batch with m = the batch's size in both the cost and
    the gradient: the gradient is backward_propagation(..., lambd), i.e. dW += (lambd/m_batch) W
    after the summed product; the batch's contribution to the epoch total is
    compute_cost + (lambd/2) sum_l sum(W_l^2) (the parameters of that batch's forward pass), so
    the epoch cost is (sum over batches of [summed loss + (lambd/2) sum W^2]) / m. With lambd = 0
    it is the course's loop exactly. Costs are recorded whatever print_cost says.

    Returns (parameters, costs_every_100, all_epoch_costs): costs_every_100 holds the epoch
    costs at i % 100 == 0 (the course's `costs`), all_epoch_costs every epoch's cost."""
    costs = []
    all_costs = []
    t = 0
    m = X.shape[1]
    learning_rate0 = learning_rate

    if parameters is None:
        parameters = initialize_parameters_he(layers_dims)
    else:
        parameters = {key: np.array(value) for key, value in parameters.items()}

    if optimizer == "gd":
        pass
    elif optimizer == "momentum":
        v = initialize_velocity(parameters)
    elif optimizer == "adam":
        v, s = initialize_adam(parameters)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}")

    for i in range(num_epochs):
        seed = seed + 1
        minibatches = random_mini_batches(X, Y, mini_batch_size, seed)
        cost_total = 0
        for minibatch_X, minibatch_Y in minibatches:
            AL, caches = forward_propagation(minibatch_X, parameters)
            batch_cost = compute_cost(AL, minibatch_Y)
            if lambd:
                batch_cost = batch_cost + (lambd / 2) * sum_of_squared_weights(parameters)
            cost_total += batch_cost
            grads = backward_propagation(minibatch_X, minibatch_Y, caches, lambd)
            if optimizer == "gd":
                parameters = update_parameters_with_gd(parameters, grads, learning_rate)
            elif optimizer == "momentum":
                parameters, v = update_parameters_with_momentum(
                    parameters, grads, v, beta, learning_rate
                )
            else:
                t = t + 1
                parameters, v, s, _, _ = update_parameters_with_adam(
                    parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon
                )
        cost_avg = cost_total / m
        if decay:
            learning_rate = decay(learning_rate0, i, decay_rate)
        if print_cost and i % 1000 == 0:
            print(f"Cost after epoch {i}: {cost_avg:f}")
            if decay:
                print(f"learning rate after epoch {i}: {learning_rate:f}")
        if i % 100 == 0:
            costs.append(cost_avg)
        all_costs.append(cost_avg)
    return parameters, costs, all_costs


def regularization_model(
    X, Y, learning_rate=0.3, num_iterations=30000, lambd=0.0, layers_dims=None, print_cost=False
):
    """The Regularization notebook's full-batch gradient-descent loop, L2 only (keep_prob = 1).

    reg_utils' init (randn / sqrt(n), seed 3) with layers_dims defaulting to the course's
    [n_x, 20, 3, 1]; per iteration: forward, cost = compute_cost_mean if lambd == 0 else
    compute_cost_with_regularization, backward_propagation_with_regularization (reg_utils' plain
    backward when lambd == 0), one gradient-descent step. Costs are recorded at i % 1000 == 0
    (the course records them only when print_cost) and printed at i % 10000 == 0.

    Returns (parameters, costs, all_iteration_costs)."""
    if layers_dims is None:
        layers_dims = [X.shape[0], 20, 3, 1]
    costs = []
    all_costs = []
    parameters = initialize_parameters_course(layers_dims)
    for i in range(num_iterations):
        AL, caches = forward_propagation(X, parameters)
        if lambd == 0:
            cost = compute_cost_mean(AL, Y)
        else:
            cost = compute_cost_with_regularization(AL, Y, parameters, lambd)
        grads = backward_propagation_with_regularization(X, Y, caches, lambd)
        parameters = update_parameters_with_gd(parameters, grads, learning_rate)
        if print_cost and i % 10000 == 0:
            print(f"Cost after iteration {i}: {cost}")
        if i % 1000 == 0:
            costs.append(cost)
        all_costs.append(cost)
    return parameters, costs, all_costs


# --- data ----------------------------------------------------------------------------------


def load_moons():
    """opt_utils' load_dataset: np.random.seed(3); make_moons(300, noise=.2); X (2, 300), Y (1, 300)."""
    import sklearn.datasets

    np.random.seed(3)
    X, Y = sklearn.datasets.make_moons(n_samples=300, noise=0.2)
    return X.T, Y.reshape((1, Y.shape[0]))


# --- the Initialization notebook ------------------------------------------------------------


def initialization_model(X, Y, initialization, learning_rate=0.01, num_iterations=15000):
    """The Initialization notebook's model: [n_x, 10, 5, 1], W by ``initialization`` (zeros;
    np.random.seed(3) then randn * 10; np.random.seed(3) then He), b = 0, full-batch gradient
    descent with opt_utils' (= init_utils') backward; prints the mean cost (init_utils'
    compute_loss: np.nansum of the terms, / m) every 1000 iterations, before that iteration's
    step, with Python's full repr. Returns the parameters."""
    dims = [X.shape[0], 10, 5, 1]
    if initialization == "he":
        parameters = initialize_parameters_he(dims)
    else:
        np.random.seed(3)
        parameters = {}
        for l in range(1, len(dims)):
            shape = (dims[l], dims[l - 1])
            W = np.zeros(shape) if initialization == "zeros" else np.random.randn(*shape) * 10
            parameters[f"W{l}"], parameters[f"b{l}"] = W, np.zeros((dims[l], 1))
    m = X.shape[1]
    for i in range(num_iterations):
        AL, caches = forward_propagation(X, parameters)
        if i % 1000 == 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = np.multiply(-np.log(AL), Y) + np.multiply(-np.log(1 - AL), 1 - Y)
            print(f"Cost after iteration {i}: {1.0 / m * np.nansum(terms)}")
        grads = backward_propagation(X, Y, caches)
        parameters = update_parameters_with_gd(parameters, grads, learning_rate)
    return parameters


# --- the Regularization notebook's dropout --------------------------------------------------


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    """The notebook's exercise 3: np.random.seed(1) at every call; after each hidden ReLU,
    D = np.random.rand(*A.shape) then (D < keep_prob).astype(int), A = A * D, A = A / keep_prob.
    Returns (AL, caches, masks): caches as forward_propagation's (A_prev, W, b, Z, A) per layer,
    with A the dropped-out activation; masks the D of each hidden layer."""
    np.random.seed(1)
    L = len(parameters) // 2
    caches, masks = [], []
    A_prev = X
    for l in range(1, L + 1):
        W, b = parameters["W" + str(l)], parameters["b" + str(l)]
        Z = np.dot(W, A_prev) + b
        if l < L:
            A = relu(Z)
            D = np.random.rand(A.shape[0], A.shape[1])
            D = (D < keep_prob).astype(int)
            A = A * D
            A = A / keep_prob
            masks.append(D)
        else:
            A = sigmoid(Z)
        caches.append((A_prev, W, b, Z, A))
        A_prev = A
    return A_prev, caches, masks


def dropout_model(X, Y, keep_prob, learning_rate=0.3, num_iterations=30000):
    """The Regularization notebook's model with dropout: reg_utils' init (seed 3), then per
    iteration the reseeded dropout forward, the mean cost, the dropout backward and a gradient
    step; prints the cost every 10 000 iterations. Returns the parameters."""
    parameters = initialize_parameters_course([X.shape[0], 20, 3, 1])
    for i in range(num_iterations):
        AL, caches, masks = forward_propagation_with_dropout(X, parameters, keep_prob)
        cost = compute_cost_mean(AL, Y)
        grads = backward_propagation_with_regularization(X, Y, caches, 0, masks, keep_prob)
        parameters = update_parameters_with_gd(parameters, grads, learning_rate)
        if i % 10000 == 0:
            print(f"Cost after iteration {i}: {cost}")
    return parameters
