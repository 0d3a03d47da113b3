"""The model zoo: the architectures used by the papers tfxai implements.

Every model is a functional `keras.Model` that outputs **logits** (no softmax),
so losses take `from_logits=True` and explainers choose `output="logits"` or
`"probabilities"` themselves.

| name | paper | architecture |
|---|---|---|
| `cnn2c` | LGL-INR, Table 2 | CV(C20K5)-MP(K2S2)-CV(C50K5)-MP(K2S2)-flatten(800 on 28x28)-K |
| `cnn5c` | LGL-INR, Table 2 | CV(C32K3)-BN-CV(C64K3)-BN-CV(C128K3)-MP-CV(C256K3)-BN-CV(C512K3)-MP-512-K |
| `lenet5` | PC loss (LeCun et al., 1998) | CV(C6K5 same)-MP-CV(C16K5)-MP-120-84-K |
| `substitute` | PC loss, black-box attacks (Papernot et al., 2017) | CV(C32K3)-MP-CV(C64K3)-MP-K |
| `madry_cnn` | IG-NORM (Madry et al., 2018 MNIST model) | CV(C32K5 same)-MP-CV(C64K5 same)-MP-1024-K |
| `vgg13`, `vgg16` | PC loss (CIFAR), small VGG for 32x32 | VGG with BN, `width` multiplier |
| `resnet18`, `resnet56` | PC loss / LGL-INR (CIFAR) | CIFAR ResNets (He et al., 2016) |
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
from keras import layers

_Builder = Callable[..., keras.Model]


def _classifier_head(features, num_classes: int, hidden: Sequence[int] = ()):
    x = features
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"dense_{i + 1}")(x)
    return layers.Dense(num_classes, name="logits")(x)


def _check_spatial(input_shape, min_size: int, name: str, hint: str) -> None:
    if min(input_shape[0], input_shape[1]) < min_size:
        raise ValueError(
            f"Model `{name}` needs inputs of at least {min_size}x{min_size} pixels. "
            f"Received: input_shape={tuple(input_shape)}. {hint}"
        )


def cnn2c(input_shape, num_classes: int, padding: str = "valid", hidden_units: int | None = None):
    """CNN2C of the LGL-INR paper (Table 2).

    Args:
        input_shape: `(height, width, channels)`.
        num_classes: number of output logits.
        padding: convolution padding. The paper's network uses `"valid"` (28x28 -> 800
            features); use `"same"` for small inputs such as the 8x8 digits. Defaults to `"valid"`.
        hidden_units: optional width of a hidden dense layer before the logits (the
            table lists none: 800-10). Defaults to `None`.
    """
    if padding == "valid":
        _check_spatial(input_shape, 16, "cnn2c", "Pass padding='same' for small images.")
    inputs = keras.Input(shape=input_shape, name="images")
    x = layers.Conv2D(20, 5, padding=padding, activation="relu", name="conv_1")(inputs)
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    x = layers.Conv2D(50, 5, padding=padding, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(2, name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    hidden = (hidden_units,) if hidden_units else ()
    return keras.Model(inputs, _classifier_head(x, num_classes, hidden), name="cnn2c")


def cnn5c(input_shape, num_classes: int):
    """CNN5C of the LGL-INR paper (Table 2).

    Convolutions use `"same"` padding; the final MP(K8S1), global on a 28x28 input's
    7x7 map, is realised as global max pooling so the model applies to any size.
    """
    _check_spatial(input_shape, 4, "cnn5c", "")
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for i, (filters, batch_norm, pool) in enumerate(
        [(32, True, False), (64, True, False), (128, False, True), (256, True, False), (512, False, False)]
    ):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv_{i + 1}")(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"bn_{i + 1}")(x)
        if pool:
            x = layers.MaxPooling2D(2, name=f"pool_{i + 1}")(x)
    x = layers.GlobalMaxPooling2D(name="global_pool")(x)
    return keras.Model(inputs, _classifier_head(x, num_classes), name="cnn5c")


def lenet5(input_shape, num_classes: int):
    """LeNet-5 (LeCun et al., 1998) with ReLU, as used by the PC-loss paper for K/F/MNIST."""
    _check_spatial(input_shape, 8, "lenet5", "")
    inputs = keras.Input(shape=input_shape, name="images")
    x = layers.Conv2D(6, 5, padding="same", activation="relu", name="conv_1")(inputs)
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    second_padding = "valid" if min(input_shape[:2]) >= 16 else "same"
    x = layers.Conv2D(16, 5, padding=second_padding, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(2, name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _classifier_head(x, num_classes, (120, 84)), name="lenet5")


def substitute(input_shape, num_classes: int):
    """A 3-layer CNN used as the black-box attacker's substitute (PC paper, Papernot et al. 2017)."""
    _check_spatial(input_shape, 4, "substitute", "")
    inputs = keras.Input(shape=input_shape, name="images")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_1")(inputs)
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(2, name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _classifier_head(x, num_classes), name="substitute")


def madry_cnn(input_shape, num_classes: int):
    """The MNIST CNN of Madry et al. (2018), used by the IG-NORM paper."""
    _check_spatial(input_shape, 4, "madry_cnn", "")
    inputs = keras.Input(shape=input_shape, name="images")
    x = layers.Conv2D(32, 5, padding="same", activation="relu", name="conv_1")(inputs)
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    x = layers.Conv2D(64, 5, padding="same", activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(2, name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _classifier_head(x, num_classes, (1024,)), name="madry_cnn")


_VGG_CONFIGS = {
    "vgg13": (2, 2, 2, 2, 2),
    "vgg16": (2, 2, 3, 3, 3),
}


def _vgg(name: str, input_shape, num_classes: int, width: float = 1.0):
    _check_spatial(input_shape, 32, name, "VGG pools five times; use 32x32 inputs.")
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for stage, (convs, filters) in enumerate(zip(_VGG_CONFIGS[name], (64, 128, 256, 512, 512))):
        for conv in range(convs):
            x = layers.Conv2D(
                max(int(filters * width), 1), 3, padding="same", use_bias=False,
                name=f"conv_{stage + 1}_{conv + 1}",
            )(x)
            x = layers.BatchNormalization(name=f"bn_{stage + 1}_{conv + 1}")(x)
            x = layers.ReLU(name=f"relu_{stage + 1}_{conv + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool_{stage + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, _classifier_head(x, num_classes), name=name)


def vgg13(input_shape, num_classes: int, width: float = 1.0):
    """VGG-13 with batch norm for 32x32 inputs (PC paper's colour-image model); `width` scales channels."""
    return _vgg("vgg13", input_shape, num_classes, width)


def vgg16(input_shape, num_classes: int, width: float = 1.0):
    """VGG-16 with batch norm for 32x32 inputs; `width` scales channels."""
    return _vgg("vgg16", input_shape, num_classes, width)


def _basic_block(x, filters: int, stride: int, name: str):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv_1")(x)
    y = layers.BatchNormalization(name=f"{name}_bn_1")(y)
    y = layers.ReLU(name=f"{name}_relu_1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv_2")(y)
    y = layers.BatchNormalization(name=f"{name}_bn_2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([y, shortcut]))


def _resnet(name: str, input_shape, num_classes: int, blocks: Sequence[int], filters: Sequence[int]):
    _check_spatial(input_shape, 8, name, "")
    inputs = keras.Input(shape=input_shape, name="images")
    x = layers.Conv2D(filters[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage, (count, width) in enumerate(zip(blocks, filters)):
        for block in range(count):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, width, stride, name=f"stage_{stage + 1}_block_{block + 1}")
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    return keras.Model(inputs, _classifier_head(x, num_classes), name=name)


def resnet18(input_shape, num_classes: int):
    """ResNet-18, CIFAR variant (3x3 stem, no initial max pool)."""
    return _resnet("resnet18", input_shape, num_classes, (2, 2, 2, 2), (64, 128, 256, 512))


def resnet56(input_shape, num_classes: int):
    """ResNet-56 for CIFAR (He et al., 2016, Sec. 4.2): 3 stages of 9 basic blocks, 16/32/64 filters."""
    return _resnet("resnet56", input_shape, num_classes, (9, 9, 9), (16, 32, 64))


MODELS: dict[str, _Builder] = {
    "cnn2c": cnn2c,
    "cnn5c": cnn5c,
    "lenet5": lenet5,
    "substitute": substitute,
    "madry_cnn": madry_cnn,
    "vgg13": vgg13,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet56": resnet56,
}


def build(name: str, input_shape: Sequence[int], num_classes: int, **kwargs) -> keras.Model:
    """Builds a zoo model by name.

    Args:
        name: one of `tfxai.models.MODELS` (e.g. `"cnn2c"`, `"lenet5"`).
        input_shape: `(height, width, channels)` of one image (NHWC, no batch dimension).
        num_classes: number of classes (output logits).
        **kwargs: architecture options of that model (e.g. `padding` for `cnn2c`).

    Returns:
        An unbuilt-weights-initialised functional `keras.Model` mapping images to logits.

    Raises:
        ValueError: unknown name, bad shape or class count, or an image too small for the model.

    Example:
        >>> model = build("cnn2c", (28, 28, 1), 10)
        >>> model.output_shape
        (None, 10)
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model name. Expected one of {sorted(MODELS)}. Received: name={name!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in input_shape):
        raise ValueError(
            "Invalid value for argument `input_shape`. Expected (height, width, channels) of positive ints. "
            f"Received: input_shape={input_shape}"
        )
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"Invalid value for argument `num_classes`. Expected an int >= 2. Received: num_classes={num_classes!r}"
        )
    try:
        return MODELS[name](input_shape, num_classes, **kwargs)
    except TypeError as error:
        raise TypeError(f"Invalid options for model `{name}`: {error}. Received: {kwargs}") from None
