"""Building blocks of lt_det's ResNets: stems, shortcuts and residual blocks.

Stems and shortcuts come from registries, so a ResNet variant (e.g. ResNet-D's deep stem
and average-pool shortcut, He et al., CVPR 2019) is one registered function, not a new
block class. Every residual block exposes ``last_norm``: the norm layer on its residual
branch's output, which zero-gamma initialisation sets to 0 (Goyal et al., 2017).
"""
import torch
import torch.nn.functional as F
from detectron2.layers import CNNBlockBase, Conv2d, get_norm
from detectron2.utils.registry import Registry
from fvcore.nn import weight_init
from torch import nn

RESNET_STEM_REGISTRY = Registry("LT_RESNET_STEM")
RESNET_STEM_REGISTRY.__doc__ = """
Registry of ResNet stems.

Call contract: ``fn(in_channels: int, out_channels: int, norm, num_groups: int) -> CNNBlockBase``
whose ``out_channels`` and ``stride`` attributes describe its output (``norm`` is a name or
callable for ``norm_layer``; ``num_groups`` is used by "GN").
"""

RESNET_SHORTCUT_REGISTRY = Registry("LT_RESNET_SHORTCUT")
RESNET_SHORTCUT_REGISTRY.__doc__ = """
Registry of shortcuts for residual blocks that change the channel count or the resolution.

Call contract: ``fn(in_channels: int, out_channels: int, stride: int, norm, num_groups: int)
-> nn.Module``
mapping ``[N, in_channels, H, W]`` to ``[N, out_channels, ceil(H / stride), ceil(W / stride)]``.
"""


def norm_layer(norm, channels: int, num_groups: int = 32):
    """detectron2's ``get_norm``, except that "GN" uses ``min(num_groups, channels)`` groups.

    detectron2's "GN" is fixed to 32 groups, which a 16-channel CIFAR stage cannot divide.
    """
    if norm == "GN":
        groups = min(num_groups, channels)
        if channels % groups:
            raise ValueError(f"GN: {channels} channels cannot be split into {groups} groups")
        return nn.GroupNorm(groups, channels)
    return get_norm(norm, channels)


def _conv(in_channels, out_channels, kernel_size, stride, norm, num_groups):
    conv = Conv2d(
        in_channels,
        out_channels,
        kernel_size=kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        bias=False,
        norm=norm_layer(norm, out_channels, num_groups),
    )
    weight_init.c2_msra_fill(conv)
    return conv


class _Stem(CNNBlockBase):
    def __init__(self, layers: nn.Sequential, in_channels: int, out_channels: int, stride: int):
        super().__init__(in_channels, out_channels, stride)
        self.layers = layers

    def forward(self, x):
        return self.layers(x)


@RESNET_STEM_REGISTRY.register()
def cifar(in_channels: int, out_channels: int, norm, num_groups: int = 32) -> CNNBlockBase:
    """3x3 conv, norm, ReLU at full resolution (He et al., 2016, Sec. 4.2)."""
    layers = nn.Sequential(
        _conv(in_channels, out_channels, 3, 1, norm, num_groups), nn.ReLU(inplace=True)
    )
    return _Stem(layers, in_channels, out_channels, stride=1)


@RESNET_STEM_REGISTRY.register()
def imagenet(in_channels: int, out_channels: int, norm, num_groups: int = 32) -> CNNBlockBase:
    """7x7/2 conv, norm, ReLU, 3x3/2 max pool (He et al., 2016): stride 4."""
    layers = nn.Sequential(
        _conv(in_channels, out_channels, 7, 2, norm, num_groups),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    return _Stem(layers, in_channels, out_channels, stride=4)


class ZeroPadShortcut(nn.Module):
    """Option A of He et al. (2016): subsample by ``stride`` and append zero channels."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"The 'pad' shortcut cannot reduce channels ({in_channels} -> {out_channels}); "
                "use MODEL.LT.RESNET.SHORTCUT 'projection'"
            )
        self.extra = out_channels - in_channels
        self.stride = stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x


@RESNET_SHORTCUT_REGISTRY.register()
def pad(in_channels: int, out_channels: int, stride: int, norm, num_groups: int = 32):
    """Parameter-free shortcut (option A), used by the CIFAR ResNets of the LT literature."""
    return ZeroPadShortcut(in_channels, out_channels, stride)


@RESNET_SHORTCUT_REGISTRY.register()
def projection(in_channels: int, out_channels: int, stride: int, norm, num_groups: int = 32):
    """1x1 conv with ``stride`` and norm (option B of He et al., 2016)."""
    return _conv(in_channels, out_channels, 1, stride, norm, num_groups)


def build_shortcut(name: str, in_channels, out_channels, stride, norm, num_groups=32):
    """Identity when the shape is kept, else the registered shortcut ``name``."""
    if stride == 1 and in_channels == out_channels:
        return None
    if name not in RESNET_SHORTCUT_REGISTRY:
        known = ", ".join(sorted(k for k, _ in RESNET_SHORTCUT_REGISTRY))
        raise KeyError(f"Unknown MODEL.LT.RESNET.SHORTCUT {name!r}; registered: {known}")
    return RESNET_SHORTCUT_REGISTRY.get(name)(in_channels, out_channels, stride, norm, num_groups)


def build_stem(name: str, in_channels: int, out_channels: int, norm, num_groups: int = 32):
    """The registered stem ``name``."""
    if name not in RESNET_STEM_REGISTRY:
        known = ", ".join(sorted(k for k, _ in RESNET_STEM_REGISTRY))
        raise KeyError(f"Unknown MODEL.LT.RESNET.STEM {name!r}; registered: {known}")
    return RESNET_STEM_REGISTRY.get(name)(in_channels, out_channels, norm, num_groups)


class LTBasicBlock(CNNBlockBase):
    """Two 3x3 convs with a residual connection (ResNet-10/18/34 and the CIFAR ResNets).

    Args:
        in_channels, out_channels: channels in and out.
        bottleneck_channels: unused (accepted so all blocks share one signature).
        stride: stride of the first conv.
        norm: normalisation layer name or callable.
        shortcut: name in ``RESNET_SHORTCUT_REGISTRY`` used when the shape changes.
        num_groups: groups of "GN".
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        bottleneck_channels: int = 0,
        stride: int = 1,
        norm="BN",
        shortcut: str = "projection",
        num_groups: int = 32,
    ):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = build_shortcut(shortcut, in_channels, out_channels, stride, norm, num_groups)
        self.conv1 = _conv(in_channels, out_channels, 3, stride, norm, num_groups)
        self.conv2 = _conv(out_channels, out_channels, 3, 1, norm, num_groups)

    @property
    def last_norm(self) -> nn.Module:
        return self.conv2.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu_(self.conv1(x))
        out = self.conv2(out)
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu_(out + identity)


class LTBottleneckBlock(CNNBlockBase):
    """1x1 reduce, 3x3 (carrying the stride, "ResNet-B"), 1x1 expand, residual connection.

    Args: as ``LTBasicBlock``; ``bottleneck_channels`` is the width of the 3x3 conv.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        bottleneck_channels: int,
        stride: int = 1,
        norm="BN",
        shortcut: str = "projection",
        num_groups: int = 32,
    ):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = build_shortcut(shortcut, in_channels, out_channels, stride, norm, num_groups)
        self.conv1 = _conv(in_channels, bottleneck_channels, 1, 1, norm, num_groups)
        self.conv2 = _conv(bottleneck_channels, bottleneck_channels, 3, stride, norm, num_groups)
        self.conv3 = _conv(bottleneck_channels, out_channels, 1, 1, norm, num_groups)

    @property
    def last_norm(self) -> nn.Module:
        return self.conv3.norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu_(self.conv1(x))
        out = F.relu_(self.conv2(out))
        out = self.conv3(out)
        identity = x if self.shortcut is None else self.shortcut(x)
        return F.relu_(out + identity)
