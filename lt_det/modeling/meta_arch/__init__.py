from .classifier import LTClassifier
from .tricks_classifier import LTTricksClassifier

__all__ = ["LTClassifier", "LTTricksClassifier"]
