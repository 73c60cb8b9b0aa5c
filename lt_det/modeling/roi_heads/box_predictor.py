"""Registry and builder of box predictors for lt_det's ROI heads."""
from detectron2.layers import ShapeSpec
from detectron2.utils.registry import Registry

BOX_PREDICTOR_REGISTRY = Registry("LT_BOX_PREDICTOR")
BOX_PREDICTOR_REGISTRY.__doc__ = """
Registry of box predictors used by ``LTStandardROIHeads`` and ``LTCascadeROIHeads``
(``MODEL.LT.PREDICTOR.NAME``).

Call contract: the registered class is ``@configurable`` and is called as
``cls(cfg, input_shape, **overrides)`` with the ``ShapeSpec`` of the box head's output;
``overrides`` (e.g. ``box2box_transform=`` for a cascade stage) replace keyword arguments
that ``from_config`` derived from ``cfg``. The module has the interface of detectron2's
``FastRCNNOutputLayers``: ``forward(x) -> (scores, deltas)``, ``losses(predictions,
proposals)``, ``inference``, ``predict_boxes``, ``predict_boxes_for_gt_classes`` and
``predict_probs`` (per image ``[R_i, C + 1]``, background last).
"""


def build_box_predictor(cfg, input_shape: ShapeSpec, **overrides):
    """Build the box predictor named by ``cfg.MODEL.LT.PREDICTOR.NAME``."""
    name = cfg.MODEL.LT.PREDICTOR.NAME
    if name not in BOX_PREDICTOR_REGISTRY:
        known = ", ".join(sorted(k for k, _ in BOX_PREDICTOR_REGISTRY))
        raise KeyError(f"Unknown MODEL.LT.PREDICTOR.NAME {name!r}; registered: {known}")
    return BOX_PREDICTOR_REGISTRY.get(name)(cfg, input_shape, **overrides)
