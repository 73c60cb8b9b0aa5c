"""Test-session set-up: generated data goes to a private cache, torch stays on 2 threads."""
import os
import tempfile

# Must happen before lt_det is imported: registered data sets resolve their cache path then.
os.environ.setdefault("LT_DET_CACHE", tempfile.mkdtemp(prefix="lt_det_test_cache_"))
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))
