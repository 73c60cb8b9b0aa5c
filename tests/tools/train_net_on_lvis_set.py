"""Driver for tests: register LVIS-format sets, then run tools/train_net.py as a user would.

    python tests/tools/train_net_on_lvis_set.py TRAIN_JSON TEST_JSON IMAGE_ROOT [train_net args...]

registers ``user_set_train`` and ``user_set_test`` (the way the README tells users to
register their own set) and runs tools/train_net.py's ``__main__`` with the remaining args.
"""
import os
import runpy
import sys

from lt_det.data.datasets import register_lvis_format

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    train_json, test_json, image_root, *rest = sys.argv[1:]
    register_lvis_format("user_set_train", train_json, image_root)
    register_lvis_format("user_set_test", test_json, image_root)
    script = os.path.join(ROOT, "tools", "train_net.py")
    sys.argv = [script, *rest]
    runpy.run_path(script, run_name="__main__")
