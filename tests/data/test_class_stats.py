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
