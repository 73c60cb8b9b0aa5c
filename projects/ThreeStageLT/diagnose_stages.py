#!/usr/bin/env python
"""Train a ThreeStageLT config and record, at the end of every stage, what happened to
one class (by default the sedan, the class stage 2 removes) and its closest confuser.

    OMP_NUM_THREADS=1 python projects/ThreeStageLT/diagnose_stages.py \
        --config-file projects/ThreeStageLT/configs/ltsar_three_stage.yaml \
        --output /tmp/diag [--every 56] [KEY VALUE ...]

The run is the one ``tools/train_net.py`` trains (``LTTrainer``, the config's seed); one
hook is added. It records the label histogram of the batches the model receives in each
stage (from the batches themselves, after the class subset and the sampler) and checks
every training label against the class folder of its file. At the end of each stage
(and every ``--every`` iterations after stage 2) it evaluates, in eval mode, without
changing the run:

* per-class test accuracy and where the test chips of ``--watch`` and ``--pair`` go;
* the same on the training chips (test transform, no augmentation);
* the classifier rows (weight norm, bias) of both classes and the mean pooled-feature
  norm of the training chips;
* a balanced linear probe: a class-weighted multinomial logistic regression fitted to
  convergence (L-BFGS) on the standardised frozen features of the training chips, scored
  on the test chips: how separable the classes are in the features, whatever the head.

Writes ``OUTPUT_DIR/stage_diagnostics.json`` (one record per evaluation) and prints each
record as a ``STAGE_DIAG {json}`` line.
"""
import argparse
import json
import os
import sys
from collections import defaultdict

import torch
from detectron2.config import get_cfg
from detectron2.data import MetadataCatalog
from detectron2.engine import HookBase
from detectron2.utils.env import seed_all_rng

import lt_det  # noqa: F401  (registers lt_det's components)
from lt_det.config import add_lt_config
from lt_det.data.classification.dataset import get_classification_dataset_dicts
from lt_det.engine import LTTrainer
from lt_det.engine.stage_schedule import StageScheduleHook
from lt_det.modeling.freeze import unwrap


@torch.no_grad()
def pooled_features(model, loader):
    """Pooled features ``[N, D]`` and labels ``[N]`` of every batch of ``loader``."""
    feats, labels = [], []
    for batch in loader:
        feats.append(model.extract_features(model.preprocess_image(batch)))
        labels.append(batch.labels)
    return torch.cat(feats), torch.cat(labels)


def balanced_probe(f_train, y_train, f_test, y_test, num_classes, l2=1e-3, max_iter=300):
    """Per-class test accuracy (%) of a class-weighted logistic regression fitted with
    L-BFGS on standardised ``f_train`` (each class weighs 1 / C in the loss)."""
    mu, sd = f_train.mean(0), f_train.std(0) + 1e-6
    x, xt = (f_train - mu) / sd, (f_test - mu) / sd
    counts = torch.bincount(y_train, minlength=num_classes).clamp(min=1).float()
    w = (1.0 / counts)[y_train]
    w = w / w.sum()
    torch.manual_seed(0)
    lin = torch.nn.Linear(x.shape[1], num_classes)
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        ce = torch.nn.functional.cross_entropy(lin(x), y_train, reduction="none")
        loss = (ce * w).sum() + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        pred = lin(xt).argmax(1)
    return per_class_accuracy(pred, y_test, num_classes)


def per_class_accuracy(pred, labels, num_classes):
    return [round(float((pred[labels == c] == c).float().mean()) * 100, 1) for c in range(num_classes)]


class StageDiagnostics(HookBase):
    def __init__(self, cfg, watch: int, pair: int, every: int = 0):
        self.cfg, self.watch, self.pair, self.every = cfg, watch, pair, every
        self.classes = list(MetadataCatalog.get(cfg.DATASETS.TRAIN[0]).thing_classes)
        self.num_classes = len(self.classes)
        self.hist = defaultdict(lambda: torch.zeros(self.num_classes, dtype=torch.long))
        self.full = get_classification_dataset_dicts(cfg.DATASETS.TRAIN)
        self.checked = self.mismatched = 0
        self.records = []

    def before_train(self):
        sh = self.trainer.find_hook(StageScheduleHook)
        stages = sh.stages if sh is not None else []
        self.bounds = [s.start_iter for s in stages] + [self.trainer.max_iter]
        self.names = ["stage1"] + [s.name for s in stages]
        unwrap(self.trainer.model).register_forward_pre_hook(self._record_batch)

    def _stage_of(self, iteration):
        return self.names[sum(iteration >= b for b in self.bounds[:-1])]

    def _record_batch(self, module, args):
        if not module.training:
            return
        batch = args[0]
        for label, image_id in zip(batch.labels.tolist(), batch.image_ids):
            d = self.full[image_id]
            self.checked += 1
            folder = os.path.basename(os.path.dirname(d["file_name"]))
            if d["label"] != label or folder != self.classes[label]:
                self.mismatched += 1
        self.hist[self._stage_of(self.trainer.iter)] += torch.bincount(batch.labels, minlength=self.num_classes)

    def after_step(self):
        it = self.trainer.iter + 1
        periodic = self.every and it % self.every == 0 and len(self.bounds) > 2 and it > self.bounds[1]
        if it in self.bounds or periodic:
            self._evaluate(self._stage_of(it - 1), it)

    @torch.no_grad()
    def _evaluate(self, stage, it):
        model = unwrap(self.trainer.model)
        was_training = model.training
        model.eval()
        try:
            f_te, y_te = pooled_features(model, self.trainer.build_test_loader(self.cfg, self.cfg.DATASETS.TEST[0]))
            # Training chips through the test transform (the test loader of the training set).
            f_tr, y_tr = pooled_features(model, self.trainer.build_test_loader(self.cfg, self.cfg.DATASETS.TRAIN[0]))
            p_te, p_tr = model.classify(f_te).argmax(1), model.classify(f_tr).argmax(1)
        finally:
            model.train(was_training)
        C, w, p = self.num_classes, self.watch, self.pair
        head = model.head
        weight = head.weight if hasattr(head, "weight") else None
        bias = getattr(head, "bias", None)
        rec = {
            "stage": stage,
            "iter": it,
            "batch_label_histogram": self.hist[stage].tolist(),
            "labels_checked": self.checked,
            "labels_mismatched": self.mismatched,
            "test_top1": round(sum(per_class_accuracy(p_te, y_te, C)) / C, 2),
            "test_acc": per_class_accuracy(p_te, y_te, C),
            "test_pred_of_watch": torch.bincount(p_te[y_te == w], minlength=C).tolist(),
            "test_pred_of_pair": torch.bincount(p_te[y_te == p], minlength=C).tolist(),
            "train_acc": per_class_accuracy(p_tr, y_tr, C),
            "train_pred_of_watch": torch.bincount(p_tr[y_tr == w], minlength=C).tolist(),
            "feature_norm_train": round(float(f_tr.norm(dim=1).mean()), 3),
            "watch_pair_mean_distance": round(float((f_tr[y_tr == w].mean(0) - f_tr[y_tr == p].mean(0)).norm()), 3),
            "probe_test_acc": balanced_probe(f_tr, y_tr, f_te, y_te, C),
        }
        if weight is not None:
            rec["row_weight_norm"] = {self.classes[c]: round(float(weight[c].norm()), 3) for c in (w, p)}
        if bias is not None:
            rec["row_bias"] = {self.classes[c]: round(float(bias[c]), 3) for c in (w, p)}
        print("STAGE_DIAG", json.dumps(rec), flush=True)
        self.records.append(rec)
        with open(os.path.join(self.cfg.OUTPUT_DIR, "stage_diagnostics.json"), "w") as f:
            json.dump({"classes": self.classes, "watch": self.classes[w], "pair": self.classes[p],
                       "records": self.records}, f, indent=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config-file", required=True)
    ap.add_argument("--output", required=True, help="OUTPUT_DIR of the run")
    ap.add_argument("--watch", default="c0_sedan", help="class to follow")
    ap.add_argument("--pair", default="c5_motorcycle", help="its confuser")
    ap.add_argument("--every", type=int, default=0, help="also evaluate every N iterations after stage 2")
    ap.add_argument("opts", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    cfg = get_cfg()
    add_lt_config(cfg)
    cfg.merge_from_file(args.config_file)
    cfg.merge_from_list(list(args.opts) + ["OUTPUT_DIR", args.output])
    cfg.freeze()
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    classes = list(MetadataCatalog.get(cfg.DATASETS.TRAIN[0]).thing_classes)
    for name in (args.watch, args.pair):
        if name not in classes:
            sys.exit(f"--watch/--pair {name!r} is not a class of {cfg.DATASETS.TRAIN[0]} ({', '.join(classes)})")
    seed_all_rng(cfg.SEED)  # as detectron2's default_setup in tools/train_net.py
    trainer = LTTrainer(cfg)
    trainer.register_hooks([StageDiagnostics(cfg, classes.index(args.watch), classes.index(args.pair), args.every)])
    trainer.resume_or_load(resume=False)
    trainer.train()


if __name__ == "__main__":
    main()
