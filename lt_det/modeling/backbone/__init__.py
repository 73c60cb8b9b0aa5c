from .resnet import IMAGENET_DEPTHS, build_cifar_resnet_backbone, build_lt_resnet_backbone
from .resnet_blocks import (
    RESNET_SHORTCUT_REGISTRY,
    RESNET_STEM_REGISTRY,
    BasicBlock,
    BottleneckBlock,
    ZeroPadShortcut,
    norm_layer,
)

__all__ = [
    "IMAGENET_DEPTHS",
    "build_cifar_resnet_backbone",
    "build_lt_resnet_backbone",
    "RESNET_SHORTCUT_REGISTRY",
    "RESNET_STEM_REGISTRY",
    "BasicBlock",
    "BottleneckBlock",
    "ZeroPadShortcut",
    "norm_layer",
]
