"""``LTClassifier``: an image classifier trained with lt_det's long-tail losses.

The model API (attributes and methods other components build on) is documented in
docs/classification.md.
"""
from typing import Dict, List, Optional, Sequence

import torch
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import META_ARCH_REGISTRY, Backbone, build_backbone
from torch import nn

from ...data.class_stats import ClassStats
from ...data.classification.batch import ImageBatch
from ...data.classification.dataset import classification_class_stats
from ...losses import ClassificationLoss, build_loss
from ..classifier_heads import build_cls_head


@META_ARCH_REGISTRY.register()
class LTClassifier(nn.Module):
    """Backbone -> global average pooling -> classifier head, trained with a shared loss.

    Training returns ``{"loss_cls": loss_weight * loss(logits, labels)}``; inference returns
    one ``{"scores": probs [C]}`` per image, the probabilities being the loss's
    ``predict_probs`` (softmax for softmax losses, sigmoid for sigmoid ones).

    Args:
        backbone: a detectron2 ``Backbone``.
        in_feature: the backbone output that is pooled (its last stage).
        head: classifier head, ``[N, D] -> [N, loss.num_logits()]``.
        loss: a ``ClassificationLoss`` built with ``use_background=False``.
        pixel_mean, pixel_std: per-channel normalisation of the uint8 inputs (0-255 scale).
        loss_weight: multiplier of the loss.
    """

    @configurable
    def __init__(
        self,
        *,
        backbone: Backbone,
        in_feature: str,
        head: nn.Module,
        loss: ClassificationLoss,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
        loss_weight: float = 1.0,
    ):
        super().__init__()
        if loss.use_background:
            raise ValueError("LTClassifier needs a loss built with use_background=False")
        if head.num_logits != loss.num_logits():
            raise ValueError(f"The head outputs {head.num_logits} logits, the loss expects {loss.num_logits()}")
        if len(pixel_mean) != len(pixel_std):
            raise ValueError("MODEL.PIXEL_MEAN and MODEL.PIXEL_STD must have the same length")
        self.backbone = backbone
        self.in_feature = in_feature
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.head = head
        self.loss = loss
        self.loss_weight = float(loss_weight)
        self.num_classes = loss.num_classes
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg, class_stats: Optional[ClassStats] = None):
        backbone = build_backbone(cfg, ShapeSpec(channels=len(cfg.MODEL.PIXEL_MEAN)))
        in_feature = backbone._out_features[-1]
        num_classes = cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES
        if class_stats is None and len(cfg.DATASETS.TRAIN):
            class_stats = classification_class_stats(cfg.DATASETS.TRAIN)
        loss = build_loss(cfg, num_classes, use_background=False, class_stats=class_stats)
        head = build_cls_head(
            cfg, in_features=backbone.output_shape()[in_feature].channels, num_logits=loss.num_logits()
        )
        return {
            "backbone": backbone,
            "in_feature": in_feature,
            "head": head,
            "loss": loss,
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "loss_weight": cfg.MODEL.LT.LOSS.WEIGHT,
        }

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def preprocess_image(self, batched_inputs) -> torch.Tensor:
        """Stacked, normalised float images ``[N, 3, H, W]`` on the model's device."""
        if isinstance(batched_inputs, ImageBatch):
            images = batched_inputs.images
        else:
            images = torch.stack([torch.as_tensor(d["image"]) for d in batched_inputs])
        images = images.to(self.device, non_blocking=True).float()
        return (images - self.pixel_mean) / self.pixel_std

    def labels(self, batched_inputs) -> torch.Tensor:
        """Ground-truth labels ``[N]`` (int64) on the model's device."""
        if isinstance(batched_inputs, ImageBatch):
            labels = batched_inputs.labels
        else:
            labels = torch.as_tensor([int(d["label"]) for d in batched_inputs], dtype=torch.int64)
        return labels.to(self.device, non_blocking=True)

    def extract_features(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[N, D]`` of preprocessed images."""
        return self.pool(self.backbone(images)[self.in_feature])

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, loss.num_logits()]`` of pooled features."""
        return self.head(features)

    def losses(self, logits: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"loss_cls": self.loss_weight * self.loss(logits, labels)}

    def inference(self, logits: torch.Tensor) -> List[Dict[str, torch.Tensor]]:
        probs = self.loss.predict_probs(logits)
        return [{"scores": p} for p in probs]

    def forward(self, batched_inputs):
        """Training: ``{"loss_cls": ...}``; eval: ``[{"scores": probs [C]}, ...]``."""
        if len(batched_inputs) == 0:
            if self.training:
                raise ValueError("LTClassifier got an empty training batch")
            return []
        logits = self.classify(self.extract_features(self.preprocess_image(batched_inputs)))
        if self.training:
            return self.losses(logits, self.labels(batched_inputs))
        return self.inference(logits)
