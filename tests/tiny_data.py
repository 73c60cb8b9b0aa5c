"""Tiny user data sets written on the fly: an LVIS-format JSON with its images, an image folder.

Shared by the tests of data-set registration, the parse-count tests and train_net's
config-registered data (``DATASETS.LT_REGISTER``).
"""
import json
import os

import numpy as np
from PIL import Image

from lt_det.data.class_stats import frequency_group


def write_lvis_set(root, instances_per_class=(6, 3, 1), num_images=6, size=64, seed=0):
    """An LVIS-format set under ``root``: ``ann.json`` and ``images/<id>.png``.

    Class k (category id 10 * (k + 1), names "c0", "c1", ...) has ``instances_per_class[k]``
    boxes, one per image, spread over the first images in turn, so every class's image count
    equals its instance count. Images are ``size`` x ``size`` with a coloured square per box.
    Returns the JSON's path.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    images = [{"id": i + 1, "file_name": f"images/{i + 1}.png", "height": size, "width": size,
               "neg_category_ids": [], "not_exhaustive_category_ids": []}
              for i in range(num_images)]
    anns, canvases = [], [np.full((size, size, 3), 40, np.uint8) for _ in range(num_images)]
    for k, n in enumerate(instances_per_class):
        if n > num_images:
            raise ValueError("one box of a class per image: n must be <= num_images")
        for j in range(n):
            x, y = (int(v) for v in rng.integers(0, size // 2, 2))
            w = h = size // 3
            canvases[j][y:y + h, x:x + w] = (80 * k + 60) % 256
            anns.append({"id": len(anns) + 1, "image_id": j + 1, "category_id": 10 * (k + 1),
                         "bbox": [x, y, w, h], "area": float(w * h),
                         "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
    for img, canvas in zip(images, canvases):
        Image.fromarray(canvas).save(os.path.join(root, img["file_name"]))
    # LVIS's frequency group (its evaluation needs one), without image/instance counts, so the
    # loader counts them from the annotations.
    cats = [{"id": 10 * (k + 1), "name": f"c{k}", "frequency": frequency_group(n)}
            for k, n in enumerate(instances_per_class)]
    path = os.path.join(root, "ann.json")
    with open(path, "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)
    return path


def write_image_folder(root, images_per_class=(5, 2, 1), splits=("train", "val"), size=32):
    """``root/<split>/<class>/<i>.png`` with classes "a", "b", ... (``images_per_class`` each)."""
    for split in splits:
        for k, n in enumerate(images_per_class):
            folder = os.path.join(root, split, chr(ord("a") + k))
            os.makedirs(folder, exist_ok=True)
            for i in range(n):
                Image.fromarray(np.full((size, size, 3), 50 * k + i, np.uint8)).save(os.path.join(folder, f"{i}.png"))
    return root
