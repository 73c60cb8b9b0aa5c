"""tools/train_net.py on bad input met during or before training: a corrupt image, a set
without annotations, an output folder it cannot write, a key that does not exist. Each is
one line naming the file or key, exit code 2 (or, for a corrupt image with
LT.INPUT.ON_CORRUPT skip, a run that finishes and counts the skipped file)."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "configs", "LTShapes", "det_faster_r18gn_softmax_tiny.yaml")
DRIVER = os.path.join(ROOT, "tests", "tools", "train_net_on_lvis_set.py")
# The tiny LT-Shapes model on the 2-class set of conftest.write_lvis_set, 2 iterations.
ON_USER_SET = [
    "MODEL.ROI_HEADS.NUM_CLASSES", "2", "DATASETS.TRAIN", "('user_set_train',)",
    "DATASETS.TEST", "('user_set_test',)", "SOLVER.MAX_ITER", "2", "SOLVER.STEPS", "()",
    "SOLVER.WARMUP_ITERS", "1", "SEED", "1",
]


def _run(cmd, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="2", PYTHONPATH=ROOT)
    env.pop("LT_DET_DEBUG", None)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def train_on_set(train_json, test_json, image_root, *args):
    return _run([sys.executable, DRIVER, train_json, test_json, image_root,
                 "--config-file", TINY, *ON_USER_SET, *args])


def one_error_line(proc):
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if "train_net.py: error:" in line]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return errors[0]


def test_truncated_image_error_names_the_file(lvis_set, tmp_path):
    train_json, paths = lvis_set(truncated=(1,))
    proc = train_on_set(train_json, train_json, str(tmp_path), "OUTPUT_DIR", str(tmp_path / "out"))
    line = one_error_line(proc)
    assert f"Cannot decode image {paths[1]}: OSError: image file is truncated" in line
    assert "LT.INPUT.ON_CORRUPT" in line


def test_truncated_image_skipped_and_counted(lvis_set, tmp_path):
    train_json, paths = lvis_set(truncated=(1,))
    # The test set: the same images but the truncated one (image id 2), which the test
    # mapper would refuse.
    test = json.load(open(train_json))
    test["images"] = [im for im in test["images"] if im["id"] != 2]
    test["annotations"] = [a for a in test["annotations"] if a["image_id"] != 2]
    test_json = str(tmp_path / "test.json")
    json.dump(test, open(test_json, "w"))
    out = tmp_path / "out"
    proc = train_on_set(train_json, test_json, str(tmp_path), "OUTPUT_DIR", str(out),
                        "LT.INPUT.ON_CORRUPT", "skip")
    assert proc.returncode == 0, proc.stderr[-3000:]
    # 2 iterations x 2 images from a shuffled stream of the 4 images: the truncated file is
    # met within the first epoch (at least once: 4 draws cover one whole permutation).
    logged = proc.stdout + proc.stderr
    assert f"Skipped corrupt image 1 in this data-loader process (LT.INPUT.ON_CORRUPT 'skip'): Cannot decode image {paths[1]}" in logged
    assert (out / "model_final.pth").is_file()


def test_unknown_command_line_key_is_blamed_on_the_command_line(tmp_path):
    proc = _run([sys.executable, os.path.join(ROOT, "tools", "train_net.py"), "--config-file", TINY,
                 "OUTPUT_DIR", str(tmp_path / "out"), "MODEL.NO_SUCH_KEY", "1"], timeout=300)
    line = one_error_line(proc)
    assert "command-line option MODEL.NO_SUCH_KEY 1: Non-existent key: MODEL.NO_SUCH_KEY" in line
    assert ".yaml" not in line


def test_read_only_output_dir_is_one_line_before_training(read_only_dir):
    out = read_only_dir / "run"
    proc = _run([sys.executable, os.path.join(ROOT, "tools", "train_net.py"), "--config-file", TINY,
                 "OUTPUT_DIR", str(out)], timeout=300)
    line = one_error_line(proc)
    assert f"OUTPUT_DIR {out}: cannot write {read_only_dir}: " in line
    assert "choose a writable OUTPUT_DIR" in line
    assert "Starting training" not in proc.stdout + proc.stderr


def test_full_disk_while_training_is_one_line_naming_the_file(monkeypatch, capsys):
    # tools/train_net.py's run() on an ENOSPC raised mid-run by a writer that names its file.
    import errno
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_net_tool", os.path.join(ROOT, "tools", "train_net.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def full_disk(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/out/metrics_final.json")

    monkeypatch.setattr(tool, "main", full_disk)
    monkeypatch.delenv("LT_DET_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        tool.run(None)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("train_net.py: error: cannot write /out/metrics_final.json: No space left on device")
    assert "\n" not in err


def test_training_set_without_annotations_is_one_line(lvis_set, tmp_path):
    train_json, _ = lvis_set(annotated=False)
    out = tmp_path / "out"
    proc = train_on_set(train_json, train_json, str(tmp_path), "OUTPUT_DIR", str(out))
    line = one_error_line(proc)
    assert f"Training set user_set_train ({train_json}) has no annotations" in line
    assert not out.exists()


def test_test_set_without_annotations_is_one_line(lvis_set, tmp_path):
    train_json, _ = lvis_set()
    test = json.load(open(train_json))
    test["annotations"] = []
    test_json = str(tmp_path / "test.json")
    json.dump(test, open(test_json, "w"))
    proc = train_on_set(train_json, test_json, str(tmp_path), "OUTPUT_DIR", str(tmp_path / "out"))
    line = one_error_line(proc)
    assert f"Test set user_set_test ({test_json}) has no annotations" in line
