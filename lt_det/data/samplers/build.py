"""Registry and builder of long-tailed training samplers."""
import logging
from typing import List

from detectron2.utils.registry import Registry

SAMPLER_REGISTRY = Registry("LT_SAMPLER")
SAMPLER_REGISTRY.__doc__ = """
Registry of training samplers for detection and classification sets.

Call contract: the registered class is a ``torch.utils.data.Sampler`` decorated with
``@configurable``, called as ``cls(cfg, dataset_dicts)``; its ``from_config`` maps
``cfg.DATALOADER.LT.*`` to explicit keyword arguments. It yields an infinite stream of
indices into ``dataset_dicts``, sharded across ranks like detectron2's ``TrainingSampler``.
It is selected by ``cfg.DATALOADER.SAMPLER_TRAIN``: names registered here are built by
lt_det, every other name is left to detectron2.
"""


def build_lt_sampler(cfg, dataset_dicts: List[dict]):
    """Build the sampler named by ``cfg.DATALOADER.SAMPLER_TRAIN`` from lt_det's registry."""
    name = cfg.DATALOADER.SAMPLER_TRAIN
    if name not in SAMPLER_REGISTRY:
        raise KeyError(
            f"DATALOADER.SAMPLER_TRAIN {name!r} is not one of lt_det's samplers "
            f"{sorted(k for k, _ in SAMPLER_REGISTRY)}; detectron2's own samplers "
            "(TrainingSampler, RepeatFactorTrainingSampler, ...) are built by detectron2"
        )
    sampler = SAMPLER_REGISTRY.get(name)(cfg, dataset_dicts)
    # distribution() belongs to LTSampler; a registered sampler need only be a Sampler.
    params = sampler.distribution() if hasattr(sampler, "distribution") else {}
    logging.getLogger(__name__).info("Using lt_det training sampler %s on %d samples %s", name, len(dataset_dicts), params)
    return sampler


def is_lt_sampler(name: str) -> bool:
    """Whether ``name`` is one of lt_det's samplers (else detectron2 builds it)."""
    return name in SAMPLER_REGISTRY
