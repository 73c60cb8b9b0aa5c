import json
import os

import numpy as np
from detectron2.data import DatasetCatalog, MetadataCatalog

from lt_det.data.datasets.builtin import LT_SHAPES_SPECS
from lt_det.data.datasets.lt_shapes import (
    LTShapesSpec,
    _instance_counts,
    class_names,
    ensure_lt_shapes,
    generate_lt_shapes,
)

SMALL = LTShapesSpec(num_train=24, num_val=8, image_size=48, num_classes=5, max_instances=16,
                     imbalance=8.0, max_objects=3, seed=3, val_per_class=0)


def test_instance_counts_follow_the_exponential_profile():
    # n_k = round(16 * 8 ** (-k / 4)): 16, 16/8^.25 = 9.51 -> 10, 16/8^.5 = 5.66 -> 6,
    # 16/8^.75 = 3.36 -> 3, 16/8 = 2
    assert _instance_counts(SMALL).tolist() == [16, 10, 6, 3, 2]


def test_generation_is_deterministic_and_in_lvis_layout(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        generate_lt_shapes(SMALL, str(d))
    for split in ("train", "val"):
        ja, jb = (open(d / f"lvis_v1_{split}.json").read() for d in (a, b))
        assert ja == jb
    assert (a / "train" / "000001.png").read_bytes() == (b / "train" / "000001.png").read_bytes()

    train = json.load(open(a / "lvis_v1_train.json"))
    cats = {c["id"]: c for c in train["categories"]}
    assert [c["name"] for c in train["categories"]] == class_names(5)
    # Every target instance is drawn; an unlabelled one marks its category not exhaustive in
    # that image, so annotated + (images listing k as not exhaustive) <= target_k.
    for k, target in enumerate(_instance_counts(SMALL)):
        n_ann = sum(a["category_id"] == k + 1 for a in train["annotations"])
        n_listed = sum((k + 1) in i["not_exhaustive_category_ids"] for i in train["images"])
        assert 1 <= n_ann and n_ann + n_listed <= target
    per_img = {}
    for ann in train["annotations"]:
        x, y, w, h = ann["bbox"]
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 48 and y + h <= 48
        poly = np.array(ann["segmentation"][0]).reshape(-1, 2)
        # the box is the polygon's extent
        np.testing.assert_allclose([poly[:, 0].min(), poly[:, 1].min()], [x, y], atol=0.02)
        per_img.setdefault(ann["image_id"], set()).add(ann["category_id"])
    for img in train["images"]:
        present = per_img.get(img["id"], set())
        assert present, "every image has at least one annotation"
        assert not present & set(img["neg_category_ids"]), "negatives are verified absent"
        # a category is 'not exhaustive' only where some of its instances are annotated
        assert set(img["not_exhaustive_category_ids"]) <= present
    # category statistics are the training set's, with LVIS's frequency rule
    for cid, c in cats.items():
        imgs = {a["image_id"] for a in train["annotations"] if a["category_id"] == cid}
        assert c["image_count"] == len(imgs)
        assert c["frequency"] == ("r" if len(imgs) <= 10 else "c" if len(imgs) <= 100 else "f")


def test_default_spec_has_all_three_frequency_groups():
    # Image counts are at most the instance targets: n_k = 400 * 100 ** (-k / 39).
    # Rare needs <= 10 images: the last classes (targets 4..10) certainly are rare;
    # frequent needs > 100 images: targets of the first classes are 400, 355, ... .
    counts = _instance_counts(LT_SHAPES_SPECS["lt_shapes"])
    assert counts[0] == 400 and counts[-1] == 4
    assert (counts <= 10).sum() >= 5 and (counts > 150).sum() >= 5


def test_registered_tiny_set_loads_with_class_stats():
    dicts = DatasetCatalog.get("lt_shapes_tiny_train")
    spec = LT_SHAPES_SPECS["lt_shapes_tiny"]
    assert len(dicts) == spec.num_train
    assert os.path.isfile(dicts[0]["file_name"])
    meta = MetadataCatalog.get("lt_shapes_tiny_train")
    assert meta.evaluator_type == "lvis" and len(meta.thing_classes) == spec.num_classes
    counted = np.zeros(spec.num_classes, int)
    for d in dicts:
        for c in {a["category_id"] for a in d["annotations"]}:
            counted[c] += 1
    assert meta.class_image_count == counted.tolist()
    assert ensure_lt_shapes(spec) == os.path.dirname(os.path.dirname(dicts[0]["file_name"]))


def test_balanced_val_split_keeps_train_identical(tmp_path):
    # val_per_class=4: every class has 4 val instances drawn (5 classes x 4 = 20 objects in
    # 8 images of at most 3: fits). An instance may be left unlabelled (then its category is
    # listed as not exhaustive in that image), so annotated_k + listed_k <= 4 and >= 1.
    balanced = LTShapesSpec(**{**SMALL.__dict__, "val_per_class": 4})
    a, b = tmp_path / "legacy", tmp_path / "balanced"
    for d, spec in ((a, SMALL), (b, balanced)):
        d.mkdir()
        generate_lt_shapes(spec, str(d))
    # the train split (JSON and pixels) does not depend on the val profile
    assert (a / "lvis_v1_train.json").read_text().replace("\"val_per_class\": 0", "") == (
        b / "lvis_v1_train.json").read_text().replace("\"val_per_class\": 4", "")
    for img in sorted((a / "train").iterdir()):
        assert img.read_bytes() == (b / "train" / img.name).read_bytes()
    val = json.load(open(b / "lvis_v1_val.json"))
    for k in range(5):
        n_ann = sum(x["category_id"] == k + 1 for x in val["annotations"])
        n_listed = sum((k + 1) in i["not_exhaustive_category_ids"] for i in val["images"])
        assert 1 <= n_ann and n_ann + n_listed <= 4
    assert len(val["annotations"]) <= 20  # nothing beyond the 20 drawn objects


def test_default_val_split_is_balanced_with_20_per_class():
    spec = LT_SHAPES_SPECS["lt_shapes"]
    assert spec.val_per_class == 20
    # 40 classes x 20 = 800 objects in 200 val images of at most 6 (1,200 slots): fits
    assert spec.val_per_class * spec.num_classes <= spec.num_val * spec.max_objects


def test_val_split_that_cannot_fit_is_rejected():
    import pytest

    with pytest.raises(ValueError, match="does not fit"):
        LTShapesSpec(num_val=2, max_objects=2, num_classes=5, val_per_class=3)
