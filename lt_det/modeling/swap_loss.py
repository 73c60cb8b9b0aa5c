"""Swap the classification loss of an already built detectron2 R-CNN for fine-tuning."""
import copy
import logging
from typing import Optional, Union

import torch
from torch import nn

from detectron2.config import CfgNode
from detectron2.layers import ShapeSpec
from detectron2.modeling.roi_heads.fast_rcnn import FastRCNNOutputLayers

from ..losses import ClassificationLoss, build_loss
from .roi_heads.box_predictor import build_box_predictor
from .roi_heads.fast_rcnn import LTFastRCNNOutputLayers

logger = logging.getLogger(__name__)


def _copy_matching(dst: nn.Module, src: nn.Module, name: str) -> None:
    """Copy ``weight``/``bias`` of ``src`` into ``dst`` when their shapes agree; otherwise
    ``dst`` keeps its fresh initialisation."""
    with torch.no_grad():
        if dst.weight.shape == src.weight.shape:
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
            return
    logger.warning(
        "%s: shapes %s -> %s do not fit; it keeps its fresh initialisation",
        name, tuple(src.weight.shape), tuple(dst.weight.shape),
    )


def _class_columns(predictor: FastRCNNOutputLayers) -> torch.Tensor:
    """Where each class's logit is: the loss's layout for lt_det's predictor, the first C
    columns for detectron2's (softmax and sigmoid alike)."""
    loss = getattr(predictor, "cls_loss", None)
    return loss.class_columns() if loss is not None else torch.arange(predictor.num_classes)


def _copy_class_rows(new: LTFastRCNNOutputLayers, old: FastRCNNOutputLayers, name: str) -> None:
    """The classification layer: whole when both use the same logit layout, else class by
    class (the row of class j moves from its old column to its new one, e.g. into BAGS'
    group blocks), the other rows (background, objectness, "others") starting fresh."""
    dst, src = new.cls_score, old.cls_score
    dst_cols, src_cols = _class_columns(new), _class_columns(old)
    if dst.weight.shape == src.weight.shape and torch.equal(dst_cols, src_cols):
        _copy_matching(dst, src, name)
        return
    if dst.weight.shape[1] != src.weight.shape[1]:
        _copy_matching(dst, src, name)  # a different feature size: nothing fits
        return
    with torch.no_grad():
        dst.weight[dst_cols] = src.weight[src_cols]
        dst.bias[dst_cols] = src.bias[src_cols]
    logger.info(
        "%s: %d -> %d logits; kept the %d class rows, initialised the rest",
        name, src.weight.shape[0], dst.weight.shape[0], len(dst_cols),
    )


def _swap_one(
    old: FastRCNNOutputLayers,
    cfg_or_loss: Union[CfgNode, ClassificationLoss],
    stage: int,
) -> LTFastRCNNOutputLayers:
    if not isinstance(old, FastRCNNOutputLayers):
        raise TypeError(
            f"swap_classification_loss needs detectron2 FastRCNNOutputLayers box predictors, "
            f"found {type(old).__name__}"
        )
    input_shape = ShapeSpec(channels=old.cls_score.in_features)
    if isinstance(cfg_or_loss, CfgNode):
        new = build_box_predictor(cfg_or_loss, input_shape, box2box_transform=old.box2box_transform)
        if new.num_classes != old.num_classes:
            raise ValueError(
                f"The config has MODEL.ROI_HEADS.NUM_CLASSES={new.num_classes} but the model "
                f"predicts {old.num_classes} classes; use the model's class count."
            )
    else:
        loss = cfg_or_loss if stage == 0 else copy.deepcopy(cfg_or_loss)
        box_dim = len(old.box2box_transform.weights)
        new = LTFastRCNNOutputLayers(
            input_shape,
            cls_loss=loss,
            cosine_scale=getattr(old, "cosine_scale", 0.0),
            box2box_transform=old.box2box_transform,
            num_classes=old.num_classes,
            test_score_thresh=old.test_score_thresh,
            test_nms_thresh=old.test_nms_thresh,
            test_topk_per_image=old.test_topk_per_image,
            cls_agnostic_bbox_reg=old.bbox_pred.out_features == box_dim,
            smooth_l1_beta=old.smooth_l1_beta,
            box_reg_loss_type=old.box_reg_loss_type,
            loss_weight=dict(old.loss_weight),
        )
    _copy_class_rows(new, old, f"stage {stage} cls_score")
    _copy_matching(new.bbox_pred, old.bbox_pred, f"stage {stage} bbox_pred")
    device = old.cls_score.weight.device
    return new.to(device).train(old.training)


def swap_classification_loss(
    model: nn.Module, cfg_or_loss: Union[CfgNode, ClassificationLoss]
) -> nn.Module:
    """Replace the box predictor(s) of a built R-CNN by lt_det's predictor with a new loss.

    Works on detectron2 ``GeneralizedRCNN`` models with ``StandardROIHeads`` (Faster / Mask
    R-CNN) or ``CascadeROIHeads`` (every stage), e.g. right after loading a checkpoint
    trained with softmax CE. Box regression weights are copied; the classification layer is
    copied whole when the new loss has the old one's logit layout, else class by class (each
    loss's ``class_columns`` says where its class logits are, e.g. BAGS' group blocks) and
    the other rows (background, objectness, "others") start fresh. Build the
    optimizer after the swap.

    Args:
        model: the model (a ``DistributedDataParallel`` wrapper is unwrapped).
        cfg_or_loss: a config with lt_det's keys (the loss, classifier type and bias prior
            come from ``MODEL.LT.*``, the rest of the predictor from the config as when
            building), or a ``ClassificationLoss`` built with ``use_background=True``
            (the other predictor settings are kept from the model; each further cascade
            stage gets a deep copy of it).

    Returns:
        The same model, modified in place.
    """
    inner = getattr(model, "module", model)
    roi_heads = getattr(inner, "roi_heads", None)
    if roi_heads is None or not hasattr(roi_heads, "box_predictor"):
        raise TypeError(
            f"swap_classification_loss needs an R-CNN with roi_heads.box_predictor, "
            f"got {type(inner).__name__}"
        )
    predictors = roi_heads.box_predictor
    if isinstance(predictors, nn.ModuleList):
        roi_heads.box_predictor = nn.ModuleList(
            [_swap_one(old, cfg_or_loss, stage) for stage, old in enumerate(predictors)]
        )
    else:
        roi_heads.box_predictor = _swap_one(predictors, cfg_or_loss, 0)
    return model
