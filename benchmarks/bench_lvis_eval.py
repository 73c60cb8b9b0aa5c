#!/usr/bin/env python
"""LVIS evaluators side by side: lvis-api, faster-coco-eval, hotcoco and lt_det on the same files.

    .venv/bin/python benchmarks/bench_lvis_eval.py                    # bbox 2,000 x 300, segm 500 x 300
    .venv/bin/python benchmarks/bench_lvis_eval.py --num-images 200 --segm-images 50    # quick
    .venv/bin/python benchmarks/bench_lvis_eval.py --val-size        # + LVIS v1 val size, lt_det in-process

Generates LVIS-format ground truth and results (``lt_det.evaluation.synthetic_lvis``: 1,203
long-tailed classes, negative and not-exhaustive categories, images over the 300 cap, score
ties) into --workdir, then runs every tool on the same files, each as a user runs it, in its
own fresh process, the tools alternating (so a busy spell on a shared machine hits all):

  lvis-api 0.5.3     ``LVIS(gt)``, ``LVISResults(gt, results)``, ``LVISEval.run()`` (with
                     ``np.float = float``: its ``accumulate`` needs it on numpy >= 1.24)
  faster-coco-eval   ``COCOeval_faster(..., lvis_style=True)``; it has no per-image cap, so it
                     reads a copy of the results cut to 300 per image first (lvis-api's rule:
                     top scores, ties in file order), made before timing
  hotcoco            ``hotcoco.LVIS`` / ``LVISResults`` / ``LVISEval.run()``
  lt_det             ``tools/eval_lvis.py GT RESULTS --iou-type T --output-dir D --no-plots``

Reported per tool: wall time from process start to exit, peak resident memory of the process
(``ru_maxrss`` from ``wait4``, imports included), and whether its 13 numbers (AP, AP50, AP75,
APs/m/l, APr/c/f, AR@300, ARs/m/l@300) equal lvis-api's (max |difference|; "yes" when it is at
most 1e-9). Ratios are against lt_det (tool time / lt_det time). With --repeat N each tool
runs N times; the median time and the largest memory are reported (on a shared machine the
median of >= 3 alternating runs is the number to compare). ``--tools`` runs a subset (the
equality column needs lvis-api among them). A tool that is not installed is skipped. The
script exits 1 if lt_det's numbers differ from lvis-api's by more
than 1e-9.

``--val-size`` adds an LVIS-v1-val-sized case (19,809 images x 300 detections, 1,203 classes)
evaluated by lt_det in-process as the trainer's evaluator does (``LVISEval`` on the results
as a list of dicts), bbox and segm (masks need ~15 GB of RAM more than boxes; ``--val-segm N``
evaluates masks on N images only, 0 skips them; ``--val-bbox`` likewise for boxes), timed and
with peak memory, lvis-api not run (it takes tens of minutes).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf",
           "AR@300", "ARs@300", "ARm@300", "ARl@300")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = ("lvis-api", "faster-coco-eval", "hotcoco", "lt_det")
EQUAL_TOL = 1e-9


def _quiet_run(ev):
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        ev.run()


def worker(tool: str, gt_path: str, res_path: str, iou_type: str, out_path: str) -> None:
    """One evaluation as a user runs it; writes the 13 metrics (fractions) to ``out_path``."""
    import logging

    logging.disable(logging.WARNING)
    if tool == "lvis-api":
        import numpy as np

        np.float = float  # lvis-api 0.5.3 uses np.float, removed in numpy 1.24
        from lvis import LVIS, LVISEval, LVISResults

        gt = LVIS(gt_path)
        ev = LVISEval(gt, LVISResults(gt, res_path), iou_type)
        _quiet_run(ev)
        metrics = {k: float(v) for k, v in ev.get_results().items()}
    elif tool == "hotcoco":
        import hotcoco

        gt = hotcoco.LVIS(gt_path)
        ev = hotcoco.LVISEval(gt, hotcoco.LVISResults(gt, res_path), iou_type)
        _quiet_run(ev)
        metrics = {k: float(v) for k, v in ev.get_results().items()}
    elif tool == "faster-coco-eval":
        from faster_coco_eval import COCO, COCOeval_faster

        gt = COCO(gt_path)
        ev = COCOeval_faster(gt, gt.loadRes(res_path), iou_type, lvis_style=True, print_function=lambda *a: None)
        ev.params.maxDets = [300]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        s = ev.stats_as_dict
        names = {"AP": "AP_all", "AP50": "AP_50", "AP75": "AP_75", "APs": "AP_small", "APm": "AP_medium",
                 "APl": "AP_large", "APr": "APr", "APc": "APc", "APf": "APf", "AR@300": "AR_all",
                 "ARs@300": "AR_small", "ARm@300": "AR_medium", "ARl@300": "AR_large"}
        metrics = {k: float(s[v]) for k, v in names.items()}
    else:
        raise ValueError(f"unknown tool {tool}")
    with open(out_path, "w") as f:
        json.dump(metrics, f)


def run_tool(tool: str, gt_path: str, res_path: str, iou_type: str, tmp: str) -> dict:
    """Run ``tool`` in a fresh process; wall time, peak RSS (MB) and its metrics."""
    out = os.path.join(tmp, f"{tool}_{iou_type}.json")
    if tool == "lt_det":
        out_dir = os.path.join(tmp, "lt_det_out")
        cmd = [sys.executable, os.path.join(ROOT, "tools", "eval_lvis.py"), gt_path, res_path,
               "--iou-type", iou_type, "--output-dir", out_dir, "--no-plots"]
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", tool, gt_path, res_path, iou_type, out]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed (exit {proc.returncode}):\n{err[-2000:]}")
    if tool == "lt_det":
        with open(os.path.join(out_dir, "lvis_metrics.json")) as f:
            percent = json.load(f)[iou_type]
        metrics = {k: (-1.0 if v is None else v / 100) for k, v in percent.items()}
    else:
        with open(out) as f:
            metrics = json.load(f)
    return {"time_s": wall, "mem_mb": usage.ru_maxrss / 1024.0, "metrics": metrics}


def cut_per_image(res_path: str, out_path: str, max_dets: int = 300) -> str:
    """Copy of a results file with each image's ``max_dets`` top-scoring detections (ties:
    file order), lvis-api's ``LVISResults`` cap, for faster-coco-eval, which has none."""
    if not os.path.isfile(out_path):
        _helper("--cut", res_path, out_path, str(max_dets))
    return out_path


def _write_cut(res_path: str, out_path: str, max_dets: int) -> None:
    with open(res_path) as f:
        results = json.load(f)
    order = sorted(range(len(results)), key=lambda i: (results[i]["image_id"], -results[i]["score"], i))
    kept, count, last = [], 0, None
    for i in order:
        img = results[i]["image_id"]
        count = count + 1 if img == last else 1
        last = img
        if count <= max_dets:
            kept.append(i)
    with open(out_path, "w") as f:
        json.dump([results[i] for i in sorted(kept)], f)


def make_case(workdir: str, name: str, num_images: int, dets: int, masks: bool, seed: int):
    """Write (or reuse) ``<name>_gt.json`` and ``<name>_results.json``, in a subprocess."""
    gt_path = os.path.join(workdir, f"{name}_gt.json")
    res_path = os.path.join(workdir, f"{name}_results.json")
    if not (os.path.isfile(gt_path) and os.path.isfile(res_path)):
        _helper("--make-case", gt_path, res_path, str(num_images), str(dets), str(int(masks)), str(seed))
    return gt_path, res_path


def _helper(*args: str) -> None:
    """This script with ``args`` in a subprocess. The driver itself imports no numpy, torch or
    large JSON: a child's peak RSS (``ru_maxrss``) starts from its parent's at fork, exec or not."""
    subprocess.run([sys.executable, os.path.abspath(__file__), *args], check=True)


def _write_case(gt_path: str, res_path: str, num_images: int, dets: int, masks: bool, seed: int) -> None:
    from lt_det.evaluation.synthetic_lvis import synthetic_lvis

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
    print(f"{num_images} images, {len(results)} detections, 1203 classes")


def _installed(tool: str) -> bool:
    import importlib.util

    module = {"lvis-api": "lvis", "faster-coco-eval": "faster_coco_eval", "hotcoco": "hotcoco"}.get(tool)
    return module is None or importlib.util.find_spec(module) is not None


def compare(case: str, iou_type: str, gt_path: str, res_path: str, repeat: int, workdir: str,
            selected=TOOLS) -> float:
    """The tools on one case; prints the table, returns lt_det's max |metric diff| to lvis-api."""
    tools = [t for t in TOOLS if (t in selected or t == "lt_det") and _installed(t)]
    paths = {t: res_path for t in tools}
    if "faster-coco-eval" in tools:
        paths["faster-coco-eval"] = cut_per_image(res_path, res_path.replace(".json", "_cut300.json"))
    runs = {t: [] for t in tools}
    failed = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for _ in range(repeat):
            for t in tools:
                if t in failed:
                    continue
                try:
                    runs[t].append(run_tool(t, gt_path, paths[t], iou_type, tmp))
                except RuntimeError as e:  # reported in the table; lt_det's failure is fatal
                    if t == "lt_det":
                        raise
                    failed[t] = str(e).strip().splitlines()[-1][:80]
    best = {t: {"time_s": statistics.median(r["time_s"] for r in rs), "mem_mb": max(r["mem_mb"] for r in rs),
                "metrics": rs[0]["metrics"]} for t, rs in runs.items() if t not in failed}
    ref = best.get("lvis-api")
    ours = best["lt_det"]
    print(f"  {'tool':<17} {'time (s)':>9} {'peak mem (MB)':>14} {'time / lt_det':>14} "
          f"{'mem / lt_det':>13}  equals lvis-api (max |diff|)")
    lt_diff = 0.0
    for t in tools:
        if t in failed:
            print(f"  {t:<17} failed: {failed[t]}")
            continue
        r = best[t]
        if ref is None:
            eq = "n/a"
        else:
            diff = max(abs(r["metrics"][k] - ref["metrics"][k]) for k in METRICS)
            eq = f"{'yes' if diff <= EQUAL_TOL else 'NO'} ({diff:.1e})"
            if t == "lt_det":
                lt_diff = diff
        print(f"  {t:<17} {r['time_s']:9.2f} {r['mem_mb']:14.0f} {r['time_s'] / ours['time_s']:13.2f}x "
              f"{r['mem_mb'] / ours['mem_mb']:12.2f}x  {eq}", flush=True)
    print("  runs (s): " + "; ".join(f"{t} " + " ".join(f"{r['time_s']:.2f}" for r in runs[t])
                                     for t in tools if t not in failed), flush=True)
    print(f"  AP {ours['metrics']['AP'] * 100:.3f}, APr {ours['metrics']['APr'] * 100:.3f}", flush=True)
    return lt_diff


def val_size(seed: int, segm_images: int, bbox_images: int = 19809) -> None:
    """LVIS v1 val size (19,809 images x 300 detections), lt_det in-process as the trainer runs it."""
    import gc

    from lt_det.evaluation.lvis_eval import LVISEval
    from lt_det.evaluation.synthetic_lvis import synthetic_lvis

    for iou_type, n_img, masks in (("bbox", bbox_images, False), ("segm", segm_images, True)):
        if n_img <= 0:
            continue
        t = time.perf_counter()
        gt, results = synthetic_lvis(num_images=n_img, num_classes=1203, dets_per_image=300, masks=masks,
                                     score_decimals=3, seed=seed)
        if masks:
            for r in results:
                r.pop("bbox")
        gc.collect()
        print(f"[val-size {iou_type}] {n_img} images, {len(results)} detections "
              f"({time.perf_counter() - t:.0f}s to generate)", flush=True)
        before = _rss_mb("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        res = LVISEval(gt, results, areas_from_masks=masks).evaluate(iou_type)
        elapsed = time.perf_counter() - t0
        print(f"  lt_det in-process  {elapsed:7.2f} s  peak mem above the loaded inputs "
              f"{_rss_mb('VmHWM') - before:7.0f} MB  AP {res.metrics['AP'] * 100:.3f}", flush=True)
        del gt, results, res
        gc.collect()


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS


def main():
    helpers = {"--worker": lambda a: worker(*a),
               "--make-case": lambda a: _write_case(a[0], a[1], int(a[2]), int(a[3]), bool(int(a[4])), int(a[5])),
               "--cut": lambda a: _write_cut(a[0], a[1], int(a[2])),
               "--val-size-worker": lambda a: val_size(int(a[0]), int(a[1]), int(a[2]))}
    if len(sys.argv) > 1 and sys.argv[1] in helpers:
        helpers[sys.argv[1]](sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--num-images", type=int, default=2000, help="images of the bbox case (0: skip)")
    p.add_argument("--dets", type=int, default=300, help="detections per image of the bbox case")
    p.add_argument("--segm-images", type=int, default=500, help="images of the segm case (0: skip)")
    p.add_argument("--segm-dets", type=int, default=300, help="detections per image of the segm case")
    p.add_argument("--workdir", default=None, help="where the generated files go (reused if present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per tool; times are the median, memory the maximum")
    p.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS,
                   help="tools to run (lvis-api is the reference of the equality column)")
    p.add_argument("--val-size", action="store_true",
                   help="add the LVIS v1 val-sized case (19,809 images x 300), lt_det in-process")
    p.add_argument("--val-segm", type=int, default=19809, help="images of the val-sized segm case (0: skip)")
    p.add_argument("--val-bbox", type=int, default=19809, help="images of the val-sized bbox case (0: skip)")
    args = p.parse_args()
    workdir = args.workdir or os.path.join(tempfile.gettempdir(), "lt_det_bench_lvis_eval")
    os.makedirs(workdir, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{', '.join(t for t in TOOLS if _installed(t))}", flush=True)

    cases = []
    if args.num_images > 0:
        cases.append(("bbox", f"bbox_{args.num_images}x{args.dets}_s{args.seed}", args.num_images, args.dets, False))
    if args.segm_images > 0:
        cases.append(("segm", f"segm_{args.segm_images}x{args.segm_dets}_s{args.seed}", args.segm_images,
                      args.segm_dets, True))
    diffs = []
    for iou_type, name, n_img, dets, masks in cases:
        print(f"[{name}]", flush=True)
        gt_path, res_path = make_case(workdir, name, n_img, dets, masks, args.seed)
        diffs.append(compare(name, iou_type, gt_path, res_path, args.repeat, workdir, args.tools))
    if args.val_size:
        _helper("--val-size-worker", str(args.seed), str(args.val_segm), str(args.val_bbox))
    print(f"peak memory of this driver {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if any(d > EQUAL_TOL for d in diffs):
        print("lt_det's METRICS DIFFER from lvis-api's", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
