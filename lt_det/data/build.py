"""Data loaders per task: the trainer picks them by the ``task`` of the training set's metadata."""
from typing import Callable, Dict, NamedTuple

from detectron2.data import MetadataCatalog, build_detection_test_loader, get_detection_dataset_dicts
from detectron2.data.build import trivial_batch_collator

from .class_subset import subset_dicts, training_class_subset
from .detection_mapper import LTDatasetMapper
from .resumable import SAMPLER_KEY, MappedDicts, build_resumable_train_loader, derive_seed, run_seed, seeded_rng
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


def build_resumable_detection_train_loader(cfg):
    """detectron2's detection training loader (its samplers, aspect-ratio grouping, batch
    split) on ``detection_train_dicts`` (with ``LT.CLASS_SUBSET``) and ``LTDatasetMapper``,
    with lt_det's samplers when one is configured, and batches that are a function of the
    iteration (``lt_det.data.resumable``), so that ``--resume`` continues exactly where the
    interrupted run was."""
    from detectron2.data.build import _train_loader_from_config  # the one mapping of cfg -> loader args

    seed = run_seed(cfg)
    mapper = LTDatasetMapper(cfg, True)
    dataset = detection_train_dicts(cfg)
    subset = training_class_subset(cfg)  # LT.CLASS_SUBSET: a run / stage on fewer classes
    if subset is not None:
        dataset = subset_dicts(dataset, subset.removed)
    sampler = build_lt_sampler(cfg, dataset) if is_lt_sampler(cfg.DATALOADER.SAMPLER_TRAIN) else None
    # detectron2's TrainingSampler draws its seed from numpy's global generator: seed it from
    # SEED, so the sampler is the same whenever it is built (a resume, a stage boundary).
    with seeded_rng(derive_seed(seed, SAMPLER_KEY)):
        args = _train_loader_from_config(cfg, mapper, dataset=dataset, sampler=sampler)
    dicts = args["dataset"]
    group_ids = None
    if args["aspect_ratio_grouping"]:
        # detectron2's AspectRatioGroupedDataset rule (width > height or not), on the dicts.
        group_ids = [0 if d["width"] > d["height"] else 1 for d in dicts]
    return build_resumable_train_loader(
        MappedDicts(dicts, args["mapper"]), len(dicts), args["sampler"],
        total_batch_size=args["total_batch_size"], seed=seed, num_workers=args["num_workers"],
        collate_fn=trivial_batch_collator, group_ids=group_ids,
    )


def build_detection_loader(cfg):
    """Detection training loader: resumable exactly, lt_det's samplers when one is configured,
    ``LTDatasetMapper`` (a corrupt image is named, or skipped with ``LT.INPUT.ON_CORRUPT``)."""
    if cfg.DATALOADER.SAMPLER_TRAIN == "RepeatFactorTrainingSampler":
        warn_if_detectron2_rfs_repeats_nothing(cfg)
    return build_resumable_detection_train_loader(cfg)


def build_lt_detection_test_loader(cfg, dataset_name):
    """detectron2's detection test loader with ``LTDatasetMapper`` (a corrupt image is named)."""
    return build_detection_test_loader(cfg, dataset_name, mapper=LTDatasetMapper(cfg, False))


register_task_loaders("detection", build_detection_loader, build_lt_detection_test_loader)


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
