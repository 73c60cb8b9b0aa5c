from . import resnet_d  # noqa: F401  (registers the ResNet-C stem and ResNet-D shortcut)
from .resnet import IMAGENET_DEPTHS, build_cifar_resnet_backbone, build_lt_resnet_backbone
from .resnet_blocks import (
    RESNET_SHORTCUT_REGISTRY,
    RESNET_STEM_REGISTRY,
    LTBasicBlock,
    LTBottleneckBlock,
    ZeroPadShortcut,
    norm_layer,
)
from .resnet_d import AvgPoolShortcut, DeepStem
from .zero_gamma import zero_gamma_init

__all__ = [
    "IMAGENET_DEPTHS",
    "build_cifar_resnet_backbone",
    "build_lt_resnet_backbone",
    "RESNET_SHORTCUT_REGISTRY",
    "RESNET_STEM_REGISTRY",
    "LTBasicBlock",
    "LTBottleneckBlock",
    "ZeroPadShortcut",
    "norm_layer",
    "AvgPoolShortcut",
    "DeepStem",
    "zero_gamma_init",
]
