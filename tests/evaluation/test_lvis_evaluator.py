"""LTLVISEvaluator: detectron2's process/evaluate path on fake Instances, outputs on disk."""
import csv
import itertools
import json
import math
import os

import numpy as np
import pytest
import torch
from detectron2.data import MetadataCatalog
from detectron2.structures import Boxes, Instances
from lvis_cases import make_gt

from lt_det.config import get_lt_cfg
from lt_det.evaluation import EVALUATOR_REGISTRY, LTLVISEvaluator, build_evaluator
from lt_det.evaluation.lvis_eval import LVISEval

H, W = 40, 60
_names = (f"lt_det_test_lvis_eval_{i}" for i in itertools.count())

# Dataset category ids 10 ('f'), 20 ('c'), 30 ('r') = contiguous 0, 1, 2.
# Image 1: a category-10 and a category-20 object; image 2: a category-30 object, and it
# lists category 10 as absent.
GT_ANNS = [(1, 1, 10, [5, 5, 20, 10]), (2, 1, 20, [30, 20, 15, 15]), (3, 2, 30, [10, 10, 30, 20])]
GT_CATS = [(10, "f", 150), (20, "c", 30), (30, "r", 2)]


def _gt(cats=GT_CATS, anns=GT_ANNS):
    gt = make_gt([(1, [], []), (2, [cats[0][0]], [])], anns, cats)
    for im in gt["images"]:
        im["height"], im["width"] = H, W
    return gt


def _register(tmp_path, gt, mapping=True, **meta):
    name = next(_names)
    path = os.path.join(tmp_path, f"{name}.json")
    with open(path, "w") as f:
        json.dump(gt, f)
    md = MetadataCatalog.get(name)
    md.set(json_file=path, evaluator_type="lvis", thing_classes=[c["name"] for c in gt["categories"]], **meta)
    if mapping:
        md.thing_dataset_id_to_contiguous_id = {c["id"]: i for i, c in enumerate(gt["categories"])}
    return name


def _instances(boxes, scores, classes, with_masks=True):
    inst = Instances((H, W))
    inst.pred_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
    inst.scores = torch.tensor(scores, dtype=torch.float32)
    inst.pred_classes = torch.tensor(classes, dtype=torch.int64)
    if with_masks:
        masks = torch.zeros((len(boxes), H, W), dtype=torch.bool)
        for k, (x0, y0, x1, y1) in enumerate(boxes):
            masks[k, int(y0):int(y1), int(x0):int(x1)] = True
        inst.pred_masks = masks
    return inst


def _batches(with_masks=True):
    """Exact boxes of all three objects (XYXY) plus a 0.95 category-10 detection on image 2,
    where category 10 is negative, i.e. a false positive ranked above category 10's TP."""
    img1 = _instances([[5, 5, 25, 15], [30, 20, 45, 35]], [0.9, 0.8], [0, 1], with_masks)
    img2 = _instances([[10, 10, 40, 30], [0, 0, 10, 10]], [0.7, 0.95], [2, 0], with_masks)
    return [([{"image_id": 1, "height": H, "width": W}], [{"instances": img1}]),
            ([{"image_id": 2, "height": H, "width": W}], [{"instances": img2}])]


def _run(evaluator, batches):
    evaluator.reset()
    for inputs, outputs in batches:
        evaluator.process(inputs, outputs)
    return evaluator.evaluate()


def test_registry_and_from_cfg(tmp_path):
    name = _register(tmp_path, _gt())
    cfg = get_lt_cfg()
    cfg.LT.EVAL.PLOTS = False
    ev = build_evaluator(cfg, name, str(tmp_path / "out"))
    assert EVALUATOR_REGISTRY.get("lvis") is LTLVISEvaluator
    assert isinstance(ev, LTLVISEvaluator)
    assert ev._plots is False and ev._per_class_csv is True


def test_process_evaluate_hand_values_and_files(tmp_path):
    name = _register(tmp_path, _gt())
    out = str(tmp_path / "out")
    metrics = _run(LTLVISEvaluator(name, output_dir=out), _batches())
    assert set(metrics) == {"bbox", "segm"}
    m = metrics["bbox"]
    # Boxes are exact (IoU 1). Category 10: FP (0.95, image 2 says absent) then TP ->
    # precision .5 at recall 1 -> AP 50. Categories 20 and 30: one TP each -> AP 100.
    assert m["AP"] == pytest.approx((50 + 100 + 100) / 3)
    assert m["APf"] == pytest.approx(50)
    assert m["APc"] == pytest.approx(100) and m["APr"] == pytest.approx(100)
    assert m["AR@300"] == pytest.approx(100)
    assert math.isnan(m["APl"])  # no object above 96^2 px: undefined, reported as NaN

    # The results file holds dataset category ids and is what the metrics came from.
    with open(os.path.join(out, "lvis_instances_results.json")) as f:
        results = json.load(f)
    assert sorted({r["category_id"] for r in results}) == [10, 20, 30]
    with open(MetadataCatalog.get(name).json_file) as f:
        gt = json.load(f)
    masks_only = [{k: v for k, v in r.items() if k != "bbox"} for r in results]
    segm = LVISEval(gt, masks_only).evaluate("segm").metrics
    for k, v in segm.items():
        expected = v * 100 if v >= 0 else float("nan")
        assert metrics["segm"][k] == pytest.approx(expected, nan_ok=True), k

    for task in ("bbox", "segm"):
        with open(os.path.join(out, f"lvis_{task}_per_class_ap.csv")) as f:
            rows = list(csv.DictReader(f))
        assert [r["category_id"] for r in rows] == ["10", "20", "30"]
        assert [r["frequency"] for r in rows] == ["f", "c", "r"]
        assert [r["image_count"] for r in rows] == ["150", "30", "2"]
        assert os.path.getsize(os.path.join(out, f"lvis_{task}_per_class_ap.png")) > 0
    assert [float(r["AP"]) for r in csv.DictReader(open(os.path.join(out, "lvis_bbox_per_class_ap.csv")))] \
        == pytest.approx([50, 100, 100])


def test_without_id_mapping_uses_contiguous_plus_one(tmp_path):
    # detectron2's own LVIS registration has no id mapping: category id = contiguous + 1.
    anns = [(a, i, c // 10, box) for a, i, c, box in GT_ANNS]
    cats = [(c // 10, f, n) for c, f, n in GT_CATS]
    name = _register(tmp_path, _gt(cats, anns), mapping=False)
    metrics = _run(LTLVISEvaluator(name, output_dir=None, tasks=("bbox",)), _batches(with_masks=False))
    assert metrics["bbox"]["AP"] == pytest.approx((50 + 100 + 100) / 3)


def test_image_counts_from_metadata_when_json_has_none(tmp_path):
    gt = _gt()
    for c in gt["categories"]:
        c.pop("image_count")
    name = _register(tmp_path, gt, class_image_count=[500, 50, 5])
    out = str(tmp_path / "out")
    _run(LTLVISEvaluator(name, output_dir=out, plots=False), _batches(with_masks=False))
    with open(os.path.join(out, "lvis_bbox_per_class_ap.csv")) as f:
        assert [r["image_count"] for r in csv.DictReader(f)] == ["500", "50", "5"]
    assert not os.path.exists(os.path.join(out, "lvis_bbox_per_class_ap.png"))


def test_unknown_predicted_class_raises(tmp_path):
    name = _register(tmp_path, _gt())
    bad = [([{"image_id": 1}], [{"instances": _instances([[0, 0, 5, 5]], [0.5], [7], False)}])]
    with pytest.raises(ValueError, match="Predicted class 7"):
        _run(LTLVISEvaluator(name), bad)


def test_no_detections_gives_nan_metrics(tmp_path):
    name = _register(tmp_path, _gt())
    empty = [([{"image_id": 1}], [{"instances": _instances([], [], [], False)}])]
    metrics = _run(LTLVISEvaluator(name), empty)
    assert list(metrics) == ["bbox"] and all(np.isnan(v) for v in metrics["bbox"].values())
    assert _run(LTLVISEvaluator(name), []) == {}  # nothing processed at all


def test_missing_json_file_raises():
    name = next(_names)
    MetadataCatalog.get(name).set(evaluator_type="lvis")
    with pytest.raises(KeyError, match="json_file"):
        LTLVISEvaluator(name)
