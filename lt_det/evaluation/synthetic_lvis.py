"""Synthetic LVIS-format ground truth and detections, for tests and benchmarks of LVIS evaluation.

The generated files have everything the federated LVIS protocol reads: categories with
``frequency`` and ``image_count`` (long-tailed), images with ``neg_category_ids`` and
``not_exhaustive_category_ids``, annotations with ``area``/``bbox``/polygon ``segmentation``,
and detections that mix near-duplicates of ground truth, confusions with negative categories
and detections of categories an image says nothing about (which LVIS drops). Generation is
deterministic for a seed.
"""
from typing import List, Optional, Tuple

import numpy as np
import pycocotools.mask as mask_utils

from ..data.class_stats import frequency_group

# LVIS-like image sizes (height, width).
_IMAGE_SIZES = ((480, 640), (640, 480), (427, 640), (512, 512))


def _octagon(box: np.ndarray) -> List[float]:
    """An octagon inscribed in an [x, y, w, h] box, as a flat polygon [x0, y0, x1, y1, ...]."""
    x, y, w, h = box
    t = np.pi / 8 + np.arange(8) * np.pi / 4
    px = x + w / 2 + np.cos(t) * w / 2
    py = y + h / 2 + np.sin(t) * h / 2
    return [round(float(v), 2) for v in np.stack([px, py], 1).reshape(-1)]


def _random_boxes(rng: np.random.Generator, n: int, height: int, width: int) -> np.ndarray:
    """n boxes [x, y, w, h] with log-uniform side 3-350 px, so all LVIS area ranges occur."""
    side = np.exp(rng.uniform(np.log(3), np.log(350), n))
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
    w = np.minimum(side * np.sqrt(aspect), width - 1)
    h = np.minimum(side / np.sqrt(aspect), height - 1)
    x = rng.uniform(0, width - w)
    y = rng.uniform(0, height - h)
    return np.round(np.stack([x, y, w, h], 1), 2)


def _jitter(rng: np.random.Generator, boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Shift and rescale boxes by up to ~25% of their size (IoU with the original ~0.4-1)."""
    x, y, w, h = boxes.T
    s = rng.uniform(-0.25, 0.25, (4, len(boxes)))
    w2 = np.maximum(w * (1 + s[2]), 1.0)
    h2 = np.maximum(h * (1 + s[3]), 1.0)
    x2 = np.clip(x + s[0] * w, 0, width - 1)
    y2 = np.clip(y + s[1] * h, 0, height - 1)
    w2 = np.minimum(w2, width - x2)
    h2 = np.minimum(h2, height - y2)
    return np.round(np.stack([x2, y2, w2, h2], 1), 2)


def _rle_obj(poly: List[float], height: int, width: int) -> dict:
    return mask_utils.merge(mask_utils.frPyObjects([poly], height, width))


def _rle(poly: List[float], height: int, width: int) -> dict:
    """A polygon as JSON-ready compressed RLE (counts as str, as in LVIS result files)."""
    rle = _rle_obj(poly, height, width)
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def synthetic_lvis(
    num_images: int = 50,
    num_classes: int = 30,
    dets_per_image: int = 50,
    *,
    masks: bool = False,
    score_decimals: Optional[int] = None,
    overflow_fraction: float = 0.1,
    max_dets: int = 300,
    seed: int = 0,
) -> Tuple[dict, List[dict]]:
    """An LVIS-format ground-truth dict and a list of detections for it.

    Args:
        num_images, num_classes: size of the ground truth (category ids 1..num_classes,
            image ids shuffled and not contiguous).
        dets_per_image: detections per image (about 5% of images get none).
        masks: give detections a compressed-RLE ``segmentation`` (ground truth always has
            polygons).
        score_decimals: round scores to this many decimals (creates score ties).
        overflow_fraction: fraction of images that get ``max_dets + 20%`` detections, to
            exercise the per-image detection cap.
        seed: random seed; equal arguments give equal outputs.

    Returns:
        (gt, results): ``gt`` has "images", "annotations", "categories"; ``results`` is a
        list of {"image_id", "category_id", "bbox", "score"[, "segmentation"]}.
    """
    rng = np.random.default_rng(seed)
    # Long-tailed training image counts (Zipf), shuffled over category ids.
    image_count = np.maximum(1, np.round(3000.0 * np.arange(1, num_classes + 1) ** -1.3)).astype(int)
    image_count = rng.permutation(image_count)
    categories = [
        {
            "id": k + 1,
            "name": f"class_{k + 1}",
            "image_count": int(image_count[k]),
            "instance_count": int(image_count[k] * 2),
            "frequency": frequency_group(int(image_count[k])),
        }
        for k in range(num_classes)
    ]
    prior = np.sqrt(image_count) / np.sqrt(image_count).sum()
    image_ids = rng.choice(np.arange(1, 10 * num_images + 1), num_images, replace=False)

    images, annotations, results = [], [], []
    ann_id = 1
    for image_id in image_ids:
        height, width = _IMAGE_SIZES[int(rng.integers(len(_IMAGE_SIZES)))]
        n_pos = int(rng.integers(0, min(5, num_classes) + 1))
        pos = rng.choice(num_classes, n_pos, replace=False, p=prior) if n_pos else np.zeros(0, int)
        rest = np.setdiff1d(np.arange(num_classes), pos)
        neg = rng.choice(rest, min(len(rest), int(rng.integers(0, 8))), replace=False)
        not_exhaustive = [int(c) + 1 for c in pos if rng.random() < 0.15]
        images.append({
            "id": int(image_id), "height": height, "width": width,
            "neg_category_ids": sorted(int(c) + 1 for c in neg),
            "not_exhaustive_category_ids": sorted(not_exhaustive),
        })

        gt_boxes, gt_cats = [], []
        for c in pos:
            boxes = _random_boxes(rng, int(rng.integers(1, 4)), height, width)
            for box in boxes:
                poly = _octagon(box)
                area = float(mask_utils.area(_rle_obj(poly, height, width)))
                annotations.append({
                    "id": ann_id, "image_id": int(image_id), "category_id": int(c) + 1,
                    "bbox": [float(v) for v in box], "area": area, "segmentation": [poly],
                })
                ann_id += 1
                gt_boxes.append(box)
                gt_cats.append(int(c))

        r = rng.random()
        n_det = 0 if r < 0.05 else (int(max_dets * 1.2) if r < 0.05 + overflow_fraction else dets_per_image)
        if n_det == 0:
            continue
        # Near-duplicates of ground truth (mostly right class, sometimes a confusion).
        copies = np.repeat(np.arange(len(gt_boxes)), 3)[: n_det // 2]
        known = np.concatenate([pos, neg]).astype(int)
        boxes, cats = [], []
        if len(copies):
            boxes.append(_jitter(rng, np.asarray(gt_boxes)[copies], height, width))
            right = np.asarray(gt_cats, dtype=int)[copies]
            cats.append(np.where(rng.random(len(copies)) < 0.8, right, rng.choice(known, len(copies))))
        # Random boxes on the image's positive/negative classes, and on classes it does not
        # label at all (LVIS ignores those).
        n_rand = n_det - len(copies)
        boxes.append(_random_boxes(rng, n_rand, height, width))
        on_known = rng.random(n_rand) < 0.5
        rand_cat = rng.integers(0, num_classes, n_rand)
        if len(known):
            rand_cat = np.where(on_known, rng.choice(known, n_rand), rand_cat)
        cats.append(rand_cat)
        boxes = np.concatenate(boxes)
        cats = np.concatenate(cats).astype(int)
        scores = rng.random(n_det)
        if score_decimals is not None:
            scores = np.round(scores, score_decimals)
        for box, c, s in zip(boxes, cats, scores):
            det = {"image_id": int(image_id), "category_id": int(c) + 1,
                   "bbox": [float(v) for v in box], "score": float(s)}
            if masks:
                det["segmentation"] = _rle(_octagon(box), height, width)
            results.append(det)

    gt = {"info": {"description": "synthetic LVIS-format data (lt_det)"}, "licenses": [],
          "categories": categories, "images": images, "annotations": annotations}
    # Interleave images so a result list is not grouped by image (as in real result files).
    order = rng.permutation(len(results))
    return gt, [results[i] for i in order]

