#!/usr/bin/env python
"""Evaluate an LVIS results file against LVIS-format ground truth (no model, no detectron2 run).

    tools/eval_lvis.py lvis_v1_val.json output/inference/lvis_instances_results.json
    tools/eval_lvis.py GT.json RESULTS.json --iou-type bbox segm --output-dir out/

Prints AP, AP50, AP75, APs/m/l, APr/c/f and AR@300 (percent) per IoU type. With
``--output-dir`` it also writes ``lvis_metrics.json`` and, per IoU type, the per-class AP as
CSV and as a plot against training image count. The numbers are lvis-api 0.5.3's; for segm,
detections' boxes are dropped first (as detectron2 does) so area ranges use mask areas, unless
``--segm-box-area`` asks for lvis-api's raw behaviour on files that carry both.

    tools/eval_lvis.py GT.json RESULTS.json --iou-type segm boundary --protocol standard fixed pooled

adds boundary AP (Cheng et al. 2021; ``--boundary-dilation-ratio``, 0.02) and AP-fixed / AP-pool
(Dave et al. 2021: ``--dets-per-class`` detections per class, 10,000, no per-image cap), one
column each ("segm_fixed", "segm_pooled", ...; AP-pool has AP, AP50, AP75, APr, APc, APf).
"""
import argparse
import gc
import importlib.util
import json
import os
import sys
import types

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gt", help="LVIS-format ground-truth JSON")
    p.add_argument("results", help="LVIS results JSON (list of detections)")
    p.add_argument("--iou-type", nargs="+", default=["bbox"], choices=["bbox", "segm", "boundary"])
    p.add_argument("--protocol", nargs="+", default=["standard"], choices=["standard", "fixed", "pooled"],
                   help="standard: lvis-api (300/image); fixed: AP-fixed; pooled: AP-pool (Dave et al. 2021)")
    p.add_argument("--dets-per-class", type=int, default=10000, help="budget per class of fixed/pooled")
    p.add_argument("--boundary-dilation-ratio", type=float, default=0.02,
                   help="boundary width / image diagonal for --iou-type boundary")
    p.add_argument("--output-dir", default=None, help="write metrics JSON and per-class CSV/plots here")
    p.add_argument("--max-dets", type=int, default=300, help="detections kept per image (LVIS: 300)")
    p.add_argument("--segm-box-area", action="store_true",
                   help="for segm, keep detection boxes so area ranges use box areas (lvis-api's raw rule)")
    p.add_argument("--no-plots", action="store_true", help="write the per-class CSV but no plots")
    return p.parse_args(argv)


def format_table(metrics: dict) -> str:
    """Metric rows, one column per evaluation, values in percent (nan where undefined, blank
    where an evaluation has no such metric)."""
    types = list(metrics)
    names = list(dict.fromkeys(n for m in metrics.values() for n in m))
    width = max(10, *(len(t) + 2 for t in types))
    lines = [f"{'metric':<10}" + "".join(f"{t:>{width}}" for t in types)]
    for n in names:
        cells = (f"{metrics[t][n]:>{width}.2f}" if n in metrics[t] else " " * width for t in types)
        lines.append(f"{n:<10}" + "".join(cells))
    return "\n".join(lines)


def main(argv=None, hold=None) -> int:
    """Run the CLI; ``hold``, a list, receives what was loaded and evaluated (the command
    line keeps it until ``os._exit``, so ~10^5 parsed records are not freed one by one)."""
    args = parse_args(argv)
    try:
        return run(args, hold)
    except (ValueError, FileNotFoundError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a read-only or full --output-dir
        print(f"error: cannot write {e.filename or args.output_dir}: {e.strerror or e}", file=sys.stderr)
        return 2


def load_inputs(gt_path: str, results_path: str, read_gt, read_results):
    """Read the two files, each error naming its file: missing, not JSON, ground truth
    without annotations, or a box with negative width or height (lvis-api would score it
    with a positive area w * h, or drop it, without a word)."""
    loaded = []
    for what, path, read in (("ground-truth", gt_path, read_gt), ("results", results_path, read_results)):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{what} file {path} does not exist")
        try:
            loaded.append(read(path))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{what} file {path} is not valid JSON: {e}") from None
    gt, results = loaded
    if isinstance(gt, dict) and isinstance(gt.get("annotations"), list):
        if not gt["annotations"]:
            raise ValueError(f"ground-truth file {gt_path} has no annotations: nothing to evaluate against")
        _check_box_sizes(gt["annotations"], f"annotation {{id}} of {gt_path}")
    if isinstance(results, list):
        _check_box_sizes(results, f"result {{index}} (image_id {{image_id}}) of {results_path}")
    elif getattr(results, "bbox", None) is not None:  # columns (ResultColumns)
        bad = np.flatnonzero((results.bbox[:, 2] < 0) | (results.bbox[:, 3] < 0))
        if len(bad):
            i = int(bad[0])
            box = [int(v) if float(v).is_integer() else float(v) for v in results.bbox[i]]
            raise ValueError(
                f"result {i} (image_id {int(results.image_id[i])}) of {results_path} has bbox "
                f"{box} with negative width or height; expected [x, y, w, h], w, h >= 0"
            )
    return gt, results


def _check_box_sizes(records, what: str) -> None:
    for i, r in enumerate(records):
        box = r.get("bbox") if isinstance(r, dict) else None
        if isinstance(box, (list, tuple)) and len(box) == 4 and _negative(box[2], box[3]):
            name = what.format(index=i, id=r.get("id"), image_id=r.get("image_id"))
            raise ValueError(f"{name} has bbox {box} with negative width or height; expected [x, y, w, h], w, h >= 0")


def _negative(w, h) -> bool:
    try:
        return w < 0 or h < 0
    except TypeError:  # non-numbers: LVISEval names them
        return False


def _without_package_init(*packages: str) -> None:
    """Make ``packages`` importable as bare namespaces, without running their ``__init__``.

    ``lt_det/__init__.py`` and ``lt_det/evaluation/__init__.py`` import every component so
    that importing the package registers them in detectron2's registries; that pulls in torch
    and detectron2 (~3.6 s and ~0.9 GB), none of which an evaluation of two JSON files uses.
    The evaluation modules import only numpy, pycocotools and msgspec. A package already
    imported (e.g. by a test in the same process) is left as it is.
    """
    for name in packages:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError(f"{name} is not an importable package; install lt_det (pip install -e .)")
        module = types.ModuleType(name)
        module.__path__ = list(spec.submodule_search_locations)
        module.__spec__ = spec
        sys.modules[name] = module


def run(args, hold=None) -> int:
    _without_package_init("lt_det", "lt_det.data", "lt_det.evaluation")
    from lt_det.evaluation.lvis_eval import LVISEval, LVISEvalResult, ResultColumns, load_json
    from lt_det.evaluation.lvis_protocols import evaluate_protocols
    from lt_det.evaluation.per_class_report import write_per_class_report

    # What is loaded lives until the process ends and holds no reference cycles: moved to the
    # collector's permanent generation, its ~10^5 segmentation dicts are not walked again by
    # every collection the evaluation's allocations trigger (0.1-0.3 s on 150k mask results).
    gc.disable()
    try:
        gt, results = load_inputs(args.gt, args.results, load_json, ResultColumns.read)
        gc.freeze()
    finally:
        gc.enable()
    if args.segm_box_area:  # lvis-api's raw rule, standard protocol only
        if args.protocol != ["standard"] or args.iou_type != ["segm"]:
            raise ValueError("--segm-box-area applies to --iou-type segm --protocol standard alone")
        evaluated = {"segm": LVISEval(gt, results, max_dets=args.max_dets).evaluate("segm")}
    else:
        evaluated = evaluate_protocols(gt, results, args.iou_type, args.protocol, max_dets=args.max_dets,
                                       dets_per_class=args.dets_per_class,
                                       boundary_dilation_ratio=args.boundary_dilation_ratio)
    if hold is not None:
        hold.append((gt, results, evaluated))
    metrics = {}
    for key, out in evaluated.items():
        metrics[key] = {k: (v * 100 if v >= 0 else float("nan")) for k, v in out.metrics.items()}
        if args.output_dir and isinstance(out, LVISEvalResult):
            prefix = "lvis" if key == out.iou_type else "lvis_fixed"
            for path in write_per_class_report(out, args.output_dir, prefix=prefix, plot=not args.no_plots):
                print(f"wrote {path}")
    print(format_table(metrics))
    if args.output_dir:
        path = os.path.join(args.output_dir, "lvis_metrics.json")
        try:
            with open(path, "w") as f:
                # NaN (undefined metric) as null, so the file is standard JSON.
                clean = {t: {k: (None if v != v else v) for k, v in m.items()} for t, m in metrics.items()}
                json.dump(clean, f, indent=2)
        except OSError as e:
            e.filename = e.filename or path  # a full disk fails in write(), which names no file
            raise
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    # The loaded files stay referenced to the end and the process leaves without tearing
    # them down (freeing 10^5 records and masks takes ~0.03 s; the OS reclaims the memory
    # at once): output flushed first, nothing else is pending (files are closed as written).
    loaded = []
    code = main(hold=loaded)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
