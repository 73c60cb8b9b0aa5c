"""lt_det.data.resumable: the batch of iteration i is a function of i (also with aspect-ratio
grouping, which is replayed), positions are global stream positions, and a sample's random
draws are a function of its position."""
import random
from itertools import islice

import numpy as np
import torch
from detectron2.data.samplers import TrainingSampler

from lt_det.data.resumable import IterationBatchSampler, SeededSamples, seeded_rng
from lt_det.data.samplers import ClassAwareSampler


class Counting:
    """A sampler yielding 0, 1, 2, ... (rank-sharded like detectron2's: rank r gets r, r + w, ...)."""

    def __init__(self, rank=0, world=1):
        self.rank, self.world = rank, world

    def __iter__(self):
        i = self.rank
        while True:
            yield i
            i += self.world


def test_start_iteration_and_positions():
    # Per-rank batch 3 on rank 1 of 2: iteration 2 holds local positions 6, 7, 8 = global
    # positions 6*2+1, 7*2+1, 8*2+1 = 13, 15, 17, which are the indices Counting yields there.
    s = IterationBatchSampler(Counting(1, 2), 3, rank=1, world_size=2, start_iter=2)
    assert next(iter(s)) == [(13, 13), (15, 15), (17, 17)]


def test_grouping_is_replayed_on_resume():
    # Indices 0..: group = 1 if idx % 3 == 0 else 0, batch 2. Stream 0 1 2 3 4 5 6 7 8 ...:
    # group 0 fills with (1, 2), (4, 5), (7, 8), ...; group 1 with (0, 3), (6, 9), ...
    # in completion order: [1,2] (at 2), [0,3] (at 3), [4,5] (at 5), [7,8] (at 8), [6,9] (at 9).
    groups = [1 if i % 3 == 0 else 0 for i in range(100)]
    full = list(islice(iter(IterationBatchSampler(Counting(), 2, rank=0, world_size=1, group_ids=groups, start_iter=0)), 5))
    assert [[i for _, i in b] for b in full] == [[1, 2], [0, 3], [4, 5], [7, 8], [6, 9]]
    resumed = next(iter(IterationBatchSampler(Counting(), 2, rank=0, world_size=1, group_ids=groups, start_iter=3)))
    assert resumed == full[3]


def test_lt_and_detectron2_samplers_resume_mid_stream():
    dicts = [{"annotations": [{"category_id": i % 3}]} for i in range(12)]
    for make in (lambda: TrainingSampler(12, seed=5),
                 lambda: ClassAwareSampler(dicts, seed=5, rank=0, world_size=1)):
        full = list(islice(iter(IterationBatchSampler(make(), 4, rank=0, world_size=1, start_iter=0)), 6))
        assert list(islice(iter(IterationBatchSampler(make(), 4, rank=0, world_size=1, start_iter=4)), 2)) == full[4:6]


def test_seeded_samples_depend_on_the_position_only():
    def draw(idx):
        return (random.random(), float(np.random.rand()), float(torch.rand(())))

    ds = SeededSamples(draw, 10, seed=3)
    before = torch.get_rng_state()
    a = ds[(17, 0)]
    np.random.rand(5)  # whatever happened in between
    assert ds[(17, 4)] == a and ds[(18, 0)] != a  # same position -> same draws, whatever the index
    with seeded_rng(1):
        pass
    assert torch.equal(torch.get_rng_state(), before)  # the caller's state is restored
