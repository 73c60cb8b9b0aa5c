"""The run summary written at the end of training: metrics file, printed table and plot."""
import json
import logging
import os
from typing import Dict, Mapping

logger = logging.getLogger(__name__)

# Printed first for each task when present, in this order.
HEADLINE_KEYS = ("AP", "APr", "APc", "APf", "AP50", "top1", "many", "medium", "few")


def atomic_write_json(obj, path: str) -> None:
    """Write JSON through a temporary file so a crash never leaves half a file."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2)
        os.replace(tmp, path)
    except OSError as e:
        # A full disk fails in write(), whose error names no file: name the one meant.
        if os.path.exists(tmp):
            os.remove(tmp)
        if e.filename is None:
            e.filename = path
        raise


def flatten_results(results: Mapping) -> Dict[str, Dict[str, float]]:
    """detectron2 results ({dataset: {task: {metric: v}}} or {task: {...}}) -> {label: {...}}."""
    flat: Dict[str, Dict[str, float]] = {}

    def walk(prefix, node):
        if all(isinstance(v, (int, float)) for v in node.values()):
            flat[prefix or "results"] = {k: float(v) for k, v in node.items()}
            return
        for k, v in node.items():
            if isinstance(v, Mapping):
                walk(f"{prefix}/{k}" if prefix else k, v)

    walk("", results)
    return flat


def headline(metrics: Mapping[str, float]) -> str:
    keys = [k for k in HEADLINE_KEYS if k in metrics]
    return "  ".join(f"{k}={metrics[k]:.2f}" for k in keys)


def read_training_metrics(output_dir: str):
    """Rows of detectron2's ``metrics.json`` (one JSON object per line)."""
    path = os.path.join(output_dir, "metrics.json")
    rows = []
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue
    return rows


def plot_summary(flat: Mapping[str, Mapping[str, float]], output_dir: str, path: str) -> None:
    """Training loss curve and the headline metrics of each task, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in read_training_metrics(output_dir) if "total_loss" in r]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    if rows:
        axes[0].plot([r["iteration"] for r in rows], [r["total_loss"] for r in rows])
        axes[0].set_yscale("log")
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("total loss")
    axes[0].set_title("training loss")
    width = 0.8 / max(len(flat), 1)
    for i, (label, metrics) in enumerate(flat.items()):
        keys = [k for k in HEADLINE_KEYS if k in metrics]
        xs = [j + i * width for j in range(len(keys))]
        bars = axes[1].bar(xs, [metrics[k] for k in keys], width=width, label=label)
        axes[1].bar_label(bars, fmt="%.1f", fontsize=7)
        axes[1].set_xticks([j + (len(flat) - 1) * width / 2 for j in range(len(keys))], keys)
    axes[1].set_ylabel("score (%)")
    axes[1].set_title("final evaluation")
    if flat:
        axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_final_report(results: Mapping, output_dir: str, plot: bool = True) -> Dict[str, Dict[str, float]]:
    """Write ``metrics_final.json`` (+ ``summary.png``) and log the headline metrics."""
    os.makedirs(output_dir, exist_ok=True)
    flat = flatten_results(results)
    atomic_write_json(results, os.path.join(output_dir, "metrics_final.json"))
    for label, metrics in flat.items():
        logger.info(f"[lt_det] {label}: {headline(metrics)}")
        print(f"[lt_det] {label}: {headline(metrics)}", flush=True)
    if plot:
        plot_summary(flat, output_dir, os.path.join(output_dir, "summary.png"))
    return flat
