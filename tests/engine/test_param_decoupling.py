"""End to end on the tiny LT-Images set: a 3-stage DO run leaves T sub-models as masks in
one checkpoint, and a run killed mid-stage (inside a pruning phase) resumes to the same
losses."""
import json
import os

import pytest
import torch
from detectron2.engine import hooks

from lt_det.config import get_lt_cfg
from lt_det.engine import LTTrainer, ParamDecouplingHook
from lt_det.engine.param_decoupling import decoupling_plan
from lt_det.modeling import DecoupledClassifier
from lt_det.modeling.param_masks import FREE, PRUNED

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "projects", "DecoupledOptimisation", "configs", "lt_images_tiny_do.yaml")
COUNTS = [60, 21, 11, 7, 5, 4]


def _cfg(out, **extra):
    cfg = get_lt_cfg()
    cfg.merge_from_file(CONFIG)
    cfg.OUTPUT_DIR = str(out)
    cfg.SOLVER.CHECKPOINT_PERIOD = 6  # checkpoints after iterations 5, 11, 17, 23, 29
    for k, v in extra.items():
        cfg.merge_from_list([k, v])
    cfg.freeze()
    return cfg


class LossRecorder(hooks.HookBase):
    def __init__(self):
        self.losses = {}
        self.pruned = {}

    def after_step(self):
        it = self.trainer.iter
        self.losses[it] = self.trainer.storage.history("total_loss").latest()
        self.pruned[it] = self.trainer.model.param_masks.count(PRUNED)


def _train(cfg, resume=False):
    torch.set_num_threads(1)
    t = LTTrainer(cfg)
    rec = LossRecorder()
    t.register_hooks([rec])
    t.resume_or_load(resume=resume)
    t.train()
    return t, rec


def test_plan_groups_and_errors():
    cfg = _cfg("/tmp/unused")
    bounds, groups, gammas = decoupling_plan(cfg, COUNTS)
    assert bounds == [0, 10, 20, 30] and gammas == [-1.0, 0.8]
    assert [g.classes for g in groups] == [(0,), (1, 2), (3, 4, 5)]
    bad = cfg.clone()
    bad.defrost()
    bad.LT.DECOUPLE.MANY_MIN = 100  # no class has >= 100 images: stage 1's group is empty
    with pytest.raises(ValueError, match="Stage 1's class group 'many' has no classes.*LT.DECOUPLE.MANY_MIN"):
        decoupling_plan(bad, COUNTS)
    bad = cfg.clone()
    bad.defrost()
    bad.LT.DECOUPLE.GAMMAS = [0.5, 1.0]
    with pytest.raises(ValueError, match=r"LT.DECOUPLE.GAMMAS.*\[0, 1\)"):
        decoupling_plan(bad, COUNTS)
    bad = cfg.clone()
    bad.defrost()
    bad.MODEL.LT.LOSS.COMPENSATION.RHO = 1.5
    with pytest.raises(ValueError, match=r"MODEL.LT.LOSS.COMPENSATION.RHO must lie in \(0, 1\)"):
        decoupling_plan(bad, COUNTS)


def test_run_leaves_three_submodels_and_resumes_to_the_same_losses(tmp_path):
    # Identity training transform: lt_det's random crops draw from torch's global RNG, which
    # checkpoints do not hold, so only DO's own state (masks, gammas, seeded group loaders
    # and re-initialisation) is under test here.
    cfg = _cfg(tmp_path, **{"LT.CLS_INPUT.TRAIN_TRANSFORM": "Identity"})
    t, rec = _train(cfg)
    model = t.model
    assert isinstance(model, DecoupledClassifier)
    masks = model.param_masks
    assert int(masks.stages_done) == 3
    # Every element belongs to one sub-model; the per-layer pruning kept round(50%) in
    # stage 1 (gamma from the scan may differ) and 20% of the rest in stage 2.
    assert masks.count(FREE) == 0 and masks.count(PRUNED) == 0
    total = masks.count()
    assert masks.count(1) + masks.count(2) + masks.count(3) == total
    g1 = float(masks.gammas[0])
    assert 0.0 <= g1 <= 0.9 and float(masks.gammas[1]) == pytest.approx(0.8)
    assert masks.count(1) == pytest.approx((1 - g1) * total, rel=0.02)
    assert masks.count(2) == pytest.approx(0.2 * (total - masks.count(1)), rel=0.05)
    # Pruning happened in the phases: before 6 nothing, 2 steps at 6 and 8 (stage 1), at 16, 18.
    # (the scan may choose gamma_best = 0 in stage 1; stage 2's 0.8 always prunes)
    assert rec.pruned[5] == 0 and (rec.pruned[7] > 0 or g1 == 0) and rec.pruned[9] >= rec.pruned[7]
    assert rec.pruned[15] == 0 and 0 < rec.pruned[17] <= rec.pruned[19]
    assert rec.pruned[10] == 0  # stage 2 starts with the pruned elements freed
    # One checkpoint holds the masks (int8 buffers), the outputs of the run exist.
    sd = torch.load(tmp_path / "model_final.pth", weights_only=False)["model"]
    assert any(k.startswith("param_masks.owner__") for k in sd) and int(sd["param_masks.stages_done"]) == 3
    res = t._last_eval_results
    assert 0 <= res["classification"]["top1"] <= 100
    lam = res["aggregation"]
    assert set(lam) >= {"medium_lambda1", "few_lambda3"}  # the evaluator groups by > 100 / < 20: no many class here
    assert sum(lam[f"few_lambda{i}"] for i in (1, 2, 3)) == pytest.approx(1.0, abs=1e-5)
    for f in ("do_decoupling.json", "do_importance_per_group.png", "do_gamma_scan_stage1.png"):
        assert (tmp_path / f).is_file(), f
    summary = json.loads((tmp_path / "do_decoupling.json").read_text())
    assert [s["group"] for s in summary["stages"]] == ["many", "medium", "few"]

    # EVAL_SUBMODEL = t: sub-model t alone, equal to the masked forward; sub-model 3 is the
    # whole network.
    model.eval()
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    from lt_det.data.classification.batch import ImageBatch

    batch = ImageBatch(images=x, labels=torch.zeros(4, dtype=torch.long), indices=torch.arange(4))
    with torch.no_grad():
        full = torch.softmax(model.classify(model.extract_features(model.preprocess_image(batch))), -1)
        model.eval_submodel = 3
        out = model(batch)
        assert torch.allclose(torch.stack([o["scores"] for o in out]), full, atol=1e-6)
        assert out[0]["aggregation_weights"].tolist() == [0.0, 0.0, 1.0]
        model.eval_submodel = 0

    # Kill after iteration 17 (inside stage 2's pruning phase: steps at 16 and 18) and resume.
    os.remove(tmp_path / "model_final.pth")
    (tmp_path / "last_checkpoint").write_text("model_0000017.pth")
    t2, rec2 = _train(cfg, resume=True)
    assert t2.start_iter == 18
    for it in range(18, 30):
        assert rec2.losses[it] == pytest.approx(rec.losses[it], rel=1e-5, abs=1e-6), it
        assert rec2.pruned[it] == rec.pruned[it], it
    for n in masks.param_names:
        assert torch.equal(t2.model.param_masks.owner(n), masks.owner(n)), n


def test_hook_found_by_type(tmp_path):
    t = LTTrainer(_cfg(tmp_path))
    assert sum(isinstance(h, ParamDecouplingHook) for h in t._hooks) == 1
