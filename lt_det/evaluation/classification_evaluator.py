"""Evaluator of long-tailed image classification (metadata ``evaluator_type="lt_classification"``).

Reports, in percent, top-1 and top-5 accuracy over the test images, the mean of per-class
accuracies, and the mean per-class accuracy of the many-shot (> 100 training images),
medium-shot (20-100) and few-shot (< 20) classes (cut-offs: ``LT.EVAL.SHOT_SPLIT``), the split of Liu et al. (CVPR 2019) that
the long-tail literature reports. Training counts are those of ``cfg.DATASETS.TRAIN``
(its metadata's class statistics), never of the test set. It also writes a per-class CSV
and a plot of per-class accuracy against training count.

It evaluates whatever model it is given (detectron2 runs it on the final model); it never
picks a checkpoint.
"""
import csv
import logging
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from detectron2.data import MetadataCatalog
from detectron2.evaluation import DatasetEvaluator
from detectron2.utils import comm

from ..data.classification.batch import ImageBatch
from ..data.classification.dataset import classification_class_stats
from .build import register_evaluator

logger = logging.getLogger(__name__)

# Shot groups by training images per class (Liu et al., 2019): few < 20 <= medium <= 100 <
# many; LT.EVAL.SHOT_SPLIT changes the two cut-offs (small sets, multi-stage recipes).
SHOT_SPLIT = (20, 100)
TOPK = 5


def check_shot_split(split: Sequence[int]) -> Tuple[int, int]:
    """``(few_below, many_above)`` as ints, or a one-line error naming the key."""
    if len(split) != 2 or not 0 < int(split[0]) <= int(split[1]) + 1:
        raise ValueError(
            f"LT.EVAL.SHOT_SPLIT must be (few_below, many_above) with 0 < few_below <= "
            f"many_above + 1 (few: n < few_below, many: n > many_above), got {tuple(split)}"
        )
    return int(split[0]), int(split[1])


def shot_group(train_count: int, split: Sequence[int] = SHOT_SPLIT) -> str:
    """'many' (> split[1] training images), 'medium' or 'few' (< split[0]); Liu et al.'s
    default split (20, 100): many > 100, medium 20-100, few < 20."""
    few_below, many_above = split
    if train_count > many_above:
        return "many"
    if train_count >= few_below:
        return "medium"
    return "few"


def classification_metrics(
    labels: np.ndarray, topk: np.ndarray, train_counts: Sequence[int],
    shot_split: Sequence[int] = SHOT_SPLIT,
) -> Dict[str, object]:
    """Metrics from ground truth and the top-k predictions of each test image.

    Args:
        labels: ``[N]`` ground-truth labels.
        topk: ``[N, k]`` predicted labels, best first (k >= 1).
        train_counts: training images per class, ``[C]``.
        shot_split: ``(few_below, many_above)`` cut-offs of the shot groups.

    Returns:
        ``metrics`` (top1, top5, mean_class_acc, many, medium, few, in percent; NaN where a
        group has no class with test images) and ``per_class`` rows.
    """
    counts = np.asarray(train_counts, dtype=np.int64)
    num_classes = len(counts)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    topk = np.asarray(topk, dtype=np.int64).reshape(len(labels), -1) if labels.size else np.zeros((0, 1), np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"Test labels fall outside the {num_classes} training classes")
    correct1 = topk[:, 0] == labels if labels.size else np.zeros(0, bool)
    correct5 = (topk[:, :TOPK] == labels[:, None]).any(1) if labels.size else np.zeros(0, bool)
    num_test = np.bincount(labels, minlength=num_classes)
    num_correct = np.bincount(labels, weights=correct1, minlength=num_classes).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        class_acc = np.where(num_test > 0, num_correct / np.maximum(num_test, 1), np.nan)
    split = check_shot_split(shot_split)
    groups = [shot_group(int(n), split) for n in counts]

    def pct(x):
        return float(100.0 * x) if np.isfinite(x) else float("nan")

    def mean_over(mask):
        vals = class_acc[mask & (num_test > 0)]
        return pct(vals.mean()) if vals.size else float("nan")

    g = np.asarray(groups)
    metrics = OrderedDict(
        top1=pct(correct1.mean()) if labels.size else float("nan"),
        top5=pct(correct5.mean()) if labels.size else float("nan"),
        mean_class_acc=mean_over(np.ones(num_classes, bool)),
        many=mean_over(g == "many"),
        medium=mean_over(g == "medium"),
        few=mean_over(g == "few"),
    )
    per_class = [
        {
            "class_id": c,
            "train_count": int(counts[c]),
            "group": groups[c],
            "num_test": int(num_test[c]),
            "num_correct": int(num_correct[c]),
            "accuracy": pct(class_acc[c]),
        }
        for c in range(num_classes)
    ]
    return {"metrics": metrics, "per_class": per_class}


def mean_weights_per_group(labels: np.ndarray, weights: np.ndarray, train_counts: Sequence[int]) -> Dict[str, float]:
    """Mean aggregation weight lambda_t of the test images of each shot group (the test
    images' classes' training counts), as ``{"<group>_lambda<t>": mean}`` (t from 1)."""
    groups = np.asarray([shot_group(int(n)) for n in train_counts])[np.asarray(labels, dtype=np.int64)]
    out = OrderedDict()
    for g in ("many", "medium", "few"):
        sel = groups == g
        if sel.any():
            for t, v in enumerate(weights[sel].mean(0), start=1):
                out[f"{g}_lambda{t}"] = float(v)
    return out


def write_per_class_csv(per_class: List[dict], class_names: Sequence[str], path: str) -> None:
    """One row per class: id, name, training count, group, test images, correct, accuracy (%)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["class_id", "name", "train_count", "group", "num_test", "num_correct", "accuracy"])
        for row, name in zip(per_class, class_names):
            w.writerow([
                row["class_id"], name, row["train_count"], row["group"], row["num_test"],
                row["num_correct"], f"{row['accuracy']:.4f}",
            ])


def plot_per_class_accuracy(per_class: List[dict], metrics: Dict[str, float], path: str,
                            shot_split: Sequence[int] = SHOT_SPLIT) -> None:
    """Scatter of per-class accuracy against training count (log x), shot boundaries marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in per_class if r["num_test"] > 0]
    fig, ax = plt.subplots(figsize=(7, 4))
    colours = {"many": "tab:blue", "medium": "tab:orange", "few": "tab:red"}
    for group, colour in colours.items():
        sel = [r for r in rows if r["group"] == group]
        ax.scatter(
            [max(r["train_count"], 0.8) for r in sel], [r["accuracy"] for r in sel], s=12,
            c=colour, label=f"{group}: {metrics[group]:.1f}%", alpha=0.8,
        )
    ax.axvline(shot_split[0] - 0.5, color="grey", ls="--", lw=0.8)
    ax.axvline(shot_split[1] + 0.5, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(-3, 103)
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"per-class accuracy (top-1 {metrics['top1']:.1f}%, mean {metrics['mean_class_acc']:.1f}%)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


class LTClassificationEvaluator(DatasetEvaluator):
    """Top-1/top-5 and many/medium/few accuracy of a classifier (see the module docstring).

    ``process`` takes the loader's batch (an ``ImageBatch`` or a list of dicts with
    ``"label"``) and the model's outputs (one ``{"scores": [C]}`` per image); only the
    top-5 predictions of each image are kept, so memory does not grow with C.

    Args:
        dataset_name: the test set (for its class names).
        train_counts: training images per class (the many/medium/few split).
        shot_split: ``(few_below, many_above)``: few < few_below <= medium <= many_above <
            many (``LT.EVAL.SHOT_SPLIT``, default (20, 100)).
        output_dir: where to write ``per_class_accuracy.csv`` and ``.png`` (None: nowhere).
        write_csv, write_plot: whether to write them.
    """

    def __init__(
        self,
        dataset_name: str,
        train_counts: Sequence[int],
        output_dir: Optional[str] = None,
        write_csv: bool = True,
        write_plot: bool = True,
        shot_split: Sequence[int] = SHOT_SPLIT,
    ):
        self.dataset_name = dataset_name
        self.train_counts = [int(n) for n in train_counts]
        self.shot_split = check_shot_split(shot_split)
        self.output_dir = output_dir
        self.write_csv = write_csv
        self.write_plot = write_plot
        names = MetadataCatalog.get(dataset_name).get("thing_classes")
        if names is not None and len(names) != len(self.train_counts):
            raise ValueError(
                f"{dataset_name!r} has {len(names)} classes but the training counts cover "
                f"{len(self.train_counts)}; evaluate on a test set of the training set's classes"
            )
        self.class_names = list(names) if names is not None else [str(i) for i in range(len(self.train_counts))]
        self.reset()

    @classmethod
    def from_cfg(cls, cfg, dataset_name: str, output_dir: Optional[str]):
        if not len(cfg.DATASETS.TRAIN):
            raise ValueError("lt_classification needs cfg.DATASETS.TRAIN for the many/medium/few split")
        stats = classification_class_stats(cfg.DATASETS.TRAIN)
        return cls(
            dataset_name,
            stats.image_count,
            output_dir=output_dir,
            write_csv=cfg.LT.EVAL.PER_CLASS_CSV,
            write_plot=cfg.LT.EVAL.PLOTS,
            shot_split=cfg.LT.EVAL.SHOT_SPLIT,
        )

    def reset(self):
        self._labels: List[np.ndarray] = []
        self._topk: List[np.ndarray] = []
        self._weights: List[np.ndarray] = []  # per-image aggregation weights, when the model gives them

    def process(self, inputs, outputs):
        if len(outputs) == 0:
            return
        if isinstance(inputs, ImageBatch):
            labels = inputs.labels.numpy()
        else:
            labels = np.asarray([int(x["label"]) for x in inputs], dtype=np.int64)
        scores = torch.stack([o["scores"] for o in outputs])
        k = min(TOPK, scores.shape[1])
        self._labels.append(labels)
        self._topk.append(scores.topk(k, dim=1).indices.cpu().numpy())
        if "aggregation_weights" in outputs[0]:
            self._weights.append(torch.stack([o["aggregation_weights"] for o in outputs]).cpu().numpy())

    def evaluate(self):
        labels = comm.gather(self._labels, dst=0)
        topk = comm.gather(self._topk, dst=0)
        weights = comm.gather(self._weights, dst=0)
        if not comm.is_main_process():
            return {}
        labels = [x for part in labels for x in part]
        topk = [x for part in topk for x in part]
        if not labels:
            logger.warning("[lt_classification] %s: no predictions were processed", self.dataset_name)
            return {}
        result = classification_metrics(np.concatenate(labels), np.concatenate(topk), self.train_counts, self.shot_split)
        metrics, per_class = result["metrics"], result["per_class"]
        if self.output_dir:
            os.makedirs(self.output_dir, exist_ok=True)
            if self.write_csv:
                write_per_class_csv(per_class, self.class_names, os.path.join(self.output_dir, "per_class_accuracy.csv"))
            if self.write_plot:
                plot_per_class_accuracy(per_class, metrics, os.path.join(self.output_dir, "per_class_accuracy.png"),
                                        self.shot_split)
        groups = {g: sum(r["group"] == g for r in per_class) for g in ("many", "medium", "few")}
        logger.info(
            "[lt_classification] %s: %d test images; classes per group: %s",
            self.dataset_name, sum(len(x) for x in labels), groups,
        )
        out = OrderedDict(classification=dict(metrics))
        weights = [x for part in weights for x in part]
        if weights:
            out["aggregation"] = mean_weights_per_group(np.concatenate(labels), np.concatenate(weights), self.train_counts)
            logger.info("[lt_classification] mean aggregation weights per group: %s", out["aggregation"])
        return out


# The evaluator under a descriptive name (the registry key is the metadata's evaluator_type).
register_evaluator("lt_classification", LTClassificationEvaluator)
