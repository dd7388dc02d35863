"""The concept index: every idea of the course notes (COURSE_NOTES.txt) and where it lives in the app.

Pure data and look-ups (no Qt). Each :class:`Concept` has

- ``key``: a short identifier; ``title``: the name a person searches for; ``section``: the part of
  the notes it belongs to; ``aliases``: other words that should find it;
- ``headings``: the notes' own short title lines this concept answers (exact text of the notes);
- ``notes``: the notes' explanation, in their own terms (paraphrased or quoted);
- ``where``: where it is in the app, in words (a layer in the palette, a training option, a plot,
  a panel, a command of ``nnplay``);
- ``status``: ``"available"`` (the feature exists), ``"partial"`` (some of it exists; ``where`` says
  what is missing) or ``"coming"`` (not built yet; ``where`` says so honestly);
- ``targets``: machine-checkable references ``(kind, value)`` to what ``where`` names. Kinds:
  ``layer`` (a registered layer type), ``option`` ("Type.parameter" of a layer's constructor),
  ``activation`` (an Activation kind), ``optimizer``, ``schedule``, ``loss``, ``initializer``,
  ``setting`` (a TrainConfig field), ``dataset``, ``preset`` (presets/NAME.json), ``cli`` (an
  ``nnplay`` subcommand), ``engine`` (a dotted engine attribute such as
  ``engine.metrics.diagnose``), ``widget`` (an attribute path on the main window, e.g.
  ``training_dock.controls.l2``; checked by the GUI tests) and ``panel`` (a panel title).
- ``show``: what the "Show me" button does, one ``(kind, value)`` of the kinds ``layer``,
  ``preset``, ``widget``, ``panel`` or ``cli``; None when nothing can be shown yet.

:func:`check_target` resolves the engine-side kinds; :func:`search` ranks concepts for a query;
:func:`notes_headings` parses the notes' section titles (short stand-alone lines).
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

STATUSES = ("available", "partial", "coming")
#: target kinds resolved without Qt (the GUI resolves "widget" and "panel")
ENGINE_KINDS = ("layer", "option", "activation", "optimizer", "schedule", "loss", "initializer", "setting",
                "dataset", "preset", "cli", "engine")
GUI_KINDS = ("widget", "panel")
SHOW_KINDS = ("layer", "preset", "widget", "panel", "cli")

REPO_ROOT = Path(__file__).resolve().parents[1]
PRESETS_DIR = REPO_ROOT / "presets"


@dataclass(frozen=True)
class Concept:
    key: str
    title: str
    section: str
    notes: str
    where: str
    status: str = "available"
    targets: tuple = ()
    show: tuple | None = None
    headings: tuple = ()
    aliases: tuple = ()

    def haystack(self):
        """Lower-case text searched by :func:`search`."""
        return " ".join((self.title, " ".join(self.aliases), " ".join(self.headings), self.section,
                         self.notes, self.where)).lower()


def _c(key, title, section, notes, where, status="available", targets=(), show=None, headings=(), aliases=()):
    return Concept(key, title, section, notes, where, status, tuple(tuple(t) for t in targets),
                   tuple(show) if show else None, tuple(headings), tuple(aliases))


W = "widget"
TD = "training_dock"
CT = "training_dock.controls"
EV = "training_dock.evaluation"

BASICS = "Neural network basics"
ACT = "Activation functions"
LEARN = "Improving learning"
DEEP = "Deep networks (Andrew Ng's course)"
OPT = "Optimization algorithms"
STRAT = "Structuring ML projects"
CNN = "Convolutional networks"
DET = "Object detection"
FACE = "Faces and style"
SEQ = "Sequence models"
EMB = "Word embeddings"
S2S = "Sequence to sequence and attention"

CONCEPTS = (
    # -- basics ------------------------------------------------------------------------------------
    _c("neural_network", "Neural network (neurons, weights, biases)", BASICS,
       "A set of input, hidden and output neurons; each link has a weight, each neuron a bias and an "
       "activation function. The coefficients are adjusted to lower an error metric using back propagation.",
       "The canvas is the network: add Dense layers from the Layers palette (Core family), wire them, "
       "and the inspector shows each layer's units and weights.",
       targets=[("layer", "Dense"), ("layer", "Input"), (W, "palette"), ("preset", "digits_mlp")],
       show=("layer", "Dense"), aliases=("neuron", "node", "synapse", "weight", "bias", "perceptron", "MLP")),
    _c("image_to_probability", "Why: an image in, a probability per digit out", BASICS,
       "The machine does not 'know' the blurred image is a 2; it says the probability of it being 2 is, "
       "say, 90%. How much each pixel is lit is the input; in the end the output neuron for 2 lights up "
       "with some probability.",
       "The Digits panel: draw a digit and watch the ten class probabilities (the softmax output) of "
       "the current network.",
       targets=[("panel", "Digits"), ("dataset", "digits"), ("preset", "digits_mlp")],
       show=("panel", "Digits"), headings=("Ok all above is fine but why?",),
       aliases=("handwritten digit", "MNIST", "probability", "classification")),
    _c("activation_function", "Activation function", ACT,
       "Typically non-linear, continuous, differentiable and of fixed range. Without it every layer is "
       "linear and the whole network is one linear function ('dumb').",
       "The Activation layer (Activations family) with kinds sigmoid, tanh, relu, leaky_relu, elu, "
       "linear, softmax and step; choose the kind in the inspector.",
       targets=[("layer", "Activation"), ("option", "Activation.kind")],
       show=("layer", "Activation"), headings=("Activation Function",), aliases=("non-linearity", "g(z)")),
    _c("loss_function", "Loss or cost function", BASICS,
       "Defines how accurate the predictions of a given network are; training lowers it.",
       "Training dock > Gradient descent > cost (softmax_cross_entropy, binary_cross_entropy, quadratic...); "
       "the Curves tab plots the cost J per step and per epoch.",
       targets=[("setting", "loss"), ("loss", "softmax_cross_entropy"), (W, TD + ".cost_plot"), (W, CT + ".loss")],
       show=(W, TD + ".cost_plot"), aliases=("cost", "J", "error metric", "objective")),
    _c("optimization_algorithms", "Optimization algorithms", OPT,
       "How the weights are moved downhill on the cost: gradient descent and its refinements (momentum, "
       "RMSprop, Adam).",
       "Training dock > Gradient descent > optimizer (sgd, momentum, rmsprop, adam).",
       targets=[("setting", "optimizer"), (W, CT + ".optimizer")], show=(W, CT + ".optimizer"),
       headings=("Optimization Algorithms- //TODO",), aliases=("optimizer", "solver")),
    _c("forward_propagation", "Forward propagation", BASICS,
       "Each layer computes z = W a + b from the previous layer's activations and applies its activation "
       "function, layer after layer up to the output (superscript = layer, subscript = neuron).",
       "Every prediction runs it: the Digits panel shows the output (and conv feature maps), the Layer "
       "histograms tab the activations of the selected layer.",
       targets=[("engine", "engine.graph.Network.forward"), ("panel", "Digits"), (W, TD + ".hist_plot")],
       show=(W, TD + ".hist_plot"), headings=("Forward propagation", "So the formula to derive will be"),
       aliases=("forward pass", "z = Wx + b", "prediction")),
    _c("back_propagation", "Back propagation", BASICS,
       "The chain rule: how the cost C changes with each weight w and bias b, from the last layer "
       "backwards. Big dC/dz means changing that z lowers C the most. Weights are then nudged by a "
       "small step against the gradient.",
       "Training dock: 'Step' trains one mini-batch (one forward + backward pass and update); the "
       "gradient-norm plot shows the size of each layer's gradient.",
       targets=[("engine", "engine.graph.Network.backward"), (W, TD + ".step_button"), (W, TD + ".grad_plot")],
       show=(W, TD + ".step_button"), headings=("Back propagation", "Backward and forward propagation formulas"),
       aliases=("backprop", "chain rule", "gradient", "dW", "db")),
    _c("gradient_descent", "Gradient descent and the learning rate", OPT,
       "Update w and b by a negative small change: the gradient times the learning rate (step size). Too "
       "small slows learning down, too big overshoots.",
       "Training dock > Gradient descent > learning rate (it takes effect at once, even while training).",
       targets=[(W, CT + ".lr"), ("optimizer", "sgd")], show=(W, CT + ".lr"),
       aliases=("learning rate", "alpha", "step size", "overshoot")),
    _c("stochastic_gd", "Stochastic gradient descent", OPT,
       "With a large training set one step per pass is slow, so take a small set per step. Mini-batch size "
       "1 is stochastic GD: more noisy than mini-batch and slow, as it hardly uses vectorization.",
       "Training dock > batch size = 1.",
       targets=[("setting", "batch_size"), (W, CT + ".batch")], show=(W, CT + ".batch"),
       headings=("Stochastic G D",), aliases=("SGD", "online learning")),
    _c("mini_batch_gd", "Mini-batch gradient descent", OPT,
       "Split the data in batches, compute and apply the weight changes batch by batch, repeat until the "
       "minimum. Noisier cost curve, but fastest: it uses mini batches and vectorization both. Fit the "
       "mini batch to CPU/GPU memory: 64, 128, 256, 512.",
       "Training dock > batch size (the label under it says which kind of gradient descent it is); the "
       "cost plot shows the noise per step.",
       targets=[("setting", "batch_size"), (W, CT + ".batch"), (W, CT + ".batch_kind")], show=(W, CT + ".batch"),
       headings=("Mini Batch gradient descend",), aliases=("mini batch", "batch size", "epoch")),
    _c("batch_gd", "Batch gradient descent", OPT,
       "Batch size is m, the full training set: one smooth step per epoch.",
       "Training dock > batch size > 'all'.",
       targets=[("setting", "batch_size"), (W, CT + ".batch_all")], show=(W, CT + ".batch_all"),
       headings=("Batch GD - Here batch size is m, full train dataset.",), aliases=("full batch",)),
    # -- activations -------------------------------------------------------------------------------
    _c("step_activation", "Step activation", ACT,
       "On or off, 0 or 1, decided by a threshold. Not analog, so switched-off neurons become passive "
       "(its gradient is zero: nothing before it learns).",
       "Activation layer, kind 'step' (the summary warns that layers before it cannot learn).",
       targets=[("activation", "step"), ("layer", "Activation")], show=("layer", "Activation"),
       aliases=("threshold", "heaviside")),
    _c("linear_activation", "Linear activation", ACT,
       "Output proportional to the input. If all layers are linear the combined function is linear too.",
       "Activation layer, kind 'linear' (or a Dense layer with no activation after it).",
       targets=[("activation", "linear"), ("layer", "Activation")], show=("layer", "Activation"),
       aliases=("identity",)),
    _c("sigmoid", "Sigmoid", ACT,
       "Squashes z into [0, 1]. The gradient is healthy between about -2 and 2; beyond it gets very small "
       "and learning stops (saturation).",
       "Activation layer, kind 'sigmoid'; Training dock > health overlay 'saturation' tints layers with "
       "saturated units.",
       targets=[("activation", "sigmoid"), ("layer", "Activation"), (W, CT + ".health")],
       show=("layer", "Activation"), aliases=("logistic", "saturation")),
    _c("tanh", "tanh", ACT,
       "A scaled sigmoid into [-1, 1]; beyond the middle its gradient is slow too.",
       "Activation layer, kind 'tanh' (the spiral preset uses it).",
       targets=[("activation", "tanh"), ("layer", "Activation"), ("preset", "spiral")],
       show=("preset", "spiral"), headings=("tanh - , scales to [-1,1] beyond it gradient is slow.",),
       aliases=("hyperbolic tangent",)),
    _c("relu", "ReLU", ACT,
       "A(x) = max(0, x): below 0 the activation is 0. Fast, but can leave part of the network passive "
       "(always off: dead units).",
       "Activation layer, kind 'relu'; Training dock > health overlay 'dead' tints layers by their share "
       "of dead ReLU units.",
       targets=[("activation", "relu"), ("layer", "Activation"), (W, CT + ".health")],
       show=("layer", "Activation"), aliases=("rectified linear unit", "dead relu", "max(0,x)")),
    _c("leaky_relu", "Leaky ReLU and ELU", ACT,
       "Below 0 the output is kept very small but not 0 (e.g. 0.01x), so every node stays active: it "
       "solves ReLU's problem. ELU is a variant that is exponential below 0.",
       "Activation layer, kinds 'leaky_relu' and 'elu'.",
       targets=[("activation", "leaky_relu"), ("activation", "elu"), ("layer", "Activation")],
       show=("layer", "Activation"), aliases=("ELU", "leaky")),
    # -- improving learning ------------------------------------------------------------------------
    _c("cross_entropy", "Cross-entropy cost", LEARN,
       "In place of the quadratic cost (y - a)^2, the cross-entropy cost gives weight and bias changes that "
       "do not slow down when the output saturates, so learning does not stall.",
       "Training dock > Gradient descent > cost: 'binary_cross_entropy' (sigmoid output) or "
       "'softmax_cross_entropy'; 'quadratic' is there to compare.",
       targets=[("loss", "binary_cross_entropy"), ("loss", "quadratic"), ("setting", "loss"), (W, CT + ".loss")],
       show=(W, CT + ".loss"),
       headings=("Increase efficiency.",), aliases=("cross entropy function", "log loss", "quadratic cost", "MSE", "logistic loss")),
    _c("softmax_loglikelihood", "Softmax and log-likelihood", LEARN,
       "Instead of an independent 0..1 probability per output (sigmoid), make the output probabilities sum "
       "to 1 (softmax): the outputs become comparable. The cost is -log a of the true class: an output "
       "close to 1 needs little change, close to 0 a lot.",
       "Activation layer kind 'softmax' as the last layer with the 'softmax_cross_entropy' loss (every "
       "classification preset); the Digits panel shows the ten softmax probabilities.",
       targets=[("activation", "softmax"), ("loss", "softmax_cross_entropy"), ("layer", "LogSoftmax"),
                ("panel", "Digits")],
       show=("panel", "Digits"), aliases=("SoftMax and loglikelyhood", "log likelihood", "negative log likelihood", "NLL")),
    _c("overfitting", "Overfitting (overtraining)", LEARN,
       "From some epoch on the network stops learning anything general: the training cost keeps falling "
       "while the dev cost does not.",
       "Curves tab: the train and dev cost and accuracy side by side. Early stopping on the dev loss: "
       "Training dock > Gradient descent > early stopping (patience in epochs; the best weights are kept).",
       targets=[(W, TD + ".cost_plot"), (W, TD + ".metrics_plot"), ("setting", "early_stopping"),
                (W, CT + ".early")],
       show=(W, TD + ".cost_plot"), aliases=("overtraining", "early stopping", "generalization")),
    _c("bias_variance", "Bias and variance", STRAT,
       "Training error tells the bias (high error, high bias: underfitting, too simple a model); dev error "
       "minus training error tells the variance (overfitting: it learned the noise). Fix bias: a bigger "
       "network, train longer, a better architecture. Fix variance: more data, regularize, a better "
       "architecture. Neural networks can reduce one without the other.",
       "Training dock > Evaluation tab: training and dev error, avoidable bias, variance and a verdict "
       "with the remedy.",
       targets=[(W, EV), (W, EV + ".var_label"), ("engine", "engine.metrics.diagnose")], show=(W, EV),
       headings=("Bias and Variance.",), aliases=("bias variance tradeoff", "underfitting", "high variance",
                                                  "high bias")),
    _c("train_dev_test", "Train / dev / test split", STRAT,
       "Hold data out to measure the model: once 70/30, with big data now ~98/1/1. The dev (hold-out "
       "cross-validation) set picks the algorithm and hyperparameters; dev and test must come from the "
       "same distribution.",
       "Training dock > Data > split (% dev, % test); Evaluation tab > evaluate on dev or test.",
       targets=[(W, CT + ".dev"), (W, CT + ".test"), (W, EV + ".set_combo")], show=(W, CT + ".dev"),
       headings=("Fine-tune NN",), aliases=("dev set", "test set", "validation", "cross validation",
                                            "hold-out", "Detect underfit and overfit")),
    _c("l2_regularization", "L2 regularization (weight decay)", LEARN,
       "Add the squared weights, lambda/(2m) sum w^2, to the cost: weights shrink at every step (weight "
       "decay). It overcomes overfitting and raises accuracy.",
       "Training dock > Weights > L2 (all layers with weights), or a layer's own l2 in the inspector.",
       targets=[(W, CT + ".l2"), ("option", "Dense.l2"), ("option", "Conv2D.l2"),
                ("engine", "engine.regularizers.penalty")],
       show=(W, CT + ".l2"), aliases=("Weight decay Regularization", "L2 or Ridge Regularization", "weight decay", "ridge",
                "lambda", "regularization")),
    _c("l1_regularization", "L1 regularization (sparsity)", LEARN,
       "Add the absolute weights, lambda sum|w|: many weights become exactly zero (sparsity), a built-in "
       "feature selection.",
       "Training dock > Weights > L1, or a layer's l1 in the inspector.",
       targets=[(W, CT + ".l1"), ("option", "Dense.l1")], show=(W, CT + ".l1"),
       aliases=("Weight decay Regularization-L1 or Lasso Regularization (LAD)", "lasso", "LAD", "sparsity",
                "built-in feature selection")),
    _c("dropout", "Dropout and inverted dropout", LEARN,
       "Switch off a random set of hidden neurons at each training step; different sub-networks pick "
       "different things and on average the network generalizes better (a regularization technique). "
       "Inverted dropout divides the kept activations by keep_prob so nothing changes at test time.",
       "The Dropout layer (Regularization family): rate = share switched off; the digits_mlp_bn and "
       "digits_cnn presets use it.",
       targets=[("layer", "Dropout"), ("option", "Dropout.rate"), ("preset", "digits_mlp_bn")],
       show=("layer", "Dropout"), aliases=("inverted dropout", "keep_prob")),
    _c("hyperparameter_tuning", "Tuning hyperparameters fast", STRAT,
       "Try settings quickly and compare: learning rate, batch size, layers, units, regularization.",
       "Training dock: every setting is live; the History tab keeps every run (dev and test accuracy) and "
       "overlays the curves of two selected runs.",
       targets=[(W, TD + ".history_panel"), (W, TD + ".controls")], show=(W, TD + ".history_panel"),
       headings=("Derive Hyper parameter fast", "Tuning Model using."), aliases=("hyperparameter", "search",
                                                                              "compare runs")),
    # -- Andrew Ng's deep networks -----------------------------------------------------------------
    _c("vectorization", "Vectorization", DEEP,
       "Compute a whole layer for a whole mini-batch as one matrix product instead of loops: it takes "
       "advantage of SIMD (single instruction, multiple data).",
       "The engine computes every layer on whole mini-batches with NumPy matrix products (batch size in "
       "the Training dock); benchmarks/ measures the speed against PyTorch.",
       targets=[("setting", "batch_size"), (W, CT + ".batch")], show=(W, CT + ".batch"),
       headings=("Neural Network Andrews Ng way", "Gradient Descend vectorization",
                 "Multilayer neural network vectorized form", "Deep network calculations"),
       aliases=("SIMD", "matrix", "numpy")),
    _c("activation_derivative", "Derivative of the activation function", DEEP,
       "Back propagation multiplies by g'(z): sigmoid a(1-a), tanh 1-a^2, ReLU 0 or 1.",
       "Each Activation kind implements its own backward pass; 'nnplay gradcheck' verifies it.",
       targets=[("layer", "Activation"), ("cli", "gradcheck")], show=("layer", "Activation"),
       headings=("Derivative of activation function",), aliases=("g'(z)",)),
    _c("dimensions", "Keep track of dimensions", DEEP,
       "W of layer l has shape (n[l], n[l-1]), b (n[l], 1); checking the shapes catches most bugs.",
       "Every node on the canvas shows its output shape and parameter count; Network > Summary lists them; "
       "a wrong wiring shows a shape error on the node. Also 'nnplay summary'.",
       targets=[(W, "act_summary"), ("cli", "summary"), ("engine", "engine.graph.Network.summary")],
       show=(W, "act_summary"), headings=("Keep track of dimensions",), aliases=("shape", "shapes", "summary")),
    _c("vanishing_exploding", "Vanishing and exploding gradients", DEEP,
       "In deep networks gradients often become too big or too small, which makes the cost diverge or "
       "learning stall.",
       "Curves tab: the gradient-norm plot per layer; health overlay 'gradient' tints layers with vanishing "
       "or exploding gradients; gradient clipping by norm: Training dock > Gradient descent > gradient "
       "clipping (the sequence presets use 5); a NaN stops training and names the layer.",
       targets=[(W, TD + ".grad_plot"), (W, CT + ".health"), ("setting", "clip_norm"), ("preset", "char_names"),
                (W, CT + ".clip")],
       show=(W, TD + ".grad_plot"), headings=("Vanishing and exploding Gradient descend.",),
       aliases=("gradient clipping", "diverge", "NaN", "exploding")),
    _c("initialization", "Weight initialization", DEEP,
       "Random weights scaled to the number of inputs n (variance 1/n, Xavier) so the sum stays near 1; "
       "ReLU works better with 2/n (He).",
       "Training dock > Weights > initialization (auto, he, xavier, normal, zeros); a layer's initializer "
       "in the inspector.",
       targets=[(W, CT + ".init"), ("initializer", "he"), ("initializer", "xavier"), ("option", "Dense.initializer")],
       show=(W, CT + ".init"), aliases=("He", "Xavier", "Glorot", "random init", "symmetry")),
    _c("gradient_checking", "Gradient checking", DEEP,
       "Unroll all W, b into a vector theta and dW, db into dtheta; approximate dtheta by nudging each "
       "component by epsilon both ways, (J(theta+eps) - J(theta-eps)) / 2 eps, and compare with backprop's. "
       "Do's and don'ts: only to debug, not in training; turn dropout off; include the regularization term.",
       "Command line: 'nnplay gradcheck DOC' (dropout frozen, L1/L2 included, exit 1 above 1e-5).",
       targets=[("cli", "gradcheck"), ("engine", "engine.gradcheck.check_network")], show=("cli", "gradcheck"),
       headings=("Grad check Do’s and Don’ts",), aliases=("gradcheck", "numerical gradient", "epsilon",
                                                           "finite differences")),
    # -- optimization ------------------------------------------------------------------------------
    _c("ewa", "Exponentially weighted average", OPT,
       "Average the current value with the previous average in some proportion: v = beta v + (1 - beta) x, "
       "about 1/(1 - beta) values.",
       "Curves tab: the cost plot's smoothing slider draws an EWA of the per-step cost; momentum and Adam "
       "use it on the gradients.",
       targets=[(W, TD + ".cost_plot.smooth_slider"), ("optimizer", "momentum")],
       show=(W, TD + ".cost_plot.smooth_slider"), aliases=("Exponential weighted Avg", "EWA", "moving average", "smoothing", "beta")),
    _c("bias_correction", "Bias correction", OPT,
       "An EWA starts at zero, so its first values are too small; divide by 1 - beta^t to fix it.",
       "Adam always corrects; momentum has a 'bias correction' checkbox (Training dock, optimizer "
       "'momentum'); the cost plot's smoothed curve is bias-corrected too.",
       targets=[("optimizer", "adam"), ("engine", "engine.optimizers.Momentum"), (W, TD + ".cost_plot"),
                (W, CT + ".bias_correction")],
       show=(W, CT + ".optimizer"), aliases=("1 - beta^t",)),
    _c("momentum", "Gradient descent with momentum", OPT,
       "Apply the EWA to gradient descent: it damps the noise of small batches and the overshooting with a "
       "higher learning rate.",
       "Training dock > optimizer 'momentum' with its beta.",
       targets=[("optimizer", "momentum"), (W, CT + ".beta1")], show=(W, CT + ".optimizer"),
       headings=("Apply EWA to Gradient Descend",), aliases=("momentum", "EWA of gradients")),
    _c("rmsprop", "RMSprop", OPT,
       "Root mean square prop: divide the step by the root of an EWA of the squared gradients, damping "
       "oscillations like momentum. beta2 usually 0.999, epsilon 1e-8.",
       "Training dock > optimizer 'rmsprop' with beta2 and epsilon.",
       targets=[("optimizer", "rmsprop"), (W, CT + ".beta2"), (W, CT + ".eps")], show=(W, CT + ".optimizer"),
       headings=("RMS prop",), aliases=("root mean square",)),
    _c("adam", "Adam", OPT,
       "A combination of RMSprop and the EWA (momentum), with bias correction: beta1 0.9, beta2 0.999, "
       "epsilon 1e-8.",
       "Training dock > optimizer 'adam' (the presets' default) with beta1, beta2, epsilon.",
       targets=[("optimizer", "adam"), (W, CT + ".beta1"), (W, CT + ".beta2")], show=(W, CT + ".optimizer"),
       headings=("Adam Optimization - It is combination of both RMS and EWA.",), aliases=("Adam optimization", "adaptive moment")),
    _c("lr_decay", "Learning rate decay", OPT,
       "As the model approaches the minimum, reduce the learning rate so it converges instead of wandering; "
       "several formulas decay it by epoch.",
       "Training dock > schedule (constant, inverse_time, exponential, staircase) and decay rate; the "
       "learning-rate plot shows it per epoch.",
       targets=[("setting", "schedule"), ("schedule", "inverse_time"), ("schedule", "exponential"),
                ("schedule", "staircase"), (W, CT + ".schedule"), (W, TD + ".metrics_plot")],
       show=(W, CT + ".schedule"), aliases=("schedule", "decay rate", "annealing")),
    _c("local_optima", "Local optima and plateaus", OPT,
       "In high dimensions bad local minima are rare; the real problem is plateaus (saddle points) where "
       "the gradient is near zero for a long time, though other directions still go down.",
       "Partly: a plateau shows as a flat stretch of the cost plot (try log scale), and Adam/momentum get "
       "off it faster. There is no loss-surface view yet.",
       status="partial", targets=[(W, TD + ".cost_plot.log_box"), ("optimizer", "adam")],
       show=(W, TD + ".cost_plot"), headings=("Local optima problem.",), aliases=("saddle point", "plateau",
                                                                                 "local minimum")),
    _c("batch_norm", "Batch normalization", OPT,
       "Normalize each layer's z over the mini-batch (z tilde), then rescale with gamma and beta. Hidden "
       "layers then learn on a standard input, less bothered by earlier layers changing.",
       "The BatchNorm layer (Normalization family); the digits_mlp_bn preset puts it before each ReLU.",
       targets=[("layer", "BatchNorm"), ("preset", "digits_mlp_bn")], show=("layer", "BatchNorm"),
       headings=("Batch Norm",), aliases=("batchnorm", "gamma", "beta", "normalize activations")),
    _c("softmax_classification", "Softmax classification (vs hardmax)", OPT,
       "With C predefined classes the output layer gives a probability per class that sum to 1; hardmax "
       "just says 1 for one class and 0 for the others.",
       "Activation kind 'softmax' (or SoftmaxAxis for sequences); the Digits panel shows the ten "
       "probabilities and highlights the top guess (the hardmax).",
       targets=[("activation", "softmax"), ("layer", "SoftmaxAxis"), ("panel", "Digits")],
       show=("panel", "Digits"), headings=("Softmax Classification.",), aliases=("softmax", "hardmax",
                                                                                 "multi-class")),
    # -- structuring ML projects -------------------------------------------------------------------
    _c("f1_score", "Precision, recall, F1 (single number metric)", STRAT,
       "Precision: of the images the model calls cats, the % that are cats. Recall: of the actual cats, "
       "the % it recognized. F1 is their harmonic mean: one number to compare models.",
       "Training dock > Evaluation tab: confusion matrix and per-class precision, recall, F1; also "
       "'nnplay evaluate MODEL'.",
       targets=[(W, EV + ".scores"), (W, EV + ".confusion"), ("cli", "evaluate"),
                ("engine", "engine.metrics.precision_recall_f1")],
       show=(W, EV), headings=("Single Number Evaluation matrix for Model.",),
       aliases=("precision", "recall", "F1", "confusion matrix", "harmonic mean", "metric")),
    _c("satisficing_metric", "Satisficing and optimizing metric", STRAT,
       "Pick one metric to optimize (e.g. accuracy) subject to thresholds on the others (e.g. running time "
       "at most so much).",
       "Partly: the History tab compares runs by dev and test accuracy (the optimizing metric); there is "
       "no running-time column to set a satisficing threshold on yet.",
       status="partial", targets=[(W, TD + ".history_panel")], show=(W, TD + ".history_panel"),
       headings=("Satisfying and optimizing metric",), aliases=("satisficing", "optimizing", "constraint")),
    _c("bayes_error", "Bayes error and human-level error", STRAT,
       "The best error any classifier can reach (e.g. a faded image even humans get right only 80% of the "
       "time); human-level error is a proxy for it. No model does better.",
       "Training dock > Evaluation tab > Bayes error (enter human-level error).",
       targets=[(W, EV + ".bayes"), ("engine", "engine.metrics.diagnose")], show=(W, EV + ".bayes"),
       headings=("Bayes’s Error",), aliases=("human level", "optimal error", "human error")),
    _c("avoidable_bias", "Avoidable bias", STRAT,
       "The gap between human (Bayes) error and training error; compare it with the variance to know which "
       "to work on.",
       "Training dock > Evaluation tab: avoidable bias = training error - Bayes error, with a verdict.",
       targets=[(W, EV + ".bias_label"), ("engine", "engine.metrics.diagnose")], show=(W, EV + ".bias_label"),
       headings=("Avoidable Bias is gap between human error and training error.",)),
    _c("transfer_learning", "Transfer learning (freezing layers)", STRAT,
       "Reuse a model trained on another problem: replace the last (softmax) layer with your own and freeze "
       "the earlier layers when you have little data; with more data, fine-tune the whole model.",
       "Inspector: untick 'trainable' to freeze a layer; the Digits panel's 'Fine-tune' trains the current "
       "network a few epochs on your own drawn samples; 'Import ONNX' brings in a model trained elsewhere.",
       targets=[("option", "Dense.trainable"), ("panel", "Digits"), (W, "panels.Digits.finetune_button"),
                (W, "inspector"), (W, "act_import_onnx"), ("cli", "import")],
       show=(W, "inspector"), headings=("Transfer learning",), aliases=("freeze", "trainable", "fine-tune",
                                                                         "pretrained")),
    _c("multitask_learning", "Multitask learning", STRAT,
       "One image can hold several things (signs, lights, pedestrians): stack them in Y and let one bigger "
       "network learn them together rather than one by one.",
       "Partly: a network may have several outputs, each with its own loss (the document's training.loss "
       "as a dict output -> loss; the engine trains them together); there is no multitask preset yet.",
       status="partial", targets=[("setting", "loss"), ("engine", "engine.graph.Network.outputs")],
       headings=("Multitask learning",), aliases=("multiple outputs", "several heads")),
    _c("end_to_end", "End-to-end deep learning", STRAT,
       "One big network maps x straight to y when there is a lot of data; with little data, a pipeline of "
       "smaller component models works better.",
       "Illustrated by the dates_attention preset: raw characters in, the ISO date out, with no hand-made "
       "parsing steps.",
       targets=[("preset", "dates_attention")], show=("preset", "dates_attention"),
       headings=("End to end deep learning",), aliases=("pipeline", "end to end")),
    _c("data_augmentation", "More data: data augmentation", STRAT,
       "The remedy for variance is more data; for images one can make more by shifting, rotating, scaling "
       "the training images.",
       "Training dock > Data > augment training images (shift, rotate, scale, thickness; image data sets "
       "only); the CNN presets use it.",
       targets=[("setting", "augment"), ("preset", "digits_cnn"),
                ("engine", "engine.data.augment.build_augment"), (W, CT + ".augment")],
       show=("preset", "digits_cnn"), aliases=("augment", "more data", "shift", "rotate")),
    # -- convolutional networks --------------------------------------------------------------------
    _c("convnet", "Convolutional network", CNN,
       "Images have millions of pixels, i.e. millions of features: a plain network on them is very "
       "inefficient, so we convolve learned filters over the image instead.",
       "The Conv2D layer (Convolution family); the digits_cnn preset; the Digits panel shows each conv "
       "layer's feature maps.",
       targets=[("layer", "Conv2D"), ("preset", "digits_cnn"), ("panel", "Digits")], show=("preset", "digits_cnn"),
       headings=("Convolution network.", "Type of CNN layers"), aliases=("CNN", "ConvNet", "convolution")),
    _c("edge_detection", "Edge detection with a 3x3 filter", CNN,
       "A 3x3 filter (kernel) slid over the image finds vertical or horizontal edges.",
       "Partly: Conv2D learns such filters (kernel_size 3); the Digits panel's feature maps show what each "
       "filter picks up. Hand-setting a classic edge filter is not possible yet.",
       status="partial", targets=[("option", "Conv2D.kernel_size"), ("panel", "Digits")],
       show=("layer", "Conv2D"), headings=("Edge detection.", "Use 3X3 filter(Kernel) to find edges."),
       aliases=("kernel", "filter", "sobel", "vertical edge")),
    _c("padding", "Padding", CNN,
       "A convolution's output is smaller than its input, so pad the input with zeros to keep the size "
       "('same'); filters are odd-sized so the padding is a whole number.",
       "Conv2D's padding option ('valid' or 'same'); the ZeroPadding2D layer.",
       targets=[("option", "Conv2D.padding"), ("layer", "ZeroPadding2D")], show=("layer", "ZeroPadding2D"),
       aliases=("same padding", "valid", "zero padding")),
    _c("stride", "Strided convolution", CNN,
       "Jump more than 1 step when applying the filter: output size floor((n + 2p - f)/s) + 1.",
       "Conv2D's stride option (and the pooling layers' stride).",
       targets=[("option", "Conv2D.stride"), ("option", "MaxPool2D.stride")], show=("layer", "Conv2D"),
       headings=("Strided Convolution.", "Jump more then 1 step in applying filter."), aliases=("stride", "step")),
    _c("cross_correlation", "Cross-correlation vs convolution", CNN,
       "What deep learning calls convolution is, in maths, cross-correlation: the maths convolution first "
       "flips the filter.",
       "Conv2D and Conv1D compute cross-correlation (their palette tooltips say so).",
       targets=[("layer", "Conv2D"), ("layer", "Conv1D")], show=("layer", "Conv2D"),
       aliases=("flip", "maths convolution")),
    _c("channels", "Multiple channels and filters", CNN,
       "Images have a third dimension, channels (RGB); each filter spans all input channels, and several "
       "filters (horizontal, vertical...) stack into the output's channels.",
       "Conv2D's filters option = output channels; the input shape (C, H, W).",
       targets=[("option", "Conv2D.filters"), ("layer", "Conv2D")], show=("layer", "Conv2D"),
       aliases=("RGB", "depth", "filters", "volume")),
    _c("one_layer_cnn", "One convolutional layer: notation and parameters", CNN,
       "Each filter is f x f x n_c weights plus a bias; a layer has (f f n_c + 1) x filters parameters, "
       "whatever the image size.",
       "Network > Summary (and each canvas node) shows every conv layer's parameter count and output shape.",
       targets=[(W, "act_summary"), ("cli", "summary"), ("layer", "Conv2D")], show=(W, "act_summary"),
       headings=("Notations for One layer CNN",), aliases=("parameters", "notation")),
    _c("pooling", "Pooling layer", CNN,
       "Reducers: shrink height and width by taking the max (or, rarely, the average) of each block. Nothing "
       "to learn, only hyperparameters.",
       "MaxPool2D and AvgPool2D (Convolution family); GlobalAveragePooling2D averages whole maps.",
       targets=[("layer", "MaxPool2D"), ("layer", "AvgPool2D"), ("layer", "GlobalAveragePooling2D")],
       show=("layer", "MaxPool2D"), headings=("Pooling layer",), aliases=("max pool", "average pool")),
    _c("lenet5", "LeNet-5", CNN,
       "A simple CNN: conv -> pool -> conv -> pool -> fully connected 120 -> 84 -> softmax; height and width "
       "shrink while channels grow.",
       "Preset lenet5 (File > Presets).",
       targets=[("preset", "lenet5")], show=("preset", "lenet5"), headings=("Simple CN (Ex Lenet-5)",),
       aliases=("LeNet", "LeCun")),
    _c("why_convolution", "Why convolutions", CNN,
       "Parameter sharing (a feature detector useful in one part of the image is useful elsewhere) and "
       "sparse connections (each output depends on a small window): far fewer parameters than dense layers.",
       "Compare the parameter counts in Network > Summary of the digits_mlp and digits_cnn presets.",
       targets=[("preset", "digits_cnn"), ("preset", "digits_mlp"), (W, "act_summary")],
       show=("preset", "digits_cnn"), headings=("Why convolution?",), aliases=("parameter sharing",
                                                                               "sparse connections")),
    _c("case_studies", "Case studies (classic networks)", CNN,
       "Three CNN papers worth studying: LeNet-5, ResNet and Inception.",
       "Presets lenet5, resnet_mini and inception_mini (File > Presets).",
       targets=[("preset", "lenet5"), ("preset", "resnet_mini"), ("preset", "inception_mini")],
       show=("preset", "lenet5"), headings=("Case study.", "Here we have three different CNN papers."),
       aliases=("classic networks", "papers")),
    _c("resnet", "ResNet (residual blocks)", CNN,
       "Residual net: it keeps the residue of a previous layer by giving its input to a higher layer "
       "through a shortcut. Why it works: if weight decay (L2) shrinks a layer's weights, the input is "
       "still mapped through to the later layer. Two kinds of block: the identity block when the shortcut "
       "matches the output dimension, the convolutional block when it does not.",
       "ResidualIdentityBlock and ResidualConvBlock (Blocks family; View > Unfold shows their insides), Add "
       "for your own skip connections; preset resnet_mini.",
       targets=[("layer", "ResidualIdentityBlock"), ("layer", "ResidualConvBlock"), ("layer", "Add"),
                ("preset", "resnet_mini")],
       show=("preset", "resnet_mini"), headings=("Res Net .",), aliases=("residual", "skip connection",
                                                                         "shortcut", "identity block")),
    _c("one_by_one", "1x1 convolution (network in network)", CNN,
       "Pooling shrinks height and width; a 1x1 convolution with fewer filters shrinks the depth (channels).",
       "The Conv1x1 layer (Convolution family).",
       targets=[("layer", "Conv1x1")], show=("layer", "Conv1x1"), headings=("1 by 1 network",),
       aliases=("1x1", "network in network", "bottleneck")),
    _c("inception", "Inception module", CNN,
       "Several filter sizes and a pooling branch side by side, stacked along channels; 1x1 convolutions "
       "first cut the computation cost.",
       "InceptionModule (Blocks family); preset inception_mini.",
       targets=[("layer", "InceptionModule"), ("preset", "inception_mini")], show=("preset", "inception_mini"),
       headings=("Inception Layer",), aliases=("GoogLeNet", "inception")),
    # -- object detection (not built yet) ----------------------------------------------------------
    _c("object_detection", "Object detection and its labels", DET,
       "Find where objects are in a picture, not only what it shows: y = [Pc, bx, by, bh, bw, c1, c2, c3], "
       "with bx, by the centre and Pc the probability that there is an object.",
       "Coming: there is no detection panel or data set yet.", status="coming",
       headings=("Object detection", "Notation and Loss calculation for object detection."),
       aliases=("bounding box", "localization", "detection")),
    _c("landmark_detection", "Landmark detection", DET,
       "Predict the coordinates of several points (eye corners, joints) as extra outputs.",
       "Coming: no landmark data set or panel yet.", status="coming",
       headings=("LandMark detection (Multiple points or shapes)",), aliases=("landmarks", "key points")),
    _c("sliding_windows", "Sliding windows with convolution", DET,
       "Instead of cropping and classifying many windows one by one, run the convolution over the whole "
       "image once: every window is computed together, sharing the computation (step = stride).",
       "Coming: no detection panel yet (Conv2D alone does not show it).", status="coming",
       headings=("Sliding window with Convolution.",), aliases=("sliding window",)),
    _c("yolo", "YOLO", DET,
       "Divide the image in a grid; each cell predicts whether an object's centre falls in it and its box "
       "relative to the cell. Very fast.",
       "Coming: no YOLO maths or detection panel yet.", status="coming",
       headings=("YOLO Algorithm",), aliases=("you only look once", "grid")),
    _c("nms_iou", "Non-max suppression and IoU", DET,
       "The model finds several boxes for one object: keep the most probable, drop every other box whose "
       "intersection over union with it is above 0.5.",
       "Coming: IoU and non-max suppression are not in the engine yet.", status="coming",
       headings=("Non Max suppression.",), aliases=("NMS", "IoU", "intersection over union")),
    _c("anchor_boxes", "Anchor boxes", DET,
       "Overlapping objects: give each cell several anchor shapes and stretch y to one block per anchor "
       "(8 -> 16 for two).",
       "Coming: no detection panel yet.", status="coming",
       headings=("Multiple object over lap.",), aliases=("anchor",)),
    # -- faces and style (not built yet) ------------------------------------------------------------
    _c("face_recognition", "Face verification, recognition, one-shot learning", FACE,
       "Verification compares an image with one person; recognition finds who among many. One-shot "
       "learning: learn a distance between images from a single example per person.",
       "Coming: no faces panel or data set yet.", status="coming",
       headings=("Face Recognition",), aliases=("one shot", "siamese", "similarity function", "face")),
    _c("triplet_loss", "Triplet loss", FACE,
       "A loss on triplets of images: anchor A, positive P (same person), negative N (another person); "
       "alpha is the margin. Hard triplets, with N a different but similar-looking person, make the "
       "network learn more than easy ones.",
       "Coming: the triplet loss is not in the engine yet.", status="coming",
       aliases=("triplet", "margin", "anchor positive negative")),
    _c("face_verification_binary", "Face verification as binary classification", FACE,
       "Alternatively, feed the two encodings to a logistic unit that says same person or not; precompute "
       "the database encodings.",
       "Coming: no faces panel yet.", status="coming",
       headings=("Face verification and Binary classification",), aliases=("verification",)),
    _c("style_transfer", "Neural style transfer", FACE,
       "Generate an image G with the content of C and the style of S by gradient descent on G's pixels.",
       "Coming: no style panel yet.", status="coming",
       headings=("Neural Style Transfer.",), aliases=("style", "content cost", "style cost", "gram matrix")),
    # -- sequence models ---------------------------------------------------------------------------
    _c("sequence_models", "Sequence models", SEQ,
       "For data in order (language, music, video): output length may equal the input's (Tx = Ty) or not, "
       "and each step needs the earlier ones: RNNs.",
       "Presets dates_attention (translation) and char_names (character language model); the Recurrent "
       "family of the palette.",
       targets=[("preset", "char_names"), ("preset", "dates_attention"), ("dataset", "names")],
       show=("preset", "char_names"), headings=("Sequence Model",), aliases=("sequence", "NLP", "Tx", "Ty")),
    _c("rnn", "Recurrent neural network", SEQ,
       "The previous block's activation a<t-1> is fed to the next block's computation: a<t> = g(Wa [a<t-1>, "
       "x<t>] + ba) (Waa and Wax side by side as Wa). Backprop through time sums the loss of every step.",
       "The SimpleRNN layer (Recurrent family).",
       targets=[("layer", "SimpleRNN")], show=("layer", "SimpleRNN"),
       headings=("Recurring Neural Network", "Previous block A is fed to next block NN calculation."),
       aliases=("RNN", "recurrent", "backprop through time")),
    _c("rnn_types", "Types of RNN; language model and sequence generation", SEQ,
       "Many-to-many, many-to-one, one-to-many. A language model trained on sentences predicts the next "
       "word from the previous ones; sampling from it generates new sequences.",
       "return_sequences on the recurrent layers (one output per step or only the last); preset char_names "
       "is a character language model; 'nnplay sample MODEL' generates names from it.",
       targets=[("option", "LSTM.return_sequences"), ("preset", "char_names"), ("cli", "sample"),
                ("engine", "engine.sequence.charlm.sample")],
       show=("preset", "char_names"), headings=("Types on RNN",),
       aliases=("many to many", "many to one", "language model", "sampling", "temperature")),
    _c("gru", "GRU (gated recurrent unit)", SEQ,
       "To remember old words and fight vanishing gradients, add an update gate (weights Wu) to the "
       "candidate memory c<t> (weights Wc); a relevance gate too.",
       "GRU layer (and ResetAfterGRU, the PyTorch/Keras variant) in the Recurrent family.",
       targets=[("layer", "GRU"), ("layer", "ResetAfterGRU")], show=("layer", "GRU"),
       headings=("GRU - Gated recurrent Unit", "Add another weight Wu with existing Wa(represented here as Wc)"),
       aliases=("gate", "update gate", "memory cell")),
    _c("lstm", "LSTM", SEQ,
       "More gates to learn: update, forget and output gates around a memory cell.",
       "LSTM layer (Recurrent family); char_names and dates_attention use it.",
       targets=[("layer", "LSTM"), ("preset", "char_names")], show=("layer", "LSTM"),
       headings=("LSTM - Better then GRU", "It has few more gates to learn. Update, forget and output gates."),
       aliases=("long short-term memory", "forget gate")),
    _c("brnn", "Bidirectional RNN", SEQ,
       "One RNN reads forwards, one backwards, so each prediction sees the whole sentence, which must be "
       "complete first.",
       "The Bidirectional wrapper (Recurrent family); the dates_attention encoder.",
       targets=[("layer", "Bidirectional"), ("preset", "dates_attention")], show=("layer", "Bidirectional"),
       headings=("BRNN - Bidirectional RNN",), aliases=("BRNN", "bidirectional")),
    _c("deep_rnn", "Deep RNN", SEQ,
       "Several RNN layers stacked: each one's sequence of activations is the next one's input.",
       "Stack recurrent layers on the canvas with return_sequences on in all but the last.",
       targets=[("option", "SimpleRNN.return_sequences"), ("layer", "LSTM")], show=("layer", "LSTM"),
       headings=("Deep RNN.", "RNN with multiple RNN layer is deep RNN."), aliases=("stacked RNN",)),
    # -- word embeddings ---------------------------------------------------------------------------
    _c("word_embedding", "Word embeddings (the matrix E)", EMB,
       "Replace a 10k one-hot vector by a ~300-feature vector e_w = E o_w; similar words get similar "
       "features, and analogies (man:woman as king:queen) appear.",
       "Partly: the Embedding layer (Sequence family) learns E inside a network (char_names, "
       "dates_attention). A word-embedding panel (analogies, projections) is coming.",
       status="partial", targets=[("layer", "Embedding")], show=("layer", "Embedding"),
       headings=("Word embedding,", "Derive Word embeding."), aliases=("embedding", "one-hot", "analogy",
                                                                        "feature vector", "E")),
    _c("cosine_similarity", "Cosine similarity vs squared distance", EMB,
       "The cosine of two vectors says how similar they are (1 for the same direction); the squared "
       "difference says how different.",
       "Coming: with the word-embedding panel.", status="coming",
       headings=("Cosine similarity vs Squared difference.",), aliases=("cosine", "similarity", "distance")),
    _c("skip_gram", "Skip-gram (context and target)", EMB,
       "Pick a context word and a target word near it at random; learn E and a softmax theta to predict "
       "the target from the context.",
       "Coming: with the word-embedding panel.", status="coming",
       headings=("Finding target based on Context word.",), aliases=("word2vec", "context", "target")),
    _c("negative_sampling", "Negative sampling", EMB,
       "Rather than a softmax over all 10k words updating every e and theta, take k samples, e.g. 1 "
       "positive and 5 negative, and update E only on those. Negative words are picked at random "
       "(common words then show up too often) or weighted by the word's frequency, P(w) from f(w).",
       "Coming: with the word-embedding panel.", status="coming",
       headings=("Negative sampling",), aliases=("negative samples",)),
    _c("sentiment", "Sentiment classification", EMB,
       "Average the words' embeddings to score a sentence; an RNN does better when word order matters "
       "('not good').",
       "Coming: no sentiment data set yet (build Embedding -> LSTM -> Dense by hand meanwhile).", status="coming",
       headings=("Sentiment Classification.",), aliases=("sentiment",)),
    _c("debiasing", "Debiasing word embeddings", EMB,
       "Embeddings learn the biases of their text (nurse-female); neutralize non-definitional words along "
       "the gender direction.",
       "Coming: with the word-embedding panel.", status="coming",
       headings=("Biased learning issue.",), aliases=("bias", "neutralize", "gender")),
    # -- seq2seq and attention ---------------------------------------------------------------------
    _c("seq2seq", "Sequence to sequence", S2S,
       "An encoder reads the input stream and a decoder generates the output stream (translation, "
       "captioning).",
       "Preset dates_attention translates human-written dates into ISO dates.",
       targets=[("preset", "dates_attention"), ("dataset", "dates")], show=("preset", "dates_attention"),
       headings=("Sequnece to Sequence generation",), aliases=("encoder decoder", "translation", "seq2seq")),
    _c("conditional_lm", "Conditional language model; greedy vs beam search", S2S,
       "The decoder is a language model conditioned on the encoding. Picking the single most probable word "
       "each time (greedy) is not the most probable sentence; beam search keeps the B best partial "
       "sentences at each step.",
       "Engine only for now: engine.sequence.decoding (greedy_search, beam_search); no GUI control yet.",
       status="partial", targets=[("engine", "engine.sequence.decoding.beam_search"),
                                  ("engine", "engine.sequence.decoding.greedy_search")],
       headings=("Conditional language model.",), aliases=("beam search", "beam width", "greedy", "B")),
    _c("length_normalisation", "Length normalisation", S2S,
       "Products of small probabilities underflow, so add log probabilities; that favours short outputs, so "
       "divide by length^alpha.",
       "Engine only for now: engine.sequence.decoding.normalised_score (alpha 0.7), used by beam search.",
       status="partial", targets=[("engine", "engine.sequence.decoding.normalised_score")],
       aliases=("normalization", "log probability", "alpha", "underflow")),
    _c("error_analysis", "Error analysis (beam search or RNN?)", S2S,
       "Compare P(y*|x) of the human translation with P(y-hat|x): if y* is more probable, beam search is "
       "at fault, otherwise the RNN.",
       "Engine only for now: engine.sequence.decoding.error_analysis.",
       status="partial", targets=[("engine", "engine.sequence.decoding.error_analysis")],
       headings=("Error analysis",), aliases=("y*", "fault")),
    _c("bleu", "BLEU score", S2S,
       "Bilingual evaluation understudy: one number for translation quality, from the machine output's "
       "n-grams that also occur in human references, with a brevity penalty.",
       "Engine only for now: engine.sequence.bleu (bleu, corpus_bleu); not shown in the app yet.",
       status="partial", targets=[("engine", "engine.sequence.bleu.bleu"), ("engine", "engine.sequence.bleu.corpus_bleu")],
       aliases=("Bleu Score", "bilingual evaluation understudy", "n-gram", "brevity penalty")),
    _c("attention", "Attention model", S2S,
       "Long sentences hurt an encoder-decoder; like a human translator, attend to a few nearby input words "
       "at each output step, with weights alpha<t,t'> from a small network and a softmax.",
       "AttentionDecoder and AdditiveAttention (Attention family); preset dates_attention.",
       targets=[("layer", "AttentionDecoder"), ("layer", "AdditiveAttention"), ("layer", "ScaledDotProductAttention"),
                ("preset", "dates_attention")],
       show=("preset", "dates_attention"), headings=("Attention Model.",), aliases=("attention weights",
                                                                                   "context vector", "alpha")),
    _c("speech_trigger", "Speech recognition and trigger word detection", S2S,
       "Audio sliced in time into frequencies (a spectrogram) goes into an attention or RNN model; a trigger "
       "word model outputs 1 right after the word was said.",
       "Coming: no audio or trigger-word panel yet (Conv1D and GRU layers exist to build one).",
       status="coming", targets=[("layer", "Conv1D")],
       headings=("Speech recognition & Trigger word Detection.",), aliases=("audio", "spectrogram", "wake word",
                                                                           "trigger word")),
)

#: notes' short stand-alone lines that are not concepts (a credit line)
NOT_CONCEPTS = ("Thanks to 3Blue1Brown videos on neural network, makes visualization so easy.",)

BY_KEY = {c.key: c for c in CONCEPTS}


def get(key):
    """The concept with ``key`` (KeyError if there is none)."""
    return BY_KEY[key]


def notes_path():
    """Where COURSE_NOTES.txt is: the repository's resources/ (or its root); None if absent."""
    for p in (REPO_ROOT / "resources" / "COURSE_NOTES.txt", REPO_ROOT / "COURSE_NOTES.txt"):
        if p.is_file():
            return p
    return None


def normalise(text):
    """Lower case, typographic quotes straightened, only letters/digits/spaces kept."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def notes_headings(text, max_len=70):
    """The notes' section titles: short lines (at most ``max_len`` characters, not a numbered item)
    with a blank line (or the start) before them and a blank line or a long paragraph after them.
    Returns the lines as written."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or len(s) > max_len or re.match(r"^\d+\.", s):
            continue
        before = lines[i - 1].strip() if i > 0 else ""
        after = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if not before and (not after or len(after) > 2 * max_len):
            out.append(s)
    return out


def paragraph_titles(text):
    """'Title - explanation' paragraphs of the notes: the part before ' - ' (or '- ') when short."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^\s*(?:\d+\.\s*)?([^.\n]{2,60}?)\s*-\s", line)
        if m:
            out.append(m.group(1).strip())
    return out


def concepts_for_heading(heading):
    """Concepts that claim the notes' ``heading`` (exact line, compared normalised)."""
    h = normalise(heading)
    return [c for c in CONCEPTS if any(normalise(x) == h for x in c.headings)]


def concepts_for(kind, value):
    """Concepts that name target ``(kind, value)``, e.g. ("layer", "Conv2D"): first those naming it
    first (in index order), then those whose "Show me" shows it, then the rest."""
    t = (kind, value)
    hits = [c for c in CONCEPTS if t in c.targets or c.show == t]
    hits.sort(key=lambda c: (c.targets[:1] != (t,), c.show != t and c.targets[:1] != (t,)))
    return hits


def search(query, status=None):
    """Concepts matching every word of ``query`` (title, aliases, headings, notes, where), best first.

    A word in the title or an alias ranks above one only in the explanation. ``status`` filters
    ("available", "partial", "coming"; None: all). An empty query returns every concept in order.
    """
    pool = [c for c in CONCEPTS if status is None or c.status == status]
    words = normalise(query).split()
    if not words:
        return list(pool)
    scored = []
    for order, c in enumerate(pool):
        hay = normalise(c.haystack())
        if not all(w in hay for w in words):
            continue
        title = normalise(c.title)
        aliases = [normalise(a) for a in c.aliases]
        q = " ".join(words)
        score = 0
        if q == title or q in aliases or any(q == normalise(h) for h in c.headings):
            score += 100
        for w in words:
            if w in title.split():
                score += 10
            elif w in title:
                score += 6
            if any(w == a or w in a.split() for a in aliases):
                score += 5
        scored.append((-score, order, c))
    scored.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in scored]


def check_target(kind, value):
    """Whether an engine-side target exists. Returns '' when it does, else a message saying why not.

    Kinds: see the module docstring. "widget" and "panel" are not resolvable here (they need the
    main window) and return a message saying so.
    """
    try:
        if kind == "layer":
            from .layers.base import LAYER_TYPES
            return "" if value in LAYER_TYPES else f"no registered layer type {value!r}"
        if kind == "option":
            from .layers.base import LAYER_TYPES
            type_name, _, param = value.partition(".")
            cls = LAYER_TYPES.get(type_name)
            if cls is None:
                return f"no registered layer type {type_name!r}"
            params = inspect.signature(cls.__init__).parameters
            return "" if param in params else f"{type_name} has no option {param!r}"
        if kind == "activation":
            from .layers.activations import ACTIVATION_KINDS
            return "" if value in ACTIVATION_KINDS else f"no activation kind {value!r}"
        if kind == "optimizer":
            from .optimizers import optimizer_names
            return "" if value in optimizer_names() else f"no optimizer {value!r}"
        if kind == "schedule":
            from .schedules import schedule_names
            return "" if value in schedule_names() else f"no schedule {value!r}"
        if kind == "loss":
            from .losses import loss_names
            return "" if value in loss_names() else f"no loss {value!r}"
        if kind == "initializer":
            from .initializers import INITIALIZER_NAMES
            return "" if value in INITIALIZER_NAMES else f"no initializer {value!r}"
        if kind == "setting":
            from dataclasses import fields

            from .training import TrainConfig
            return "" if value in {f.name for f in fields(TrainConfig)} else f"no training setting {value!r}"
        if kind == "dataset":
            from .data import dataset_names
            return "" if value in dataset_names() else f"no data set {value!r}"
        if kind == "preset":
            return "" if (PRESETS_DIR / f"{value}.json").is_file() else f"no preset presets/{value}.json"
        if kind == "cli":
            from .cli import SUBCOMMANDS, build_parser
            build_parser()  # registers the subcommands of the optional modules
            return "" if value in SUBCOMMANDS else f"no nnplay subcommand {value!r}"
        if kind == "engine":
            parts = value.split(".")
            for i in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                except ImportError:
                    continue
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
                return ""
            return f"cannot import {value!r}"
    except AttributeError:
        return f"{value!r} does not exist"
    if kind in GUI_KINDS:
        return f"{kind} targets are checked against the main window"
    return f"unknown target kind {kind!r}"


def command_line(target_value):
    """The example command line shown for a ``cli`` target."""
    examples = {"gradcheck": "nnplay gradcheck lenet5", "summary": "nnplay summary lenet5",
                "evaluate": "nnplay evaluate MODEL.npz", "sample": "nnplay sample MODEL.npz --temperature 0.8",
                "import": "nnplay import MODEL.onnx OUT.npz", "export": "nnplay export MODEL.npz OUT.onnx",
                "train": "nnplay train digits_mlp --save MODEL.npz"}
    return examples.get(target_value, f"nnplay {target_value} --help")
