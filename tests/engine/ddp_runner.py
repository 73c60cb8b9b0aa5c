"""Trains a tiny classification run in 2 CPU processes (gloo) through detectron2's
``launch``, as ``tools/train_net.py --num-gpus 2`` does, and saves per rank: the dataset
indices of each iteration's batch, the final weights and the loss's buffers (EQLv2's
gradient statistics, Seesaw's class counts).

``python ddp_runner.py OUT LOSS_NAME [KEY VALUE ...]`` writes ``OUT/rank<r>.pth``.
"""
import os
import sys

import torch
from detectron2.engine import HookBase, launch
from detectron2.utils import comm
from detectron2.utils.env import seed_all_rng

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "configs", "LTImages", "cls_resnet8_ce_tiny.yaml")


class BatchRecorder(HookBase):
    def __init__(self):
        self.batches = {}

    def before_train(self):
        def pre(module, inputs):
            if module.training:
                self.batches[self.trainer.iter] = inputs[0].indices.tolist()

        from lt_det.modeling.freeze import unwrap

        unwrap(self.trainer.model).register_forward_pre_hook(pre)


def main(out, loss_name, opts):
    torch.set_num_threads(1)
    from lt_det.config import get_lt_cfg
    from lt_det.engine import LTTrainer
    from lt_det.losses import ClassificationLoss
    from lt_det.modeling.freeze import unwrap

    cfg = get_lt_cfg()
    cfg.merge_from_file(CONFIG)
    cfg.merge_from_list(["MODEL.LT.LOSS.NAME", loss_name, *opts])
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = out
    cfg.freeze()
    seed_all_rng(cfg.SEED + comm.get_rank())  # ranks start from different states on purpose
    trainer = LTTrainer(cfg)
    rec = BatchRecorder()
    trainer.register_hooks([rec])
    trainer.resume_or_load(resume=False)
    trainer.train()
    model = unwrap(trainer.model)
    loss = next(m for m in model.modules() if isinstance(m, ClassificationLoss))
    torch.save(
        {"world_size": comm.get_world_size(), "batches": rec.batches,
         "params": {k: v.detach().clone() for k, v in model.named_parameters()},
         "loss_buffers": {k: v.clone() for k, v in loss.named_buffers()}},
        os.path.join(out, f"rank{comm.get_rank()}.pth"),
    )


if __name__ == "__main__":
    out, loss_name, *opts = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    launch(main, 2, num_machines=1, machine_rank=0, dist_url="auto", args=(out, loss_name, opts))
