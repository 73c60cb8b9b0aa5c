from .build import EVALUATOR_REGISTRY, build_evaluator
from .classification_evaluator import LTClassificationEvaluator, classification_metrics, shot_group

__all__ = [
    "EVALUATOR_REGISTRY",
    "build_evaluator",
    "LTClassificationEvaluator",
    "classification_metrics",
    "shot_group",
]
