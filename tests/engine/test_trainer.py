"""LTTrainer's public extension points: hooks found by type, the stage config, loader and LR
scheduler replacement, final results returned by train()."""
import pytest
import torch
from detectron2.engine import hooks

from lt_det.config import get_lt_cfg
from lt_det.engine import LTTrainer, StageScheduleHook


class TinyModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, batch):
        return {"loss": (self.w * batch).sum()}


class TinyTrainer(LTTrainer):
    @classmethod
    def build_model(cls, cfg):
        return TinyModel()

    @classmethod
    def build_train_loader(cls, cfg):
        value = float(cfg.SOLVER.IMS_PER_BATCH)  # the loader tells which config built it

        def gen():
            while True:
                yield torch.tensor([value])

        return gen()

    @classmethod
    def test(cls, cfg, model, evaluators=None):
        return {"toy": {"w": float(model.w.detach())}}


def _cfg(tmp_path):
    cfg = get_lt_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = str(tmp_path)
    cfg.DATASETS.TRAIN = ()
    cfg.DATASETS.TEST = ()
    cfg.SOLVER.MAX_ITER = 4
    cfg.SOLVER.BASE_LR = 0.1
    cfg.SOLVER.STEPS = ()
    cfg.SOLVER.WARMUP_ITERS = 0
    cfg.SOLVER.WEIGHT_DECAY = 0.0  # plain SGD with momentum: the expected w is computed by hand
    cfg.SOLVER.IMS_PER_BATCH = 2
    cfg.SOLVER.CHECKPOINT_PERIOD = 100
    cfg.LT.STAGES = [{"NAME": "b", "START_ITER": 2, "OVERRIDES": ["SOLVER.BASE_LR", 0.01]}]
    return cfg


def test_stage_hook_follows_the_lr_hook_and_train_returns_results(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.freeze()
    t = TinyTrainer(cfg)
    types = [type(h) for h in t._hooks]
    assert types.index(StageScheduleHook) == types.index(hooks.LRScheduler) + 1
    assert isinstance(t.find_hook(StageScheduleHook), StageScheduleHook)
    assert t.find_hook(hooks.TorchProfiler) is None
    assert t.stage_cfg is t.cfg
    t.resume_or_load(resume=False)
    results = t.train()
    # loss = w * 2 -> dL/dw = 2; SGD with momentum 0.9 (detectron2's default): v_i = 0.9 v_{i-1} + 2,
    # w -= lr_i v_i with lr 0.1, 0.1 (iterations 0, 1), then the stage's 0.01, 0.01.
    v, w = 0.0, 1.0
    for lr in (0.1, 0.1, 0.01, 0.01):
        v = 0.9 * v + 2.0
        w -= lr * v
    assert results == {"toy": {"w": pytest.approx(w, rel=1e-6)}}
    assert t.stage_cfg.SOLVER.BASE_LR == 0.01  # the stage's config is what the trainer reads


def test_rebuild_loader_and_replace_scheduler(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.LT.STAGES = []
    cfg.freeze()
    t = TinyTrainer(cfg)
    other = cfg.clone()
    other.defrost()
    other.SOLVER.IMS_PER_BATCH = 5
    t.set_stage_cfg(other)
    t.rebuild_train_loader()  # from stage_cfg
    assert float(next(iter(t.data_loader))) == 5.0
    # A step schedule of 4 iterations with a step at 2 started at iteration 1: at iteration 3
    # it is at step 2, so lr = 0.1 * 0.5.
    other.SOLVER.STEPS = (2,)
    other.SOLVER.GAMMA = 0.5
    other.SOLVER.MAX_ITER = 4
    t.iter = 3
    sched = t.replace_lr_scheduler(other, first_iter=1)
    assert t.scheduler is sched
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
