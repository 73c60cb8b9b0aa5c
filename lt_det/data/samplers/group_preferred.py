"""Group-preferred sampling (the medium-preferred sampling of Decoupled Optimisation's
collaborative parameter optimisation, eq. 1)."""
import logging
from typing import Sequence

import numpy as np
from detectron2.config import configurable

from .build import SAMPLER_REGISTRY
from .class_weighted import ClassWeightedSampler
from .base import dataset_args_from_config
from .q_power import q_power_weights

logger = logging.getLogger(__name__)


@SAMPLER_REGISTRY.register()
class GroupPreferredSampler(ClassWeightedSampler):
    """Group-preferred sampling: samples of a class group G get total probability rho, the
    others 1 - rho (Decoupled Optimisation, eq. 1, rho_m = 0.8; 0.7 on CIFAR-100-LT).

    p_j = rho * n_j^q / sum_{k in G} n_k^q for j in G, (1 - rho) * n_j^q / sum_{k not in G}
    n_k^q otherwise; q = 1 (the default) is uniform over samples inside each part, the
    instance-balanced stage-1 distribution L[y] re-weighted between the parts. A group
    without samples is an error; when no class with samples lies outside the group, the
    group gets all the probability.

    Args:
        rho: total probability of the group.
        classes: the group's class ids; empty = the classes with ``min_count <= n_j <=
            max_count`` training samples (images).
        min_count, max_count: the count range of the group when ``classes`` is empty.
        within_q: q inside each part.
        **kwargs: :class:`ClassWeightedSampler` arguments (dataset_dicts, num_classes,
            empty_images, seed, rank, world_size, start, ...).
    """

    @configurable
    def __init__(
        self,
        dataset_dicts,
        *,
        rho: float,
        classes: Sequence[int] = (),
        min_count: int = 20,
        max_count: int = 100,
        within_q: float = 1.0,
        **kwargs,
    ):
        super().__init__(dataset_dicts, **kwargs)
        self._init_distribution(
            rho=rho, classes=tuple(classes), min_count=min_count, max_count=max_count, within_q=within_q
        )

    @classmethod
    def from_config(cls, cfg, dataset_dicts):
        g = cfg.DATALOADER.LT.GROUP_PREFERRED
        return {
            **dataset_args_from_config(cfg, dataset_dicts),
            "rho": g.RHO,
            "classes": tuple(g.CLASSES),
            "min_count": g.MIN_COUNT,
            "max_count": g.MAX_COUNT,
            "within_q": g.WITHIN_Q,
        }

    def group_mask(self, classes: Sequence[int] = (), min_count: int = 20, max_count: int = 100) -> np.ndarray:
        """Boolean mask of the group over the rows of the class index."""
        counts = self.index.class_counts
        mask = np.zeros(self.index.num_rows, dtype=bool)
        if len(classes):
            ids = np.asarray(classes, dtype=np.int64)
            if ids.min() < 0 or ids.max() >= self.index.num_classes:
                raise ValueError(
                    f"DATALOADER.LT.GROUP_PREFERRED.CLASSES has ids outside [0, {self.index.num_classes})"
                )
            mask[ids] = True
        else:
            mask[: self.index.num_classes] = (counts[: self.index.num_classes] >= min_count) & (
                counts[: self.index.num_classes] <= max_count
            )
        return mask

    def _configure(self, rho, classes, min_count, max_count, within_q):
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Group-preferred rho must be in [0, 1], got {rho}")
        mask = self.group_mask(classes, min_count, max_count)
        w = q_power_weights(self.index.class_counts, float(within_q))
        in_group, rest = w[mask].sum(), w[~mask].sum()
        if rho > 0 and in_group == 0:
            raise ValueError(
                f"Group-preferred sampling gives the preferred group probability {rho:g} but it "
                "has no training samples; change DATALOADER.LT.GROUP_PREFERRED (CLASSES or "
                "MIN_COUNT/MAX_COUNT) or RHO"
            )
        if rho < 1 and rest == 0:
            logger.warning("Group-preferred sampling: every class with samples is in the group; rho has no effect")
            rho = 1.0
        p = np.where(mask, rho * w / max(in_group, 1e-300), (1 - rho) * w / max(rest, 1e-300))
        self.group = mask
        self._set_class_weights(p)
