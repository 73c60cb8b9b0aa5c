"""ResNet-C stem and ResNet-D shortcut (He et al., "Bag of Tricks for Image Classification
with CNNs", CVPR 2019, Sec. 4), registered in lt_det's ResNet registries.

* stem "deep" (ResNet-C): the 7x7/2 conv becomes three 3x3 convs (the first with stride 2,
  widths out/2, out/2, out), then the 3x3/2 max pool: stride 4 as the ImageNet stem;
* shortcut "avgpool" (ResNet-D): a 2x2/2 average pool then a 1x1 stride-1 conv + norm, so
  the downsampling shortcut no longer ignores 3/4 of its input.

lt_det's bottleneck block already carries the stride on its 3x3 conv (ResNet-B). A ResNet-D
is ``MODEL.LT.RESNET.STEM: "deep"`` + ``MODEL.LT.RESNET.SHORTCUT: "avgpool"``.
"""
from detectron2.layers import CNNBlockBase, Conv2d
from fvcore.nn import weight_init
from torch import nn

from .resnet_blocks import RESNET_SHORTCUT_REGISTRY, RESNET_STEM_REGISTRY, norm_layer


def _conv_norm(cin: int, cout: int, k: int, stride: int, norm, num_groups: int) -> Conv2d:
    conv = Conv2d(cin, cout, kernel_size=k, stride=stride, padding=k // 2, bias=False,
                  norm=norm_layer(norm, cout, num_groups))
    weight_init.c2_msra_fill(conv)
    return conv


class DeepStem(CNNBlockBase):
    """ResNet-C stem: 3x3/2 (out/2), 3x3 (out/2), 3x3 (out), each norm + ReLU, 3x3/2 max pool."""

    def __init__(self, in_channels: int, out_channels: int, norm="BN", num_groups: int = 32):
        super().__init__(in_channels, out_channels, 4)
        mid = max(out_channels // 2, 1)
        self.layers = nn.Sequential(
            _conv_norm(in_channels, mid, 3, 2, norm, num_groups), nn.ReLU(inplace=True),
            _conv_norm(mid, mid, 3, 1, norm, num_groups), nn.ReLU(inplace=True),
            _conv_norm(mid, out_channels, 3, 1, norm, num_groups), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )

    def forward(self, x):
        return self.layers(x)


@RESNET_STEM_REGISTRY.register()
def deep(in_channels: int, out_channels: int, norm, num_groups: int = 32) -> CNNBlockBase:
    """ResNet-C deep stem (stride 4)."""
    return DeepStem(in_channels, out_channels, norm, num_groups)


class AvgPoolShortcut(nn.Module):
    """ResNet-D shortcut: ``AvgPool(stride)`` (when stride > 1) then 1x1 conv + norm."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm="BN", num_groups: int = 32):
        super().__init__()
        self.pool = (
            nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True, count_include_pad=False)
            if stride > 1 else nn.Identity()
        )
        self.proj = _conv_norm(in_channels, out_channels, 1, 1, norm, num_groups)

    def forward(self, x):
        return self.proj(self.pool(x))


@RESNET_SHORTCUT_REGISTRY.register()
def avgpool(in_channels: int, out_channels: int, stride: int, norm, num_groups: int = 32):
    """ResNet-D downsampling shortcut."""
    return AvgPoolShortcut(in_channels, out_channels, stride, norm, num_groups)
