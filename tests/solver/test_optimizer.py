import pytest
import torch
from torch import nn

from lt_det.config import get_lt_cfg
from lt_det.solver import build_lt_optimizer, check_amp_device, effective_base_lr, scaled_base_lr


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=True)
        self.bn = nn.BatchNorm2d(2)
        self.fc = nn.Linear(2, 3)


def _cfg(**solver):
    cfg = get_lt_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.SOLVER.BASE_LR = 0.1
    cfg.SOLVER.WEIGHT_DECAY = 5e-4
    cfg.SOLVER.IMS_PER_BATCH = 128
    for k, v in solver.items():
        cfg.LT.SOLVER[k] = v
    return cfg


def _decay_of(opt):
    return {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}


def test_no_bias_decay_param_groups():
    net = _Net()
    opt = build_lt_optimizer(_cfg(NO_BIAS_DECAY=True), net)
    wd = _decay_of(opt)
    # Decay only on conv.weight and fc.weight; 0 on conv.bias, fc.bias, bn.weight, bn.bias.
    assert wd[id(net.conv.weight)] == 5e-4 and wd[id(net.fc.weight)] == 5e-4
    for p in (net.conv.bias, net.fc.bias, net.bn.weight, net.bn.bias):
        assert wd[id(p)] == 0.0
    assert isinstance(opt, torch.optim.SGD)
    # Off: detectron2's keys apply (WEIGHT_DECAY_NORM defaults to 0, biases follow WEIGHT_DECAY).
    wd = _decay_of(build_lt_optimizer(_cfg(NO_BIAS_DECAY=False), net))
    assert wd[id(net.fc.bias)] == 5e-4 and wd[id(net.bn.weight)] == 0.0


def test_linear_scaling():
    # 0.1 * 128 / 256 = 0.05.
    assert scaled_base_lr(0.1, 128, 256) == pytest.approx(0.05)
    assert effective_base_lr(_cfg(LINEAR_SCALING=False)) == 0.1
    cfg = _cfg(LINEAR_SCALING=True)
    assert effective_base_lr(cfg) == pytest.approx(0.05)
    opt = build_lt_optimizer(cfg, _Net())
    assert all(g["lr"] == pytest.approx(0.05) for g in opt.param_groups)
    with pytest.raises(ValueError, match="REFERENCE_BATCH_SIZE"):
        scaled_base_lr(0.1, 128, 0)


def test_frozen_parameters_are_skipped():
    net = _Net()
    net.conv.weight.requires_grad_(False)
    params = {id(p) for g in build_lt_optimizer(_cfg(), net).param_groups for p in g["params"]}
    assert id(net.conv.weight) not in params and id(net.fc.weight) in params


def test_amp_on_cpu_is_rejected_clearly():
    cfg = _cfg()
    cfg.SOLVER.AMP.ENABLED = True
    with pytest.raises(ValueError, match="SOLVER.AMP.ENABLED needs a CUDA device"):
        check_amp_device(cfg)
    with pytest.raises(ValueError, match="AMP"):
        build_lt_optimizer(cfg, _Net())
    cfg.SOLVER.AMP.ENABLED = False
    check_amp_device(cfg)
