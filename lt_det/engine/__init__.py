from .trainer import LTTrainer

__all__ = ["LTTrainer"]
