"""Class distributions of class-aware, q-power, progressive and group-preferred sampling
against the formulas, on classification (n = [6, 3, 2, 1, 0]) and detection data."""
import numpy as np
import pytest
from sampler_data import CLS_COUNTS, cls_dicts, det_dicts, take
from scipy.stats import chisquare

from lt_det.data.samplers import ClassAwareSampler, GroupPreferredSampler, ProgressiveSampler, QPowerSampler

KW = {"seed": 5, "rank": 0, "world_size": 1}
LABELS = np.repeat(np.arange(5), CLS_COUNTS)  # label of each classification sample
n = np.array(CLS_COUNTS, dtype=float)
DRAWS = 40000


def class_counts(stream):
    return np.bincount(LABELS[stream], minlength=5)


def assert_follows(counts, p):
    """Chi-square goodness of fit over the classes with p > 0; the others never drawn."""
    p = np.asarray(p, dtype=float)
    assert counts[p == 0].sum() == 0
    total = counts.sum()
    assert chisquare(counts[p > 0], total * p[p > 0] / p.sum()).pvalue > 1e-3


@pytest.mark.parametrize(
    "q, p",
    [
        (1.0, n / 12),  # instance-balanced: n_j / N = (1/2, 1/4, 1/6, 1/12, 0)
        (0.5, np.sqrt(n) / np.sqrt(n).sum()),  # square-root: sqrt(n_j) / sum_k sqrt(n_k)
        (0.0, [0.25, 0.25, 0.25, 0.25, 0]),  # class-balanced over the 4 classes with samples
    ],
)
def test_q_power_class_frequencies(q, p):
    s = QPowerSampler(cls_dicts(), q=q, num_classes=5, **KW)
    np.testing.assert_allclose(s.class_probabilities(), p, rtol=1e-12)
    counts = class_counts(take(s, DRAWS))
    assert_follows(counts, p)
    # Within a class samples are uniform: with q = 1 every sample has probability 1/12.
    if q == 1.0:
        np.testing.assert_allclose(s.sample_probabilities(), np.full(12, 1 / 12))


def test_chi_square_has_power():
    # The square-root stream is rejected against the instance-balanced distribution.
    counts = class_counts(take(QPowerSampler(cls_dicts(), q=0.5, **KW), DRAWS))
    assert chisquare(counts[:4], DRAWS * n[:4] / 12).pvalue < 1e-6


@pytest.mark.parametrize(
    "empty, expected",
    [
        # keep: rows {I0, I1, I2}, {I1}, {I3}, {I4}, each p = 1/4:
        # P(I0) = P(I2) = 1/4 * 1/3 = 1/12, P(I1) = 1/12 + 1/4 = 1/3, P(I3) = P(I4) = 1/4.
        ("keep", [1 / 12, 1 / 3, 1 / 12, 1 / 4, 1 / 4]),
        # drop: three classes, p = 1/3: P(I0) = P(I2) = 1/9, P(I1) = 1/9 + 1/3, P(I3) = 1/3.
        ("drop", [1 / 9, 4 / 9, 1 / 9, 1 / 3, 0]),
    ],
)
def test_class_balanced_on_detection_images(empty, expected):
    s = QPowerSampler(det_dicts(), q=0.0, empty_images=empty, **KW)
    np.testing.assert_allclose(s.sample_probabilities(), expected, rtol=1e-12)
    assert_follows(np.bincount(take(s, DRAWS), minlength=5), expected)


@pytest.mark.parametrize("m", [1, 3])
def test_class_aware_rounds_visit_every_class_m_times(m):
    # Every round of 4 classes * m positions holds each class with samples exactly m times,
    # in runs of m; class 4 (no samples) never appears; rounds are in random order.
    s = ClassAwareSampler(cls_dicts(), num_samples_per_class=m, num_classes=5, block_size=50, **KW)
    classes = LABELS[take(s, 4 * m * 500)].reshape(500, 4, m)
    assert (classes == classes[:, :, :1]).all()
    assert (np.sort(classes[:, :, 0], axis=1) == [0, 1, 2, 3]).all()
    assert len({tuple(r) for r in classes[:, :, 0]}) > 1
    # Within class 0 the 6 samples are uniform: 500 rounds * m draws / 6 each.
    stream = take(ClassAwareSampler(cls_dicts(), num_samples_per_class=m, **KW), 4 * m * 3000)
    counts = np.bincount(stream[LABELS[stream] == 0], minlength=6)
    assert chisquare(counts).pvalue > 1e-3


def test_progress_follows_the_stream():
    # 12 samples, 4 per batch: 3 iterations per epoch. unit "epoch", T = 4, start 1:
    # positions 0..11 -> epoch 0 (before the start: t/T = 0), 12..23 -> epoch 1 -> 0,
    # 24..35 -> epoch 2 -> 1/3, 36..47 -> 2/3, >= 48 -> 1.
    s = ProgressiveSampler(cls_dicts(), total=4, schedule_start=1, ims_per_batch=4, **KW)
    pos = np.array([0, 11, 12, 24, 35, 36, 48, 10**6])
    np.testing.assert_allclose(s.progress_at(pos), [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1, 1])
    # unit "iter", T = 10: position 4 i + k belongs to iteration i -> t/T = i / 10.
    s = ProgressiveSampler(cls_dicts(), total=10, unit="iter", ims_per_batch=4, **KW)
    np.testing.assert_allclose(s.progress_at([0, 3, 4, 39, 40, 400]), [0, 0, 0.1, 0.9, 1, 1])
    s.set_progress(0.25)
    np.testing.assert_allclose(s.progress_at([0, 400]), [0.25, 0.25])


@pytest.mark.parametrize("progress", [0.0, 0.3, 1.0])
def test_progressive_mixture_at_fixed_progress(progress):
    # p(t) = (1 - t/T) n_j / N + (t/T) / 4 over the 4 classes with samples.
    p = (1 - progress) * n / 12 + progress * np.array([1, 1, 1, 1, 0]) / 4
    s = ProgressiveSampler(cls_dicts(), total=10, progress=progress, ims_per_batch=4, num_classes=5, **KW)
    np.testing.assert_allclose(s.class_probabilities(), p, rtol=1e-12)
    assert_follows(class_counts(take(s, DRAWS)), p)


def test_progressive_schedule_over_a_run():
    # T = 100 iterations of 400 images: positions [400 i, 400 (i + 1)) have t/T = i / 100, so
    # the first 40000 positions average to p = (1 - 0.495) p^IB + 0.495 p^CB
    # (mean of i / 100 over i = 0..99 is 0.495); all positions after that are p^CB.
    s = ProgressiveSampler(cls_dicts(), total=100, unit="iter", ims_per_batch=400, **KW)
    stream = take(s, 80000)
    cb = np.array([1, 1, 1, 1, 0]) / 4
    assert_follows(class_counts(stream[:40000]), 0.505 * n / 12 + 0.495 * cb)
    assert_follows(class_counts(stream[40000:]), cb)


def test_progressive_needs_batch_size_and_valid_schedule():
    with pytest.raises(ValueError, match="ims_per_batch"):
        ProgressiveSampler(cls_dicts(), total=10, ims_per_batch=None, **KW)
    with pytest.raises(ValueError, match="TOTAL > START"):
        ProgressiveSampler(cls_dicts(), total=2, schedule_start=2, ims_per_batch=4, **KW)
    with pytest.raises(ValueError, match="unit"):
        ProgressiveSampler(cls_dicts(), total=2, unit="step", ims_per_batch=4, **KW)


def test_group_preferred_probabilities():
    # Group = classes with 2 <= n_j <= 3: {1, 2} (5 samples); rest {0, 3} (7 samples); rho = 0.8,
    # q = 1: p = (0.2 * 6/7, 0.8 * 3/5, 0.8 * 2/5, 0.2 * 1/7, 0).
    p = [0.2 * 6 / 7, 0.8 * 3 / 5, 0.8 * 2 / 5, 0.2 / 7, 0]
    s = GroupPreferredSampler(cls_dicts(), rho=0.8, min_count=2, max_count=3, num_classes=5, **KW)
    assert s.group.tolist() == [False, True, True, False, False]
    np.testing.assert_allclose(s.class_probabilities(), p, rtol=1e-12)
    assert_follows(class_counts(take(s, DRAWS)), p)
    # Explicit classes with q = 0 inside the parts: group {3}: p_3 = 0.6, the rest 0.4 / 3.
    s = GroupPreferredSampler(cls_dicts(), rho=0.6, classes=[3], within_q=0.0, num_classes=5, **KW)
    np.testing.assert_allclose(s.class_probabilities(), [0.4 / 3, 0.4 / 3, 0.4 / 3, 0.6, 0], rtol=1e-12)


def test_group_preferred_errors_and_degenerate_groups():
    with pytest.raises(ValueError, match="no training samples"):
        GroupPreferredSampler(cls_dicts(), rho=0.8, classes=[4], num_classes=5, **KW)  # class 4: empty
    with pytest.raises(ValueError, match="outside"):
        GroupPreferredSampler(cls_dicts(), rho=0.8, classes=[7], num_classes=5, **KW)
    with pytest.raises(ValueError, match="rho"):
        GroupPreferredSampler(cls_dicts(), rho=1.5, **KW)
    # Group covering every class with samples: plain q-power inside it (rho has no effect).
    s = GroupPreferredSampler(cls_dicts(), rho=0.8, min_count=1, max_count=10, **KW)
    np.testing.assert_allclose(s.class_probabilities(), n[:4] / 12, rtol=1e-12)
