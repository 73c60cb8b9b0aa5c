"""The classification configs merge, name registered components, and their CIFAR-LT
schedules match the training-set sizes given by the CIFAR-LT formula."""
import glob
import math
import os

import pytest

from lt_det.config import get_lt_cfg
from lt_det.data.datasets.cifar_lt import cifar_lt_counts
from lt_det.data.samplers import SAMPLER_REGISTRY
from lt_det.losses import LOSS_REGISTRY
from lt_det.modeling.classifier_heads import CLS_HEAD_REGISTRY

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
CLS_CONFIGS = sorted(glob.glob(os.path.join(ROOT, "*", "cls_*.yaml")))


def _load(path):
    cfg = get_lt_cfg()
    cfg.merge_from_file(path)
    return cfg


def test_configs_exist():
    names = {os.path.relpath(p, ROOT) for p in CLS_CONFIGS}
    for beta in (100, 50, 10):
        assert f"CIFAR10-LT/cls_resnet32_ce_200ep_if{beta}.yaml" in names
        assert f"CIFAR100-LT/cls_resnet32_ce_200ep_if{beta}.yaml" in names
    assert {"ImageNet-LT/cls_resnet10_ce_90ep.yaml", "ImageNet-LT/cls_resnet50_ce_90ep.yaml",
            "iNaturalist2018/cls_resnet50_ce_90ep.yaml", "Places-LT/cls_resnet152_ce_100ep.yaml",
            "LTImages/cls_resnet32_ce_demo.yaml"} <= names


@pytest.mark.parametrize("path", CLS_CONFIGS, ids=lambda p: os.path.relpath(p, ROOT))
def test_config_names_registered_components(path):
    cfg = _load(path)
    assert cfg.MODEL.META_ARCHITECTURE in ("LTClassifier", "LTTricksClassifier")
    assert cfg.MODEL.LT.LOSS.NAME in LOSS_REGISTRY
    assert cfg.MODEL.LT.CLASSIFIER.HEAD in CLS_HEAD_REGISTRY
    s = cfg.DATALOADER.SAMPLER_TRAIN
    assert s == "TrainingSampler" or s in SAMPLER_REGISTRY
    assert cfg.TEST.EVAL_PERIOD == 0  # the final model only, never a test-set selection


@pytest.mark.parametrize("c,n_max,folder", [(10, 5000, "CIFAR10-LT"), (100, 500, "CIFAR100-LT")])
@pytest.mark.parametrize("beta", [100, 50, 10])
def test_cifar_schedule_arithmetic(c, n_max, folder, beta):
    cfg = _load(os.path.join(ROOT, folder, f"cls_resnet32_ce_200ep_if{beta}.yaml"))
    # One epoch = ceil(N / 128) iterations with N = sum_i floor(n_max * beta^(-i/(C-1))).
    epoch = math.ceil(sum(cifar_lt_counts(n_max, c, beta)) / 128)
    assert cfg.DATASETS.TRAIN == (f"cifar{c}_lt_{beta}_train",)
    assert cfg.SOLVER.IMS_PER_BATCH == 128 and cfg.SOLVER.BASE_LR == 0.1
    assert cfg.SOLVER.MAX_ITER == 200 * epoch
    assert tuple(cfg.SOLVER.STEPS) == (160 * epoch, 180 * epoch) and cfg.SOLVER.GAMMA == 0.01
    assert cfg.SOLVER.WARMUP_ITERS == 5 * epoch and cfg.SOLVER.WARMUP_FACTOR == pytest.approx(1 / 3)
    assert cfg.SOLVER.MOMENTUM == 0.9 and cfg.SOLVER.WEIGHT_DECAY == 2e-4
    assert cfg.MODEL.LT.RESNET.DEPTH == 32 and cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES == c
