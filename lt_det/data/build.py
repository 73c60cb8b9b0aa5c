"""Data loaders per task: the trainer picks them by the ``task`` of the training set's metadata."""
from detectron2.data import (
    DatasetMapper,
    MetadataCatalog,
    build_detection_test_loader,
    get_detection_dataset_dicts,
)
from detectron2.data.build import trivial_batch_collator
from detectron2.utils.registry import Registry

from .resumable import SAMPLER_KEY, MappedDicts, build_resumable_train_loader, derive_seed, run_seed, seeded_rng
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


def build_resumable_detection_train_loader(cfg):
    """detectron2's detection training loader (its data set, ``DatasetMapper``, samplers,
    aspect-ratio grouping, batch split), with lt_det's samplers when one is configured, and
    batches that are a function of the iteration (``lt_det.data.resumable``), so that
    ``--resume`` continues exactly where the interrupted run was."""
    from detectron2.data.build import _train_loader_from_config  # the one mapping of cfg -> loader args

    seed = run_seed(cfg)
    dataset = sampler = None
    if is_lt_sampler(cfg.DATALOADER.SAMPLER_TRAIN):
        dataset = get_detection_dataset_dicts(
            cfg.DATASETS.TRAIN,
            filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
            min_keypoints=0,
            proposal_files=cfg.DATASETS.PROPOSAL_FILES_TRAIN if cfg.MODEL.LOAD_PROPOSALS else None,
        )
        sampler = build_lt_sampler(cfg, dataset)
    # detectron2's TrainingSampler draws its seed from numpy's global generator: seed it from
    # SEED, so the sampler is the same whenever it is built (a resume, a stage boundary).
    with seeded_rng(derive_seed(seed, SAMPLER_KEY)):
        args = _train_loader_from_config(cfg, DatasetMapper(cfg, True), dataset=dataset, sampler=sampler)
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


@TASK_LOADER_REGISTRY.register()
class detection:  # noqa: N801 - registered under the task's name
    """detectron2's detection loaders, with lt_det's samplers when one is configured."""

    @staticmethod
    def build_train_loader(cfg):
        return build_resumable_detection_train_loader(cfg)

    @staticmethod
    def build_test_loader(cfg, dataset_name):
        return build_detection_test_loader(cfg, dataset_name)


def build_train_loader(cfg):
    """Training loader for ``cfg.DATASETS.TRAIN`` chosen by the data set's task."""
    return TASK_LOADER_REGISTRY.get(dataset_task(cfg.DATASETS.TRAIN[0])).build_train_loader(cfg)


def build_test_loader(cfg, dataset_name: str):
    """Test loader for ``dataset_name`` chosen by the data set's task."""
    return TASK_LOADER_REGISTRY.get(dataset_task(dataset_name)).build_test_loader(cfg, dataset_name)
