"""detectron2's StandardROIHeads with a box predictor from lt_det's registry."""
from detectron2.modeling.roi_heads import ROI_HEADS_REGISTRY, StandardROIHeads

from .box_predictor import build_box_predictor
from .fast_rcnn import check_stock_loss_flags


@ROI_HEADS_REGISTRY.register()
class LTStandardROIHeads(StandardROIHeads):
    """``StandardROIHeads`` (Faster / Mask R-CNN) whose box predictor is
    ``build_box_predictor(cfg, ...)``: ``LTFastRCNNOutputLayers``, whose loss is
    ``MODEL.LT.LOSS.NAME``.

    Everything else (pooler, box head, mask and keypoint heads, proposal sampling) is
    detectron2's. Select it with ``MODEL.ROI_HEADS.NAME: LTStandardROIHeads``.
    """

    @classmethod
    def _init_box_head(cls, cfg, input_shape):
        check_stock_loss_flags(cfg)
        ret = super()._init_box_head(cfg, input_shape)
        ret["box_predictor"] = build_box_predictor(cfg, ret["box_head"].output_shape)
        return ret
