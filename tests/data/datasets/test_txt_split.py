import uuid

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from lt_det.data.datasets.txt_split import IMAGENET_LT, class_names_from_paths, load_txt_split, register_txt_split


def _png(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)


def _imagenet_lt(root):
    folder = root / "ImageNet-LT"
    train = ["train/n001/a.png 0", "train/n001/b.png 0", "train/n002/c.png 1", "train/n003/d.png 2"]
    test = ["val/n002/x.png 1", "val/n003/y.png 2"]
    for line in train + test:
        _png(folder / line.split()[0])
    (folder / "ImageNet_LT_train.txt").write_text("\n".join(train) + "\n")
    (folder / "ImageNet_LT_test.txt").write_text("\n".join(test) + "\n")
    return folder


def test_imagenet_lt_split_files(tmp_path):
    _imagenet_lt(tmp_path)
    train, test = (f"test_inlt_{s}_{uuid.uuid4().hex[:6]}" for s in ("train", "test"))
    register_txt_split(train, IMAGENET_LT, "train", root=str(tmp_path))
    register_txt_split(test, IMAGENET_LT, "test", root=str(tmp_path))
    dicts = DatasetCatalog.get(train)
    assert [d["label"] for d in dicts] == [0, 0, 1, 2]
    assert dicts[0]["file_name"].endswith("ImageNet-LT/train/n001/a.png")
    meta = MetadataCatalog.get(train)
    assert meta.thing_classes == ["n001", "n002", "n003"] and meta.class_image_count == [2, 1, 1]
    # The test split takes its class names from the training split.
    assert [d["label"] for d in DatasetCatalog.get(test)] == [1, 2]
    assert MetadataCatalog.get(test).thing_classes == ["n001", "n002", "n003"]


def test_errors(tmp_path):
    name = f"test_inlt_missing_{uuid.uuid4().hex[:6]}"
    register_txt_split(name, IMAGENET_LT, "train", root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="ImageNet_LT_\\*.txt.*OpenLongTailRecognition"):
        DatasetCatalog.get(name)
    folder = _imagenet_lt(tmp_path)
    (folder / "bad.txt").write_text("train/n001/a.png zero\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        load_txt_split(str(folder / "bad.txt"), str(folder), str(folder / "ImageNet_LT_train.txt"))
    (folder / "moved.txt").write_text("train/n009/gone.png 0\n")
    with pytest.raises(FileNotFoundError, match="gone.png"):
        load_txt_split(str(folder / "moved.txt"), str(folder), str(folder / "ImageNet_LT_train.txt"))


def test_class_names_fall_back_when_folders_do_not_identify_classes():
    assert class_names_from_paths([("a/x/1.jpg", 0), ("a/y/2.jpg", 1)]) == ["x", "y"]
    # Two labels in one folder: names cannot come from folders.
    assert class_names_from_paths([("a/x/1.jpg", 0), ("a/x/2.jpg", 1)]) == ["class_0", "class_1"]
