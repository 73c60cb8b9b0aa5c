"""Every shipped config and every recipe the docs name trains on a tiny schedule and crosses
each of its stage boundaries, so a crash that would come hours into a run (cRT's REINIT at
epoch 200, a stage's loss, a CAM-BS generation) is a test failure in seconds (#12.14).

Recipes: ``configs/**/*.yaml``, ``projects/**/configs/*.yaml``, every row of the ablation
files ``projects/*/ablation*.yaml``, and every ``tools/train_net.py --config-file X [KEY
VALUE ...]`` command in the README, ``docs/`` and the projects' READMEs. Each is shrunk by
``lt_det.testing.tiny_recipe``: data swapped for LT-Images tiny / LT-Shapes tiny, 32x32 or
64x64 inputs, no pretrained weights, one iteration per stage. Architectures (ResNet-152,
Mask R-CNN R50-FPN, ...), losses, samplers, heads and tricks are the recipe's own. Nothing is
skipped.

To keep the suite short, recipes that differ only in what a stage can switch (the loss, the
sampler, the LR schedule) and that keep the classifier's shape share one run: the first
recipe's config starts it and each other one takes over at its own stage boundary, so its
loss, sampler and schedule are built and trained on. Recipes with their own ``LT.STAGES``
each get a run of their own. Identical tiny configs (a docs command that is a shipped
config) run once.
"""
import glob
import os
import re
import shlex
from collections import OrderedDict

import pytest

from lt_det.config import get_lt_cfg
from lt_det.engine.ablation import load_ablation
from lt_det.engine.stage_schedule import SOLVER_SCHEDULE_KEYS, _flatten
from lt_det.testing import is_classification, load_recipe, tiny_recipe

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Keys a stage may switch that a shared run switches between its recipes.
SWITCHABLE = ("MODEL.LT.LOSS.", "DATALOADER.") + SOLVER_SCHEDULE_KEYS
DOCS = ["README.md", "tools/README.md"] + sorted(glob.glob("docs/*.md", root_dir=REPO)) + sorted(
    glob.glob("projects/*/README.md", root_dir=REPO)
)
# Command-line flags of tools/train_net.py and whether each takes a value.
FLAGS = {"--num-gpus": True, "--num-machines": True, "--machine-rank": True, "--dist-url": True,
         "--resume": False}


# Partial bases that cannot run alone (each child config adds what they lack); their
# children run here.
PARTIAL_BASES = {
    # Decoupled Optimisation's shared keys; its 2-4 stages come from each data set's config.
    "projects/DecoupledOptimisation/configs/Base-DO.yaml",
}


def _config_files():
    found = glob.glob("configs/**/*.yaml", root_dir=REPO, recursive=True)
    found += glob.glob("projects/**/configs/*.yaml", root_dir=REPO, recursive=True)
    return sorted(f for f in found if f not in PARTIAL_BASES)


def _doc_commands():
    """``(label, config, opts)`` of each train_net command with a real config in the docs."""
    out = []
    for doc in DOCS:
        text = open(os.path.join(REPO, doc)).read().replace("\\\n", " ")
        for line in text.splitlines():
            m = re.search(r"train_net\.py\s+--config-file\s+(.*)", line)
            if not m or "--eval-only" in line:
                continue  # eval-only commands evaluate given weights, they train nothing
            words = shlex.split(m.group(1).split("`")[0], comments=True)
            config, rest = words[0], words[1:]
            if not os.path.isfile(os.path.join(REPO, config)):
                continue  # a placeholder such as CONFIG
            opts, i = [], 0
            while i < len(rest):
                if rest[i] in FLAGS:
                    i += 2 if FLAGS[rest[i]] else 1
                elif rest[i] == "...":
                    i += 1
                else:
                    opts.append(rest[i])
                    i += 1
            out.append((f"{doc}: {config} {' '.join(opts)}".strip(), config, opts))
    return out


def _ablation_rows():
    out = []
    for path in sorted(glob.glob("projects/*/ablation*.yaml", root_dir=REPO)):
        cwd = os.getcwd()
        os.chdir(REPO)  # bases and row configs are relative to the repository root
        try:
            ab = load_ablation(path)
        finally:
            os.chdir(cwd)
        for combo in ab.combinations:
            config = os.path.relpath(os.path.join(REPO, combo.config or ab.base), REPO)
            out.append((f"{path}: {combo.name}", config, [str(x) for x in ab.opts + combo.opts]))
    return out


def all_recipes():
    """``(label, config, opts)`` of every recipe (module docstring)."""
    return [(p, p, []) for p in _config_files()] + _doc_commands() + _ablation_rows()


def _logit_kind(cfg):
    """How many logits the recipe's loss asks of the classifier (a shared run keeps it)."""
    from detectron2.data import DatasetCatalog

    from lt_det.data.class_stats import class_stats_from_metadata
    from lt_det.losses import build_loss

    DatasetCatalog.get(cfg.DATASETS.TRAIN[0])  # generated sets put their statistics in metadata
    stats = class_stats_from_metadata(cfg.DATASETS.TRAIN)
    return build_loss(cfg, stats.num_classes, not is_classification(cfg), stats).num_logits()


def _tiny(config, opts):
    cfg = load_recipe(os.path.join(REPO, config), opts)
    return tiny_recipe(cfg, output_dir="unused")


def group_recipes(recipes):
    """``[[(label, tiny cfg), ...], ...]``: the runs (module docstring), first member first."""
    groups = OrderedDict()
    for label, config, opts in recipes:
        cfg = _tiny(config, opts)
        flat = _flatten(cfg)
        flat.pop("OUTPUT_DIR")
        if cfg.LT.STAGES:
            key = ("own stages", repr(sorted(flat.items())))
        else:
            fixed = {k: v for k, v in flat.items() if not k.startswith(SWITCHABLE)}
            key = ("shared", repr(sorted(fixed.items())), _logit_kind(cfg))
        members = groups.setdefault(key, OrderedDict())
        dump = repr(sorted(flat.items()))
        members.setdefault(dump, (label, cfg))  # identical tiny configs run once
    return [list(m.values()) for m in groups.values()]


def shared_run_cfg(members, output_dir):
    """One config for a group: member 0's, then member j's switchable keys from stage j."""
    base = members[0][1]
    cfg = base.clone()
    cfg.defrost()
    stages, prev = [], _flatten(base)
    for j, (label, member) in enumerate(members[1:], start=1):
        flat = _flatten(member)
        overrides = []
        for key in sorted(flat):
            if key.startswith(SWITCHABLE) and flat[key] != prev[key]:
                overrides += [key, flat[key]]
        stages.append({"NAME": f"recipe{j}", "START_ITER": j, "OVERRIDES": overrides})
        prev = flat
    cfg.LT.STAGES = stages
    cfg.SOLVER.MAX_ITER = len(members)
    cfg.OUTPUT_DIR = output_dir
    return cfg


RECIPES = all_recipes()
RUNS = group_recipes(RECIPES)


def test_every_shipped_config_and_documented_recipe_is_covered():
    labels = [label for run in RUNS for label, _ in run]
    files = _config_files()
    assert len(files) >= 100 and any(f.endswith("cls_resnet32_crt_230ep_if100.yaml") for f in files)
    # Every config file is in a run (or is identical, once shrunk, to one that is).
    assert len(RECIPES) > len(files) > 0
    assert sum(len(run) for run in RUNS) <= len(RECIPES)
    assert any("ablation_lt_images.yaml: DRW" in label for label in labels)
    assert any(label.startswith("docs/tricks.md:") for label in labels)


@pytest.mark.parametrize("run", RUNS, ids=lambda run: run[0][0] + (f" (+{len(run) - 1})" if len(run) > 1 else ""))
def test_recipe_trains_across_its_stage_boundaries(run, tmp_path):
    from lt_det.engine import LTTrainer

    if len(run) == 1:
        cfg = tiny_recipe(run[0][1], str(tmp_path), iters_per_stage=1, cache_dir=str(tmp_path / "cam_bs"))
    else:
        cfg = shared_run_cfg(run, str(tmp_path))
    cfg.freeze()
    trainer = LTTrainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    assert trainer.iter == cfg.SOLVER.MAX_ITER  # detectron2 counts past the last iteration
    if cfg.LT.STAGES:  # the stage hook logs the stage in force (1-based): the last one
        assert trainer.storage.history("lt_stage").latest() == len(cfg.LT.STAGES)
