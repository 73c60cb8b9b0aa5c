"""``LTTricksClassifier``: ``LTClassifier`` with the bag of tricks' training-time switches.

Adds to the plain classifier (docs/classification.md), each driven by config keys and
switchable per stage (``LT.STAGES``):

* mixup (``MODEL.LT.MIXUP.*``): input mixup, manifold mixup, Remix replace the training forward;
* knowledge distillation (``MODEL.LT.DISTILL.*``) from a frozen teacher;
* LWS scales (``MODEL.LT.CLASSIFIER.LWS``) around the head;
* NCM at evaluation (``MODEL.LT.CLASSIFIER.NCM``): class means of normalised features, accumulated over
  the training batches while NCM is on (freeze the backbone in that stage for exact means);
* zero-gamma initialisation (``MODEL.LT.RESNET.ZERO_GAMMA``).
"""
from typing import Optional

import torch
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from torch.nn import functional as F

from .classifier import LTClassifier
from ...losses.distillation import Teacher, build_teacher
from ..classifier_heads import NCM_METRICS, LWSHead, means_from_sums, ncm_scores
from ...data.mixup import build_mixup
from ..backbone.zero_gamma import zero_gamma_init



def _stages_set(cfg, key: str, value) -> bool:
    for stage in cfg.LT.STAGES:
        ov = list(stage.get("OVERRIDES", []))
        for k, v in zip(ov[0::2], ov[1::2]):
            if k == key and str(v) == str(value):
                return True
    return False


@META_ARCH_REGISTRY.register()
class LTTricksClassifier(LTClassifier):
    """``LTClassifier`` + mixup / distillation / LWS / NCM / zero-gamma (module docstring).

    Args (besides ``LTClassifier``'s):
        mixup: a strategy from ``MIXUP_REGISTRY`` or None.
        teacher: a ``Teacher`` for distillation or None.
        lws: wrap the head in ``LWSHead`` (scales inactive until ``MODEL.LT.CLASSIFIER.LWS`` is on).
        ncm_metric: "none", "cosine" or "euclidean".
        zero_gamma: zero the gamma of each residual block's last norm.
    """

    @configurable
    def __init__(self, *, mixup=None, teacher: Optional[Teacher] = None, lws: bool = False,
                 ncm_metric: str = "none", zero_gamma: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.mixup = mixup
        self.teacher = teacher
        if lws:
            self.head = LWSHead(self.head, self.head.num_logits)
        dim = self.head.in_features
        self.register_buffer("ncm_sum", torch.zeros(self.num_classes, dim))
        self.register_buffer("ncm_count", torch.zeros(self.num_classes))
        self._ncm_metric = "none"
        self.ncm_metric = ncm_metric
        if zero_gamma:
            zero_gamma_init(self.backbone)

    @classmethod
    def from_config(cls, cfg, class_stats=None):
        ret = LTClassifier.from_config(cfg, class_stats)
        mixup = build_mixup(cfg)
        teacher = build_teacher(cfg, cfg.MODEL.DEVICE)
        if teacher is not None and (mixup is not None or any(
            "MODEL.LT.MIXUP.NAME" in list(s.get("OVERRIDES", []))[0::2] for s in cfg.LT.STAGES
        )):
            raise ValueError("MODEL.LT.DISTILL with MODEL.LT.MIXUP is not supported: use one of them")
        ret.update(
            mixup=mixup,
            teacher=teacher,
            lws=bool(cfg.MODEL.LT.CLASSIFIER.LWS) or _stages_set(cfg, "MODEL.LT.CLASSIFIER.LWS", True),
            ncm_metric=cfg.MODEL.LT.CLASSIFIER.NCM,
            zero_gamma=cfg.MODEL.LT.RESNET.ZERO_GAMMA,
        )
        return ret

    @property
    def ncm_metric(self) -> str:
        return self._ncm_metric

    @ncm_metric.setter
    def ncm_metric(self, metric: str) -> None:
        """Turning NCM on (or changing it) restarts the accumulation of class means."""
        if metric not in NCM_METRICS:
            raise ValueError(f"MODEL.LT.CLASSIFIER.NCM must be one of {NCM_METRICS}, got {metric!r}")
        if metric != self._ncm_metric:
            self.ncm_sum.zero_()
            self.ncm_count.zero_()
        self._ncm_metric = metric

    def ncm_means(self) -> torch.Tensor:
        """``[C, D]`` normalised class means of the accumulated normalised features."""
        return means_from_sums(self.ncm_sum, self.ncm_count)

    def ncm_scores(self, features: torch.Tensor) -> torch.Tensor:
        return ncm_scores(features, self.ncm_means(), self.ncm_metric)

    def forward(self, batched_inputs):
        if len(batched_inputs) == 0:
            if self.training:
                raise ValueError("LTTricksClassifier got an empty training batch")
            return []
        images = self.preprocess_image(batched_inputs)
        if not self.training:
            features = self.extract_features(images)
            if self.ncm_metric != "none":
                if self.ncm_count.sum() == 0:
                    raise ValueError("NCM is on but no training features were accumulated yet")
                # Probabilities only order the classes; softmax of the similarities keeps it.
                return [{"scores": p} for p in torch.softmax(self.ncm_scores(features) / 0.1, dim=1)]
            return self.inference(self.classify(features))
        labels = self.labels(batched_inputs)
        if self.mixup is not None:
            return self.mixup(self, images, labels)
        features = self.extract_features(images)
        if self.ncm_metric != "none":
            with torch.no_grad():
                self.ncm_sum.index_add_(0, labels, F.normalize(features.detach(), dim=1))
                self.ncm_count += torch.bincount(labels, minlength=self.num_classes).to(self.ncm_count.dtype)
        logits = self.classify(features)
        losses = self.losses(logits, labels)
        if self.teacher is not None:
            losses["loss_cls"] = self.teacher.loss(losses["loss_cls"], logits, images)
        return losses
