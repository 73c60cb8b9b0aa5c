from .classifier import LTClassifier
from .decoupled_classifier import DecoupledClassifier
from .tricks_classifier import LTTricksClassifier

__all__ = ["LTClassifier", "DecoupledClassifier", "LTTricksClassifier"]
