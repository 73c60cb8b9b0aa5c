"""AP-fixed and AP-pool (Dave et al. 2021): hand-derived values and equality with lvis-api
where the protocols coincide."""
import copy
from collections import defaultdict

import numpy as np
import pytest
from lvis_cases import det, make_gt

from lt_det.evaluation.lvis_eval import LVISEval
from lt_det.evaluation.synthetic_lvis import synthetic_lvis

R = 101  # recall points 0.00, 0.01, ..., 1.00


def _paper_cut(results, dets_per_cat):
    """The paper's results cut (scripts/evaluate_ap_fixed.py of large-vocab-devil), restated:
    group by category, sort each group by score, highest first (a stable sort: ties keep file
    order), keep the first dets_per_cat."""
    by_cat = defaultdict(list)
    for r in results:
        by_cat[r["category_id"]].append(r)
    out = []
    for anns in by_cat.values():
        out.extend(sorted(anns, key=lambda r: r["score"], reverse=True)[:dets_per_cat])
    return out


@pytest.fixture(scope="module")
def generated():
    gt, results = synthetic_lvis(num_images=12, num_classes=10, dets_per_image=40, score_decimals=1,
                                 overflow_fraction=0.2, seed=7)
    per_cat = defaultdict(int)
    for r in results:
        per_cat[r["category_id"]] += 1
    assert max(per_cat.values()) > 30 and len({r["score"] for r in results}) < len(results)
    return gt, results


def _assert_same(ours, ref):
    # lvis-api names AR after its params.max_dets (300 unless set), not LVISResults' cap;
    # the paper's script sets it to -1, as our name for "no per-image cap" does.
    for k, v in ref.results.items():
        assert ours.metrics[k.replace("@300", "@-1")] == pytest.approx(float(v), abs=1e-12), k
    np.testing.assert_array_equal(ours.precision, ref.eval["precision"])
    np.testing.assert_array_equal(ours.recall, ref.eval["recall"])


def test_fixed_with_large_budget_equals_lvis_api_without_cap(lvis_api, generated):
    gt, results = generated
    ours = LVISEval(gt, results, max_dets=-1, dets_per_class=10**6).evaluate("bbox")
    _assert_same(ours, lvis_api(gt, results, "bbox", max_dets=-1))  # keys AR@-1 on both sides


@pytest.mark.parametrize("budget", [3, 12, 30])
def test_fixed_budget_equals_paper_cut_then_lvis_api(lvis_api, generated, budget):
    # The budget applies to the raw results, ties at the cut in file order, before the
    # federated filter: exactly the paper's cut followed by lvis-api with max_dets=-1.
    gt, results = generated
    ours = LVISEval(gt, results, max_dets=-1, dets_per_class=budget).evaluate("bbox")
    _assert_same(ours, lvis_api(gt, _paper_cut(results, budget), "bbox", max_dets=-1))


# Case A of test_lvis_eval: one 'f' category with objects A [0,0,10,10] and B [50,50,10,10] on
# image 1. Category-1 detections: image 2 (says nothing about category 1) 0.95, then on image
# 1 0.90 exactly A, 0.85 far from both, 0.80 B shifted by 2 (IoU 80/120 = 0.667).
CATS = [(1, "f", 200), (2, "r", 3), (3, "c", 50)]
ANNS = [(1, 1, 1, [0, 0, 10, 10]), (2, 1, 1, [50, 50, 10, 10])]
DETS = [
    det(1, 1, [0, 0, 10, 10], 0.9),
    det(1, 1, [80, 80, 10, 10], 0.85),
    det(1, 1, [52, 50, 10, 10], 0.8),
    det(2, 1, [0, 0, 10, 10], 0.95),
]


def test_fixed_budget_is_spent_before_the_federated_filter():
    gt = make_gt([(1, [], []), (2, [], [])], ANNS, CATS)
    # Budget 2: the 0.95 (image 2) and 0.90 detections stay. The 0.95 is then dropped by the
    # federated rule (image 2 says nothing about category 1) but it has used its place, so
    # category 1 keeps one detection, the TP on A: recall .5 with precision 1 at every
    # threshold -> 51 of 101 recall points at 1, the rest 0 -> AP 51/101.
    m = LVISEval(gt, DETS, max_dets=-1, dets_per_class=2).evaluate("bbox").metrics
    assert m["AP"] == pytest.approx(51 / R, abs=1e-12)
    # Budget 4 keeps all: TP, FP, TP (t <= .65) / TP, FP, FP (t >= .70) as in test_lvis_eval's
    # case A: AP = (4 * (51 + 50 * 2/3) / 101 + 6 * 51 / 101) / 10.
    m = LVISEval(gt, DETS, max_dets=-1, dets_per_class=4).evaluate("bbox").metrics
    assert m["AP"] == pytest.approx((4 * (51 + 50 * 2 / 3) / R + 6 * 51 / R) / 10, abs=1e-12)


def test_fixed_budget_ties_keep_file_order():
    gt = make_gt([(1, [], [])], [(1, 1, 1, [0, 0, 10, 10])], [(1, "f", 10)])
    tp, fp = det(1, 1, [0, 0, 10, 10], 0.5), det(1, 1, [60, 60, 10, 10], 0.5)
    # Budget 1 among two equal scores: the first in the file stays. TP first -> AP 1; FP
    # first -> no TP at all -> AP 0.
    # (precision is tp / (tp + fp + eps), lvis-api's formula: 1 - 2e-16, not 1.)
    assert LVISEval(gt, [tp, fp], max_dets=-1, dets_per_class=1).evaluate("bbox").metrics["AP"] == pytest.approx(1.0)
    assert LVISEval(gt, [fp, tp], max_dets=-1, dets_per_class=1).evaluate("bbox").metrics["AP"] == 0.0


# Pooled case. Image 1 has a category-1 ('f') object A [0,0,10,10] and a category-2 ('r')
# object B [50,50,10,10], and lists category 3 ('c', no ground truth anywhere) as absent.
POOL_GT = make_gt([(1, [3], [])], [(1, 1, 1, [0, 0, 10, 10]), (2, 1, 2, [50, 50, 10, 10])], CATS)


def _pool_dets(rare_score, with_negative):
    dets = [det(1, 1, [0, 0, 10, 10], 0.9),      # TP of category 1 (IoU 1)
            det(1, 1, [80, 80, 10, 10], 0.8),    # FP of category 1
            det(1, 2, [50, 50, 10, 10], rare_score)]  # TP of category 2
    if with_negative:
        dets.append(det(1, 3, [20, 20, 10, 10], 0.85))  # category 3 on an image where it is absent: FP
    return dets


def test_pooled_hand_values():
    ev = LVISEval(POOL_GT, _pool_dets(0.3, with_negative=False), max_dets=-1, dets_per_class=10000)
    # Per category each class is perfect: category 1 TP then FP (precision 1 at recall 1),
    # category 2 one TP -> AP 1 for both, so lvis-api AP is 1.
    assert ev.evaluate("bbox").metrics["AP"] == pytest.approx(1.0)
    # Pool "all", all IoUs alike (IoU 1 or 0): 0.9 TP, 0.8 FP, 0.3 TP over 2 objects ->
    # precision 1, 1/2, 2/3 -> non-increasing from the right 1, 2/3, 2/3; recall .5, .5, 1.
    # Recall points <= .5 (51) read 1, the 50 above read 2/3.
    p = ev.evaluate_pooled("bbox").metrics
    assert p["AP"] == pytest.approx((51 + 50 * 2 / 3) / R, abs=1e-12)
    assert p["AP50"] == p["AP75"] == pytest.approx(p["AP"], abs=1e-12)
    # Pools r (category 2: one TP) and f (category 1: TP, FP) alone are perfect; pool c has
    # no ground truth: -1.
    assert p["APr"] == pytest.approx(1.0) and p["APf"] == pytest.approx(1.0) and p["APc"] == -1
    # Calibrated scores (the rare TP scored 0.95, above the frequent FP): TP, TP, FP -> AP 1.
    p = LVISEval(POOL_GT, _pool_dets(0.95, False), max_dets=-1, dets_per_class=10000).evaluate_pooled("bbox")
    assert p.metrics["AP"] == pytest.approx(1.0)


def test_pooled_counts_detections_of_classes_without_ground_truth():
    ev = LVISEval(POOL_GT, _pool_dets(0.3, with_negative=True), max_dets=-1, dets_per_class=10000)
    # Per category, category 3 has no ground truth and is left out: AP still 1.
    assert ev.evaluate("bbox").metrics["AP"] == pytest.approx(1.0)
    # Pool "all": 0.9 TP, 0.85 FP (category 3), 0.8 FP, 0.3 TP -> precision 1, 1/2, 1/3, 1/2
    # -> non-increasing 1, 1/2, 1/2, 1/2; recall .5, .5, .5, 1 -> 51 points at 1, 50 at 1/2.
    p = ev.evaluate_pooled("bbox")
    assert p.metrics["AP"] == pytest.approx((51 + 50 * 0.5) / R, abs=1e-12)
    np.testing.assert_allclose(p.recall[:, 0], 1.0)
    # Pool c is only category 3's false positive and no ground truth: undefined.
    assert p.metrics["APc"] == -1 and (p.precision[:, :, 2] == -1).all()


def test_pooled_score_ties_rank_by_image_then_category():
    # Two images; image 1 has a category-2 object, image 2 a category-1 object, and each
    # lists the other category as absent. All four detections score 0.5: per pool "all" they
    # rank by image id, then category id: (img 1, cat 1) FP, (img 1, cat 2) TP, (img 2, cat 1)
    # TP, (img 2, cat 2) FP -> precision 0, 1/2, 2/3, 1/2 -> non-increasing 2/3, 2/3, 2/3, 1/2;
    # recall 0, .5, 1, 1 -> every recall point reads 2/3.
    gt = make_gt([(1, [1], []), (2, [2], [])], [(1, 1, 2, [0, 0, 10, 10]), (2, 2, 1, [0, 0, 10, 10])],
                 [(1, "f", 10), (2, "f", 10)])
    dets = [det(2, 2, [0, 0, 10, 10], 0.5), det(2, 1, [0, 0, 10, 10], 0.5),
            det(1, 2, [0, 0, 10, 10], 0.5), det(1, 1, [0, 0, 10, 10], 0.5)]
    p = LVISEval(gt, dets, max_dets=-1, dets_per_class=10).evaluate_pooled("bbox").metrics
    assert p["AP"] == pytest.approx(2 / 3, abs=1e-12)


def test_pooled_single_category_equals_lvis_api(lvis_api, generated):
    # With one category, pooling changes nothing: pool "all" is lvis-api's per-category AP.
    gt, results = copy.deepcopy(generated)
    keep = gt["categories"][0]["id"]
    gt["categories"] = gt["categories"][:1]
    gt["annotations"] = [a for a in gt["annotations"] if a["category_id"] == keep]
    for im in gt["images"]:
        im["neg_category_ids"] = [c for c in im["neg_category_ids"] if c == keep]
        im["not_exhaustive_category_ids"] = [c for c in im["not_exhaustive_category_ids"] if c == keep]
    results = [r for r in results if r["category_id"] == keep]
    assert gt["annotations"] and len(results) > 20
    ref = lvis_api(gt, results, "bbox", max_dets=-1)
    pooled = LVISEval(gt, results, max_dets=-1, dets_per_class=10**6).evaluate_pooled("bbox")
    assert pooled.metrics["AP"] == pytest.approx(float(ref.results["AP"]), abs=1e-12)
    np.testing.assert_array_equal(pooled.precision[:, :, 0], ref.eval["precision"][:, :, 0, 0])
    np.testing.assert_array_equal(pooled.recall[:, 0], ref.eval["recall"][:, 0, 0])
