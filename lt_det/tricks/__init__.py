# Importing each trick file registers its components (mixup strategies, the
# LTTricksClassifier meta-architecture, ResNet-C/D stem and shortcut).
from .cam_bs import cam_bs_counts, class_activation_maps, foreground_masks, paste_transformed, prepare_cam_bs_dataset
from .crt import freeze_modules, reinit_modules
from .distillation import Teacher, build_teacher, distillation_kl, distillation_loss
from .lws import LWSHead
from .mixup import MIXUP_REGISTRY, InputMixup, ManifoldMixup, build_mixup, mix, mixed_loss, sample_lambda
from .ncm import NCMHead, class_means
from .remix import Remix, remix_label_weights
from .resnet_d import AvgPoolShortcut, DeepStem
from .stage_schedule import Stage, StageScheduleHook, build_stage_schedule_hook, parse_stages
from .tau_norm import apply_tau_norm, tau_normalize
from .tricks_classifier import LTTricksClassifier
from .zero_gamma import zero_gamma_init

__all__ = [
    "cam_bs_counts", "class_activation_maps", "foreground_masks", "paste_transformed",
    "prepare_cam_bs_dataset", "freeze_modules", "reinit_modules", "Teacher", "build_teacher",
    "distillation_kl", "distillation_loss", "LWSHead", "MIXUP_REGISTRY", "InputMixup",
    "ManifoldMixup", "build_mixup", "mix", "mixed_loss", "sample_lambda", "NCMHead",
    "class_means", "Remix", "remix_label_weights", "AvgPoolShortcut", "DeepStem", "Stage",
    "StageScheduleHook", "build_stage_schedule_hook", "parse_stages", "apply_tau_norm",
    "tau_normalize", "LTTricksClassifier", "zero_gamma_init",
]
