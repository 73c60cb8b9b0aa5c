"""Data loaders per task: the trainer picks them by the ``task`` of the training set's metadata."""
from detectron2.data import (
    DatasetMapper,
    MetadataCatalog,
    build_detection_test_loader,
    build_detection_train_loader,
    get_detection_dataset_dicts,
)
from typing import Callable, Dict, NamedTuple

from .samplers import build_lt_sampler, is_lt_sampler
from .samplers.repeat_factor import warn_if_detectron2_rfs_repeats_nothing

class TaskLoaders(NamedTuple):
    """The two loader builders of a task: ``train(cfg)`` and ``test(cfg, dataset_name)``, each
    returning an iterable of batches as detectron2's loaders do."""

    train: Callable
    test: Callable


# Loader builders keyed by the ``task`` metadata of a data set ("detection" when absent,
# "classification" for classification sets; lt_det/data/classification/loader.py adds it).
TASK_LOADERS: Dict[str, TaskLoaders] = {}


def register_task_loaders(task: str, train: Callable, test: Callable) -> None:
    """Add the loaders of ``task`` (registering a task twice is an error)."""
    if task in TASK_LOADERS:
        raise KeyError(f"Loaders of task {task!r} are already registered")
    TASK_LOADERS[task] = TaskLoaders(train, test)


def dataset_task(dataset_name: str) -> str:
    """The task of a registered data set ("detection" unless its metadata says otherwise)."""
    return MetadataCatalog.get(dataset_name).get("task", "detection")


def build_detection_loader(cfg):
    """detectron2's detection training loader, with lt_det's samplers when one is configured."""
    if not is_lt_sampler(cfg.DATALOADER.SAMPLER_TRAIN):
        loader = build_detection_train_loader(cfg)
        if cfg.DATALOADER.SAMPLER_TRAIN == "RepeatFactorTrainingSampler":
            warn_if_detectron2_rfs_repeats_nothing(cfg)
        return loader
    dataset = get_detection_dataset_dicts(
        cfg.DATASETS.TRAIN,
        filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
        min_keypoints=0,
        proposal_files=cfg.DATASETS.PROPOSAL_FILES_TRAIN if cfg.MODEL.LOAD_PROPOSALS else None,
    )
    sampler = build_lt_sampler(cfg, dataset)
    return build_detection_train_loader(
        cfg, dataset=dataset, mapper=DatasetMapper(cfg, True), sampler=sampler
    )


register_task_loaders("detection", build_detection_loader, build_detection_test_loader)


def build_train_loader(cfg):
    """Training loader for ``cfg.DATASETS.TRAIN`` chosen by the data set's task."""
    return _loaders(dataset_task(cfg.DATASETS.TRAIN[0])).train(cfg)


def build_test_loader(cfg, dataset_name: str):
    """Test loader for ``dataset_name`` chosen by the data set's task."""
    return _loaders(dataset_task(dataset_name)).test(cfg, dataset_name)


def _loaders(task: str) -> TaskLoaders:
    if task not in TASK_LOADERS:
        raise KeyError(f"No data loaders for task {task!r}; known tasks: {sorted(TASK_LOADERS)}")
    return TASK_LOADERS[task]
