from .base import ClassificationLoss
from .build import LOSS_REGISTRY, build_loss

__all__ = ["ClassificationLoss", "LOSS_REGISTRY", "build_loss"]
