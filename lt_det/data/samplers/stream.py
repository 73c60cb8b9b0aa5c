"""The infinite, rank-shardable, resumable index stream behind lt_det's samplers.

Every sampler defines one *global* stream of dataset indices, a pure function of its seed and
its distribution parameters. The stream is generated in blocks whose random numbers are
seeded by ``(seed, block)``, so any position can be reached without replaying the stream:
this is how a resumed run, or a sampler rebuilt at a stage boundary, continues the same
stream.
"""
from typing import Callable, Iterator, Optional, Sequence

import numpy as np

from .class_index import ClassIndex


# Positions of the global stream generated per block (i.i.d. samplers) or per yielded chunk of
# an epoch (epoch-structured samplers). Large enough that per-block overheads vanish, small
# enough that a distribution change reaches the stream quickly.
DEFAULT_BLOCK_SIZE = 1 << 16


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
