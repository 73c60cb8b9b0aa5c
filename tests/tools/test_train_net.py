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
