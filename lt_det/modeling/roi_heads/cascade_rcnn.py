"""detectron2's CascadeROIHeads with box predictors from lt_det's registry."""
from detectron2.modeling.roi_heads import ROI_HEADS_REGISTRY, CascadeROIHeads

from .box_predictor import build_box_predictor
from .fast_rcnn import check_stock_loss_flags


@ROI_HEADS_REGISTRY.register()
class LTCascadeROIHeads(CascadeROIHeads):
    """``CascadeROIHeads`` whose per-stage box predictors are ``build_box_predictor(cfg,
    ...)`` with each stage's box transform (``MODEL.ROI_BOX_CASCADE_HEAD.BBOX_REG_WEIGHTS``).

    Each stage has its own loss instance (and loss state); at inference the stages'
    ``predict_probs`` scores are averaged, as detectron2 does. Select it with
    ``MODEL.ROI_HEADS.NAME: LTCascadeROIHeads``.
    """

    @classmethod
    def _init_box_head(cls, cfg, input_shape):
        check_stock_loss_flags(cfg)
        ret = super()._init_box_head(cfg, input_shape)
        ret["box_predictors"] = [
            build_box_predictor(cfg, head.output_shape, box2box_transform=stock.box2box_transform)
            for head, stock in zip(ret["box_heads"], ret["box_predictors"])
        ]
        return ret
