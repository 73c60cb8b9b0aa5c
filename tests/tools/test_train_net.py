"""End-to-end: tools/train_net.py trains, evaluates with LVIS metrics and reports; bad input
fails in one line and leaves nothing behind."""
import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "configs", "LTShapes", "det_faster_r18gn_softmax_tiny.yaml")


def train_net(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    env.pop("LT_DET_DEBUG", None)
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "train_net.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "run"
    proc = train_net("--config-file", TINY, "OUTPUT_DIR", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_train_and_lvis_eval_write_metrics_plot_and_tensorboard(trained):
    out, proc = trained
    metrics = json.load(open(out / "metrics_final.json"))
    bbox = metrics["bbox"]
    for key in ("AP", "AP50", "APr", "APc", "APf"):
        assert key in bbox and (bbox[key] != bbox[key] or -1 <= bbox[key] <= 100)  # NaN or a %
    assert "[lt_det] bbox: AP=" in proc.stdout
    assert (out / "summary.png").stat().st_size > 0
    assert glob.glob(str(out / "events.out.tfevents.*")), "tensorboard events are written"
    rows = [json.loads(line) for line in open(out / "metrics.json")]
    # MAX_ITER 4 -> training iterations 0..3 log losses; the evaluation is logged after them
    assert max(r["iteration"] for r in rows if "total_loss" in r) == 3
    assert any("bbox/AP" in r for r in rows)
    assert (out / "model_final.pth").exists()


def test_eval_only_reproduces_the_final_evaluation(trained):
    out, _ = trained
    proc = train_net("--config-file", TINY, "--eval-only", "MODEL.WEIGHTS",
                     str(out / "model_final.pth"), "OUTPUT_DIR", str(out / "eval"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.load(open(out / "eval" / "metrics_final.json"))["bbox"]
    first = json.load(open(out / "metrics_final.json"))["bbox"]
    # Inference is deterministic on CPU: the same weights give the same numbers.
    for k, v in first.items():
        assert again[k] == pytest.approx(v, abs=1e-9, nan_ok=True), k


@pytest.mark.parametrize(
    "opts, needle",
    [
        (["MODEL.NO_SUCH_KEY", "1"], "MODEL.NO_SUCH_KEY"),
        (["DATASETS.TRAIN", "('no_such_set',)"], "no_such_set"),
        (["MODEL.LT.LOSS.NAME", "NoSuchLoss"], "NoSuchLoss"),
    ],
)
def test_bad_input_is_one_clear_line_and_leaves_no_output(tmp_path, opts, needle):
    out = tmp_path / "never"
    proc = train_net("--config-file", TINY, "OUTPUT_DIR", str(out), *opts, timeout=300)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "train_net.py: error:" in line]
    assert len(errors) == 1 and needle in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


CLS_TINY = os.path.join(ROOT, "configs", "LTImages", "cls_resnet8_ce_tiny.yaml")


def _one_error_line(proc, prefix):
    lines = [line for line in proc.stderr.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def test_divergence_stops_in_one_line_and_keeps_the_logs(tmp_path):
    # Fault injected after training started: lr 1e4 makes the RPN's boxes non-finite at
    # iteration 3 (detectron2 raises FloatingPointError inside the forward pass).
    out = tmp_path / "run"
    proc = train_net("--config-file", TINY, "SOLVER.BASE_LR", "1e4", "OUTPUT_DIR", str(out))
    assert proc.returncode == 3, proc.stderr[-3000:]
    line = _one_error_line(proc, "train_net.py: training diverged at iteration ")
    assert "non-finite" in line and "last good checkpoint: none" in line
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    # The output directory stays, with the log (holding the traceback), metrics and events;
    # nothing after the explosion became a checkpoint.
    log = (out / "log.txt").read_text()
    assert "Traceback" in log and "DivergenceError" in log
    assert (out / "metrics.json").stat().st_size > 0
    assert glob.glob(str(out / "events.out.tfevents.*"))
    assert not (out / "last_checkpoint").exists() and not glob.glob(str(out / "*.pth"))


def test_checkpoint_with_non_finite_weights_never_becomes_last_checkpoint(tmp_path):
    # Classification, lr 1e3 without warm-up, a checkpoint every 2 iterations: the weights
    # blow up within a few iterations (with the default sampler, BatchNorm's running
    # variances were infinite at the checkpoint after iteration 5 while the loss was still
    # finite). Whatever stops the run, last_checkpoint names a finite checkpoint and the
    # error line names it. The lt_det sampler ClassAwareSampler's INFO line must reach
    # log.txt and the console (#12.17).
    out = tmp_path / "run"
    proc = train_net("--config-file", CLS_TINY, "SOLVER.BASE_LR", "1e3", "SOLVER.WARMUP_ITERS", "0",
                     "SOLVER.MAX_ITER", "12", "SOLVER.CHECKPOINT_PERIOD", "2",
                     "DATALOADER.SAMPLER_TRAIN", "ClassAwareSampler", "OUTPUT_DIR", str(out))
    assert proc.returncode == 3, proc.stderr[-3000:]
    line = _one_error_line(proc, "train_net.py: training diverged at iteration ")
    last = (out / "last_checkpoint").read_text()
    assert f"last good checkpoint: {out / last}" in line and "non-finite" in line
    import torch

    state = torch.load(out / last, weights_only=False)["model"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    log = (out / "log.txt").read_text()
    assert "lt_det.data.samplers.build INFO: Using lt_det training sampler ClassAwareSampler" in log
    assert "Using lt_det training sampler ClassAwareSampler" in proc.stdout  # and the console


def test_corrupt_checkpoint_at_resume_is_one_line(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model_0000003.pth").write_bytes(b"")
    (out / "last_checkpoint").write_text("model_0000003.pth")
    proc = train_net("--config-file", CLS_TINY, "--resume", "OUTPUT_DIR", str(out), timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = _one_error_line(proc, "train_net.py: error:")
    assert "model_0000003.pth cannot be read (empty file)" in line
    assert "Traceback" not in proc.stderr and "EOFError" not in proc.stderr
    assert (out / "model_0000003.pth").exists()  # a directory that existed is never removed


DO_TINY = os.path.join(ROOT, "projects", "DecoupledOptimisation", "configs", "lt_images_tiny_do.yaml")


@pytest.mark.parametrize(
    "opts, needle",
    [
        (["LT.DECOUPLE.MANY_MIN", "100"], "LT.DECOUPLE.MANY_MIN"),  # stage 1's group is empty
        (["DATALOADER.LT.GROUP_PREFERRED.RHO", "1.0"], "DATALOADER.LT.GROUP_PREFERRED.RHO"),
        (["LT.DECOUPLE.GAMMAS", "[0.5, 1.0]"], "LT.DECOUPLE.GAMMAS"),
        (["--eval-only", "MODEL.WEIGHTS", ""], "param_masks"),  # no masks to aggregate
    ],
)
def test_decoupled_optimisation_bad_input(tmp_path, opts, needle):
    out = tmp_path / "never"
    flags = [o for o in opts if o.startswith("--")]
    kv = [o for o in opts if not o.startswith("--")]
    proc = train_net("--config-file", DO_TINY, *flags, "OUTPUT_DIR", str(out), *kv, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "train_net.py: error:" in line]
    assert len(errors) == 1 and needle in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
