"""The trainer shared by detection and classification."""
import os

from detectron2.data import DatasetCatalog
from detectron2.engine import DefaultTrainer

from ..data.build import build_test_loader, build_train_loader
from ..evaluation.build import build_evaluator
from ..solver import build_lt_optimizer
from .param_decoupling import build_param_decoupling_hook
from .stage_schedule import build_stage_schedule_hook


class LTTrainer(DefaultTrainer):
    """detectron2's ``DefaultTrainer`` with lt_det's data loaders, samplers and evaluators.

    * data loaders are chosen by the training set's ``task`` metadata
      (``lt_det.data.TASK_LOADER_REGISTRY``); samplers named in ``DATALOADER.SAMPLER_TRAIN``
      come from ``lt_det.data.samplers.SAMPLER_REGISTRY`` when registered there;
    * evaluators are chosen by the test set's ``evaluator_type`` metadata
      (``lt_det.evaluation.EVALUATOR_REGISTRY``);
    * everything else (optimizer, LR schedule, checkpointing, tensorboard, ETA printing,
      ``launch`` for multi-GPU / multi-machine) is detectron2's own.
    """

    @classmethod
    def build_train_loader(cls, cfg):
        return build_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_test_loader(cfg, dataset_name)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        if output_folder is None:
            output_folder = os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        DatasetCatalog.get(dataset_name)  # generated data sets exist before evaluators read them
        return build_evaluator(cfg, dataset_name, output_folder)

    @classmethod
    def build_optimizer(cls, cfg, model):
        # detectron2's SGD plus LT.SOLVER.* (linear LR scaling, no bias decay, AMP check).
        return build_lt_optimizer(cfg, model)

    def build_hooks(self):
        ret = super().build_hooks()
        stage_hook = build_stage_schedule_hook(self.cfg)  # LT.STAGES / LT.FREEZE (bag of tricks)
        if stage_hook is not None:
            # Right after the LR scheduler, before checkpointing and evaluation hooks.
            ret.insert(2, stage_hook)
        decoupling = build_param_decoupling_hook(self.cfg)  # LT.DECOUPLE (Decoupled Optimisation)
        if decoupling is not None:
            # After the stage schedule (whose loss and loader it uses), before checkpointing.
            ret.insert(3 if stage_hook is not None else 2, decoupling)
        return ret
