"""Stage switches happen exactly at their boundary and survive a resume.

A real ``LTTrainer`` (detectron2's ``DefaultTrainer``) runs a toy model whose batches say which loader made
them, so the test sees the sampler, loss, LR, mixup and frozen modules of every iteration.
"""
import os

import pytest
import torch
from detectron2.engine import hooks
from torch import nn

from lt_det.config import get_lt_cfg
from lt_det.engine import LTTrainer
from lt_det.losses import build_loss
from lt_det.data.mixup import InputMixup
from lt_det.engine.stage_schedule import StageScheduleHook, active_stage, iters_per_epoch, parse_stages


class ToyModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.head = nn.Linear(2, 2)
        self.loss = build_loss(cfg, 2, use_background=False)
        self.loss_weight = 1.0
        self.mixup = None
        self.tags = []

    def forward(self, batch):
        self.tags.append(batch["tag"])
        logits = self.head(self.backbone(batch["x"]))
        return {"loss_cls": self.loss_weight * self.loss(logits, batch["y"])}


def toy_loader(cfg):
    tag = cfg.DATALOADER.SAMPLER_TRAIN
    g = torch.Generator().manual_seed(0)
    while True:
        yield {"x": torch.randn(4, 2, generator=g), "y": torch.tensor([0, 1, 0, 1]), "tag": tag}


class Recorder(hooks.HookBase):
    def __init__(self):
        self.rows = {}

    def before_step(self):
        m = self.trainer.model
        self.rows[self.trainer.iter] = {
            "lr": self.trainer.optimizer.param_groups[0]["lr"],
            "loss": type(m.loss).__name__,
            "mixup": type(m.mixup).__name__,
            "backbone_frozen": not m.backbone.weight.requires_grad,
        }


class ToyTrainer(LTTrainer):
    @classmethod
    def build_model(cls, cfg):
        return ToyModel(cfg)

    @classmethod
    def build_train_loader(cls, cfg):
        return toy_loader(cfg)

    def build_hooks(self):
        self.recorder = Recorder()
        self.stage_hook = StageScheduleHook.from_config(self.cfg)
        return [
            hooks.IterationTimer(),
            hooks.LRScheduler(),
            self.stage_hook,
            hooks.PeriodicCheckpointer(self.checkpointer, self.cfg.SOLVER.CHECKPOINT_PERIOD),
            self.recorder,
        ]


def _cfg(out):
    cfg = get_lt_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = str(out)
    cfg.DATASETS.TRAIN = ()
    cfg.DATASETS.TEST = ()
    cfg.SOLVER.MAX_ITER = 12
    cfg.SOLVER.BASE_LR = 0.1
    cfg.SOLVER.STEPS = ()
    cfg.SOLVER.WARMUP_ITERS = 0
    cfg.SOLVER.IMS_PER_BATCH = 4
    cfg.SOLVER.CHECKPOINT_PERIOD = 6
    cfg.LT.STAGES = [
        {
            "NAME": "rebalance",
            "START_ITER": 4,
            "OVERRIDES": [
                "DATALOADER.SAMPLER_TRAIN", "RepeatFactorTrainingSampler",
                "MODEL.LT.LOSS.NAME", "LabelSmoothingCE",
                "SOLVER.BASE_LR", 0.01,
                "SOLVER.STEPS", (2,),
            ],
            "REINIT": ["head"],
        },
        {"NAME": "finetune", "START_ITER": 8, "OVERRIDES": ["LT.FREEZE", ["backbone"], "MODEL.LT.MIXUP.NAME", "InputMixup"]},
    ]
    return cfg


def _expected(it):
    # Base until 3: TrainingSampler, SoftmaxCE, lr 0.1. Stage 1 from 4: its own schedule,
    # lr 0.01 for 2 iterations then x0.1 (steps count from the stage start). Stage 2 from 8:
    # no SOLVER overrides -> stage 1's schedule goes on (0.001); backbone frozen, mixup on.
    if it < 4:
        return "TrainingSampler", {"lr": 0.1, "loss": "SoftmaxCE", "mixup": "NoneType", "backbone_frozen": False}
    lr = 0.01 if it < 6 else 0.001
    if it < 8:
        return "RepeatFactorTrainingSampler", {"lr": lr, "loss": "LabelSmoothingCE", "mixup": "NoneType",
                                               "backbone_frozen": False}
    return "RepeatFactorTrainingSampler", {"lr": lr, "loss": "LabelSmoothingCE", "mixup": "InputMixup",
                                           "backbone_frozen": True}


def test_switches_at_boundaries_and_resume(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.freeze()
    t = ToyTrainer(cfg)
    head_before = {}

    class Snap(hooks.HookBase):
        def before_step(self):
            if self.trainer.iter == 4:
                head_before["w"] = self.trainer.model.head.weight.detach().clone()

        def after_step(self):
            if self.trainer.iter == 3:
                head_before["w3"] = self.trainer.model.head.weight.detach().clone()

    t.register_hooks([Snap()])
    t.resume_or_load(resume=False)
    t.train()
    rows, tags = t.recorder.rows, t.model.tags
    assert sorted(rows) == list(range(12))
    for it in range(12):
        tag, row = _expected(it)
        assert tags[it] == tag, it
        assert row == pytest.approx(rows[it]), it
    assert isinstance(t.model.mixup, InputMixup)
    # REINIT: the head at the start of iteration 4 differs from the head after iteration 3.
    assert not torch.allclose(head_before["w"], head_before["w3"])

    # Resume from the checkpoint of iteration 5 (inside stage 1, before stage 2).
    os.remove(os.path.join(cfg.OUTPUT_DIR, "model_final.pth"))
    with open(os.path.join(cfg.OUTPUT_DIR, "last_checkpoint"), "w") as f:
        f.write("model_0000005.pth")
    ckpt_head = torch.load(os.path.join(cfg.OUTPUT_DIR, "model_0000005.pth"), weights_only=False)["model"]["head.weight"]
    t2 = ToyTrainer(cfg)
    seen = {}

    class Snap2(hooks.HookBase):
        def before_step(self):
            seen.setdefault("head", self.trainer.model.head.weight.detach().clone())

    t2.register_hooks([Snap2()])
    t2.resume_or_load(resume=True)
    assert t2.start_iter == 6
    t2.train()
    assert sorted(t2.recorder.rows) == list(range(6, 12))
    for it in range(6, 12):
        tag, row = _expected(it)
        assert t2.model.tags[it - 6] == tag, it
        assert row == pytest.approx(t2.recorder.rows[it]), it
    # Resuming inside a stage does not re-initialise its REINIT modules: the head trained on
    # from the checkpoint (its first step used the checkpoint's weights).
    assert t2.stage_hook.current == 1
    assert torch.equal(seen["head"], ckpt_head)


def test_parse_and_validate():
    assert iters_per_epoch(1000, 128) == 8  # ceil(1000 / 128)
    stages = parse_stages([{"START_EPOCH": 2}, {"START_ITER": 20, "NAME": "ft"}], max_iter=40, epoch_iters=8)
    assert [s.start_iter for s in stages] == [16, 20] and stages[1].name == "ft"
    assert [active_stage(stages, i) for i in (0, 15, 16, 19, 20, 39)] == [-1, -1, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="exactly one of START_EPOCH and START_ITER"):
        parse_stages([{"START_EPOCH": 1, "START_ITER": 3}], 10, 2)
    with pytest.raises(ValueError, match="outside"):
        parse_stages([{"START_ITER": 10}], 10)
    with pytest.raises(ValueError, match="after the previous stage"):
        parse_stages([{"START_ITER": 5}, {"START_ITER": 5}], 10)
    with pytest.raises(ValueError, match="unknown fields"):
        parse_stages([{"START_ITER": 5, "LR": 1}], 10)
    with pytest.raises(ValueError, match="KEY, VALUE pairs"):
        parse_stages([{"START_ITER": 5, "OVERRIDES": ["SOLVER.BASE_LR"]}], 10)
    cfg = get_lt_cfg()
    cfg.SOLVER.MAX_ITER = 10
    cfg.LT.STAGES = [{"START_ITER": 5, "OVERRIDES": ["MODEL.BACKBONE.NAME", "x"]}]
    with pytest.raises(ValueError, match="cannot change mid-run"):
        StageScheduleHook.from_config(cfg)
    cfg.LT.STAGES = [{"START_ITER": 5, "OVERRIDES": ["LT.NO_SUCH_KEY", 1]}]
    with pytest.raises(KeyError, match="not a config key"):
        StageScheduleHook.from_config(cfg)


@pytest.mark.parametrize(
    "stage,match",
    [
        ({"OVERRIDES": ["MODEL.LT.LOSS.NAME", "NoSuchLoss"]}, "stage 'late'.*NoSuchLoss"),
        ({"OVERRIDES": ["MODEL.LT.LOSS.NAME", "SigmoidBCE"], "REINIT": ["neck"]}, "stage 'late'.*neck"),
        ({"OVERRIDES": ["DATALOADER.SAMPLER_TRAIN", "NoSuchSampler"]}, "stage 'late'.*NoSuchSampler"),
        ({"OVERRIDES": ["SOLVER.LR_SCHEDULER_NAME", "NoSuchLR"]}, "stage 'late'.*NoSuchLR"),
        ({"OVERRIDES": ["MODEL.LT.CLASSIFIER.LWS", True]}, "stage 'late'.*LTTricksClassifier"),
    ],
)
def test_a_bad_stage_fails_when_the_trainer_is_built(tmp_path, stage, match):
    # #12.14: a stage's overrides are checked against the model when the run starts (the
    # trainer's construction, before tools/train_net.py calls train()), not at iteration 50.
    from lt_det.engine import LTTrainer
    from lt_det.testing import load_recipe, tiny_recipe

    cfg = tiny_recipe(load_recipe("configs/LTImages/cls_resnet8_ce_tiny.yaml"), str(tmp_path))
    cfg.LT.STAGES = [{"NAME": "late", "START_ITER": 50, **stage}]
    cfg.SOLVER.MAX_ITER, cfg.SOLVER.STEPS = 100, (60,)
    with pytest.raises(ValueError, match=match):
        LTTrainer(cfg)


def test_top_level_cosine_ends_at_the_first_solver_stage(tmp_path):
    # Top level: cosine 0.1 -> 0 (no warm-up); a stage at iteration 4 sets lr 0.01 constant.
    # The top-level schedule spans iterations 0-3 only: lr_i = 0.05 (1 + cos(pi i / 4)).
    import math

    cfg = _cfg(tmp_path)
    cfg.SOLVER.LR_SCHEDULER_NAME = "WarmupCosineLR"
    cfg.SOLVER.BASE_LR_END = 0.0
    cfg.LT.STAGES = [{"NAME": "s2", "START_ITER": 4,
                      "OVERRIDES": ["SOLVER.BASE_LR", 0.01, "SOLVER.LR_SCHEDULER_NAME", "WarmupMultiStepLR"]}]
    cfg.freeze()
    t = ToyTrainer(cfg)
    t.resume_or_load(resume=False)
    t.train()
    lrs = [t.recorder.rows[i]["lr"] for i in range(12)]
    assert lrs[:4] == pytest.approx([0.05 * (1 + math.cos(math.pi * i / 4)) for i in range(4)])
    assert lrs[4:] == pytest.approx([0.01] * 8)
