"""lt_det.evaluation.lvis_protocols: protocols by key, and the work shared over 2 gloo processes
with the numbers of one process."""
import itertools
import json
import os
import pickle
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from detectron2.utils import comm
from test_lvis_evaluator import _batches, _gt, _register, _run

from lt_det.config import get_lt_cfg
from lt_det.evaluation import LTLVISEvaluator, build_evaluator
from lt_det.evaluation.lvis_eval import LVISEval
from lt_det.evaluation.lvis_protocols import evaluate_protocols
from lt_det.evaluation.synthetic_lvis import synthetic_lvis

TASKS = ("bbox", "segm", "boundary")
PROTOCOLS = ("standard", "fixed", "pooled")


@pytest.fixture(scope="module")
def case():
    gt, results = synthetic_lvis(num_images=10, num_classes=8, dets_per_image=30, masks=True, score_decimals=1,
                                 overflow_fraction=0.2, seed=5)
    return gt, results


def _split(results, world_size=2):
    """Process r gets the images with id % world_size == r, each in file order."""
    return [[x for x in results if x["image_id"] % world_size == r] for r in range(world_size)]


def test_keys_and_equality_with_lvis_eval(case):
    gt, results = case
    out = evaluate_protocols(gt, results, TASKS, PROTOCOLS, dets_per_class=25)
    assert set(out) == {f"{t}{s}" for t in TASKS for s in ("", "_fixed", "_pooled")}
    for t in TASKS:
        masks = t != "bbox"
        std = LVISEval(gt, results, areas_from_masks=masks).evaluate(t)
        np.testing.assert_array_equal(out[t].precision, std.precision)
        fixed = LVISEval(gt, results, max_dets=-1, dets_per_class=25, areas_from_masks=masks)
        assert out[f"{t}_fixed"].metrics == fixed.evaluate(t).metrics
        assert out[f"{t}_pooled"].metrics == fixed.evaluate_pooled(t).metrics


def test_bad_protocol_and_shared_image_raise(case):
    gt, results = case
    with pytest.raises(ValueError, match="LT.EVAL.LVIS.PROTOCOLS"):
        evaluate_protocols(gt, results, ("bbox",), ("coco",))
    # The same image on two "processes": the per-image cap cannot be applied per process.
    parts = [results[:5], results[:5]]
    with pytest.raises(ValueError, match="more than one process"):
        evaluate_protocols(gt, parts[0], ("bbox",), rank=0, all_gather=lambda x: [x, x])


def test_config_selects_protocols(tmp_path):
    name = _register(tmp_path, _gt())
    cfg = get_lt_cfg()
    cfg.LT.EVAL.LVIS.PROTOCOLS = ["standard", "fixed", "pooled"]
    cfg.LT.EVAL.LVIS.BOUNDARY = True
    ev = build_evaluator(cfg, name, None)
    metrics = _run(ev, _batches())
    assert set(metrics) == {f"{t}{s}" for t in TASKS for s in ("", "_fixed", "_pooled")}
    # The hand case of test_lvis_evaluator (boxes exact, 3 detections per class at most):
    # AP-fixed with its 10,000 budget equals the standard protocol; AP-pool ranks category
    # 10's FP (0.95) first: FP, TP 0.9, TP 0.8, TP 0.7 over 3 objects -> precision 0, 1/2,
    # 2/3, 3/4 -> non-increasing 3/4 everywhere -> AP-pool 75.
    assert metrics["bbox_fixed"]["AP"] == pytest.approx(metrics["bbox"]["AP"])
    assert metrics["bbox_pooled"]["AP"] == pytest.approx(75.0)
    cfg.LT.EVAL.LVIS.PROTOCOLS = ["coco"]
    with pytest.raises(ValueError, match="LT.EVAL.LVIS.PROTOCOLS has 'coco'"):
        build_evaluator(cfg, name, None)


def _worker(rank, world_size, init_file, out_dir, case, dataset_name):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    gt, results = case
    out = evaluate_protocols(gt, _split(results, world_size)[rank], TASKS, PROTOCOLS, dets_per_class=25,
                             rank=comm.get_rank(), all_gather=comm.all_gather, gather=comm.gather)
    # The detectron2 evaluator: each process sees one of the two hand-case batches.
    ev = LTLVISEvaluator(dataset_name, distributed=True, protocols=PROTOCOLS, boundary=True,
                         output_dir=os.path.join(out_dir, "evaluator"), plots=False)
    metrics = _run(ev, [_batches()[rank]])
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(({k: (v.precision, v.recall, v.metrics) for k, v in out.items()}, metrics), f)
    dist.destroy_process_group()


def test_two_processes_give_the_numbers_of_one(case, tmp_path):
    name = _register(tmp_path, _gt())
    # fork: the workers reuse this process's imports and its registered data set.
    context = mp.start_processes(
        _worker, args=(2, str(tmp_path / "init"), str(tmp_path), case, name), nprocs=2,
        join=False, start_method="fork",
    )
    deadline = time.monotonic() + 120
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two gloo worker processes did not finish within 120 s")
    with open(tmp_path / "rank0.pkl", "rb") as f:
        shared, metrics = pickle.load(f)
    with open(tmp_path / "rank1.pkl", "rb") as f:
        assert pickle.load(f) == ({}, {})  # only the main process reports

    # One process evaluating the results list the main process would build (rank 0's, then
    # rank 1's): identical arrays, including AP-fixed's global budget and its ties.
    gt, results = case
    single = evaluate_protocols(gt, list(itertools.chain(*_split(results))), TASKS, PROTOCOLS, dets_per_class=25)
    assert set(shared) == set(single)
    for key, res in single.items():
        precision, recall, m = shared[key]
        np.testing.assert_array_equal(precision, res.precision, err_msg=key)
        np.testing.assert_array_equal(recall, res.recall, err_msg=key)
        assert m == res.metrics, key

    reference = _run(LTLVISEvaluator(name, distributed=False, protocols=PROTOCOLS, boundary=True,
                                     output_dir=str(tmp_path / "single"), plots=False), _batches())
    assert metrics.keys() == reference.keys()
    for key in reference:
        assert metrics[key] == pytest.approx(reference[key], nan_ok=True), key
    with open(tmp_path / "evaluator" / "lvis_instances_results.json") as f:
        written = json.load(f)
    with open(tmp_path / "single" / "lvis_instances_results.json") as f:
        assert written == json.load(f)  # the file holds every process's results, in order
