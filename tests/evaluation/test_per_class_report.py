"""Per-class AP report: rows, CSV cells and the plot's guard against unplaceable classes."""
import csv
import math
import os

import numpy as np
import pytest
from lvis_cases import det, make_gt

from lt_det.evaluation.lvis_eval import LVISEval
from lt_det.evaluation.per_class_report import (
    CSV_FIELDS,
    per_class_rows,
    plot_per_class_ap,
    write_per_class_report,
)


def _result(image_counts=(200, 3, 50)):
    # Category 1 ('f'): one object, one exact detection -> AP 100. Categories 2 and 3 have no
    # ground truth -> AP NaN.
    cats = [(1, "f", image_counts[0]), (2, "r", image_counts[1]), (3, "c", image_counts[2])]
    gt = make_gt([(1, [2], [])], [(1, 1, 1, [0, 0, 10, 10])], cats)
    return LVISEval(gt, [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 2, [5, 5, 10, 10], 0.8)]).evaluate("bbox")


def test_rows_and_csv(tmp_path):
    paths = write_per_class_report(_result(), str(tmp_path), prefix="lvis")
    assert [os.path.basename(p) for p in paths] == ["lvis_bbox_per_class_ap.csv", "lvis_bbox_per_class_ap.png"]
    with open(paths[0]) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_FIELDS
    assert rows[0] == {"category_id": "1", "name": "cat1", "frequency": "f", "image_count": "200", "AP": "100.0000"}
    # No ground truth: AP cell empty, not 0.
    assert rows[1]["AP"] == "" and rows[2]["AP"] == ""
    assert os.path.getsize(paths[1]) > 0


def test_fallback_image_counts_and_plot_guard(tmp_path):
    res = _result()
    res.image_count = np.full(3, np.nan)  # ground truth without image_count
    rows = per_class_rows(res, image_count=[7, 8, 9])
    assert [r["image_count"] for r in rows] == [7, 8, 9]
    with pytest.raises(ValueError, match="2 entries for 3 categories"):
        per_class_rows(res, image_count=[1, 2])
    # No counts at all: nothing can be placed on a log axis, so no plot is written.
    rows = per_class_rows(res)
    assert all(math.isnan(r["image_count"]) for r in rows)
    assert plot_per_class_ap(rows, str(tmp_path / "p.png")) is False
    assert not (tmp_path / "p.png").exists()
