from . import datasets, samplers  # noqa: F401  (registers data sets and samplers)
from .build import TASK_LOADER_REGISTRY, build_test_loader, build_train_loader
from .class_stats import ClassStats, class_stats_from_metadata, compute_class_stats
from . import classification  # noqa: F401,E402  (registers the "classification" task loaders)

__all__ = [
    "TASK_LOADER_REGISTRY",
    "build_test_loader",
    "build_train_loader",
    "ClassStats",
    "class_stats_from_metadata",
    "compute_class_stats",
]
