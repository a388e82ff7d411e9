"""Model builders. Every model takes **raw FER-2013 images**: ``(48, 48, 1)`` grey values 0–255.

Pre-processing lives inside the model (a ``Rescaling`` layer, and ``Resizing`` when the
network works at another size), so a saved model is used the same way everywhere:
training, ``python -m fer_utils evaluate``, the webcam loop. Nothing can be normalised twice
or not at all.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

INPUT_SHAPE = (48, 48, 1)


def _keras():
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
    connected head with dropout that Yang, Zhang & Zheng describe. ``"gap"`` is global average pooling →
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


#: Where :func:`mini_xception` puts its L2 penalty: ``"all"`` (every convolution kernel: the
#: course's first reading of the paper) or ``"reference"`` (the two base convolutions only:
#: what Arriaga et al.'s Keras 2 code applied, see :func:`mini_xception`).
L2_SCOPES = ("all", "reference")


def mini_xception(*, n_classes: int = 7, input_size: int = 64, l2: float = 0.01,
                  l2_scope: str = "all", bn_momentum: float = 0.99, name: str | None = None):
    """mini-Xception (Arriaga, Valdenegro-Toro & Plöger, 2017), the real-time model of Chapter 4.

    Architecture as the paper describes it:

    * base: two Conv 3×3 (8 filters, no padding) → batch norm → ReLU;
    * four residual modules with 16, 32, 64, 128 filters. Main path: separable Conv 3×3 →
      BN → ReLU → separable Conv 3×3 → BN → max pooling 3×3 stride 2. Shortcut: Conv 1×1
      stride 2 → BN (built as every-second-pixel subsampling, then Conv 1×1: the same
      function, safe under oneDNN). The two paths are added;
    * a Conv 3×3 with one filter per class → global average pooling → softmax.

    No fully connected layer: with 7 classes the network has 58,423 parameters whatever the
    input size (56,951 trainable), as the reference's ``model.summary()``.

    **Where the L2 penalty sits** (``l2_scope``). The reference code (``mini_XCEPTION`` in
    oarriaga/face_classification) passes ``kernel_regularizer=l2(0.01)`` to the two base
    convolutions and to every ``SeparableConv2D``, and comments it out on the class
    convolution. Keras 2's ``SeparableConv2D`` takes ``depthwise_regularizer`` and
    ``pointwise_regularizer``; a ``kernel_regularizer`` goes through ``**kwargs`` to the base
    class, is stored, and is never used when the depthwise and pointwise kernels are
    created. So the reference trained with L2 on the two base convolutions only:
    ``l2_scope="reference"``. ``"all"`` (the default, Chapter 4's models) also penalises every
    separable kernel and the class convolution: a much stronger regulariser, under which the
    network underfits FER-2013.

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
        L2 regularisation factor (the paper: 0.01).
    l2_scope : {"all", "reference"}
        Which kernels carry it (above).
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
    if l2_scope not in L2_SCOPES:
        raise ValueError(f"l2_scope must be one of {', '.join(L2_SCOPES)}, not {l2_scope!r}")
    reg = keras.regularizers.L2(l2) if l2 else None
    inner = reg if l2_scope == "all" else None  # separable and class kernels

    def bn(x, label):
        return L.BatchNormalization(momentum=bn_momentum, name=label)(x)

    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _preprocess(inputs, input_size, "symmetric")
    for i in (1, 2):
        x = L.Conv2D(8, 3, use_bias=False, kernel_regularizer=reg, name=f"base_conv{i}")(x)
        x = L.Activation("relu", name=f"base_relu{i}")(bn(x, f"base_bn{i}"))
    for i, filters in enumerate((16, 32, 64, 128), start=1):
        # the 1×1 stride-2 projection, written as "take every second pixel, then 1×1 conv":
        # the same function and weights, without the strided 1×1 convolution whose gradient
        # crashes oneDNN (fer_utils.runtime, "oneDNN")
        shortcut = L.AveragePooling2D(1, strides=2, name=f"m{i}_subsample")(x)
        shortcut = L.Conv2D(filters, 1, use_bias=False, name=f"m{i}_shortcut")(shortcut)
        shortcut = bn(shortcut, f"m{i}_shortcut_bn")
        x = L.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=inner,
                              pointwise_regularizer=inner, name=f"m{i}_sep1")(x)
        x = L.Activation("relu", name=f"m{i}_relu")(bn(x, f"m{i}_bn1"))
        x = L.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=inner,
                              pointwise_regularizer=inner, name=f"m{i}_sep2")(x)
        x = bn(x, f"m{i}_bn2")
        x = L.MaxPooling2D(3, strides=2, padding="same", name=f"m{i}_pool")(x)
        x = L.Add(name=f"m{i}_add")([x, shortcut])
    x = L.Conv2D(n_classes, 3, padding="same", kernel_regularizer=inner, name="class_conv")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    outputs = L.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or "mini_xception")


def vgg_net(*, widths=(32, 64, 128, 256), convs: int = 2, n_classes: int = 7,
            dropout: float = 0.4, head_units: int = 256, bn_momentum: float = 0.9,
            name: str | None = None):
    """A VGG-style network sized for two CPU cores: the recipe chapter's model.

    Four stages at 48, 24, 12 and 6 pixels, each ``convs`` × [Conv 3×3 → batch norm → ReLU]
    with ``widths`` filters, then 2×2 max pooling and a light spatial dropout; a head of
    flatten (3×3×256) → Dense(``head_units``) → batch norm → ReLU → dropout → softmax.
    1.77 M parameters at the defaults, no strided 1×1 convolution (safe under oneDNN). Input:
    raw 48×48×1 grey values, scaled inside the model.
    """
    keras = _keras()
    L = keras.layers
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = _preprocess(inputs, INPUT_SHAPE[0], "unit")
    for i, filters in enumerate(widths, start=1):
        for j in range(1, convs + 1):
            x = L.Conv2D(filters, 3, padding="same", use_bias=False, name=f"s{i}_conv{j}")(x)
            x = L.BatchNormalization(momentum=bn_momentum, name=f"s{i}_bn{j}")(x)
            x = L.Activation("relu", name=f"s{i}_relu{j}")(x)
        x = L.MaxPooling2D(2, name=f"s{i}_pool")(x)
        x = L.SpatialDropout2D(0.1, name=f"s{i}_drop")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(head_units, use_bias=False, name="fc")(x)
    x = L.BatchNormalization(momentum=bn_momentum, name="fc_bn")(x)
    x = L.Activation("relu", name="fc_relu")(x)
    x = L.Dropout(dropout, name="dropout")(x)
    outputs = L.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or "vgg_net")


def _map_input(input_shape, scale: float | None):
    """Input layer + scaling for models that take ES-MAPs or other non-48×48 arrays.

    ``scale`` multiplies the input (ES-MAPs in ±0.1 → ``scale=10``; RGB renderings in 0–255 →
    ``1/255``); ``None`` leaves it alone.
    """
    keras = _keras()
    inputs = keras.Input(tuple(input_shape), name="image")
    x = keras.layers.Rescaling(scale, name="scale")(inputs) if scale else inputs
    return inputs, x


def esh_net(*, input_shape=(62, 62, 3), scale: float | None = 1 / 255.0, n_classes: int = 7,
            name: str | None = None):
    """ESH-Net (Yang & Chen), the LeNet-like network the ES-MAP paper trains on its heatmaps.

    As its reference code builds it: Conv(6, 5×5) → Conv(6, 3×3) → ReLU → max pool →
    Conv(16, 5×5) → max pool → Conv(32, 5×5) → max pool → Conv(120, 3×3) → flatten →
    Dense(84, ReLU) → Dense(n_classes, softmax); "same" padding, Adam 1e-3 in the paper.

    Its size is set by the flatten → Dense(84) step and so by the input area: the reference's
    ≈1.06 M parameters correspond to a 10×10×120 feature map; at the default input — the
    reference's heatmap as it reaches the network, 62×62 RGB — the model has 545 k.

    Parameters
    ----------
    input_shape : tuple
        ``(62, 62, 3)`` for reference renderings (:func:`fer_utils.esmap.reference_image`),
        ``(52, 52, 1)`` for pooled maps, ``(48, 48, 1)`` for face images.
    scale : float or None
        Input multiplier (``1/255`` for 0–255 images, ``10`` for raw ES-MAPs in ±0.1).
    """
    keras = _keras()
    L = keras.layers
    inputs, x = _map_input(input_shape, scale)
    x = L.Conv2D(6, 5, padding="same", name="conv1")(x)
    x = L.Conv2D(6, 3, padding="same", name="conv2")(x)
    x = L.Activation("relu", name="relu")(x)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = L.Conv2D(16, 5, padding="same", name="conv3")(x)
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = L.Conv2D(32, 5, padding="same", name="conv4")(x)
    x = L.MaxPooling2D(2, name="pool3")(x)
    x = L.Conv2D(120, 3, padding="same", name="conv5")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(84, activation="relu", name="fc")(x)
    outputs = L.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or "esh_net")


def convnet4(*, input_shape=(48, 48, 1), scale: float | None = 1 / 255.0, n_classes: int = 7,
             width: int = 128, dropout: float = 0.25, name: str | None = None):
    """The four-layer ConvNet baseline of Yang & Chen (Debnath et al., 2022).

    Four conv blocks of ``width``·(1, 2, 4, 4) filters (128/256/512/512 at the default width),
    kernels 3, 5, 3, 3, each with batch norm → ReLU → 2×2 max pool → dropout; then two dense
    layers (256, 512) with batch norm and dropout, softmax. ``width`` below 128 gives the
    narrower variants the course trains on CPU (and says so).
    """
    keras = _keras()
    L = keras.layers
    inputs, x = _map_input(input_shape, scale)
    for i, (mult, k) in enumerate(((1, 3), (2, 5), (4, 3), (4, 3)), start=1):
        x = L.Conv2D(width * mult, k, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = L.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = L.Activation("relu", name=f"relu{i}")(x)
        x = L.MaxPooling2D(2, name=f"pool{i}")(x)
        x = L.Dropout(dropout, name=f"drop{i}")(x)
    x = L.Flatten(name="flatten")(x)
    for i, units in enumerate((256, 512), start=1):
        x = L.Dense(units, use_bias=False, name=f"fc{i}")(x)
        x = L.BatchNormalization(momentum=0.9, name=f"fc{i}_bn")(x)
        x = L.Activation("relu", name=f"fc{i}_relu")(x)
        x = L.Dropout(dropout, name=f"fc{i}_drop")(x)
    outputs = L.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or f"convnet4_w{width}")


class WeightsUnavailable(RuntimeError):
    """ImageNet weights were asked for but cannot be loaded here (no network, no cache)."""


def _application_base(ctor, *, weights: str | None, input_shape: tuple, **kwargs):
    """A ``keras.applications`` base with ``weights`` None, ``"imagenet"`` or ``"auto"``.

    ``"auto"`` tries ImageNet and falls back to random initialisation when the weights cannot
    be fetched; ``"imagenet"`` raises :class:`WeightsUnavailable` with what to do instead.
    Returns ``(base, origin)`` with origin ``"imagenet"`` or ``"scratch"``.
    """
    if weights not in (None, "imagenet", "auto"):
        raise ValueError(f"weights must be None, 'imagenet' or 'auto', not {weights!r}")
    if weights is None:
        return ctor(include_top=False, weights=None, input_shape=input_shape, **kwargs), "scratch"
    try:
        return ctor(include_top=False, weights="imagenet", input_shape=input_shape,
                    **kwargs), "imagenet"
    except Exception as exc:  # urllib, HTTP and file errors all mean "not here"
        if weights == "auto":
            return ctor(include_top=False, weights=None, input_shape=input_shape,
                        **kwargs), "scratch"
        raise WeightsUnavailable(
            f"could not load {ctor.__name__}'s ImageNet weights ({type(exc).__name__}: {exc}). "
            "They are downloaded on first use (Colab can); here, pass weights=None to train "
            "from scratch or weights='auto' to fall back to it.") from None


def _base_input(x, channels: int, scale: float | None, *, asked: str | None, origin: str,
                preprocess):
    """Fit the input to a ``keras.applications`` base built by :func:`_application_base`.

    When weights were asked for, the base takes three channels, so grey is repeated; when
    ImageNet weights were really loaded, the input also goes back to 0–255 and through the
    model's own preprocessing.
    """
    keras = _keras()
    L = keras.layers
    if asked and channels == 1:
        x = L.Concatenate(name="to_rgb")([x, x, x])
    if origin == "imagenet":
        x = L.Rescaling(255.0, name="to_255")(x) if scale else x
        x = preprocess(x)
    return x


def resnet50(*, input_shape=(48, 48, 1), scale: float | None = 1 / 255.0, n_classes: int = 7,
             weights: str | None = None, min_size: int = 32, name: str | None = None):
    """ResNet-50 from ``keras.applications`` with a new softmax head.

    ``weights="imagenet"`` loads ImageNet weights (a 94 MB download: only where the network
    allows it, e.g. Colab; the input is then repeated to three channels and scaled as
    ResNet expects); ``"auto"`` falls back to scratch when they cannot be loaded; ``None``
    trains from scratch. Inputs smaller than ``min_size`` are upsampled (ResNet-50 halves the
    resolution five times). The weights' origin is recorded in the model name
    (``resnet50_imagenet`` / ``resnet50_scratch``).
    """
    keras = _keras()
    L = keras.layers
    inputs, x = _map_input(input_shape, scale)
    size = max(min_size, int(input_shape[0]))
    if size != input_shape[0]:
        x = L.Resizing(size, size, name="resize")(x)
    channels = int(input_shape[-1])
    base, origin = _application_base(keras.applications.ResNet50, weights=weights,
                                     input_shape=(size, size, 3 if weights else channels),
                                     pooling="avg")
    x = base(_base_input(x, channels, scale, asked=weights, origin=origin,
                         preprocess=keras.applications.resnet50.preprocess_input))
    outputs = L.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or f"resnet50_{origin}")


#: VGG-16's convolutions: filters per 3×3 convolution, "M" a 2×2 max-pooling
VGG16_LAYERS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def _vgg16_bn_base(x, L):
    """VGG-16's 13 convolutions, each followed by batch norm and ReLU (as torchvision's
    ``vgg16_bn``); ``keras.applications.VGG16`` has no such variant and no ImageNet weights
    exist for it here."""
    block, conv = 1, 1
    for v in VGG16_LAYERS:
        if v == "M":
            x = L.MaxPooling2D(2, name=f"block{block}_pool")(x)
            block, conv = block + 1, 1
            continue
        x = L.Conv2D(v, 3, padding="same", use_bias=False, name=f"block{block}_conv{conv}")(x)
        x = L.BatchNormalization(name=f"block{block}_bn{conv}")(x)
        x = L.Activation("relu", name=f"block{block}_relu{conv}")(x)
        conv += 1
    return x


def vgg16(*, input_shape=(48, 48, 1), scale: float | None = 1 / 255.0, n_classes: int = 7,
          weights: str | None = None, variant: str = "bn-dropout", head_units: int = 256,
          dropout: float = 0.3, conv_bn: bool = False, name: str | None = None):
    """VGG-16 from ``keras.applications`` with Kroening et al.'s classification head.

    The 13 convolutional layers are VGG-16's. Kroening et al.'s baseline ("with overfitting
    control") adds batch normalisation and dropout (0.3); ``variant="bn-dropout"`` builds its
    head as Flatten → [Dense(``head_units``) → BN → ReLU → Dropout] × 2 → softmax, and
    ``variant="plain"`` the same without BN and dropout. The source trained at 128×128 with
    learning rate 1e-4; the input size here is ``input_shape`` (at least 32×32). ``weights``
    as in :func:`resnet50`; the origin is in the model name (``vgg16_bn-dropout_scratch``).
    ``conv_bn=True`` puts batch norm after each of the 13 convolutions (trained from scratch
    only: there are no ImageNet weights for it here); from scratch on a CPU budget the plain
    base did not learn in 4 epochs (Chapter 7), the batch-normalised one does.
    """
    if variant not in ("bn-dropout", "plain"):
        raise ValueError(f"variant must be 'bn-dropout' or 'plain', not {variant!r}")
    keras = _keras()
    L = keras.layers
    inputs, x = _map_input(input_shape, scale)
    size = int(input_shape[0])
    if size < 32:
        raise ValueError(f"VGG-16 needs inputs of at least 32×32, got {size}×{size}")
    channels = int(input_shape[-1])
    if conv_bn:
        if weights:
            raise ValueError("conv_bn=True trains from scratch: pass weights=None")
        x, origin = _vgg16_bn_base(x, L), "scratch"
        variant_name = f"{variant}-convbn"
    else:
        base, origin = _application_base(keras.applications.VGG16, weights=weights,
                                         input_shape=(size, size, 3 if weights else channels))
        x = base(_base_input(x, channels, scale, asked=weights, origin=origin,
                             preprocess=keras.applications.vgg16.preprocess_input))
        variant_name = variant
    x = L.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = L.Dense(head_units, use_bias=variant == "plain", name=f"fc{i}")(x)
        if variant == "bn-dropout":
            x = L.BatchNormalization(name=f"fc{i}_bn")(x)
        x = L.Activation("relu", name=f"fc{i}_relu")(x)
        if variant == "bn-dropout":
            x = L.Dropout(dropout, name=f"fc{i}_drop")(x)
    outputs = L.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name or f"vgg16_{variant_name}_{origin}")


def set_base_trainable(model, trainable: bool | int) -> int:
    """Transfer learning: freeze or unfreeze a ``keras.applications`` base inside ``model``.

    ``False`` freezes the whole base (phase 1: train the new head only), ``True`` unfreezes
    it, and an integer ``n`` unfreezes only the base's last ``n`` layers (phase 2: fine-tune
    the top blocks; batch-norm layers stay frozen, as Keras advises). Recompile afterwards.
    Returns the number of trainable weights tensors.
    """
    keras = _keras()
    bases = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not bases:
        raise ValueError(f"{model.name} has no nested base model to freeze or unfreeze")
    base = bases[0]
    base.trainable = True  # the flag of each layer below decides
    n = len(base.layers) if trainable is True else 0 if trainable is False else int(trainable)
    for i, layer in enumerate(base.layers):
        on = i >= len(base.layers) - n
        if on and not isinstance(trainable, bool) and isinstance(
                layer, keras.layers.BatchNormalization):
            on = False
        layer.trainable = on
    return len(model.trainable_weights)


BUILDERS = {"cnn": plain_cnn, "mini_xception": mini_xception, "vgg_net": vgg_net, "esh_net": esh_net,
            "convnet4": convnet4, "resnet50": resnet50, "vgg16": vgg16}


def build(kind: str, **kwargs):
    """Build a model by name (``"cnn"``, ``"mini_xception"``); keyword arguments go to the builder."""
    if kind not in BUILDERS:
        raise ValueError(f"unknown model {kind!r}; available: {', '.join(sorted(BUILDERS))}")
    import inspect

    accepted = inspect.signature(BUILDERS[kind]).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        options = sorted(k for k in accepted if k not in ("n_classes", "name"))
        raise ValueError(f"unknown argument(s) {unknown} for model {kind!r}; it takes "
                         f"{', '.join(options)}")
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


# --------------------------------------------------------------------------------------
# the portable model form: the builder's name and arguments plus the weights as arrays
# --------------------------------------------------------------------------------------

#: The two files of a portable model, side by side (an artifact's model, since the Colab issue):
#: ``model.json`` names the builder of :data:`BUILDERS` and its arguments and lists every
#: weight's path and shape; ``model.weights.npz`` holds the weights as plain arrays, in the
#: order of ``model.weights``. Loading rebuilds the architecture with the course's own builder
#: (as ``keras.applications`` does) and assigns the arrays, so it does not depend on the config
#: schema of the Keras that saved it: a model saved by Keras 3.15 loads in Colab's Keras 3.13.
PORTABLE_SPEC = "model.json"
PORTABLE_WEIGHTS = "model.weights.npz"
PORTABLE_FORMAT = 1


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def save_portable(model, folder, builder: str, kwargs: dict):
    """Write ``model`` (built by ``build(builder, **kwargs)``) into ``folder`` in the portable
    form (:data:`PORTABLE_SPEC` + :data:`PORTABLE_WEIGHTS`); returns the spec's path.

    The spec is checked against a fresh build first, so a model that its builder does not
    reproduce (other arguments, another version of the builder) is a ``ValueError`` at save
    time, not at load time."""
    keras = _keras()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kwargs = _jsonable(dict(kwargs))
    fresh = build(builder, **kwargs)
    _check_weights(fresh, [(v.path, tuple(v.shape)) for v in model.weights], f"{builder} model")
    arrays = {f"w{i:04d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.weights)}
    spec = {"format": PORTABLE_FORMAT, "builder": builder, "kwargs": kwargs,
            "weights": [[v.path, list(v.shape)] for v in model.weights],
            "saved_with": {"keras": keras.__version__}}
    np.savez(folder / PORTABLE_WEIGHTS, **arrays)
    (folder / PORTABLE_SPEC).write_text(json.dumps(spec, indent=1))
    return folder / PORTABLE_SPEC


def _check_weights(model, expected: list, what: str) -> None:
    have = [tuple(v.shape) for v in model.weights]
    want = [tuple(shape) for _, shape in expected]
    if have != want:
        first = next((i for i, (a, b) in enumerate(zip(have, want)) if a != b), min(len(have), len(want)))
        name = expected[first][0] if first < len(expected) else "(none)"
        raise ValueError(f"{what}: the builder makes {len(have)} weights, the saved model has "
                         f"{len(want)}; they differ from weight {first} ({name})")


def load_portable(spec_path):
    """The model saved by :func:`save_portable` (``spec_path``: its ``model.json``, or the
    folder holding it), rebuilt and filled with its weights. A damaged or foreign file is a
    ``ValueError`` that says what is wrong."""
    path = Path(spec_path)
    path = path / PORTABLE_SPEC if path.is_dir() else path
    try:
        spec = json.loads(path.read_text())
        builder, kwargs, expected = spec["builder"], spec["kwargs"], spec["weights"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path.name}: not a portable model spec ({exc})") from None
    if spec.get("format") != PORTABLE_FORMAT:
        raise ValueError(f"{path.name}: portable model format {spec.get('format')!r}; this "
                         f"fer_utils reads format {PORTABLE_FORMAT} (update the package)")
    weights = path.parent / PORTABLE_WEIGHTS
    try:
        with np.load(weights) as z:
            arrays = [z[f"w{i:04d}"] for i in range(len(expected))]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{weights.name}: missing or unreadable weights ({exc})") from None
    model = build(builder, **kwargs)
    _check_weights(model, expected, path.parent.name)
    for variable, array in zip(model.weights, arrays):
        variable.assign(array)
    return model


def reference_inputs(spec: dict, n: int = 16):
    """``n`` seeded, deterministic inputs for the model a portable ``spec`` describes: raw
    grey values 0–255 for image models, values in ±0.1 for pooled ES-MAPs (whose builder
    scales by 10). The same on every machine: what a model's probabilities are compared on
    across environments (``tests/test_model_format.py``)."""
    kwargs = spec["kwargs"]
    shape = tuple(kwargs.get("input_shape", INPUT_SHAPE))
    rng = np.random.default_rng(0)
    if (kwargs.get("scale") or 0) > 1:
        return rng.uniform(-0.1, 0.1, (n, *shape)).astype(np.float32)
    return rng.uniform(0, 255, (n, *shape)).astype(np.float32)
