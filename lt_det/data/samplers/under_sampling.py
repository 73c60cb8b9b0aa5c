"""Random under-sampling (Buda et al., "A systematic study of the class imbalance problem in
convolutional neural networks", Neural Networks 2018; Zhang et al., AAAI 2021, sec. 3.2)."""
import numpy as np
from detectron2.config import configurable

from .build import SAMPLER_REGISTRY
from .class_quota import ClassQuotaSampler
from .base import dataset_args_from_config


@SAMPLER_REGISTRY.register()
class RandomUnderSampler(ClassQuotaSampler):
    """Random under-sampling: every epoch draws each class n_min = min_{j: n_j > 0} n_j
    times, a random subset of n_min of its samples without replacement, shuffled; an epoch
    has C' * n_min indices (C' classes with samples). With ``fixed_subset`` the subsets are
    drawn once (a balanced data set built once, the classical method), else anew each
    epoch. Designed for classification sets (one label per sample).

    Args:
        fixed_subset: keep the subsets of the first epoch for the whole run.
        **kwargs: :class:`ClassQuotaSampler` arguments (dataset_dicts, num_classes,
            empty_images, seed, rank, world_size, start, ...).
    """

    @configurable
    def __init__(self, dataset_dicts, *, fixed_subset: bool = True, **kwargs):
        super().__init__(dataset_dicts, **kwargs)
        self._init_distribution(fixed_subset=fixed_subset)

    @classmethod
    def from_config(cls, cfg, dataset_dicts):
        return {
            **dataset_args_from_config(cfg, dataset_dicts),
            "fixed_subset": cfg.DATALOADER.LT.UNDER_SAMPLING_FIXED_SUBSET,
        }

    def _configure(self, fixed_subset):
        counts = self.index.class_counts
        n_min = counts[counts > 0].min() if counts.any() else 0
        self._set_quotas(np.full_like(counts, n_min), fixed_subset=bool(fixed_subset))
