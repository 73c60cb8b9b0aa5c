"""The trainer shared by detection and classification."""
import logging
import os
import warnings
import weakref
from typing import Callable, Optional, Type, TypeVar

from detectron2.engine import AMPTrainer, DefaultTrainer, HookBase, SimpleTrainer, TrainerBase, create_ddp_model, hooks
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

from ..data.build import build_test_loader, build_train_loader
from ..data.catalog import preload
from ..evaluation.build import build_evaluator
from ..modeling.calibration import apply_calibration
from ..solver import build_lt_optimizer
from .checkpoint import LTCheckpointer
from .hooks import DivergenceGuard, IterationSeed
from .input_checks import check_annotated_test_set
from .param_decoupling import build_param_decoupling_hook
from .stage_schedule import StageScheduleHook, build_stage_schedule_hook

H = TypeVar("H", bound=HookBase)


class LTTrainer(DefaultTrainer):
    """detectron2's ``DefaultTrainer`` with lt_det's data loaders, samplers and evaluators.

    * data loaders are chosen by the training set's ``task`` metadata
      (``lt_det.data.TASK_LOADERS``); samplers named in ``DATALOADER.SAMPLER_TRAIN``
      come from ``lt_det.data.samplers.SAMPLER_REGISTRY`` when registered there;
    * evaluators are chosen by the test set's ``evaluator_type`` metadata
      (``lt_det.evaluation.EVALUATOR_REGISTRY``);
    * the model's box scores are calibrated at inference when ``MODEL.LT.CALIBRATION.NAME``
      is not "none" (``lt_det.modeling.calibration``; also with ``--eval-only``);
    * everything else (optimizer, LR schedule, checkpointing, tensorboard, ETA printing,
      ``launch`` for multi-GPU / multi-machine) is detectron2's own.

    Hooks that change the run while it trains (lt_det's stage schedule) use only the public
    methods below, never detectron2's private members: :attr:`stage_cfg` (the config in
    force at the current iteration), :meth:`reset_data_loader` / :meth:`rebuild_train_loader`,
    :meth:`replace_lr_scheduler` and :meth:`find_hook`; :meth:`train` returns the final
    evaluation results.
    """

    def __init__(self, cfg):
        # DefaultTrainer.__init__'s steps, in its order, with two changes: the model is
        # wrapped by build_ddp_model (DDP without device ids on CPU, so that
        # ``--num-gpus N`` runs N gloo processes on a CPU-only machine) and the checkpointer
        # is build_checkpointer's.
        TrainerBase.__init__(self)
        if not logging.getLogger("detectron2").isEnabledFor(logging.INFO):
            setup_logger()
        cfg = DefaultTrainer.auto_scale_workers(cfg, comm.get_world_size())
        self._stage_cfg = None
        model = self.build_model(cfg)
        optimizer = self.build_optimizer(cfg, model)
        data_loader = self.build_train_loader(cfg)
        model = self.build_ddp_model(cfg, model)
        self._trainer = (AMPTrainer if cfg.SOLVER.AMP.ENABLED else SimpleTrainer)(model, data_loader, optimizer)
        self.scheduler = self.build_lr_scheduler(cfg, optimizer)
        self.start_iter = 0
        self.max_iter = cfg.SOLVER.MAX_ITER
        self.cfg = cfg
        self.checkpointer = self.build_checkpointer()
        self.register_hooks(self.build_hooks())

    @classmethod
    def build_ddp_model(cls, cfg, model):
        """detectron2's ``create_ddp_model`` (a no-op in one process); on CPU, DDP gets no
        device ids (gloo), on GPU the local rank's device as detectron2 does."""
        kwargs = {"broadcast_buffers": False}
        if cfg.MODEL.DEVICE == "cpu":
            kwargs["device_ids"] = None
        return create_ddp_model(model, **kwargs)

    # ------------------------------------------------------------- builders
    @classmethod
    def build_model(cls, cfg):
        # Post-hoc calibration wraps the box predictors' predict_probs (inference only).
        return apply_calibration(super().build_model(cfg), cfg)

    @classmethod
    def build_train_loader(cls, cfg):
        return build_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        # Ground truth to score against, checked on the dicts the loader then reuses (one parse).
        check_annotated_test_set(dataset_name, preload(dataset_name))
        return build_test_loader(cfg, dataset_name)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        if output_folder is None:
            output_folder = os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return build_evaluator(cfg, dataset_name, output_folder)

    @classmethod
    def build_optimizer(cls, cfg, model):
        # detectron2's SGD plus LT.SOLVER.* (linear LR scaling, no bias decay, AMP check).
        return build_lt_optimizer(cfg, model)

    def build_checkpointer(self) -> LTCheckpointer:
        """detectron2's checkpointer (model + trainer state in ``OUTPUT_DIR``), written
        atomically, never with non-finite weights, resumable past a corrupt file."""
        return LTCheckpointer(self.model, self.cfg.OUTPUT_DIR, trainer=weakref.proxy(self))

    def build_hooks(self):
        ret = super().build_hooks()
        # First, so a diverged step stops before any other hook sees it.
        ret.insert(0, DivergenceGuard())
        if self.cfg.SEED >= 0:
            # Before every hook that may draw random numbers (the stage hook's REINIT).
            ret.insert(0, IterationSeed(self.cfg.SEED))
        stage_hook = build_stage_schedule_hook(self.cfg)  # LT.STAGES / LT.FREEZE (bag of tricks)
        if stage_hook is not None:
            # Every stage is checked against the model now, before the first iteration, so
            # a bad stage fails when the run starts instead of at its boundary.
            stage_hook.validate(self.model)
            # Right after the LR scheduler (so a stage's schedule starts on its first
            # iteration), before checkpointing and evaluation (so a checkpoint written at a
            # boundary already holds the stage's state).
            ret.insert(_index_after(ret, hooks.LRScheduler), stage_hook)
        decoupling = build_param_decoupling_hook(self.cfg)  # LT.DECOUPLE (Decoupled Optimisation)
        if decoupling is not None:
            # After the stage schedule (whose loss and loader it uses), before checkpointing.
            after = StageScheduleHook if stage_hook is not None else hooks.LRScheduler
            ret.insert(_index_after(ret, after), decoupling)
        return ret

    # ---------------------------------------------------- the run's state, public
    @property
    def stage_cfg(self):
        """The config in force at the current iteration: the top-level ``cfg``, or the
        config of the ``LT.STAGES`` stage the stage hook entered last."""
        return self.cfg if self._stage_cfg is None else self._stage_cfg

    def set_stage_cfg(self, cfg) -> None:
        """Make ``cfg`` the config in force (``None``: back to the top-level config)."""
        self._stage_cfg = cfg

    def reset_data_loader(self, data_loader_builder: Callable) -> None:
        """Replace the training data loader by ``data_loader_builder()`` (built lazily, on the
        next step, so an lt_det sampler starts at that step's stream position). The same
        method as detectron2's ``SimpleTrainer.reset_data_loader``."""
        self._trainer.reset_data_loader(data_loader_builder)

    def rebuild_train_loader(self, cfg=None) -> None:
        """Rebuild the training loader from ``cfg`` (default: :attr:`stage_cfg`)."""
        cfg = self.stage_cfg if cfg is None else cfg
        self.reset_data_loader(lambda: self.build_train_loader(cfg))

    def replace_lr_scheduler(self, cfg, first_iter: int):
        """Install the LR schedule of ``cfg`` (built by :meth:`build_lr_scheduler`, so its
        ``SOLVER.MAX_ITER`` is the schedule's length) as if it had started at iteration
        ``first_iter``; the current iteration gets its value at ``iter - first_iter``.
        detectron2's ``LRScheduler`` hook reads ``trainer.scheduler`` each step, so the new
        schedule takes over from this step on. Returns the new scheduler."""
        lr_hook = self.find_hook(hooks.LRScheduler)
        if lr_hook is not None and lr_hook.scheduler is not self.scheduler:
            raise RuntimeError("The LRScheduler hook was given its own scheduler; cannot replace it")
        scheduler = self.build_lr_scheduler(cfg, self.optimizer)  # at position 0
        # torch's LRScheduler API: position it at step (iter - first_iter).
        scheduler.last_epoch = self.iter - first_iter - 1
        with warnings.catch_warnings():  # "step() before optimizer.step()": intended here
            warnings.simplefilter("ignore", UserWarning)
            scheduler.step()
        self.scheduler = scheduler
        return scheduler

    def find_hook(self, hook_type: Type[H]) -> Optional[H]:
        """The first registered hook that is an instance of ``hook_type`` (or ``None``)."""
        return next((h for h in self._hooks if isinstance(h, hook_type)), None)

    @property
    def final_results(self):
        """Results of the last evaluation (detectron2's ``EvalHook``), ``{}`` if none ran."""
        return getattr(self, "_last_eval_results", None) or {}

    def run_step(self):
        try:
            super().run_step()
        except FloatingPointError as e:  # detectron2's own non-finite checks (RPN, total loss)
            guard = self.find_hook(DivergenceGuard)
            if guard is None:
                raise
            reason = str(e).split("\n")[0].replace(" Training has diverged.", "")
            raise guard.divergence([reason], what="model outputs") from e

    def train(self):
        """Run training; return the last evaluation's results (``{}`` when none ran), also
        when ``TEST.EXPECTED_RESULTS`` is empty (detectron2 then returns ``None``)."""
        super().train()
        return self.final_results


def _index_after(hook_list, hook_type) -> int:
    """Position just after the first hook of ``hook_type`` (0 when there is none)."""
    for i, h in enumerate(hook_list):
        if isinstance(h, hook_type):
            return i + 1
    return 0
