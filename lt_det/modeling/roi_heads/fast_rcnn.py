"""Fast R-CNN box predictor whose classification loss and score rule come from lt_det."""
import math
from typing import Dict, List, Tuple

import torch
from torch import nn

from detectron2.config import configurable
from detectron2.layers import ShapeSpec, cat
from detectron2.modeling.roi_heads.fast_rcnn import (
    FastRCNNOutputLayers,
    _log_classification_stats,
)
from detectron2.structures import Instances

from ...losses import ClassificationLoss, build_loss
from ..classifier_heads import Cosine


def check_stock_loss_flags(cfg) -> None:
    """Refuse detectron2's own sigmoid / federated switches, which lt_det's losses replace."""
    box_head = cfg.MODEL.ROI_BOX_HEAD
    if box_head.USE_SIGMOID_CE or box_head.USE_FED_LOSS:
        raise ValueError(
            "MODEL.ROI_BOX_HEAD.USE_SIGMOID_CE / USE_FED_LOSS are detectron2's own loss "
            "switches and are ignored by lt_det's box predictor: set them to False and choose "
            "the loss with MODEL.LT.LOSS.NAME (e.g. 'SigmoidBCE' or 'Federated')."
        )


def build_class_logits_layer(
    in_features: int, num_logits: int, cosine_scale: float = 0.0
) -> nn.Module:
    """``nn.Linear`` (``cosine_scale == 0``) or a ``Cosine`` classifier with bias, weights
    ~ N(0, 0.01^2), bias 0."""
    if cosine_scale < 0:
        raise ValueError(f"MODEL.LT.PREDICTOR.COSINE_SCALE must be >= 0, got {cosine_scale}")
    if cosine_scale > 0:
        layer = Cosine(in_features=in_features, num_logits=num_logits, scale=cosine_scale, bias=True)
    else:
        layer = nn.Linear(in_features, num_logits)
    nn.init.normal_(layer.weight, std=0.01)
    nn.init.constant_(layer.bias, 0.0)
    return layer


def init_class_bias(layer: nn.Module, num_classes: int, prior: float) -> None:
    """Set the biases of the first ``num_classes`` logits to ``-log((1 - prior) / prior)``.

    With a sigmoid each class then starts at probability ``prior`` (Lin et al., ICCV 2017),
    avoiding a huge initial loss from C background negatives; ``prior == 0`` keeps 0.
    """
    if not 0.0 <= prior < 1.0:
        raise ValueError(f"MODEL.LT.PREDICTOR.BIAS_PRIOR must be in [0, 1), got {prior}")
    if prior > 0:
        with torch.no_grad():
            layer.bias[:num_classes] = -math.log((1.0 - prior) / prior)


class LTFastRCNNOutputLayers(FastRCNNOutputLayers):
    """detectron2's ``FastRCNNOutputLayers`` with a pluggable classification loss.

    The classification layer has ``cls_loss.num_logits()`` outputs, the classification
    term is ``cls_loss(scores, gt_classes)`` and inference scores are
    ``cls_loss.predict_probs(scores)``; box regression (class-specific or class-agnostic),
    box decoding and NMS are detectron2's. The loss is a submodule, so loss state (EQLv2's
    gradient statistics, Seesaw's class counts) is saved in checkpoints.

    Args:
        input_shape: shape of the box head's output.
        cls_loss: a ``ClassificationLoss`` built with ``use_background=True`` for
            ``num_classes`` classes.
        cosine_scale: > 0 for a cosine classifier with this scale, 0 for a linear one.
        bias_prior: in (0, 1) to initialise the C class biases for sigmoid prior
            probability ``bias_prior``; 0 for zero biases.
        **kwargs: the keyword arguments of ``FastRCNNOutputLayers`` (``num_classes``,
            ``box2box_transform``, ``cls_agnostic_bbox_reg``, test thresholds, ...), except
            its own loss switches ``use_sigmoid_ce`` / ``use_fed_loss``.
    """

    @configurable
    def __init__(
        self,
        input_shape: ShapeSpec,
        *,
        cls_loss: ClassificationLoss,
        cosine_scale: float = 0.0,
        bias_prior: float = 0.0,
        **kwargs,
    ):
        super().__init__(input_shape, **kwargs)
        if self.use_sigmoid_ce or self.use_fed_loss:
            raise ValueError(
                "LTFastRCNNOutputLayers takes its loss from cls_loss; use_sigmoid_ce and "
                "use_fed_loss must be False"
            )
        if cls_loss.num_classes != self.num_classes or not cls_loss.use_background:
            raise ValueError(
                f"cls_loss must be built for detection (use_background=True) with "
                f"num_classes={self.num_classes}; got num_classes={cls_loss.num_classes}, "
                f"use_background={cls_loss.use_background}"
            )
        self.cls_loss = cls_loss
        self.cosine_scale = float(cosine_scale)
        self.bias_prior = float(bias_prior)
        self.cls_score = build_class_logits_layer(
            self.cls_score.in_features, cls_loss.num_logits(), self.cosine_scale
        )
        init_class_bias(self.cls_score, self.num_classes, self.bias_prior)

    @classmethod
    def from_config(cls, cfg, input_shape):
        check_stock_loss_flags(cfg)
        ret = super().from_config(cfg, input_shape)
        for key in ("use_fed_loss", "use_sigmoid_ce", "get_fed_loss_cls_weights"):
            ret.pop(key)
        ret["loss_weight"] = {
            "loss_cls": cfg.MODEL.LT.LOSS.WEIGHT,
            "loss_box_reg": cfg.MODEL.ROI_BOX_HEAD.BBOX_REG_LOSS_WEIGHT,
        }
        ret["cls_loss"] = build_loss(
            cfg, num_classes=cfg.MODEL.ROI_HEADS.NUM_CLASSES, use_background=True
        )
        ret["cosine_scale"] = cfg.MODEL.LT.PREDICTOR.COSINE_SCALE
        ret["bias_prior"] = cfg.MODEL.LT.PREDICTOR.BIAS_PRIOR
        return ret

    def losses(self, predictions, proposals: List[Instances]) -> Dict[str, torch.Tensor]:
        """Classification loss from ``cls_loss``, box regression as in detectron2."""
        scores, proposal_deltas = predictions
        if len(proposals):
            gt_classes = cat([p.gt_classes for p in proposals], dim=0)
            proposal_boxes = cat([p.proposal_boxes.tensor for p in proposals], dim=0)
            assert not proposal_boxes.requires_grad, "Proposals should not require gradients!"
            # Proposals without "gt_boxes" are all background: their boxes are placeholders
            # that the regression loss never reads.
            gt_boxes = cat(
                [(p.gt_boxes if p.has("gt_boxes") else p.proposal_boxes).tensor for p in proposals],
                dim=0,
            )
        else:
            gt_classes = torch.empty(0, dtype=torch.long, device=scores.device)
            proposal_boxes = gt_boxes = torch.empty((0, 4), device=proposal_deltas.device)
        # The accuracy statistics read the scores in detectron2's layout (background last).
        with torch.no_grad():
            _log_classification_stats(self.cls_loss.predict_probs(scores.detach()), gt_classes)

        losses = {
            "loss_cls": self.cls_loss(scores, gt_classes),
            "loss_box_reg": self.box_reg_loss(
                proposal_boxes, gt_boxes, proposal_deltas, gt_classes
            ),
        }
        return {k: v * self.loss_weight.get(k, 1.0) for k, v in losses.items()}

    def predict_probs(
        self, predictions: Tuple[torch.Tensor, torch.Tensor], proposals: List[Instances]
    ):
        """Per-image ``[R_i, C + 1]`` scores from ``cls_loss.predict_probs`` (background last)."""
        scores, _ = predictions
        num_inst_per_image = [len(p) for p in proposals]
        return self.cls_loss.predict_probs(scores).split(num_inst_per_image, dim=0)
