"""Runs a tiny LTTrainer training and records every iteration's loss terms; optionally kills
itself (SIGKILL) right after the checkpoint hook of a given iteration, as a crash would.

In-process: ``run(config, out, opts, ...)``. As a script (the run to be killed):
``python resume_runner.py CONFIG OUT KILL_AFTER ROWS_FILE NUM_THREADS [KEY VALUE ...]``.
"""
import json
import os
import signal
import sys

import torch
from detectron2.engine import HookBase
from detectron2.utils.env import seed_all_rng

from lt_det.config import get_lt_cfg
from lt_det.engine import LTTrainer


class LossRecorder(HookBase):
    """``rows[iteration] = {loss name: value}`` from the trainer's storage after each step
    (registered after detectron2's hooks, so the checkpoint of the step is already written)."""

    def __init__(self, kill_after=None, rows_file=None):
        self.rows, self.kill_after, self.rows_file = {}, kill_after, rows_file

    def after_step(self):
        it = self.trainer.iter
        row = {k: v for k, (v, i) in self.trainer.storage.latest().items() if "loss" in k and i == it}
        self.rows[it] = row
        if self.rows_file:
            with open(self.rows_file, "a") as f:
                f.write(json.dumps({"iteration": it, **row}) + "\n")
        if self.kill_after is not None and it == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)


def run(config, out, opts, kill_after=None, resume=False, rows_file=None):
    cfg = get_lt_cfg()
    cfg.merge_from_file(config)
    cfg.merge_from_list(list(opts))
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = str(out)
    cfg.freeze()
    seed_all_rng(cfg.SEED)  # what detectron2's default_setup does in tools/train_net.py
    trainer = LTTrainer(cfg)
    recorder = LossRecorder(kill_after, rows_file)
    trainer.register_hooks([recorder])
    trainer.resume_or_load(resume=resume)
    trainer.train()
    return recorder.rows


if __name__ == "__main__":
    config, out, kill_after, rows_file, threads, *opts = sys.argv[1:]
    torch.set_num_threads(int(threads))
    run(config, out, opts, kill_after=int(kill_after), rows_file=rows_file)
