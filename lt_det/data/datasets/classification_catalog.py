"""Registration of classification sets: one code path for every classification data set.

A set is registered lazily (nothing is read at import). Its loader returns dicts with an
integer ``"label"``; its metadata's ``thing_classes`` and, for a training split, class
statistics (``lt_det.data.class_stats.stats_to_metadata``), which the losses, samplers and the
evaluator's many/medium/few split read, are computed from the set's one load on first read
(``lt_det.data.catalog``).
"""
import os
from typing import Callable, List, Optional, Sequence

from ..catalog import register_loaded_once
from ..class_stats import compute_class_stats, stats_to_metadata

TASK = "classification"
EVALUATOR_TYPE = "lt_classification"


def datasets_root() -> str:
    """``$DETECTRON2_DATASETS`` (default ``datasets``), detectron2's data root convention."""
    return os.path.expanduser(os.environ.get("DETECTRON2_DATASETS", "datasets"))


def class_metadata(thing_classes: Sequence[str], dicts: List[dict], is_train: bool) -> dict:
    """What a load tells about a set: class names and, for a training split, class statistics."""
    values = {"thing_classes": [str(c) for c in thing_classes]}
    if is_train:
        values.update(stats_to_metadata(compute_class_stats(dicts, len(thing_classes))))
    return values


def register_classification(
    name: str,
    load: Callable[[], tuple],
    is_train: bool,
    metadata: Optional[dict] = None,
) -> None:
    """Register a classification set.

    Args:
        name: the data set's name (used in ``cfg.DATASETS.TRAIN/TEST``).
        load: ``load() -> (dicts, class_names)``; called when the set is first needed (once
            per process), so it should raise a clear error when files are missing.
        is_train: whether class statistics are stored (training splits).
        metadata: extra metadata (e.g. the data root).
    """

    def read():
        dicts, class_names = load()
        for d in dicts[:1]:
            if "label" not in d:
                raise ValueError(f"The loader of {name!r} returned dicts without 'label'")
        return dicts, class_metadata(class_names, dicts, is_train)

    # keep=True: a classification set's dicts are small, and its loader is rebuilt at every
    # stage boundary and evaluation (lt_det.data.catalog).
    register_loaded_once(
        name, read, keep=True, metadata={"task": TASK, "evaluator_type": EVALUATOR_TYPE, **(metadata or {})}
    )
