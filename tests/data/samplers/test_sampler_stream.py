"""The stream contract every sampler shares: determinism, rank sharding, resume, start from
the running trainer's iteration, stage switches, state_dict, and building from a config
(the same inside detectron2's trainer: test_sampler_in_trainer.py)."""
from itertools import islice

import numpy as np
import pytest
from detectron2.utils.events import EventStorage
from sampler_data import SAMPLERS, cls_dicts, det_dicts, take

from lt_det.config import get_lt_cfg
from lt_det.data.samplers import SAMPLER_REGISTRY, build_lt_sampler, is_lt_sampler

N = 3000  # indices drawn per check; block_size 64 makes them cross many blocks / epochs


def make(spec, dicts, **kw):
    cls, args, _ = spec
    return cls(dicts, **{"seed": 7, "rank": 0, "world_size": 1, "block_size": 64, **args, **kw})


def test_deterministic_for_a_seed(sampler_spec, dicts):
    a, b = take(make(sampler_spec, dicts), N), take(make(sampler_spec, dicts), N)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, take(make(sampler_spec, dicts, seed=8), N))
    assert a.min() >= 0 and a.max() < len(dicts)


def test_ranks_take_disjoint_positions_of_one_stream(sampler_spec, dicts):
    # Rank r of 3 yields global positions r, r + 3, ...: interleaving the ranks rebuilds the
    # single-process stream, so no position is drawn twice.
    full = take(make(sampler_spec, dicts), 3 * N)
    for r in range(3):
        assert np.array_equal(take(make(sampler_spec, dicts, rank=r, world_size=3), N), full[r::3])


@pytest.mark.parametrize("start", [0, 1, 63, 64, 1001])
def test_resume_continues_the_stream(sampler_spec, start):
    dicts = det_dicts()
    full = take(make(sampler_spec, dicts), start + 2 * N)
    assert np.array_equal(take(make(sampler_spec, dicts, start=start), N), full[start : start + N])
    # Two ranks resuming at the same global position continue their own shards.
    r1 = take(make(sampler_spec, dicts, start=start, rank=1, world_size=2), N // 2)
    first = start + ((1 - start) % 2)
    assert np.array_equal(r1, full[first : first + N - 1 : 2])


def test_set_start_and_state_dict(sampler_spec):
    dicts = cls_dicts()
    s = make(sampler_spec, dicts)
    it = iter(s)
    head = np.fromiter(islice(it, 500), dtype=np.int64)
    state = s.state_dict()
    assert state["num_consumed"] == 500 and state["seed"] == 7
    tail = np.fromiter(islice(it, 500), dtype=np.int64)
    other = make(sampler_spec, dicts, seed=99)
    other.load_state_dict(state)  # seed and position come from the state
    assert np.array_equal(take(other, 500), tail)
    s.set_start(250)
    assert np.array_equal(take(s, 250), head[250:])


def test_start_follows_the_trainer_iteration(sampler_spec):
    # Inside a trainer's EventStorage at iteration 5 with 4 images per batch, the stream
    # starts at position 20: what a resumed run (or a loader rebuilt at a stage boundary)
    # must see at iteration 5.
    dicts = det_dicts()
    full = take(make(sampler_spec, dicts), 200)
    s = make(sampler_spec, dicts, ims_per_batch=4)
    with EventStorage(start_iter=5):
        got = take(s, 100)
    assert np.array_equal(got, full[20:120])
    assert np.array_equal(take(s, 100), full[:100])  # outside a trainer: position 0


def test_switch_before_iterating_equals_a_fresh_sampler(sampler_spec, dicts):
    cls, args, change = sampler_spec
    s = make(sampler_spec, dicts)
    s.set_distribution(**change)
    assert s.distribution() == {**s.distribution(), **change}
    assert np.array_equal(take(s, N), take(make(sampler_spec, dicts, **change), N))
    with pytest.raises(ValueError, match="unknown parameters"):
        s.set_distribution(no_such_parameter=1)


@pytest.mark.parametrize("name", ["QPowerSampler", "RepeatFactorSampler-ceil"])
def test_switch_mid_stream_takes_effect_at_the_next_block(name):
    # Blocks (and epoch chunks) are 64 positions and the ceil epoch here is longer than 64:
    # a switch after 10 indices leaves positions 10..63 unchanged; from 64 on the stream is
    # that of a fresh sampler with the new distribution started at 64.
    spec = SAMPLERS[name]
    dicts = cls_dicts() * 10
    s = make(spec, dicts)
    it = iter(s)
    got = [next(it) for _ in range(10)]
    s.set_distribution(**spec[2])
    got += [next(it) for _ in range(500)]
    old = take(make(spec, dicts), 64)
    new = take(make(spec, dicts, start=64, **spec[2]), 446)
    assert np.array_equal(got, np.concatenate((old, new)))
    assert not np.array_equal(got[64:], take(make(spec, dicts, start=64), 446))


def test_every_sampler_keeps_or_drops_images_without_annotations(sampler_spec):
    # I4 has no annotations: "keep" draws it, "drop" never does; neither raises. (Random
    # under-sampling keeps one image of class 0 only, so not every image need be drawn.)
    kept = take(make(sampler_spec, det_dicts(), empty_images="keep"), N)
    dropped = take(make(sampler_spec, det_dicts(), empty_images="drop"), N)
    assert 4 in kept and 4 not in dropped
    assert {1, 3} <= set(dropped.tolist()) <= {0, 1, 2, 3}


def test_all_images_empty_and_dropped_is_a_clear_error(sampler_spec):
    with pytest.raises(ValueError, match="dropped|nothing can be drawn|no class|no training samples"):
        make(sampler_spec, [{"annotations": []}] * 3, empty_images="drop")


def test_single_class_data_set(sampler_spec):
    # One class with three samples: every sampler is uniform over them.
    dicts = [{"label": 0}] * 3
    counts = np.bincount(take(make(sampler_spec, dicts), 3000), minlength=3)
    assert counts.sum() == 3000 and counts.min() > 900


def test_bad_constructor_arguments():
    cls, args, _ = SAMPLERS["QPowerSampler"]
    with pytest.raises(ValueError, match="rank 2"):
        cls(cls_dicts(), q=1.0, seed=0, rank=2, world_size=2)
    with pytest.raises(ValueError, match="seed"):
        cls(cls_dicts(), q=1.0, seed=-3, rank=0, world_size=1)
    with pytest.raises(ValueError, match="empty_images"):
        cls(cls_dicts(), q=1.0, seed=0, rank=0, world_size=1, empty_images="maybe")


# ---------------------------------------------------------------------- config / registry
CONFIG_CHECKS = {
    # name -> (cfg overrides, expected distribution())
    "RepeatFactorSampler": (
        ["DATALOADER.REPEAT_THRESHOLD", 0.3, "DATALOADER.LT.REPEAT_ROUNDING", "ceil"],
        {"repeat_thresh": 0.3, "sqrt": True, "rounding": "ceil"},
    ),
    "ClassAwareSampler": (["DATALOADER.LT.CLASS_AWARE_SAMPLES_PER_CLASS", 4], {"num_samples_per_class": 4}),
    "QPowerSampler": (["DATALOADER.LT.Q", 0.25], {"q": 0.25}),
    # 12 samples / 4 per batch = 3 iterations per epoch; MAX_ITER 10 -> ceil(10 / 3) = 4 epochs.
    "ProgressiveSampler": (
        ["DATALOADER.LT.PROGRESSIVE.START", 1],
        {"total": 4, "unit": "epoch", "schedule_start": 1, "progress": None},
    ),
    "GroupPreferredSampler": (
        ["DATALOADER.LT.GROUP_PREFERRED.RHO", 0.7, "DATALOADER.LT.GROUP_PREFERRED.CLASSES", [1, 2]],
        {"rho": 0.7, "classes": (1, 2), "min_count": 20, "max_count": 100, "within_q": 1.0},
    ),
    "RandomOverSampler": ([], {}),
    "RandomUnderSampler": (["DATALOADER.LT.UNDER_SAMPLING_FIXED_SUBSET", False], {"fixed_subset": False}),
}


def test_config_checks_cover_the_registry():
    assert sorted(CONFIG_CHECKS) == sorted(name for name, _ in SAMPLER_REGISTRY)


@pytest.mark.parametrize("name", sorted(CONFIG_CHECKS))
def test_build_from_config(name):
    overrides, expected = CONFIG_CHECKS[name]
    cfg = get_lt_cfg()
    cfg.merge_from_list(["DATALOADER.SAMPLER_TRAIN", name, "SOLVER.IMS_PER_BATCH", 4, "SOLVER.MAX_ITER", 10,
                         "DATALOADER.LT.SEED", 3, *overrides])
    assert is_lt_sampler(name)
    s = build_lt_sampler(cfg, cls_dicts())
    assert type(s) is SAMPLER_REGISTRY.get(name)
    assert s.distribution() == expected
    assert s.seed == 3 and s.ims_per_batch == 4 and s.empty_images == "keep"
    # The seed falls back to SEED, then to detectron2's shared random seed.
    cfg.merge_from_list(["DATALOADER.LT.SEED", -1, "SEED", 11])
    assert build_lt_sampler(cfg, cls_dicts()).seed == 11


def test_unknown_sampler_name_lists_the_registered_ones():
    cfg = get_lt_cfg()
    cfg.DATALOADER.SAMPLER_TRAIN = "ClassBalancedSamplr"
    assert not is_lt_sampler("ClassBalancedSamplr")
    with pytest.raises(KeyError, match="'ClassBalancedSamplr' is not one of lt_det's samplers.*ClassAwareSampler"):
        build_lt_sampler(cfg, cls_dicts())


def test_bad_empty_images_key():
    cfg = get_lt_cfg()
    cfg.merge_from_list(["DATALOADER.SAMPLER_TRAIN", "QPowerSampler", "DATALOADER.LT.EMPTY_IMAGES", "skip"])
    with pytest.raises(ValueError, match="DATALOADER.LT.EMPTY_IMAGES"):
        build_lt_sampler(cfg, det_dicts())


def test_num_classes_from_metadata():
    from detectron2.data import MetadataCatalog

    MetadataCatalog.get("lt_sampler_test_two_classes").thing_classes = ["a", "b"]
    cfg = get_lt_cfg()
    cfg.merge_from_list(
        ["DATALOADER.SAMPLER_TRAIN", "QPowerSampler", "DATASETS.TRAIN", ("lt_sampler_test_two_classes",)]
    )
    with pytest.raises(ValueError, match=r"class id 2 is outside \[0, 2\)"):
        build_lt_sampler(cfg, det_dicts())  # I3 has class 2
