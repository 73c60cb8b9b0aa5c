from .build import SAMPLER_REGISTRY, build_lt_sampler, is_lt_sampler

__all__ = ["SAMPLER_REGISTRY", "build_lt_sampler", "is_lt_sampler"]
