from .base import ClassificationLoss
from .distributed import all_reduce_sum
from .build import LOSS_REGISTRY, build_loss

# Importing each loss file registers it in LOSS_REGISTRY.
from .bags import BAGS
from .cb_focal import CBFocal
from .class_balanced_ce import ClassBalancedCE
from .compensation import CompensationCE
from .cost_sensitive_ce import CSCE
from .ecm import ECM
from .distillation import Teacher, build_teacher, distillation_kl, distillation_loss
from .eql import EQL
from .eqlv2 import EQLv2
from .federated import Federated
from .focal import Focal
from .gol import GOL
from .ldam import LDAM
from .logit_adjusted import BalancedSoftmaxCE, LogitAdjustedCE
from .label_smoothing_ce import LabelSmoothingCE
from .seesaw import Seesaw
from .sigmoid_base import SigmoidClassificationLoss
from .sigmoid_bce import SigmoidBCE
from .softmax_ce import SoftmaxCE
from .weighted_ce import WeightedSoftmaxCE

__all__ = [
    "ClassificationLoss",
    "all_reduce_sum",
    "LOSS_REGISTRY",
    "build_loss",
    "BAGS",
    "CBFocal",
    "ClassBalancedCE",
    "CompensationCE",
    "CSCE",
    "Teacher",
    "build_teacher",
    "distillation_kl",
    "distillation_loss",
    "ECM",
    "EQL",
    "EQLv2",
    "Federated",
    "Focal",
    "GOL",
    "LDAM",
    "BalancedSoftmaxCE",
    "LogitAdjustedCE",
    "LabelSmoothingCE",
    "Seesaw",
    "SigmoidClassificationLoss",
    "SigmoidBCE",
    "SoftmaxCE",
    "WeightedSoftmaxCE",
]
