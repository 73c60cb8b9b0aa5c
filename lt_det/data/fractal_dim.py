"""Fractal (box-counting) dimension of each class's spatial distribution of box centres.

FRACAL (Alexandridis et al., CVPR 2025) measures how uniformly a class is spread over the
image plane: the centres of its training boxes, normalised by the image size, are counted
on grids of ``d x d`` cells for ``d = 1..max_grid``; with ``N_j(d)`` the number of cells that
hold at least one centre of class j, the dimension is the slope of ``log N_j(d)`` against
``log d`` (``N ~ d^D``). D is 2 for a class seen everywhere, ~0-1 for one seen in few places.
As in the official code (``box_dim`` variant): only grids with ``d^2 <= n_j`` (instances)
enter the fit, a class with fewer than 4 instances gets D = 1, and D is clamped below at 1.

Computed once from the training annotations and cached in the data set's metadata under
``class_fractal_dim``, beside the class statistics of ``lt_det.data.class_stats``.
"""
from typing import Iterable, Sequence

import numpy as np

MAX_GRID = 64  # the official code's default grid size (--dims 64)
MIN_INSTANCES = 4  # fewer instances: D = 1


def box_centres(dataset_dicts: Sequence[dict]):
    """``(cx, cy, class)`` arrays of every annotated box, centres normalised to [0, 1]."""
    from detectron2.structures import BoxMode

    cx, cy, cls = [], [], []
    for d in dataset_dicts:
        width, height = d.get("width"), d.get("height")
        for a in d.get("annotations", ()):
            if "bbox" not in a:
                continue
            if not width or not height:
                raise ValueError(
                    f"FRACAL's fractal dimension needs image sizes: {d.get('file_name', d.get('image_id'))} "
                    "has no width/height in its data set dict"
                )
            x0, y0, x1, y1 = BoxMode.convert(
                list(a["bbox"]), a.get("bbox_mode", BoxMode.XYWH_ABS), BoxMode.XYXY_ABS
            )
            cx.append((x0 + x1) / 2 / width)
            cy.append((y0 + y1) / 2 / height)
            cls.append(a["category_id"])
    return np.asarray(cx, np.float64), np.asarray(cy, np.float64), np.asarray(cls, np.int64)


def fractal_dimensions(
    cx: np.ndarray, cy: np.ndarray, classes: np.ndarray, num_classes: int, max_grid: int = MAX_GRID
) -> np.ndarray:
    """Box-counting dimension of each class (see the module docstring), float64 ``[C]``."""
    counts = np.bincount(classes, minlength=num_classes)[:num_classes]
    grids = np.arange(1, max_grid + 1)
    occupied = np.zeros((max_grid, num_classes), dtype=np.float64)
    for i, d in enumerate(grids):
        gx, gy = np.floor(cx * d).astype(np.int64), np.floor(cy * d).astype(np.int64)
        inside = (gx >= 0) & (gx < d) & (gy >= 0) & (gy < d)
        keys = np.unique(classes[inside] * d * d + gy[inside] * d + gx[inside])
        occupied[i] = np.bincount(keys // (d * d), minlength=num_classes)[:num_classes]
    dims = np.ones(num_classes, dtype=np.float64)
    log_d = np.log(grids)
    for j in np.flatnonzero(counts >= MIN_INSTANCES):
        use = counts[j] >= grids * grids
        slope = np.polyfit(log_d[use], np.log(np.maximum(occupied[use, j], 1.0)), 1)[0]
        dims[j] = max(slope, 1.0)
    return dims


def fractal_dims_from_metadata(dataset_names: Iterable[str], max_grid: int = MAX_GRID) -> np.ndarray:
    """Fractal dimensions of the classes of one or more registered training sets.

    One set: read from its metadata (``class_fractal_dim``) or computed from its dicts once
    and cached there. Several sets: computed on their union (not cached).
    """
    from detectron2.data import MetadataCatalog

    from .catalog import preload

    names = [dataset_names] if isinstance(dataset_names, str) else list(dataset_names)
    if not names:
        raise ValueError("FRACAL needs a training set (DATASETS.TRAIN) for its fractal dimensions")
    metas = [MetadataCatalog.get(n) for n in names]
    if len(names) == 1 and metas[0].get("class_fractal_dim") is not None:
        return np.asarray(metas[0].class_fractal_dim, dtype=np.float64)
    classes = metas[0].get("thing_classes")
    if classes is None:
        raise KeyError(f"Data set {names[0]!r} has no thing_classes in its metadata")
    # preload: the training loader built next reuses these dicts instead of parsing again.
    dicts = [d for n in names for d in preload(n)]
    dims = fractal_dimensions(*box_centres(dicts), len(classes), max_grid)
    if len(names) == 1:
        metas[0].set(class_fractal_dim=[float(x) for x in dims])
    return dims
