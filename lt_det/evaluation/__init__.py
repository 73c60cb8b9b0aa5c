from .build import EVALUATOR_REGISTRY, build_evaluator, register_evaluator
from .coco_evaluator import LTCOCOEvaluator
from .classification_evaluator import LTClassificationEvaluator, classification_metrics, shot_group
from .lvis_eval import LVISEval, LVISEvalResult, evaluate_lvis
from .lvis_evaluator import LTLVISEvaluator
from .per_class_report import write_per_class_report

__all__ = [
    "EVALUATOR_REGISTRY",
    "build_evaluator",
    "register_evaluator",
    "LTCOCOEvaluator",
    "LTClassificationEvaluator",
    "classification_metrics",
    "shot_group",
    "LVISEval",
    "LVISEvalResult",
    "evaluate_lvis",
    "LTLVISEvaluator",
    "write_per_class_report",
]
