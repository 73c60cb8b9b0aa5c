"""A stage on a subset of classes: LTTrainer with the real classification loader switches
data, sampler and frozen modules exactly at each stage's iteration, and again after a
resume; bad subsets stop the run when the hook is built."""
import collections
import os
import uuid

import numpy as np
import pytest
import torch
from detectron2.engine import hooks
from PIL import Image
from torch import nn
from torch.nn import functional as F

from lt_det.config import get_lt_cfg
from lt_det.data.datasets import register_image_folder
from lt_det.engine import LTTrainer

# Class "a" holds 12 of the 20 training images (share 0.6), "b" and "c" 4 each.
COUNTS = {"a": 12, "b": 4, "c": 4}


class LabelModel(nn.Module):
    """Logits from the batch's mean grey level; remembers what every batch held."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(1, 2)
        self.head = nn.Linear(2, 3)
        self.batches = []

    def forward(self, batch):
        self.batches.append((batch.labels.tolist(), list(batch.image_ids)))
        x = batch.images.float().mean((1, 2, 3))[:, None] / 255
        return {"loss_cls": F.cross_entropy(self.head(self.backbone(x)), batch.labels)}


class Recorder(hooks.HookBase):
    def __init__(self):
        self.frozen = {}

    def before_step(self):
        self.frozen[self.trainer.iter] = not self.trainer.model.backbone.weight.requires_grad


class Trainer(LTTrainer):
    @classmethod
    def build_model(cls, cfg):
        return LabelModel()

    def build_hooks(self):
        self.recorder = Recorder()
        return super().build_hooks() + [self.recorder]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("subset_folder")
    for cls, n in COUNTS.items():
        (root / "train" / cls).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((4, 4), 10 * i, np.uint8), mode="L").save(root / "train" / cls / f"{i}.png")
    (train,) = register_image_folder(f"subset_{uuid.uuid4().hex[:8]}", str(root), splits=("train",))
    return train


def _cfg(train, out):
    cfg = get_lt_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = str(out)
    cfg.DATASETS.TRAIN = (train,)
    cfg.DATASETS.TEST = ()
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.LT.SEED = 0
    cfg.LT.CLS_INPUT.TRAIN_TRANSFORM = "Identity"
    cfg.SOLVER.MAX_ITER = 12
    cfg.SOLVER.IMS_PER_BATCH = 4
    cfg.SOLVER.BASE_LR = 0.01
    cfg.SOLVER.STEPS = ()
    cfg.SOLVER.WARMUP_ITERS = 0
    cfg.SOLVER.CHECKPOINT_PERIOD = 6
    cfg.TEST.EVAL_PERIOD = 0
    cfg.LT.STAGES = [
        # Iterations 4-7: the residual set (class "a" holds > 50 % of the images).
        {"NAME": "residual", "START_ITER": 4, "OVERRIDES": ["LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE", 0.5]},
        # Iterations 8-11: all classes back, class-balanced, backbone frozen.
        {"NAME": "balanced", "START_ITER": 8,
         "OVERRIDES": ["LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE", 0.0, "DATALOADER.SAMPLER_TRAIN", "ClassAwareSampler",
                       "LT.FREEZE", ["backbone"]]},
    ]
    return cfg


def _check(batches, frozen, first):
    """Per-iteration expectations from iteration ``first`` to 11."""
    by_iter = dict(zip(range(first, 12), batches))
    assert sorted(by_iter) == list(range(first, 12)) and sorted(frozen) == list(range(first, 12))
    for it, (labels, _) in by_iter.items():
        assert len(labels) == 4
        if 4 <= it < 8:
            assert 0 not in labels, it  # residual set: no image of class "a"
        assert frozen[it] == (it >= 8), it  # frozen exactly from the boundary
    # Class-aware sampling from iteration 8: each round visits the 3 classes once, so over
    # 16 draws every class comes 5 or 6 times (instance-balanced would give "a" ~ 60 %).
    bal = collections.Counter(l for it in range(8, 12) for l in by_iter[it][0])
    assert sorted(bal) == [0, 1, 2] and all(5 <= n <= 6 for n in bal.values()), bal
    return by_iter


def test_subset_stage_switches_at_boundaries_and_after_resume(folder, tmp_path):
    cfg = _cfg(folder, tmp_path)
    cfg.freeze()
    t = Trainer(cfg)
    t.resume_or_load(resume=False)
    t.train()
    by_iter = _check(t.model.batches, t.recorder.frozen, 0)
    # Before the first stage: instance-balanced over all 20 images (TrainingSampler: the
    # first 16 draws are 16 distinct images of one permutation, at least 8 of class "a").
    first = [l for it in range(4) for l in by_iter[it][0]]
    assert first.count(0) >= 8
    assert len({i for it in range(4) for i in by_iter[it][1]}) == 16
    # Residual stage: 16 draws from its 8 images = two full permutations, each image twice.
    ids = collections.Counter(i for it in range(4, 8) for i in by_iter[it][1])
    assert sorted(ids.values()) == [2] * 8 and all(i >= 12 for i in ids)  # image ids 12..19: "b", "c"

    # Resume from the checkpoint written after iteration 5 (inside the residual stage).
    os.remove(os.path.join(cfg.OUTPUT_DIR, "model_final.pth"))
    with open(os.path.join(cfg.OUTPUT_DIR, "last_checkpoint"), "w") as f:
        f.write("model_0000005.pth")
    t2 = Trainer(cfg)
    t2.resume_or_load(resume=True)
    assert t2.start_iter == 6
    t2.train()
    _check(t2.model.batches, t2.recorder.frozen, 6)


@pytest.mark.parametrize(
    "overrides, needle",
    [
        (["LT.CLASS_SUBSET.REMOVE", ["a", "b", "c"]], "remove every class"),
        (["LT.CLASS_SUBSET.REMOVE", ["zebra"]], "LT.CLASS_SUBSET.REMOVE names 'zebra'"),
        (["LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE", 1.5], "LT.CLASS_SUBSET.REMOVE_SHARE_ABOVE=1.5 is outside (0, 1)"),
    ],
)
def test_bad_stage_subset_fails_when_the_run_starts(folder, tmp_path, overrides, needle):
    cfg = _cfg(folder, tmp_path)
    cfg.LT.STAGES = [{"NAME": "residual", "START_ITER": 4, "OVERRIDES": overrides}]
    with pytest.raises(ValueError) as e:
        Trainer(cfg)  # the hooks are built with the trainer, before any iteration
    assert needle in str(e.value) and str(e.value).startswith("LT.STAGES[0] (residual): ")
    assert "\n" not in str(e.value)
