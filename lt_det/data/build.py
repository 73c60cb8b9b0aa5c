"""Data loaders per task: the trainer picks them by the ``task`` of the training set's metadata."""
from detectron2.data import (
    MetadataCatalog,
    build_detection_test_loader,
    build_detection_train_loader,
    get_detection_dataset_dicts,
)
from detectron2.utils.registry import Registry

from .class_subset import subset_dicts, training_class_subset
from .detection_mapper import LTDatasetMapper
from .samplers import build_lt_sampler, is_lt_sampler

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


def detection_train_dicts(cfg):
    """``get_detection_dataset_dicts`` of ``cfg.DATASETS.TRAIN`` with the arguments
    detectron2's train loader uses; a set without images or without any annotation is a
    one-line ``ValueError`` naming the set and its file (detectron2 asserts "No valid data
    found" when FILTER_EMPTY_ANNOTATIONS drops every image, and trains on background only
    when it does not)."""
    names = cfg.DATASETS.TRAIN
    try:
        dicts = get_detection_dataset_dicts(
            names,
            filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
            min_keypoints=cfg.MODEL.ROI_KEYPOINT_HEAD.MIN_KEYPOINTS_PER_IMAGE if cfg.MODEL.KEYPOINT_ON else 0,
            proposal_files=cfg.DATASETS.PROPOSAL_FILES_TRAIN if cfg.MODEL.LOAD_PROPOSALS else None,
        )
    except AssertionError as e:
        if not str(e).startswith(("No valid data found", "Dataset")):
            raise
        dicts = []
    if not any(d.get("annotations") for d in dicts):
        files = [MetadataCatalog.get(n).get("json_file", n) for n in names]
        raise ValueError(
            f"Training set {', '.join(names)} ({', '.join(files)}) has no annotations (or no images): "
            "nothing to learn; check the file, or DATASETS.TRAIN"
        )
    return dicts


@TASK_LOADER_REGISTRY.register()
class detection:  # noqa: N801 - registered under the task's name
    """detectron2's detection loaders, with lt_det's samplers when one is configured and
    ``LTDatasetMapper`` (a corrupt image is named, or skipped in training with
    ``LT.INPUT.ON_CORRUPT 'skip'``)."""

    @staticmethod
    def build_train_loader(cfg):
        mapper = LTDatasetMapper(cfg, True)
        dataset = detection_train_dicts(cfg)
        subset = training_class_subset(cfg)  # LT.CLASS_SUBSET: a run / stage on fewer classes
        if subset is not None:
            dataset = subset_dicts(dataset, subset.removed)
        if not is_lt_sampler(cfg.DATALOADER.SAMPLER_TRAIN):
            # detectron2 builds its own sampler (TrainingSampler, RFS, ...) on these dicts.
            return build_detection_train_loader(cfg, dataset=dataset, mapper=mapper)
        sampler = build_lt_sampler(cfg, dataset)
        return build_detection_train_loader(
            cfg, dataset=dataset, mapper=mapper, sampler=sampler
        )

    @staticmethod
    def build_test_loader(cfg, dataset_name):
        return build_detection_test_loader(cfg, dataset_name, mapper=LTDatasetMapper(cfg, False))


def build_train_loader(cfg):
    """Training loader for ``cfg.DATASETS.TRAIN`` chosen by the data set's task."""
    return TASK_LOADER_REGISTRY.get(dataset_task(cfg.DATASETS.TRAIN[0])).build_train_loader(cfg)


def build_test_loader(cfg, dataset_name: str):
    """Test loader for ``dataset_name`` chosen by the data set's task."""
    return TASK_LOADER_REGISTRY.get(dataset_task(dataset_name)).build_test_loader(cfg, dataset_name)
