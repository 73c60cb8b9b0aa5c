from . import datasets, samplers  # noqa: F401  (registers data sets and samplers)
from .build import TASK_LOADERS, build_test_loader, build_train_loader, register_task_loaders
from .class_stats import ClassStats, class_stats_from_metadata, compute_class_stats
from . import classification  # noqa: F401,E402  (registers the "classification" task loaders)
from .cam_bs import cam_bs_counts, class_activation_maps, foreground_masks, paste_transformed, prepare_cam_bs_dataset
from .mixup import MIXUP_REGISTRY, InputMixup, ManifoldMixup, build_mixup, mix, mixed_loss, sample_lambda
from .remix import Remix, remix_label_weights  # noqa: E402  (registers Remix in MIXUP_REGISTRY)

__all__ = [
    "TASK_LOADERS",
    "register_task_loaders",
    "build_test_loader",
    "build_train_loader",
    "ClassStats",
    "class_stats_from_metadata",
    "compute_class_stats",
    "cam_bs_counts",
    "class_activation_maps",
    "foreground_masks",
    "paste_transformed",
    "prepare_cam_bs_dataset",
    "MIXUP_REGISTRY",
    "InputMixup",
    "ManifoldMixup",
    "build_mixup",
    "mix",
    "mixed_loss",
    "sample_lambda",
    "Remix",
    "remix_label_weights",
]
