"""Random over-sampling (Buda et al., "A systematic study of the class imbalance problem in
convolutional neural networks", Neural Networks 2018; Zhang et al., AAAI 2021, sec. 3.2)."""
import numpy as np
from detectron2.config import configurable

from .build import SAMPLER_REGISTRY
from .class_quota import ClassQuotaSampler
from .base import dataset_args_from_config


@SAMPLER_REGISTRY.register()
class RandomOverSampler(ClassQuotaSampler):
    """Random over-sampling: every epoch draws each class n_max = max_j n_j times, i.e.
    floor(n_max / n_j) copies of each of its samples plus n_max mod n_j more of them chosen
    at random without replacement, shuffled; an epoch has C' * n_max indices (C' classes
    with samples). Designed for classification sets (one label per sample).

    Args:
        **kwargs: :class:`ClassQuotaSampler` arguments (dataset_dicts, num_classes,
            empty_images, seed, rank, world_size, start, ...).
    """

    @configurable
    def __init__(self, dataset_dicts, **kwargs):
        super().__init__(dataset_dicts, **kwargs)
        self._init_distribution()

    @classmethod
    def from_config(cls, cfg, dataset_dicts):
        return dataset_args_from_config(cfg, dataset_dicts)

    def _configure(self):
        counts = self.index.class_counts
        self._set_quotas(np.full_like(counts, counts.max(initial=0)))
