"""CIFAR-10-LT and CIFAR-100-LT from the CIFAR python pickles.

The long-tailed training set keeps ``n_i = floor(n_max * beta^(-i / (C - 1)))`` images of
class ``i = 0..C-1`` (Cui et al., CVPR 2019; Cao et al., NeurIPS 2019), where ``beta`` is
the imbalance factor n_max / n_min and ``n_max`` is the per-class count of the full
training set (5000 for CIFAR-10, 500 for CIFAR-100). The kept images of a class are drawn
with a fixed seed. The test set stays balanced (1000 / 100 images per class).

Files (the extracted ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` from
https://www.cs.toronto.edu/~kriz/cifar.html) under ``$DETECTRON2_DATASETS``:
``cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}`` and
``cifar-100-python/{train,test,meta}``.
"""
import functools
import math
import os
import pickle
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from .classification_catalog import datasets_root, register_classification


@dataclass(frozen=True)
class CifarVariant:
    """Where a CIFAR variant's pickles are and what their keys are."""

    num_classes: int
    folder: str
    train_files: Tuple[str, ...]
    test_files: Tuple[str, ...]
    label_key: bytes
    meta_file: str
    names_key: bytes
    archive: str


CIFAR10 = CifarVariant(
    num_classes=10,
    folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
    label_key=b"labels",
    meta_file="batches.meta",
    names_key=b"label_names",
    archive="cifar-10-python.tar.gz",
)
CIFAR100 = CifarVariant(
    num_classes=100,
    folder="cifar-100-python",
    train_files=("train",),
    test_files=("test",),
    label_key=b"fine_labels",
    meta_file="meta",
    names_key=b"fine_label_names",
    archive="cifar-100-python.tar.gz",
)
CIFAR_VARIANTS = {"cifar10": CIFAR10, "cifar100": CIFAR100}
# Imbalance factors registered as cifar{10,100}_lt_{beta}_train.
IMBALANCE_FACTORS = (200, 100, 50, 10)


def cifar_lt_counts(n_max: int, num_classes: int, imbalance: float) -> List[int]:
    """``[floor(n_max * beta^(-i / (C - 1))) for i in 0..C-1]``.

    The power is evaluated as ``(1 / beta) ** (i / (C - 1))``, the arithmetic of the
    reference implementations (Cao et al.'s ``IMBALANCECIFAR10``), so the totals match the
    literature exactly (CIFAR-10-LT, beta = 100: 12,406 images).
    """
    if imbalance < 1:
        raise ValueError(f"The imbalance factor must be >= 1, got {imbalance}")
    if num_classes == 1:
        return [int(n_max)]
    return [int(math.floor(n_max * (1.0 / imbalance) ** (i / (num_classes - 1.0)))) for i in range(num_classes)]


def _missing_error(variant: CifarVariant, path: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"CIFAR file {path} not found: download {variant.archive} from "
        f"https://www.cs.toronto.edu/~kriz/cifar.html and extract it into "
        f"{os.path.dirname(os.path.dirname(path)) or '.'} (so that {variant.folder}/ is there), "
        "or set DETECTRON2_DATASETS to the folder that holds it"
    )


@functools.lru_cache(maxsize=4)
def _read_pickles(folder: str, files: Tuple[str, ...], label_key: bytes, mtimes: Tuple[float, ...]):
    images, labels = [], []
    for f in files:
        path = os.path.join(folder, f)
        with open(path, "rb") as fh:
            try:
                entry = pickle.load(fh, encoding="bytes")
            except Exception as e:  # a truncated or foreign file
                raise ValueError(f"{path} is not a CIFAR python pickle: {e}") from None
        if b"data" not in entry or label_key not in entry:
            raise ValueError(f"{path} has no {b'data'!r} / {label_key!r} entries; is it the right CIFAR variant?")
        data = np.asarray(entry[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"{path}: 'data' has shape {data.shape}, expected [N, 3072]")
        images.append(data.reshape(-1, 3, 32, 32))  # rows are R(1024) G(1024) B(1024), row-major
        labels.append(np.asarray(entry[label_key], dtype=np.int64))
    images, labels = np.concatenate(images), np.concatenate(labels)
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images)} images but {len(labels)} labels")
    images.setflags(write=False)
    return images, labels


def read_cifar(root: str, variant: CifarVariant, train: bool):
    """(images uint8 [N, 3, 32, 32] RGB, labels int64 [N], class names) of a CIFAR split."""
    folder = os.path.join(root, variant.folder)
    files = variant.train_files if train else variant.test_files
    mtimes = []
    for f in files:
        path = os.path.join(folder, f)
        if not os.path.isfile(path):
            raise _missing_error(variant, path)
        mtimes.append(os.path.getmtime(path))
    images, labels = _read_pickles(folder, files, variant.label_key, tuple(mtimes))
    if labels.size and (labels.min() < 0 or labels.max() >= variant.num_classes):
        raise ValueError(f"{folder}: labels outside [0, {variant.num_classes})")
    names = [f"class_{i}" for i in range(variant.num_classes)]
    meta_path = os.path.join(folder, variant.meta_file)
    if os.path.isfile(meta_path):
        with open(meta_path, "rb") as fh:
            names = [n.decode() for n in pickle.load(fh, encoding="bytes")[variant.names_key]]
    return images, labels, names


def long_tailed_indices(labels: np.ndarray, num_classes: int, imbalance: float, seed: int) -> np.ndarray:
    """Indices (sorted) of the kept training images: ``cifar_lt_counts`` of each class,
    drawn without replacement with ``seed``; ``n_max`` is the largest class's count."""
    per_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
    n_max = max(len(p) for p in per_class)
    counts = cifar_lt_counts(n_max, num_classes, imbalance)
    rng = np.random.default_rng(seed)
    kept = []
    for c, (idx, n) in enumerate(zip(per_class, counts)):
        if len(idx) < n:
            raise ValueError(f"CIFAR class {c} has {len(idx)} training images, fewer than the {n} its profile keeps")
        kept.append(rng.permutation(idx)[:n])
    return np.sort(np.concatenate(kept))


def load_cifar_lt(root: str, variant: CifarVariant, imbalance: float = 1.0, train: bool = True, seed: int = 0):
    """Dicts of a CIFAR(-LT) split and its class names.

    Each dict: ``{"image": uint8 [3, 32, 32] RGB (a view), "label", "image_id"}``, the
    image id being the image's position in the original split. ``imbalance`` applies to the
    training split only.
    """
    images, labels, names = read_cifar(root, variant, train)
    if train and imbalance != 1:
        keep = long_tailed_indices(labels, variant.num_classes, imbalance, seed)
    else:
        keep = np.arange(len(labels))
    dicts = [{"image": images[i], "label": int(labels[i]), "image_id": int(i)} for i in keep]
    return dicts, names


def register_cifar_lt(name: str, variant: CifarVariant, imbalance: float, train: bool, root=None, seed: int = 0):
    """Register a CIFAR(-LT) split under ``name`` (files under ``root`` or
    ``$DETECTRON2_DATASETS``, read when the set is first requested)."""

    def load():
        return load_cifar_lt(root or datasets_root(), variant, imbalance, train, seed)

    register_classification(name, load, is_train=train, metadata={"imbalance_factor": float(imbalance)})


def register_all_cifar_lt() -> None:
    """cifar{10,100}_lt_{200,100,50,10}_train and the balanced cifar{10,100}_lt_test."""
    for key, variant in CIFAR_VARIANTS.items():
        for beta in IMBALANCE_FACTORS:
            register_cifar_lt(f"{key}_lt_{beta}_train", variant, beta, train=True)
        register_cifar_lt(f"{key}_lt_test", variant, 1.0, train=False)
