"""Optimizer with the training refinements of He et al. ("Bag of Tricks for Image
Classification with CNNs", CVPR 2019): linear learning-rate scaling with the batch size
and no weight decay on biases and normalisation layers; plus a clear AMP-on-CPU error.

Warm-up and cosine decay are detectron2's own (``SOLVER.WARMUP_ITERS``,
``SOLVER.LR_SCHEDULER_NAME: "WarmupCosineLR"``); see docs/tricks.md.
"""
import logging
from typing import Any, Dict, List

import torch
from detectron2.solver import get_default_optimizer_params
from detectron2.solver.build import maybe_add_gradient_clipping

logger = logging.getLogger(__name__)


def scaled_base_lr(base_lr: float, ims_per_batch: int, reference_batch_size: int = 256) -> float:
    """Linear scaling rule (Goyal et al., 2017): ``lr = base_lr * batch / reference``."""
    if ims_per_batch <= 0 or reference_batch_size <= 0:
        raise ValueError(
            f"Linear LR scaling needs positive batch sizes, got SOLVER.IMS_PER_BATCH={ims_per_batch}, "
            f"LT.SOLVER.REFERENCE_BATCH_SIZE={reference_batch_size}"
        )
    return base_lr * ims_per_batch / reference_batch_size


def effective_base_lr(cfg) -> float:
    """``SOLVER.BASE_LR``, linearly scaled when ``LT.SOLVER.LINEAR_SCALING`` is on."""
    if cfg.LT.SOLVER.LINEAR_SCALING:
        return scaled_base_lr(cfg.SOLVER.BASE_LR, cfg.SOLVER.IMS_PER_BATCH, cfg.LT.SOLVER.REFERENCE_BATCH_SIZE)
    return cfg.SOLVER.BASE_LR


def lt_param_groups(model: torch.nn.Module, cfg) -> List[Dict[str, Any]]:
    """Parameter groups: detectron2's ``get_default_optimizer_params`` with the lr of
    ``effective_base_lr`` and, with ``LT.SOLVER.NO_BIAS_DECAY``, weight decay 0 on every
    bias and on the gamma/beta of normalisation layers (else detectron2's
    ``SOLVER.WEIGHT_DECAY_NORM`` / ``WEIGHT_DECAY_BIAS`` apply)."""
    no_bias_decay = cfg.LT.SOLVER.NO_BIAS_DECAY
    return get_default_optimizer_params(
        model,
        base_lr=effective_base_lr(cfg),
        weight_decay=cfg.SOLVER.WEIGHT_DECAY,
        weight_decay_norm=0.0 if no_bias_decay else cfg.SOLVER.WEIGHT_DECAY_NORM,
        bias_lr_factor=cfg.SOLVER.BIAS_LR_FACTOR,
        weight_decay_bias=0.0 if no_bias_decay else cfg.SOLVER.WEIGHT_DECAY_BIAS,
    )


def check_amp_device(cfg) -> None:
    """Mixed precision (``SOLVER.AMP.ENABLED``) trains on CUDA only: a clear error instead
    of detectron2's assertion deep inside ``AMPTrainer``."""
    if cfg.SOLVER.AMP.ENABLED and (not cfg.MODEL.DEVICE.startswith("cuda") or not torch.cuda.is_available()):
        raise ValueError(
            f"SOLVER.AMP.ENABLED needs a CUDA device (MODEL.DEVICE={cfg.MODEL.DEVICE!r}, "
            f"CUDA available: {torch.cuda.is_available()}); set SOLVER.AMP.ENABLED False on CPU"
        )


def build_lt_optimizer(cfg, model: torch.nn.Module) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov and gradient clipping as detectron2's ``build_optimizer``)
    over ``lt_param_groups``; checks the AMP setting first (the trainer builds the
    optimizer before it picks ``AMPTrainer``)."""
    check_amp_device(cfg)
    lr = effective_base_lr(cfg)
    if lr != cfg.SOLVER.BASE_LR:
        logger.info("Linear LR scaling: %.5g x %d / %d = %.5g", cfg.SOLVER.BASE_LR,
                    cfg.SOLVER.IMS_PER_BATCH, cfg.LT.SOLVER.REFERENCE_BATCH_SIZE, lr)
    optimizer = torch.optim.SGD(
        lt_param_groups(model, cfg),
        lr=lr,
        momentum=cfg.SOLVER.MOMENTUM,
        nesterov=cfg.SOLVER.NESTEROV,
        weight_decay=cfg.SOLVER.WEIGHT_DECAY,
    )
    return maybe_add_gradient_clipping(cfg, optimizer)
