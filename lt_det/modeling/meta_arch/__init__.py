from .classifier import LTClassifier

__all__ = ["LTClassifier"]
