"""LTCheckpointer: atomic writes (a full disk or a kill mid-write never leaves a partial file
that last_checkpoint names), no checkpoint of non-finite weights, resume past corrupt files."""
import errno
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from lt_det.engine.checkpoint import CheckpointError, DivergenceError, LTCheckpointer


class Counter:
    """A checkpointable with one number (stands in for the trainer's iteration)."""

    def __init__(self, n=0):
        self.iter = n

    def state_dict(self):
        return {"iter": self.iter}

    def load_state_dict(self, state):
        self.iter = state["iter"]


def _ckpt(tmp_path, value=1.0, n=0):
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(value)
    counter = Counter(n)
    return model, counter, LTCheckpointer(model, str(tmp_path), trainer=counter)


def test_save_is_atomic_under_a_full_disk(tmp_path, monkeypatch):
    model, _, ck = _ckpt(tmp_path)
    ck.save("model_0000001")
    assert open(tmp_path / "last_checkpoint").read() == "model_0000001.pth"
    good = (tmp_path / "model_0000001.pth").read_bytes()

    real_save = torch.save

    def full_disk(obj, f):
        f.write(b"partial")  # some bytes reach the disk, then it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match="No space"):
        ck.save("model_0000002")
    with pytest.raises(OSError, match="No space"):
        ck.save("model_0000001")  # overwriting an existing checkpoint
    monkeypatch.setattr(torch, "save", real_save)
    # Neither a partial model_0000002.pth nor a temporary file; the old checkpoint untouched
    # and still the one last_checkpoint names.
    assert sorted(os.listdir(tmp_path)) == ["last_checkpoint", "model_0000001.pth"]
    assert (tmp_path / "model_0000001.pth").read_bytes() == good
    assert open(tmp_path / "last_checkpoint").read() == "model_0000001.pth"


def test_kill_during_save_leaves_last_checkpoint_on_a_complete_file(tmp_path):
    # A child process saves one checkpoint, then is killed (SIGKILL) in the middle of writing
    # the second: last_checkpoint names the first, which loads.
    code = textwrap.dedent(f"""
        import os, signal, torch
        from lt_det.engine.checkpoint import LTCheckpointer
        model = torch.nn.Linear(2, 1)
        ck = LTCheckpointer(model, {str(tmp_path)!r})
        ck.save("model_0000001")
        def killed(obj, f):
            f.write(b"half a checkpoint")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = killed
        ck.save("model_0000002")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert open(tmp_path / "last_checkpoint").read() == "model_0000001.pth"
    assert not (tmp_path / "model_0000002.pth").exists()
    torch.load(tmp_path / "model_0000001.pth", weights_only=False)  # complete


def test_non_finite_weights_are_never_saved(tmp_path):
    model, _, ck = _ckpt(tmp_path, n=3)
    ck.save("model_0000003")
    with torch.no_grad():
        model.bias.fill_(float("nan"))
    with pytest.raises(DivergenceError) as e:
        ck.save("model_0000005")
    assert e.value.terms == ["bias"] and e.value.last_good == str(tmp_path / "model_0000003.pth")
    assert "non-finite weights: bias" in str(e.value)
    assert not (tmp_path / "model_0000005.pth").exists()
    assert open(tmp_path / "last_checkpoint").read() == "model_0000003.pth"
    # After a divergence nothing more is saved (e.g. model_final by detectron2's after_train).
    with torch.no_grad():
        model.bias.fill_(0.0)
    ck.save("model_final")
    assert not (tmp_path / "model_final.pth").exists()


def test_resume_falls_back_past_a_corrupt_checkpoint(tmp_path, caplog):
    _, _, ck = _ckpt(tmp_path, value=1.0, n=1)
    ck.save("model_0000001")
    _, _, ck = _ckpt(tmp_path, value=2.0, n=3)
    ck.save("model_0000003")
    os.utime(tmp_path / "model_0000001.pth", (1, 1))  # older
    with open(tmp_path / "model_0000003.pth", "r+b") as f:
        f.truncate(100)  # a truncated file (a copy cut short); detectron2 would raise EOFError
    model, counter, ck = _ckpt(tmp_path, value=0.0)
    with caplog.at_level("WARNING", logger="lt_det"):
        ck.resume_or_load("", resume=True)
    assert counter.iter == 1 and float(model.weight[0, 0]) == 1.0  # the older, valid one
    assert "Resuming from" in caplog.text and "model_0000003.pth cannot be read" in caplog.text


@pytest.mark.parametrize("content", [b"", b"garbage"])
def test_resume_without_a_valid_checkpoint_is_one_line(tmp_path, content):
    (tmp_path / "model_0000002.pth").write_bytes(content)
    (tmp_path / "last_checkpoint").write_text("model_0000002.pth")
    _, _, ck = _ckpt(tmp_path)
    with pytest.raises(CheckpointError) as e:
        ck.resume_or_load("", resume=True)
    msg = str(e.value)
    assert "\n" not in msg and "model_0000002.pth cannot be read" in msg and "--resume" in msg
