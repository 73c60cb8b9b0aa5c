"""Zero-gamma initialisation and the ResNet-C stem / ResNet-D shortcut."""
import pytest
import torch
from torch import nn

from lt_det.modeling.backbone.resnet_blocks import (
    RESNET_SHORTCUT_REGISTRY,
    RESNET_STEM_REGISTRY,
    LTBasicBlock,
    LTBottleneckBlock,
)
from lt_det.modeling.backbone.resnet_d import AvgPoolShortcut, DeepStem
from lt_det.modeling.backbone.zero_gamma import zero_gamma_init


def test_zero_gamma_makes_blocks_identity():
    torch.manual_seed(0)
    blocks = nn.Sequential(LTBasicBlock(4, 4, norm="BN"), LTBottleneckBlock(4, 4, bottleneck_channels=2, norm="BN"))
    assert zero_gamma_init(blocks) == 2
    assert torch.all(blocks[0].last_norm.weight == 0) and torch.all(blocks[1].last_norm.weight == 0)
    # Other norms untouched.
    assert torch.all(blocks[0].conv1.norm.weight == 1)
    blocks.eval()
    x = torch.rand(2, 4, 5, 5)  # non-negative: relu(x + 0) = x
    with torch.no_grad():
        assert torch.allclose(blocks(x), x, atol=1e-6)
    with pytest.raises(ValueError, match="last_norm"):
        zero_gamma_init(nn.Linear(2, 2))


def test_resnet_d_pieces_registered_and_shaped():
    stem = RESNET_STEM_REGISTRY.get("deep")(3, 64, "BN", 32)
    assert isinstance(stem, DeepStem) and stem.stride == 4
    assert tuple(stem(torch.zeros(1, 3, 32, 32)).shape) == (1, 64, 8, 8)
    sc = RESNET_SHORTCUT_REGISTRY.get("avgpool")(4, 8, 2, "BN", 32)
    assert isinstance(sc, AvgPoolShortcut)
    assert tuple(sc(torch.zeros(1, 4, 7, 7)).shape) == (1, 8, 4, 4)  # ceil(7 / 2)
    # The average pool sees every input pixel: a 2x2 block [1, 2, 3, 6] averages to 3.
    pool = sc.pool
    assert pool(torch.tensor([[[[1.0, 2.0], [3.0, 6.0]]]])).item() == 3.0
    block = LTBottleneckBlock(8, 16, bottleneck_channels=4, stride=2, norm="BN", shortcut="avgpool")
    assert tuple(block(torch.zeros(1, 8, 8, 8)).shape) == (1, 16, 4, 4)
