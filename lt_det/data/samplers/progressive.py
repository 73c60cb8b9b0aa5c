"""Progressively-balanced sampling (Kang et al., "Decoupling Representation and Classifier
for Long-Tailed Recognition", ICLR 2020, sec. 3)."""
import math
from typing import Optional

import numpy as np
from detectron2.config import configurable

from .build import SAMPLER_REGISTRY
from .class_weighted import CategoricalTable, ClassWeightedSampler
from .base import dataset_args_from_config
from .q_power import q_power_weights

UNITS = ("iter", "epoch")


@SAMPLER_REGISTRY.register()
class ProgressiveSampler(ClassWeightedSampler):
    """Progressively-balanced sampling: p_j(t) = (1 - t/T) p_j^IB + (t/T) p_j^CB, with
    p^IB ∝ n_j (q = 1) and p^CB uniform over classes (q = 0) (Kang et al., ICLR 2020).

    Progress follows the stream itself, so it is right in every data-loader worker and
    after a resume: global position ``pos`` belongs to iteration ``pos // ims_per_batch``
    (and epoch ``iteration // ceil(N / ims_per_batch)``); with ``unit`` "iter" t is that
    iteration, with "epoch" that epoch, and t/T reads
    ``clip((t - schedule_start) / (total - schedule_start), 0, 1)``. Each position draws from
    p^CB with probability t/T, else from p^IB, which is exactly the mixture.
    ``set_progress(x)`` pins t/T to ``x`` instead.

    Args:
        total: T in ``unit``.
        unit: "iter" or "epoch".
        schedule_start: t where the schedule starts (p = p^IB before).
        progress: pinned t/T in [0, 1], or ``None`` to follow the stream.
        ims_per_batch: global batch size (required: positions per iteration).
        **kwargs: :class:`ClassWeightedSampler` arguments (dataset_dicts, num_classes,
            empty_images, seed, rank, world_size, start, ...).
    """

    @configurable
    def __init__(
        self,
        dataset_dicts,
        *,
        total: int,
        unit: str = "epoch",
        schedule_start: int = 0,
        progress: Optional[float] = None,
        ims_per_batch: int,
        **kwargs,
    ):
        super().__init__(dataset_dicts, ims_per_batch=ims_per_batch, **kwargs)
        if ims_per_batch is None:
            raise ValueError("ProgressiveSampler needs ims_per_batch (SOLVER.IMS_PER_BATCH) to follow progress")
        counts = self.index.class_counts
        self._set_class_weights(q_power_weights(counts, 0.0))  # validates; p^CB
        self._cb = self._table
        self._ib = CategoricalTable(q_power_weights(counts, 1.0))
        self.epoch_iters = math.ceil(self.index.num_samples / ims_per_batch)
        self._init_distribution(total=total, unit=unit, schedule_start=schedule_start, progress=progress)

    @classmethod
    def from_config(cls, cfg, dataset_dicts):
        p = cfg.DATALOADER.LT.PROGRESSIVE
        total = p.TOTAL
        if total <= 0:
            total = cfg.SOLVER.MAX_ITER
            if p.UNIT == "epoch":
                total = math.ceil(total / math.ceil(len(dataset_dicts) / cfg.SOLVER.IMS_PER_BATCH))
        return {**dataset_args_from_config(cfg, dataset_dicts), "total": total, "unit": p.UNIT,
                "schedule_start": p.START}

    def _configure(self, total, unit, schedule_start, progress):
        if unit not in UNITS:
            raise ValueError(f"Progressive sampling unit must be one of {UNITS}, got {unit!r}")
        if not total > schedule_start >= 0:
            raise ValueError(
                "Progressive sampling needs DATALOADER.LT.PROGRESSIVE TOTAL > START >= 0, got "
                f"TOTAL={total}, START={schedule_start}"
            )
        if progress is not None and not 0.0 <= progress <= 1.0:
            raise ValueError(f"Progress must be in [0, 1] or None, got {progress}")
        self._unit, self._total, self._t0, self._pinned = unit, total, schedule_start, progress

    def set_progress(self, progress: Optional[float]) -> None:
        """Pin t/T (from the next block on); ``None`` follows the stream again."""
        self.set_distribution(progress=progress)

    def progress_at(self, pos: np.ndarray) -> np.ndarray:
        """t/T at global stream positions ``pos``."""
        pos = np.asarray(pos, dtype=np.int64)
        if self._pinned is not None:
            return np.full(pos.shape, float(self._pinned))
        t = pos // self.ims_per_batch
        if self._unit == "epoch":
            t = t // self.epoch_iters
        return np.clip((t - self._t0) / (self._total - self._t0), 0.0, 1.0)

    def class_probabilities(self, progress: Optional[float] = None) -> np.ndarray:
        """p_j(t) for t/T = ``progress`` (default: the pinned progress, else 0)."""
        if progress is None:
            progress = 0.0 if self._pinned is None else self._pinned
        counts = self.index.class_counts.astype(np.float64)
        ib = counts / counts.sum()
        cb = (counts > 0) / np.count_nonzero(counts)
        return (1.0 - progress) * ib + progress * cb

    def sample_probabilities(self, progress: Optional[float] = None) -> np.ndarray:
        """P(i) for t/T = ``progress`` (default: the pinned progress, else 0)."""
        return self._sample_probabilities(self.class_probabilities(progress))

    def _draw_classes(self, rng, first, size):
        t = self.progress_at(np.arange(first, first + size))
        balanced = rng.random(size) < t
        u = rng.random(size)
        classes = self._ib.draw(u)
        classes[balanced] = self._cb.draw(u[balanced])
        return classes
