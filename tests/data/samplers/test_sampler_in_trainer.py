"""Samplers inside detectron2's loader and trainer: a resumed run and a stage switch (lt_det's
StageScheduleHook rebuilding the loader) see exactly the stream positions of their iterations,
with nothing but the sampler's own start rule."""
import pytest
import torch
from detectron2.data import build_detection_train_loader
from detectron2.engine import HookBase, SimpleTrainer
from sampler_data import det_dicts, take

from lt_det.config import get_lt_cfg
from lt_det.data.samplers import ClassAwareSampler, QPowerSampler, build_lt_sampler
from lt_det.engine.stage_schedule import StageScheduleHook, parse_stages

IMS = 4


class RecordingModel(torch.nn.Module):
    """Records the image ids of each iteration's batch."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen = {}
        self.iter = None

    def forward(self, batch):
        self.seen[self.iter] = [d["image_id"] for d in batch]
        return {"loss": self.w.sum() * 0}


class TellIteration(HookBase):
    def before_step(self):
        self.trainer.model.iter = self.trainer.iter


def loader(sampler, num_workers=0):
    return build_detection_train_loader(
        dataset=det_dicts(), mapper=lambda d: d, sampler=sampler, total_batch_size=IMS,
        aspect_ratio_grouping=False, num_workers=num_workers,
    )


def run(data_loader, start_iter, max_iter, hooks=()):
    model = RecordingModel()
    trainer = SimpleTrainer(model, data_loader, torch.optim.SGD(model.parameters(), lr=0.1))
    trainer.register_hooks([TellIteration(), *hooks])
    trainer.train(start_iter, max_iter)
    return model.seen


def batches(stream, iters):
    return {i: stream[IMS * i : IMS * i + IMS].tolist() for i in iters}


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resumed_run_sees_the_same_batches(num_workers):
    # The sampler runs in the main process, or in each of 2 workers, which shard it: a run
    # resumed at iteration 6 sees the batches of iterations 6.. of the uninterrupted run,
    # i.e. stream positions [4 i, 4 i + 4).
    def make():
        return QPowerSampler(det_dicts(), q=0.5, seed=7, rank=0, world_size=1, ims_per_batch=IMS)

    full = run(loader(make()), 0, 10)
    resumed = run(loader(make(), num_workers), 6, 10)
    assert full == batches(take(make(), 40), range(10))
    assert resumed == {i: full[i] for i in range(6, 10)}


def _stage_cfg():
    cfg = get_lt_cfg()
    cfg.merge_from_list([
        "DATALOADER.SAMPLER_TRAIN", "QPowerSampler", "DATALOADER.LT.Q", 1.0, "DATALOADER.LT.SEED", 3,
        "SOLVER.IMS_PER_BATCH", IMS, "SOLVER.MAX_ITER", 10,
        "LT.STAGES", [{"NAME": "drs", "START_ITER": 5, "OVERRIDES": ["DATALOADER.SAMPLER_TRAIN", "ClassAwareSampler"]}],
    ])
    return cfg


@pytest.mark.parametrize("start_iter", [0, 7])
def test_deferred_resampling_switches_at_the_boundary(start_iter):
    # Instance-balanced (q = 1) until iteration 4, class-aware from iteration 5 (the hook
    # rebuilds the loader, whose new sampler starts at position 5 * 4 = 20), also when the
    # run resumes inside the stage.
    cfg = _stage_cfg()
    hook = StageScheduleHook(cfg, parse_stages(cfg.LT.STAGES, cfg.SOLVER.MAX_ITER),
                             build_train_loader=lambda c: loader(build_lt_sampler(c, det_dicts())))
    seen = run(loader(build_lt_sampler(cfg, det_dicts())), start_iter, 10, hooks=[hook])
    kw = {"seed": 3, "rank": 0, "world_size": 1}
    expected = {
        **batches(take(QPowerSampler(det_dicts(), q=1.0, **kw), 40), range(5)),
        **batches(take(ClassAwareSampler(det_dicts(), **kw), 40), range(5, 10)),
    }
    assert seen == {i: expected[i] for i in range(start_iter, 10)}
