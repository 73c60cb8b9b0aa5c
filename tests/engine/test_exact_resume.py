"""#12.2: with a fixed SEED on CPU, a run killed with SIGKILL after a checkpoint and resumed
computes exactly the losses of the uninterrupted run at every later iteration (detection,
classification, a stage schedule; 0 and 2 data-loader workers).

Per iteration, every loss term is compared for equality (not closeness): the batch of
iteration i, its augmentations and the model's random draws are functions of (SEED, i)
(lt_det.data.resumable, lt_det.engine.hooks.IterationSeed), the weights, optimizer and LR
schedule come from the checkpoint. The killed run uses 2 workers and the reference 0, so
iterations before the kill also check that the worker count does not change a batch.
"""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from resume_runner import run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))

# 6 iterations, a checkpoint after iterations 2 and 5 (CHECKPOINT_PERIOD 3), killed after
# iteration 3: the resumed run starts from model_0000002.pth at iteration 3.
COMMON = ["SEED", "7", "SOLVER.MAX_ITER", "6", "SOLVER.CHECKPOINT_PERIOD", "3", "DATASETS.TEST", "()",
          "SOLVER.WARMUP_ITERS", "2", "SOLVER.STEPS", "(4,)"]
DET = (os.path.join(ROOT, "configs", "LTShapes", "det_faster_r18gn_softmax_tiny.yaml"), COMMON)
CLS = (os.path.join(ROOT, "configs", "LTImages", "cls_resnet8_ce_tiny.yaml"), COMMON + ["SOLVER.IMS_PER_BATCH", "8"])
# Stage 1 from iteration 2 (class-aware sampling, its own LR schedule), stage 2 from 4 (DRW:
# class-balanced CE): the resumed run starts inside stage 1 and crosses into stage 2.
STAGES = [
    {"NAME": "drs", "START_ITER": 2, "OVERRIDES": ["DATALOADER.SAMPLER_TRAIN", "ClassAwareSampler",
                                                    "SOLVER.BASE_LR", 0.02, "SOLVER.STEPS", (2,)]},
    {"NAME": "drw", "START_ITER": 4, "OVERRIDES": ["MODEL.LT.LOSS.NAME", "ClassBalancedCE"]},
]
CLS_STAGES = (CLS[0], CLS[1] + ["LT.STAGES", repr(STAGES)])
KILL_AFTER, RESUME_AT = 3, 3


def _killed_run(config, opts, out, workers):
    rows_file = out.parent / f"{out.name}_rows.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, HERE]), OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "resume_runner.py"), config, str(out), str(KILL_AFTER), str(rows_file),
         str(torch.get_num_threads()), *opts, "DATALOADER.NUM_WORKERS", str(workers)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert (out / "last_checkpoint").read_text() == f"model_{RESUME_AT - 1:07d}.pth"
    return {r.pop("iteration"): r for r in map(json.loads, open(rows_file))}


@pytest.mark.parametrize("case", [DET, CLS, CLS_STAGES], ids=["detection", "classification", "stage_schedule"])
def test_resume_after_kill_repeats_the_uninterrupted_losses(tmp_path, case):
    config, opts = case
    reference = run(config, tmp_path / "reference", opts + ["DATALOADER.NUM_WORKERS", "0"])
    assert sorted(reference) == list(range(6))
    before_kill = _killed_run(config, opts, tmp_path / "killed", workers=2)
    assert before_kill == {i: reference[i] for i in range(KILL_AFTER + 1)}
    for workers in (2, 0):
        out = tmp_path / f"resumed_{workers}"
        shutil.copytree(tmp_path / "killed", out)
        resumed = run(config, out, opts + ["DATALOADER.NUM_WORKERS", str(workers)], resume=True)
        assert sorted(resumed) == list(range(RESUME_AT, 6)), workers
        for it in range(RESUME_AT, 6):
            assert resumed[it] == reference[it], (workers, it)
