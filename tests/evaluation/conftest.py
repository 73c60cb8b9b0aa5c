"""Fixtures of the LVIS evaluation tests: lvis-api 0.5.3 as the reference, LVIS-format builders."""
import contextlib
import copy
import io
import json
import logging
import os

import numpy as np
import pytest


@pytest.fixture
def lvis_api(monkeypatch, tmp_path):
    """``lvis_api(gt, results, iou_type, max_dets=300) -> lvis.LVISEval`` after ``run()``.

    lvis-api's ``accumulate`` calls ``np.float`` (gone since numpy 1.24); the shim puts it
    back for the test only. Results are deep-copied because lvis-api writes into them.
    """
    monkeypatch.setattr(np, "float", float, raising=False)
    from lvis import LVIS, LVISEval, LVISResults

    counter = iter(range(10**6))

    def run(gt, results, iou_type, max_dets=300):
        path = os.path.join(tmp_path, f"gt_{next(counter)}.json")
        with open(path, "w") as f:
            json.dump(gt, f)
        logging.disable(logging.WARNING)
        try:
            api = LVIS(path)
            ev = LVISEval(api, LVISResults(api, copy.deepcopy(results), max_dets=max_dets), iou_type)
            with contextlib.redirect_stdout(io.StringIO()):
                ev.run()
        finally:
            logging.disable(logging.NOTSET)
        return ev

    return run
