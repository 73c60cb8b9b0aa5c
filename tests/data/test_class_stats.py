import numpy as np
import pytest

from lt_det.data.class_stats import compute_class_stats, frequency_group


def test_frequency_groups_follow_lvis_thresholds():
    # LVIS: rare 1-10 training images, common 11-100, frequent > 100.
    assert [frequency_group(n) for n in (0, 1, 10, 11, 100, 101)] == ["r", "r", "r", "c", "c", "f"]


def test_counts_by_hand_detection_and_classification():
    dicts = [
        {"annotations": [{"category_id": 0}, {"category_id": 0}, {"category_id": 2}]},
        {"annotations": [{"category_id": 2}]},
        {"annotations": []},  # an image without annotations counts as an image only
    ]
    s = compute_class_stats(dicts, 3)
    # class 0: 2 instances in 1 image; class 1: none; class 2: 2 instances in 2 images
    assert s.image_count.tolist() == [1, 0, 2]
    assert s.instance_count.tolist() == [2, 0, 2]
    assert s.num_images == 3
    np.testing.assert_allclose(s.image_frequency, [1 / 3, 0, 2 / 3])
    cls = compute_class_stats([{"label": 1}, {"label": 1}, {"label": 0}], 2)
    assert cls.image_count.tolist() == [1, 2] and cls.instance_count.tolist() == [1, 2]


def test_out_of_range_class_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        compute_class_stats([{"label": 5, "file_name": "x.png"}], 3)


def test_detectron2_lvis_style_metadata_is_recounted():
    # detectron2's LVIS v1 metadata stores class_image_count as [{"id", "image_count"}] without
    # instance counts; the statistics are then counted from the data set's dicts.
    from detectron2.data import DatasetCatalog, MetadataCatalog

    from lt_det.data.class_stats import class_stats_from_metadata

    name = "test_d2_style_lvis_meta"
    DatasetCatalog.register(name, lambda: [
        {"annotations": [{"category_id": 1}, {"category_id": 1}]},
        {"annotations": [{"category_id": 0}]},
    ])
    MetadataCatalog.get(name).set(
        thing_classes=["a", "b"],
        class_image_count=[{"id": 1, "image_count": 50}, {"id": 2, "image_count": 60}],
    )
    s = class_stats_from_metadata([name])
    assert s.image_count.tolist() == [1, 1] and s.instance_count.tolist() == [1, 2]
    assert s.num_images == 2 and s.frequency == ["r", "r"]
