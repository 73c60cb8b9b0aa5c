import csv
import math
import uuid

import numpy as np
import pytest
import torch
from detectron2.data import MetadataCatalog

from lt_det.config import get_lt_cfg
from lt_det.data.classification import ImageBatch
from lt_det.data.datasets import register_classification
from lt_det.evaluation import LTClassificationEvaluator, build_evaluator, classification_metrics, shot_group

# Hand-built case. Training counts per class and their groups (many > 100, medium 20-100,
# few < 20): 500, 150 -> many; 100, 20 -> medium; 19, 1, 0 -> few.
TRAIN_COUNTS = [500, 150, 100, 20, 19, 1, 0]
LABELS = [0, 0, 1, 1, 2, 3, 4, 5]  # class 6 has no test image
TOPK = [
    [0, 1, 2, 3, 4],  # label 0: top-1 right
    [1, 0, 2, 3, 4],  # label 0: top-1 wrong, top-5 right
    [1, 0, 2, 3, 4],  # label 1: right
    [1, 2, 0, 3, 4],  # label 1: right
    [0, 1, 3, 4, 5],  # label 2: wrong, not in top-5
    [3, 0, 1, 2, 4],  # label 3: right
    [0, 4, 1, 2, 3],  # label 4: top-1 wrong, top-5 right
    [0, 1, 2, 3, 4],  # label 5: wrong, not in top-5
]
# top-1: 4 / 8 = 50%; top-5: 6 / 8 = 75%.
# Per-class top-1: c0 1/2, c1 2/2, c2 0/1, c3 1/1, c4 0/1, c5 0/1, c6 no test image (ignored).
# many = mean(0.5, 1) = 75%; medium = mean(0, 1) = 50%; few = mean(0, 0) = 0%;
# mean class accuracy = (0.5 + 1 + 0 + 1 + 0 + 0) / 6 = 41.667%.
EXPECTED = {"top1": 50.0, "top5": 75.0, "many": 75.0, "medium": 50.0, "few": 0.0, "mean_class_acc": 250 / 6}


def test_shot_groups():
    assert [shot_group(n) for n in TRAIN_COUNTS] == ["many", "many", "medium", "medium", "few", "few", "few"]


def test_configurable_shot_split():
    # (few_below, many_above) = (2, 150): few < 2 <= medium <= 150 < many, so
    # 500 -> many; 150, 100, 20, 19 -> medium; 1, 0 -> few (#12.16).
    assert [shot_group(n, (2, 150)) for n in TRAIN_COUNTS] == [
        "many", "medium", "medium", "medium", "medium", "few", "few"]
    # Metrics with that split: many = c0 = 50%; medium = mean(c1 1, c2 0, c3 1, c4 0) = 50%;
    # few = c5 = 0% (c6 has no test image).
    m = classification_metrics(np.array(LABELS), np.array(TOPK), TRAIN_COUNTS, (2, 150))["metrics"]
    assert (m["many"], m["medium"], m["few"]) == (50.0, 50.0, 0.0)
    assert m["top1"] == EXPECTED["top1"]  # the split changes only the groups
    for bad in [(0, 100), (50, 20), (20,)]:
        with pytest.raises(ValueError, match="LT.EVAL.SHOT_SPLIT"):
            classification_metrics(np.array(LABELS), np.array(TOPK), TRAIN_COUNTS, bad)


def test_hand_built_metrics():
    result = classification_metrics(np.array(LABELS), np.array(TOPK), TRAIN_COUNTS)
    for k, v in EXPECTED.items():
        assert result["metrics"][k] == pytest.approx(v), k
    rows = result["per_class"]
    assert [r["num_test"] for r in rows] == [2, 2, 1, 1, 1, 1, 0]
    assert math.isnan(rows[6]["accuracy"]) and rows[1]["accuracy"] == 100.0


def test_edge_cases():
    # No many-shot class at all: its mean is NaN, the rest still computed.
    r = classification_metrics(np.array([0, 1]), np.array([[0], [0]]), [5, 50])["metrics"]
    assert math.isnan(r["many"]) and r["few"] == 100.0 and r["medium"] == 0.0 and r["top1"] == 50.0
    # Empty input.
    r = classification_metrics(np.zeros(0), np.zeros((0, 5)), [5, 50])["metrics"]
    assert math.isnan(r["top1"])
    # A single class.
    r = classification_metrics(np.array([0, 0]), np.array([[0], [0]]), [3])["metrics"]
    assert r["top1"] == 100.0 and r["top5"] == 100.0
    with pytest.raises(ValueError, match="outside"):
        classification_metrics(np.array([9]), np.array([[0]]), [3])


def _scores_from_topk(topk, num_classes):
    """Scores whose ranking is the given top-k (descending), the rest below."""
    s = torch.zeros(num_classes)
    for rank, c in enumerate(topk):
        s[c] = 1.0 - 0.1 * rank
    return s


def test_evaluator_process_evaluate_and_files(tmp_path):
    train, test = f"test_ev_train_{uuid.uuid4().hex[:6]}", f"test_ev_test_{uuid.uuid4().hex[:6]}"
    names = [f"class{i}" for i in range(7)]
    train_dicts = [{"label": c, "image_id": i} for i, c in enumerate(np.repeat(np.arange(7), TRAIN_COUNTS))]
    register_classification(train, lambda: (train_dicts, names), is_train=True)
    register_classification(test, lambda: ([{"label": y} for y in LABELS], names), is_train=False)
    cfg = get_lt_cfg()
    cfg.DATASETS.TRAIN = (train,)
    from detectron2.data import DatasetCatalog

    DatasetCatalog.get(test)  # the trainer loads the test set before building its evaluator
    evaluator = build_evaluator(cfg, test, str(tmp_path))
    assert isinstance(evaluator, LTClassificationEvaluator)
    evaluator.reset()
    # Two batches: an ImageBatch and a plain list of dicts.
    imgs = torch.zeros(5, 3, 1, 1, dtype=torch.uint8)
    b1 = ImageBatch(imgs, torch.tensor(LABELS[:5]), torch.arange(5))
    evaluator.process(b1, [{"scores": _scores_from_topk(t, 7)} for t in TOPK[:5]])
    b2 = [{"label": y} for y in LABELS[5:]]
    evaluator.process(b2, [{"scores": _scores_from_topk(t, 7)} for t in TOPK[5:]])
    results = evaluator.evaluate()["classification"]
    for k, v in EXPECTED.items():
        assert results[k] == pytest.approx(v), k
    with open(tmp_path / "per_class_accuracy.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == names and rows[0]["train_count"] == "500" and rows[0]["group"] == "many"
    assert float(rows[1]["accuracy"]) == 100.0
    assert (tmp_path / "per_class_accuracy.png").stat().st_size > 1000
    # LT.EVAL.SHOT_SPLIT reaches the evaluator built from the config.
    cfg.LT.EVAL.SHOT_SPLIT = (2, 150)
    assert build_evaluator(cfg, test, None).shot_split == (2, 150)


def test_mismatched_class_lists():
    test = f"test_ev_mismatch_{uuid.uuid4().hex[:6]}"
    MetadataCatalog.get(test).set(thing_classes=["a", "b"])
    with pytest.raises(ValueError, match="2 classes but the training counts cover 3"):
        LTClassificationEvaluator(test, [1, 2, 3])
