"""Runs Decoupled Optimisation's mask choice in 2 CPU processes (gloo) through detectron2's
``launch``, as ``tools/train_net.py --num-gpus 2`` does, and saves per rank what a single
process needs to repeat it: the initial weights, every batch each group loader handed out
(by loader seed) and the owner masks after each step.

``python do_ddp_runner.py OUT [KEY VALUE ...]`` writes ``OUT/rank<r>.pth``.

The steps (:func:`decoupling_steps`) are the hook's own: stage 1's two pruning steps (the
first one scans gamma, ``LT.DECOUPLE.GAMMAS: [-1, ...]``), the end of stage 1 (pruned
elements re-initialised), stage 2's two pruning steps. They run on the untrained network:
training in between would make the comparison one of DDP against single-process training.
"""
import os
import sys

import torch
from detectron2.engine import launch
from detectron2.utils import comm
from detectron2.utils.env import seed_all_rng
from detectron2.utils.events import EventStorage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "projects", "DecoupledOptimisation", "configs", "lt_images_tiny_do.yaml")


def do_cfg(out, opts):
    from lt_det.config import get_lt_cfg

    cfg = get_lt_cfg()
    cfg.merge_from_file(CONFIG)
    cfg.merge_from_list(list(opts))
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = str(out)
    cfg.freeze()
    return cfg


def decoupling_hook(trainer):
    from lt_det.engine import ParamDecouplingHook

    return trainer.find_hook(ParamDecouplingHook)


def owners(hook):
    masks = hook.masks
    return {n: masks.owner(n).clone() for n in masks.params(hook.model)}


def decoupling_steps(trainer, hook):
    """[owner masks after each step], gamma_best of stage 1 and the final weights."""
    hook.before_train()  # installs the masks on the model and the optimizer
    after = []
    with EventStorage(0) as trainer.storage:
        for s in (1, 2):
            hook.prune_step(0, s)
            after.append(owners(hook))
        hook.finish(1)
        after.append(owners(hook))
        for s in (1, 2):
            hook.prune_step(1, s)
            after.append(owners(hook))
    params = {n: p.detach().clone() for n, p in hook.masks.params(hook.model).items()}
    return after, float(hook.masks.gammas[0]), params


class RecordingLoader:
    """``build_train_loader`` that records every batch it hands out, by the loader's seed
    (the hook seeds each group loader by stage and step)."""

    def __init__(self, build):
        self.build = build
        self.batches = {}

    def __call__(self, cfg):
        seen = self.batches.setdefault(int(cfg.DATALOADER.LT.SEED), [])
        for batch in self.build(cfg):
            seen.append(batch)
            yield batch


def main(out, opts):
    torch.set_num_threads(1)
    from lt_det.engine import LTTrainer
    from lt_det.modeling.freeze import unwrap

    cfg = do_cfg(out, opts)
    seed_all_rng(cfg.SEED + comm.get_rank())  # different inits on purpose: DDP broadcasts rank 0's
    trainer = LTTrainer(cfg)
    hook = decoupling_hook(trainer)
    rec = RecordingLoader(trainer.build_train_loader)
    hook._build_train_loader = rec
    init = {k: v.clone() for k, v in unwrap(trainer.model).state_dict().items()}
    after, gamma, params = decoupling_steps(trainer, hook)
    torch.save({"world_size": comm.get_world_size(), "init": init, "batches": rec.batches,
                "owners": after, "gamma": gamma, "params": params},
               os.path.join(out, f"rank{comm.get_rank()}.pth"))


if __name__ == "__main__":
    out, *opts = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    launch(main, 2, num_machines=1, machine_rank=0, dist_url="auto", args=(out, opts))
