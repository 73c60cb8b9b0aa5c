from .build import SAMPLER_REGISTRY, build_lt_sampler, is_lt_sampler
from .class_aware import ClassAwareSampler
from .class_quota import ClassQuotaSampler
from .class_weighted import ClassWeightedSampler
from .base import ClassIndexSampler, LTSampler
from .class_index import ClassIndex, build_class_index
from .group_preferred import GroupPreferredSampler
from .over_sampling import RandomOverSampler
from .progressive import ProgressiveSampler
from .q_power import QPowerSampler
from .repeat_factor import RepeatFactorSampler, repeat_factors, repeat_factors_from_category_frequency
from .under_sampling import RandomUnderSampler

__all__ = [
    "SAMPLER_REGISTRY",
    "build_lt_sampler",
    "is_lt_sampler",
    "ClassIndex",
    "LTSampler",
    "ClassIndexSampler",
    "build_class_index",
    "ClassWeightedSampler",
    "ClassQuotaSampler",
    "ClassAwareSampler",
    "QPowerSampler",
    "ProgressiveSampler",
    "GroupPreferredSampler",
    "RepeatFactorSampler",
    "repeat_factors",
    "repeat_factors_from_category_frequency",
    "RandomOverSampler",
    "RandomUnderSampler",
]
