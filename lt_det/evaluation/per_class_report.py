"""Per-class AP against training frequency: a CSV table and a plot with the LVIS r/c/f bands.

The long-tail question an aggregate AP hides is *where* a model gains: the plot puts each
class's AP against its number of training images (log scale) with LVIS's rare (1-10 images),
common (11-100) and frequent (> 100) bands shaded and each group's mean AP drawn across its
band.
"""
import csv
import math
import os
from typing import List, Optional, Sequence

import numpy as np

from ..data.class_stats import LVIS_COMMON_MAX, LVIS_RARE_MAX
from .lvis_eval import LVISEvalResult

CSV_FIELDS = ("category_id", "name", "frequency", "image_count", "AP")
_GROUP_COLOURS = {"r": "tab:red", "c": "tab:orange", "f": "tab:blue"}
_GROUP_NAMES = {"r": "rare", "c": "common", "f": "frequent"}


def per_class_rows(result: LVISEvalResult, image_count: Optional[Sequence[float]] = None) -> List[dict]:
    """One row per category: id, name, frequency group, training image count, AP (percent).

    Args:
        result: an LVIS evaluation result.
        image_count: training images per category in ``result.cat_ids`` order, used when the
            ground truth's categories have no ``image_count`` (NaN where unknown).

    AP is NaN for a category without ground truth in the evaluated set.
    """
    counts = np.asarray(result.image_count, dtype=np.float64)
    if image_count is not None and not np.isfinite(counts).all():
        counts = np.asarray(image_count, dtype=np.float64)
        if counts.shape != (len(result.cat_ids),):
            raise ValueError(f"image_count has {counts.size} entries for {len(result.cat_ids)} categories")
    ap = result.per_class_ap() * 100.0
    return [
        {
            "category_id": int(cid),
            "name": name,
            "frequency": freq,
            "image_count": float(n),
            "AP": float(a),
        }
        for cid, name, freq, n, a in zip(result.cat_ids, result.names, result.frequency, counts, ap)
    ]


def write_per_class_csv(rows: List[dict], path: str) -> None:
    """Write ``per_class_rows`` as CSV; unknown counts and undefined AP are empty cells."""
    def cell(key, v):
        if isinstance(v, float):
            if math.isnan(v):
                return ""
            if key == "AP":
                return f"{v:.4f}"
            return str(int(v)) if v.is_integer() else f"{v:.4f}"
        return v

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: cell(k, row[k]) for k in CSV_FIELDS})


def plot_per_class_ap(rows: List[dict], path: str, title: str = "") -> bool:
    """Scatter per-class AP against training image count (log x) with r/c/f bands.

    Classes without a known positive count or without AP are left out. Returns False (and
    writes nothing) when no class can be placed.
    """
    pts = [r for r in rows if r["image_count"] > 0 and not math.isnan(r["AP"])]
    if not pts:
        return False
    # The Agg canvas directly (no pyplot): no global backend switch, no GUI, thread-safe.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.array([r["image_count"] for r in pts])
    ap = np.array([r["AP"] for r in pts])
    groups = [r["frequency"] for r in pts]
    lo, hi = 0.7, max(counts.max() * 1.5, 200.0)
    bands = {"r": (lo, LVIS_RARE_MAX + 0.5), "c": (LVIS_RARE_MAX + 0.5, LVIS_COMMON_MAX + 0.5),
             "f": (LVIS_COMMON_MAX + 0.5, hi)}

    fig = Figure(figsize=(7, 4.2), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for g, (x0, x1) in bands.items():
        ax.axvspan(x0, x1, color=_GROUP_COLOURS[g], alpha=0.08, lw=0)
        ax.text(np.sqrt(x0 * x1), 99, _GROUP_NAMES[g], ha="center", va="top", fontsize=8,
                color=_GROUP_COLOURS[g])
    for g in ("r", "c", "f"):
        sel = np.array([x == g for x in groups])
        if not sel.any():
            continue
        ax.scatter(counts[sel], ap[sel], s=12, color=_GROUP_COLOURS[g], alpha=0.75,
                   label=f"{_GROUP_NAMES[g]} ({sel.sum()} classes, mean AP {ap[sel].mean():.1f})")
        x0, x1 = bands[g]
        ax.hlines(ap[sel].mean(), x0, x1, colors=_GROUP_COLOURS[g], linestyles="--", lw=1.2)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("AP (%)")
    ax.set_title(title or "Per-class AP against training frequency")
    ax.legend(loc="upper left", bbox_to_anchor=(0, 0.93), fontsize=8, frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    return True


def write_per_class_report(
    result: LVISEvalResult,
    output_dir: str,
    *,
    prefix: str = "lvis",
    image_count: Optional[Sequence[float]] = None,
    csv_file: bool = True,
    plot: bool = True,
) -> List[str]:
    """Write ``<prefix>_<iou_type>_per_class_ap.{csv,png}`` into ``output_dir``; returns the paths."""
    rows = per_class_rows(result, image_count)
    written = []
    stem = os.path.join(output_dir, f"{prefix}_{result.iou_type}_per_class_ap")
    if csv_file:
        write_per_class_csv(rows, stem + ".csv")
        written.append(stem + ".csv")
    if plot and plot_per_class_ap(rows, stem + ".png", title=f"{prefix} {result.iou_type}: per-class AP"):
        written.append(stem + ".png")
    return written
