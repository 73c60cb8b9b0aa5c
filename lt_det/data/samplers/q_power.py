"""The q-power family of class-level sampling (Kang et al., "Decoupling Representation and
Classifier for Long-Tailed Recognition", ICLR 2020, eq. 1; Mahajan et al., ECCV 2018 for q = 1/2)."""
import math

import numpy as np
from detectron2.config import configurable

from .build import SAMPLER_REGISTRY
from .class_weighted import ClassWeightedSampler
from .base import dataset_args_from_config


def q_power_weights(counts: np.ndarray, q: float) -> np.ndarray:
    """n_j^q for classes with samples, 0 for the others."""
    if not math.isfinite(q):
        raise ValueError(f"Sampling exponent q must be finite, got {q}")
    counts = np.asarray(counts, dtype=np.float64)
    out = np.zeros_like(counts)
    np.power(counts, q, out=out, where=counts > 0)
    return out


@SAMPLER_REGISTRY.register()
class QPowerSampler(ClassWeightedSampler):
    """Class-level sampling with p_j = n_j^q / sum_k n_k^q (Kang et al., ICLR 2020, eq. 1).

    q = 1 is instance-balanced (for classification: uniform over samples), q = 1/2
    square-root sampling, q = 0 class-balanced; a class is drawn with p_j, then a uniform
    sample of it. n_j counts the samples (images) that contain class j.

    Args:
        q: the exponent.
        **kwargs: :class:`ClassWeightedSampler` arguments (dataset_dicts, num_classes,
            empty_images, seed, rank, world_size, start, ...).
    """

    @configurable
    def __init__(self, dataset_dicts, *, q: float, **kwargs):
        super().__init__(dataset_dicts, **kwargs)
        self._init_distribution(q=q)

    @classmethod
    def from_config(cls, cfg, dataset_dicts):
        return {**dataset_args_from_config(cfg, dataset_dicts), "q": cfg.DATALOADER.LT.Q}

    def _configure(self, q):
        self._set_class_weights(q_power_weights(self.index.class_counts, float(q)))
