"""Random over- and under-sampling: exact per-epoch class quotas."""
import numpy as np
from sampler_data import cls_dicts, take

from lt_det.data.samplers import RandomOverSampler, RandomUnderSampler

KW = {"seed": 3, "rank": 0, "world_size": 1}


def test_over_sampling_epochs():
    # n = (6, 3, 2, 1), n_max = 6: an epoch has 4 * 6 = 24 indices; class 1's 3 samples appear
    # twice each, class 2's 2 samples three times, class 3's single sample 6 times.
    s = RandomOverSampler(cls_dicts(), **KW)
    stream = take(s, 24 * 20)
    for e in range(20):
        counts = np.bincount(stream[24 * e : 24 * e + 24], minlength=12)
        assert counts.tolist() == [1] * 6 + [2] * 3 + [3] * 2 + [6]
    assert not np.array_equal(stream[:24], stream[24:48])  # each epoch is reshuffled


def test_over_sampling_partial_copies():
    # n = (6, 4): class 1 gets one copy of each sample plus 6 mod 4 = 2 distinct extra ones.
    dicts = [{"label": 0}] * 6 + [{"label": 1}] * 4
    stream = take(RandomOverSampler(dicts, **KW), 12 * 200)
    extras = set()
    for e in range(200):
        counts = np.bincount(stream[12 * e : 12 * e + 12], minlength=10)
        assert counts[:6].tolist() == [1] * 6 and sorted(counts[6:]) == [1, 1, 2, 2]
        extras.add(tuple(np.flatnonzero(counts[6:] == 2)))
    assert len(extras) == 6  # every pair of the 4 samples is chosen in some epoch


def test_under_sampling_epochs():
    # n_min = 1: an epoch has one sample of each of the 4 classes. A fixed subset repeats the
    # same 4 samples every epoch; otherwise each epoch draws anew (class 0: all 6 in time).
    labels = np.repeat(np.arange(4), [6, 3, 2, 1])
    fixed = take(RandomUnderSampler(cls_dicts(), **KW), 4 * 100).reshape(100, 4)
    assert (np.sort(labels[fixed], axis=1) == [0, 1, 2, 3]).all()
    assert len({tuple(sorted(r)) for r in fixed}) == 1
    fresh = take(RandomUnderSampler(cls_dicts(), fixed_subset=False, **KW), 4 * 300).reshape(300, 4)
    assert (np.sort(labels[fresh], axis=1) == [0, 1, 2, 3]).all()
    assert set(fresh[labels[fresh] == 0].tolist()) == set(range(6))


def test_over_sampling_refuses_huge_epochs(monkeypatch):
    # An epoch holds C' * n_max indices; past the limit the error points to the i.i.d. samplers.
    import pytest

    from lt_det.data.samplers import class_quota

    monkeypatch.setattr(class_quota, "MAX_EPOCH_LENGTH", 23)
    with pytest.raises(ValueError, match="24 indices.*ClassAwareSampler"):
        RandomOverSampler(cls_dicts(), **KW)
