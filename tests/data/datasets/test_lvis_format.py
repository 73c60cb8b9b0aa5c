import json

import pytest
from detectron2.data import MetadataCatalog
from PIL import Image

from lt_det.data.datasets.lvis_format import DatasetFormatError, load_lvis_format_json


def _write(tmp_path, anns, cats=None, with_images=True):
    cats = cats or [{"id": 3, "name": "b"}, {"id": 1, "name": "a"}]
    images = [{"id": 7, "file_name": "x.png", "height": 10, "width": 10, "neg_category_ids": [3]}]
    if with_images:
        Image.new("RGB", (10, 10)).save(tmp_path / "x.png")
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return str(path)


def test_loads_and_maps_sorted_category_ids(tmp_path):
    anns = [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 1, 2, 2], "segmentation": [[1, 1, 3, 1, 3, 3]]},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5]}]
    dicts = load_lvis_format_json(_write(tmp_path, anns), str(tmp_path), "fmt_test_ok")
    # ids sorted: 1 -> 0 ("a"), 3 -> 1 ("b")
    assert [a["category_id"] for a in dicts[0]["annotations"]] == [1, 0]
    assert dicts[0]["neg_category_ids"] == [3]
    meta = MetadataCatalog.get("fmt_test_ok")
    assert meta.thing_classes == ["a", "b"]
    assert meta.class_image_count == [1, 1] and meta.class_instance_count == [1, 1]


def test_unknown_category_is_a_one_line_error(tmp_path):
    anns = [{"id": 5, "image_id": 7, "category_id": 99, "bbox": [1, 1, 2, 2]}]
    with pytest.raises(DatasetFormatError, match=r"ann.json: annotation 5 has unknown category_id 99"):
        load_lvis_format_json(_write(tmp_path, anns), str(tmp_path))


@pytest.mark.parametrize("box", [[1, 1, 0, 2], [1, 1, 2], [1, float("nan"), 2, 2], "1,1,2,2"])
def test_malformed_box_is_an_error(tmp_path, box):
    anns = [{"id": 6, "image_id": 7, "category_id": 1, "bbox": box}]
    with pytest.raises(DatasetFormatError, match="annotation 6 has malformed bbox"):
        load_lvis_format_json(_write(tmp_path, anns), str(tmp_path))


def test_missing_image_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"x\.png"):
        load_lvis_format_json(_write(tmp_path, [], with_images=False), str(tmp_path))
