#!/usr/bin/env python
"""lt_det's LVIS evaluation against lvis-api 0.5.3: time, peak memory and equality of the numbers.

    .venv/bin/python benchmarks/bench_lvis_eval.py                       # 2000 img x 300 det bbox + segm case
    .venv/bin/python benchmarks/bench_lvis_eval.py --num-images 200 --segm-images 50   # quick

Generates LVIS-format ground truth and results (``lt_det.evaluation.synthetic_lvis``: 1,203
long-tailed classes, negative and not-exhaustive categories, per-image caps exceeded, score
ties) into --workdir, then evaluates each case with each implementation in its own fresh
subprocess (lvis-api with ``np.float = float`` so its ``accumulate`` runs on numpy 2).

Measured per run, from the same files:
  load  - reading the JSON files, each tool its own way (lvis-api: ``LVIS(gt)`` and
          ``json.load`` of the results, as ``LVISResults`` does; lt_det: ``load_json``,
          json.load with the garbage collector paused)
  eval  - evaluation from the loaded inputs (lvis-api: ``LVISResults`` + ``LVISEval.run``;
          ours: ``LVISEval(...).evaluate``)
  mem   - peak resident memory during load + eval minus the resident memory after imports
          (Linux VmHWM, reset after imports via /proc/self/clear_refs); both workers import
          the same modules (lvis, lt_det and with it torch/detectron2), so imports do not count
  eval mem - peak during eval minus resident memory after loading: what the evaluator adds
With --repeat N each implementation runs N times (alternating); the fastest time and the
largest memory are reported. Ratios are lvis-api / lt_det. The metrics of the two must agree
within 1e-6, else the script exits with status 1.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf",
           "AR@300", "ARs@300", "ARm@300", "ARl@300")


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def worker(impl: str, gt_path: str, res_path: str, iou_type: str) -> dict:
    """One evaluation in this (fresh) process; returns times, memory and metrics."""
    import logging

    import numpy as np

    # Both implementations run in the same environment: lvis-api, as detectron2 calls it,
    # in a process where torch and detectron2 (imported by lt_det) are loaded too. That
    # matters for json.load and lvis-api, whose many small objects make the garbage
    # collector walk every tracked object, torch's included.
    import lt_det.evaluation.lvis_eval  # noqa: F401
    import lvis  # noqa: F401

    logging.disable(logging.WARNING)
    if impl == "lvis-api":
        np.float = float  # lvis-api 0.5.3 uses np.float, removed in numpy 1.24
        from lvis import LVIS, LVISEval, LVISResults

        base = _rss_mb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        gt = LVIS(gt_path)
        with open(res_path) as f:
            results = json.load(f)
        t1 = time.perf_counter()
        loaded = _rss_mb("VmRSS")
        peak_load = _rss_mb("VmHWM")
        _reset_peak()
        ev = LVISEval(gt, LVISResults(gt, results), iou_type)
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            ev.run()
        metrics = {k: float(v) for k, v in ev.get_results().items()}
    else:
        from lt_det.evaluation.lvis_eval import LVISEval, load_json

        base = _rss_mb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        gt, results = load_json(gt_path), load_json(res_path)
        t1 = time.perf_counter()
        loaded = _rss_mb("VmRSS")
        peak_load = _rss_mb("VmHWM")
        _reset_peak()
        metrics = LVISEval(gt, results).evaluate(iou_type).metrics
    t2 = time.perf_counter()
    peak_eval = _rss_mb("VmHWM")
    return {
        "load_s": t1 - t0,
        "eval_s": t2 - t1,
        "mem_mb": max(peak_load, peak_eval) - base,
        "eval_mem_mb": peak_eval - loaded,
        "metrics": metrics,
    }


def run_worker(impl: str, gt_path: str, res_path: str, iou_type: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl, gt_path, res_path, iou_type]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _best(runs):
    """Fastest times and largest memory over repeated runs."""
    best = dict(runs[0])
    for key in ("load_s", "eval_s"):
        best[key] = min(r[key] for r in runs)
    for key in ("mem_mb", "eval_mem_mb"):
        best[key] = max(r[key] for r in runs)
    return best


def make_case(workdir: str, name: str, num_images: int, dets: int, masks: bool, seed: int):
    """Write (or reuse) ``<name>_gt.json`` and ``<name>_results.json``."""
    from lt_det.evaluation.synthetic_lvis import synthetic_lvis

    gt_path = os.path.join(workdir, f"{name}_gt.json")
    res_path = os.path.join(workdir, f"{name}_results.json")
    if os.path.isfile(gt_path) and os.path.isfile(res_path):
        return gt_path, res_path
    gt, results = synthetic_lvis(
        num_images=num_images, num_classes=1203, dets_per_image=dets, masks=masks,
        score_decimals=3, seed=seed,
    )
    if masks:  # mask-only results, as detectron2 evaluates segm (areas from masks)
        for r in results:
            r.pop("bbox")
    with open(gt_path, "w") as f:
        json.dump(gt, f)
    with open(res_path, "w") as f:
        json.dump(results, f)
    return gt_path, res_path


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(*sys.argv[2:6])))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-images", type=int, default=2000, help="images of the bbox case (0: skip)")
    p.add_argument("--dets", type=int, default=300, help="detections per image of the bbox case")
    p.add_argument("--segm-images", type=int, default=500, help="images of the segm case (0: skip)")
    p.add_argument("--segm-dets", type=int, default=300, help="detections per image of the segm case")
    p.add_argument("--workdir", default=None, help="where the generated files go (reused if present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per implementation; times are the minimum, memory the maximum")
    args = p.parse_args()
    workdir = args.workdir or os.path.join(tempfile.gettempdir(), "lt_det_bench_lvis_eval")
    os.makedirs(workdir, exist_ok=True)

    cases = []
    if args.num_images > 0:
        cases.append(("bbox", f"bbox_{args.num_images}x{args.dets}_s{args.seed}", args.num_images, args.dets, False))
    if args.segm_images > 0:
        cases.append(("segm", f"segm_{args.segm_images}x{args.segm_dets}_s{args.seed}", args.segm_images,
                      args.segm_dets, True))
    rows = []
    for iou_type, name, n_img, dets, masks in cases:
        t = time.perf_counter()
        gt_path, res_path = make_case(workdir, name, n_img, dets, masks, args.seed)
        n_res = len(json.load(open(res_path)))
        print(f"[{name}] {n_img} images, {n_res} detections, 1203 classes ({time.perf_counter() - t:.0f}s to prepare)",
              flush=True)
        runs = {"lvis-api": [], "lt_det": []}
        for _ in range(args.repeat):  # alternate, so a busy spell hits both
            for impl in runs:
                runs[impl].append(run_worker(impl, gt_path, res_path, iou_type))
        ref, ours = (_best(runs[impl]) for impl in ("lvis-api", "lt_det"))
        diff = max(abs(ref["metrics"][k] - ours["metrics"][k]) for k in METRICS)
        rows.append((name, iou_type, ref, ours, diff))
        for label, r in (("lvis-api", ref), ("lt_det", ours)):
            print(f"  {label:<9} load {r['load_s']:6.2f}s  eval {r['eval_s']:7.2f}s  "
                  f"mem {r['mem_mb']:7.0f} MB  eval mem {r['eval_mem_mb']:7.0f} MB", flush=True)
        print(f"  ratio     eval time {ref['eval_s'] / ours['eval_s']:.1f}x  "
              f"load+eval time {(ref['load_s'] + ref['eval_s']) / (ours['load_s'] + ours['eval_s']):.1f}x  "
              f"mem {ref['mem_mb'] / max(ours['mem_mb'], 1):.1f}x  "
              f"eval mem {ref['eval_mem_mb'] / max(ours['eval_mem_mb'], 1):.1f}x  "
              f"max |metric diff| {diff:.1e}  AP {ours['metrics']['AP'] * 100:.2f}", flush=True)
    if any(diff > 1e-6 for *_, diff in rows):
        print("METRICS DIFFER by more than 1e-6", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
