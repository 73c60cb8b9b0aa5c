"""Class-aware sampling (Shen et al., "Relay Backpropagation for Effective Learning of Deep
Convolutional Neural Networks", ECCV 2016; the class-balanced sampling of Kang et al., ICLR 2020)."""
import math

import numpy as np
from detectron2.config import configurable

from .build import SAMPLER_REGISTRY
from .class_weighted import ClassWeightedSampler
from .base import dataset_args_from_config


@SAMPLER_REGISTRY.register()
class ClassAwareSampler(ClassWeightedSampler):
    """Class-aware sampling: classes uniformly, p_j = 1 / C' over the C' classes with samples,
    then a uniformly random sample (detection: image) of the class.

    Classes are stratified: the stream is made of rounds, each visiting every class once in
    a new random order and drawing ``num_samples_per_class`` consecutive samples of it, so
    over any round every class gets exactly its share (Shen et al., ECCV 2016). Samples
    within a class are drawn uniformly with replacement.

    Args:
        num_samples_per_class: consecutive samples per class visit (m).
        **kwargs: :class:`ClassWeightedSampler` arguments (dataset_dicts, num_classes,
            empty_images, seed, rank, world_size, start, ...).
    """

    @configurable
    def __init__(self, dataset_dicts, *, num_samples_per_class: int = 1, **kwargs):
        super().__init__(dataset_dicts, **kwargs)
        self._block_hint = self.block_size
        self._init_distribution(num_samples_per_class=num_samples_per_class)

    @classmethod
    def from_config(cls, cfg, dataset_dicts):
        return {
            **dataset_args_from_config(cfg, dataset_dicts),
            "num_samples_per_class": cfg.DATALOADER.LT.CLASS_AWARE_SAMPLES_PER_CLASS,
        }

    def _configure(self, num_samples_per_class):
        m = int(num_samples_per_class)
        if m < 1 or m != num_samples_per_class:
            raise ValueError(
                f"Class-aware samples per class must be a positive integer, got {num_samples_per_class}"
            )
        self._set_class_weights(np.ones(self.index.num_rows))
        self._m = m
        round_len = len(self._table.support) * m
        # A block is a whole number of rounds, so rounds start at fixed positions.
        self._rounds = max(1, math.ceil(self._block_hint / round_len))
        self.block_size = self._rounds * round_len

    def _draw_classes(self, rng, first, size):
        support = self._table.support
        order = np.argsort(rng.random((self._rounds, len(support))), axis=1)
        return np.repeat(support[order], self._m, axis=1).ravel()
