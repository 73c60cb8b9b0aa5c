"""Data loaders of classification sets, registered as the "classification" task."""
import logging

import torch
from detectron2.data.samplers import InferenceSampler, TrainingSampler
from detectron2.utils import comm
from detectron2.utils.env import seed_all_rng
from torch.utils.data import BatchSampler, DataLoader

from ..build import register_task_loaders
from ..class_subset import subset_dicts, training_class_subset
from ..resumable import SAMPLER_KEY, build_resumable_train_loader, derive_seed, run_seed
from ..samplers import build_lt_sampler, is_lt_sampler
from .dataset import ClassificationDataset, collate_image_batch, get_classification_dataset_dicts
from .transforms import build_cls_transform


def _per_rank(total: int, what: str) -> int:
    world = comm.get_world_size()
    if total % world:
        raise ValueError(f"{what}={total} is not divisible by the number of processes {world}")
    return total // world


def _worker_init(worker_id: int) -> None:
    # Each worker gets its own seed from torch's per-worker seed, like detectron2's loaders.
    seed_all_rng(torch.initial_seed() % 2**31)


def build_classification_train_loader(cfg) -> DataLoader:
    """Infinite training loader over ``cfg.DATASETS.TRAIN`` yielding ``ImageBatch`` objects.

    The sampler is lt_det's ``DATALOADER.SAMPLER_TRAIN`` when registered there (class-aware,
    square-root, progressive ...), else detectron2's shuffled infinite ``TrainingSampler``.
    Batches hold ``SOLVER.IMS_PER_BATCH / world_size`` images and are augmented with
    ``LT.CLS_INPUT.TRAIN_TRANSFORM``. ``LT.CLASS_SUBSET`` removes classes' samples first.
    The batch of iteration ``i`` and its augmentations are a function of ``i`` and ``SEED``
    (``lt_det.data.resumable``).
    """
    dicts = get_classification_dataset_dicts(cfg.DATASETS.TRAIN)
    subset = training_class_subset(cfg)  # LT.CLASS_SUBSET: a run / stage on fewer classes
    if subset is not None and subset.removed:
        dicts = subset_dicts(dicts, subset.removed)
        logging.getLogger(__name__).info(
            "LT.CLASS_SUBSET: training on %d of %d classes (removed ids %s), %d samples",
            len(subset.kept), subset.num_classes, list(subset.removed), len(dicts),
        )
    name = cfg.DATALOADER.SAMPLER_TRAIN
    seed = run_seed(cfg)
    if is_lt_sampler(name):
        sampler = build_lt_sampler(cfg, dicts)
    elif name == "TrainingSampler":
        sampler = TrainingSampler(len(dicts), shuffle=True, seed=derive_seed(seed, SAMPLER_KEY))
    else:
        raise ValueError(
            f"DATALOADER.SAMPLER_TRAIN {name!r} is not available for classification; use "
            "'TrainingSampler' or one of lt_det's samplers (lt_det.data.samplers.SAMPLER_REGISTRY)"
        )
    dataset = ClassificationDataset(
        dicts,
        build_cls_transform(cfg, is_train=True),
        image_format=cfg.INPUT.FORMAT,
        on_corrupt=cfg.LT.INPUT.ON_CORRUPT,
    )
    _per_rank(cfg.SOLVER.IMS_PER_BATCH, "SOLVER.IMS_PER_BATCH")
    # The batch of iteration i and its augmentations are a function of i (exact resume).
    return build_resumable_train_loader(
        dataset.__getitem__, len(dataset), sampler, total_batch_size=cfg.SOLVER.IMS_PER_BATCH,
        seed=seed, num_workers=cfg.DATALOADER.NUM_WORKERS, collate_fn=collate_image_batch,
        get_many=dataset.__getitems__,
    )


def build_classification_test_loader(cfg, dataset_name: str) -> DataLoader:
    """Loader over ``dataset_name`` (each rank gets a contiguous shard, each sample once),
    ``LT.CLS_INPUT.TEST_IMS_PER_BATCH`` images per batch, ``LT.CLS_INPUT.TEST_TRANSFORM``."""
    dicts = get_classification_dataset_dicts([dataset_name])
    dataset = ClassificationDataset(
        dicts,
        build_cls_transform(cfg, is_train=False),
        image_format=cfg.INPUT.FORMAT,
        on_corrupt=cfg.LT.INPUT.ON_CORRUPT,
    )
    world = comm.get_world_size()
    batch_size = max(1, cfg.LT.CLS_INPUT.TEST_IMS_PER_BATCH // world)
    return DataLoader(
        dataset,
        batch_sampler=BatchSampler(InferenceSampler(len(dataset)), batch_size, drop_last=False),
        num_workers=cfg.DATALOADER.NUM_WORKERS,
        collate_fn=collate_image_batch,
        worker_init_fn=_worker_init,
    )


# Loaders of classification sets (metadata ``task="classification"``).
register_task_loaders("classification", build_classification_train_loader, build_classification_test_loader)
