from .batch import ImageBatch
from .dataset import (
    ClassificationDataset,
    CorruptImageError,
    classification_class_stats,
    decode_image,
    get_classification_dataset_dicts,
)
from .loader import build_classification_test_loader, build_classification_train_loader
from .transforms import CLS_TRANSFORM_REGISTRY, build_cls_transform

__all__ = [
    "ImageBatch",
    "ClassificationDataset",
    "CorruptImageError",
    "classification_class_stats",
    "decode_image",
    "get_classification_dataset_dicts",
    "build_classification_test_loader",
    "build_classification_train_loader",
    "CLS_TRANSFORM_REGISTRY",
    "build_cls_transform",
]
