#!/usr/bin/env python
"""Evaluate an LVIS results file against LVIS-format ground truth (no model, no detectron2 run).

    tools/eval_lvis.py lvis_v1_val.json output/inference/lvis_instances_results.json
    tools/eval_lvis.py GT.json RESULTS.json --iou-type bbox segm --output-dir out/

Prints AP, AP50, AP75, APs/m/l, APr/c/f and AR@300 (percent) per IoU type. With
``--output-dir`` it also writes ``lvis_metrics.json`` and, per IoU type, the per-class AP as
CSV and as a plot against training image count. The numbers are lvis-api 0.5.3's; for segm,
detections' boxes are dropped first (as detectron2 does) so area ranges use mask areas, unless
``--segm-box-area`` asks for lvis-api's raw behaviour on files that carry both.
"""
import argparse
import json
import os
import sys


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gt", help="LVIS-format ground-truth JSON")
    p.add_argument("results", help="LVIS results JSON (list of detections)")
    p.add_argument("--iou-type", nargs="+", default=["bbox"], choices=["bbox", "segm"])
    p.add_argument("--output-dir", default=None, help="write metrics JSON and per-class CSV/plots here")
    p.add_argument("--max-dets", type=int, default=300, help="detections kept per image (LVIS: 300)")
    p.add_argument("--segm-box-area", action="store_true",
                   help="for segm, keep detection boxes so area ranges use box areas (lvis-api's raw rule)")
    p.add_argument("--no-plots", action="store_true", help="write the per-class CSV but no plots")
    return p.parse_args(argv)


def format_table(metrics: dict) -> str:
    """Metric rows, one column per IoU type, values in percent (nan where undefined)."""
    types = list(metrics)
    names = list(next(iter(metrics.values())))
    lines = [f"{'metric':<10}" + "".join(f"{t:>10}" for t in types)]
    for n in names:
        lines.append(f"{n:<10}" + "".join(f"{metrics[t][n]:>10.2f}" for t in types))
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
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


def run(args) -> int:
    from lt_det.evaluation.lvis_eval import LVISEval, load_json
    from lt_det.evaluation.per_class_report import write_per_class_report

    gt, results = load_inputs(args.gt, args.results, load_json, load_json)
    metrics = {}
    for iou_type in args.iou_type:
        mask_areas = iou_type == "segm" and not args.segm_box_area
        out = LVISEval(gt, results, max_dets=args.max_dets, areas_from_masks=mask_areas).evaluate(iou_type)
        metrics[iou_type] = {k: (v * 100 if v >= 0 else float("nan")) for k, v in out.metrics.items()}
        if args.output_dir:
            for path in write_per_class_report(out, args.output_dir, plot=not args.no_plots):
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
    sys.exit(main())
