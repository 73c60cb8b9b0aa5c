import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling import build_backbone

from lt_det.config import get_lt_cfg
from lt_det.modeling.backbone import LTBasicBlock, LTBottleneckBlock, ZeroPadShortcut


def _cfg(name, depth, **resnet):
    cfg = get_lt_cfg()
    cfg.MODEL.BACKBONE.NAME = name
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    cfg.MODEL.LT.RESNET.DEPTH = depth
    for k, v in resnet.items():
        cfg.MODEL.LT.RESNET[k] = v
    return cfg


def _params(m):
    return sum(p.numel() for p in m.parameters())


def test_resnet32_cifar_structure_and_size():
    net = build_backbone(_cfg("build_cifar_resnet_backbone", 32), ShapeSpec(channels=3))
    # 3 stages of 5 basic blocks with 16/32/64 channels.
    assert [len(getattr(net, s)) for s in ("res2", "res3", "res4")] == [5, 5, 5]
    assert [getattr(net, s)[-1].out_channels for s in ("res2", "res3", "res4")] == [16, 32, 64]
    assert all(isinstance(b, LTBasicBlock) for s in ("res2", "res3", "res4") for b in getattr(net, s))
    # Parameters by hand (3x3 convs without bias, BN = 2 per channel, "pad" shortcuts free):
    #   stem 3*16*9 + 32 = 464
    #   res2: 10 convs of 16*16*9 + 32 = 10 * 2336 = 23,360
    #   res3: (16*32*9 + 64) + 9 * (32*32*9 + 64) = 4,672 + 83,520 = 88,192
    #   res4: (32*64*9 + 128) + 9 * (64*64*9 + 128) = 18,560 + 332,928 = 351,488
    #   total 463,504 (the literature's "0.46M" ResNet-32).
    assert _params(net) == 463_504
    out = net(torch.zeros(2, 3, 32, 32))
    assert list(out) == ["res4"] and out["res4"].shape == (2, 64, 8, 8)
    assert net.output_shape()["res4"].stride == 4


@pytest.mark.parametrize(
    "depth,params,block",
    # torchvision's resnet{18,50} minus the 1000-way fc (512*1000+1000, 2048*1000+1000):
    # 11,689,512 - 513,000 and 25,557,032 - 2,049,000. ResNet-10: [1,1,1,1] basic blocks.
    [(18, 11_176_512, LTBasicBlock), (50, 23_508_032, LTBottleneckBlock)],
)
def test_imagenet_family_matches_torchvision_sizes(depth, params, block):
    cfg = _cfg("build_lt_resnet_backbone", depth, STEM="imagenet", SHORTCUT="projection", WIDTH=64)
    net = build_backbone(cfg, ShapeSpec(channels=3))
    assert _params(net) == params
    assert isinstance(net.res5[0], block)
    assert net.output_shape()["res5"].stride == 32


def test_resnet10_has_one_block_per_stage():
    cfg = _cfg("build_lt_resnet_backbone", 10, STEM="imagenet", SHORTCUT="projection", WIDTH=64)
    net = build_backbone(cfg, ShapeSpec(channels=3))
    assert [len(getattr(net, f"res{i}")) for i in range(2, 6)] == [1, 1, 1, 1]
    assert net(torch.zeros(1, 3, 64, 64))["res5"].shape == (1, 512, 2, 2)


def test_group_norm_and_last_norm():
    cfg = _cfg("build_cifar_resnet_backbone", 8, NORM="GN", NUM_GROUPS=32)
    net = build_backbone(cfg, ShapeSpec(channels=3))
    # 16 channels cannot take 32 groups: capped at 16.
    assert isinstance(net.res2[0].last_norm, torch.nn.GroupNorm) and net.res2[0].last_norm.num_groups == 16
    assert net.res4[0].last_norm.num_groups == 32
    net(torch.zeros(1, 3, 16, 16)).values()


def test_zero_pad_shortcut_values():
    # Option A: subsample by 2 and append zero channels.
    x = torch.arange(16.0).view(1, 1, 4, 4)
    y = ZeroPadShortcut(1, 3, 2)(x)
    assert y.shape == (1, 3, 2, 2)
    assert y[0, 0].tolist() == [[0.0, 2.0], [8.0, 10.0]] and y[0, 1:].abs().sum() == 0


def test_bad_configs():
    with pytest.raises(ValueError, match="6n\\+2"):
        build_backbone(_cfg("build_cifar_resnet_backbone", 33), ShapeSpec(channels=3))
    with pytest.raises(ValueError, match="10, 18"):
        build_backbone(_cfg("build_lt_resnet_backbone", 11), ShapeSpec(channels=3))
    with pytest.raises(KeyError, match="STEM"):
        build_backbone(_cfg("build_cifar_resnet_backbone", 8, STEM="nope"), ShapeSpec(channels=3))
    with pytest.raises(KeyError, match="SHORTCUT"):
        build_backbone(_cfg("build_cifar_resnet_backbone", 8, SHORTCUT="nope"), ShapeSpec(channels=3))
