"""Every config key that lt_det adds to detectron2's config, each with a comment.

detectron2's own defaults are never edited: ``add_lt_config`` only adds new nodes under
``MODEL.LT`` (model-side tricks: losses, heads), ``DATALOADER.LT`` (samplers) and ``LT``
(everything that is not model or data loader: evaluation outputs, demo data, schedules).
Call it right after ``detectron2.config.get_cfg()``; ``get_lt_cfg()`` does both.
"""
from detectron2.config import CfgNode as CN
from detectron2.config import get_cfg


def add_lt_config(cfg: CN) -> CN:
    """Add lt_det's config keys (with their defaults) to a detectron2 config in place."""
    _C = cfg

    # ------------------------------------------------------------------------------------
    # Classification losses (lt_det/losses/), shared by detection and classification.
    # ------------------------------------------------------------------------------------
    _C.MODEL.LT = CN()
    _C.MODEL.LT.LOSS = CN()
    # Name of the loss in lt_det.losses.LOSS_REGISTRY ("SoftmaxCE" is detectron2's baseline).
    _C.MODEL.LT.LOSS.NAME = "SoftmaxCE"
    # Multiplier of the classification loss term.
    _C.MODEL.LT.LOSS.WEIGHT = 1.0

    # ------------------------------------------------------------------------------------
    # Long-tailed samplers (lt_det/data/samplers/). A sampler is chosen by detectron2's own
    # DATALOADER.SAMPLER_TRAIN: names registered in lt_det.data.samplers.SAMPLER_REGISTRY
    # are built by lt_det, every other name by detectron2.
    # ------------------------------------------------------------------------------------
    _C.DATALOADER.LT = CN()

    # ------------------------------------------------------------------------------------
    # Everything else.
    # ------------------------------------------------------------------------------------
    _C.LT = CN()
    # Evaluation outputs written next to the metrics (per-class CSV and plots).
    _C.LT.EVAL = CN()
    # Write per-class AP (detection) / accuracy (classification) as CSV under OUTPUT_DIR.
    _C.LT.EVAL.PER_CLASS_CSV = True
    # Write plots (per-class score against training count, r/c/f bands) under OUTPUT_DIR.
    _C.LT.EVAL.PLOTS = True
    return cfg


def get_lt_cfg() -> CN:
    """detectron2's default config with lt_det's keys added."""
    return add_lt_config(get_cfg())
