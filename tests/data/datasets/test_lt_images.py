import math
import os

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from lt_det.data.datasets.lt_images import (
    PATTERNS,
    LTImagesSpec,
    class_names,
    draw_image,
    generate_lt_images,
    train_counts,
)


def test_zipf_counts():
    # Default: 24 classes, 500 -> 5; alpha = ln(100) / ln(24) = 1.449;
    # n_k = round(500 (k+1)^-alpha): 500, 500 / 2^1.449 = 183.0, 500 / 3^1.449 = 101.9 -> 102 ...
    spec = LTImagesSpec()
    counts = train_counts(spec)
    alpha = math.log(100) / math.log(24)
    assert counts[:3] == [500, 183, 102] and counts[-1] == 5
    assert counts == [round(500 * (k + 1) ** -alpha) for k in range(24)]
    # Many (> 100): 500, 183, 102; medium (20-100): 67, 49, 37, 30, 25, 21; few: the other 15.
    assert counts[3:10] == [67, 49, 37, 30, 25, 21, 18]
    assert sum(n > 100 for n in counts) == 3 and sum(n < 20 for n in counts) == 15
    assert train_counts(LTImagesSpec(num_classes=1, max_train=9, min_train=9)) == [9]
    with pytest.raises(ValueError, match="num_classes"):
        LTImagesSpec(num_classes=len(PATTERNS) + 1)


def test_generation_is_deterministic(tmp_path):
    spec = LTImagesSpec(num_classes=3, max_train=4, min_train=2, val_per_class=1, seed=5)
    generate_lt_images(spec, str(tmp_path / "a"))
    generate_lt_images(spec, str(tmp_path / "b"))
    for split in ("train", "val"):
        for name in class_names(spec):
            files = sorted(os.listdir(tmp_path / "a" / split / name))
            assert files == sorted(os.listdir(tmp_path / "b" / split / name))
            for f in files:
                a = np.asarray(Image.open(tmp_path / "a" / split / name / f))
                assert a.shape == (32, 32, 3)
                assert np.array_equal(a, np.asarray(Image.open(tmp_path / "b" / split / name / f)))
    assert [len(os.listdir(tmp_path / "a" / "train" / n)) for n in class_names(spec)] == train_counts(spec)


def test_colour_is_not_the_class():
    # Two images of one pattern differ in colour; the image is not constant.
    rng = np.random.default_rng(0)
    a, b = draw_image(("rings", 1), 32, rng), draw_image(("rings", 1), 32, rng)
    assert a.std() > 10 and not np.allclose(a.reshape(-1, 3).mean(0), b.reshape(-1, 3).mean(0), atol=5)


def test_registered_tiny_set():
    dicts = DatasetCatalog.get("lt_images_tiny_train")
    meta = MetadataCatalog.get("lt_images_tiny_train")
    assert meta.task == "classification" and meta.evaluator_type == "lt_classification"
    assert meta.class_image_count == train_counts(LTImagesSpec(num_classes=6, max_train=60, min_train=4, val_per_class=12, seed=1))
    assert len(dicts) == sum(meta.class_image_count)
    assert len(DatasetCatalog.get("lt_images_tiny_val")) == 6 * 12
