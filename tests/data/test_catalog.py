"""Registered data sets: class metadata readable from registration, each set parsed once
(lt_det/data/catalog.py; issue #11 section 2, #12 item 6)."""
import collections
import json
import os
import types
import uuid

import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from tiny_data import write_image_folder, write_lvis_set

from lt_det.config import get_lt_cfg
from lt_det.data import class_stats_from_metadata
from lt_det.data.datasets import image_folder, lvis_format, register_image_folder, register_lvis_format
from lt_det.engine import LTTrainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_TINY = os.path.join(ROOT, "configs", "LTShapes", "det_faster_r18gn_softmax_tiny.yaml")
CLS_TINY = os.path.join(ROOT, "configs", "LTImages", "cls_resnet8_ce_tiny.yaml")


def _name(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def json_parses(monkeypatch):
    """Counts the JSON files the LVIS-format loader parses, by path."""
    parsed = collections.Counter()

    def load(f, *args, **kwargs):
        parsed[os.path.abspath(f.name)] += 1
        return json.load(f, *args, **kwargs)

    monkeypatch.setattr(lvis_format, "json", types.SimpleNamespace(load=load, JSONDecodeError=json.JSONDecodeError))
    return parsed


@pytest.fixture
def folder_parses(monkeypatch):
    """Counts the split folders the image-folder loader lists, by path."""
    parsed = collections.Counter()
    original = image_folder.load_image_folder

    def load(split_dir, class_names):
        parsed[os.path.abspath(split_dir)] += 1
        return original(split_dir, class_names)

    monkeypatch.setattr(image_folder, "load_image_folder", load)
    return parsed


def test_lvis_format_metadata_is_there_from_registration(tmp_path, json_parses):
    # instances_per_class (6, 3, 1), one box of a class per image: image counts = instance
    # counts = [6, 3, 1] over 6 images.
    path = write_lvis_set(str(tmp_path))
    name = _name("catalog_lvis")
    register_lvis_format(name, path, str(tmp_path))
    meta = MetadataCatalog.get(name)
    assert not json_parses  # registration reads nothing
    assert meta.thing_classes == ["c0", "c1", "c2"]  # category ids 10, 20, 30 in sorted order
    assert meta.class_image_count == [6, 3, 1] and meta.class_instance_count == [6, 3, 1]
    assert meta.num_train_images == 6
    assert meta.thing_dataset_id_to_contiguous_id == {10: 0, 20: 1, 30: 2}
    stats = class_stats_from_metadata(name)
    assert stats.image_frequency.tolist() == pytest.approx([1.0, 0.5, 1 / 6])
    assert json_parses[path] == 1
    # The loader reuses that parse; a detection set's dicts are handed over once, so a later
    # request (a test loader rebuilt for the next evaluation) parses again.
    dicts = DatasetCatalog.get(name)
    assert len(dicts) == 6 and json_parses[path] == 1
    assert [a["category_id"] for a in dicts[0]["annotations"]] == [0, 1, 2]
    assert len(DatasetCatalog.get(name)) == 6 and json_parses[path] == 2
    # Metadata keys a load does not produce stay absent, as in detectron2's Metadata.
    assert meta.get("no_such_key") is None
    with pytest.raises(AttributeError):
        meta.no_such_key


def test_lt_roi_heads_build_on_a_set_registered_as_the_readme_says(tmp_path, json_parses):
    # #12.6: register_lvis_format(name, json_file, image_root) and an lt_det ROI head built
    # before the set was ever loaded ("has no thing_classes in its metadata" before the fix).
    path = write_lvis_set(str(tmp_path))
    name = _name("catalog_lvis_heads")
    register_lvis_format(name, path, str(tmp_path))
    cfg = get_lt_cfg()
    cfg.merge_from_file(DET_TINY)
    cfg.MODEL.DEVICE = "cpu"
    cfg.DATASETS.TRAIN = (name,)
    cfg.MODEL.ROI_HEADS.NAME = "LTStandardROIHeads"
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 3
    cfg.MODEL.LT.LOSS.NAME = "EQL"
    cfg.MODEL.LT.LOSS.EQL.LAMBDA = 0.3
    model = LTTrainer.build_model(cfg)
    # f_j = [6, 3, 1] / 6 = [1, 0.5, 0.167]: only class 2 is below lambda = 0.3, a tail class.
    assert model.roi_heads.box_predictor.cls_loss.tail.tolist() == [0.0, 0.0, 1.0]
    assert json_parses[path] == 1


def test_image_folder_metadata_is_there_from_registration(tmp_path, folder_parses):
    root = write_image_folder(str(tmp_path), images_per_class=(5, 2, 1))
    train, val = register_image_folder(_name("catalog_folder"), root)
    assert MetadataCatalog.get(train).thing_classes == ["a", "b", "c"]
    assert MetadataCatalog.get(train).class_image_count == [5, 2, 1]
    assert MetadataCatalog.get(train).num_train_images == 8
    assert MetadataCatalog.get(val).thing_classes == ["a", "b", "c"]
    # Class statistics belong to the training split only.
    assert MetadataCatalog.get(val).get("class_image_count") is None
    # Classification sets keep their dicts: every later request costs no parse.
    for _ in range(3):
        assert [d["label"] for d in DatasetCatalog.get(train)] == [0] * 5 + [1] * 2 + [2]
    assert folder_parses == {os.path.join(root, "train"): 1, os.path.join(root, "val"): 1}


def test_a_plain_detectron2_registration_is_loaded_once_for_its_statistics():
    calls = []
    dicts = [{"image_id": i, "annotations": [{"category_id": i % 2}]} for i in range(3)]

    def load():
        calls.append(1)
        return [dict(d) for d in dicts]

    name = _name("catalog_plain")
    DatasetCatalog.register(name, load)
    MetadataCatalog.get(name).thing_classes = ["x", "y"]
    stats = class_stats_from_metadata(name)
    # category ids 0, 1, 0 -> class 0 in 2 images, class 1 in 1
    assert stats.image_count.tolist() == [2, 1] and stats.num_images == 3
    assert len(DatasetCatalog.get(name)) == 3 and len(calls) == 1  # the loader gets that load
    assert len(DatasetCatalog.get(name)) == 3 and len(calls) == 2  # handed over once


def test_detection_training_parses_each_json_once(tmp_path, json_parses):
    # Before: the training JSON twice (loss statistics, then the loader) and the test JSON
    # twice (build_evaluator's DatasetCatalog.get, then the test loader).
    train_json = write_lvis_set(str(tmp_path / "train"))
    val_json = write_lvis_set(str(tmp_path / "val"), instances_per_class=(2, 1, 1), num_images=2)
    train, val = _name("catalog_det_train"), _name("catalog_det_val")
    register_lvis_format(train, train_json, str(tmp_path / "train"))
    register_lvis_format(val, val_json, str(tmp_path / "val"))
    cfg = get_lt_cfg()
    cfg.merge_from_file(DET_TINY)
    cfg.MODEL.DEVICE = "cpu"
    cfg.DATASETS.TRAIN, cfg.DATASETS.TEST = (train,), (val,)
    cfg.MODEL.ROI_HEADS.NAME = "LTStandardROIHeads"
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 3
    cfg.MODEL.LT.LOSS.NAME = "EQL"
    cfg.DATALOADER.SAMPLER_TRAIN = "RepeatFactorSampler"
    cfg.SOLVER.MAX_ITER = 2
    cfg.LT.EVAL.PLOTS = False
    cfg.OUTPUT_DIR = str(tmp_path / "out")
    torch.manual_seed(0)
    trainer = LTTrainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    assert "bbox" in trainer._last_eval_results  # the evaluation ran on the test set
    assert json_parses == {train_json: 1, val_json: 1}


def test_classification_training_with_stage_schedule_parses_each_set_once(tmp_path, folder_parses):
    # Before: the training folder was listed three times (model statistics, the loader, the
    # stage's rebuilt loader) and the validation folder twice.
    root = write_image_folder(str(tmp_path), images_per_class=(5, 2, 1))
    train, val = register_image_folder(_name("catalog_cls"), root)
    cfg = get_lt_cfg()
    cfg.merge_from_file(CLS_TINY)
    cfg.MODEL.DEVICE = "cpu"
    cfg.DATASETS.TRAIN, cfg.DATASETS.TEST = (train,), (val,)
    cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES = 3
    cfg.SOLVER.IMS_PER_BATCH = 4
    cfg.SOLVER.MAX_ITER = 4
    cfg.SOLVER.STEPS = (3,)
    cfg.SOLVER.WARMUP_ITERS = 0
    # 8 training images / batch 4 = 2 iterations per epoch (the epoch comes from the set's
    # num_train_images metadata): the stage starts at iteration 2 and rebuilds the loader.
    cfg.LT.STAGES = [{"NAME": "drs", "START_EPOCH": 1, "OVERRIDES": ["DATALOADER.SAMPLER_TRAIN", "ClassAwareSampler"]}]
    cfg.LT.EVAL.PLOTS = False
    cfg.OUTPUT_DIR = str(tmp_path / "out")
    trainer = LTTrainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    assert "classification" in trainer._last_eval_results
    assert folder_parses == {os.path.join(root, "train"): 1, os.path.join(root, "val"): 1}
