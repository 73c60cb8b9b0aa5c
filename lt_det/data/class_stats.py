"""Per-class training statistics, computed once from a data set's annotations.

Every long-tail trick that needs class frequencies (EQL's f_j, repeat factors, class-balanced
weights, many/medium/few splits) reads them from here, i.e. from the registered data set's
metadata (``class_image_count``, ``class_instance_count``, ``class_frequency``), never from a
hard-coded table.
"""
from dataclasses import dataclass
from typing import Iterable, List, Sequence

import numpy as np

# LVIS frequency groups by number of training images: rare 1-10, common 11-100, frequent >100.
LVIS_RARE_MAX = 10
LVIS_COMMON_MAX = 100


def frequency_group(image_count: int) -> str:
    """LVIS frequency group of a class: 'r' (<= 10 images), 'c' (11-100) or 'f' (> 100)."""
    if image_count <= LVIS_RARE_MAX:
        return "r"
    if image_count <= LVIS_COMMON_MAX:
        return "c"
    return "f"


@dataclass
class ClassStats:
    """Training statistics of C classes (index = contiguous class id).

    Attributes:
        image_count: number of training images (detection) or samples (classification)
            that contain each class.
        instance_count: number of annotated instances of each class.
        frequency: LVIS group per class, 'r', 'c' or 'f'.
        num_images: number of training images / samples in the data set.
    """

    image_count: np.ndarray
    instance_count: np.ndarray
    frequency: List[str]
    num_images: int

    @property
    def num_classes(self) -> int:
        return int(len(self.image_count))

    @property
    def image_frequency(self) -> np.ndarray:
        """f_j = N_j / N: fraction of training images that contain class j."""
        return self.image_count / max(self.num_images, 1)


def compute_class_stats(dataset_dicts: Sequence[dict], num_classes: int) -> ClassStats:
    """Count images and instances per class in detectron2-format dicts.

    Detection dicts carry ``annotations`` with contiguous ``category_id``; classification
    dicts carry an integer ``label``.
    """
    image_count = np.zeros(num_classes, dtype=np.int64)
    instance_count = np.zeros(num_classes, dtype=np.int64)
    for d in dataset_dicts:
        if "annotations" in d:
            ids = np.fromiter((a["category_id"] for a in d["annotations"]), dtype=np.int64)
        else:
            ids = np.asarray([d["label"]], dtype=np.int64)
        if ids.size == 0:
            continue
        if ids.min() < 0 or ids.max() >= num_classes:
            raise ValueError(
                f"Class id {int(ids.max() if ids.max() >= num_classes else ids.min())} in "
                f"{d.get('file_name', d.get('image_id'))} is outside [0, {num_classes})"
            )
        np.add.at(instance_count, ids, 1)
        image_count[np.unique(ids)] += 1
    return ClassStats(
        image_count=image_count,
        instance_count=instance_count,
        frequency=[frequency_group(int(n)) for n in image_count],
        num_images=len(dataset_dicts),
    )


def stats_to_metadata(stats: ClassStats) -> dict:
    """The metadata keys under which a registered data set stores its class statistics."""
    return {
        "class_image_count": [int(x) for x in stats.image_count],
        "class_instance_count": [int(x) for x in stats.instance_count],
        "class_frequency": list(stats.frequency),
        "num_train_images": int(stats.num_images),
    }


def class_stats_from_metadata(dataset_names: Iterable[str]) -> ClassStats:
    """Class statistics of one or more registered training sets, summed.

    lt_det's registrations provide them in the metadata (``stats_to_metadata``, computed from
    the set's one load on first read); a plain detectron2 registration gets them counted from
    its dicts once, cached in the metadata.
    """
    names = [dataset_names] if isinstance(dataset_names, str) else list(dataset_names)
    total = None
    for name in names:
        stats = _stats_of(name)
        if total is None:
            total = [stats.image_count, stats.instance_count, stats.num_images]
        else:
            if len(stats.image_count) != len(total[0]):
                raise ValueError(f"{names} do not share one class list")
            total = [total[0] + stats.image_count, total[1] + stats.instance_count,
                     total[2] + stats.num_images]
    if total is None:
        raise ValueError("No training data set given")
    return ClassStats(
        image_count=total[0],
        instance_count=total[1],
        frequency=[frequency_group(int(n)) for n in total[0]],
        num_images=total[2],
    )


def _stats_of(name: str) -> ClassStats:
    """One registered set's statistics: from its metadata, else counted once and cached.

    Reading the metadata of an lt_det-registered set loads it once if needed
    (``lt_det.data.catalog``); a set registered otherwise is loaded once here and its dicts
    are handed to its next ``DatasetCatalog.get``, so the loader does not parse it again.
    """
    from detectron2.data import MetadataCatalog

    from .catalog import held_dicts, load_for_metadata

    meta = MetadataCatalog.get(name)
    cached = meta.get("lt_class_stats")
    if cached is not None:
        return cached
    counts = meta.get("class_image_count")
    # lt_det's own keys hold plain integer lists; detectron2's LVIS v1 metadata uses the same
    # key for a list of {"id", "image_count"} dicts without instance counts, so it is recounted.
    ours = (
        counts
        and not isinstance(counts[0], dict)
        and meta.get("class_instance_count") is not None
        and meta.get("num_train_images") is not None
    )
    if ours:
        image_count = np.asarray(counts, dtype=np.int64)
        stats = ClassStats(
            image_count=image_count,
            instance_count=np.asarray(meta.class_instance_count, dtype=np.int64),
            frequency=[frequency_group(int(n)) for n in image_count],
            num_images=int(meta.num_train_images),
        )
    else:
        load_for_metadata(name)
        classes = meta.get("thing_classes")
        if classes is None:
            raise KeyError(
                f"Data set {name!r} has no thing_classes in its metadata; register it with "
                "lt_det.data.datasets.register_lvis_format (or register_classification), or set "
                f"MetadataCatalog.get({name!r}).thing_classes when registering it"
            )
        dicts = held_dicts(name)
        if dicts is None:  # already handed to the loader: the loader's next get parses again
            from detectron2.data import DatasetCatalog

            dicts = DatasetCatalog.get(name)
        stats = compute_class_stats(dicts, len(classes))
    meta.set(lt_class_stats=stats)
    return stats
