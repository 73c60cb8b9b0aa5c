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
