"""The LVIS loss recipes: small _BASE_ deltas that load and build their box predictor."""
from pathlib import Path

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.layers import ShapeSpec

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import ClassStats, frequency_group, stats_to_metadata
from lt_det.losses import LOSS_REGISTRY
from lt_det.modeling import build_box_predictor

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DIRS = {"LVISv1-InstanceSegmentation": (1203, "lvis_v1"), "LVISv0.5-InstanceSegmentation": (1230, "lvis_v0.5")}
FILES = sorted(p for d in DIRS for p in (CONFIGS / d).glob("mask_rcnn_R50FPN_*_1x.yaml"))
LOGITS = {"SoftmaxCE": 1, "SigmoidBCE": 0, "EQL": 0, "EQLv2": 1, "Seesaw": 2, "Federated": 0,
          "CSCE": 1, "ClassBalancedCE": 1, "Focal": 0, "CBFocal": 0, "ECM": 1, "GOL": 1}


def _load(path):
    cfg = get_lt_cfg()
    cfg.merge_from_file(str(path))
    return cfg


def _stand_in_train_set(num_classes):
    # Class statistics of the size of LVIS (the real annotations are not available offline).
    name = f"lt_det_test_lvis_stand_in_{num_classes}"
    if name not in DatasetCatalog.list():
        counts = np.arange(num_classes) % 300
        stats = ClassStats(counts, counts * 2, [frequency_group(int(n)) for n in counts], 100000)
        DatasetCatalog.register(name, lambda: [])
        MetadataCatalog.get(name).set(
            thing_classes=[str(i) for i in range(num_classes)], **stats_to_metadata(stats)
        )
    return name


def test_every_recipe_has_an_rfs_twin_in_both_versions():
    names = {d: {p.name for p in (CONFIGS / d).glob("*.yaml")} for d in DIRS}
    assert names["LVISv1-InstanceSegmentation"] == names["LVISv0.5-InstanceSegmentation"]
    plain = {n for n in names["LVISv1-InstanceSegmentation"] if not n.endswith("_rfs_1x.yaml")}
    assert len(plain) >= 10
    for n in plain:
        assert n.replace("_1x.yaml", "_rfs_1x.yaml") in names["LVISv1-InstanceSegmentation"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe(path):
    num_classes, prefix = DIRS[path.parent.name]
    cfg = _load(path)
    assert cfg.MODEL.ROI_HEADS.NAME == "LTStandardROIHeads" and cfg.MODEL.MASK_ON
    assert cfg.MODEL.ROI_HEADS.NUM_CLASSES == num_classes
    assert cfg.DATASETS.TRAIN == (f"{prefix}_train",) and cfg.DATASETS.TEST == (f"{prefix}_val",)
    rfs = path.name.endswith("_rfs_1x.yaml")
    assert cfg.DATALOADER.SAMPLER_TRAIN == ("RepeatFactorTrainingSampler" if rfs else "TrainingSampler")
    if rfs:
        assert cfg.DATALOADER.REPEAT_THRESHOLD == 0.001
    name = cfg.MODEL.LT.LOSS.NAME
    assert name in LOSS_REGISTRY
    if name == "EQL":
        assert cfg.MODEL.LT.LOSS.EQL.LAMBDA == (1.1e-3 if prefix == "lvis_v1" else 1.76e-3)
    assert len(path.read_text().splitlines()) <= 16  # a recipe is a small delta

    cfg.DATASETS.TRAIN = (_stand_in_train_set(num_classes),)
    predictor = build_box_predictor(cfg, ShapeSpec(channels=8))
    assert type(predictor.cls_loss).__name__ == name
    # BAGS: background group (2) + one "others" per instance-count group (the stand-in's
    # counts 0..598 fill the bins [0, 10), [10, 100), [100, 1000): 3 groups).
    extra = 2 + 3 if name == "BAGS" else LOGITS[name]
    assert predictor.cls_score.out_features == num_classes + extra
