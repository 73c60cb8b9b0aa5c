"""Knowledge distillation (Hinton et al., 2015), as refined in He et al., CVPR 2019.

``L = (1 - w) L_cls(z_s, y) + w T^2 KL(softmax(z_t / T) || softmax(z_s / T))``: the
student's logits ``z_s`` follow the teacher's softened distribution; ``T^2`` keeps the
gradient scale of the soft term independent of T. The teacher is a model built from its
own config file and checkpoint (``MODEL.LT.DISTILL.TEACHER_CONFIG`` / ``TEACHER_WEIGHTS``), kept
frozen in eval mode.
"""
import torch
from torch import nn  # noqa: F401  (type of Teacher.model)
from torch.nn import functional as F


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * mean_i KL(softmax(z_t,i / T) || softmax(z_s,i / T))`` (0 for an empty batch)."""
    if student_logits.shape[0] == 0:
        return student_logits.sum() * 0.0
    t = float(temperature)
    log_p_s = F.log_softmax(student_logits / t, dim=-1)
    log_p_t = F.log_softmax(teacher_logits.detach() / t, dim=-1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1).mean()
    return (t * t) * kl


def distillation_loss(
    cls_loss: torch.Tensor,
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float,
    weight: float,
) -> torch.Tensor:
    """``(1 - w) * cls_loss + w * T^2 * KL`` (see the module docstring)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"MODEL.LT.DISTILL.WEIGHT must be in [0, 1], got {weight}")
    if temperature <= 0:
        raise ValueError(f"MODEL.LT.DISTILL.TEMPERATURE must be > 0, got {temperature}")
    return (1.0 - weight) * cls_loss + weight * distillation_kl(student_logits, teacher_logits, temperature)


class Teacher:
    """A frozen teacher: ``logits(images)`` on preprocessed images, never trained.

    A plain object, not an ``nn.Module``, so the teacher's weights are neither in the
    student's optimizer nor in the student's checkpoints.

    Args:
        model: a classifier with the ``LTClassifier`` API (``extract_features``, ``classify``).
        temperature: T.
        weight: w.
    """

    def __init__(self, model: nn.Module, temperature: float, weight: float):
        self.model = model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        self.temperature = float(temperature)
        self.weight = float(weight)

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        return self.model.classify(self.model.extract_features(images))

    def loss(self, cls_loss: torch.Tensor, student_logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        return distillation_loss(cls_loss, student_logits, self.logits(images), self.temperature, self.weight)


def build_teacher(cfg, device):
    """The teacher of ``cfg.MODEL.LT.DISTILL`` (None when ``TEACHER_CONFIG`` is empty)."""
    if not cfg.MODEL.LT.DISTILL.TEACHER_CONFIG:
        return None
    import os

    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.modeling import build_model

    from ..config import get_lt_cfg

    path = cfg.MODEL.LT.DISTILL.TEACHER_CONFIG
    if not os.path.isfile(path):
        raise FileNotFoundError(f"MODEL.LT.DISTILL.TEACHER_CONFIG {path!r} does not exist")
    weights = cfg.MODEL.LT.DISTILL.TEACHER_WEIGHTS
    if not weights or not os.path.isfile(weights):
        raise FileNotFoundError(
            f"MODEL.LT.DISTILL.TEACHER_WEIGHTS {weights!r} does not exist; train the teacher first"
        )
    tcfg = get_lt_cfg()
    tcfg.merge_from_file(path)
    tcfg.DATASETS.TRAIN = cfg.DATASETS.TRAIN
    tcfg.MODEL.DEVICE = str(device)
    tcfg.MODEL.LT.DISTILL.TEACHER_CONFIG = ""  # a teacher has no teacher
    teacher = build_model(tcfg)
    DetectionCheckpointer(teacher).load(weights)
    return Teacher(teacher, cfg.MODEL.LT.DISTILL.TEMPERATURE, cfg.MODEL.LT.DISTILL.WEIGHT)
