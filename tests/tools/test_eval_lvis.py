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


@pytest.mark.parametrize("which", ["gt", "results"])
def test_json_syntax_error_names_the_file(tool, files, tmp_path, capsys, which):
    _, _, (gt_path, res_path) = files
    broken = gt_path if which == "gt" else res_path
    with open(broken, "a") as f:
        f.write("}")  # trailing garbage
    assert tool.main([gt_path, res_path]) == 2
    err = capsys.readouterr().err.strip()
    what = "ground-truth" if which == "gt" else "results"
    assert err.startswith(f"error: {what} file {broken} is not valid JSON: Extra data") and "\n" not in err


@pytest.mark.parametrize("which, box", [("gt", [1, 1, -2, 3]), ("results", [1, 1, 2, -3])])
def test_negative_box_size_is_rejected_naming_the_record(tool, files, tmp_path, capsys, which, box):
    gt, results, (gt_path, res_path) = files
    if which == "gt":
        gt["annotations"][2]["bbox"] = box
        name = f"annotation {gt['annotations'][2]['id']} of {gt_path}"
    else:
        results[5]["bbox"] = box
        name = f"result 5 (image_id {results[5]['image_id']}) of {res_path}"
    for path, obj in ((gt_path, gt), (res_path, results)):
        with open(path, "w") as f:
            json.dump(obj, f)
    assert tool.main([gt_path, res_path]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {name} has bbox {box} with negative width or height; expected [x, y, w, h], w, h >= 0"


def test_ground_truth_without_annotations_is_one_line(tool, files, capsys):
    gt, _, (gt_path, res_path) = files
    gt["annotations"] = []
    with open(gt_path, "w") as f:
        json.dump(gt, f)
    assert tool.main([gt_path, res_path]) == 2
    assert capsys.readouterr().err.strip() == f"error: ground-truth file {gt_path} has no annotations: nothing to evaluate against"


def test_read_only_output_dir_is_one_line(tool, files, read_only_dir, capsys):
    _, _, (gt_path, res_path) = files
    out = read_only_dir / "out"
    assert tool.main([gt_path, res_path, "--output-dir", str(out), "--no-plots"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write {out}: ") and "\n" not in err


def test_full_disk_names_the_metrics_file(tool, files, tmp_path, capsys, monkeypatch):
    import errno

    _, _, (gt_path, res_path) = files
    out = tmp_path / "out"
    real_dump = json.dump

    def dump(obj, f, **kw):  # the metrics file's write fails as on a full disk
        if getattr(f, "name", "").endswith("lvis_metrics.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_dump(obj, f, **kw)

    monkeypatch.setattr(json, "dump", dump)
    assert tool.main([gt_path, res_path, "--output-dir", str(out), "--no-plots"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"error: cannot write {out / 'lvis_metrics.json'}: No space left on device"


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


def test_command_line_prints_writes_and_exits_with_the_code(files, tmp_path):
    # As a user runs it: a process that leaves through os._exit once its output is flushed,
    # so the table, the files and the exit status must all be there (0, then 2 on bad input).
    import subprocess
    import sys

    gt, results, (gt_path, res_path) = files
    out = tmp_path / "out"
    cmd = [sys.executable, os.path.join(ROOT, "tools", "eval_lvis.py"), gt_path, res_path, "--output-dir", str(out),
           "--no-plots"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ap = float(next(ln.split()[1] for ln in done.stdout.splitlines() if ln.startswith("AP ")))
    assert ap == pytest.approx(LVISEval(gt, results).evaluate("bbox").metrics["AP"] * 100, abs=0.005)
    assert done.stdout.rstrip().endswith("lvis_metrics.json")  # the last line, flushed before the exit
    assert json.loads((out / "lvis_metrics.json").read_text())["bbox"]["AP"] == pytest.approx(ap, abs=0.005)
    bad = subprocess.run(cmd[:2] + [gt_path, str(tmp_path / "missing.json")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: results file") and bad.stderr.count("\n") == 1
