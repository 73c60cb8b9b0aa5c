"""The box predictor of lt_det's ROI heads (``LTStandardROIHeads``, ``LTCascadeROIHeads``)."""
from detectron2.layers import ShapeSpec


def build_box_predictor(cfg, input_shape: ShapeSpec, **overrides):
    """``LTFastRCNNOutputLayers(cfg, input_shape, **overrides)``: detectron2's
    ``FastRCNNOutputLayers`` interface with the loss of ``MODEL.LT.LOSS.NAME``.

    ``input_shape`` is the ``ShapeSpec`` of the box head's output; ``overrides`` (e.g.
    ``box2box_transform=`` for a cascade stage) replace keyword arguments that
    ``from_config`` derived from ``cfg``. The module has ``forward(x) -> (scores, deltas)``,
    ``losses``, ``inference``, ``predict_boxes``, ``predict_boxes_for_gt_classes`` and
    ``predict_probs`` (per image ``[R_i, C + 1]``, background last). There is one predictor,
    so no registry: the loss is what varies, and ``LOSS_REGISTRY`` names it.
    """
    from .fast_rcnn import LTFastRCNNOutputLayers

    return LTFastRCNNOutputLayers(cfg, input_shape, **overrides)
