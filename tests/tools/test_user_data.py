"""A user's own data from the config alone (DATASETS.LT.REGISTER, #11 section 5), and the
start-of-run checks through tools/train_net.py (exit 2, one line, nothing written)."""
import json
import os
import subprocess
import sys

import pytest
import yaml
from tiny_data import write_image_folder, write_lvis_set

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DET_TINY = os.path.join(ROOT, "configs", "LTShapes", "det_faster_r18gn_softmax_tiny.yaml")
CLS_TINY = os.path.join(ROOT, "configs", "LTImages", "cls_resnet8_ce_tiny.yaml")


def train_net(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    env.pop("LT_DET_DEBUG", None)
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "train_net.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def _config(path, base, body):
    with open(path, "w") as f:
        yaml.safe_dump({"_BASE_": base, **body}, f)
    return str(path)


def test_lvis_format_json_from_the_config_trains_and_evaluates(tmp_path):
    train_json = write_lvis_set(str(tmp_path / "train"))
    val_json = write_lvis_set(str(tmp_path / "val"), instances_per_class=(2, 1, 1), num_images=2)
    cfg = _config(tmp_path / "my.yaml", DET_TINY, {
        "DATASETS": {
            "LT": {"REGISTER": [
                {"NAME": "my_train", "JSON_FILE": train_json, "IMAGE_ROOT": str(tmp_path / "train")},
                {"NAME": "my_val", "JSON_FILE": val_json, "IMAGE_ROOT": str(tmp_path / "val")},
            ]},
            "TRAIN": ["my_train"], "TEST": ["my_val"],
        },
        "MODEL": {"ROI_HEADS": {"NAME": "LTStandardROIHeads", "NUM_CLASSES": 3}, "LT": {"LOSS": {"NAME": "EQL"}}},
        "SOLVER": {"MAX_ITER": 2},
        "LT": {"EVAL": {"PLOTS": False}},
        "OUTPUT_DIR": str(tmp_path / "out"),
    })
    proc = train_net("--config-file", cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.load(open(tmp_path / "out" / "metrics_final.json"))
    assert "AP" in metrics["bbox"]
    rows = [json.loads(line) for line in open(tmp_path / "out" / "metrics.json")]
    assert max(r["iteration"] for r in rows if "total_loss" in r) == 1  # MAX_ITER 2: iterations 0, 1


def test_image_folder_from_the_config_trains_and_evaluates(tmp_path):
    root = write_image_folder(str(tmp_path / "folder"), images_per_class=(5, 2, 1))
    cfg = _config(tmp_path / "my.yaml", CLS_TINY, {
        "DATASETS": {"LT": {"REGISTER": [{"NAME": "my_folder", "ROOT": root}]},
                     "TRAIN": ["my_folder_train"], "TEST": ["my_folder_val"]},
        "MODEL": {"LT": {"CLASSIFIER": {"NUM_CLASSES": 3}}},
        "SOLVER": {"IMS_PER_BATCH": 4, "MAX_ITER": 3, "STEPS": [2], "WARMUP_ITERS": 0},
        "LT": {"EVAL": {"PLOTS": False}},
        "OUTPUT_DIR": str(tmp_path / "out"),
    })
    proc = train_net("--config-file", cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.load(open(tmp_path / "out" / "metrics_final.json"))
    assert 0 <= metrics["classification"]["top1"] <= 100


@pytest.mark.parametrize(
    "config, opts, needle",
    [
        # detectron2's stock softmax head (the demo's), one class too few / too many for the
        # 8 classes of lt_shapes_tiny: before the check, 7 trained silently (class 7 became
        # background) and 9 failed after training.
        (DET_TINY, ["MODEL.ROI_HEADS.NUM_CLASSES", "7"],
         "MODEL.ROI_HEADS.NUM_CLASSES is 7 but DATASETS.TRAIN 'lt_shapes_tiny_train' has 8 classes"),
        (DET_TINY, ["MODEL.ROI_HEADS.NUM_CLASSES", "9"],
         "MODEL.ROI_HEADS.NUM_CLASSES is 9 but DATASETS.TRAIN 'lt_shapes_tiny_train' has 8 classes"),
        (CLS_TINY, ["MODEL.LT.CLASSIFIER.NUM_CLASSES", "7"],
         "MODEL.LT.CLASSIFIER.NUM_CLASSES is 7 but DATASETS.TRAIN 'lt_images_tiny_train' has 6 classes"),
        (DET_TINY, ["DATASETS.TEST", "('lt_images_tiny_val',)"],
         "is a detection model but DATASETS.TEST 'lt_images_tiny_val' has task 'classification'"),
        (DET_TINY, ["DATASETS.LT.REGISTER", "[{'NAME': 'x', 'JSON_FILE': '/no/such.json', 'IMAGE_ROOT': '/'}]"],
         "DATASETS.LT.REGISTER[0].JSON_FILE /no/such.json does not exist"),
    ],
)
def test_config_that_disagrees_with_its_data_stops_before_training(tmp_path, config, opts, needle):
    out = tmp_path / "never"
    proc = train_net("--config-file", config, "OUTPUT_DIR", str(out), *opts, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "train_net.py: error:" in line]
    assert len(errors) == 1 and needle in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not out.exists()
