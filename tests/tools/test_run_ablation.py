"""The ablation runner: table logic on hand-written results, and a tiny real two-run ablation."""
import json
import os
import subprocess
import sys

import pytest

from lt_det.engine.ablation import (
    Combination,
    aggregate_seeds,
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


def test_seed_aggregation_by_hand(tmp_path):
    # top1 70, 72, 74 -> errors 30, 28, 26: mean 28, sample std sqrt((2^2 + 0 + 2^2) / 2) = 2.
    # "few" is missing from seed 2, so it is dropped rather than averaged over two runs.
    for seed, top1 in ((0, 70.0), (1, 72.0), (2, 74.0)):
        m = {"top1": top1, "many": 90.0, "medium": 60.0 + seed}
        if seed != 2:
            m["few"] = 10.0
        _write(str(tmp_path / "CE" / f"seed{seed}" / "metrics_final.json"), {"val": {"classification": m}})
    p = tmp_path / "a.yaml"
    p.write_text("seeds: [0, 1, 2, 3]\ncombinations:\n  - name: CE\n  - name: DRW\n")
    ab = load_ablation(str(p))
    assert ab.seeds == [0, 1, 2, 3]
    assert run_dir("out", ab.combinations[0], 3) == os.path.join("out", "CE", "seed3")
    rows = collect(ab, str(tmp_path))  # seed 3 and every DRW run are missing
    ce = rows["CE"]
    assert ce["n_seeds"] == 3 and rows["DRW"] is None
    assert ce["top1_error"] == pytest.approx(28.0) and ce["top1_error_std"] == pytest.approx(2.0)
    assert ce["many_std"] == 0.0 and ce["medium"] == pytest.approx(61.0) and "few" not in ce
    lines = markdown_table(rows).strip().splitlines()
    assert lines[0] == "| Combination | Top-1 err. | Many | Medium | Few | Seeds |"
    assert lines[2] == "| CE | 28.00 ± 2.00 | 90.00 ± 0.00 | 61.00 ± 1.00 | - | 3 |"
    assert lines[3] == "| DRW | - | - | - | - | 0 |"
    # One run: std 0 by convention (not NaN).
    assert aggregate_seeds([{"AP": 5.0}]) == {"AP": 5.0, "AP_std": 0.0, "n_seeds": 1}
    for bad in ("[0, 0]", "[-1]", "[a]", "3"):
        p.write_text(f"seeds: {bad}\ncombinations:\n  - name: CE\n")
        with pytest.raises(ValueError, match="seeds"):
            load_ablation(str(p))


def test_seeded_runner_resumes_and_tabulates(tmp_path):
    # Seed 0 of CE is "finished" (hand-written result): a dry run with two seeds prints the
    # three remaining commands with SEED last and a per-seed OUTPUT_DIR, and skips that one.
    out = tmp_path / "out"
    _write(str(out / "CE" / "seed0" / "metrics_final.json"),
           {"val": {"classification": {"top1": 60.0, "many": 1.0, "medium": 2.0, "few": 3.0}}})
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text("combinations:\n  - name: CE\n  - name: CS-CE\n    opts: [MODEL.LT.LOSS.NAME, CSCE]\n")
    runner = [sys.executable, os.path.join(REPO, "tools", "run_ablation.py"), "--config-file", BASE,
              "--ablation", str(ablation), "--output-dir", str(out)]
    r = subprocess.run(runner + ["--seeds", "0", "1", "--dry-run"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "CE (seed 0): results exist, skipped" in r.stdout
    cmds = [line for line in r.stdout.splitlines() if "train_net.py" in line]
    assert len(cmds) == 3
    assert cmds[0].endswith(f"MODEL.LT.LOSS.NAME CSCE SEED 0 OUTPUT_DIR {out / 'CS-CE' / 'seed0'}")
    assert cmds[2].endswith(f"SEED 1 OUTPUT_DIR {out / 'CS-CE' / 'seed1'}")
    r = subprocess.run(runner + ["--seeds", "0", "1", "--table-only"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    table = (out / "results.md").read_text().splitlines()
    # One finished seed: plain values (a standard deviation of one run means nothing).
    assert table[2] == "| CE | 40.00 | 1.00 | 2.00 | 3.00 | 1 |"
    # A runner for seed 1 only still tabulates the file's seeds: with "seeds: [0]" in the file,
    # --seeds 1 --table-only keeps CE's seed-0 result (seed 1 has none yet).
    seeded = tmp_path / "seeded.yaml"
    seeded.write_text("seeds: [0]\n" + ablation.read_text())
    r = subprocess.run(runner[:-4] + ["--ablation", str(seeded), "--output-dir", str(out), "--seeds", "1", "--table-only"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "results.md").read_text().splitlines()[2] == "| CE | 40.00 | 1.00 | 2.00 | 3.00 | 1 |"
    r = subprocess.run(runner + ["--seeds", "1", "1"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "seeds repeat" in r.stderr
    # --only trains the named combinations (the table still lists all); unknown names fail.
    r = subprocess.run(runner + ["--seeds", "1", "--only", "CE", "--dry-run"], cwd=REPO, capture_output=True, text=True, timeout=120)
    cmds = [line for line in r.stdout.splitlines() if "train_net.py" in line]
    assert r.returncode == 0 and len(cmds) == 1 and cmds[0].endswith(f"SEED 1 OUTPUT_DIR {out / 'CE' / 'seed1'}")
    r = subprocess.run(runner + ["--only", "DRW"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "'DRW'" in r.stderr


def test_train_command():
    cmd = train_command("py", "train_net.py", "base.yaml", Combination("x", ["A", 1], None), "out", ["B", 2])
    assert cmd == ["py", "train_net.py", "--config-file", "base.yaml", "B", "2", "A", "1", "OUTPUT_DIR", os.path.join("out", "x")]
    cmd = train_command("py", "train_net.py", "base.yaml", Combination("x", ["SEED", 5], None), "out", [], seed=7)
    assert cmd[-4:] == ["SEED", "7", "OUTPUT_DIR", os.path.join("out", "x", "seed7")]


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


def test_eval_of_rows(tmp_path):
    # "DRW + tau" trains nothing: --eval-only on DRW's checkpoint of the same seed, with
    # DRW's config and opts, then its own; a row it names must be listed before it.
    p = tmp_path / "a.yaml"
    p.write_text("combinations:\n  - name: DRW\n    config: drw.yaml\n    opts: [A, 1]\n"
                 "  - name: DRW + tau\n    eval_of: DRW\n    opts: [B, 2]\n")
    ab = load_ablation(str(p))
    drw, tau = ab.combinations
    assert tau.eval_of == "DRW" and ab.combination("DRW") is drw
    cmd = train_command("py", "train_net.py", "base.yaml", tau, "out", ["C", 3], seed=1, source=drw)
    assert cmd == ["py", "train_net.py", "--config-file", drw.config, "--eval-only", "C", "3", "A", "1", "B", "2",
                   "SEED", "1", "MODEL.WEIGHTS", os.path.join("out", "DRW", "seed1", "model_final.pth"),
                   "OUTPUT_DIR", os.path.join("out", "DRW_+_tau", "seed1")]
    with pytest.raises(ValueError, match="pass that row as source"):
        train_command("py", "train_net.py", "base.yaml", tau, "out")
    for bad, match in (
        ("  - name: X\n    eval_of: DRW\n  - name: DRW\n", "not a combination listed before it"),
        ("  - name: DRW\n  - name: X\n    eval_of: DRW\n  - name: Y\n    eval_of: X\n", "itself an evaluation"),
        ("  - name: DRW\n  - name: X\n    eval_of: DRW\n    config: c.yaml\n", "eval_of and config"),
    ):
        p.write_text("combinations:\n" + bad)
        with pytest.raises(ValueError, match=match):
            load_ablation(str(p))


def test_runner_eval_of_needs_the_trained_checkpoint(tmp_path):
    # A dry run prints the --eval-only command; a real run of the evaluation row alone (its
    # trained row not run, no checkpoint) fails with a line naming the missing file.
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text("combinations:\n  - name: CE\n  - name: CE tau\n    eval_of: CE\n"
                        "    opts: [MODEL.LT.CLASSIFIER.TAU, 1.0]\n")
    out = tmp_path / "out"
    runner = [sys.executable, os.path.join(REPO, "tools", "run_ablation.py"), "--config-file", BASE,
              "--ablation", str(ablation), "--output-dir", str(out), "--seeds", "0"]
    r = subprocess.run(runner + ["--dry-run"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    cmds = [line for line in r.stdout.splitlines() if "train_net.py" in line]
    assert len(cmds) == 2 and "--eval-only" not in cmds[0]
    assert cmds[1].endswith(f"--eval-only MODEL.LT.CLASSIFIER.TAU 1.0 SEED 0 MODEL.WEIGHTS "
                            f"{out / 'CE' / 'seed0' / 'model_final.pth'} OUTPUT_DIR {out / 'CE_tau' / 'seed0'}")
    r = subprocess.run(runner + ["--only", "CE tau"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert f"evaluates 'CE', whose checkpoint {out / 'CE' / 'seed0' / 'model_final.pth'} does not exist" in r.stderr
