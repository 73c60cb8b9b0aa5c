"""The class-subset rules on hand-built data: which classes go, which samples remain."""
import pytest

from lt_det.config import get_lt_cfg
from lt_det.data.class_subset import (
    ClassSubset,
    class_subset_from_config,
    classes_above_share,
    resolve_class_subset,
    subset_dicts,
)

NAMES = ["sedan", "suv", "van", "bus"]
COUNTS = [60, 25, 10, 5]  # N = 100: shares 0.60, 0.25, 0.10, 0.05


def test_share_rule_on_a_hand_built_count_list():
    # n_c / N > share: 0.5 -> only the sedan (0.60); 0.2 -> sedan and SUV (0.25 > 0.2);
    # 0.25 -> the sedan only (0.25 is not > 0.25); 0.04 -> all four; 0.7 -> none.
    assert classes_above_share(COUNTS, 0.5) == [0]
    assert classes_above_share(COUNTS, 0.2) == [0, 1]
    assert classes_above_share(COUNTS, 0.25) == [0]
    assert classes_above_share(COUNTS, 0.04) == [0, 1, 2, 3]
    assert classes_above_share(COUNTS, 0.7) == []
    # Detection: shares of images containing the class, N given (images hold several).
    assert classes_above_share([30, 12, 4], 0.5, num_images=40) == [0]  # 0.75, 0.3, 0.1
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE=.* outside \(0, 1\)"):
            classes_above_share(COUNTS, bad)


def test_resolve_names_and_share_together():
    assert resolve_class_subset(NAMES, COUNTS, ["sedan"]) == ClassSubset(kept=(1, 2, 3), removed=(0,))
    # Names and the share rule add up: bus by name, sedan + SUV by share 0.2.
    s = resolve_class_subset(NAMES, COUNTS, ["bus"], 0.2)
    assert s.removed == (0, 1, 3) and s.kept == (2,) and s.num_classes == 4
    assert resolve_class_subset(NAMES, COUNTS) == ClassSubset(kept=(0, 1, 2, 3), removed=())


def test_bad_input_is_one_line_naming_the_key():
    with pytest.raises(ValueError, match=r"LT.CLASS_SUBSET.REMOVE names 'sedna', which is not a class of lt_x") as e:
        resolve_class_subset(NAMES, COUNTS, ["sedna"], dataset="lt_x")
    assert "\n" not in str(e.value) and "thing_classes" in str(e.value)
    with pytest.raises(ValueError, match="remove every class .* keep at least one class"):
        resolve_class_subset(NAMES, COUNTS, ["sedan", "suv", "van", "bus"])
    with pytest.raises(ValueError, match="remove every class"):
        resolve_class_subset(NAMES, COUNTS, ["suv", "van", "bus"], 0.5)
    # Kept classes without any training image do not count as kept.
    with pytest.raises(ValueError, match="remove every class"):
        resolve_class_subset(["a", "b"], [5, 0], ["a"])
    with pytest.raises(ValueError, match="outside"):
        resolve_class_subset(NAMES, COUNTS, [], 1.0)


def test_residual_classification_set_holds_exactly_the_expected_samples():
    # 10 samples: labels 0 x5, 1 x3, 2 x1, 3 x1. Removing class 0 leaves ids 5..9 in order.
    labels = [0, 1, 0, 2, 0, 1, 0, 3, 1, 0]
    dicts = [{"file_name": f"{i}.png", "label": l, "image_id": i} for i, l in enumerate(labels)]
    out = subset_dicts(dicts, [0])
    assert [d["image_id"] for d in out] == [1, 3, 5, 7, 8]
    assert sorted({d["label"] for d in out}) == [1, 2, 3]  # labels keep their ids
    assert out[0] is dicts[1]
    out = subset_dicts(dicts, [0, 1])
    assert [(d["image_id"], d["label"]) for d in out] == [(3, 2), (7, 3)]
    assert subset_dicts(dicts, []) == dicts


def test_residual_detection_set_drops_annotations_and_emptied_images():
    def img(i, cats):
        return {"image_id": i, "annotations": [{"category_id": c, "bbox": [0, 0, 1, 1]} for c in cats]}

    dicts = [img(0, [0, 0]), img(1, [0, 2]), img(2, [1]), img(3, []), img(4, [2, 0, 1])]
    out = subset_dicts(dicts, [0])
    # Image 0 holds only class 0 -> dropped; image 3 had nothing to begin with -> dropped.
    assert [d["image_id"] for d in out] == [1, 2, 4]
    assert [[a["category_id"] for a in d["annotations"]] for d in out] == [[2], [1], [2, 1]]
    assert [a["category_id"] for a in dicts[4]["annotations"]] == [2, 0, 1]  # input untouched


def test_from_config():
    cfg = get_lt_cfg()
    assert class_subset_from_config(cfg, NAMES, COUNTS) is None  # defaults: nothing removed
    cfg.LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE = 0.5
    assert class_subset_from_config(cfg, NAMES, COUNTS).removed == (0,)
    cfg.LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE = 0.0
    cfg.LT.CLASS_SUBSET.REMOVE = ["van"]
    assert class_subset_from_config(cfg, NAMES, COUNTS).removed == (2,)
