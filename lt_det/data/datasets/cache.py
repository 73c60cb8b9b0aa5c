"""Where lt_det writes generated data (demo data sets, caches)."""
import os


def cache_dir(*parts: str) -> str:
    """``$LT_DET_CACHE`` (default ``~/.cache/lt_det``) joined with ``parts``; created if absent."""
    root = os.environ.get("LT_DET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "lt_det")
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path
