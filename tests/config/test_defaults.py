import pytest
from detectron2.config import get_cfg

from lt_det.config import add_lt_config, get_lt_cfg


def _flat(cfg, prefix=""):
    out = {}
    for k, v in cfg.items():
        if hasattr(v, "items"):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_adds_keys_without_touching_detectron2_defaults():
    base = _flat(get_cfg())
    ours = _flat(add_lt_config(get_cfg()))
    for k, v in base.items():
        assert ours[k] == v, k
    new = set(ours) - set(base)
    assert new and all(k.startswith(("MODEL.LT.", "DATALOADER.LT.", "DATASETS.LT.", "LT.", "INPUT.LT")) for k in new)
    assert get_lt_cfg().MODEL.LT.LOSS.NAME == "SoftmaxCE"


# docs/config.md's migration table: each 0.1.0 key is gone (merging it is an error) and its
# new key exists with the same default.
RENAMED = {
    "LT.MIXUP.NAME": ("MODEL.LT.MIXUP.NAME", "none"),
    "LT.MIXUP.ALPHA": ("MODEL.LT.MIXUP.ALPHA", 1.0),
    "LT.DISTILL.WEIGHT": ("MODEL.LT.DISTILL.WEIGHT", 0.5),
    "LT.CRT.LWS": ("MODEL.LT.CLASSIFIER.LWS", False),
    "LT.CRT.NCM": ("MODEL.LT.CLASSIFIER.NCM", "none"),
    "LT.SOLVER.ZERO_GAMMA": ("MODEL.LT.RESNET.ZERO_GAMMA", False),
    "LT.CRT.CLASSIFIER": (None, None),
    "MODEL.LT.PREDICTOR.NAME": (None, None),
}


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_migration_table(old):
    new, default = RENAMED[old]
    cfg = get_lt_cfg()
    with pytest.raises((KeyError, AssertionError)):  # yacs: a leaf / a whole node missing
        cfg.merge_from_list([old, "x"])
    if new is not None:
        node = cfg
        for part in new.split("."):
            node = node[part]
        assert node == default
