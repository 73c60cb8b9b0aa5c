"""Taylor-guided parameter decoupling during training: a detectron2 hook.

Decoupled Optimisation (Cong et al., AAAI 2024, Sec. 3.2) trains T stages (the
top-level config is stage 1, the entries of ``LT.STAGES`` stages 2..T; the stage
schedule hook switches sampler, loss and LR). At the end of each stage t < T its last
``PRUNE_STEPS * RETRAIN_ITERS`` iterations are the pruning phase: before every
``RETRAIN_ITERS``-th iteration the importance of the stage's free elements is estimated
on ``IMPORTANCE_BATCHES`` batches of the stage group's samples and the least important
are pruned up to gamma_s (eq. 4, from 0 to gamma_best over Delta t = ``PRUNE_STEPS``
steps), then training goes on. gamma_best comes from ``LT.DECOUPLE.GAMMAS`` or, where
that is -1, from a scan of gamma = 0 .. 0.9 (one-shot pruning, accuracy on
``SCAN_BATCHES`` batches of the group, no retraining) written as a plot. When stage
t + 1 begins, the kept elements become theta_bar_t (frozen for good) and the pruned ones
are re-initialised; at the last iteration the remaining free elements become
theta_bar_T. All state lives in the model's mask buffers and the iteration, so a resumed
run repeats the same decisions (the group loaders and re-initialisation are seeded by
stage and step).

After training it writes the average Taylor importance of the final model's parameters
per class group (many / medium / few; the paper's Fig. 1b) and ``do_decoupling.json``.
"""
import json
import logging
import os
from typing import List, Optional

import numpy as np
import torch
from detectron2.engine import HookBase
from detectron2.utils import comm

from ..data.class_groups import ClassGroup, shot_groups, stage_groups
from ..losses.distributed import all_reduce_sum
from ..modeling.freeze import unwrap
from ..modeling.importance import IMPORTANCE_KINDS, estimate_importance
from ..modeling.param_masks import FREE, PRUNED
from ..modeling.pruning import SCOPES, check_gamma, choose_gamma, progressive_gamma, select_to_prune, write_gamma_scan
from .stage_schedule import iters_per_epoch, parse_stages, stage_configs

logger = logging.getLogger(__name__)
SCAN_GAMMAS = [i / 10 for i in range(10)]


class _NormEval:
    """Normalisation layers in eval mode (no running-statistics updates) inside the block."""

    def __init__(self, model):
        self.model = model

    def __enter__(self):
        from ..modeling.param_masks import is_norm

        self.was = [(m, m.training) for m in self.model.modules() if is_norm(m)]
        for m, _ in self.was:
            m.eval()

    def __exit__(self, *exc):
        for m, mode in self.was:
            m.train(mode)


def decoupling_plan(cfg, counts):
    """(stage start iterations + [MAX_ITER], the stage groups, gamma per stage) of a config,
    validated: one-line errors name the key to change."""
    d = cfg.LT.DECOUPLE
    epoch_iters = None
    if any("START_EPOCH" in s for s in cfg.LT.STAGES):
        epoch_iters = iters_per_epoch(int(np.sum(counts)), cfg.SOLVER.IMS_PER_BATCH)
    stages = parse_stages(cfg.LT.STAGES, cfg.SOLVER.MAX_ITER, epoch_iters)
    bounds = [0] + [s.start_iter for s in stages] + [cfg.SOLVER.MAX_ITER]
    for scfg in [cfg] + stage_configs(cfg, stages):
        # rho_m must give both parts a non-zero share (eq. 1) and a finite log alpha (eq. 3).
        if scfg.MODEL.LT.LOSS.NAME == "CompensationCE" and not 0.0 < scfg.MODEL.LT.LOSS.COMPENSATION.RHO < 1.0:
            raise ValueError(f"MODEL.LT.LOSS.COMPENSATION.RHO must lie in (0, 1), got {scfg.MODEL.LT.LOSS.COMPENSATION.RHO}")
        if scfg.DATALOADER.SAMPLER_TRAIN == "GroupPreferredSampler" and not 0.0 < scfg.DATALOADER.LT.GROUP_PREFERRED.RHO < 1.0:
            raise ValueError(f"DATALOADER.LT.GROUP_PREFERRED.RHO (rho_m) must lie in (0, 1), got "
                             f"{scfg.DATALOADER.LT.GROUP_PREFERRED.RHO}")
    t = len(bounds) - 1
    if t not in (2, 3, 4):
        raise ValueError(f"LT.DECOUPLE needs 2, 3 or 4 stages (LT.STAGES with 1-3 entries), got {t}")
    groups = stage_groups(counts, t, d.MANY_MIN, d.FEW_MAX, d.MEDIUM_SPLIT, d.REVERSE)
    for i, g in enumerate(groups):
        if not len(g):
            raise ValueError(
                f"Stage {i + 1}'s class group {g.name!r} has no classes in {tuple(cfg.DATASETS.TRAIN)}; "
                "change LT.DECOUPLE.MANY_MIN / FEW_MAX / MEDIUM_SPLIT or use fewer stages (LT.STAGES)"
            )
    if len(d.GAMMAS) != t - 1:
        raise ValueError(f"LT.DECOUPLE.GAMMAS needs {t - 1} values (one per stage but the last), got {list(d.GAMMAS)}")
    gammas = [float(g) if float(g) == -1 else check_gamma(g) for g in d.GAMMAS]
    if d.IMPORTANCE not in IMPORTANCE_KINDS:
        raise ValueError(f"LT.DECOUPLE.IMPORTANCE must be one of {IMPORTANCE_KINDS}, got {d.IMPORTANCE!r}")
    if d.SCOPE not in SCOPES:
        raise ValueError(f"LT.DECOUPLE.SCOPE must be one of {SCOPES}, got {d.SCOPE!r}")
    phase = d.PRUNE_STEPS * d.RETRAIN_ITERS
    if d.PRUNE_STEPS < 1 or d.RETRAIN_ITERS < 1:
        raise ValueError("LT.DECOUPLE.PRUNE_STEPS and RETRAIN_ITERS must be >= 1")
    for i in range(t - 1):
        if phase >= bounds[i + 1] - bounds[i]:
            raise ValueError(
                f"Stage {i + 1} has {bounds[i + 1] - bounds[i]} iterations, not more than its pruning phase "
                f"(LT.DECOUPLE.PRUNE_STEPS x RETRAIN_ITERS = {phase}); lower them or lengthen the stage"
            )
    return bounds, groups, gammas


class ParamDecouplingHook(HookBase):
    """Runs parameter decoupling on a ``DecoupledClassifier`` (see the module docstring).

    Register it before the checkpointer and evaluation hooks (``LTTrainer`` does).

    Args:
        cfg: the run's config.
        build_train_loader: ``cfg -> loader`` (default: the trainer's).
    """

    def __init__(self, cfg, counts, build_train_loader=None):
        self.cfg = cfg
        self.counts = np.asarray(counts)
        self.bounds, self.groups, self.gammas = decoupling_plan(cfg, self.counts)
        self.num_stages = len(self.groups)
        d = cfg.LT.DECOUPLE
        self.kind, self.num_batches, self.scope = d.IMPORTANCE, d.IMPORTANCE_BATCHES, d.SCOPE
        self.delta_t, self.retrain = d.PRUNE_STEPS, d.RETRAIN_ITERS
        self.scan_batches, self.plot_batches = d.SCAN_BATCHES, d.IMPORTANCE_PLOT_BATCHES
        self.seed = max(int(cfg.SEED), 0)
        self._build_train_loader = build_train_loader
        self.log: List[dict] = []

    @classmethod
    def from_config(cls, cfg, **kwargs):
        from ..data.class_stats import class_stats_from_metadata

        return cls(cfg, class_stats_from_metadata(cfg.DATASETS.TRAIN).image_count, **kwargs)

    # ---------------------------------------------------------------- helpers
    @property
    def model(self):
        return unwrap(self.trainer.model)

    @property
    def masks(self):
        masks = getattr(self.model, "param_masks", None)
        if masks is None:
            raise ValueError("LT.DECOUPLE.ENABLED needs MODEL.META_ARCHITECTURE 'DecoupledClassifier'")
        if masks.num_stages != self.num_stages:
            raise ValueError(f"The model has masks for {masks.num_stages} stages, LT.STAGES defines {self.num_stages}")
        return masks

    def stage_of(self, it: int) -> int:
        return max(k for k in range(self.num_stages) if self.bounds[k] <= it)

    def group_batches(self, group: ClassGroup, tag: int):
        """An iterator over training batches of ``group``'s classes only (seeded by ``tag``)."""
        cfg = self.cfg.clone()
        cfg.defrost()
        cfg.DATALOADER.SAMPLER_TRAIN = "GroupPreferredSampler"
        cfg.DATALOADER.LT.GROUP_PREFERRED.RHO = 1.0
        cfg.DATALOADER.LT.GROUP_PREFERRED.CLASSES = list(group.classes)
        cfg.DATALOADER.LT.SEED = self.seed * 1000 + tag
        cfg.DATALOADER.NUM_WORKERS = 0
        build = self._build_train_loader or self.trainer.build_train_loader
        return iter(build(cfg))

    def _loss_fn(self, batch):
        return sum(self.model(batch).values())

    def importance(self, group: ClassGroup, tag: int, kind: Optional[str] = None, num_batches: Optional[int] = None):
        model, masks = self.model, self.masks
        was = model.training
        model.train()
        masks.grad_masking = False
        try:
            with _NormEval(model):
                batches = self.group_batches(group, tag) if (kind or self.kind) != "l1" else iter(())
                return estimate_importance(kind or self.kind, self.masks.params(model), self._loss_fn, batches,
                                           num_batches or self.num_batches)
        finally:
            masks.grad_masking = True
            model.train(was)

    @torch.no_grad()
    def _accuracy(self, batches) -> float:
        model = self.model
        correct = total = 0
        for b in batches:
            logits = model.classify(model.extract_features(model.preprocess_image(b)))
            correct += int((logits.argmax(1) == model.labels(b)).sum())
            total += int(len(logits))
        t = all_reduce_sum(torch.tensor([correct, total], dtype=torch.float64, device=model.device))
        return float(100.0 * t[0] / max(float(t[1]), 1.0))

    @torch.no_grad()
    def scan_gamma(self, k: int, importance) -> float:
        """gamma_best of stage k (0-based) from one-shot pruning at gamma = 0 .. 0.9."""
        model, masks = self.model, self.masks
        it = self.group_batches(self.groups[k], 500 + k)
        batches = [next(it) for _ in range(self.scan_batches)]
        params = masks.params(model)
        cand = {n: masks.owner(n) <= FREE for n in params}  # free or pruned: the stage's elements
        pruned = {n: masks.owner(n) == PRUNED for n in params}
        was = model.training
        model.eval()
        accs = []
        try:
            for g in SCAN_GAMMAS:
                sel = select_to_prune(importance, cand, pruned, g, self.scope)
                saved = {n: p.detach().clone() for n, p in params.items()}
                for n, p in params.items():
                    p[sel[n]] = 0.0
                accs.append(self._accuracy(batches))
                for n, p in params.items():
                    p.copy_(saved[n])
        finally:
            model.train(was)
        best = choose_gamma(SCAN_GAMMAS, accs)
        if comm.is_main_process():
            write_gamma_scan(os.path.join(self.cfg.OUTPUT_DIR, f"do_gamma_scan_stage{k + 1}"), SCAN_GAMMAS, accs, best,
                             f"stage {k + 1} ({self.groups[k].name}), {self.kind} importance")
        logger.info("Stage %d gamma scan: accuracy %s -> gamma_best %.1f", k + 1, [round(a, 1) for a in accs], best)
        return best

    def prune_step(self, k: int, s: int) -> None:
        """Progressive pruning step s (1..Delta t) of stage k (0-based)."""
        masks, model = self.masks, self.model
        importance = self.importance(self.groups[k], 100 * k + s)
        if s == 1 and float(masks.gammas[k]) < 0:
            masks.gammas[k] = self.gammas[k] if self.gammas[k] >= 0 else self.scan_gamma(k, importance)
        gamma = progressive_gamma(0.0, float(masks.gammas[k]), s, self.delta_t)
        params = masks.params(model)
        cand = {n: masks.owner(n) <= FREE for n in params}
        pruned = {n: masks.owner(n) == PRUNED for n in params}
        sel = select_to_prune(importance, cand, pruned, gamma, self.scope)
        n = masks.prune(model, sel)
        self.trainer.storage.put_scalar("do_pruned_fraction", masks.count(PRUNED) / max(sum(int(c.sum()) for c in cand.values()), 1))
        logger.info("Stage %d pruning step %d/%d: gamma %.3f, %d more elements pruned", k + 1, s, self.delta_t, gamma, n)

    def finish(self, t: int) -> None:
        masks = self.masks
        gen = torch.Generator().manual_seed(self.seed * 1000 + 900 + t)
        n = masks.finish_stage(self.model, t, self.trainer.optimizer, gen)
        self.log.append({"stage": t, "group": self.groups[t - 1].name, "num_classes": len(self.groups[t - 1]),
                         "gamma": float(masks.gammas[t - 1]) if t < self.num_stages else 0.0,
                         "elements": masks.count(t), "reinitialised": n})
        logger.info("Stage %d (%s) finished: theta_bar_%d holds %d of %d elements; %d re-initialised",
                    t, self.groups[t - 1].name, t, masks.count(t), masks.count(), n)

    # ---------------------------------------------------------------- hook API
    def before_train(self):
        self.model.allow_partial = True
        self.masks.install(self.model, self.trainer.optimizer)

    def before_step(self):
        it = self.trainer.iter
        k = self.stage_of(it)
        masks = self.masks
        if k >= 1 and it == self.bounds[k] and int(masks.stages_done) < k:
            self.finish(k)
        if k < self.num_stages - 1:
            phase_start = self.bounds[k + 1] - self.delta_t * self.retrain
            if it >= phase_start and (it - phase_start) % self.retrain == 0:
                self.prune_step(k, (it - phase_start) // self.retrain + 1)

    def after_step(self):
        if self.trainer.iter == self.cfg.SOLVER.MAX_ITER - 1 and int(self.masks.stages_done) < self.num_stages:
            self.finish(self.num_stages)

    def after_train(self):
        self.model.allow_partial = False
        if int(self.masks.stages_done) < self.num_stages:
            return  # interrupted
        per_group = self.importance_per_group()
        if comm.is_main_process():
            summary = {"stages": self.log, "gammas": [float(g) for g in self.masks.gammas],
                       "importance_per_group": per_group}
            os.makedirs(self.cfg.OUTPUT_DIR, exist_ok=True)
            with open(os.path.join(self.cfg.OUTPUT_DIR, "do_decoupling.json"), "w") as f:
                json.dump(summary, f, indent=1)
            if per_group:
                plot_importance_per_group(per_group, os.path.join(self.cfg.OUTPUT_DIR, "do_importance_per_group.png"))

    def importance_per_group(self) -> dict:
        """Mean Taylor importance over all decoupled elements, per shot group, for each
        sub-model t (Fig. 1b)."""
        if self.plot_batches <= 0:
            return {}
        out = {}
        masks, model = self.masks, self.model
        d = self.cfg.LT.DECOUPLE
        for gi, g in enumerate(shot_groups(self.counts, d.MANY_MIN, d.FEW_MAX)):
            if not len(g):
                continue
            out[g.name] = {}
            for t in range(1, self.num_stages + 1):
                with masks.submodel(model, t):
                    imp = self.importance(g, 800 + gi, "taylor", self.plot_batches)
                total = sum(float(v.double().sum()) for v in imp.values())
                out[g.name][f"submodel_{t}"] = total / max(masks.count(), 1)
        return out


def plot_importance_per_group(per_group: dict, path: str) -> None:
    """Bars of the average parameter importance of each class group, per sub-model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(per_group)
    subs = list(next(iter(per_group.values())))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / max(len(subs), 1)
    for j, s in enumerate(subs):
        ax.bar([i + j * width for i in range(len(groups))], [per_group[g][s] for g in groups], width, label=s)
    ax.set_xticks([i + width * (len(subs) - 1) / 2 for i in range(len(groups))])
    ax.set_xticklabels(groups)
    ax.set_ylabel("mean Taylor importance (w g)^2")
    ax.set_yscale("log")
    ax.set_title("average parameter importance per class group")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def build_param_decoupling_hook(cfg) -> Optional[ParamDecouplingHook]:
    """The hook when ``LT.DECOUPLE.ENABLED``, else None."""
    return ParamDecouplingHook.from_config(cfg) if cfg.LT.DECOUPLE.ENABLED else None
