"""projects/DecoupledOptimisation configs: the paper's recipe (Sec. 5.2) in every file."""
import glob
import math
import os

import pytest

from lt_det.config import get_lt_cfg
from lt_det.engine.param_decoupling import decoupling_plan
from lt_det.engine.stage_schedule import parse_stages

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(ROOT, "projects", "DecoupledOptimisation", "configs")
# name: (training images N, depth, gammas, rho_m, stage-2/3 lr)
PAPER = {
    "imagenet_lt_do.yaml": (115846, 50, [0.5, 0.8], 0.8, 0.002),
    "inat2018_do.yaml": (437513, 50, [0.5, 0.6], 0.8, 0.002),
    "places_lt_do.yaml": (62500, 152, [0.5, 0.8], 0.8, 0.002),
    "cifar100_lt_if100_do.yaml": (10847, 32, [0.5, 0.8], 0.7, 0.005),
    "cifar100_lt_if50_do.yaml": (12608, 32, [0.5, 0.6], 0.7, 0.005),
}


def _load(name):
    cfg = get_lt_cfg()
    cfg.merge_from_file(os.path.join(CFG, name))
    return cfg


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_recipe(name):
    n, depth, gammas, rho, lr23 = PAPER[name]
    cfg = _load(name)
    epoch = math.ceil(n / 256)
    assert cfg.SOLVER.IMS_PER_BATCH == 256 and cfg.SOLVER.BASE_LR == 0.02
    assert cfg.SOLVER.LR_SCHEDULER_NAME == "WarmupCosineLR" and cfg.SOLVER.BASE_LR_END == 0.0
    assert cfg.SOLVER.MAX_ITER == 200 * epoch  # 100 + 50 + 50 epochs
    stages = parse_stages(cfg.LT.STAGES, cfg.SOLVER.MAX_ITER, epoch)
    assert [s.start_iter for s in stages] == [100 * epoch, 150 * epoch]
    ov = dict(zip(stages[0].overrides[0::2], stages[0].overrides[1::2]))
    assert ov["SOLVER.BASE_LR"] == lr23 and ov["DATALOADER.SAMPLER_TRAIN"] == "GroupPreferredSampler"
    assert list(cfg.LT.DECOUPLE.GAMMAS) == gammas and cfg.MODEL.LT.RESNET.DEPTH == depth
    assert cfg.MODEL.LT.LOSS.COMPENSATION.RHO == rho == cfg.DATALOADER.LT.GROUP_PREFERRED.RHO
    assert cfg.LT.CLS_INPUT.STRONG_AUGMENT != "none" and cfg.LT.DECOUPLE.ENABLED


def test_every_project_config_loads():
    for path in glob.glob(os.path.join(CFG, "*.yaml")):
        _load(os.path.basename(path))


def test_lt_images_plan():
    # LT-Images: 500 ... 5 images over 24 classes -> 3 many, 6 medium, 15 few classes.
    from lt_det.data.datasets.lt_images import LTImagesSpec, train_counts

    for name in ("lt_images_do.yaml", "lt_images_do_short.yaml"):
        bounds, groups, _ = decoupling_plan(_load(name), train_counts(LTImagesSpec()))
        assert [len(g) for g in groups] == [3, 6, 15]
        assert bounds == ([0, 570, 760, 950] if name == "lt_images_do.yaml" else [0, 228, 304, 380])
