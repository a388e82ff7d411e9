"""Model builders. Every model takes **raw FER-2013 images**: ``(48, 48, 1)`` grey values 0–255.

Pre-processing lives inside the model (a ``Rescaling`` layer, and ``Resizing`` when the
network works at another size), so a saved model is used the same way everywhere:
training, ``python -m fer_utils evaluate``, the webcam loop. Nothing can be normalised twice
or not at all.
"""
from __future__ import annotations

INPUT_SHAPE = (48, 48, 1)


def _keras():
    import fer_utils  # noqa: F401  (oneDNN off before TensorFlow loads)
    import keras
    return keras


def _preprocess(x, size: int, scale: str):
    keras = _keras()
    if size != INPUT_SHAPE[0]:
        x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(x)
    if scale == "unit":
        return keras.layers.Rescaling(1 / 255.0, name="to_unit")(x)
    if scale == "symmetric":
        return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_symmetric")(x)
    raise ValueError(f"scale must be 'unit' ([0, 1]) or 'symmetric' ([-1, 1]), not {scale!r}")


def plain_cnn(depth: int = 4, width: int = 16, *, n_classes: int = 7, head: str = "dense",
              dropout: float = 0.3, input_size: int = 48, max_width: int = 256,
              bn_momentum: float = 0.9,
              name: str | None = None):
    """A plain CNN of ``depth`` convolution blocks, the network of the depth ablation.

    Block ``i`` (0-based) is Conv 3×3 with ``min(width·2^i, max_width)`` filters → batch
    normalisation → ReLU, followed by 2×2 max pooling while the feature map is larger than
    3×3 (48 → 24 → 12 → 6 → 3), and by spatial dropout in the deeper half. So depth changes
    the number of learned stages, not only the receptive field.

    Head: ``"dense"`` (default) is flatten → Dense(256) → dropout → softmax, the fully
    connected head with dropout that seed 004 describes. ``"gap"`` is global average pooling →
    dropout → softmax: far fewer parameters, but on FER-2013 it learns much more slowly (on
    12,000 training images, 3 epochs: 26 % vs 42 % PublicTest accuracy), so it suits long
    trainings such as mini-Xception's, not a 12-epoch ablation.

    Batch normalisation uses momentum 0.9 instead of Keras's 0.99: with the default, the
    moving statistics used at inference lag far behind in short trainings and the model
    predicts a single class on PublicTest for the first epochs.

    Parameters
    ----------
    depth : int
        Number of conv blocks (the ablation uses 3–6; 1–8 allowed).
    width : int
        Filters of the first block.
    n_classes : int
        7 (FER-2013) or 8 (FERPlus with contempt).

    Returns
    -------
    keras.Model
        Input ``(48, 48, 1)`` raw grey values; output ``(n_classes,)`` probabilities.
    """
    keras = _keras()
    L = keras.layers
    if not 1 <= depth <= 8:
        raise ValueError(f"depth must be between 1 and 8, not {depth}")
    if head not in ("gap", "dense"):
        raise ValueError(f"head must be 'gap' or 'dense', not {head!r}")
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _preprocess(inputs, input_size, "unit")
    size = input_size
    for i in range(depth):
        x = L.Conv2D(min(width * 2**i, max_width), 3, padding="same", use_bias=False,
                     name=f"conv{i + 1}")(x)
        x = L.BatchNormalization(momentum=bn_momentum, name=f"bn{i + 1}")(x)
        x = L.Activation("relu", name=f"relu{i + 1}")(x)
        if size > 3:
            x = L.MaxPooling2D(2, name=f"pool{i + 1}")(x)
            size //= 2
        if i >= depth // 2 and dropout > 0:
            x = L.SpatialDropout2D(dropout / 2, name=f"drop{i + 1}")(x)
    if head == "gap":
        x = L.GlobalAveragePooling2D(name="gap")(x)
    else:
        x = L.Flatten(name="flatten")(x)
        x = L.Dense(256, activation="relu", name="fc")(x)
    x = L.Dropout(dropout, name="dropout")(x)
    outputs = L.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or f"cnn_d{depth}_w{width}")


def mini_xception(*, n_classes: int = 7, input_size: int = 64, l2: float = 0.01,
                  bn_momentum: float = 0.99, name: str | None = None):
    """mini-Xception (Arriaga, Valdenegro-Toro & Plöger, 2017), the real-time model of Chapter 4.

    Architecture as the paper describes it:

    * base: two Conv 3×3 (8 filters, no padding) → batch norm → ReLU;
    * four residual modules with 16, 32, 64, 128 filters. Main path: separable Conv 3×3 →
      BN → ReLU → separable Conv 3×3 → BN → max pooling 3×3 stride 2. Shortcut: Conv 1×1
      stride 2 → BN. The two paths are added;
    * a Conv 3×3 with one filter per class → global average pooling → softmax.

    No fully connected layer: with 7 classes the network has 58,423 parameters whatever the
    input size (56,951 trainable). Convolution kernels carry an L2 penalty of ``l2``.

    The paper feeds 64×64 grey faces scaled to [-1, 1]. FER-2013 images are 48×48, so
    ``input_size=64`` upsamples inside the model (a ``Resizing`` layer); ``input_size=48``
    skips that and trains about 30 % faster on a CPU with the same parameter count.

    Parameters
    ----------
    n_classes : int
        7 (FER-2013) or 8 (FERPlus with contempt).
    input_size : int
        Side of the square the network sees (the model's input is always raw 48×48×1).
    l2 : float
        L2 regularisation factor on convolution kernels (the paper: 0.01).
    bn_momentum : float
        Batch-norm momentum (Keras default 0.99, as the reference).

    Returns
    -------
    keras.Model
        Input ``(48, 48, 1)`` raw grey values 0–255; output ``(n_classes,)`` probabilities.
    """
    keras = _keras()
    L = keras.layers
    if input_size < 32:
        raise ValueError(f"input_size must be at least 32 (four stride-2 stages), not {input_size}")
    reg = keras.regularizers.L2(l2) if l2 else None

    def bn(x, label):
        return L.BatchNormalization(momentum=bn_momentum, name=label)(x)

    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _preprocess(inputs, input_size, "symmetric")
    for i in (1, 2):
        x = L.Conv2D(8, 3, use_bias=False, kernel_regularizer=reg, name=f"base_conv{i}")(x)
        x = L.Activation("relu", name=f"base_relu{i}")(bn(x, f"base_bn{i}"))
    for i, filters in enumerate((16, 32, 64, 128), start=1):
        shortcut = L.Conv2D(filters, 1, strides=2, padding="same", use_bias=False,
                            name=f"m{i}_shortcut")(x)
        shortcut = bn(shortcut, f"m{i}_shortcut_bn")
        x = L.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg,
                              pointwise_regularizer=reg, name=f"m{i}_sep1")(x)
        x = L.Activation("relu", name=f"m{i}_relu")(bn(x, f"m{i}_bn1"))
        x = L.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg,
                              pointwise_regularizer=reg, name=f"m{i}_sep2")(x)
        x = bn(x, f"m{i}_bn2")
        x = L.MaxPooling2D(3, strides=2, padding="same", name=f"m{i}_pool")(x)
        x = L.Add(name=f"m{i}_add")([x, shortcut])
    x = L.Conv2D(n_classes, 3, padding="same", kernel_regularizer=reg, name="class_conv")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    outputs = L.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or "mini_xception")


BUILDERS = {"cnn": plain_cnn, "mini_xception": mini_xception}


def build(kind: str, **kwargs):
    """Build a model by name (``"cnn"``, ``"mini_xception"``); keyword arguments go to the builder."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown model {kind!r}; available: {', '.join(sorted(BUILDERS))}")
    return BUILDERS[kind](**kwargs)


def count_params(model) -> int:
    """Trainable plus non-trainable parameters."""
    return int(model.count_params())


def layer_table(model):
    """One row per layer with weights: name, type, output shape, parameters (a DataFrame)."""
    import pandas as pd

    rows = []
    for layer in model.layers:
        n = layer.count_params()
        if n == 0 and type(layer).__name__ not in ("Add", "GlobalAveragePooling2D", "MaxPooling2D"):
            continue
        shape = tuple(layer.output.shape[1:]) if hasattr(layer, "output") else ()
        rows.append({"layer": layer.name, "type": type(layer).__name__,
                     "output": "×".join(str(d) for d in shape), "params": n})
    return pd.DataFrame(rows).set_index("layer")
