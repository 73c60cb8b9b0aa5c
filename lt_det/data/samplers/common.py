"""Shared machinery of lt_det's samplers: class labels of dataset dicts as CSR arrays, block
random generators, and the infinite, rank-sharded, resumable index stream.

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
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter, length_hint
from typing import Callable, Dict, Iterator, Optional, Sequence

import numpy as np
from torch.utils.data import Sampler

# Positions of the global stream generated per block (i.i.d. samplers) or per yielded chunk of
# an epoch (epoch-structured samplers). Large enough that per-block overheads vanish, small
# enough that a distribution change reaches the stream quickly.
DEFAULT_BLOCK_SIZE = 1 << 16

EMPTY_IMAGE_POLICIES = ("keep", "drop")


@dataclass
class ClassIndex:
    """Classes of N samples in compressed sparse row form, both directions.

    Samples are images (detection: the distinct ``category_id`` of their annotations) or
    classification samples (one ``label`` each). With ``empty_as_class`` the samples without
    any class (images without annotations) form one extra pseudo-class with id
    ``num_classes``, so class-level samplers can keep them; otherwise they belong to no class.

    Attributes:
        num_samples: N.
        num_classes: C, the real classes (ids ``0..C-1``).
        sample_ptr, sample_classes: classes of sample ``i`` are
            ``sample_classes[sample_ptr[i]:sample_ptr[i + 1]]`` (sorted, distinct, real
            classes only).
        class_ptr, class_members: samples of class ``j`` are
            ``class_members[class_ptr[j]:class_ptr[j + 1]]`` (sorted); ``C + 1`` rows when the
            pseudo-class exists, else ``C``.
        empty: boolean mask of the samples without any class.
    """

    num_samples: int
    num_classes: int
    sample_ptr: np.ndarray
    sample_classes: np.ndarray
    class_ptr: np.ndarray
    class_members: np.ndarray
    empty: np.ndarray

    @property
    def num_rows(self) -> int:
        """Rows of the class CSR: C, or C + 1 with the pseudo-class of empty samples."""
        return len(self.class_ptr) - 1

    @property
    def class_counts(self) -> np.ndarray:
        """n_j: samples (images) that contain class j, per row of the class CSR."""
        return np.diff(self.class_ptr)

    def members(self, j: int) -> np.ndarray:
        return self.class_members[self.class_ptr[j] : self.class_ptr[j + 1]]


def _labels_of(dataset_dicts: Sequence[dict]):
    """(per-sample label counts, flat labels) of detection or classification dicts."""
    n = len(dataset_dicts)
    first = dataset_dicts[0]
    if "annotations" in first:
        try:
            anns = list(map(itemgetter("annotations"), dataset_dicts))
            lengths = np.fromiter(map(len, anns), dtype=np.int64, count=n)
            flat = np.fromiter(
                map(itemgetter("category_id"), chain.from_iterable(anns)),
                dtype=np.int64,
                count=int(lengths.sum()),
            )
        except (KeyError, TypeError):
            _raise_bad_dict(dataset_dicts, detection=True)
        return lengths, flat
    if "label" in first:
        try:
            flat = np.fromiter(map(itemgetter("label"), dataset_dicts), dtype=np.int64, count=n)
        except (KeyError, TypeError, ValueError):
            _raise_bad_dict(dataset_dicts, detection=False)
        return np.ones(n, dtype=np.int64), flat
    raise ValueError(
        "Sampler input: dataset dict 0 has neither 'annotations' (detection) nor 'label' "
        "(classification); lt_det's samplers need one of them in every dict"
    )


def _raise_bad_dict(dataset_dicts: Sequence[dict], detection: bool):
    """Find the first malformed dict (slow path, only on error) and say what is wrong."""
    for i, d in enumerate(dataset_dicts):
        name = d.get("file_name", d.get("image_id", i)) if isinstance(d, dict) else i
        if detection:
            anns = d.get("annotations") if isinstance(d, dict) else None
            if not isinstance(anns, (list, tuple)):
                raise ValueError(
                    f"Sampler input: dataset dict {i} ({name}) has no 'annotations' list while "
                    "dict 0 has one; detection dicts need 'annotations' (possibly empty)"
                )
            for a in anns:
                if not isinstance(a, dict) or not isinstance(a.get("category_id"), (int, np.integer)):
                    raise ValueError(
                        f"Sampler input: an annotation of dataset dict {i} ({name}) has no "
                        "integer 'category_id'"
                    )
        else:
            if not isinstance(d, dict) or not isinstance(d.get("label"), (int, np.integer)):
                raise ValueError(
                    f"Sampler input: dataset dict {i} ({name}) has no integer 'label' while "
                    "dict 0 has one"
                )
    raise ValueError("Sampler input: malformed dataset dicts")


def build_class_index(
    dataset_dicts: Sequence[dict], num_classes: Optional[int] = None, empty_as_class: bool = False
) -> ClassIndex:
    """Build the :class:`ClassIndex` of detection or classification dicts in O(labels).

    Args:
        dataset_dicts: detectron2-format dicts: detection dicts with ``annotations`` carrying
            contiguous ``category_id``; or classification dicts with an integer ``label``.
        num_classes: C; ``None`` = largest id + 1. Ids outside ``[0, C)`` are an error.
        empty_as_class: put the samples without classes into a pseudo-class with id C.
    """
    n = len(dataset_dicts)
    if n == 0:
        raise ValueError("Sampler input: the training set is empty (0 dataset dicts)")
    lengths, flat = _labels_of(dataset_dicts)
    if flat.size:
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or (num_classes is not None and hi >= num_classes):
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"Sampler input: class id {bad} is outside [0, {num_classes}); ids must be "
                "contiguous (detectron2's dataset mapping) and below the number of classes"
            )
        if num_classes is None:
            num_classes = hi + 1
    elif num_classes is None:
        num_classes = 0
    c = int(num_classes)
    width = max(c, 1)
    # Stored ids are int32 where they fit (half the memory, faster gathers).
    ids = np.int32 if max(n, c + 1) < 2**31 else np.int64
    # Distinct (sample, class) pairs as keys sample * C + class: they come grouped by sample,
    # so a stable sort only reorders within samples (timsort on nearly sorted data, ~linear).
    key = np.repeat(np.arange(n, dtype=np.int64), lengths)
    key *= width
    key += flat
    del flat, lengths
    key.sort(kind="stable")
    if key.size:
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    pair_sample = (key // width).astype(ids)
    pair_class = (key % width).astype(ids)
    del key
    per_sample = np.bincount(pair_sample, minlength=n)
    sample_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_sample, out=sample_ptr[1:])
    empty = per_sample == 0
    del per_sample

    rows = c + 1 if (empty_as_class and empty.any()) else c
    class_of_pair = pair_class
    member_of_pair = pair_sample
    if rows > c:
        empties = np.flatnonzero(empty).astype(ids)
        class_of_pair = np.concatenate((pair_class, np.full(empties.size, c, dtype=ids)))
        member_of_pair = np.concatenate((pair_sample, empties))
    class_ptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(class_of_pair, minlength=rows), out=class_ptr[1:])
    # Radix (O(n)) stable sort for 16-bit class ids keeps members sorted within each class.
    if rows <= np.iinfo(np.uint16).max:
        class_of_pair = class_of_pair.astype(np.uint16)
    class_members = member_of_pair[np.argsort(class_of_pair, kind="stable")]
    return ClassIndex(
        num_samples=n,
        num_classes=int(num_classes),
        sample_ptr=sample_ptr,
        sample_classes=pair_class,
        class_ptr=class_ptr,
        class_members=class_members,
        empty=empty,
    )


def block_rng(seed: int, *key: int) -> np.random.Generator:
    """Independent numpy generator for ``(seed, *key)`` (e.g. a block or epoch number)."""
    return np.random.default_rng([int(seed), *(int(k) for k in key)])


def draw_from_classes(index: ClassIndex, classes: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A uniformly random member of each class in ``classes``, from uniforms ``u`` in [0, 1)."""
    counts = index.class_counts[classes]
    offset = np.minimum((u * counts).astype(np.int64), counts - 1)
    return index.class_members[index.class_ptr[classes] + offset]


class LazyShuffle:
    """A uniformly random permutation of ``values``, shuffled lazily bucket by bucket.

    Every element gets an i.i.d. uniform bucket (about ``bucket_size`` elements each); the
    buckets are laid out in order (a radix sort) and each is shuffled, with its own generator
    ``block_rng(*key, 1 + bucket)``, only when a slice first reaches it. Ordering by (uniform
    bucket, uniform rank within the bucket) is ordering by i.i.d. keys, so the permutation is
    uniform, while the first indices of a large epoch cost O(epoch) cheap sequential passes
    instead of a full random-access shuffle.
    """

    def __init__(self, values: np.ndarray, key: Sequence[int], bucket_size: int = DEFAULT_BLOCK_SIZE):
        n = len(values)
        k = max(1, -(-n // bucket_size))
        rng = block_rng(*key, 0)
        bucket = rng.integers(0, k, n, dtype=np.uint16 if k <= np.iinfo(np.uint16).max else np.int64)
        self.values = values[np.argsort(bucket, kind="stable")] if k > 1 else values.copy()
        self.ends = np.cumsum(np.bincount(bucket, minlength=k))
        self._key = tuple(key)
        self._shuffled = 0  # buckets shuffled so far

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, s: slice) -> np.ndarray:
        stop = len(self.values) if s.stop is None else min(s.stop, len(self.values))
        while self._shuffled < len(self.ends) and (self._shuffled == 0 or self.ends[self._shuffled - 1] < stop):
            i = self._shuffled
            lo = 0 if i == 0 else self.ends[i - 1]
            block_rng(*self._key, 1 + i).shuffle(self.values[lo : self.ends[i]])
            self._shuffled += 1
        return self.values[s]


def fixed_block_stream(draw_block: Callable[[int], np.ndarray], block_size: int, pos: int) -> Iterator[np.ndarray]:
    """Global stream from ``pos`` when block ``k`` covers positions ``[k B, (k + 1) B)``."""
    k, off = divmod(pos, block_size)
    while True:
        block = draw_block(k)
        yield block[off:]
        off = 0
        k += 1


def epoch_stream(
    draw_epoch: Callable[[int], "np.ndarray | LazyShuffle"],
    epoch_size: Callable[[int], int],
    pos: int,
    chunk: int,
    fixed_size: Optional[int] = None,
) -> Iterator[np.ndarray]:
    """Global stream from ``pos`` when it is a sequence of epochs (arrays or
    :class:`LazyShuffle`) of ``epoch_size(e)`` positions (``fixed_size`` when they are all
    equal), yielded in chunks of at most ``chunk``. Epochs before the one holding ``pos`` are
    sized but never drawn."""
    if fixed_size is not None:
        e, pos = divmod(pos, fixed_size)
    else:
        e = 0
        while pos >= epoch_size(e):
            pos -= epoch_size(e)
            e += 1
    while True:
        epoch = draw_epoch(e)
        for s in range(pos, len(epoch), chunk):
            yield epoch[s : s + chunk]
        pos = 0
        e += 1


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
    policy = cfg.DATALOADER.LT.EMPTY_IMAGES
    if policy not in EMPTY_IMAGE_POLICIES:
        raise ValueError(
            f"DATALOADER.LT.EMPTY_IMAGES must be one of {EMPTY_IMAGE_POLICIES}, got {policy!r}"
        )
    return policy


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
