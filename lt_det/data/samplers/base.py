"""The base class of lt_det's samplers (an infinite, rank-sharded, resumable index stream)
and the constructor arguments every sampler reads from a config.

Every sampler defines one *global* stream of dataset indices, a pure function of its seed and
its distribution parameters. Rank ``r`` of ``w`` takes the global positions ``r, r + w,
r + 2w, ...`` (like detectron2's ``TrainingSampler``), so ranks draw disjoint positions of one
stream. The stream is generated in blocks whose random numbers are seeded by ``(seed, block)``,
so any position can be reached without replaying the stream: this is how a resumed run, or a
sampler rebuilt at a stage boundary, continues the same stream.

Where a stream starts (``LTSampler.set_start``, or automatically): a sampler built from a
config knows ``SOLVER.IMS_PER_BATCH``; when its iteration starts inside a running detectron2
trainer (an ``EventStorage`` is active, as it is when the trainer creates the loader's iterator
in its first ``run_step``), it starts at global position ``storage.iter * IMS_PER_BATCH``:
iteration ``i`` consumes positions ``[i * IMS_PER_BATCH, (i + 1) * IMS_PER_BATCH)``.
"""
from operator import length_hint
from typing import ClassVar, Dict, Iterator, Optional, Sequence

import numpy as np
from torch.utils.data import Sampler

from .class_index import build_class_index, check_empty_policy
from .stream import DEFAULT_BLOCK_SIZE


class LTSampler(Sampler):
    """Base of lt_det's samplers: an infinite global index stream, sharded across ranks.

    Subclasses implement ``_stream_from(pos)`` (the global stream from position ``pos``, as
    numpy chunks) and ``_configure(**params)`` (derive the distribution from its parameters;
    ``set_distribution`` calls it again at stage boundaries).

    Args:
        seed: seed of the stream; ``None`` = detectron2's ``comm.shared_random_seed()``
            (the same on every rank; requires all ranks to build the sampler).
        rank, world_size: this process's shard; ``None`` = detectron2's ``comm``.
        start: global position of the first index (resume: indices consumed so far by all
            ranks); ``None`` = ``storage.iter * ims_per_batch`` inside a running detectron2
            trainer, else 0.
        ims_per_batch: global batch size (``SOLVER.IMS_PER_BATCH``): positions per iteration.
        block_size: positions per generated block.
    """

    def __init__(
        self,
        *,
        seed: Optional[int] = None,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        start: Optional[int] = None,
        ims_per_batch: Optional[int] = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ):
        from detectron2.utils import comm

        if seed is None:
            seed = comm.shared_random_seed()
        if int(seed) < 0:
            raise ValueError(f"Sampler seed must be >= 0, got {seed}")
        self.seed = int(seed)
        self.rank = comm.get_rank() if rank is None else int(rank)
        self.world_size = comm.get_world_size() if world_size is None else int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"Sampler rank {self.rank} is outside [0, world_size={self.world_size})")
        if block_size <= 0:
            raise ValueError(f"Sampler block_size must be positive, got {block_size}")
        if ims_per_batch is not None and ims_per_batch <= 0:
            raise ValueError(f"ims_per_batch must be positive, got {ims_per_batch}")
        self.block_size = int(block_size)
        self.ims_per_batch = ims_per_batch
        self._start = None if start is None else self._check_start(start)
        self._params: Dict[str, object] = {}
        self._version = 0
        self._iter_start = 0
        self._done, self._chunk_len, self._chunk = 0, 0, iter(())

    # ------------------------------------------------------------------ subclass API
    def _configure(self, **params) -> None:
        raise NotImplementedError

    def _init_distribution(self, **params) -> None:
        """Set the initial distribution parameters (called once by the subclass constructor)."""
        self._configure(**params)
        self._params = dict(params)

    def _stream_from(self, pos: int) -> Iterator[np.ndarray]:
        raise NotImplementedError

    # ------------------------------------------------------------------ public API
    def set_distribution(self, **params) -> None:
        """Change distribution parameters (the same keyword names as the constructor's, e.g.
        ``q=0.0``); the stream follows the new distribution from the next block on.

        The new stream from a position ``p`` is exactly that of a fresh sampler built with
        the new parameters and ``start=p``. Only the sampler object being iterated sees the
        change: with detectron2's detection loader and ``DATALOADER.NUM_WORKERS > 0`` each
        worker iterates its own copy, so rebuild the loader instead (lt_det's stage hook
        does; the rebuilt sampler starts at the stage's first iteration).
        """
        unknown = set(params) - set(self._params)
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.set_distribution: unknown parameters {sorted(unknown)}; "
                f"it accepts {sorted(self._params)}"
            )
        merged = dict(self._params, **params)
        self._configure(**merged)
        self._params = merged
        self._version += 1

    def distribution(self) -> Dict[str, object]:
        """The current distribution parameters."""
        return dict(self._params)

    def set_start(self, num_consumed: int) -> None:
        """Start the next iteration over this sampler at global position ``num_consumed``
        (indices consumed by all ranks together, e.g. ``iteration * SOLVER.IMS_PER_BATCH``)."""
        self._start = self._check_start(num_consumed)

    def state_dict(self) -> Dict[str, object]:
        """Seed, distribution and position of the stream: the global position reached by
        ranks that consumed as many indices as this one did in this process."""
        return {
            "seed": self.seed,
            "num_consumed": self._iter_start + self._num_yielded() * self.world_size,
            "distribution": self.distribution(),
        }

    def load_state_dict(self, state: Dict[str, object]) -> None:
        """Restore ``state_dict()``: the next iteration continues the recorded stream."""
        self.seed = int(state["seed"])
        self.set_distribution(**state.get("distribution", {}))  # re-derives seed-dependent state
        self.set_start(int(state["num_consumed"]))

    def __iter__(self) -> Iterator[int]:
        pos = self._resolve_start()
        self._iter_start = pos
        self._done, self._chunk_len, self._chunk = 0, 0, iter(())
        rank, world = self.rank, self.world_size
        while True:
            version = self._version
            for chunk in self._stream_from(pos):
                local = chunk[(rank - pos) % world :: world].tolist()
                self._done += self._chunk_len
                self._chunk_len, self._chunk = len(local), iter(local)
                yield from self._chunk  # a list iterator: state_dict() reads how far it got
                pos += len(chunk)
                if self._version != version:
                    break

    # ------------------------------------------------------------------ helpers
    def _num_yielded(self) -> int:
        """Indices this process's current iterator has yielded."""
        return self._done + self._chunk_len - length_hint(self._chunk)

    @staticmethod
    def _check_start(start: int) -> int:
        if int(start) < 0:
            raise ValueError(f"Sampler start position must be >= 0, got {start}")
        return int(start)

    def _resolve_start(self) -> int:
        if self._start is not None:
            return self._start
        if self.ims_per_batch is None:
            return 0
        from detectron2.utils.events import get_event_storage, has_event_storage

        if not has_event_storage():  # not inside a running trainer
            return 0
        return int(get_event_storage().iter) * int(self.ims_per_batch)


class ClassIndexSampler(LTSampler):
    """An :class:`LTSampler` over the :class:`ClassIndex` (``self.index``) of a training set:
    the shared base of the class-quota, class-level and repeat-factor samplers.

    Args:
        dataset_dicts: detection dicts (``annotations`` with contiguous ``category_id``) or
            classification dicts (integer ``label``).
        num_classes: C (``None``: largest id + 1).
        empty_images: "keep" or "drop" the images without annotations; how a sampler keeps
            them is its own (``empty_as_class``).
        **kwargs: :class:`LTSampler` arguments (seed, rank, world_size, start, ...).

    Attributes:
        empty_as_class: True: with "keep" the images without annotations form one more
            class (id C) of the index, drawn like any other; False: they stay outside the
            classes and the sampler keeps them by its own rule.
    """

    empty_as_class: ClassVar[bool] = True

    def __init__(
        self,
        dataset_dicts: Sequence[dict],
        *,
        num_classes: Optional[int] = None,
        empty_images: str = "keep",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.empty_images = check_empty_policy(empty_images)
        self.index = build_class_index(
            dataset_dicts, num_classes, empty_as_class=self.empty_as_class and empty_images == "keep"
        )


def common_args_from_config(cfg) -> Dict[str, object]:
    """Constructor arguments shared by every sampler, from ``cfg``.

    Seed: ``DATALOADER.LT.SEED`` if >= 0, else ``SEED`` if >= 0 (so a run with a fixed seed
    resumes the same stream), else ``None`` (detectron2's shared random seed).
    """
    seed = cfg.DATALOADER.LT.SEED
    if seed < 0:
        seed = cfg.SEED if cfg.SEED >= 0 else None
    return {"seed": seed, "ims_per_batch": int(cfg.SOLVER.IMS_PER_BATCH)}


def empty_policy_from_config(cfg) -> str:
    """``DATALOADER.LT.EMPTY_IMAGES``, validated."""
    return check_empty_policy(cfg.DATALOADER.LT.EMPTY_IMAGES, "DATALOADER.LT.EMPTY_IMAGES")


def num_classes_from_config(cfg) -> Optional[int]:
    """C from the first training set's ``thing_classes`` metadata (``None`` if absent)."""
    from detectron2.data import MetadataCatalog

    if not cfg.DATASETS.TRAIN:
        return None
    classes = MetadataCatalog.get(cfg.DATASETS.TRAIN[0]).get("thing_classes", None)
    return len(classes) if classes else None


def dataset_args_from_config(cfg, dataset_dicts: Sequence[dict]) -> Dict[str, object]:
    """Arguments of every class-level sampler: the dicts, C, the empty-image policy, seed and
    global batch size."""
    return {
        "dataset_dicts": dataset_dicts,
        "num_classes": num_classes_from_config(cfg),
        "empty_images": empty_policy_from_config(cfg),
        **common_args_from_config(cfg),
    }
