"""projects/ThreeStageLT end to end on the tiny LT-SAR set: the three-stage config runs all
its stages in one run through tools/run_ablation.py and the table is written; bad class
subsets are one line and exit code 2 from tools/train_net.py."""
import os
import re
import subprocess
import sys

import pytest

from lt_det.data.datasets.lt_sar import LTSARSpec, train_counts
from lt_det.engine.ablation import collect, load_ablation

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(REPO, "projects", "ThreeStageLT")
THREE_STAGE = os.path.join(PROJECT, "configs", "ltsar_three_stage.yaml")
# The tiny set (builtin_classification.py): the profile scaled to 60 -> 2 chips.
TINY_COUNTS = train_counts(LTSARSpec(head_train=60, tail_train=2, test_per_class=4, image_size=32, seed=1))
# Batch 16: one epoch = ceil(N / 16) iterations; the run keeps the recipe's 18 epochs.
EPOCH = -(-sum(TINY_COUNTS) // 16)
TINY = ["DATASETS.TRAIN", "('lt_sar_tiny_train',)", "DATASETS.TEST", "('lt_sar_tiny_test',)",
        "SOLVER.IMS_PER_BATCH", "16", "SOLVER.MAX_ITER", str(18 * EPOCH), "SOLVER.STEPS", f"({14 * EPOCH},)",
        "SOLVER.WARMUP_ITERS", "0", "LT.EVAL.PLOTS", "False"]
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def test_tiny_three_stage_ablation_runs_every_stage_and_writes_the_table(tmp_path):
    # Tiny counts 60, 18, 13, 10, 4, 2 x 5 (115 chips): the sedan holds 60 / 115 = 52 %, so
    # the recipe's share rule (> 0.5) removes it, as on the full set (1,200 / 1,780 = 67 %).
    assert TINY_COUNTS == [60, 18, 13, 10, 4, 2, 2, 2, 2, 2] and EPOCH == 8  # ceil(115 / 16)
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text(f"combinations:\n  - name: CE\n  - name: Three-stage\n    config: {THREE_STAGE}\n")
    out = tmp_path / "out"
    cmd = [sys.executable, os.path.join(REPO, "tools", "run_ablation.py"), "--config-file",
           os.path.join(PROJECT, "configs", "Base-ThreeStage-LTSAR.yaml"), "--ablation", str(ablation),
           "--output-dir", str(out), *TINY]
    r = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    table = (out / "results.md").read_text().splitlines()
    assert table[2].startswith("| CE | ") and table[3].startswith("| Three-stage | ")
    rows = collect(load_ablation(str(ablation)), str(out))
    assert all(0.0 <= rows[n]["top1_error"] <= 100.0 for n in ("CE", "Three-stage"))
    # The log of the three-stage run: each stage took over at its epoch boundary.
    log = (out / "Three-stage" / "log.txt").read_text()
    for name, epoch, k in (("stage2_residual", 10, 1), ("stage3a_balanced_finetune", 14, 2),
                           ("stage3b_classifier_reopt", 16, 3)):
        assert re.search(rf"Stage '{name}' \({k}/3\) in force from iteration {epoch * EPOCH}\b", log), name
    # Stage 2 trained on the residual set: 115 - 60 = 55 chips, 9 of the 10 classes.
    assert "LT.CLASS_SUBSET: training on 9 of 10 classes (removed ids [0]), 55 samples" in log
    assert "reinit ['head']" in log


# One subprocess case here (each costs a process start); the other bad subsets (a share
# outside (0, 1), a subset without any class left) are checked in process in
# tests/engine/test_stage_class_subset.py and tests/data/test_class_subset.py.
@pytest.mark.parametrize(
    "stage2, needle",
    [("['LT.CLASS_SUBSET.REMOVE', ['no_such_class']]", "LT.CLASS_SUBSET.REMOVE names 'no_such_class'")],
)
def test_bad_class_subset_is_one_line_and_exit_2(tmp_path, stage2, needle):
    out = tmp_path / "never"
    stages = f"[{{'NAME': 'stage2_residual', 'START_ITER': 3, 'OVERRIDES': {stage2}}}]"
    cmd = [sys.executable, os.path.join(REPO, "tools", "train_net.py"), "--config-file", THREE_STAGE, *TINY,
           "LT.STAGES", stages, "OUTPUT_DIR", str(out)]
    r = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    errors = [line for line in r.stderr.splitlines() if "train_net.py: error:" in line]
    assert len(errors) == 1 and needle in errors[0] and "LT.STAGES[0] (stage2_residual)" in errors[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr
