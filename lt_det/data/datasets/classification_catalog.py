"""Registration of classification sets: one code path for every classification data set.

A set is registered lazily (nothing is read at import). Its loader returns dicts with an
integer ``"label"``; on loading, the set's metadata receives ``thing_classes`` and, for a
training split, the class statistics (``lt_det.data.class_stats.stats_to_metadata``), which
the losses, samplers and the evaluator's many/medium/few split read.
"""
import os
from typing import Callable, List, Optional, Sequence

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..class_stats import compute_class_stats, stats_to_metadata

TASK = "classification"
EVALUATOR_TYPE = "lt_classification"


def datasets_root() -> str:
    """``$DETECTRON2_DATASETS`` (default ``datasets``), detectron2's data root convention."""
    return os.path.expanduser(os.environ.get("DETECTRON2_DATASETS", "datasets"))


def set_loaded_metadata(name: str, thing_classes: Sequence[str], dicts: List[dict], is_train: bool) -> None:
    """Store class names and, for a training split, class statistics in ``name``'s metadata."""
    meta = MetadataCatalog.get(name)
    thing_classes = [str(c) for c in thing_classes]
    old = meta.get("thing_classes")
    if old is None:
        meta.thing_classes = thing_classes
    elif list(old) != thing_classes:
        raise ValueError(
            f"The class list read for {name!r} differs from the one already in its metadata "
            f"({len(thing_classes)} vs {len(old)} classes); the files changed since registration"
        )
    if is_train:
        new = stats_to_metadata(compute_class_stats(dicts, len(thing_classes)))
        if meta.get("class_image_count") is None:
            meta.set(**new)
        elif list(meta.class_image_count) != new["class_image_count"]:
            raise ValueError(f"Class counts of {name!r} differ from those in its metadata")


def register_classification(
    name: str,
    load: Callable[[], tuple],
    is_train: bool,
    metadata: Optional[dict] = None,
) -> None:
    """Register a classification set.

    Args:
        name: the data set's name (used in ``cfg.DATASETS.TRAIN/TEST``).
        load: ``load() -> (dicts, class_names)``; called each time the set is requested,
            so it should raise a clear error when files are missing.
        is_train: whether class statistics are stored (training splits).
        metadata: extra metadata (e.g. the data root).
    """

    def get():
        dicts, class_names = load()
        for d in dicts[:1]:
            if "label" not in d:
                raise ValueError(f"The loader of {name!r} returned dicts without 'label'")
        set_loaded_metadata(name, class_names, dicts, is_train)
        return dicts

    DatasetCatalog.register(name, get)
    MetadataCatalog.get(name).set(task=TASK, evaluator_type=EVALUATOR_TYPE, **(metadata or {}))
