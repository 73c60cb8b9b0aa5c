"""DATASETS.LT.REGISTER: the user's sets registered from the config (from_config.py)."""
import uuid

import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from tiny_data import write_image_folder, write_lvis_set

from lt_det.config import get_lt_cfg
from lt_det.data import class_stats_from_metadata
from lt_det.data.datasets.from_config import register_from_config
from lt_det.evaluation import LTCOCOEvaluator, LTLVISEvaluator, build_evaluator


def _cfg(*entries):
    cfg = get_lt_cfg()
    cfg.DATASETS.LT.REGISTER = list(entries)
    return cfg


def _uid(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_lvis_coco_and_folder_entries(tmp_path):
    path = write_lvis_set(str(tmp_path / "det"))  # also a valid COCO file
    folder = write_image_folder(str(tmp_path / "cls"), images_per_class=(3, 1), splits=("train", "val"))
    lvis, coco, prefix = _uid("cfg_lvis"), _uid("cfg_coco"), _uid("cfg_folder")
    cfg = _cfg(
        {"NAME": lvis, "JSON_FILE": path, "IMAGE_ROOT": str(tmp_path / "det")},
        {"NAME": coco, "JSON_FILE": path, "IMAGE_ROOT": str(tmp_path / "det"), "FORMAT": "coco"},
        {"NAME": prefix, "ROOT": folder},
    )
    names = register_from_config(cfg)
    assert names == [lvis, coco, f"{prefix}_train", f"{prefix}_val"]  # no test/ folder: no _test
    assert MetadataCatalog.get(lvis).thing_classes == ["c0", "c1", "c2"]
    # COCO: detectron2's loader; the statistics load it once (classes 6, 3, 1 images).
    assert class_stats_from_metadata(coco).image_count.tolist() == [6, 3, 1]
    assert MetadataCatalog.get(coco).thing_classes == ["c0", "c1", "c2"]
    assert MetadataCatalog.get(f"{prefix}_train").class_image_count == [3, 1]
    assert isinstance(build_evaluator(cfg, lvis, str(tmp_path / "e1")), LTLVISEvaluator)
    assert isinstance(build_evaluator(cfg, coco, str(tmp_path / "e2")), LTCOCOEvaluator)
    # Every launched process calls it; a second call registers nothing and does not fail.
    assert register_from_config(cfg) == names


@pytest.mark.parametrize(
    "entry, error, needle",
    [
        ({"JSON_FILE": "x"}, ValueError, "DATASETS.LT.REGISTER[0] must be a dict with NAME"),
        ({"NAME": "a", "ROOT": "r", "FORMAT": "voc"}, ValueError, "FORMAT 'voc' is not one of"),
        ({"NAME": "a", "JSON_FILE": "x", "IMAGE_ROOT": "r", "ROOT": "r"}, ValueError, "unknown key(s) ['ROOT']"),
        ({"NAME": "a", "JSON_FILE": "/no/such.json", "IMAGE_ROOT": "/"}, FileNotFoundError, "JSON_FILE /no/such.json does not exist"),
        ({"NAME": "a", "ROOT": "/no/such/folder"}, FileNotFoundError, "ROOT /no/such/folder has no train/ folder"),
    ],
)
def test_bad_entries_are_one_line_naming_the_key(entry, error, needle):
    with pytest.raises(error) as e:
        register_from_config(_cfg(entry))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_name_taken_by_other_files_is_an_error(tmp_path):
    path = write_lvis_set(str(tmp_path))
    with pytest.raises(ValueError, match="'lt_shapes_tiny_train' is already registered"):
        register_from_config(_cfg({"NAME": "lt_shapes_tiny_train", "JSON_FILE": path, "IMAGE_ROOT": str(tmp_path)}))
    assert "lt_shapes_tiny_train" in DatasetCatalog.list()
