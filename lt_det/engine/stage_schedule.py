"""Multi-stage training in one run: a detectron2 hook that switches the configuration at
stage boundaries.

``LT.STAGES`` lists stages, each ``{"NAME", "START_EPOCH" | "START_ITER", "OVERRIDES":
[KEY, VALUE, ...], "REINIT": [module paths]}``. Stage ``k`` is in force on iterations
``[start_k, start_{k+1})``; before the first stage the top-level config is. Overrides are
cumulative: stage ``k``'s config is the top-level config merged with the overrides of
stages ``0..k`` in order. Deferred re-balancing by re-sampling (DRS) or re-weighting (DRW),
fine-tuning without mixup, cRT, LWS and CAM-BS are configurations of this hook
(Zhang et al., "Bag of Tricks for Long-Tailed Visual Recognition", AAAI 2021;
Cao et al., NeurIPS 2019 for DRW; Kang et al., ICLR 2020 for cRT / LWS).

What a stage may override, and what happens when it does (``APPLIERS``):

* ``DATALOADER.*``, ``DATASETS.TRAIN``, ``INPUT.*``, ``LT.CLS_INPUT.*``, ``LT.CAM_BS.*``,
  ``LT.CLASS_SUBSET.*``: the training data loader is rebuilt with the stage's config
  (``trainer.reset_data_loader``), which works for every sampler; with
  ``LT.CAM_BS.ENABLED`` the CAM-BS images are generated (or read from their cache) and
  added to the training sets; with ``LT.CLASS_SUBSET.REMOVE`` / ``REMOVE_SHARE_ABOVE`` the
  stage trains on the remaining classes only (lt_det/data/class_subset.py; the sampler is
  built on the remaining samples; set ``REMOVE: []`` and ``REMOVE_SHARE_ABOVE: 0.0`` in a
  later stage to bring the classes back). Every stage's class subset is validated against
  the training set when the hook is built, before the first iteration;
* ``MODEL.LT.LOSS.*``: every ``ClassificationLoss`` in the model is rebuilt (and
  ``loss_weight`` updated), e.g. CE -> CS-CE for DRW;
* ``SOLVER.*`` (lr, steps, gamma, schedule, warm-up): a new LR schedule starts at the
  stage's start; its ``SOLVER.STEPS`` / ``WARMUP_ITERS`` count from there and it runs to
  the next stage with other SOLVER values, or to ``SOLVER.MAX_ITER``. Stages without
  SOLVER overrides keep the running schedule (so DRW at epoch 160 of 200 keeps the
  global steps). The top-level schedule likewise runs to the first stage with other SOLVER
  values (so a cosine decay of stage 1 reaches its end at that stage's start), or to
  ``SOLVER.MAX_ITER``;
* ``MODEL.LT.MIXUP.*``: the model's mixup strategy; ``LT.FREEZE``: frozen modules;
  ``MODEL.LT.CLASSIFIER.LWS`` / ``MODEL.LT.CLASSIFIER.NCM``: LWS scaling on / off, NCM at evaluation.

``REINIT`` modules are re-initialised when a stage starts during training (not when a run
resumes inside it: the checkpoint holds the re-trained weights). On resume the stage in
force at the resumed iteration is re-applied (its loader, loss, mixup, frozen modules and
LR schedule at the right position). Resuming never replays a CAM-BS generation when its
cache exists.
"""
import logging
import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from detectron2.engine import HookBase

from ..modeling.freeze import freeze_modules, get_module, reinit_modules, resettable_modules, unwrap

logger = logging.getLogger(__name__)

STAGE_FIELDS = ("NAME", "START_EPOCH", "START_ITER", "OVERRIDES", "REINIT")

# Solver keys that define a stage's LR schedule (others, e.g. MAX_ITER or IMS_PER_BATCH,
# are fixed for the whole run).
SOLVER_SCHEDULE_KEYS = (
    "SOLVER.BASE_LR",
    "SOLVER.BASE_LR_END",
    "SOLVER.STEPS",
    "SOLVER.GAMMA",
    "SOLVER.LR_SCHEDULER_NAME",
    "SOLVER.WARMUP_ITERS",
    "SOLVER.WARMUP_FACTOR",
    "SOLVER.WARMUP_METHOD",
    "SOLVER.NUM_DECAYS",
    "SOLVER.RESCALE_INTERVAL",
)


# detectron2's own training samplers (built by detectron2 when SAMPLER_TRAIN names one).
D2_SAMPLERS = ("TrainingSampler", "RepeatFactorTrainingSampler", "RandomSubsetTrainingSampler")


@dataclass
class Stage:
    """One stage: its first iteration, its KEY/VALUE overrides and modules to re-init."""

    name: str
    start_iter: int
    overrides: List = field(default_factory=list)
    reinit: List[str] = field(default_factory=list)


def iters_per_epoch(num_images: int, ims_per_batch: int) -> int:
    """Iterations of one epoch: ``ceil(num_images / ims_per_batch)``."""
    if num_images <= 0 or ims_per_batch <= 0:
        raise ValueError(f"Cannot count epochs of {num_images} images in batches of {ims_per_batch}")
    return int(math.ceil(num_images / ims_per_batch))


def _get_key(cfg, key: str):
    node = cfg
    for part in key.split("."):
        if part not in node:
            raise KeyError(f"LT.STAGES override {key!r} is not a config key (see lt_det/config/defaults.py)")
        node = node[part]
    return node


def parse_stages(raw: Sequence[Mapping], max_iter: int, epoch_iters: Optional[int] = None) -> List[Stage]:
    """Validate ``LT.STAGES`` and turn epochs into iterations.

    Args:
        raw: the list of stage dicts.
        max_iter: ``SOLVER.MAX_ITER``; every stage must start in ``(0, max_iter)``.
        epoch_iters: iterations per epoch (needed only for ``START_EPOCH``).
    """
    stages = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise ValueError(f"LT.STAGES[{i}] must be a dict with keys {STAGE_FIELDS}, got {item!r}")
        unknown = set(item) - set(STAGE_FIELDS)
        if unknown:
            raise ValueError(f"LT.STAGES[{i}] has unknown fields {sorted(unknown)}; allowed: {STAGE_FIELDS}")
        has_epoch, has_iter = "START_EPOCH" in item, "START_ITER" in item
        if has_epoch == has_iter:
            raise ValueError(f"LT.STAGES[{i}] needs exactly one of START_EPOCH and START_ITER")
        if has_epoch:
            if epoch_iters is None:
                raise ValueError(f"LT.STAGES[{i}] uses START_EPOCH but the epoch length is unknown")
            start = int(item["START_EPOCH"]) * epoch_iters
        else:
            start = int(item["START_ITER"])
        name = str(item.get("NAME", f"stage{i + 1}"))
        if not 0 < start < max_iter:
            raise ValueError(
                f"LT.STAGES[{i}] ({name}) starts at iteration {start}, outside (0, SOLVER.MAX_ITER={max_iter})"
            )
        if stages and start <= stages[-1].start_iter:
            raise ValueError(f"LT.STAGES[{i}] ({name}) must start after the previous stage (iteration {start})")
        overrides = list(item.get("OVERRIDES", []))
        if len(overrides) % 2:
            raise ValueError(f"LT.STAGES[{i}] ({name}) OVERRIDES must be KEY, VALUE pairs")
        reinit = list(item.get("REINIT", []))
        stages.append(Stage(name=name, start_iter=start, overrides=overrides, reinit=reinit))
    return stages


def stage_configs(base_cfg, stages: Sequence[Stage]):
    """The config in force in each stage (index ``k`` -> stage ``k``), cumulative merges."""
    cfgs = []
    cur = base_cfg
    for s in stages:
        nxt = cur.clone()
        nxt.defrost()
        keys = s.overrides[0::2]
        for key in keys:
            _get_key(nxt, key)
            if not any(key == p or key.startswith(p) for a in APPLIERS for p in a.prefixes):
                allowed = ", ".join(p for a in APPLIERS for p in a.prefixes)
                raise ValueError(
                    f"Stage {s.name!r} overrides {key!r}, which cannot change mid-run; allowed: {allowed}"
                )
        try:
            nxt.merge_from_list(list(s.overrides))
        except (ValueError, AssertionError) as e:
            raise ValueError(f"Stage {s.name!r}: bad OVERRIDES value: {e}") from None
        nxt.freeze()
        cfgs.append(nxt)
        cur = nxt
    return cfgs


def active_stage(stages: Sequence[Stage], iteration: int) -> int:
    """Index of the stage in force at ``iteration`` (-1: before the first stage)."""
    k = -1
    for i, s in enumerate(stages):
        if iteration >= s.start_iter:
            k = i
    return k


def _changed(cfg_a, cfg_b, prefixes: Sequence[str]) -> bool:
    flat_a, flat_b = _flatten(cfg_a), _flatten(cfg_b)
    keys = set(flat_a) | set(flat_b)
    return any(
        flat_a.get(k) != flat_b.get(k) for k in keys if any(k == p or k.startswith(p) for p in prefixes)
    )


def _flatten(cfg, prefix: str = "") -> Dict[str, object]:
    out = {}
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


@dataclass
class Applier:
    """What to redo when a stage changes keys under ``prefixes``: ``fn(hook, cfg, k)``."""

    name: str
    prefixes: Sequence[str]
    fn: Callable
    always: bool = False  # run on every stage change (cheap, idempotent state setters)


class StageScheduleHook(HookBase):
    """Applies ``LT.STAGES`` during training (see the module docstring).

    ``LTTrainer.build_hooks`` registers it right after detectron2's ``LRScheduler`` hook
    (found by type), before the checkpointer and evaluation hooks, so a checkpoint written
    at a boundary already holds the stage's state. It changes the run only through the
    trainer's public methods: ``reset_data_loader`` (``LTTrainer`` and detectron2's
    ``SimpleTrainer``), ``replace_lr_scheduler`` and ``set_stage_cfg`` (``LTTrainer``; the
    stage's config is then ``trainer.stage_cfg``).

    Args:
        cfg: the run's (top-level) config.
        stages: parsed stages (``parse_stages``).
        build_train_loader: ``cfg -> data loader``; default: the trainer's
            ``build_train_loader``. A stage's LR schedule is built by the trainer's
            ``replace_lr_scheduler``.
    """

    def __init__(self, cfg, stages: Sequence[Stage], build_train_loader=None):
        self.base_cfg = cfg
        self.stages = list(stages)
        self.cfgs = stage_configs(cfg, self.stages)
        self._validate_class_subsets()
        self._build_train_loader = build_train_loader
        self.current = -1  # index of the stage whose config is in force
        self._base_initial_lrs: Optional[List[float]] = None
        self._trainable = None
        self._segment = None  # (first stage index, length) of the installed LR schedule

    @classmethod
    def from_config(cls, cfg, **kwargs):
        """Parse ``cfg.LT.STAGES`` (epochs from the training set's size in its metadata)."""
        epoch_iters = None
        if any("START_EPOCH" in s for s in cfg.LT.STAGES):
            from ..data.class_stats import class_stats_from_metadata

            num_images = class_stats_from_metadata(cfg.DATASETS.TRAIN).num_images
            epoch_iters = iters_per_epoch(num_images, cfg.SOLVER.IMS_PER_BATCH)
        return cls(cfg, parse_stages(cfg.LT.STAGES, cfg.SOLVER.MAX_ITER, epoch_iters), **kwargs)

    def _validate_class_subsets(self) -> None:
        """Resolve each stage's ``LT.CLASS_SUBSET`` now, so a bad class name or share stops
        the run at its start (one line naming the stage, the key and the fix), not at the
        stage's boundary hours later."""
        from ..data.class_subset import training_class_subset

        for i, (stage, c) in enumerate(zip(self.stages, self.cfgs)):
            try:
                training_class_subset(c)
            except ValueError as e:
                raise ValueError(f"LT.STAGES[{i}] ({stage.name}): {e}") from None

    # ----------------------------------------------------------------------- helpers
    def cfg_of(self, k: int):
        return self.base_cfg if k < 0 else self.cfgs[k]

    @property
    def model(self):
        return unwrap(self.trainer.model)

    def _solver_signature(self, k: int):
        flat = _flatten(self.cfg_of(k))
        return tuple(repr(flat[key]) for key in SOLVER_SCHEDULE_KEYS if key in flat)

    def solver_segment(self, k: int):
        """(first stage index, start iteration, length) of the LR schedule in force in stage
        ``k``; ``None`` for the top-level schedule."""
        sig = self._solver_signature(k)
        if sig == self._solver_signature(-1):
            return None
        first = k
        while first > 0 and self._solver_signature(first - 1) == sig:
            first -= 1
        end = self.base_cfg.SOLVER.MAX_ITER
        for j in range(k + 1, len(self.stages)):
            if self._solver_signature(j) != sig:
                end = self.stages[j].start_iter
                break
        start = self.stages[first].start_iter
        return first, start, end - start

    def top_level_length(self) -> int:
        """Iterations of the top-level LR schedule: up to the first stage with other SOLVER
        values, else ``SOLVER.MAX_ITER``."""
        sig = self._solver_signature(-1)
        for j, s in enumerate(self.stages):
            if self._solver_signature(j) != sig:
                return s.start_iter
        return self.base_cfg.SOLVER.MAX_ITER

    # ------------------------------------------------------------------- appliers
    def _apply_freeze(self, cfg, k, fresh):
        for p in self._trainable:
            p.requires_grad_(True)
        frozen = freeze_modules(self.model, cfg.LT.FREEZE)
        if frozen:
            logger.info("Frozen %d parameter tensors in %s", len(frozen), list(cfg.LT.FREEZE))

    def _apply_lws(self, cfg, k, fresh):
        from ..modeling.classifier_heads import LWSHead

        heads = [m for m in self.model.modules() if isinstance(m, LWSHead)]
        if cfg.MODEL.LT.CLASSIFIER.LWS and not heads:
            raise ValueError("MODEL.LT.CLASSIFIER.LWS needs MODEL.META_ARCHITECTURE 'LTTricksClassifier' (it builds the LWS scales)")
        for h in heads:
            h.set_active(cfg.MODEL.LT.CLASSIFIER.LWS)

    def _apply_ncm(self, cfg, k, fresh):
        model = self.model
        if cfg.MODEL.LT.CLASSIFIER.NCM != "none" and not hasattr(model, "ncm_metric"):
            raise ValueError("MODEL.LT.CLASSIFIER.NCM needs MODEL.META_ARCHITECTURE 'LTTricksClassifier'")
        if hasattr(model, "ncm_metric"):
            model.ncm_metric = cfg.MODEL.LT.CLASSIFIER.NCM

    def _apply_mixup(self, cfg, k, fresh):
        from ..data.mixup import build_mixup

        model = self.model
        mixup = build_mixup(cfg)
        if not hasattr(model, "mixup"):
            if mixup is None:
                return
            raise ValueError("MODEL.LT.MIXUP needs MODEL.META_ARCHITECTURE 'LTTricksClassifier'")
        model.mixup = mixup

    @staticmethod
    def _stage_losses(model, cfg):
        """``(path, old, new)`` for every ``ClassificationLoss`` of ``model``, ``new`` built
        from ``cfg``; an error when the model has none or a new one has another shape."""
        from ..losses import ClassificationLoss, build_loss

        targets = [(n, m) for n, m in model.named_modules() if isinstance(m, ClassificationLoss)]
        if not targets:
            raise ValueError("A stage overrides MODEL.LT.LOSS but the model has no lt_det ClassificationLoss")
        out = []
        for name, old in targets:
            new = build_loss(cfg, old.num_classes, old.use_background, old.class_stats)
            if new.num_logits() != old.num_logits():
                raise ValueError(
                    f"Stage loss {cfg.MODEL.LT.LOSS.NAME} needs {new.num_logits()} logits but the "
                    f"model's classifier has {old.num_logits()}; switch between losses of one kind"
                )
            out.append((name, old, new))
        return out

    def _apply_loss(self, cfg, k, fresh):
        model = self.model
        for name, old, new in self._stage_losses(model, cfg):
            ref = next(iter(list(old.buffers()) + list(model.parameters())), None)
            if ref is not None:
                new = new.to(ref.device)
            parent_path, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent_path) if parent_path else model, attr, new)
        if hasattr(model, "loss_weight"):
            model.loss_weight = float(cfg.MODEL.LT.LOSS.WEIGHT)

    def _apply_solver(self, cfg, k, fresh):
        segment = self.solver_segment(k)
        if segment == self._segment:
            return
        if not hasattr(self.trainer, "replace_lr_scheduler"):
            raise TypeError(
                "A stage overrides SOLVER.* but the trainer has no replace_lr_scheduler(); "
                "train with lt_det.engine.LTTrainer (or a subclass)"
            )
        optimizer = self.trainer.optimizer
        if segment is None:
            # The top-level schedule ends where the first stage with other SOLVER values
            # starts; a later stage that returns to the top-level values continues it on the
            # whole run's positions (0 .. MAX_ITER), as before that stage existed.
            length = self.top_level_length()
            if self.trainer.iter >= length:
                length = self.base_cfg.SOLVER.MAX_ITER
            start, seg_cfg = 0, self.base_cfg
        else:
            first, start, length = segment
            seg_cfg = self.cfgs[first]
        ratio = seg_cfg.SOLVER.BASE_LR / self.base_cfg.SOLVER.BASE_LR
        for g, lr in zip(optimizer.param_groups, self._base_initial_lrs):
            g["initial_lr"] = lr * ratio
        sc = seg_cfg.clone()
        sc.defrost()
        sc.SOLVER.MAX_ITER = length
        sc.freeze()
        self.trainer.replace_lr_scheduler(sc, first_iter=start)
        self._segment = segment
        logger.info("LR schedule of %d iterations from iteration %d (lr now %.5g)", length, start,
                    optimizer.param_groups[0]["lr"])

    def _apply_data(self, cfg, k, fresh):
        if cfg.LT.CAM_BS.ENABLED:
            from ..data.cam_bs import prepare_cam_bs_dataset

            name = prepare_cam_bs_dataset(self.model, cfg, regenerate=fresh)
            cfg = cfg.clone()
            cfg.defrost()
            cfg.DATASETS.TRAIN = tuple(cfg.DATASETS.TRAIN) + (name,)
            cfg.freeze()
        # LTTrainer and detectron2's SimpleTrainer both have the public reset_data_loader.
        build = self._build_train_loader or self.trainer.build_train_loader
        self.trainer.reset_data_loader(lambda: build(cfg))

    # ---------------------------------------------------------------- validation
    def validate(self, model) -> None:
        """Check every stage against ``model`` before training starts, so a bad stage fails
        at the start of the run instead of at its boundary: frozen and re-initialised module
        paths, LWS / NCM / mixup needs, the stage's losses (built, shape-checked), its LR
        schedule (built on a stand-in optimizer) and its sampler and training sets. Changes
        nothing. ``LTTrainer`` calls it when it builds its hooks.

        Not checked here: what needs the stage's data loaded (the sampler's own arguments on
        the data, CAM-BS generation) is built when the stage begins.
        """
        import torch
        from detectron2.data import DatasetCatalog
        from detectron2.solver import build_lr_scheduler

        from ..data.mixup import build_mixup
        from ..data.samplers import is_lt_sampler
        from ..modeling.classifier_heads import LWSHead

        model = unwrap(model)
        has_lws = any(isinstance(m, LWSHead) for m in model.modules())
        for k in range(-1, len(self.stages)):
            cfg, prev = self.cfg_of(k), self.cfg_of(k - 1) if k >= 0 else None
            where = "the top-level config" if k < 0 else f"stage {self.stages[k].name!r}"
            try:
                for path in cfg.LT.FREEZE:
                    get_module(model, path)
                if k >= 0 and self.stages[k].reinit:
                    resettable_modules(model, self.stages[k].reinit)
                if cfg.MODEL.LT.CLASSIFIER.LWS and not has_lws:
                    raise ValueError("MODEL.LT.CLASSIFIER.LWS needs MODEL.META_ARCHITECTURE 'LTTricksClassifier' (it builds the LWS scales)")
                if cfg.MODEL.LT.CLASSIFIER.NCM != "none" and not hasattr(model, "ncm_metric"):
                    raise ValueError("MODEL.LT.CLASSIFIER.NCM needs MODEL.META_ARCHITECTURE 'LTTricksClassifier'")
                if build_mixup(cfg) is not None and not hasattr(model, "mixup"):
                    raise ValueError("MODEL.LT.MIXUP needs MODEL.META_ARCHITECTURE 'LTTricksClassifier'")
                if k < 0:
                    continue
                if _changed(prev, cfg, ["MODEL.LT.LOSS."]):
                    self._stage_losses(model, cfg)
                if _changed(prev, cfg, SOLVER_SCHEDULE_KEYS):
                    stand_in = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.SOLVER.BASE_LR)
                    build_lr_scheduler(cfg, stand_in)  # detectron2's, as LTTrainer.build_lr_scheduler
                sampler = cfg.DATALOADER.SAMPLER_TRAIN
                if not is_lt_sampler(sampler) and sampler not in D2_SAMPLERS:
                    raise ValueError(
                        f"DATALOADER.SAMPLER_TRAIN {sampler!r} is neither one of lt_det's samplers "
                        f"nor one of detectron2's {sorted(D2_SAMPLERS)}"
                    )
                for name in cfg.DATASETS.TRAIN:
                    if name not in DatasetCatalog.list():
                        raise ValueError(f"DATASETS.TRAIN names unknown data set {name!r}")
            except (KeyError, ValueError) as e:
                msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
                raise ValueError(f"LT.STAGES: {where}: {msg}") from None

    # ----------------------------------------------------------------- hook API
    def _enter(self, k: int, fresh: bool) -> None:
        prev_cfg, cfg = self.cfg_of(self.current), self.cfg_of(k)
        applied = []
        for a in APPLIERS:
            if a.always or _changed(prev_cfg, cfg, a.prefixes):
                a.fn(self, cfg, k, fresh)
                applied.append(a.name)
        if k >= 0 and fresh and self.stages[k].reinit:
            reinit_modules(self.model, self.stages[k].reinit, self.trainer.optimizer)
            applied.append(f"reinit {self.stages[k].reinit}")
        self.current = k
        if hasattr(self.trainer, "set_stage_cfg"):  # LTTrainer: what the trainer reads
            self.trainer.set_stage_cfg(None if k < 0 else cfg)
        if k >= 0:
            logger.info(
                "Stage %r (%d/%d) in force from iteration %d%s: %s",
                self.stages[k].name, k + 1, len(self.stages), self.trainer.iter,
                "" if fresh else " (resumed)", ", ".join(applied) or "nothing to change",
            )

    def before_train(self):
        self._trainable = [p for p in self.model.parameters() if p.requires_grad]
        if self._base_initial_lrs is None:
            self._base_initial_lrs = [g.get("initial_lr", g["lr"]) for g in self.trainer.optimizer.param_groups]
        k = active_stage(self.stages, self.trainer.iter)
        fresh = k >= 0 and self.trainer.iter == self.stages[k].start_iter
        self.current = -1
        self._segment = None
        if k < 0 and self.top_level_length() < self.base_cfg.SOLVER.MAX_ITER:
            # The trainer built its schedule over MAX_ITER: replace it by the shorter one.
            self._segment = "trainer"
            self._apply_solver(self.base_cfg, -1, fresh)
        self._enter(k, fresh)

    def before_step(self):
        k = active_stage(self.stages, self.trainer.iter)
        if k != self.current:
            self._enter(k, fresh=True)

    def after_step(self):
        self.trainer.storage.put_scalar("lt_stage", self.current + 1, smoothing_hint=False)

    def state_dict(self):
        return {"base_initial_lrs": self._base_initial_lrs, "stage": self.current}

    def load_state_dict(self, state_dict):
        self._base_initial_lrs = state_dict.get("base_initial_lrs")


# Order matters: freezing before LWS (which re-freezes the wrapped head), the model's state
# before the data (CAM-BS generates images with the stage's model).
APPLIERS = [
    Applier("freeze", ["LT.FREEZE"], StageScheduleHook._apply_freeze, always=True),
    Applier("lws", ["MODEL.LT.CLASSIFIER.LWS"], StageScheduleHook._apply_lws, always=True),
    Applier("ncm", ["MODEL.LT.CLASSIFIER.NCM"], StageScheduleHook._apply_ncm),
    Applier("loss", ["MODEL.LT.LOSS."], StageScheduleHook._apply_loss),
    Applier("mixup", ["MODEL.LT.MIXUP."], StageScheduleHook._apply_mixup),
    Applier("lr schedule", SOLVER_SCHEDULE_KEYS, StageScheduleHook._apply_solver),
    Applier(
        "data loader",
        ["DATALOADER.", "DATASETS.TRAIN", "INPUT.", "LT.CLS_INPUT.", "LT.CAM_BS.", "LT.CLASS_SUBSET."],
        StageScheduleHook._apply_data,
    ),
]


def build_stage_schedule_hook(cfg) -> Optional[StageScheduleHook]:
    """The hook for ``cfg.LT.STAGES``, or None when the config has no stages and no
    frozen modules (nothing to do)."""
    if not cfg.LT.STAGES and not cfg.LT.FREEZE and not cfg.MODEL.LT.CLASSIFIER.LWS:
        return None
    return StageScheduleHook.from_config(cfg)
