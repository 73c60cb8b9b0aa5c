"""Data loaders per task: the trainer picks them by the ``task`` of the training set's metadata."""
from detectron2.data import (
    DatasetMapper,
    MetadataCatalog,
    build_detection_test_loader,
    build_detection_train_loader,
    get_detection_dataset_dicts,
)
from detectron2.utils.registry import Registry

from .samplers import build_lt_sampler, is_lt_sampler
from .samplers.repeat_factor import warn_if_detectron2_rfs_repeats_nothing

TASK_LOADER_REGISTRY = Registry("LT_TASK_LOADER")
TASK_LOADER_REGISTRY.__doc__ = """
Registry of data-loader builders keyed by the ``task`` metadata of a data set
("detection" when absent, "classification" for classification sets).

Call contract: the registered object has ``build_train_loader(cfg)`` and
``build_test_loader(cfg, dataset_name)``, each returning an iterable of lists of dicts as
detectron2's loaders do.
"""


def dataset_task(dataset_name: str) -> str:
    """The task of a registered data set ("detection" unless its metadata says otherwise)."""
    return MetadataCatalog.get(dataset_name).get("task", "detection")


@TASK_LOADER_REGISTRY.register()
class detection:  # noqa: N801 - registered under the task's name
    """detectron2's detection loaders, with lt_det's samplers when one is configured."""

    @staticmethod
    def build_train_loader(cfg):
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

    @staticmethod
    def build_test_loader(cfg, dataset_name):
        return build_detection_test_loader(cfg, dataset_name)


def build_train_loader(cfg):
    """Training loader for ``cfg.DATASETS.TRAIN`` chosen by the data set's task."""
    return TASK_LOADER_REGISTRY.get(dataset_task(cfg.DATASETS.TRAIN[0])).build_train_loader(cfg)


def build_test_loader(cfg, dataset_name: str):
    """Test loader for ``dataset_name`` chosen by the data set's task."""
    return TASK_LOADER_REGISTRY.get(dataset_task(dataset_name)).build_test_loader(cfg, dataset_name)
