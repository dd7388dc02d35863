"""Tooltip texts for the inspector's hyperparameter fields, in the course notes' own terms.

One table for every layer option (:data:`OPTION_HELP`), a few per-layer-type overrides where one
option name means different things (:data:`TYPE_OPTION_HELP`, e.g. ZeroPadding2D's ``padding`` is
an amount, Conv2D's a mode), and explanations of each choice of an enumerated option
(:data:`CHOICE_HELP`: activation kinds, initializers, padding modes) shown as the combo box items'
tooltips. :func:`option_help` and :func:`choice_help` are the look-ups the inspector uses.
"""

from __future__ import annotations

import html

#: option name -> explanation (any layer type)
OPTION_HELP = {
    # dense / recurrent sizes
    "units": "Number of neurons (hidden units) in this layer: the size of its output a. More units "
             "fit more complicated functions (less bias) but overfit more easily (more variance).",
    "filters": "Number of filters, i.e. output channels (feature maps): each filter learns to detect one "
               "feature (an edge, a corner...) anywhere in the image.",
    "kernel_size": "Height and width f of each filter, e.g. 3 for 3x3 filters like the notes' vertical and "
                   "horizontal edge detectors. Odd sizes have a centre pixel and pad by a whole number.",
    "stride": "Step s of the filter or pooling window as it slides over the input: stride 2 roughly halves "
              "the height and width, output size floor((n + 2p - f)/s) + 1.",
    "padding": "'valid': no padding, the output shrinks by f - 1 and border pixels are used less; 'same': pad "
               "with p = (f - 1)/2 zeros so the output keeps the input's size (an odd filter pads a whole "
               "number of pixels on each side).",
    "dilation": "Spacing between the filter's taps (dilated convolution): a wider view of the input with "
                "the same number of weights.",
    "pool_size": "Size of the pooling window: max pooling keeps the largest value of each block (was the "
                 "feature detected anywhere in it?), average pooling their mean. Nothing to learn: "
                 "pooling has no weights, only these hyperparameters.",
    # dropout
    "rate": "Fraction of units dropped (set to zero) at random in each training step; keep_prob = 1 - rate. "
            "Inverted dropout scales the surviving activations by 1/keep_prob, so the expected value is "
            "unchanged and nothing changes at test time (no dropout then). Dropping units regularizes: "
            "no unit can rely on any one input, so weights spread out.",
    "seed": "Random seed of this layer's dropout masks (empty: drawn from the training seed).",
    # activations
    "kind": "Activation function g(z) applied value by value: sigmoid and tanh saturate (gradient near "
            "zero) beyond about +-2; ReLU max(0, z) learns fast but a unit can die (always 0); leaky ReLU "
            "keeps a small slope below 0; softmax turns the outputs into probabilities that sum to 1; "
            "step (the perceptron's) has no useful gradient so it cannot learn by gradient descent.",
    "activation": "Activation function g(z) applied value by value (see the Activation layer's kinds).",
    "alpha": "Leaky ReLU: the small slope below 0 (e.g. 0.01x) that keeps every unit alive; ELU: the scale "
             "of its exponential part below 0.",
    # weights
    "initializer": "How the weights start (random, to break symmetry): Xavier draws with variance 1/n "
                   "(n = inputs per unit), for tanh/sigmoid; He with variance 2/n, for ReLU; 'auto' picks "
                   "by the next activation; normal: small random numbers; zeros: every unit stays the same.",
    "l1": "L1 regularization strength lambda on this layer's weights: adds lambda * sum|w| to the cost, "
          "which pushes many weights to exactly zero (a sparse model).",
    "l2": "L2 regularization strength lambda (weight decay): adds lambda/(2m) * sum w^2 to the cost, so each "
          "step shrinks the weights a little; small weights mean a simpler function and less overfitting.",
    "use_bias": "Add a bias b to each unit's weighted sum: z = W a + b. Off when a BatchNorm follows "
                "(its beta takes the bias's role).",
    "trainable": "Untick to freeze the layer: its weights stay as they are during training. Transfer "
                 "learning: keep a pretrained network's early layers frozen and train only the last ones "
                 "on your (smaller) data.",
    # shapes
    "shape": "Shape of one sample, without the batch axis m, e.g. 64 or 1, 28, 28 (channels, height, width).",
    "axis": "Axis of each sample the operation works along (-1 is the last; the batch axis is not counted).",
    "perm": "New order of the sample's axes, e.g. 1, 0 swaps the two axes of a (T, features) sample.",
    "indices": "Which entries to pick along the axis (fixed positions, counted from 0).",
    # recurrent
    "return_sequences": "On: output the hidden state a<t> of every time step (many-to-many, e.g. a tag per "
                        "word), needed to stack another RNN on top for a deep RNN. Off: only the last "
                        "step's a<T> (many-to-one, e.g. one label for a sentence).",
    "go_backwards": "Read the sequence from its end to its start (the backward half of a bidirectional RNN).",
    "initial_state": "The hidden state a<0> before the first step (empty: zeros).",
    "layer": "The wrapped layer's settings (the recurrent layer a BRNN runs both ways, or the layer applied "
             "at every time step).",
    "merge": "How the forward and backward hidden states of a bidirectional RNN are combined at each step "
             "('concat' puts them side by side, doubling the size).",
    # normalization
    "momentum": "BatchNorm: how slowly the running (exponentially weighted) averages of the mean and variance "
                "follow each mini-batch; those averages are used at test time.",
    "epsilon": "Small constant added to the variance before dividing, so BatchNorm never divides by zero.",
    "eps": "Small constant added before dividing, so the layer never divides by zero.",
    # embeddings / attention
    "input_dim": "Vocabulary size: how many different tokens (rows of the embedding matrix E) there are.",
    "output_dim": "Length of each word's embedding vector e_w (its features, learned from the data).",
    "attention_units": "Size of the small network that computes the attention energies e<t,t'> from the "
                       "decoder state and each encoder state; a softmax over them gives the weights alpha.",
    "steps": "Number of output steps the decoder produces (Ty), e.g. 10 characters of an ISO date.",
    "causal": "Mask the future: each position may only attend to itself and earlier positions.",
    # composite blocks
    "batchnorm": "Put a BatchNorm after each convolution of the block, as in ResNet.",
    "f1": "Inception: filters of the 1x1 convolution branch.",
    "f3_reduce": "Inception: filters of the 1x1 convolution that shrinks the channels before the 3x3 branch "
                 "(a bottleneck layer: far fewer multiplications).",
    "f3": "Inception: filters of the 3x3 convolution branch.",
    "f5_reduce": "Inception: filters of the 1x1 bottleneck before the 5x5 branch.",
    "f5": "Inception: filters of the 5x5 convolution branch.",
    "pool_proj": "Inception: filters of the 1x1 convolution after the max-pool branch (so pooling does not "
                 "keep all the input channels).",
    # element-wise
    "op": "The operation applied value by value (with broadcasting).",
    "value": "The fixed tensor (or number) combined with each sample.",
}

#: (layer type, option) -> explanation, where one option name means something else for that type
TYPE_OPTION_HELP = {
    ("ZeroPadding2D", "padding"): "How many rows/columns of zeros to add around each feature map: one number "
                                  "for all sides, or (top/bottom, left/right). Padding p keeps border pixels "
                                  "in play and the output from shrinking.",
    ("Reshape", "shape"): "The new shape of each sample (without the batch axis), same number of values; one "
                          "size may be -1 (worked out from the others).",
    ("ConstantOp", "op"): "How each sample x is combined with the fixed tensor c: x + c, x - c, c - x, x * c or "
                          "x / c (broadcasting).",
    ("Elementwise", "op"): "How the two inputs a and b are combined value by value: a + b, a - b, a * b or a / b.",
    ("AdditiveAttention", "units"): "Size of the small network that scores how much attention each input step "
                                    "gets (the energies e<t,t'>).",
    ("Dense", "units"): "Number of neurons in this fully connected layer: the length of its output a. More units "
                        "fit more complicated functions (less bias) but overfit more easily (more variance).",
}

#: option -> {choice -> explanation}: tooltips of the combo box items
CHOICE_HELP = {
    "kind": {
        "sigmoid": "1/(1 + e^-z), output in (0, 1): for a yes/no output. Saturates beyond about +-2: the "
                   "gradient vanishes and learning slows.",
        "tanh": "Output in (-1, 1), centred on 0 (usually better than sigmoid in hidden layers); saturates "
                "beyond about +-2 like the sigmoid.",
        "relu": "max(0, z): no saturation for z > 0, so it learns fast; but a unit whose z stays below 0 "
                "dies (output and gradient always 0).",
        "leaky_relu": "z for z > 0, a small slope (alpha z) below: keeps every unit alive, ReLU's fix.",
        "elu": "z for z > 0, alpha (e^z - 1) below: smooth, negative outputs push the mean towards 0.",
        "linear": "g(z) = z: no non-linearity. Stacked linear layers are one linear function; use it for a "
                  "regression output.",
        "softmax": "e^z / sum e^z: the outputs are probabilities that sum to 1, for choosing one class "
                   "among several (with the log-likelihood cost).",
        "step": "The perceptron's 0/1 step: a small weight change can flip the output completely, and its "
                "gradient is 0 everywhere, so it cannot learn by gradient descent (shown for comparison).",
    },
    "initializer": {
        "auto": "He before ReLU-like activations, Xavier before tanh/sigmoid.",
        "he": "He: random with variance 2/n (n = inputs per unit), for ReLU.",
        "xavier": "Xavier: random with variance 1/n, for tanh (keeps z from growing or shrinking layer by layer).",
        "glorot": "Glorot: variance 2/(n_in + n_out), a variant of Xavier.",
        "normal": "Small random numbers (0.01 * a normal draw): fine for shallow networks.",
        "zeros": "All weights 0: every unit of a layer computes the same thing and learns the same thing "
                 "(symmetry is never broken).",
    },
    "padding": {
        "valid": "No padding: the output shrinks by f - 1 (n - f + 1).",
        "same": "Zero padding p = (f - 1)/2 keeps the output as big as the input.",
    },
}
CHOICE_HELP["activation"] = CHOICE_HELP["kind"]
for _k in ("kernel_initializer", "recurrent_initializer"):
    CHOICE_HELP[_k] = CHOICE_HELP["initializer"]
    OPTION_HELP[_k] = OPTION_HELP["initializer"]


def option_help(type_name, key):
    """Tooltip for option ``key`` of a layer of type ``type_name`` ("" when there is none)."""
    return TYPE_OPTION_HELP.get((type_name, key)) or OPTION_HELP.get(key, "")


def choice_help(key, choice):
    """Tooltip for one choice of an enumerated option ("" when there is none)."""
    return CHOICE_HELP.get(key, {}).get(str(choice), "")


def rich(text):
    """A tooltip Qt word-wraps: plain text shows as one line as wide as the screen, rich text wraps."""
    if not text or text.lstrip().startswith("<"):
        return text
    return "<p>" + html.escape(text) + "</p>"


def plain(tooltip):
    """The text of a tooltip made by :func:`rich`."""
    t = tooltip or ""
    if t.startswith("<p>") and t.endswith("</p>"):
        t = html.unescape(t[3:-4])
    return t
