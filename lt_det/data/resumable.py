"""Training loaders whose batches are a function of the iteration, so a resumed run sees
exactly the batches, augmentations included, of an uninterrupted one.

Two rules make that hold with any number of data-loader workers:

* **the batch of iteration i is a function of i**: :class:`IterationBatchSampler` starts the
  sampler's stream when the trainer first asks for a batch (the iteration is read from
  detectron2's ``EventStorage``, as lt_det's samplers do): at local position ``i * b``
  (``b`` = per-process batch), for lt_det's samplers and for detectron2's ``TrainingSampler``
  / ``RepeatFactorTrainingSampler`` alike (those restart at iteration 0's batch on their
  own). With aspect-ratio grouping, batch ``i`` depends on the stream before it: the
  grouping is replayed on indices only, without loading an image, up to iteration ``i``.
  Each element carries its *global stream position* (``local * world_size + rank``).
* **the random state of a sample is a function of its position**: :class:`SeededSamples`
  maps each sample with Python's, numpy's and torch's global generators seeded from
  ``(SEED, position)`` and restores them afterwards; no generator state needs saving, the
  worker a sample lands on does not matter, and the main process's random state is
  untouched. ``lt_det.engine.hooks.IterationSeed`` seeds the main process from ``(SEED,
  iteration)`` before each step (the model's own randomness: proposal sampling, mixup).

Batches are then identical for 0 and for N workers (torch hands a map-style loader's batches
to workers in turn and returns them in order).
"""
import random
from contextlib import contextmanager
from itertools import islice
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from detectron2.utils import comm
from torch.utils.data import DataLoader, Dataset, Sampler

# Keys that keep the seeds of the different uses apart: derive_seed(SEED, key, ...).
SAMPLE_KEY, ITERATION_KEY, SAMPLER_KEY = 0, 1, 2


def derive_seed(seed: int, *key: int) -> int:
    """A 32-bit seed that is a function of ``(seed, *key)`` (numpy's ``SeedSequence``)."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, *(int(k) for k in key)]).generate_state(1)[0])


def run_seed(cfg) -> int:
    """``SEED`` when fixed (>= 0, exact resume), else a seed shared by all processes."""
    return int(cfg.SEED) if cfg.SEED >= 0 else int(comm.shared_random_seed())


def seed_all(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (CUDA's too) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def seeded_rng(seed: int):
    """Python's, numpy's and torch's CPU generators seeded with ``seed`` inside the block,
    restored to their previous state after it."""
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])


def current_iteration() -> int:
    """The iteration of the running detectron2 trainer (0 outside one)."""
    from detectron2.utils.events import get_event_storage, has_event_storage

    return int(get_event_storage().iter) if has_event_storage() else 0


class IterationBatchSampler(Sampler):
    """Batches of ``(global position, dataset index)`` for iterations ``i, i + 1, ...``
    where ``i`` is the trainer's iteration when the batches are first asked for.

    Args:
        sampler: an lt_det ``LTSampler`` (started with ``set_start``) or any infinite
            rank-sharded sampler such as detectron2's ``TrainingSampler`` (its first
            ``i * batch_size`` indices are skipped).
        batch_size: per-process batch size.
        rank, world_size: this process's shard (``None``: detectron2's ``comm``).
        group_ids: optional group of each dataset index (aspect-ratio grouping: a batch
            holds one group, as detectron2's ``AspectRatioGroupedDataset`` does).
        start_iter: the first iteration (``None``: the trainer's, when iterated).
    """

    def __init__(self, sampler, batch_size: int, *, rank: Optional[int] = None,
                 world_size: Optional[int] = None, group_ids: Optional[Sequence[int]] = None,
                 start_iter: Optional[int] = None):
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.rank = comm.get_rank() if rank is None else int(rank)
        self.world_size = comm.get_world_size() if world_size is None else int(world_size)
        self.group_ids = None if group_ids is None else np.asarray(group_ids)
        self.start_iter = start_iter

    def _positioned(self, local_start: int):
        from .samplers.base import LTSampler

        if isinstance(self.sampler, LTSampler):
            # Its rank's j-th index is at global position local_start * w + rank + j * w.
            self.sampler.set_start(local_start * self.world_size)
            indices = iter(self.sampler)
        else:
            indices = islice(iter(self.sampler), local_start, None)
        for j, idx in enumerate(indices):
            yield (local_start + j) * self.world_size + self.rank, int(idx)

    def __iter__(self):
        it = current_iteration() if self.start_iter is None else int(self.start_iter)
        b = self.batch_size
        if self.group_ids is None:
            stream = self._positioned(it * b)
            while True:
                yield list(islice(stream, b))
        buckets = {}
        done = 0
        for pos, idx in self._positioned(0):  # replay the grouping of iterations 0 .. it - 1
            bucket = buckets.setdefault(int(self.group_ids[idx]), [])
            bucket.append((pos, idx))
            if len(bucket) == b:
                if done >= it:
                    yield list(bucket)
                done += 1
                bucket.clear()

    def __len__(self):  # infinite; torch only asks when it must
        raise TypeError("IterationBatchSampler is infinite")


class SeededSamples(Dataset):
    """``self[(pos, idx)]`` is ``get(idx)`` computed with the global generators seeded from
    ``(seed, pos)`` (:func:`seeded_rng`). With ``get_many`` (a data set that transforms a
    whole batch at once, torch's ``__getitems__``), a batch is computed by
    ``get_many(indices)`` seeded from the position of its first sample (a batch, too, is a
    function of the iteration)."""

    def __init__(self, get: Callable[[int], object], num_samples: int, seed: int,
                 get_many: Optional[Callable] = None):
        self.get, self.num_samples, self.seed = get, int(num_samples), int(seed)
        if get_many is not None:
            self.__getitems__ = self._getitems
            self._get_many = get_many

    def __len__(self):
        return self.num_samples

    def __getitem__(self, key):
        pos, idx = key
        with seeded_rng(derive_seed(self.seed, SAMPLE_KEY, pos)):
            return self.get(idx)

    def _getitems(self, keys):
        with seeded_rng(derive_seed(self.seed, SAMPLE_KEY, keys[0][0])):
            return self._get_many([idx for _, idx in keys])


class MappedDicts:
    """``self(idx)`` = ``mapper(dicts[idx])``; a mapper returning ``None`` (a sample to skip)
    is given another index drawn from the (seeded) Python generator, so the replacement is
    also a function of the position."""

    def __init__(self, dataset_dicts, mapper: Callable, max_tries: int = 100):
        from detectron2.data.common import DatasetFromList

        self.dicts = DatasetFromList(dataset_dicts, copy=False)  # serialized: no copy-on-read growth
        self.mapper, self.max_tries = mapper, max_tries

    def __len__(self):
        return len(self.dicts)

    def __call__(self, idx: int):
        for _ in range(self.max_tries):
            data = self.mapper(self.dicts[idx])
            if data is not None:
                return data
            idx = random.randrange(len(self.dicts))
        raise RuntimeError(f"The mapper skipped {self.max_tries} samples in a row")


def build_resumable_train_loader(get: Callable[[int], object], num_samples: int, sampler, *,
                                 total_batch_size: int, seed: int, num_workers: int,
                                 collate_fn: Callable, group_ids=None, get_many=None) -> DataLoader:
    """An infinite training loader over ``get(idx)`` whose batch at iteration ``i`` (and the
    augmentation of each of its samples) is a function of ``i``, ``seed`` and the sampler
    (module docstring). ``total_batch_size`` is split across processes."""
    world = comm.get_world_size()
    if total_batch_size % world:
        raise ValueError(f"SOLVER.IMS_PER_BATCH={total_batch_size} is not divisible by the number of processes {world}")
    return DataLoader(
        SeededSamples(get, num_samples, seed, get_many),
        batch_sampler=IterationBatchSampler(sampler, total_batch_size // world, group_ids=group_ids),
        num_workers=num_workers,
        collate_fn=collate_fn,
        # torch draws the workers' base seed from this generator, not from the global one,
        # so creating the loader's iterator leaves the main process's random state alone.
        generator=torch.Generator().manual_seed(derive_seed(seed, SAMPLER_KEY, comm.get_rank())),
    )
