"""Tiny data sets in the real formats, and one constructor per sampler for generic tests."""
from itertools import islice

import numpy as np

from lt_det.data.samplers import (
    ClassAwareSampler,
    GroupPreferredSampler,
    ProgressiveSampler,
    QPowerSampler,
    RandomOverSampler,
    RandomUnderSampler,
    RepeatFactorSampler,
)

# Classification: n = [6, 3, 2, 1] samples for classes 0..3; class 4 has none (C = 5).
CLS_COUNTS = [6, 3, 2, 1, 0]


def cls_dicts():
    labels = np.repeat(np.arange(len(CLS_COUNTS)), CLS_COUNTS)
    return [{"file_name": f"img{i}.png", "image_id": i, "label": int(y)} for i, y in enumerate(labels)]


def det_dicts():
    """Five LVIS-style images: I0 {0}, I1 {0, 1} (class 0 annotated twice), I2 {0}, I3 {2},
    I4 without annotations."""
    cats = [[0], [0, 1, 0], [0], [2], []]
    return [
        {
            "file_name": f"img{i}.jpg",
            "image_id": i,
            "height": 8,
            "width": 8,
            "annotations": [{"bbox": [0, 0, 2, 2], "bbox_mode": 1, "category_id": c} for c in cs],
        }
        for i, cs in enumerate(cats)
    ]


def random_det_dicts(num_images=2000, num_classes=30, seed=0, max_anns=4):
    """Long-tailed detection dicts (p_c ∝ 1 / (c + 1)^1.5), 0..max_anns-1 annotations each."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, num_classes + 1) ** 1.5
    p /= p.sum()
    out = []
    for i in range(num_images):
        cats = rng.choice(num_classes, size=rng.integers(0, max_anns), p=p)
        out.append({"image_id": i, "annotations": [{"category_id": int(c)} for c in cats]})
    return out


def take(sampler, n):
    return np.fromiter(islice(iter(sampler), n), dtype=np.int64, count=n)


# name -> (class, constructor kwargs, a distribution change for stage-switch tests)
SAMPLERS = {
    "RepeatFactorSampler": (RepeatFactorSampler, {"repeat_thresh": 0.4}, {"repeat_thresh": 0.9}),
    "RepeatFactorSampler-ceil": (
        RepeatFactorSampler, {"repeat_thresh": 0.4, "rounding": "ceil"}, {"sqrt": False}
    ),
    "ClassAwareSampler": (ClassAwareSampler, {}, {"num_samples_per_class": 2}),
    "QPowerSampler": (QPowerSampler, {"q": 0.5}, {"q": 0.0}),
    "ProgressiveSampler": (ProgressiveSampler, {"total": 10, "ims_per_batch": 4}, {"progress": 1.0}),
    "GroupPreferredSampler": (
        GroupPreferredSampler, {"rho": 0.8, "min_count": 2, "max_count": 3}, {"rho": 0.3}
    ),
    "RandomOverSampler": (RandomOverSampler, {}, {}),
    "RandomUnderSampler": (RandomUnderSampler, {}, {"fixed_subset": False}),
}
