"""lt_det.evaluation.lvis_eval: hand-derived LVIS numbers and equality with lvis-api 0.5.3."""
import copy

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from lvis_cases import det, make_gt

from lt_det.evaluation.lvis_eval import (
    LVISEval,
    Matching,
    _group_score_order,
    _mean_defined,
    _rank_within_categories,
    _segment_suffix_max,
    _unique_key_order,
    box_iou_pairs,
    evaluate_lvis,
)
from lt_det.evaluation.synthetic_lvis import synthetic_lvis

R = 101  # recall points 0.00, 0.01, ..., 1.00

# ----------------------------------------------------------------------------------------
# Case A: one 'f' category with two 10x10 objects on image 1, plus an 'r' and a 'c' category
# without ground truth. Detections of category 1 on image 1, in score order:
#   d1 0.90 exactly object A       IoU 1     -> TP at every threshold
#   d3 0.85 far from both objects  IoU 0     -> FP
#   d2 0.80 object B shifted by 2  IoU 80/120 = 0.667 -> TP at 0.50..0.65 (4 thresholds),
#                                                        FP at 0.70..0.95 (6 thresholds)
# plus a category-1 detection on image 2 (which lists nothing about category 1) and a
# category-3 detection on image 1 (likewise): LVIS drops both.
# ----------------------------------------------------------------------------------------
CATS = [(1, "f", 200), (2, "r", 3), (3, "c", 50)]
ANNS = [(1, 1, 1, [0, 0, 10, 10]), (2, 1, 1, [50, 50, 10, 10])]
DETS = [
    det(1, 1, [0, 0, 10, 10], 0.9),
    det(1, 1, [80, 80, 10, 10], 0.85),
    det(1, 1, [52, 50, 10, 10], 0.8),
    det(2, 1, [0, 0, 10, 10], 0.95),
    det(1, 3, [0, 0, 10, 10], 0.99),
]


def _case_a(neg2=(), nel1=()):
    return make_gt([(1, [], nel1), (2, neg2, [])], ANNS, CATS)


def test_hand_derived_case():
    m = LVISEval(_case_a(), DETS).evaluate("bbox").metrics
    # t <= 0.65: TP, FP, TP -> recall .5, .5, 1; precision 1, .5, .667, made non-increasing
    # from the right: 1, .667, .667. Recall points <= .5 (51) read index 0 -> 1; points > .5
    # (50) read index 2 -> 2/3.  t >= 0.70: TP, FP, FP -> 51 points at 1, 50 at 0.
    ap_low = (51 + 50 * 2 / 3) / R
    ap_high = 51 / R
    ap = (4 * ap_low + 6 * ap_high) / 10
    assert m["AP"] == pytest.approx(ap, abs=1e-12)
    assert m["AP50"] == pytest.approx(ap_low, abs=1e-12)
    assert m["AP75"] == pytest.approx(ap_high, abs=1e-12)
    # All objects and detections are 100 px^2: small. No medium/large ground truth: -1.
    assert m["APs"] == pytest.approx(ap, abs=1e-12)
    assert m["APm"] == -1 and m["APl"] == -1
    # Only the frequent category has ground truth.
    assert m["APf"] == pytest.approx(ap, abs=1e-12)
    assert m["APr"] == -1 and m["APc"] == -1
    # Final recall: 1 at 4 thresholds, 0.5 at 6.
    assert m["AR@300"] == pytest.approx(0.7, abs=1e-12)
    assert m["ARs@300"] == pytest.approx(0.7, abs=1e-12)
    assert m["ARm@300"] == -1 and m["ARl@300"] == -1


def test_negative_category_detection_counts_as_false_positive():
    # Image 2 now lists category 1 as absent: its 0.95 detection is an FP ranked first.
    # t <= .65: FP, TP, FP, TP -> precision 0, .5, .33, .5 -> non-increasing .5 everywhere.
    # t >= .70: FP, TP, FP, FP -> .5 at recall points <= .5 (51), 0 beyond.
    m = LVISEval(_case_a(neg2=[1]), DETS).evaluate("bbox").metrics
    assert m["AP"] == pytest.approx((4 * 0.5 + 6 * 0.5 * 51 / R) / 10, abs=1e-12)


def test_not_exhaustive_category_ignores_unmatched_detections():
    # Category 1 is not exhaustively annotated on image 1: unmatched d3 (and d2 at t >= .7)
    # are ignored. t <= .65: TP, TP -> AP 1; t >= .70: TP -> recall .5 -> 51/101.
    m = LVISEval(_case_a(nel1=[1]), DETS).evaluate("bbox").metrics
    assert m["AP"] == pytest.approx((4 * 1 + 6 * 51 / R) / 10, abs=1e-12)


@pytest.mark.parametrize("neg2, nel1", [((), ()), ((1,), ()), ((), (1,)), ((1, 2, 3), (1,))])
def test_hand_cases_match_lvis_api(lvis_api, neg2, nel1):
    gt = _case_a(neg2=neg2, nel1=nel1)
    ref = lvis_api(gt, DETS, "bbox")
    ours = LVISEval(gt, DETS).evaluate("bbox")
    for k, v in ref.results.items():
        assert ours.metrics[k] == pytest.approx(float(v), abs=1e-12), k
    np.testing.assert_array_equal(ours.precision, ref.eval["precision"])


def test_per_class_ap_is_nan_without_ground_truth():
    res = LVISEval(_case_a(), DETS).evaluate("bbox")
    ap = res.per_class_ap()
    assert ap[0] == pytest.approx(res.metrics["AP"], abs=1e-12)  # the only category with GT
    assert np.isnan(ap[1]) and np.isnan(ap[2])
    assert list(res.cat_ids) == [1, 2, 3] and res.frequency == ["f", "r", "c"]
    np.testing.assert_array_equal(res.image_count, [200, 3, 50])


# ----------------------------------------------------------------------------------------
# Score ties. One object (category 1) on image 2; image 1 lists category 1 as negative.
# ----------------------------------------------------------------------------------------
def test_score_ties_across_images_rank_by_image_id(lvis_api):
    gt = make_gt([(1, [1], []), (2, [], [])], [(1, 2, 1, [0, 0, 10, 10])], [(1, "f", 200)])
    # Equal scores: image 1's FP ranks before image 2's TP whatever the file order:
    # FP, TP -> precision 0, .5 -> .5 at every recall point -> AP .5.
    for dets in ([det(1, 1, [0, 0, 10, 10], 0.5), det(2, 1, [0, 0, 10, 10], 0.5)],
                 [det(2, 1, [0, 0, 10, 10], 0.5), det(1, 1, [0, 0, 10, 10], 0.5)]):
        assert LVISEval(gt, dets).evaluate("bbox").metrics["AP"] == pytest.approx(0.5)
        assert lvis_api(gt, dets, "bbox").results["AP"] == pytest.approx(0.5)
    # With the object on image 1 and the negative on image 2, the TP ranks first: AP 1.
    gt2 = make_gt([(1, [], []), (2, [1], [])], [(1, 1, 1, [0, 0, 10, 10])], [(1, "f", 200)])
    dets = [det(2, 1, [0, 0, 10, 10], 0.5), det(1, 1, [0, 0, 10, 10], 0.5)]
    assert LVISEval(gt2, dets).evaluate("bbox").metrics["AP"] == pytest.approx(1.0)


def test_score_ties_within_an_image_keep_file_order(lvis_api):
    gt = make_gt([(1, [], [])], [(1, 1, 1, [0, 0, 10, 10])], [(1, "f", 200)])
    fp, tp = det(1, 1, [60, 60, 10, 10], 0.5), det(1, 1, [0, 0, 10, 10], 0.5)
    # FP first in the file: FP, TP -> AP .5; TP first: TP, FP -> precision 1 at recall 1 -> AP 1.
    for dets, expected in (([fp, tp], 0.5), ([tp, fp], 1.0)):
        assert LVISEval(gt, dets).evaluate("bbox").metrics["AP"] == pytest.approx(expected)
        assert lvis_api(gt, dets, "bbox").results["AP"] == pytest.approx(expected)


# ----------------------------------------------------------------------------------------
# The per-image cap of 300 detections (over all categories).
# ----------------------------------------------------------------------------------------
def _cap_case(tp_score, tp_first):
    """Image 1: one category-1 object; category 2 negative. 300 category-2 detections at
    score 0.5 plus one exact category-1 detection."""
    gt = make_gt([(1, [2], [])], [(1, 1, 1, [0, 0, 10, 10])], [(1, "f", 200), (2, "c", 20)])
    others = [det(1, 2, [i % 90, i // 90 * 10, 5, 5], 0.5) for i in range(300)]
    tp = det(1, 1, [0, 0, 10, 10], tp_score)
    return gt, ([tp] + others) if tp_first else (others + [tp])


def test_cap_drops_lowest_scores_across_categories(lvis_api):
    # 301 detections: the category-1 TP has the lowest score and is cut -> category 1 gets
    # no detection -> AP 0 (category 2 has no ground truth and is left out).
    gt, dets = _cap_case(0.1, tp_first=False)
    assert LVISEval(gt, dets).evaluate("bbox").metrics["AP"] == 0.0
    assert lvis_api(gt, dets, "bbox").results["AP"] == 0.0
    # Without the cap the TP is the only category-1 detection: AP 1.
    assert LVISEval(gt, dets, max_dets=-1).evaluate("bbox").metrics["AP"] == pytest.approx(1.0)


@pytest.mark.parametrize("tp_first, expected", [(True, 1.0), (False, 0.0)])
def test_cap_ties_keep_file_order(lvis_api, tp_first, expected):
    # All 301 scores equal: the first 300 in file order stay.
    gt, dets = _cap_case(0.5, tp_first)
    assert LVISEval(gt, dets).evaluate("bbox").metrics["AP"] == pytest.approx(expected)
    assert lvis_api(gt, dets, "bbox").results["AP"] == pytest.approx(expected)


# ----------------------------------------------------------------------------------------
# Equality with lvis-api on generated cases.
# ----------------------------------------------------------------------------------------
def _uncompressed_rle(rle):
    """Column-major run lengths starting with zeros (COCO's uncompressed RLE)."""
    flat = mask_utils.decode(rle).flatten(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat[0] == 1:
        runs = [0] + runs
    return {"size": list(rle["size"]), "counts": runs}


def _gt_as_rle(gt, uncompressed_every=3):
    """Replace polygons by compressed RLE (and every n-th by uncompressed RLE)."""
    gt = copy.deepcopy(gt)
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    for k, ann in enumerate(gt["annotations"]):
        h, w = sizes[ann["image_id"]]
        rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], h, w))
        if k % uncompressed_every == 0:
            ann["segmentation"] = _uncompressed_rle(rle)
        else:
            ann["segmentation"] = {"size": list(rle["size"]), "counts": rle["counts"].decode()}
    return gt


def _assert_same(ours, ref):
    for k, v in ref.results.items():
        assert ours.metrics[k] == pytest.approx(float(v), abs=1e-6), k
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, ref.eval["recall"], rtol=0, atol=1e-12)


def _coverage(gt, results):
    """What a generated case exercises (asserted so a generator change cannot hide it)."""
    dets_per_img = {}
    for r in results:
        dets_per_img[r["image_id"]] = dets_per_img.get(r["image_id"], 0) + 1
    pos_imgs = {a["image_id"] for a in gt["annotations"]}
    cats_with_gt = {a["category_id"] for a in gt["annotations"]}
    scores = [r["score"] for r in results]
    return {
        "image_without_detections": any(im["id"] not in dets_per_img for im in gt["images"]),
        "image_with_only_negatives": any(im["id"] not in pos_imgs and im["neg_category_ids"] for im in gt["images"]),
        "not_exhaustive": any(im["not_exhaustive_category_ids"] for im in gt["images"]),
        "class_without_gt": len(cats_with_gt) < len(gt["categories"]),
        "over_300_on_an_image": max(dets_per_img.values()) > 300,
        "score_ties": len(set(scores)) < len(scores),
    }


@pytest.fixture(scope="module")
def generated():
    gt, results = synthetic_lvis(num_images=14, num_classes=15, dets_per_image=40, masks=True,
                                 score_decimals=2, overflow_fraction=0.2, seed=4)
    assert all(_coverage(gt, results).values()), _coverage(gt, results)
    return gt, results


def test_bbox_matches_lvis_api(lvis_api, generated):
    gt, results = generated
    _assert_same(LVISEval(gt, results).evaluate("bbox"), lvis_api(gt, results, "bbox"))


def test_segm_polygons_match_lvis_api(lvis_api, generated):
    # Results carry boxes and RLE masks: lvis-api then takes areas from the boxes.
    gt, results = generated
    _assert_same(LVISEval(gt, results).evaluate("segm"), lvis_api(gt, results, "segm"))


def test_segm_rle_ground_truth_and_mask_only_results_match_lvis_api(lvis_api, generated):
    gt, results = generated
    gt = _gt_as_rle(gt)
    masks_only = [{k: v for k, v in r.items() if k != "bbox"} for r in results]
    for iou_type in ("segm", "bbox"):  # bbox of mask-only results: boxes around the masks
        _assert_same(LVISEval(gt, masks_only).evaluate(iou_type), lvis_api(gt, masks_only, iou_type))


@pytest.mark.parametrize("seed", [0, 1])
def test_ignored_ground_truth_and_small_cap_match_lvis_api(lvis_api, seed):
    gt, results = synthetic_lvis(num_images=10, num_classes=12, dets_per_image=30, score_decimals=1,
                                 overflow_fraction=0.0, seed=seed)
    rng = np.random.default_rng(seed)
    for ann in gt["annotations"]:
        if rng.random() < 0.25:
            ann["ignore"] = 1
    ref = lvis_api(gt, results, "bbox", max_dets=7)
    ours = LVISEval(gt, results, max_dets=7).evaluate("bbox")
    for k, v in ref.results.items():  # lvis-api names AR after its fixed 300
        assert ours.metrics[k.replace("@300", "@7")] == pytest.approx(float(v), abs=1e-6), k
    np.testing.assert_allclose(ours.precision, ref.eval["precision"], rtol=0, atol=1e-12)


def test_results_are_not_modified(generated):
    gt, results = generated
    before = copy.deepcopy(results)
    evaluate_lvis(gt, results, ("bbox", "segm"))
    assert results == before


def test_box_iou_is_bit_identical_to_pycocotools():
    rng = np.random.default_rng(0)
    dt = np.round(rng.uniform(0, 50, (400, 4)), 3)
    gt = np.round(rng.uniform(0, 50, (400, 4)), 3)
    ref = np.asarray(mask_utils.iou(dt.tolist(), gt.tolist(), [0] * len(gt)))
    np.testing.assert_array_equal(box_iou_pairs(dt, gt), np.diag(ref))


# ----------------------------------------------------------------------------------------
# Bad input: a clear ValueError naming the offending thing.
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.append(det(999, 1, [0, 0, 5, 5], 0.5)), "image_id 999"),
        (lambda d: d.append(det(1, 77, [0, 0, 5, 5], 0.5)), "category_id 77"),
        (lambda d: d[0].update(score=float("nan")), "score NaN"),
        (lambda d: d[1].update(bbox=[0, float("nan"), 5, 5]), "non-finite bbox"),
        (lambda d: d[2].update(bbox=[0, 0, 5]), "bbox"),
        (lambda d: d[0].pop("score"), "has no 'score'"),
        (lambda d: d[0].pop("bbox"), "no 'bbox' but result"),
        (lambda d: d.clear(), "empty"),
    ],
)
def test_bad_results_raise(mutate, message):
    dets = copy.deepcopy(DETS)
    mutate(dets)
    with pytest.raises(ValueError, match=message):
        LVISEval(_case_a(), dets)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda g: g["annotations"][1].update(id=1), "annotation id 1 occurs more than once"),
        (lambda g: g["annotations"][0].update(id=0), "Annotation id 0"),
        (lambda g: g["annotations"][0].update(image_id=5), "image_id 5"),
        (lambda g: g["annotations"][0].update(category_id=9), "category_id 9"),
        (lambda g: g["categories"][0].pop("frequency"), "frequency"),
        (lambda g: g["images"][0].pop("neg_category_ids"), "neg_category_ids"),
        (lambda g: g.pop("categories"), "categories"),
    ],
)
def test_bad_ground_truth_raises(mutate, message):
    gt = _case_a()
    mutate(gt)
    with pytest.raises(ValueError, match=message):
        LVISEval(gt, DETS)


def test_bad_iou_type_raises():
    with pytest.raises(ValueError, match="keypoints"):
        LVISEval(_case_a(), DETS).evaluate("keypoints")


def test_rle_of_wrong_size_raises():
    dets = [dict(d) for d in DETS[:1]]
    rle = mask_utils.frPyObjects([[0, 0, 10, 0, 10, 10, 0, 10]], 50, 50)[0]
    dets[0]["segmentation"] = {"size": [50, 50], "counts": rle["counts"].decode()}
    with pytest.raises(ValueError, match=r"size \[50, 50\]"):
        LVISEval(_case_a(), dets).evaluate("segm")


# ----------------------------------------------------------------------------------------
# Degenerate but valid inputs.
# ----------------------------------------------------------------------------------------
def test_all_detections_dropped_by_federated_rule(lvis_api):
    # Both detections are of categories image 1 says nothing about: category 1 (which has
    # ground truth) gets no detection -> precision 0 -> AP 0, recall 0.
    gt = _case_a()
    dets = [det(1, 2, [0, 0, 10, 10], 0.9), det(2, 1, [0, 0, 10, 10], 0.8)]
    ours = LVISEval(gt, dets).evaluate("bbox")
    assert ours.metrics["AP"] == 0.0 and ours.metrics["AR@300"] == 0.0
    _assert_same(ours, lvis_api(gt, dets, "bbox"))


def test_ground_truth_without_annotations_gives_undefined_metrics():
    gt = make_gt([(1, [1], [])], [], CATS)
    m = LVISEval(gt, [det(1, 1, [0, 0, 10, 10], 0.9)]).evaluate("bbox").metrics
    assert all(v == -1 for v in m.values())


def test_zero_area_detections_and_ground_truth_are_dropped(lvis_api):
    # lvis-api keeps only 0 < area: a zero-width detection vanishes (it would be an FP
    # ranked first), and a ground truth with area 0 neither counts nor makes its category
    # "present" on the image.
    gt = _case_a()
    dets = [det(1, 1, [0, 0, 0, 10], 0.99)] + DETS
    assert LVISEval(gt, dets).evaluate("bbox").metrics == LVISEval(gt, DETS).evaluate("bbox").metrics
    gt["annotations"][1]["area"] = 0.0
    _assert_same(LVISEval(gt, dets).evaluate("bbox"), lvis_api(gt, dets, "bbox"))


def test_segm_without_image_size_raises():
    gt = _case_a()
    del gt["images"][0]["height"]
    ev = LVISEval(gt, DETS)
    ev.evaluate("bbox")  # boxes need no image size
    with pytest.raises(ValueError, match="Image 1 has no height/width"):
        ev.evaluate("segm")


def test_areas_from_masks_equals_dropping_boxes(generated):
    gt, results = generated
    masks_only = [{k: v for k, v in r.items() if k != "bbox"} for r in results]
    for iou_type in ("bbox", "segm"):
        a = LVISEval(gt, results, areas_from_masks=True).evaluate(iou_type)
        b = LVISEval(gt, masks_only).evaluate(iou_type)
        assert a.metrics == b.metrics
        np.testing.assert_array_equal(a.precision, b.precision)


def test_category_with_far_more_ground_truth_than_detections(lvis_api):
    # Category 1 has 700 objects and two detections, an FP then a TP (recall 1/700);
    # category 2 one object and one TP. Category 1's precision is .5 at recall 0 and 0 from
    # recall point 0.01 on (it needs 7 TPs): those unreached points must not pick up the
    # precision 1 of category 2, ranked right after it.
    anns = [(k + 1, 1, 1, [k % 70, k // 70, 1, 1]) for k in range(700)] + [(701, 1, 2, [0, 50, 8, 8])]
    gt = make_gt([(1, [], [])], anns, [(1, "f", 200), (2, "f", 300)])
    dets = [det(1, 1, [50, 50, 8, 8], 0.95), det(1, 1, [0, 0, 1, 1], 0.9), det(1, 2, [0, 50, 8, 8], 0.8)]
    res = LVISEval(gt, dets).evaluate("bbox")
    np.testing.assert_allclose(res.per_class_ap(), [0.5 / R, 1.0], atol=1e-12)
    _assert_same(res, lvis_api(gt, dets, "bbox"))


@pytest.mark.parametrize("table_max", [2**26, 0])  # byte table, then binary search
def test_key_flags_of_image_category_pairs(monkeypatch, table_max):
    from lt_det.evaluation import lvis_eval

    monkeypatch.setattr(lvis_eval, "_KEY_TABLE_MAX", table_max)
    # Images 1 (index 0) and 2 (index 1), categories 1-3 (indices 0-2), key = image * 3 + cat:
    #   image 1: annotation of category 1, neg [2], not exhaustive [3]
    #   image 2: annotations of categories 2 and 3, neg [], not exhaustive [2] (also annotated)
    gt = make_gt([(1, [2], [3]), (2, [], [2])],
                 [(1, 1, 1, [0, 0, 5, 5]), (2, 2, 2, [0, 0, 5, 5]), (3, 2, 3, [0, 0, 5, 5])],
                 [(1, "f", 200), (2, "c", 50), (3, "r", 3)])
    flags = lvis_eval._GroundTruth(gt).key_flags(np.arange(6))
    P, N, X = lvis_eval._POSITIVE, lvis_eval._NEGATIVE, lvis_eval._NOT_EXHAUSTIVE
    #                        img1: c1 c2 c3         img2: c1 c2     c3
    assert flags.tolist() == [P, N, X, 0, P | X, P]


def test_segment_suffix_max_resets_at_each_segment():
    # Segments [0 0 0 | 1 1 | 2]: the maximum from each position to its segment's end.
    #   segment 0: 0.2 0.5 0.1 -> max(0.2,0.5,0.1)=0.5, max(0.5,0.1)=0.5, 0.1
    #   segment 1: 0.9 0.3     -> 0.9, 0.3 (0.9 must not leak into segment 0's answers)
    #   segment 2: 0.4         -> 0.4
    values = np.array([0.2, 0.5, 0.1, 0.9, 0.3, 0.4])
    segment = np.array([0, 0, 0, 1, 1, 2])
    np.testing.assert_array_equal(_segment_suffix_max(values, segment), [0.5, 0.5, 0.1, 0.9, 0.3, 0.4])
    # Equal values and a gap in the segment ids: [0.7 0.7 | 0.7]; each answer is one of its inputs.
    np.testing.assert_array_equal(_segment_suffix_max(np.array([0.7, 0.7, 0.7]), np.array([3, 3, 8])),
                                  [0.7, 0.7, 0.7])
    assert _segment_suffix_max(np.zeros(0), np.zeros(0, dtype=np.int64)).size == 0


def test_segment_suffix_max_equals_a_loop():
    rng = np.random.default_rng(0)
    segment = np.sort(rng.integers(0, 30, 500))
    values = rng.random(500).round(2)  # ties included
    expected = [values[i:][segment[i:] == segment[i]].max() for i in range(500)]
    np.testing.assert_array_equal(_segment_suffix_max(values, segment), expected)


def test_mean_defined_skips_categories_without_ground_truth():
    # (T=2, R=2, K=3) precision; category 1 has no ground truth (-1 in every row).
    # Defined entries: [0.5, 1.0] (t0 r0), [0.25, 0.0] (t0 r1), [1.0, 0.75], [0.5, 0.0] for
    # categories 0 and 2 -> sum 4.0 over 8 entries = 0.5.
    p = np.array([[[0.5, -1, 1.0], [0.25, -1, 0.0]], [[1.0, -1, 0.75], [0.5, -1, 0.0]]])
    assert _mean_defined(p) == 0.5
    assert _mean_defined(p[:, :, [1]]) == -1.0  # only the undefined category
    assert _mean_defined(p[:, :, []]) == -1.0  # an empty frequency group
    assert _mean_defined(np.array([0.2, 0.4])) == pytest.approx(0.3, abs=1e-15)  # 1-d (a pool's row)
    rng = np.random.default_rng(1)
    q = rng.random((10, 101, 40))
    q[:, :, rng.random(40) < 0.3] = -1
    assert _mean_defined(q) == pytest.approx(float(np.mean(q[q > -1])), rel=1e-14)


def test_sort_keys_give_the_lexsort_orders():
    # Scores with many ties (2 decimals) and detections out of file order: the matching order
    # (group, decreasing score, file position) and the per-category ranking (category,
    # decreasing score, then the matching's order) must be exactly lvis-api's lexsorts.
    rng = np.random.default_rng(3)
    n = 2000
    group, score, index = rng.integers(0, 40, n), rng.random(n).round(2), rng.permutation(n)
    by_score = np.lexsort((index, -score))
    order, shared = _group_score_order(group, by_score, score)
    np.testing.assert_array_equal(order, np.lexsort((index, -score, group)))
    # Shared ranks: the dense rank of -score (equal scores equal rank, higher score lower rank).
    np.testing.assert_array_equal(shared, np.unique(-score, return_inverse=True)[1].ravel())
    cat = np.sort(rng.integers(0, 7, n))
    m = Matching(cat=cat, img=np.zeros(n, dtype=np.int64), score=score, index=index,
                 tp=np.zeros((1, 1, n), bool), counted=np.zeros((1, 1, n), bool))
    expected = np.lexsort((-score, cat))
    np.testing.assert_array_equal(_rank_within_categories(m), expected)  # no ranks: lexsort
    m.score_rank = shared
    np.testing.assert_array_equal(_rank_within_categories(m), expected)  # from the ranks


def test_unique_key_order_refuses_keys_that_could_overflow():
    # (2^40 + 1) * 2^22 >= 2^62: the combined key could overflow int64, so no order is given.
    assert _unique_key_order(np.array([2**40]), np.array([0]), 2**22) is None
    np.testing.assert_array_equal(_unique_key_order(np.array([1, 0, 1]), np.array([0, 5, 2]), 6), [1, 0, 2])


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode()}


@pytest.mark.parametrize("det_rows, ap50", [(20, 1.0), (19, 0.0)])
def test_mask_pair_at_area_ratio_one_half(lvis_api, det_rows, ap50):
    # The mask IoU of a pair is at most min(area) / max(area); pairs below 1/2 skip
    # pycocotools. On the boundary of that rule: the ground truth is the top 40 rows of a
    # 100 x 100 image (4,000 px), the detection its top `det_rows` rows, inside it, so
    # IoU = det_rows / 40 = area ratio: 20 rows -> exactly 0.5, a true positive at IoU 0.50
    # only (AP = mean over the 10 thresholds = 1/10, AP50 = 1); 19 rows -> 0.475, no match.
    gt = make_gt([(1, [], [])], [(1, 1, 1, [0, 0, 100, 40])], [(1, "f", 10)])
    full = np.zeros((100, 100), dtype=bool)
    full[:40] = True
    gt["annotations"][0]["segmentation"] = _rle(full)
    part = np.zeros((100, 100), dtype=bool)
    part[:det_rows] = True
    results = [{"image_id": 1, "category_id": 1, "segmentation": _rle(part), "score": 0.9}]
    res = LVISEval(gt, results).evaluate("segm")
    assert res.metrics["AP50"] == pytest.approx(ap50, abs=1e-12)
    assert res.metrics["AP"] == pytest.approx(ap50 / 10, abs=1e-12)
    _assert_same(res, lvis_api(gt, results, "segm"))


@pytest.mark.parametrize("areas_from_masks", [False, True])
def test_process_share_without_detections(generated, areas_from_masks):
    # A process's share of a distributed evaluation may hold no detection (allow_empty): no
    # true positive anywhere, so every category with ground truth has precision 0 at every
    # recall point and AP 0, for every IoU type (it used to fail picking masks from None).
    gt, _ = generated
    ev = LVISEval(gt, [], allow_empty=True, areas_from_masks=areas_from_masks)
    assert len(ev.dets.score) == 0
    for iou_type in ("bbox", "segm", "boundary"):
        assert ev.evaluate(iou_type).metrics["AP"] == 0.0


def test_shard_with_boxes_and_masks_reads_its_own_masks(generated):
    # A process's shard (ResultColumns.subset) keeps global positions for the tie order; its
    # masks must still be read by local position. Evaluated with box areas (lvis-api's raw
    # rule for results carrying both), the shard gives the arrays of the same detections
    # given as a plain list.
    from lt_det.evaluation.lvis_eval import ResultColumns

    gt, results = generated
    keep = np.arange(1, len(results), 2)
    shard = ResultColumns.from_records(results).subset(keep)
    ours = LVISEval(gt, shard).evaluate("segm")
    ref = LVISEval(gt, [results[i] for i in keep]).evaluate("segm")
    np.testing.assert_array_equal(ours.precision, ref.precision)
    np.testing.assert_array_equal(ours.recall, ref.recall)


def test_box_iou_of_pairs_in_blocks_equals_one_pass(monkeypatch):
    # Blocks of 7 pairs over 100 pairs (14 full blocks and a partial one) give exactly the
    # IoUs of one pass over the gathered boxes.
    from lt_det.evaluation import lvis_eval

    rng = np.random.default_rng(5)
    dt, gt = rng.random((30, 4)) * 50, rng.random((20, 4)) * 50
    pair_dt, pair_gt = rng.integers(0, 30, 100), rng.integers(0, 20, 100)
    monkeypatch.setattr(lvis_eval, "_IOU_BLOCK", 7)
    np.testing.assert_array_equal(lvis_eval._box_iou_of_pairs(dt, gt, pair_dt, pair_gt),
                                  box_iou_pairs(dt[pair_dt], gt[pair_gt]))
