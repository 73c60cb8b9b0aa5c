"""Repeat-factor sampling: factors equal detectron2's, hand-derived factors, epoch contents."""
import math

import numpy as np
import pytest
import torch
from detectron2.data.samplers import RepeatFactorTrainingSampler
from sampler_data import det_dicts, random_det_dicts, take
from scipy.stats import chisquare

from lt_det.data.samplers import (
    RepeatFactorSampler,
    build_class_index,
    repeat_factors,
    repeat_factors_from_category_frequency,
)


@pytest.mark.parametrize("sqrt", [True, False])
@pytest.mark.parametrize("thresh", [0.001, 0.05, 0.3])
def test_factors_equal_detectron2(thresh, sqrt):
    dicts = random_det_dicts(1500, 40, seed=1)  # includes images without annotations
    ours = repeat_factors_from_category_frequency(dicts, thresh, sqrt=sqrt)
    theirs = RepeatFactorTrainingSampler.repeat_factors_from_category_frequency(dicts, thresh, sqrt=sqrt)
    assert type(ours) is type(theirs) and ours.dtype == theirs.dtype == torch.float32
    assert torch.equal(ours, theirs)
    s = RepeatFactorSampler(dicts, repeat_thresh=thresh, sqrt=sqrt, seed=0, rank=0, world_size=1)
    assert np.array_equal(s.factors.astype(np.float32), theirs.numpy())


def test_factors_drive_detectron2s_sampler():
    # The documented drop-in use: our factors into detectron2's own sampler. Its stream from
    # the same seed is then the one it draws from its own factors, index for index.
    dicts = random_det_dicts(300, 12, seed=3)
    ours = RepeatFactorTrainingSampler(repeat_factors_from_category_frequency(dicts, 0.1), seed=7)
    theirs = RepeatFactorTrainingSampler(
        RepeatFactorTrainingSampler.repeat_factors_from_category_frequency(dicts, 0.1), seed=7
    )
    a, b = iter(ours), iter(theirs)
    assert [next(a) for _ in range(900)] == [next(b) for _ in range(900)]


def test_hand_derived_factors():
    # Images I0 {0}, I1 {0, 1}, I2 {0}, I3 {2}, I4 {}; t = 0.4.
    # keep: N = 5, f = (3/5, 1/5, 1/5): r(0) = max(1, sqrt(0.4 / 0.6)) = 1, r(1) = r(2) =
    #   sqrt(0.4 / 0.2) = sqrt(2); r(I) = (1, sqrt2, 1, sqrt2, 1) (the empty image: 1).
    # drop: N = 4, f = (3/4, 1/4, 1/4): r(1) = r(2) = sqrt(1.6); I4 gets 0.
    # no sqrt, keep: r(1) = 0.4 / 0.2 = 2.
    idx = build_class_index(det_dicts())
    s2 = math.sqrt(2)
    np.testing.assert_allclose(repeat_factors(idx, 0.4), [1, s2, 1, s2, 1], rtol=1e-15)
    r = math.sqrt(1.6)
    np.testing.assert_allclose(repeat_factors(idx, 0.4, drop_empty=True), [1, r, 1, r, 0], rtol=1e-15)
    np.testing.assert_allclose(repeat_factors(idx, 0.4, sqrt=False), [1, 2, 1, 2, 1], rtol=1e-15)


def test_logs_factor_summary(caplog):
    # The factors of test_hand_derived_factors, (1, sqrt2, 1, sqrt2, 1): 2 of 5 images are
    # repeated, expected epoch 3 + 2 sqrt2 = 5.83 images (x1.17), largest factor sqrt2 = 1.41.
    with caplog.at_level("INFO", logger="lt_det.data.samplers.repeat_factor"):
        RepeatFactorSampler(det_dicts(), repeat_thresh=0.4, seed=0, rank=0, world_size=1)
    assert "t=0.4, sqrt): 2 of 5 images repeated, expected epoch 6 images (x1.17), largest factor 1.41" in caplog.text


def test_drop_equals_detectron2_on_filtered_dicts():
    dicts = random_det_dicts(800, 20, seed=2)
    kept = [d for d in dicts if d["annotations"]]
    s = RepeatFactorSampler(dicts, repeat_thresh=0.05, empty_images="drop", seed=0, rank=0, world_size=1)
    theirs = RepeatFactorTrainingSampler.repeat_factors_from_category_frequency(kept, 0.05).numpy()
    nonempty = np.array([bool(d["annotations"]) for d in dicts])
    assert np.array_equal(s.factors[nonempty].astype(np.float32), theirs)
    assert (s.factors[~nonempty] == 0).all()


def test_ceil_epochs_hold_each_image_ceil_r_times():
    # ceil(r) = (1, 2, 1, 2, 1): every epoch of 7 indices holds I1 and I3 twice, the others once.
    s = RepeatFactorSampler(det_dicts(), repeat_thresh=0.4, rounding="ceil", seed=0, rank=0, world_size=1)
    stream = take(s, 7 * 50)
    for e in range(50):
        assert np.bincount(stream[7 * e : 7 * e + 7], minlength=5).tolist() == [1, 2, 1, 2, 1]


def test_stochastic_rounding_matches_r_in_expectation():
    # Epoch e holds I floor(r) + Bernoulli(r - floor(r)) times, so over many epochs image I
    # takes a share r(I) / sum_k r(k) of the stream: (1, s2, 1, s2, 1) / (3 + 2 sqrt2).
    s = RepeatFactorSampler(det_dicts(), repeat_thresh=0.4, seed=0, rank=0, world_size=1)
    n = 30000
    counts = np.bincount(take(s, n), minlength=5)
    r = np.array([1, math.sqrt(2), 1, math.sqrt(2), 1])
    assert chisquare(counts, n * r / r.sum()).pvalue > 1e-3
    # Power check: the un-repeated (uniform) distribution is rejected.
    assert chisquare(counts, np.full(5, n / 5)).pvalue < 1e-6


def test_errors():
    with pytest.raises(ValueError, match="rounding"):
        RepeatFactorSampler(det_dicts(), repeat_thresh=0.4, rounding="floor", seed=0, rank=0, world_size=1)
    with pytest.raises(ValueError, match="threshold"):
        RepeatFactorSampler(det_dicts(), repeat_thresh=-1.0, seed=0, rank=0, world_size=1)


def test_warns_when_nothing_is_repeated(caplog):
    # #12.15. det_dicts: f = (3/5, 1/5, 1/5) over N = 5 images. t = 0.1 < every f: no image
    # is repeated, the sampling is uniform -> a warning with the rescaled t = 100 / 5 = 20.
    # t = 0.4 > 1/5 repeats images I1 and I3 -> no warning.
    logger = "lt_det.data.samplers.repeat_factor"
    with caplog.at_level("WARNING", logger=logger):
        RepeatFactorSampler(det_dicts(), repeat_thresh=0.1, seed=0, rank=0, world_size=1)
    assert "REPEAT_THRESHOLD 0.1 repeats none of the 5 training images" in caplog.text
    assert "t = 100 / N = 20" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger=logger):
        RepeatFactorSampler(det_dicts(), repeat_thresh=0.4, seed=0, rank=0, world_size=1)
    assert "repeats none" not in caplog.text


def test_warns_for_detectron2s_sampler_from_metadata(caplog):
    # LT-Shapes tiny: the rarest class is in 2 of 48 images (f = 0.042). LVIS's t = 0.001
    # repeats nothing; t = 0.125 (= 6 / 48) repeats the classes in fewer than 6 images.
    from detectron2.data import DatasetCatalog

    from lt_det.config import get_lt_cfg
    from lt_det.data.samplers.repeat_factor import warn_if_detectron2_rfs_repeats_nothing

    DatasetCatalog.get("lt_shapes_tiny_train")
    cfg = get_lt_cfg()
    cfg.DATASETS.TRAIN = ("lt_shapes_tiny_train",)
    cfg.DATALOADER.REPEAT_THRESHOLD = 0.001
    with caplog.at_level("WARNING", logger="lt_det.data.samplers.repeat_factor"):
        assert warn_if_detectron2_rfs_repeats_nothing(cfg)
    assert "RepeatFactorTrainingSampler" in caplog.text and "100 / N = 2.08" in caplog.text
    cfg.DATALOADER.REPEAT_THRESHOLD = 0.125
    assert not warn_if_detectron2_rfs_repeats_nothing(cfg)
