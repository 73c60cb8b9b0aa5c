"""Class groups by training-set size, and their order as training stages.

The long-tail literature splits classes by training images per class (Liu et al., CVPR
2019): many-shot (> 100), medium-shot (20-100) and few-shot (< 20). Multi-stage methods
such as Decoupled Optimisation (Cong et al., AAAI 2024) train one stage per group, many
first; their ablations use two stages (many, few: medium joins few), four (medium split at
50 into medium-high 50-100 and medium-low 20-49) and the reversed order (few first).
The counts come from the training set's metadata (``lt_det.data.class_stats``).
"""
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np


@dataclass(frozen=True)
class ClassGroup:
    """One group: a name and the contiguous ids of its classes (ascending)."""

    name: str
    classes: tuple

    def __len__(self) -> int:
        return len(self.classes)


def shot_groups(counts: Sequence[int], many_min: int = 101, few_max: int = 19) -> List[ClassGroup]:
    """Many (``n >= many_min``), medium (``few_max < n < many_min``), few (``n <= few_max``).

    With the defaults: many > 100, medium 20-100, few < 20 training images.
    """
    if few_max >= many_min:
        raise ValueError(f"few_max ({few_max}) must be below many_min ({many_min})")
    n = np.asarray(counts, dtype=np.int64)
    ids = np.arange(len(n))
    return [
        ClassGroup("many", tuple(int(i) for i in ids[n >= many_min])),
        ClassGroup("medium", tuple(int(i) for i in ids[(n > few_max) & (n < many_min)])),
        ClassGroup("few", tuple(int(i) for i in ids[n <= few_max])),
    ]


def stage_groups(
    counts: Sequence[int],
    num_stages: int = 3,
    many_min: int = 101,
    few_max: int = 19,
    medium_split: int = 50,
    reverse: bool = False,
) -> List[ClassGroup]:
    """The class group each stage prefers, in training order.

    Args:
        counts: training images per class.
        num_stages: 2 (many, few with medium merged into few), 3 (many, medium, few) or
            4 (many, medium-high ``[medium_split, many_min)``, medium-low
            ``(few_max, medium_split)``, few).
        many_min, few_max: the shot thresholds (see ``shot_groups``).
        medium_split: where the 4-stage variant splits the medium group.
        reverse: train the groups in the opposite order (few first).
    """
    many, medium, few = shot_groups(counts, many_min, few_max)
    if num_stages == 2:
        groups = [many, ClassGroup("few", tuple(sorted(medium.classes + few.classes)))]
    elif num_stages == 3:
        groups = [many, medium, few]
    elif num_stages == 4:
        if not few_max < medium_split < many_min:
            raise ValueError(f"medium_split ({medium_split}) must lie in ({few_max}, {many_min})")
        n = np.asarray(counts, dtype=np.int64)
        high = tuple(c for c in medium.classes if n[c] >= medium_split)
        low = tuple(c for c in medium.classes if n[c] < medium_split)
        groups = [many, ClassGroup("medium_high", high), ClassGroup("medium_low", low), few]
    else:
        raise ValueError(f"num_stages must be 2, 3 or 4, got {num_stages}")
    return groups[::-1] if reverse else groups


def group_of_class(groups: Sequence[ClassGroup], num_classes: int) -> np.ndarray:
    """``[C]`` index of each class's group (-1 for a class in none)."""
    out = np.full(num_classes, -1, dtype=np.int64)
    for g, group in enumerate(groups):
        out[list(group.classes)] = g
    return out
