"""CSR class index of detection and classification dicts, and its input errors."""
import numpy as np
import pytest
from sampler_data import cls_dicts, det_dicts

from lt_det.data.samplers import build_class_index


def test_detection_csr_both_directions():
    # I0 {0}, I1 {0, 1} (0 annotated twice: counted once), I2 {0}, I3 {2}, I4 {} with C = 4:
    # class 0 -> [0, 1, 2], class 1 -> [1], class 2 -> [3], class 3 -> [] (no samples).
    idx = build_class_index(det_dicts(), num_classes=4)
    assert idx.num_samples == 5 and idx.num_classes == 4 and idx.num_rows == 4
    assert idx.sample_ptr.tolist() == [0, 1, 3, 4, 5, 5]
    assert idx.sample_classes.tolist() == [0, 0, 1, 0, 2]
    assert idx.class_counts.tolist() == [3, 1, 1, 0]
    assert [idx.members(j).tolist() for j in range(4)] == [[0, 1, 2], [1], [3], []]
    assert idx.empty.tolist() == [False, False, False, False, True]


def test_empty_images_as_pseudo_class():
    # With empty_as_class the image without annotations (I4) is the only member of row C = 3.
    idx = build_class_index(det_dicts(), empty_as_class=True)
    assert idx.num_classes == 3 and idx.num_rows == 4
    assert idx.members(3).tolist() == [4]
    # Without empty images there is no extra row.
    assert build_class_index(det_dicts()[:4], empty_as_class=True).num_rows == 3


def test_classification_labels():
    idx = build_class_index(cls_dicts(), num_classes=5)
    assert idx.class_counts.tolist() == [6, 3, 2, 1, 0]
    assert idx.members(3).tolist() == [11]
    assert not idx.empty.any()


def test_single_class_and_all_empty():
    one = build_class_index([{"label": 0}] * 3)
    assert one.num_classes == 1 and one.members(0).tolist() == [0, 1, 2]
    none = build_class_index([{"annotations": []}] * 2, empty_as_class=True)
    assert none.num_classes == 0 and none.num_rows == 1 and none.members(0).tolist() == [0, 1]


@pytest.mark.parametrize(
    "dicts, match",
    [
        ([], "empty"),
        ([{"file_name": "a"}], "neither 'annotations'"),
        ([{"annotations": []}, {"file_name": "b.jpg"}], r"dict 1 \(b.jpg\) has no 'annotations'"),
        ([{"annotations": [{"bbox": [0, 0, 1, 1]}]}], "no integer 'category_id'"),
        ([{"label": 0}, {"label": None}], "dict 1"),
        ([{"label": -1}], "outside"),
    ],
)
def test_bad_input_names_the_problem(dicts, match):
    with pytest.raises(ValueError, match=match):
        build_class_index(dicts)


def test_id_beyond_num_classes():
    with pytest.raises(ValueError, match=r"class id 2 is outside \[0, 2\)"):
        build_class_index(det_dicts(), num_classes=2)


def test_matches_python_reference_on_random_data():
    # A direct per-image set computation gives the same CSR.
    from sampler_data import random_det_dicts

    dicts = random_det_dicts(300, 12)
    idx = build_class_index(dicts, num_classes=12)
    for i, d in enumerate(dicts):
        got = idx.sample_classes[idx.sample_ptr[i] : idx.sample_ptr[i + 1]].tolist()
        assert got == sorted({a["category_id"] for a in d["annotations"]})
    for j in range(12):
        ref = [i for i, d in enumerate(dicts) if any(a["category_id"] == j for a in d["annotations"])]
        assert idx.members(j).tolist() == ref
    assert np.array_equal(idx.empty, [not d["annotations"] for d in dicts])


def test_lazy_shuffle_is_a_uniform_permutation():
    # 4 elements in buckets of about 2: over 4800 keys each of the 4! = 24 orders should
    # appear 200 times (chi-square), and slicing from the middle first gives the same order.
    from itertools import permutations

    from scipy.stats import chisquare

    from lt_det.data.samplers.stream import LazyShuffle

    orders = {p: 0 for p in permutations(range(4))}
    for k in range(4800):
        orders[tuple(LazyShuffle(np.arange(4), (k,), bucket_size=2)[0:4].tolist())] += 1
    assert chisquare(list(orders.values())).pvalue > 1e-3
    a = LazyShuffle(np.arange(1000), (5, 1), bucket_size=64)
    tail = a[700:].copy()
    b = LazyShuffle(np.arange(1000), (5, 1), bucket_size=64)
    assert np.array_equal(b[0:1000][700:], tail) and sorted(b[0:1000].tolist()) == list(range(1000))
