"""Checks of a run's input made before training starts, each failing in one line that says
where the bad input came from: a config key (the command line, or which YAML file of the
``_BASE_`` chain) and the output folder.
"""
import errno
import os
import re
import tempfile
from typing import List, Optional, Sequence

import yaml

KEY_HINT = "keys lt_det adds are listed in lt_det/config/defaults.py"


# errno values of a write that the user fixes (free space, a writable folder).
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


class InputError(ValueError):
    """Bad input (a config key, a data set, an output folder), in one line naming its source."""


def base_chain(config_file: str) -> List[str]:
    """``config_file`` and the files its ``_BASE_`` entries reach, depth first, most derived
    first (the order in which a key set in several of them is looked for)."""
    chain, todo = [], [config_file]
    while todo:
        path = todo.pop(0)
        if path in chain or not os.path.isfile(path):
            continue
        chain.append(path)
        try:
            with open(path) as f:
                data = yaml.safe_load(f) or {}
        except yaml.YAMLError:
            continue
        bases = data.get("_BASE_") if isinstance(data, dict) else None
        bases = [bases] if isinstance(bases, str) else list(bases or [])
        for base in bases:
            base = os.path.expanduser(base)
            todo.insert(0, base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base))
    return chain


def _sets_key(path: str, key: str) -> bool:
    try:
        with open(path) as f:
            node = yaml.safe_load(f) or {}
    except yaml.YAMLError:
        return False
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def key_source(config_file: str, key: str) -> Optional[str]:
    """The most derived file of ``config_file``'s ``_BASE_`` chain that sets ``key``, or None."""
    return next((p for p in base_chain(config_file) if _sets_key(p, key)), None)


def _key_of(message: str) -> Optional[str]:
    # yacs' messages: "Non-existent config key: A.B", "Type mismatch (...) for config key: A.B",
    # "Key A.B was renamed to C.D; ...".
    m = re.search(r"config key: ([\w.]+)", message) or re.search(r"^Key ([\w.]+) was renamed", message)
    return m.group(1) if m else None


def _message(error: BaseException) -> str:
    msg = str(error.args[0] if isinstance(error, KeyError) and error.args else error).strip("'\"")
    if msg.startswith("Non-existent"):
        msg += f" ({KEY_HINT})"
    return msg


def merge_config_sources(cfg, config_file: str, opts: Sequence[str]) -> None:
    """``cfg.merge_from_file(config_file)`` then ``cfg.merge_from_list(opts)``; an error names
    its source: the YAML file that sets the bad key (with the file it was reached from through
    ``_BASE_``), or the command-line option."""
    try:
        cfg.merge_from_file(config_file)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"{config_file}: YAML syntax error{at}: {problem}") from None
    except (KeyError, AssertionError, ValueError) as e:
        msg = _message(e)
        key = _key_of(msg)
        source = key_source(config_file, key) if key else None
        if source is None or os.path.abspath(source) == os.path.abspath(config_file):
            raise InputError(f"{config_file}: {msg}") from None
        raise InputError(f"{source} (a _BASE_ of {config_file}): {msg}") from None
    opts = list(opts)
    if len(opts) % 2:
        raise InputError(
            f"command line: options after the flags must be KEY VALUE pairs; {opts[-1]!r} has no value"
        )
    for key, value in zip(opts[0::2], opts[1::2]):
        try:
            cfg.merge_from_list([key, value])
        except (KeyError, AssertionError, ValueError) as e:
            raise InputError(f"command-line option {key} {value}: {_message(e)}") from None


def check_output_dir(output_dir: str) -> None:
    """Fail early, in one line naming the folder, when ``output_dir`` cannot be written.

    A file is created and written (and removed) in ``output_dir`` or, while that does not
    exist, in its nearest existing parent, where detectron2 will create it; nothing is left
    behind. Read-only, permission-denied and full file systems are found this way, before
    training, rather than as a traceback when the first log line or checkpoint is written.
    """
    probe = os.path.abspath(output_dir or ".")
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise InputError(
            f"OUTPUT_DIR {output_dir} cannot be created: {probe} is a file; choose another OUTPUT_DIR"
        )
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".lt_det_write_check_") as f:
            f.write(b"0")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        # Name the folder, not the probe file's temporary name.
        error = OSError(e.errno, e.strerror or str(e))
        raise InputError(f"OUTPUT_DIR {output_dir}: {os_error_message(error, probe)}") from None


def os_error_message(error: OSError, path: Optional[str] = None) -> str:
    """One line for an OSError met while writing ``path`` (its own file name when it has one)."""
    path = error.filename or path
    reason = error.strerror or str(error)
    where = f"cannot write {path}" if path else "cannot write"
    if error.errno in WRITE_ERRNOS[:2]:
        return f"{where}: {reason} (free space or choose another OUTPUT_DIR)"
    if error.errno in WRITE_ERRNOS[2:]:
        return f"{where}: {reason} (choose a writable OUTPUT_DIR)"
    return f"{where}: {reason}"


def check_annotated_test_set(dataset_name: str, dicts: Sequence[dict]) -> None:
    """A detection test set evaluated against its ground truth must have some: with none,
    every metric is undefined and the run would end without any (one line naming the file)."""
    from detectron2.data import MetadataCatalog

    meta = MetadataCatalog.get(dataset_name)
    if meta.get("task", "detection") != "detection" or not dicts or "annotations" not in dicts[0]:
        return  # classification sets, or a set registered for inference only
    if not any(d["annotations"] for d in dicts):
        raise InputError(
            f"Test set {dataset_name} ({meta.get('json_file', 'no json_file')}) has no annotations: "
            "nothing to evaluate against; check the file, or leave it out of DATASETS.TEST"
        )
