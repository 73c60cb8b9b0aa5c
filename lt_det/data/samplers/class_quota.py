"""Epoch-structured re-sampling with a fixed number of draws per class and epoch, the base
of random over- and under-sampling."""
from typing import Sequence

import numpy as np

from .base import ClassIndexSampler
from .stream import LazyShuffle, block_rng, epoch_stream

# Largest epoch materialised (int64 indices: 2 GiB).
MAX_EPOCH_LENGTH = 1 << 28

# Sub-streams of an epoch's random numbers (block_rng(seed, epoch, tag)).
_TAG_SUBSET, _TAG_SHUFFLE = 0, 1


class ClassQuotaSampler(ClassIndexSampler):
    """Base of random over-/under-sampling (not registered itself).

    Every epoch draws each class j exactly Q_j times: floor(Q_j / n_j) copies of each of its
    n_j samples plus a random subset (without replacement) of Q_j mod n_j of them; the epoch,
    sum_j Q_j indices, is then shuffled. A detection image is drawn once per quota of each
    of its classes. Subclasses set the quotas in ``_configure`` with ``_set_quotas``.

    Args:
        dataset_dicts: classification dicts (integer ``label``) or detection dicts.
        **kwargs: :class:`ClassIndexSampler` arguments (num_classes, empty_images: "keep"
            makes the images without annotations one more class, seed, rank, ...).
    """

    def __init__(self, dataset_dicts: Sequence[dict], **kwargs):
        super().__init__(dataset_dicts, **kwargs)
        counts = self.index.class_counts
        self._row_of_member = np.repeat(np.arange(len(counts)), counts)
        self._rank_in_row = np.arange(len(self._row_of_member)) - self.index.class_ptr[self._row_of_member]

    def _set_quotas(self, quotas: np.ndarray, fixed_subset: bool = False) -> None:
        """Q_j per row; ``fixed_subset``: every epoch uses the partial subsets of epoch 0
        instead of new ones."""
        counts = self.index.class_counts
        quotas = np.where(counts > 0, np.asarray(quotas, dtype=np.int64), 0)
        self.quotas = quotas
        self._copies = np.floor_divide(quotas, np.maximum(counts, 1))
        self._partial = quotas - self._copies * counts
        self._epoch_len = int(quotas.sum())
        if self._epoch_len == 0:
            raise ValueError(f"{type(self).__name__}: no class has samples; nothing can be drawn")
        if self._epoch_len > MAX_EPOCH_LENGTH:
            raise ValueError(
                f"{type(self).__name__}: an epoch would hold {self._epoch_len} indices (classes x "
                f"quota), more than {MAX_EPOCH_LENGTH}; use ClassAwareSampler or QPowerSampler "
                "(q = 0), which balance classes without materialising epochs"
            )
        self._fixed = self._subset(0) if fixed_subset else None

    def _subset(self, e: int) -> np.ndarray:
        """The partial subsets: the Q_j mod n_j members of each class with the smallest keys."""
        rng = block_rng(self.seed, e, _TAG_SUBSET)
        keys = self._row_of_member + rng.random(len(self._row_of_member))  # sorts by row, then key
        ranked = self.index.class_members[np.argsort(keys)]
        return ranked[self._rank_in_row < self._partial[self._row_of_member]]

    def _draw_epoch(self, e: int) -> np.ndarray:
        full = np.repeat(self.index.class_members, self._copies[self._row_of_member])
        subset = self._subset(e) if self._fixed is None else self._fixed
        return LazyShuffle(np.concatenate((full, subset)), (self.seed, e, _TAG_SHUFFLE))

    def _stream_from(self, pos: int):
        return epoch_stream(self._draw_epoch, None, pos, self.block_size, fixed_size=self._epoch_len)
