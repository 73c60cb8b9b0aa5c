"""Boundary IoU and boundary AP (Cheng et al. 2021): hand-derived values, the paper's erosion."""
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from lvis_cases import make_gt

from lt_det.evaluation.boundary_iou import boundary_rles, boundary_width, erode, mask_boundary
from lt_det.evaluation.lvis_eval import LVISEval
from lt_det.evaluation.synthetic_lvis import synthetic_lvis


def _erode_3x3_times(mask, d):
    """d erosions by a 3x3 square, outside the image = background (the paper's definition,
    restated with plain numpy: a pixel survives when it and its 8 neighbours are 1)."""
    m = mask.astype(bool)
    for _ in range(d):
        p = np.pad(m, 1, constant_values=False)
        m = np.logical_and.reduce([p[1 + dy : 1 + dy + m.shape[0], 1 + dx : 1 + dx + m.shape[1]]
                                   for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    return m


@pytest.mark.parametrize("d", [1, 2, 3, 7])
def test_erode_equals_repeated_3x3_erosion(d):
    rng = np.random.default_rng(d)
    for _ in range(5):
        mask = np.zeros((40, 50), dtype=np.uint8)
        for _ in range(4):  # a few overlapping rectangles, some touching the border
            y, x = rng.integers(0, 35), rng.integers(0, 45)
            mask[y : y + rng.integers(3, 25), x : x + rng.integers(3, 25)] = 1
        np.testing.assert_array_equal(erode(mask, d), _erode_3x3_times(mask, d))
        # The bounding-box crop gives the whole image's boundary.
        np.testing.assert_array_equal(mask_boundary(mask, d), mask & ~_erode_3x3_times(mask, d))


def test_erode_matches_opencv_as_the_paper_calls_it():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    mask = (rng.random((30, 30)) > 0.3).astype(np.uint8)
    mask[5:25, 5:25] = 1
    for d in (1, 2, 4):
        # boundary-iou-api: pad by one zero pixel, erode d times with a 3x3 kernel, crop back.
        padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        ref = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=d)[1:31, 1:31]
        np.testing.assert_array_equal(erode(mask, d).astype(np.uint8), ref)


def test_boundary_width():
    # d = round(0.02 * diagonal), at least 1: 100x100 -> round(2.83) = 3; 480x640 -> 0.02 * 800
    # = 16; 10x10 -> round(0.28) = 0 -> 1.
    assert boundary_width(100, 100, 0.02) == 3
    assert boundary_width(480, 640, 0.02) == 16
    assert boundary_width(10, 10, 0.02) == 1


def test_boundary_of_a_square():
    # A 20x20 square with d = 3 keeps its 3-pixel rim: 400 - 14 * 14 = 204 pixels.
    mask = np.zeros((100, 100), dtype=np.uint8)
    mask[10:30, 10:30] = 1
    b = mask_utils.decode(boundary_rles([mask_utils.encode(np.asfortranarray(mask))], 0.02)[0])
    assert b.sum() == 204 and b[10:13, 10:30].all() and not b[13:27, 13:27].any()


def _rle(y0, x0, h, w):
    m = np.zeros((100, 100), dtype=np.uint8)
    m[y0 : y0 + h, x0 : x0 + w] = 1
    rle = mask_utils.encode(np.asfortranarray(m))
    return {"size": rle["size"], "counts": rle["counts"].decode()}


def test_boundary_ap_hand_derived():
    # One 'f' object, the 20x20 square at rows/cols 10..29 of a 100x100 image; one detection,
    # the same square shifted one column right (cols 11..30). d = 3 (see above).
    #   mask IoU = 380 / 420 = 0.905 -> TP at IoU 0.50..0.90 (9 of 10 thresholds) -> segm AP .9
    #   boundaries: rows 13..26 (14 rows) hold GT cols {10,11,12,27,28,29} and detection cols
    #   {11,12,13,28,29,30}: 4 shared, 8 in the union; rows 10..12 and 27..29 (6 rows) are
    #   full: cols 10..29 vs 11..30, 19 shared, 21 in the union.
    #   boundary IoU = (14*4 + 6*19) / (14*8 + 6*21) = 170 / 238 = 0.714
    #   min(0.905, 0.714) = 0.714 -> TP at 0.50..0.70 (5 thresholds) -> boundary AP .5
    gt = make_gt([(1, [], [])], [(1, 1, 1, [10, 10, 20, 20])], [(1, "f", 10)])
    gt["annotations"][0]["segmentation"] = _rle(10, 10, 20, 20)
    dets = [{"image_id": 1, "category_id": 1, "score": 0.9, "segmentation": _rle(10, 11, 20, 20)}]
    ev = LVISEval(gt, dets)
    assert ev.evaluate("segm").metrics["AP"] == pytest.approx(0.9, abs=1e-12)
    assert ev.evaluate("boundary").metrics["AP"] == pytest.approx(0.5, abs=1e-12)
    # d = 1 (ratio 0.005: round(0.71) = 1), rims of 1 pixel: rows 11..28 (18 rows) hold GT
    # cols {10, 29} and detection cols {11, 30}, 0 shared, 4 in the union; rows 10 and 29:
    # 19 shared, 21 in the union -> boundary IoU = 38 / (72 + 42) = 0.333 < 0.5 -> AP 0.
    ev = LVISEval(gt, dets, boundary_dilation_ratio=0.005)
    assert ev.evaluate("boundary").metrics["AP"] == 0.0


def test_wide_boundary_equals_mask_ap():
    # With d at least the objects' half-size the boundary is the whole mask: boundary IoU =
    # mask IoU, so boundary AP = mask AP (all 13 numbers, every precision value).
    gt, results = synthetic_lvis(num_images=6, num_classes=8, dets_per_image=20, masks=True, seed=3)
    ev = LVISEval(gt, results, areas_from_masks=True, boundary_dilation_ratio=1.0)
    segm, boundary = ev.evaluate("segm"), ev.evaluate("boundary")
    assert segm.metrics == boundary.metrics
    np.testing.assert_array_equal(segm.precision, boundary.precision)
    # and the default ratio gives a lower AP (boundaries are stricter than masks).
    assert LVISEval(gt, results, areas_from_masks=True).evaluate("boundary").metrics["AP"] < segm.metrics["AP"]


def test_bad_dilation_ratio_raises():
    gt = make_gt([(1, [], [])], [(1, 1, 1, [10, 10, 20, 20])], [(1, "f", 10)])
    with pytest.raises(ValueError, match="boundary_dilation_ratio"):
        LVISEval(gt, [{"image_id": 1, "category_id": 1, "score": 0.9, "bbox": [0, 0, 5, 5]}],
                 boundary_dilation_ratio=0)
