"""Repeat-factor sampling (Gupta et al., "LVIS: A Dataset for Large Vocabulary Instance
Segmentation", CVPR 2019, appendix B.2)."""
import logging
from typing import Optional, Sequence

import numpy as np
import torch
from detectron2.config import configurable

from .build import SAMPLER_REGISTRY
from .base import ClassIndexSampler, dataset_args_from_config
from .class_index import ClassIndex, build_class_index
from .stream import LazyShuffle, block_rng, epoch_stream

logger = logging.getLogger(__name__)

ROUNDINGS = ("stochastic", "ceil")

# Sub-streams of an epoch's random numbers (block_rng(seed, epoch, tag)).
_TAG_ROUND, _TAG_SHUFFLE = 0, 1


def repeat_factors(
    index: ClassIndex, repeat_thresh: float, sqrt: bool = True, drop_empty: bool = False
) -> np.ndarray:
    """Per-image repeat factors r(I) = max_{c in I} max(1, sqrt(t / f(c))) in float64.

    f(c) is the fraction of the (kept) images that contain c; ``sqrt=False`` uses t / f(c).
    An image without classes gets 1 (detectron2), or 0 with ``drop_empty`` (then f(c) counts
    the non-empty images only, as if they had been filtered out).
    """
    counts = np.bincount(index.sample_classes, minlength=index.num_classes).astype(np.float64)
    num_images = index.num_samples - (int(index.empty.sum()) if drop_empty else 0)
    # Same float64 operations as detectron2 (v / num_images, then t / f, then sqrt), so the
    # factors agree bit for bit.
    freq = counts / num_images
    with np.errstate(divide="ignore"):
        ratio = repeat_thresh / freq
    class_rep = np.maximum(1.0, np.sqrt(ratio) if sqrt else ratio)
    class_rep[counts == 0] = 1.0  # unused; keeps the max below finite
    out = np.full(index.num_samples, 0.0 if drop_empty else 1.0)
    nonempty = ~index.empty
    if nonempty.any():
        starts = index.sample_ptr[:-1][nonempty]
        out[nonempty] = np.maximum.reduceat(class_rep[index.sample_classes], starts)
    return out


def warn_if_nothing_repeats(num_repeated: int, repeat_thresh: float, num_images: int, sampler: str) -> bool:
    """Warn (and return True) when repeat-factor sampling repeats no image, i.e. leaves the
    distribution uniform: every class is in at least ``t * N`` of the N images.

    LVIS's t = 0.001 means "classes in fewer than 0.001 * 100k = 100 images are repeated";
    the same intent on N images is t = 100 / N (docs/samplers.md).
    """
    if num_repeated > 0 or repeat_thresh <= 0 or num_images <= 0:
        return False
    logger.warning(
        "%s with DATALOADER.REPEAT_THRESHOLD %g repeats none of the %d training images (every "
        "class is in at least t * N = %.3g of them): the sampling is uniform. LVIS's 0.001 "
        "repeats classes in fewer than 100 of ~100k images; the same on this set is "
        "t = 100 / N = %.3g (docs/samplers.md)",
        sampler, repeat_thresh, num_images, repeat_thresh * num_images, 100.0 / num_images,
    )
    return True


def warn_if_detectron2_rfs_repeats_nothing(cfg) -> bool:
    """``warn_if_nothing_repeats`` for detectron2's ``RepeatFactorTrainingSampler``, from the
    image counts in the training sets' metadata (no data read)."""
    from ..class_stats import class_stats_from_metadata

    stats = class_stats_from_metadata(cfg.DATASETS.TRAIN)
    counts = np.asarray(stats.image_count, dtype=np.float64)
    freq = counts[counts > 0] / stats.num_images
    t = float(cfg.DATALOADER.REPEAT_THRESHOLD)
    repeated = int((freq < t).sum())  # r(c) = max(1, sqrt(t / f)) > 1 iff f < t
    return warn_if_nothing_repeats(repeated, t, stats.num_images, "RepeatFactorTrainingSampler")


def repeat_factors_from_category_frequency(
    dataset_dicts: Sequence[dict], repeat_thresh: float, sqrt: bool = True
) -> torch.Tensor:
    """detectron2's ``RepeatFactorTrainingSampler.repeat_factors_from_category_frequency``,
    computed on CSR arrays: same arguments, same return type (a float32 ``torch.Tensor``, which
    detectron2's ``RepeatFactorTrainingSampler`` takes) and the same values bit for bit."""
    factors = repeat_factors(build_class_index(dataset_dicts), repeat_thresh, sqrt)
    return torch.from_numpy(factors.astype(np.float32))


@SAMPLER_REGISTRY.register()
class RepeatFactorSampler(ClassIndexSampler):
    """Repeat-factor sampling (Gupta et al., LVIS, CVPR 2019, app. B.2).

    r(c) = max(1, sqrt(t / f(c))) with f(c) the fraction of training images containing c,
    r(I) = max_{c in I} r(c). Each epoch holds image I floor(r) + Bernoulli(r - floor(r))
    times ("stochastic", detectron2's ``RepeatFactorTrainingSampler``) or ceil(r) times
    ("ceil", mmdetection's ``ClassBalancedDataset`` used by EQLv2), shuffled.

    Args:
        dataset_dicts: detection dicts (or classification dicts: one class each).
        repeat_thresh: t.
        sqrt: use sqrt(t / f(c)) (True, LVIS) or t / f(c).
        rounding: "stochastic" or "ceil".
        num_classes: C (``None``: largest id + 1).
        empty_images: "keep" (r = 1, as detectron2) or "drop" (never drawn).
        **kwargs: :class:`LTSampler` arguments (seed, rank, world_size, start, ...).
    """

    empty_as_class = False  # kept images without annotations have r = 1, never a class

    @configurable
    def __init__(
        self,
        dataset_dicts: Sequence[dict],
        *,
        repeat_thresh: float,
        sqrt: bool = True,
        rounding: str = "stochastic",
        num_classes: Optional[int] = None,
        empty_images: str = "keep",
        **kwargs,
    ):
        super().__init__(dataset_dicts, num_classes=num_classes, empty_images=empty_images, **kwargs)
        self._init_distribution(repeat_thresh=repeat_thresh, sqrt=sqrt, rounding=rounding)

    @classmethod
    def from_config(cls, cfg, dataset_dicts):
        return {
            **dataset_args_from_config(cfg, dataset_dicts),
            "repeat_thresh": cfg.DATALOADER.REPEAT_THRESHOLD,
            "sqrt": cfg.DATALOADER.REPEAT_SQRT,
            "rounding": cfg.DATALOADER.LT.REPEAT_ROUNDING,
        }

    def _configure(self, repeat_thresh, sqrt, rounding):
        if rounding not in ROUNDINGS:
            raise ValueError(f"Repeat-factor rounding must be one of {ROUNDINGS}, got {rounding!r}")
        if not repeat_thresh >= 0:
            raise ValueError(f"Repeat threshold must be >= 0, got {repeat_thresh}")
        if repeat_thresh == 0:
            logger.warning("Repeat threshold 0: every repeat factor is 1 (DATALOADER.REPEAT_THRESHOLD)")
        drop = self.empty_images == "drop"
        factors = repeat_factors(self.index, float(repeat_thresh), bool(sqrt), drop_empty=drop)
        if not factors.any():
            raise ValueError("RepeatFactorSampler: every image is dropped (no annotations anywhere)")
        self.factors = factors
        warn_if_nothing_repeats(int((factors > 1).sum()), float(repeat_thresh), int((factors > 0).sum()),
                                "RepeatFactorSampler")
        logger.info(
            "RepeatFactorSampler (t=%g, %s): %d of %d images repeated, expected epoch %.0f images "
            "(x%.2f), largest factor %.2f", repeat_thresh, "sqrt" if sqrt else "linear",
            int((factors > 1).sum()), len(factors), float(factors.sum()),
            float(factors.sum()) / max(1, len(factors)), float(factors.max()),
        )
        if rounding == "ceil":
            self._ceil = np.ceil(factors).astype(np.int64)
            self._ceil_size = int(self._ceil.sum())
        else:
            # detectron2 rounds its float32 factors.
            f32 = factors.astype(np.float32)
            self._int_part = np.trunc(f32).astype(np.int64)
            self._frac_part = f32 - np.trunc(f32)
        self._rounding = rounding
        self._sizes = {}

    def _epoch_repeats(self, e: int) -> np.ndarray:
        if self._rounding == "ceil":
            return self._ceil
        u = block_rng(self.seed, e, _TAG_ROUND).random(len(self._frac_part))
        return self._int_part + (u < self._frac_part)

    def _epoch_size(self, e: int) -> int:
        if e not in self._sizes:
            self._sizes[e] = int(self._epoch_repeats(e).sum())
        return self._sizes[e]

    def _draw_epoch(self, e: int) -> np.ndarray:
        reps = self._epoch_repeats(e)
        self._sizes[e] = int(reps.sum())
        indices = np.repeat(np.arange(len(reps), dtype=self.index.class_members.dtype), reps)
        return LazyShuffle(indices, (self.seed, e, _TAG_SHUFFLE))

    def _stream_from(self, pos: int):
        fixed = self._ceil_size if self._rounding == "ceil" else None
        return epoch_stream(self._draw_epoch, self._epoch_size, pos, self.block_size, fixed_size=fixed)
