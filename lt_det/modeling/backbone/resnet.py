"""ResNets of the long-tail literature, registered in detectron2's ``BACKBONE_REGISTRY``.

* CIFAR family, ResNet-(6n+2) (He et al., 2016, Sec. 4.2): a 3x3 stem and three stages of
  n basic blocks with w, 2w, 4w channels at strides 1, 2, 2. ResNet-32 (n = 5, w = 16,
  parameter-free "pad" shortcuts) is the backbone of the CIFAR-LT papers (Cao et al., 2019;
  Zhang et al., 2021).
* ImageNet family, ResNet-10/18/34/50/101/152: the 7x7 stem and four stages. ResNet-10
  (one basic block per stage) is the ImageNet-LT backbone of Liu et al. (2019).

Both are detectron2 ``ResNet`` containers (stage names ``res2``...; ``freeze_at``) whose
output is the last stage only.
"""
from typing import Dict, List, Tuple, Type

from detectron2.layers import CNNBlockBase, ShapeSpec
from detectron2.modeling import BACKBONE_REGISTRY
from detectron2.modeling.backbone import ResNet

from .resnet_blocks import LTBasicBlock, LTBottleneckBlock, build_stem

# depth -> (block class, blocks per stage) for the ImageNet family.
IMAGENET_DEPTHS: Dict[int, Tuple[Type[CNNBlockBase], List[int]]] = {
    10: (LTBasicBlock, [1, 1, 1, 1]),
    18: (LTBasicBlock, [2, 2, 2, 2]),
    34: (LTBasicBlock, [3, 4, 6, 3]),
    50: (LTBottleneckBlock, [3, 4, 6, 3]),
    101: (LTBottleneckBlock, [3, 4, 23, 3]),
    152: (LTBottleneckBlock, [3, 8, 36, 3]),
}


def make_stages(
    block: Type[CNNBlockBase],
    counts: List[int],
    in_channels: int,
    width: int,
    norm,
    shortcut: str,
    num_groups: int,
) -> List[List[CNNBlockBase]]:
    """Stages of ``block``: stage i has ``counts[i]`` blocks of width ``width * 2**i``.

    The first stage keeps the resolution; every later stage halves it in its first block.
    """
    stages = []
    for i, n in enumerate(counts):
        bottleneck = width * 2**i
        out_channels = bottleneck * block.expansion
        blocks = []
        for j in range(n):
            stride = 2 if (i > 0 and j == 0) else 1
            blocks.append(
                block(
                    in_channels,
                    out_channels,
                    bottleneck_channels=bottleneck,
                    stride=stride,
                    norm=norm,
                    shortcut=shortcut,
                    num_groups=num_groups,
                )
            )
            in_channels = out_channels
        stages.append(blocks)
    return stages


def _resnet(cfg, input_shape: ShapeSpec, counts, block) -> ResNet:
    r = cfg.MODEL.LT.RESNET
    stem = build_stem(r.STEM, input_shape.channels, r.WIDTH, r.NORM, r.NUM_GROUPS)
    stages = make_stages(
        block, counts, stem.out_channels, r.WIDTH, r.NORM, r.SHORTCUT, r.NUM_GROUPS
    )
    last = f"res{len(stages) + 1}"
    return ResNet(stem, stages, out_features=[last], freeze_at=cfg.MODEL.BACKBONE.FREEZE_AT)


@BACKBONE_REGISTRY.register()
def build_cifar_resnet_backbone(cfg, input_shape: ShapeSpec) -> ResNet:
    """ResNet-(6n+2) for 32x32 images, ``MODEL.LT.RESNET.*``; output ``res4``."""
    depth = cfg.MODEL.LT.RESNET.DEPTH
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"MODEL.LT.RESNET.DEPTH {depth} is not 6n+2 (n >= 1) as the CIFAR ResNets need "
            "(e.g. 20, 32, 44, 56, 110)"
        )
    n = (depth - 2) // 6
    return _resnet(cfg, input_shape, [n, n, n], LTBasicBlock)


@BACKBONE_REGISTRY.register()
def build_lt_resnet_backbone(cfg, input_shape: ShapeSpec) -> ResNet:
    """ImageNet-style ResNet-10/18/34/50/101/152, ``MODEL.LT.RESNET.*``; output ``res5``."""
    depth = cfg.MODEL.LT.RESNET.DEPTH
    if depth not in IMAGENET_DEPTHS:
        raise ValueError(
            f"MODEL.LT.RESNET.DEPTH {depth} is not one of {sorted(IMAGENET_DEPTHS)} "
            "(build_lt_resnet_backbone)"
        )
    block, counts = IMAGENET_DEPTHS[depth]
    return _resnet(cfg, input_shape, counts, block)
