from .base import ClassificationLoss
from .build import LOSS_REGISTRY, build_loss

# Importing each loss file registers it in LOSS_REGISTRY.
from .cb_focal import CBFocal
from .class_balanced_ce import ClassBalancedCE
from .compensation import CompensationCE
from .cost_sensitive_ce import CSCE
from .distillation import Teacher, build_teacher, distillation_kl, distillation_loss
from .eql import EQL
from .eqlv2 import EQLv2
from .federated import Federated
from .focal import Focal
from .ldam import LDAM
from .logit_adjusted import BalancedSoftmaxCE, LogitAdjustedCE
from .label_smoothing_ce import LabelSmoothingCE
from .seesaw import Seesaw
from .sigmoid_base import SigmoidClassificationLoss
from .sigmoid_bce import SigmoidBCE
from .softmax_ce import SoftmaxCE

__all__ = [
    "ClassificationLoss",
    "LOSS_REGISTRY",
    "build_loss",
    "CBFocal",
    "ClassBalancedCE",
    "CompensationCE",
    "CSCE",
    "Teacher",
    "build_teacher",
    "distillation_kl",
    "distillation_loss",
    "EQL",
    "EQLv2",
    "Federated",
    "Focal",
    "LDAM",
    "BalancedSoftmaxCE",
    "LogitAdjustedCE",
    "LabelSmoothingCE",
    "Seesaw",
    "SigmoidClassificationLoss",
    "SigmoidBCE",
    "SoftmaxCE",
]
