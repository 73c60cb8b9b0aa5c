"""Registry and builder of classification losses, shared by detection and classification."""
from typing import Optional

from detectron2.utils.registry import Registry

from ..data.class_stats import ClassStats

LOSS_REGISTRY = Registry("LT_LOSS")
LOSS_REGISTRY.__doc__ = """
Registry of classification losses (subclasses of ``lt_det.losses.ClassificationLoss``).

Call contract: the registered class is ``@configurable`` and is called as
``cls(cfg, num_classes=C, use_background=B, class_stats=S)``; its ``from_config`` maps
``cfg.MODEL.LT.LOSS.<NAME>.*`` to explicit keyword arguments. The built module:

* ``num_logits()`` -> int: how many columns the classifier must produce;
* ``forward(logits, labels)`` -> scalar loss, ``labels`` in ``[0, C]`` (``C`` = background)
  when ``use_background`` (detection) and in ``[0, C - 1]`` otherwise (classification);
* ``predict_probs(logits)`` -> per-class scores, ``[N, C + 1]`` with the background last
  when ``use_background``, ``[N, C]`` otherwise.
"""


def build_loss(
    cfg,
    num_classes: int,
    use_background: bool,
    class_stats: Optional[ClassStats] = None,
):
    """Build the loss named by ``cfg.MODEL.LT.LOSS.NAME``.

    Args:
        cfg: a config with lt_det's keys (``add_lt_config``).
        num_classes: number of foreground classes C.
        use_background: True for detection heads (an extra background label C).
        class_stats: per-class training statistics; when None they are read from the
            metadata of ``cfg.DATASETS.TRAIN`` (see ``lt_det.data.class_stats``).
    """
    name = cfg.MODEL.LT.LOSS.NAME
    if name not in LOSS_REGISTRY:
        known = ", ".join(sorted(k for k, _ in LOSS_REGISTRY))
        raise KeyError(f"Unknown MODEL.LT.LOSS.NAME {name!r}; registered losses: {known}")
    if class_stats is None and len(cfg.DATASETS.TRAIN):
        from ..data.class_stats import class_stats_from_metadata

        class_stats = class_stats_from_metadata(cfg.DATASETS.TRAIN)
    if class_stats is not None and class_stats.num_classes != num_classes:
        raise ValueError(
            f"The loss is built for {num_classes} classes but {cfg.DATASETS.TRAIN} has "
            f"{class_stats.num_classes}; set MODEL.ROI_HEADS.NUM_CLASSES (detection) or "
            f"MODEL.LT.CLASSIFIER.NUM_CLASSES (classification) to {class_stats.num_classes}."
        )
    return LOSS_REGISTRY.get(name)(
        cfg, num_classes=num_classes, use_background=use_background, class_stats=class_stats
    )
