"""LVIS evaluation under several protocols, with the work shared across processes.

Protocols (``PROTOCOLS``):
    "standard": lvis-api's, each image's 300 top-scoring detections.
    "fixed": AP-fixed (Dave et al., "Evaluating Large-Vocabulary Object Detectors: The Devil
        is in the Details", 2021): each category's ``dets_per_class`` top-scoring detections
        over the whole set (ties: file order), no per-image cap.
    "pooled": AP-pool (same paper) of the same detections: precision pooled over the
        categories of all / r / c / f.

Sharing: each process matches its own detections (matching never crosses an (image,
category) group, and the per-image cap never crosses an image), so the IoU and matching work
is split across processes; only the per-detection outcome (category, image, score, position,
and the true-positive / counted bits) goes to the main process, which ranks and accumulates.
AP-fixed's budget is global: each process sends its per-category top ``dets_per_class``
candidates (the global top-k is among them), every process derives the same cut. File
order, the tie-breaker, is the order of the results list the main process would build:
process 0's results, then process 1's, and so on. The numbers are those of one process
evaluating that list.

The communication functions are arguments (detectron2's ``comm.all_gather`` / ``comm.gather``
in training; the defaults are one process's), so this module needs no torch.
"""
from typing import Callable, Dict, Optional, Sequence, Union

import numpy as np

from .lvis_eval import (
    LVISEval,
    LVISEvalResult,
    LVISPooledResult,
    Matching,
    ResultColumns,
    _GroundTruth,
    _load_json,
    _sorted_unique,
    top_per_class,
)

PROTOCOLS = ("standard", "fixed", "pooled")
TASKS = ("bbox", "segm", "boundary")


def result_key(task: str, protocol: str) -> str:
    """Key of a task's metrics under a protocol: "bbox", "bbox_fixed", "segm_pooled", ..."""
    return task if protocol == "standard" else f"{task}_{protocol}"


def _one_process_all_gather(obj):
    return [obj]


def _pack(m: Matching) -> tuple:
    """A Matching with its (T, A, N) bits packed (8x smaller to send)."""
    n = len(m.cat)
    return (m.cat.astype(np.int32), m.img.astype(np.int32), m.score, m.index,
            np.packbits(m.tp, axis=-1), np.packbits(m.counted, axis=-1), n)


def _unpack(p: tuple) -> Matching:
    cat, img, score, index, tp, counted, n = p
    return Matching(cat=cat.astype(np.int64), img=img.astype(np.int64), score=score, index=index,
                    tp=np.unpackbits(tp, axis=-1, count=n).astype(bool),
                    counted=np.unpackbits(counted, axis=-1, count=n).astype(bool))


def _global_budget(results: ResultColumns, k: int, all_gather: Callable) -> ResultColumns:
    """This process's results that are among their category's k best over all processes."""
    local = np.flatnonzero(top_per_class(results.category_id, results.score, results.position, k))
    parts = all_gather((results.category_id[local], results.score[local], results.position[local]))
    cat, score, pos = (np.concatenate([p[i] for p in parts]) for i in range(3))
    kept = np.sort(pos[top_per_class(cat, score, pos, k)])
    mine = results.position[local]
    found = np.searchsorted(kept, mine)
    inside = found < len(kept)
    inside[inside] = kept[found[inside]] == mine[inside]
    return results.subset(local[inside])


def _image_on_several(distinct_ids: Sequence[np.ndarray]) -> bool:
    """Whether an image id occurs in more than one process's (distinct) image ids."""
    flat = np.concatenate(distinct_ids)
    return len(_sorted_unique(flat)) < len(flat)


def evaluate_protocols(
    gt: Union[str, dict],
    results: Union[ResultColumns, Sequence[dict]],
    tasks: Sequence[str],
    protocols: Sequence[str] = ("standard",),
    *,
    max_dets: int = 300,
    dets_per_class: int = 10000,
    boundary_dilation_ratio: float = 0.02,
    rank: int = 0,
    all_gather: Callable = _one_process_all_gather,
    gather: Optional[Callable] = None,
) -> Dict[str, Union[LVISEvalResult, LVISPooledResult]]:
    """Evaluate ``results`` for every task and protocol; on several processes, shared.

    Args:
        gt: LVIS-format ground truth (dict or path), the same on every process.
        results: this process's detections (a list of result dicts or ResultColumns).
        tasks: IoU types, any of "bbox", "segm", "boundary"; segm and boundary take areas
            from the masks (detectron2's rule: the results' boxes are ignored for them).
        protocols: any of ``PROTOCOLS``.
        max_dets: the standard protocol's per-image cap.
        dets_per_class: the budget of "fixed" and "pooled".
        boundary_dilation_ratio: for "boundary".
        rank: this process's index (0 = main), as ``all_gather`` orders processes.
        all_gather: ``obj -> [obj of process 0, obj of process 1, ...]`` on every process.
        gather: the same, to the main process only (others get anything); default all_gather.

    Returns:
        On the main process, {result_key(task, protocol): result}; {} on the others.
        Each process's images must be its own (detectron2's inference sampler shards so).
    """
    for t in tasks:
        if t not in TASKS:
            raise ValueError(f"LVIS evaluation task {t!r} is not one of {TASKS}")
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"LVIS protocol {p!r} is not one of {PROTOCOLS} (LT.EVAL.LVIS.PROTOCOLS)")
    gather = gather or all_gather
    if not isinstance(results, ResultColumns):
        results = ResultColumns.from_records(results)
    counts = all_gather(len(results))
    if sum(counts) == 0:
        raise ValueError("The results list is empty: LVIS AP is undefined without detections")
    offset = int(sum(counts[:rank]))
    results = ResultColumns(results.image_id, results.category_id, results.score, results.bbox,
                            results.segmentation, position=offset + np.arange(len(results), dtype=np.int64))
    # One process has no image on another (and np.unique would cost a sort and numpy.ma).
    if len(counts) > 1 and _image_on_several(all_gather(_sorted_unique(results.image_id))):
        raise ValueError(
            "An image's detections come from more than one process; LVIS's per-image cap needs "
            "each image on one process (use detectron2's InferenceSampler, or evaluate on one process)"
        )

    # One ground truth for all evaluations below (they share its masks, decoded once).
    ground_truth = gt if isinstance(gt, _GroundTruth) else _GroundTruth(_load_json(gt, "Ground truth"))
    # (per-image cap, results) of each protocol; "fixed" and "pooled" share theirs.
    selections = {}
    if "standard" in protocols:
        selections["standard"] = (max_dets, results)
    if {"fixed", "pooled"} & set(protocols):
        budget = _global_budget(results, dets_per_class, all_gather) if dets_per_class >= 0 else results
        selections["fixed"] = (-1, budget)

    out: Dict[str, Union[LVISEvalResult, LVISPooledResult]] = {}
    for sel, (cap, cols) in selections.items():
        for task in tasks:
            ev = LVISEval(ground_truth, cols, max_dets=cap, areas_from_masks=task != "bbox",
                          boundary_dilation_ratio=boundary_dilation_ratio, allow_empty=True)
            if len(counts) == 1:  # nothing to send: no packing
                m = ev.match(task)
            else:
                parts = gather(_pack(ev.match(task)))
                if rank != 0:
                    continue
                m = Matching.concatenate([_unpack(p) for p in parts])
            if sel == "standard":
                out[result_key(task, "standard")] = ev.accumulate(task, m)
            else:
                if "fixed" in protocols:
                    out[result_key(task, "fixed")] = ev.accumulate(task, m)
                if "pooled" in protocols:
                    out[result_key(task, "pooled")] = ev.accumulate_pooled(task, m)
    return out
