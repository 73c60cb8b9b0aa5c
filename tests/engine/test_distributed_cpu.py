"""#12.18: 2 CPU processes (gloo) through detectron2's launch, as
``tools/train_net.py --num-gpus 2`` runs on a CPU-only machine: the ranks draw disjoint
shards of one sampler stream, EQLv2's and Seesaw's statistics agree across ranks and the
weights stay identical (BatchNorm's running statistics are per rank: detectron2 builds DDP
with broadcast_buffers=False). #13: Decoupled Optimisation's masks chosen in 2 processes
equal those of one process fed both ranks' batches."""
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


def test_decoupling_two_cpu_processes_choose_the_masks_of_one_fed_the_same_batches(tmp_path):
    # Decoupled Optimisation's mask choice (importance, gamma scan, pruning, end of stage)
    # in 2 gloo processes: each rank draws its own shard of every group loader (8 of the
    # 16 images per batch) and all-reduces the importance sums and the scan's counts. A single
    # process fed both ranks' batches (IMPORTANCE_BATCHES and SCAN_BATCHES doubled to 2)
    # from the same initial weights must choose the same gamma and the same masks.
    sys.path.insert(0, HERE)
    from do_ddp_runner import decoupling_hook, decoupling_steps, do_cfg

    from lt_det.engine import LTTrainer
    from lt_det.modeling.param_masks import FREE, PRUNED

    out = tmp_path / "do"
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, os.path.join(HERE, "do_ddp_runner.py"), str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = [torch.load(out / f"rank{r}.pth", weights_only=False) for r in (0, 1)]
    assert [r["world_size"] for r in (r0, r1)] == [2, 2]
    _same_params(r0["init"], r1["init"])  # DDP broadcast rank 0's weights (the seeds differ)
    # The hook seeds each group loader with SEED * 1000 + tag (SEED 0): tag 100 k + s for
    # pruning step s of stage k + 1 (0-based k), 500 for stage 1's gamma scan. Each rank drew
    # one batch of 8 from every loader, and the ranks' batches differ.
    assert sorted(r0["batches"]) == sorted(r1["batches"]) == [1, 2, 101, 102, 500]
    for seed in r0["batches"]:
        (b0,), (b1,) = r0["batches"][seed], r1["batches"][seed]
        assert len(b0) == len(b1) == 8 and b0.indices.tolist() != b1.indices.tolist()
    # Both ranks chose the same gamma and masks.
    assert r0["gamma"] == r1["gamma"]
    for a, b in zip(r0["owners"], r1["owners"]):
        _same_params(a, b)

    cfg = do_cfg(tmp_path / "single", ["LT.DECOUPLE.IMPORTANCE_BATCHES", "2", "LT.DECOUPLE.SCAN_BATCHES", "2"])
    trainer = LTTrainer(cfg)
    trainer.model.load_state_dict(r0["init"])
    hook = decoupling_hook(trainer)

    def replay(loader_cfg):  # rank 0's batch, then rank 1's, for every loader the hook builds
        seed = int(loader_cfg.DATALOADER.LT.SEED)
        return iter([b for pair in zip(r0["batches"][seed], r1["batches"][seed]) for b in pair])

    hook._build_train_loader = replay
    owners, gamma, params = decoupling_steps(trainer, hook)
    assert gamma == r0["gamma"]
    assert len(owners) == len(r0["owners"]) == 5
    for single, ddp in zip(owners, r0["owners"]):
        _same_params(single, ddp)
    _same_params(params, r0["params"])
    # The steps did prune: stage 1 prunes gamma_best of every tensor by its second step (if
    # the scan chose gamma_best > 0), stage 2 prunes 80 % of what stage 1 left free.
    last = owners[-1]
    assert sum(int((o == 1).sum()) for o in last.values()) > 0
    assert sum(int((o == PRUNED).sum()) for o in last.values()) > 0
    assert sum(int((o == FREE).sum()) for o in last.values()) > 0
