"""The ablation runner: table logic on hand-written results, and a tiny real two-run ablation."""
import json
import os
import subprocess
import sys

import pytest

from lt_det.utils.ablation import (
    Combination,
    collect,
    load_ablation,
    markdown_table,
    read_metrics,
    run_dir,
    train_command,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = os.path.join(REPO, "projects", "BagOfTricksLT", "configs", "Base-BoT-LTImages.yaml")


def _write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f)


def test_load_ablation_validates(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("combinations:\n  - name: CE\n  - name: 'CS CE'\n    opts: [MODEL.LT.LOSS.NAME, CSCE]\n")
    ab = load_ablation(str(p))
    assert [c.name for c in ab.combinations] == ["CE", "CS CE"]
    assert run_dir("out", ab.combinations[1]) == os.path.join("out", "CS_CE")
    p.write_text("combinations:\n  - name: CE\n    opts: [SOLVER.BASE_LR]\n")
    with pytest.raises(ValueError, match="KEY VALUE pairs"):
        load_ablation(str(p))
    p.write_text("combinations:\n  - name: CE\n  - name: CE\n")
    with pytest.raises(ValueError, match="two combinations"):
        load_ablation(str(p))
    p.write_text("combinations: []\n")
    with pytest.raises(ValueError, match="no 'combinations'"):
        load_ablation(str(p))


def test_metrics_and_table_by_hand(tmp_path):
    # top1 72.5 -> top-1 error 27.5; a detection run reports AP columns instead.
    _write(str(tmp_path / "CE" / "metrics_final.json"),
           {"lt_images_val": {"classification": {"top1": 72.5, "many": 90.0, "medium": 70.25, "few": 40.0}}})
    m = read_metrics(str(tmp_path / "CE"))
    assert m["top1_error"] == pytest.approx(27.5)
    assert read_metrics(str(tmp_path / "missing")) is None
    table = markdown_table({"CE": m, "DRW": None}, reference={"CE": {"top1_error": 30.12}})
    lines = table.strip().splitlines()
    assert lines[0] == "| Combination | Top-1 err. | Many | Medium | Few | Top-1 err. (paper) |"
    assert lines[2] == "| CE | 27.50 | 90.00 | 70.25 | 40.00 | 30.12 |"
    assert lines[3] == "| DRW | - | - | - | - | - |"
    det = markdown_table({"EQL": {"AP": 20.0, "APr": 5.0, "APc": 18.0, "APf": 27.0}})
    assert "| EQL | 20.00 | 5.00 | 18.00 | 27.00 |" in det and "APr" in det.splitlines()[0]


def test_train_command():
    cmd = train_command("py", "train_net.py", "base.yaml", Combination("x", ["A", 1], None), "out", ["B", 2])
    assert cmd == ["py", "train_net.py", "--config-file", "base.yaml", "B", "2", "A", "1", "OUTPUT_DIR", os.path.join("out", "x")]


def test_two_combination_ablation_writes_table(tmp_path):
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text(
        "combinations:\n"
        "  - name: CE\n"
        "  - name: CS-CE\n"
        "    opts: [MODEL.LT.LOSS.NAME, CSCE]\n"
    )
    out = tmp_path / "out"
    tiny = [
        "DATASETS.TRAIN", "('lt_images_tiny_train',)", "DATASETS.TEST", "('lt_images_tiny_val',)",
        "MODEL.LT.CLASSIFIER.NUM_CLASSES", "6", "SOLVER.MAX_ITER", "3", "SOLVER.STEPS", "()",
        "SOLVER.WARMUP_ITERS", "0", "SOLVER.IMS_PER_BATCH", "8", "LT.EVAL.PLOTS", "False",
    ]
    cmd = [sys.executable, os.path.join(REPO, "tools", "run_ablation.py"), "--config-file", BASE,
           "--ablation", str(ablation), "--output-dir", str(out), *tiny]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    table = (out / "results.md").read_text().splitlines()
    assert table[0].startswith("| Combination | Top-1 err. | Many | Medium | Few |")
    assert table[2].startswith("| CE | ") and table[3].startswith("| CS-CE | ")
    rows = collect(load_ablation(str(ablation)), str(out))
    for name in ("CE", "CS-CE"):
        assert 0.0 <= rows[name]["top1_error"] <= 100.0
    assert (out / "results.png").exists()
    # Re-running skips finished combinations (resume) and rewrites the same table.
    r2 = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r2.returncode == 0 and r2.stdout.count("results exist, skipped") == 2
    assert (out / "results.md").read_text().splitlines() == table
