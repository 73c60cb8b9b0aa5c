"""projects/ThreeStageLT/diagnose_stages.py on the tiny LT-SAR set: the batches of each
stage hold the classes the stage says (the sedan gone in stage 2, back and balanced in
stages 3a and 3b), every label matches its file, and one record is written per stage end."""
import importlib.util
import json
import os

from lt_det.data.datasets.lt_sar import LTSARSpec, train_counts

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(REPO, "projects", "ThreeStageLT")
# The tiny set (builtin_classification.py): 60, 18, 13, 10, 4, 2 x 5 = 115 chips; batch 16:
# one epoch = ceil(115 / 16) = 8 iterations, the recipe's 18 epochs = 144 iterations.
TINY_COUNTS = train_counts(LTSARSpec(head_train=60, tail_train=2, test_per_class=4, image_size=32, seed=1))
EPOCH = 8
TINY = ["DATASETS.TRAIN", "('lt_sar_tiny_train',)", "DATASETS.TEST", "('lt_sar_tiny_test',)",
        "SOLVER.IMS_PER_BATCH", "16", "SOLVER.MAX_ITER", str(18 * EPOCH), "SOLVER.STEPS", f"({14 * EPOCH},)",
        "SOLVER.WARMUP_ITERS", "0", "LT.EVAL.PLOTS", "False"]


def _load_script():
    spec = importlib.util.spec_from_file_location("diagnose_stages", os.path.join(PROJECT, "diagnose_stages.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stage_batches_follow_the_schedule(tmp_path):
    assert TINY_COUNTS == [60, 18, 13, 10, 4, 2, 2, 2, 2, 2] and -(-sum(TINY_COUNTS) // 16) == EPOCH
    out = tmp_path / "diag"
    _load_script().main(["--config-file", os.path.join(PROJECT, "configs", "ltsar_three_stage.yaml"),
                         "--output", str(out), *TINY])
    report = json.loads((out / "stage_diagnostics.json").read_text())
    assert report["watch"] == "c0_sedan" and report["pair"] == "c5_motorcycle"
    recs = report["records"]
    # One record per stage end: epochs 10, 14, 16, 18 -> iterations 80, 112, 128, 144.
    assert [(r["stage"], r["iter"]) for r in recs] == [
        ("stage1", 80), ("stage2_residual", 112), ("stage3a_balanced_finetune", 128), ("stage3b_classifier_reopt", 144)]
    hist = [r["batch_label_histogram"] for r in recs]
    # Stage 1: 80 iterations x 16 = 1,280 samples, instance-balanced, the sedan included.
    assert sum(hist[0]) == 1280 and hist[0][0] > 0
    # Stage 2: 32 x 16 = 512 samples of the residual set: no sedan, the nine others present.
    assert sum(hist[1]) == 512 and hist[1][0] == 0 and all(n > 0 for n in hist[1][1:])
    # Stages 3a and 3b: 16 x 16 = 256 samples each, class-aware over all 10 classes: the
    # stream is made of rounds of 10 positions (each class once, in a random order) starting
    # at multiples of 10. Stage 3a rebuilds the loader at iteration 112, stream positions
    # 1792-2047: 8 of a round (1792-1799), 24 whole rounds, 8 of a round (2040-2047), so a
    # class gets 24, 25 or 26. Stage 3b changes no data key, so the loader runs on:
    # positions 2048-2303 are 2 + 25 x 10 + 4, so 25, 26 or 27. The sedan is in both.
    for h, (low, high) in zip(hist[2:], ((24, 26), (25, 27))):
        assert sum(h) == 256 and all(low <= n <= high for n in h), h
    # Every training label of the run matched its file's class folder: 144 x 16 = 2,304.
    assert recs[-1]["labels_checked"] == 2304 and recs[-1]["labels_mismatched"] == 0
    # Accuracies are per class (10 values in [0, 100]); the rows of both classes are reported.
    for r in recs:
        assert len(r["test_acc"]) == 10 and all(0 <= a <= 100 for a in r["test_acc"] + r["probe_test_acc"])
        assert set(r["row_bias"]) == {"c0_sedan", "c5_motorcycle"}
