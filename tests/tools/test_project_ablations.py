"""Every ablation file under projects/ stays runnable: its base and row configs exist, every
KEY VALUE (common, per row, per stage) is a real config key, and the losses, samplers, ROI
heads and stage boundaries it names are valid. Catches a renamed key or a typo before a
multi-hour run does."""
import glob
import math
import os

import pytest
from detectron2.modeling.roi_heads import ROI_HEADS_REGISTRY

from lt_det.config import get_lt_cfg
from lt_det.data.datasets.lt_images import LTImagesSpec, train_counts
from lt_det.data.datasets.lt_sar import LTSARSpec
from lt_det.data.datasets.lt_sar import train_counts as lt_sar_counts
from lt_det.data.samplers import SAMPLER_REGISTRY
from lt_det.losses import LOSS_REGISTRY
from lt_det.engine.stage_schedule import parse_stages
from lt_det.engine.ablation import load_ablation

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = sorted(glob.glob(os.path.join(REPO, "projects", "*", "ablation*.yaml")))
# detectron2's own samplers, built by detectron2 when SAMPLER_TRAIN names one of them.
D2_SAMPLERS = {"TrainingSampler", "RepeatFactorTrainingSampler", "RandomSubsetTrainingSampler"}


def _epoch_iters(cfg):
    if cfg.DATASETS.TRAIN[0] == "lt_images_train":
        # LT-Images' default spec: sum of round(500 (k+1)^-1.449) over 24 classes = 1,155 images.
        n = sum(train_counts(LTImagesSpec()))
        return math.ceil(n / cfg.SOLVER.IMS_PER_BATCH)
    if cfg.DATASETS.TRAIN[0] == "lt_sar_train":
        # LT-SAR's default spec: the MAVOC 2021 SAR profile scaled to 1,200 -> 12, 1,780 chips.
        n = sum(lt_sar_counts(LTSARSpec()))
        assert n == 1780
        return math.ceil(n / cfg.SOLVER.IMS_PER_BATCH)
    return None  # detection rows use iteration boundaries only


def test_project_ablations_found():
    names = {os.path.relpath(p, REPO) for p in FILES}
    assert {"projects/EQL/ablation_lt_shapes_no_rfs.yaml", "projects/EQL/ablation_lt_shapes_rfs.yaml",
            "projects/BagOfTricksLT/ablation_lt_images.yaml", "projects/ThreeStageLT/ablation_ltsar.yaml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, REPO))
def test_project_ablation_rows_build_configs(path, monkeypatch):
    monkeypatch.chdir(REPO)  # bases are relative to the repository root, as in the READMEs
    ab = load_ablation(path)
    assert ab.base and os.path.isfile(ab.base)
    for combo in ab.combinations:
        cfg = get_lt_cfg()
        cfg.merge_from_file(combo.config or ab.base)
        # merge_from_list raises on a key that does not exist (yacs' check).
        cfg.merge_from_list([str(x) for x in ab.opts] + [str(x) for x in combo.opts] + ["SEED", "0"])
        assert cfg.MODEL.LT.LOSS.NAME in LOSS_REGISTRY, combo.name
        assert cfg.DATALOADER.SAMPLER_TRAIN in SAMPLER_REGISTRY or cfg.DATALOADER.SAMPLER_TRAIN in D2_SAMPLERS
        if cfg.MODEL.META_ARCHITECTURE == "GeneralizedRCNN":
            assert cfg.MODEL.ROI_HEADS.NAME in ROI_HEADS_REGISTRY, combo.name
        if cfg.LT.STAGES:
            stages = parse_stages(cfg.LT.STAGES, cfg.SOLVER.MAX_ITER, _epoch_iters(cfg))
            for stage in stages:
                cfg.clone().merge_from_list([str(x) for x in stage.overrides])
                assert 0 < stage.start_iter < cfg.SOLVER.MAX_ITER


def test_rfs_rows_differ_from_uniform_rows_only_by_the_sampler(monkeypatch):
    # The EQL project's two files pair up row by row: same configs, the RFS file adds the
    # sampler and t = 0.125 (= 100 / 800 training images: classes in < 100 images repeat).
    monkeypatch.chdir(REPO)
    no = load_ablation("projects/EQL/ablation_lt_shapes_no_rfs.yaml")
    rfs = load_ablation("projects/EQL/ablation_lt_shapes_rfs.yaml")
    assert [c.config for c in no.combinations] == [c.config for c in rfs.combinations]
    assert [c.name + " + RFS" for c in no.combinations] == [c.name for c in rfs.combinations]
    assert no.opts == [] and rfs.opts == ["DATALOADER.SAMPLER_TRAIN", "RepeatFactorSampler",
                                          "DATALOADER.REPEAT_THRESHOLD", 0.125]
