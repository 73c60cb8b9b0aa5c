from .box_predictor import build_box_predictor
from .cascade_rcnn import LTCascadeROIHeads
from .fast_rcnn import LTFastRCNNOutputLayers
from .roi_heads import LTStandardROIHeads

__all__ = [
    "build_box_predictor",
    "LTCascadeROIHeads",
    "LTFastRCNNOutputLayers",
    "LTStandardROIHeads",
]
