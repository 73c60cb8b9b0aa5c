"""The class-level sampling family: draw a class, then a uniformly random sample of it.

Members (each in its own file) differ only in the class distribution p_j: class-aware
(uniform, stratified in rounds), the q-power family (p_j ∝ n_j^q), progressively-balanced
(a mixture moving from q = 1 to q = 0) and group-preferred (mass ρ on a class group).
"""
from typing import Optional, Sequence

import numpy as np

from .base import ClassIndexSampler
from .stream import block_rng, draw_from_classes, fixed_block_stream


class CategoricalTable:
    """Inverse-CDF table of a categorical distribution over the positive-weight entries."""

    def __init__(self, weights: np.ndarray):
        self.support = np.flatnonzero(weights > 0)
        w = weights[self.support]
        self.cdf = None if (w == w[:1]).all() else np.cumsum(w, dtype=np.float64)  # None: uniform

    def draw(self, u: np.ndarray) -> np.ndarray:
        """Entries for uniforms ``u`` in [0, 1)."""
        last = len(self.support) - 1
        if self.cdf is None:
            i = (u * len(self.support)).astype(np.int64)
        else:
            i = np.searchsorted(self.cdf, u * self.cdf[-1], side="right")
        return self.support[np.minimum(i, last)]


class ClassWeightedSampler(ClassIndexSampler):
    """Base of the class-level family (not registered itself).

    At every position of the stream a class j is drawn with probability p_j, then a
    uniformly random sample containing j: a classification sample has
    P(i) = p_{y_i} / n_{y_i}; a detection image has P(i) = sum_{j in i} p_j / n_j, where
    n_j is the number of samples (images) that contain class j. Classes without samples get
    p_j = 0. With ``empty_images="keep"`` images without annotations form one more class
    (id C) that the subclass weighs like any other; with "drop" they are never drawn.

    Subclasses compute the class weights in ``_configure`` and pass them to
    ``_set_class_weights``; they may override ``_draw_classes``.

    Args:
        dataset_dicts: detection dicts (``annotations`` with contiguous ``category_id``) or
            classification dicts (integer ``label``).
        **kwargs: :class:`ClassIndexSampler` arguments (num_classes, empty_images: "keep"
            or "drop", see above, seed, rank, world_size, start, ...).
    """

    def __init__(self, dataset_dicts: Sequence[dict], **kwargs):
        super().__init__(dataset_dicts, **kwargs)
        self._table: Optional[CategoricalTable] = None

    def _set_class_weights(self, weights: np.ndarray) -> None:
        """Install unnormalised class weights (one per row of the class index)."""
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (self.index.num_rows,) or not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(
                f"{type(self).__name__}: class weights must be {self.index.num_rows} finite "
                "non-negative numbers"
            )
        weights = np.where(self.index.class_counts > 0, weights, 0.0)
        if not weights.sum() > 0:
            raise ValueError(
                f"{type(self).__name__}: no class with samples has a positive weight; nothing "
                "can be drawn"
            )
        self._weights = weights
        self._table = CategoricalTable(weights)

    def class_probabilities(self) -> np.ndarray:
        """p_j, the probability that a position draws class j (rows of the class index)."""
        return self._weights / self._weights.sum()

    def sample_probabilities(self) -> np.ndarray:
        """P(i): probability that a position draws sample i, sum_{j in i} p_j / n_j."""
        return self._sample_probabilities(self.class_probabilities())

    def _sample_probabilities(self, p: np.ndarray) -> np.ndarray:
        counts = self.index.class_counts
        per_member = np.repeat(np.divide(p, counts, out=np.zeros_like(p), where=counts > 0), counts)
        return np.bincount(self.index.class_members, weights=per_member, minlength=self.index.num_samples)

    def _draw_classes(self, rng: np.random.Generator, first: int, size: int) -> np.ndarray:
        """Classes of positions ``first .. first + size - 1``."""
        return self._table.draw(rng.random(size))

    def _draw_block(self, k: int) -> np.ndarray:
        rng = block_rng(self.seed, k)
        b = self.block_size
        classes = self._draw_classes(rng, k * b, b)
        return draw_from_classes(self.index, classes, rng.random(b))

    def _stream_from(self, pos: int):
        return fixed_block_stream(self._draw_block, self.block_size, pos)
