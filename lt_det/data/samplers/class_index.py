"""Class labels of dataset dicts as CSR arrays: the class index every lt_det sampler draws from."""
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Optional, Sequence

import numpy as np

EMPTY_IMAGE_POLICIES = ("keep", "drop")


def check_empty_policy(policy: str, name: str = "empty_images") -> str:
    """``policy`` if it is one of ``EMPTY_IMAGE_POLICIES``, else a one-line error naming the
    argument or config key ``name``."""
    if policy not in EMPTY_IMAGE_POLICIES:
        raise ValueError(f"{name} must be one of {EMPTY_IMAGE_POLICIES}, got {policy!r}")
    return policy


@dataclass
class ClassIndex:
    """Classes of N samples in compressed sparse row form, both directions.

    Samples are images (detection: the distinct ``category_id`` of their annotations) or
    classification samples (one ``label`` each). With ``empty_as_class`` the samples without
    any class (images without annotations) form one extra pseudo-class with id
    ``num_classes``, so class-level samplers can keep them; otherwise they belong to no class.

    Attributes:
        num_samples: N.
        num_classes: C, the real classes (ids ``0..C-1``).
        sample_ptr, sample_classes: classes of sample ``i`` are
            ``sample_classes[sample_ptr[i]:sample_ptr[i + 1]]`` (sorted, distinct, real
            classes only).
        class_ptr, class_members: samples of class ``j`` are
            ``class_members[class_ptr[j]:class_ptr[j + 1]]`` (sorted); ``C + 1`` rows when the
            pseudo-class exists, else ``C``.
        empty: boolean mask of the samples without any class.
    """

    num_samples: int
    num_classes: int
    sample_ptr: np.ndarray
    sample_classes: np.ndarray
    class_ptr: np.ndarray
    class_members: np.ndarray
    empty: np.ndarray

    @property
    def num_rows(self) -> int:
        """Rows of the class CSR: C, or C + 1 with the pseudo-class of empty samples."""
        return len(self.class_ptr) - 1

    @property
    def class_counts(self) -> np.ndarray:
        """n_j: samples (images) that contain class j, per row of the class CSR."""
        return np.diff(self.class_ptr)

    def members(self, j: int) -> np.ndarray:
        return self.class_members[self.class_ptr[j] : self.class_ptr[j + 1]]


def _labels_of(dataset_dicts: Sequence[dict]):
    """(per-sample label counts, flat labels) of detection or classification dicts."""
    n = len(dataset_dicts)
    first = dataset_dicts[0]
    if "annotations" in first:
        try:
            anns = list(map(itemgetter("annotations"), dataset_dicts))
            lengths = np.fromiter(map(len, anns), dtype=np.int64, count=n)
            flat = np.fromiter(
                map(itemgetter("category_id"), chain.from_iterable(anns)),
                dtype=np.int64,
                count=int(lengths.sum()),
            )
        except (KeyError, TypeError):
            _raise_bad_dict(dataset_dicts, detection=True)
        return lengths, flat
    if "label" in first:
        try:
            flat = np.fromiter(map(itemgetter("label"), dataset_dicts), dtype=np.int64, count=n)
        except (KeyError, TypeError, ValueError):
            _raise_bad_dict(dataset_dicts, detection=False)
        return np.ones(n, dtype=np.int64), flat
    raise ValueError(
        "Sampler input: dataset dict 0 has neither 'annotations' (detection) nor 'label' "
        "(classification); lt_det's samplers need one of them in every dict"
    )


def _raise_bad_dict(dataset_dicts: Sequence[dict], detection: bool):
    """Find the first malformed dict (slow path, only on error) and say what is wrong."""
    for i, d in enumerate(dataset_dicts):
        name = d.get("file_name", d.get("image_id", i)) if isinstance(d, dict) else i
        if detection:
            anns = d.get("annotations") if isinstance(d, dict) else None
            if not isinstance(anns, (list, tuple)):
                raise ValueError(
                    f"Sampler input: dataset dict {i} ({name}) has no 'annotations' list while "
                    "dict 0 has one; detection dicts need 'annotations' (possibly empty)"
                )
            for a in anns:
                if not isinstance(a, dict) or not isinstance(a.get("category_id"), (int, np.integer)):
                    raise ValueError(
                        f"Sampler input: an annotation of dataset dict {i} ({name}) has no "
                        "integer 'category_id'"
                    )
        else:
            if not isinstance(d, dict) or not isinstance(d.get("label"), (int, np.integer)):
                raise ValueError(
                    f"Sampler input: dataset dict {i} ({name}) has no integer 'label' while "
                    "dict 0 has one"
                )
    raise ValueError("Sampler input: malformed dataset dicts")


def build_class_index(
    dataset_dicts: Sequence[dict], num_classes: Optional[int] = None, empty_as_class: bool = False
) -> ClassIndex:
    """Build the :class:`ClassIndex` of detection or classification dicts in O(labels).

    Args:
        dataset_dicts: detectron2-format dicts: detection dicts with ``annotations`` carrying
            contiguous ``category_id``; or classification dicts with an integer ``label``.
        num_classes: C; ``None`` = largest id + 1. Ids outside ``[0, C)`` are an error.
        empty_as_class: put the samples without classes into a pseudo-class with id C.
    """
    n = len(dataset_dicts)
    if n == 0:
        raise ValueError("Sampler input: the training set is empty (0 dataset dicts)")
    lengths, flat = _labels_of(dataset_dicts)
    if flat.size:
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or (num_classes is not None and hi >= num_classes):
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"Sampler input: class id {bad} is outside [0, {num_classes}); ids must be "
                "contiguous (detectron2's dataset mapping) and below the number of classes"
            )
        if num_classes is None:
            num_classes = hi + 1
    elif num_classes is None:
        num_classes = 0
    c = int(num_classes)
    width = max(c, 1)
    # Stored ids are int32 where they fit (half the memory, faster gathers).
    ids = np.int32 if max(n, c + 1) < 2**31 else np.int64
    # Distinct (sample, class) pairs as keys sample * C + class: they come grouped by sample,
    # so a stable sort only reorders within samples (timsort on nearly sorted data, ~linear).
    key = np.repeat(np.arange(n, dtype=np.int64), lengths)
    key *= width
    key += flat
    del flat, lengths
    key.sort(kind="stable")
    if key.size:
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    pair_sample = (key // width).astype(ids)
    pair_class = (key % width).astype(ids)
    del key
    per_sample = np.bincount(pair_sample, minlength=n)
    sample_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_sample, out=sample_ptr[1:])
    empty = per_sample == 0
    del per_sample

    rows = c + 1 if (empty_as_class and empty.any()) else c
    class_of_pair = pair_class
    member_of_pair = pair_sample
    if rows > c:
        empties = np.flatnonzero(empty).astype(ids)
        class_of_pair = np.concatenate((pair_class, np.full(empties.size, c, dtype=ids)))
        member_of_pair = np.concatenate((pair_sample, empties))
    class_ptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(class_of_pair, minlength=rows), out=class_ptr[1:])
    # Radix (O(n)) stable sort for 16-bit class ids keeps members sorted within each class.
    if rows <= np.iinfo(np.uint16).max:
        class_of_pair = class_of_pair.astype(np.uint16)
    class_members = member_of_pair[np.argsort(class_of_pair, kind="stable")]
    return ClassIndex(
        num_samples=n,
        num_classes=int(num_classes),
        sample_ptr=sample_ptr,
        sample_classes=pair_class,
        class_ptr=class_ptr,
        class_members=class_members,
        empty=empty,
    )
