"""Box-counting dimension of class box centres, on point sets whose dimension is known."""
import math

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import BoxMode

from lt_det.data.fractal_dim import box_centres, fractal_dimensions, fractal_dims_from_metadata


def test_known_dimensions():
    # Class 0: centres on the 64 x 64 lattice ((i + 1/2) / 64): N(d) = d^2 on every grid
    # d <= 64 (each cell of a d x d grid, d <= 64, holds lattice points), slope exactly 2.
    # Class 1: 100 centres at one point: N(d) = 1, slope 0, clamped to 1.
    # Class 2: 3 instances (< 4): D = 1 by rule.
    # Class 3: 4 centres, one per quadrant: only d = 1, 2 satisfy d^2 <= 4; N = (1, 4),
    # slope log 4 / log 2 = 2.
    g = (np.arange(64) + 0.5) / 64
    gx, gy = np.meshgrid(g, g)
    cx = [gx.ravel(), np.full(100, 0.3), np.array([0.1, 0.2, 0.3]), np.array([0.25, 0.75, 0.25, 0.75])]
    cy = [gy.ravel(), np.full(100, 0.3), np.array([0.1, 0.2, 0.3]), np.array([0.25, 0.25, 0.75, 0.75])]
    classes = np.concatenate([np.full(len(x), k) for k, x in enumerate(cx)])
    dims = fractal_dimensions(np.concatenate(cx), np.concatenate(cy), classes, 5)
    # Class 4 has no instance at all: D = 1.
    assert np.allclose(dims, [2.0, 1.0, 1.0, 2.0, 1.0])


def test_box_centres_are_normalised():
    # XYWH box (10, 20, 20, 40) in a 100 x 200 image: centre (20, 40) -> (0.2, 0.2).
    dicts = [{"width": 100, "height": 200, "annotations": [
        {"bbox": [10, 20, 20, 40], "bbox_mode": BoxMode.XYWH_ABS, "category_id": 1},
        {"bbox": [0, 0, 50, 100], "bbox_mode": BoxMode.XYXY_ABS, "category_id": 0},
    ]}]
    cx, cy, cls = box_centres(dicts)
    assert np.allclose(cx, [0.2, 0.25]) and np.allclose(cy, [0.2, 0.25]) and cls.tolist() == [1, 0]
    with pytest.raises(ValueError, match="width/height"):
        box_centres([{"annotations": [{"bbox": [0, 0, 1, 1], "category_id": 0}]}])


def test_cached_in_metadata():
    name = "lt_det_test_fractal_dim_train"
    calls = []
    dicts = [{"width": 10, "height": 10, "annotations": [
        {"bbox": [x, y, 1, 1], "bbox_mode": BoxMode.XYWH_ABS, "category_id": 0}
        for x, y in [(1, 1), (6, 1), (1, 6), (6, 6)]
    ]}]
    if name not in DatasetCatalog.list():
        DatasetCatalog.register(name, lambda: calls.append(1) or dicts)
        MetadataCatalog.get(name).set(thing_classes=["a", "b"])
    # One centre per quadrant (centres 0.15 / 0.65): D = 2 as in test_known_dimensions.
    assert np.allclose(fractal_dims_from_metadata(name), [2.0, 1.0])
    assert np.allclose(fractal_dims_from_metadata([name]), [2.0, 1.0])
    assert len(calls) == 1 and np.allclose(MetadataCatalog.get(name).class_fractal_dim, [2.0, 1.0])
