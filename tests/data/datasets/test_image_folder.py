import uuid

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from lt_det.data.classification import ClassificationDataset
from lt_det.data.classification.transforms import Identity
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


def test_single_channel_sar_chips_load(tmp_path):
    # Real SAR chip sets are grey: 8-bit "L" PNGs (the MAVOC chips) and 16-bit PNGs / float
    # TIFFs. They load through the image-folder reader as 3 equal channels.
    grey = np.arange(6 * 8, dtype=np.uint8).reshape(6, 8) * 5  # 0..235
    for i in range(2):
        path = tmp_path / "train" / "sedan" / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grey, mode="L").save(path)
    wide = (tmp_path / "train" / "van" / "0.png")
    wide.parent.mkdir(parents=True)
    # 16-bit: full-scale v / 257, so 65535 -> 255, 257 * 100 -> 100, 300 -> 1.17 -> 1.
    Image.fromarray(np.array([[65535, 25700, 300, 0]], dtype=np.uint16)).save(wide)
    Image.fromarray(np.array([[2.0, 4.0], [3.0, 2.0]], dtype=np.float32), mode="F").save(
        tmp_path / "train" / "van" / "1.tif")
    train, _ = _register(tmp_path)
    dicts = DatasetCatalog.get(train)
    assert MetadataCatalog.get(train).thing_classes == ["sedan", "van"]
    assert [d["label"] for d in dicts] == [0, 0, 1, 1]
    for image_format in ("RGB", "BGR"):
        ds = ClassificationDataset(dicts, Identity(), image_format=image_format)
        for i in (0, 1):
            img = ds[i]["image"]
            assert img.shape == (3, 6, 8) and img.dtype == torch.uint8
            assert all(np.array_equal(img[c].numpy(), grey) for c in range(3))
        wide16 = ds[2]["image"]
        assert wide16.shape == (3, 1, 4) and wide16[0, 0].tolist() == [255, 100, 1, 0]
        # Float: the image's own range [2, 4] -> 0..255: 3 -> 127.5 -> 128.
        flt = ds[3]["image"]
        assert flt.shape == (3, 2, 2) and flt[1].tolist() == [[0, 255], [128, 0]]
