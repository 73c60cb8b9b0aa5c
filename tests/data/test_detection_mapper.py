"""LTDatasetMapper: a truncated image in a detection set is named, or skipped and counted."""
import logging
import uuid

import pytest
from detectron2.data import DatasetCatalog

from lt_det.config import get_lt_cfg
from lt_det.data import build_test_loader, build_train_loader
from lt_det.data.corrupt_images import CorruptImageError
from lt_det.data.datasets import register_lvis_format
from lt_det.data.detection_mapper import LTDatasetMapper


def _register(lvis_set, tmp_path, truncated=(1,)):
    json_file, paths = lvis_set(truncated=truncated)
    name = f"test_mapper_{uuid.uuid4().hex[:6]}"
    register_lvis_format(name, json_file, str(tmp_path))
    return name, paths


def _cfg(name, on_corrupt="error", workers=0):
    cfg = get_lt_cfg()
    cfg.DATASETS.TRAIN = (name,)
    cfg.INPUT.MIN_SIZE_TRAIN, cfg.INPUT.MAX_SIZE_TRAIN = (64,), 64
    cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST = 64, 64
    cfg.SOLVER.IMS_PER_BATCH = 2
    cfg.DATALOADER.NUM_WORKERS = workers
    cfg.LT.INPUT.ON_CORRUPT = on_corrupt
    return cfg


def test_error_policy_names_the_file(lvis_set, tmp_path):
    name, paths = _register(lvis_set, tmp_path)
    dicts = DatasetCatalog.get(name)
    mapper = LTDatasetMapper(_cfg(name), True)
    assert mapper(dicts[0])["image"].shape == (3, 64, 64)
    with pytest.raises(CorruptImageError, match=f"Cannot decode image {paths[1]}: OSError: image file is truncated.*ON_CORRUPT"):
        mapper(dicts[1])


def test_skip_policy_returns_none_and_counts(lvis_set, tmp_path, caplog):
    name, paths = _register(lvis_set, tmp_path, truncated=(1, 2))
    dicts = DatasetCatalog.get(name)
    mapper = LTDatasetMapper(_cfg(name, "skip"), True)
    with caplog.at_level(logging.WARNING, logger="lt_det"):
        assert mapper(dicts[1]) is None and mapper(dicts[2]) is None
    assert f"Skipped corrupt image 1 in this data-loader process (LT.INPUT.ON_CORRUPT 'skip'): Cannot decode image {paths[1]}" in caplog.text
    assert f"Skipped corrupt image 2 in this data-loader process (LT.INPUT.ON_CORRUPT 'skip'): Cannot decode image {paths[2]}" in caplog.text
    assert mapper.skip_log.skipped == 2


def test_test_mapper_never_skips(lvis_set, tmp_path):
    # A skipped test image would be evaluated as all-missed, so the test mapper always raises.
    name, paths = _register(lvis_set, tmp_path)
    cfg = _cfg(name, "skip")
    loader = build_test_loader(cfg, name)
    with pytest.raises(CorruptImageError, match=f"Cannot decode image {paths[1]}"):
        list(loader)


def test_train_loader_skips_the_file_and_keeps_batches_full(lvis_set, tmp_path, caplog):
    name, paths = _register(lvis_set, tmp_path)
    loader = iter(build_train_loader(_cfg(name, "skip")))
    with caplog.at_level(logging.WARNING, logger="lt_det"):
        # 6 batches of 2 = 12 draws from 4 images: the truncated one is drawn (detectron2's
        # TrainingSampler shuffles all 4 each epoch) and replaced by another image.
        batches = [next(loader) for _ in range(6)]
    seen = [d["file_name"] for b in batches for d in b]
    assert all(len(b) == 2 for b in batches) and paths[1] not in seen
    assert set(seen) == {paths[0], paths[2], paths[3]}
    assert "Skipped corrupt image 1 " in caplog.text and str(paths[1]) in caplog.text


def test_error_from_a_worker_stays_one_line(lvis_set, tmp_path):
    # torch re-raises a worker's exception as type(e)(worker traceback text).
    name, paths = _register(lvis_set, tmp_path, truncated=(0, 1, 2, 3))
    loader = iter(build_train_loader(_cfg(name, "error", workers=1)))
    with pytest.raises(CorruptImageError) as info:
        next(loader)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("Cannot decode image ") and "ON_CORRUPT" in msg
    assert "Original Traceback" in info.value.worker_traceback


def test_bad_policy_is_rejected(lvis_set, tmp_path):
    name, _ = _register(lvis_set, tmp_path)
    with pytest.raises(ValueError, match="LT.INPUT.ON_CORRUPT must be one of"):
        LTDatasetMapper(_cfg(name, "ignore"), True)


def test_old_key_name_points_to_the_new_one():
    cfg = get_lt_cfg()
    with pytest.raises(KeyError, match="LT.CLS_INPUT.ON_CORRUPT was renamed to LT.INPUT.ON_CORRUPT"):
        cfg.merge_from_list(["LT.CLS_INPUT.ON_CORRUPT", "skip"])
