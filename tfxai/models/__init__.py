"""Model zoo: the papers' architectures, built by name; every model outputs logits."""

from tfxai.models.zoo import MODELS, build, cnn2c, cnn5c, lenet5, madry_cnn, resnet18, resnet56, substitute, vgg13, vgg16

__all__ = [
    "MODELS", "build", "cnn2c", "cnn5c", "lenet5", "madry_cnn", "resnet18", "resnet56", "substitute", "vgg13", "vgg16",
]
