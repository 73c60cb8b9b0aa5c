import json

import numpy as np
import pytest
from PIL import Image

from lt_det.data.datasets.inaturalist import load_inat_json


def _inat(root, images, anns, cats):
    for img in images:
        path = root / img["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    f = root / "train2018.json"
    f.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return f


def test_labels_follow_sorted_category_ids(tmp_path):
    images = [{"id": 7, "file_name": "train_val2018/P/5/a.png"}, {"id": 3, "file_name": "train_val2018/P/2/b.png"}]
    anns = [{"id": 1, "image_id": 7, "category_id": 5}, {"id": 2, "image_id": 3, "category_id": 2}]
    cats = [{"id": 5, "name": "Quercus"}, {"id": 2, "name": "Acer"}]
    dicts, names = load_inat_json(str(_inat(tmp_path, images, anns, cats)), str(tmp_path))
    # Category ids sorted: 2 -> label 0 (Acer), 5 -> label 1 (Quercus); images sorted by id.
    assert names == ["Acer", "Quercus"]
    assert [(d["image_id"], d["label"]) for d in dicts] == [(3, 0), (7, 1)]


def test_errors(tmp_path):
    images = [{"id": 1, "file_name": "x.png"}]
    f = _inat(tmp_path, images, [{"id": 1, "image_id": 1, "category_id": 9}], [{"id": 0, "name": "a"}])
    with pytest.raises(ValueError, match="unknown category_id 9"):
        load_inat_json(str(f), str(tmp_path))
    f = _inat(tmp_path, images, [], [{"id": 0, "name": "a"}])
    with pytest.raises(ValueError, match="no annotation"):
        load_inat_json(str(f), str(tmp_path))
