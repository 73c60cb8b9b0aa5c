import uuid

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from lt_det.data.datasets import register_image_folder


def _png(path, value=0, size=(8, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), value, np.uint8)).save(path)


def _register(root, **kw):
    return register_image_folder(f"test_folder_{uuid.uuid4().hex[:8]}", str(root), **kw)


def test_classes_labels_and_stats(tmp_path):
    # 'cat' has 3 images, 'ant' 1 (a class with a single image), 'bee' 2; classes sort by name.
    for i in range(3):
        _png(tmp_path / "train" / "cat" / f"{i}.png")
    _png(tmp_path / "train" / "ant" / "only.jpg".replace(".jpg", ".png"))
    for i in range(2):
        _png(tmp_path / "train" / "bee" / f"{i}.png")
    (tmp_path / "train" / "bee" / "notes.txt").write_text("not an image")
    _png(tmp_path / "val" / "cat" / "0.png")
    train, val = _register(tmp_path)
    dicts = DatasetCatalog.get(train)
    assert MetadataCatalog.get(train).thing_classes == ["ant", "bee", "cat"]
    assert [d["label"] for d in dicts] == [0, 1, 1, 2, 2, 2]
    assert MetadataCatalog.get(train).class_image_count == [1, 2, 3]
    # The validation split uses the training classes (only 'cat' present -> label 2).
    assert [d["label"] for d in DatasetCatalog.get(val)] == [2]
    assert MetadataCatalog.get(val).thing_classes == ["ant", "bee", "cat"]
    assert MetadataCatalog.get(val).task == "classification"


def test_errors(tmp_path):
    (name,) = _register(tmp_path / "missing", splits=("train",))
    with pytest.raises(FileNotFoundError, match="root/train/<class>"):
        DatasetCatalog.get(name)
    _png(tmp_path / "ok" / "train" / "a" / "0.png")
    _png(tmp_path / "ok" / "val" / "zebra" / "0.png")
    _, val = _register(tmp_path / "ok")
    with pytest.raises(ValueError, match="zebra"):
        DatasetCatalog.get(val)
    (tmp_path / "empty" / "train" / "a").mkdir(parents=True)
    (name,) = _register(tmp_path / "empty", splits=("train",))
    with pytest.raises(ValueError, match="no image files"):
        DatasetCatalog.get(name)
