"""The generated-set cache: directory naming and the write-once, atomic generation."""
import os
from dataclasses import dataclass

import pytest

from lt_det.data.datasets.cache import cache_dir, ensure_generated, spec_cache_dir


@dataclass(frozen=True)
class _Spec:
    size: int = 3
    ratio: float = 0.5


def test_spec_cache_dir_names_version_and_fields():
    assert spec_cache_dir("toy", 4, _Spec()) == os.path.join(cache_dir("toy"), "v4_3_0.5")


def test_generates_once_and_writes_the_marker(tmp_path):
    calls = []

    def generate(folder):
        calls.append(folder)
        open(os.path.join(folder, "data.txt"), "w").close()

    target = str(tmp_path / "set")
    assert ensure_generated(target, generate) == target
    assert ensure_generated(target, generate) == target  # complete: not generated again
    assert len(calls) == 1 and calls[0] != target  # written elsewhere, then moved
    assert sorted(os.listdir(target)) == ["DONE", "data.txt"]


def test_generator_file_as_marker(tmp_path):
    target = str(tmp_path / "set")
    ensure_generated(target, lambda f: open(os.path.join(f, "last.json"), "w").close(), "last.json")
    assert os.listdir(target) == ["last.json"]  # no extra DONE file


def test_failed_generation_leaves_nothing(tmp_path):
    def fail(folder):
        open(os.path.join(folder, "partial.txt"), "w").close()
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError):
        ensure_generated(str(tmp_path / "set"), fail)
    assert sorted(os.listdir(tmp_path)) == [".lock"]  # no target, no temporary folder
