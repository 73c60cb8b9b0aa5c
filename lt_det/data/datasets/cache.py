"""Where lt_det writes generated data (demo data sets, caches), and how a generated set is
written there once."""
import fcntl
import os
import shutil
import tempfile
from dataclasses import asdict
from typing import Callable


def cache_dir(*parts: str) -> str:
    """``$LT_DET_CACHE`` (default ``~/.cache/lt_det``) joined with ``parts``; created if absent."""
    root = os.environ.get("LT_DET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "lt_det")
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path


def spec_cache_dir(name: str, version: int, spec) -> str:
    """The cache directory of generator ``name``'s dataclass ``spec``:
    ``cache_dir(name)/v<version>_<field values>`` (the fields are in the name, so specs never
    collide, and a new generator version never reuses an older one's files)."""
    key = "_".join(str(v) for v in asdict(spec).values())
    return os.path.join(cache_dir(name), f"v{version}_{key}")


def ensure_generated(target: str, generate: Callable[[str], None], marker: str = "DONE") -> str:
    """Run ``generate(folder)`` once for ``target`` (process-safe, atomic); return ``target``.

    ``generate`` writes into a temporary sibling folder that replaces ``target`` in one
    rename, so no reader sees a half-written set; other ranks/processes wait on a lock file
    in the parent folder for the first one. ``target/marker`` marks a complete set: the
    generator's own last file, or an empty file written after ``generate`` returns.
    """
    done = os.path.join(target, marker)
    if os.path.isfile(done):
        return target
    parent = os.path.dirname(target)
    with open(os.path.join(parent, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # other ranks/processes wait for the first one
        if not os.path.isfile(done):
            tmp = tempfile.mkdtemp(prefix=".tmp_", dir=parent)
            try:
                generate(tmp)
                if not os.path.isfile(os.path.join(tmp, marker)):
                    open(os.path.join(tmp, marker), "w").close()
                shutil.rmtree(target, ignore_errors=True)
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return target
