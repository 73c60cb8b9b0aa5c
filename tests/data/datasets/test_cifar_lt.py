"""CIFAR-LT counts and loading.

Approach: the long-tail profile depends only on n_max, C and beta, and the loader takes
n_max from the data (the largest class of the training pickles), then calls the same
``cifar_lt_counts``. So (1) the formula is checked at the real n_max (5000 / 500) against the
training-set totals published in the literature, without files; (2) the loader is checked
end to end on pickles written in the real CIFAR formats (dicts with b"data" uint8 [N, 3072]
and b"labels" / b"fine_labels") but with a reduced n_max (50 / 10 images per class), which
keeps them at 1.5 / 3 MB instead of 150 MB.
"""
import math
import os
import pickle
import uuid

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog

from lt_det.data.datasets.cifar_lt import CIFAR10, CIFAR100, cifar_lt_counts, register_cifar_lt


def test_literature_totals():
    # Training-set sizes of CIFAR-10-LT and CIFAR-100-LT (Cao et al., 2019; Zhang et al., 2021).
    assert sum(cifar_lt_counts(5000, 10, 100)) == 12406
    assert sum(cifar_lt_counts(5000, 10, 50)) == 13996
    assert sum(cifar_lt_counts(500, 100, 100)) == 10847
    assert sum(cifar_lt_counts(500, 100, 50)) == 12608
    # The per-class profile of CIFAR-10-LT, beta = 100: floor(5000 * 100^(-i/9)).
    assert cifar_lt_counts(5000, 10, 100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    # Head n_max, tail n_max / beta exactly.
    for n, c, beta in [(5000, 10, 100), (500, 100, 100), (500, 100, 50), (500, 100, 10)]:
        counts = cifar_lt_counts(n, c, beta)
        assert counts[0] == n and counts[-1] == n // beta
        assert all(a >= b for a, b in zip(counts, counts[1:]))


def test_formula_edge_cases():
    assert cifar_lt_counts(7, 1, 100) == [7]  # a single class
    assert cifar_lt_counts(20, 4, 1) == [20, 20, 20, 20]  # beta = 1: balanced
    with pytest.raises(ValueError, match="imbalance"):
        cifar_lt_counts(20, 4, 0.5)


def _write_cifar(root, variant, per_class_train, per_class_test, seed=0):
    """Pickles in the real format; image k's R/G/B planes are filled with k, k+1, k+2 (mod 256)."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, variant.folder)
    os.makedirs(folder)

    def split(per_class, files, offset):
        labels = rng.permutation(np.repeat(np.arange(variant.num_classes), per_class))
        ids = np.arange(len(labels)) + offset
        data = np.concatenate([np.repeat((ids[:, None] + p) % 256, 1024, axis=1) for p in range(3)], axis=1)
        for part, idx in zip(files, np.array_split(np.arange(len(labels)), len(files))):
            entry = {b"data": data[idx].astype(np.uint8), variant.label_key: labels[idx].tolist(), b"batch_label": b"x"}
            with open(os.path.join(folder, part), "wb") as f:
                pickle.dump(entry, f)
        return labels

    train = split(per_class_train, variant.train_files, 0)
    test = split(per_class_test, variant.test_files, 10_000)
    names = [f"name{i}".encode() for i in range(variant.num_classes)]
    with open(os.path.join(folder, variant.meta_file), "wb") as f:
        pickle.dump({variant.names_key: names}, f)
    return train, test


def _register(root, variant, beta, train):
    name = f"test_cifar_{uuid.uuid4().hex[:8]}"
    register_cifar_lt(name, variant, beta, train=train, root=str(root))
    return name


def test_cifar10_lt_end_to_end(tmp_path):
    _write_cifar(tmp_path, CIFAR10, per_class_train=50, per_class_test=10)
    name = _register(tmp_path, CIFAR10, 10, train=True)
    dicts = DatasetCatalog.get(name)
    # n_max = 50 from the data; floor(50 * 10^(-i/9)) for i = 0..9:
    # 50, 38.7, 29.97, 23.2, 17.97, 13.9, 10.77, 8.34, 6.46, 5.0 -> 50+38+29+23+17+13+10+8+6+5 = 199.
    expected = [50, 38, 29, 23, 17, 13, 10, 8, 6, 5]
    assert np.bincount([d["label"] for d in dicts], minlength=10).tolist() == expected
    assert len(dicts) == 199
    # Distinct images, each the original image of its id, with the planes decoded in order.
    ids = [d["image_id"] for d in dicts]
    assert len(set(ids)) == len(ids)
    for d in dicts[:20]:
        k = d["image_id"]
        assert d["image"].shape == (3, 32, 32)
        assert [int(d["image"][c, 5, 7]) for c in range(3)] == [k % 256, (k + 1) % 256, (k + 2) % 256]
    meta = MetadataCatalog.get(name)
    assert meta.task == "classification" and meta.evaluator_type == "lt_classification"
    assert meta.thing_classes[:2] == ["name0", "name1"]
    assert meta.class_image_count == expected and meta.num_train_images == 199
    # The fixed seed gives the same selection on every load.
    assert [d["image_id"] for d in DatasetCatalog.get(name)] == ids


def test_cifar10_test_split_stays_balanced(tmp_path):
    _write_cifar(tmp_path, CIFAR10, per_class_train=50, per_class_test=10)
    name = _register(tmp_path, CIFAR10, 1.0, train=False)
    dicts = DatasetCatalog.get(name)
    assert np.bincount([d["label"] for d in dicts]).tolist() == [10] * 10
    # Test sets carry no training statistics.
    assert MetadataCatalog.get(name).get("class_image_count") is None


def test_cifar100_lt_end_to_end(tmp_path):
    _write_cifar(tmp_path, CIFAR100, per_class_train=10, per_class_test=2)
    name = _register(tmp_path, CIFAR100, 10, train=True)
    counts = np.bincount([d["label"] for d in DatasetCatalog.get(name)], minlength=100)
    # Same formula with n_max = 10, C = 100: head 10, tail floor(10 / 10) = 1.
    assert counts.tolist() == cifar_lt_counts(10, 100, 10)
    assert counts[0] == 10 and counts[-1] == 1 and counts[49] == math.floor(10 * 10 ** (-49 / 99))


def test_missing_files_name_the_download(tmp_path):
    name = _register(tmp_path, CIFAR10, 100, train=True)
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz") as err:
        DatasetCatalog.get(name)
    assert str(tmp_path) in str(err.value)


def test_too_few_images_for_the_profile(tmp_path):
    # Unequal classes: n_max = 50 (class 0) but class 1 has only 20 < floor(50 * 10^(-1/9)) = 38.
    folder = tmp_path / CIFAR10.folder
    folder.mkdir()
    labels = [0] * 50 + [1] * 20 + sum(([c] * 50 for c in range(2, 10)), [])
    for i, f in enumerate(CIFAR10.train_files):
        part = labels if i == 0 else []
        with open(folder / f, "wb") as fh:
            pickle.dump({b"data": np.zeros((len(part), 3072), np.uint8), b"labels": part}, fh)
    name = _register(tmp_path, CIFAR10, 10, train=True)
    with pytest.raises(ValueError, match="class 1 has 20"):
        DatasetCatalog.get(name)
