"""Training on a subset of the classes: which classes a run (or a stage) removes, and the
training dicts that remain.

Config (``LT.CLASS_SUBSET``, lt_det/config/defaults.py), usable at the top level of a config
or in a stage's OVERRIDES (``LT.STAGES``, lt_det/engine/stage_schedule.py):

* ``REMOVE``: class names (``thing_classes`` of the training set) to remove;
* ``REMOVE_SHARE_ABOVE``: in (0, 1), also remove every class holding more than this share of
  the training images (``n_c / N`` for classification; for detection, the share of images
  in which the class appears); 0 turns the rule off.

The share is computed on the full training set, from the class statistics stored in its
metadata when it was loaded. Li, Tan and Pan's three-stage recipe (arXiv 2104.09830) trains
its second stage on "the residual dataset with the class 0 removed": ``REMOVE: [sedan]``,
or ``REMOVE_SHARE_ABOVE: 0.5`` for "the dominant class, whatever it is called".

What remains: classification samples whose label is kept; detection images keep the
annotations of kept classes and are dropped when none is left (an image holding only
removed classes would otherwise train them as background). Labels keep their ids: the
model's classifier keeps all C outputs (see projects/ThreeStageLT/README.md for what the
removed class's row does meanwhile).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

REMOVE_KEY = "LT.CLASS_SUBSET.REMOVE"
SHARE_KEY = "LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE"


@dataclass(frozen=True)
class ClassSubset:
    """The classes a run trains on: ``kept`` and ``removed`` ids (sorted, disjoint, all C)."""

    kept: Tuple[int, ...]
    removed: Tuple[int, ...]

    @property
    def num_classes(self) -> int:
        return len(self.kept) + len(self.removed)


def classes_above_share(counts: Sequence[int], share: float, num_images: Optional[int] = None) -> List[int]:
    """Ids of the classes with ``counts[c] / N > share``, N = ``num_images`` (default: the
    sum of ``counts``, one label per image as in classification)."""
    check_share(share)
    total = sum(counts) if num_images is None else num_images
    if total <= 0:
        raise ValueError("Cannot compute class shares of an empty training set")
    return [c for c, n in enumerate(counts) if n / total > share]


def check_share(share: float) -> None:
    """``REMOVE_SHARE_ABOVE`` must lie in (0, 1) (0 alone means off, handled by the caller)."""
    if not 0.0 < float(share) < 1.0:
        raise ValueError(
            f"{SHARE_KEY}={share} is outside (0, 1); give the share of the training images above "
            "which a class is removed (e.g. 0.5), or 0 to turn the rule off"
        )


def resolve_class_subset(
    class_names: Sequence[str],
    counts: Sequence[int],
    remove: Sequence[str] = (),
    share_above: float = 0.0,
    num_images: Optional[int] = None,
    dataset: str = "the training set",
) -> ClassSubset:
    """Validate ``REMOVE`` / ``REMOVE_SHARE_ABOVE`` against a training set and return the
    subset. Errors are one line naming the key and the fix.

    Args:
        class_names: the training set's ``thing_classes``.
        counts: its training images per class (``class_image_count``).
        remove: class names to remove.
        share_above: 0 (off) or a share in (0, 1).
        num_images: N for the share (default ``sum(counts)``).
        dataset: the set's name, for messages.
    """
    if len(class_names) != len(counts):
        raise ValueError(f"{dataset}: {len(class_names)} class names but {len(counts)} class counts")
    index = {str(n): i for i, n in enumerate(class_names)}
    removed = set()
    for name in remove:
        if str(name) not in index:
            shown = ", ".join(map(str, class_names[:12])) + (", ..." if len(class_names) > 12 else "")
            raise ValueError(
                f"{REMOVE_KEY} names {name!r}, which is not a class of {dataset} ({shown}); "
                "use the names in its thing_classes"
            )
        removed.add(index[str(name)])
    if float(share_above) != 0.0:
        removed.update(classes_above_share(counts, share_above, num_images))
    kept = tuple(i for i in range(len(class_names)) if i not in removed)
    if removed and not any(counts[i] > 0 for i in kept):
        raise ValueError(
            f"{REMOVE_KEY}={list(remove)} / {SHARE_KEY}={share_above} remove every class of {dataset} "
            "that has training images; keep at least one class"
        )
    return ClassSubset(kept=kept, removed=tuple(sorted(removed)))


def subset_dicts(dataset_dicts: Sequence[dict], removed: Sequence[int]) -> List[dict]:
    """The training dicts without the ``removed`` classes (see the module docstring):
    classification dicts (``"label"``) of removed classes are dropped; detection dicts
    (``"annotations"`` with contiguous ``category_id``) lose those annotations and are
    dropped when none remains. The input dicts are not modified."""
    gone = set(int(c) for c in removed)
    if not gone:
        return list(dataset_dicts)
    out = []
    for d in dataset_dicts:
        if "label" in d:
            if int(d["label"]) not in gone:
                out.append(d)
            continue
        anns = [a for a in d.get("annotations", []) if int(a["category_id"]) not in gone]
        if anns:
            out.append({**d, "annotations": anns})
    return out


def class_subset_from_config(cfg, class_names: Sequence[str], counts: Sequence[int], num_images=None,
                             dataset: str = "the training set") -> Optional[ClassSubset]:
    """The subset of ``cfg.LT.CLASS_SUBSET``, or None when it removes nothing by config."""
    c = cfg.LT.CLASS_SUBSET
    if not c.REMOVE and float(c.REMOVE_SHARE_ABOVE) == 0.0:
        return None
    return resolve_class_subset(class_names, counts, list(c.REMOVE), float(c.REMOVE_SHARE_ABOVE),
                                num_images, dataset)


def training_class_subset(cfg) -> Optional[ClassSubset]:
    """``class_subset_from_config`` for ``cfg.DATASETS.TRAIN``, reading class names and
    counts from the sets' metadata (lt_det.data.catalog: the set's one load, if needed)."""
    c = cfg.LT.CLASS_SUBSET
    if not c.REMOVE and float(c.REMOVE_SHARE_ABOVE) == 0.0:
        return None
    from detectron2.data import MetadataCatalog

    from .class_stats import class_stats_from_metadata

    names = list(cfg.DATASETS.TRAIN)
    stats = class_stats_from_metadata(names)
    classes = MetadataCatalog.get(names[0]).get("thing_classes") or [str(i) for i in range(len(stats.image_count))]
    return class_subset_from_config(cfg, classes, list(stats.image_count), stats.num_images,
                                    dataset=" + ".join(names))
