"""tools/eval_lvis.py: the table, the files it writes, and a one-line error on bad input."""
import importlib.util
import json
import os

import pytest

from lt_det.evaluation.lvis_eval import LVISEval
from lt_det.evaluation.synthetic_lvis import synthetic_lvis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("eval_lvis_tool", os.path.join(ROOT, "tools", "eval_lvis.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def files(tmp_path):
    gt, results = synthetic_lvis(num_images=8, num_classes=6, dets_per_image=10, masks=True, seed=2)
    paths = str(tmp_path / "gt.json"), str(tmp_path / "res.json")
    for path, obj in zip(paths, (gt, results)):
        with open(path, "w") as f:
            json.dump(obj, f)
    return gt, results, paths


def test_table_and_outputs(tool, files, tmp_path, capsys):
    gt, results, (gt_path, res_path) = files
    out = str(tmp_path / "out")
    assert tool.main([gt_path, res_path, "--iou-type", "bbox", "segm", "--output-dir", out]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = {ln.split()[0]: ln.split()[1:] for ln in lines if not ln.startswith("wrote")}
    assert table["metric"] == ["bbox", "segm"]
    bbox = LVISEval(gt, results).evaluate("bbox").metrics["AP"] * 100
    # segm: boxes dropped first, so area ranges use mask areas (as detectron2 evaluates).
    segm = LVISEval(gt, [{k: v for k, v in r.items() if k != "bbox"} for r in results]).evaluate("segm")
    assert float(table["AP"][0]) == pytest.approx(bbox, abs=0.005)
    assert float(table["AP"][1]) == pytest.approx(segm.metrics["AP"] * 100, abs=0.005)
    with open(os.path.join(out, "lvis_metrics.json")) as f:
        saved = json.load(f)
    assert saved["bbox"]["AP"] == pytest.approx(bbox)
    for name in ("lvis_bbox_per_class_ap.csv", "lvis_segm_per_class_ap.csv", "lvis_bbox_per_class_ap.png"):
        assert os.path.isfile(os.path.join(out, name))


def test_bad_input_is_one_line_error(tool, files, tmp_path, capsys):
    gt, results, (gt_path, _) = files
    results[0]["image_id"] = 123456
    bad = str(tmp_path / "bad.json")
    with open(bad, "w") as f:
        json.dump(results, f)
    assert tool.main([gt_path, bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Result 0 has image_id 123456") and "\n" not in err


def test_protocols_and_boundary_columns(tool, files, tmp_path, capsys):
    gt, results, (gt_path, res_path) = files
    out = str(tmp_path / "out")
    argv = [gt_path, res_path, "--iou-type", "bbox", "boundary", "--protocol", "standard", "fixed", "pooled",
            "--dets-per-class", "5", "--output-dir", out, "--no-plots"]
    assert tool.main(argv) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("wrote")]
    header = lines[0].split()
    assert header == ["metric", "bbox", "boundary", "bbox_fixed", "bbox_pooled", "boundary_fixed", "boundary_pooled"]
    with open(os.path.join(out, "lvis_metrics.json")) as f:
        saved = json.load(f)
    ev = LVISEval(gt, results, max_dets=-1, dets_per_class=5)
    assert saved["bbox_fixed"]["AP"] == pytest.approx(ev.evaluate("bbox").metrics["AP"] * 100)
    assert saved["bbox_pooled"]["AP"] == pytest.approx(ev.evaluate_pooled("bbox").metrics["AP"] * 100)
    masks_only = [{k: v for k, v in r.items() if k != "bbox"} for r in results]
    boundary = LVISEval(gt, masks_only).evaluate("boundary").metrics["AP"] * 100
    assert saved["boundary"]["AP"] == pytest.approx(boundary)
    assert os.path.isfile(os.path.join(out, "lvis_fixed_bbox_per_class_ap.csv"))
