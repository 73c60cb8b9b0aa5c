"""lt_det.engine.input_checks: config errors name their source, output folders are checked
before training, write errors become one line naming the file."""
import errno
import os

import pytest

from lt_det.config import get_lt_cfg
from lt_det.engine import input_checks
from lt_det.engine.input_checks import (
    InputError,
    base_chain,
    check_output_dir,
    merge_config_sources,
    os_error_message,
)
from lt_det.evaluation.final_report import atomic_write_json


@pytest.fixture
def chain(tmp_path):
    """child.yaml -> sub/mid.yaml -> base.yaml (relative _BASE_ paths, as configs/ uses)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "base.yaml").write_text("SOLVER:\n  MAX_ITER: 7\n")
    (tmp_path / "sub" / "mid.yaml").write_text('_BASE_: "../base.yaml"\nSOLVER:\n  BASE_LR: 0.5\n')
    (tmp_path / "child.yaml").write_text('_BASE_: "sub/mid.yaml"\nSEED: 3\n')
    return tmp_path


def test_a_good_chain_merges(chain):
    cfg = get_lt_cfg()
    merge_config_sources(cfg, str(chain / "child.yaml"), ["SOLVER.IMS_PER_BATCH", "4"])
    assert (cfg.SOLVER.MAX_ITER, cfg.SOLVER.BASE_LR, cfg.SEED, cfg.SOLVER.IMS_PER_BATCH) == (7, 0.5, 3, 4)
    assert base_chain(str(chain / "child.yaml")) == [
        str(chain / "child.yaml"), str(chain / "sub" / "mid.yaml"), str(chain / "sub" / "../base.yaml")]


def test_unknown_key_on_the_command_line_is_not_blamed_on_the_file(chain):
    with pytest.raises(InputError) as info:
        merge_config_sources(get_lt_cfg(), str(chain / "child.yaml"), ["SEED", "1", "MODEL.NO_SUCH_KEY", "1"])
    msg = str(info.value)
    assert msg.startswith("command-line option MODEL.NO_SUCH_KEY 1: Non-existent key: MODEL.NO_SUCH_KEY")
    assert "child.yaml" not in msg and "lt_det/config/defaults.py" in msg


def test_command_line_type_mismatch_and_odd_list(chain):
    with pytest.raises(InputError, match="^command-line option SOLVER.MAX_ITER abc: Type mismatch"):
        merge_config_sources(get_lt_cfg(), str(chain / "child.yaml"), ["SOLVER.MAX_ITER", "abc"])
    with pytest.raises(InputError, match="^command line: .*KEY VALUE pairs; 'SEED' has no value"):
        merge_config_sources(get_lt_cfg(), str(chain / "child.yaml"), ["SEED"])


def test_unknown_key_in_the_config_file_names_it(chain):
    (chain / "child.yaml").write_text('_BASE_: "sub/mid.yaml"\nMODEL:\n  NO_SUCH_KEY: 1\n')
    with pytest.raises(InputError, match=rf"^{chain / 'child.yaml'}: Non-existent config key: MODEL.NO_SUCH_KEY"):
        merge_config_sources(get_lt_cfg(), str(chain / "child.yaml"), [])


def test_unknown_key_in_a_base_names_the_base_and_the_child(chain):
    (chain / "base.yaml").write_text("SOLVER:\n  NO_SUCH_KEY: 1\n")
    with pytest.raises(InputError) as info:
        merge_config_sources(get_lt_cfg(), str(chain / "child.yaml"), [])
    assert str(info.value).startswith(
        f"{chain / 'sub' / '../base.yaml'} (a _BASE_ of {chain / 'child.yaml'}): "
        "Non-existent config key: SOLVER.NO_SUCH_KEY"
    )


def test_yaml_syntax_error_names_file_and_line(chain):
    (chain / "child.yaml").write_text("SEED: 3\nSOLVER: [1,\n")
    with pytest.raises(InputError, match=rf"^{chain / 'child.yaml'}: YAML syntax error at line 3"):
        merge_config_sources(get_lt_cfg(), str(chain / "child.yaml"), [])


def test_output_dir_check_passes_and_leaves_nothing(tmp_path):
    check_output_dir(str(tmp_path / "a" / "b"))  # probed in tmp_path, the nearest existing parent
    assert os.listdir(tmp_path) == []


def test_output_dir_under_a_file_is_an_error(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match=rf"^OUTPUT_DIR {tmp_path / 'f' / 'out'} cannot be created: {tmp_path / 'f'} is a file"):
        check_output_dir(str(tmp_path / "f" / "out"))


@pytest.mark.parametrize(
    "code, hint", [(errno.EROFS, "choose a writable OUTPUT_DIR"), (errno.ENOSPC, "free space or choose another OUTPUT_DIR")]
)
def test_unwritable_output_dir_is_one_line(tmp_path, monkeypatch, code, hint):
    # The write of the probe file fails as on a read-only / full file system.
    def failing(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(input_checks.tempfile, "TemporaryFile", failing)
    with pytest.raises(InputError) as info:
        check_output_dir(str(tmp_path / "out"))
    assert str(info.value) == f"OUTPUT_DIR {tmp_path / 'out'}: cannot write {tmp_path}: {os.strerror(code)} ({hint})"


def test_os_error_message_prefers_the_errors_own_file():
    e = OSError(errno.ENOSPC, "No space left on device", "/x/model_final.pth")
    assert os_error_message(e, "/x") == "cannot write /x/model_final.pth: No space left on device (free space or choose another OUTPUT_DIR)"


def test_full_disk_in_atomic_write_json_names_the_file(tmp_path, monkeypatch):
    # json.dump fails in write() on a full disk; that OSError carries no file name.
    import json

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(json, "dump", full)
    path = str(tmp_path / "metrics_final.json")
    with pytest.raises(OSError) as info:
        atomic_write_json({"a": 1}, path)
    assert info.value.filename == path and os.listdir(tmp_path) == []  # no .tmp left behind
    assert os_error_message(info.value).startswith(f"cannot write {path}: No space left on device")
