"""#12.18: 2 CPU processes (gloo) through detectron2's launch, as
``tools/train_net.py --num-gpus 2`` runs on a CPU-only machine: the ranks draw disjoint
shards of one sampler stream, EQLv2's and Seesaw's statistics agree across ranks and the
weights stay identical (BatchNorm's running statistics are per rank: detectron2 builds DDP
with broadcast_buffers=False)."""
import os
import subprocess
import sys

import pytest
import torch

from lt_det.config import get_lt_cfg
from lt_det.data.classification.dataset import get_classification_dataset_dicts
from lt_det.data.samplers import build_lt_sampler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ITERS, BATCH = 3, 8
OPTS = ["SOLVER.MAX_ITER", str(ITERS), "SOLVER.IMS_PER_BATCH", str(BATCH), "DATASETS.TEST", "()",
        "SOLVER.CHECKPOINT_PERIOD", "100"]


def _launch(tmp_path, loss, *opts):
    out = tmp_path / loss
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, os.path.join(HERE, "ddp_runner.py"), str(out), loss, *OPTS, *opts],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [torch.load(out / f"rank{r}.pth", weights_only=False) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    return ranks


def _same_params(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_eqlv2_two_cpu_processes(tmp_path):
    r0, r1 = _launch(tmp_path, "EQLv2", "DATALOADER.SAMPLER_TRAIN", "ClassAwareSampler")
    # Shards: rank r's j-th sample of iteration i is at global position (4 i + j) * 2 + r of
    # the one stream a single process would draw (BATCH 8 = 4 per rank).
    cfg = get_lt_cfg()
    cfg.merge_from_file(os.path.join(ROOT, "configs", "LTImages", "cls_resnet8_ce_tiny.yaml"))
    cfg.merge_from_list(["DATALOADER.SAMPLER_TRAIN", "ClassAwareSampler", "SOLVER.IMS_PER_BATCH", str(BATCH)])
    sampler = build_lt_sampler(cfg, get_classification_dataset_dicts(cfg.DATASETS.TRAIN))
    sampler.set_start(0)
    it = iter(sampler)
    stream = [next(it) for _ in range(ITERS * BATCH)]
    for i in range(ITERS):
        assert r0["batches"][i] != r1["batches"][i]
        for r, ranks in enumerate((r0, r1)):
            assert ranks["batches"][i] == [stream[(4 * i + j) * 2 + r] for j in range(4)], (i, r)
    # EQLv2's accumulated gradient statistics are all-reduced: equal on both ranks, one
    # update per iteration.
    for k in ("pos_grad", "neg_grad", "num_updates"):
        assert torch.equal(r0["loss_buffers"][k], r1["loss_buffers"][k]), k
    assert int(r0["loss_buffers"]["num_updates"]) == ITERS and float(r0["loss_buffers"]["pos_grad"].sum()) > 0
    _same_params(r0["params"], r1["params"])


def test_seesaw_two_cpu_processes(tmp_path):
    r0, r1 = _launch(tmp_path, "Seesaw")
    for i in range(ITERS):
        assert r0["batches"][i] != r1["batches"][i]  # detectron2's TrainingSampler, sharded
    counts0, counts1 = r0["loss_buffers"]["class_counts"], r1["loss_buffers"]["class_counts"]
    assert torch.equal(counts0, counts1)
    # Seesaw counts every label of both ranks: 8 per iteration (no background in classification).
    assert float(counts0.sum()) == pytest.approx(ITERS * BATCH)
    _same_params(r0["params"], r1["params"])
