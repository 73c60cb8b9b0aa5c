#!/usr/bin/env python
"""Class-frequency summary of any registered data set, with a long-tail histogram plot.

    tools/analyze_dataset.py lt_shapes_train [--output-dir output/analysis]
    tools/analyze_dataset.py lvis_v1_train --top 20

Prints the number of classes per frequency group (LVIS r/c/f by training images; many /
medium / few for classification), the head/tail ratio and the most and least frequent
classes, and writes ``<name>_class_hist.png`` (images per class, sorted, log scale, bands
coloured by group) and ``<name>_class_stats.csv``.
"""
import argparse
import csv
import os
import sys

import numpy as np
from detectron2.data import DatasetCatalog, MetadataCatalog

import lt_det  # noqa: F401  (registers lt_det's data sets)
from lt_det.data.class_stats import class_stats_from_metadata

GROUP_COLOURS = {"r": "tab:red", "c": "tab:orange", "f": "tab:blue"}
GROUP_NAMES = {"r": "rare (1-10 images)", "c": "common (11-100)", "f": "frequent (>100)"}


def summarize(name: str, top: int = 10) -> str:
    stats = class_stats_from_metadata([name])
    classes = MetadataCatalog.get(name).thing_classes
    counts = stats.image_count
    lines = [f"{name}: {stats.num_images} images, {stats.num_classes} classes, "
             f"{int(stats.instance_count.sum())} instances"]
    for g in "rcf":
        n = sum(1 for x in stats.frequency if x == g)
        lines.append(f"  {GROUP_NAMES[g]:<22} {n:>6} classes")
    nonzero = counts[counts > 0]
    if len(nonzero):
        lines.append(f"  images per class: max {counts.max()}, median {int(np.median(counts))}, "
                     f"min {counts.min()}; head/tail ratio {counts.max() / nonzero.min():.1f}")
    lines.append(f"  classes without training images: {int((counts == 0).sum())}")
    order = np.argsort(-counts, kind="stable")
    lines.append("  most frequent:  " + ", ".join(f"{classes[i]} ({counts[i]})" for i in order[:top]))
    lines.append("  least frequent: " + ", ".join(f"{classes[i]} ({counts[i]})" for i in order[::-1][:top]))
    return "\n".join(lines)


def write_outputs(name: str, output_dir: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = class_stats_from_metadata([name])
    classes = MetadataCatalog.get(name).thing_classes
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, f"{name}_class_stats.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["class_id", "name", "frequency", "image_count", "instance_count"])
        for i, cname in enumerate(classes):
            w.writerow([i, cname, stats.frequency[i], int(stats.image_count[i]), int(stats.instance_count[i])])
    order = np.argsort(-stats.image_count, kind="stable")
    fig, ax = plt.subplots(figsize=(10, 4))
    colours = [GROUP_COLOURS[stats.frequency[i]] for i in order]
    ax.bar(np.arange(len(order)), np.maximum(stats.image_count[order], 0.8), color=colours, width=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("class rank (sorted by training images)")
    ax.set_ylabel("training images")
    ax.set_title(f"{name}: long-tail class distribution")
    for g in "fcr":
        ax.bar([], [], color=GROUP_COLOURS[g], label=GROUP_NAMES[g])
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(output_dir, f"{name}_class_hist.png"), dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="a registered data set name, e.g. lt_shapes_train")
    parser.add_argument("--output-dir", default="output/analysis")
    parser.add_argument("--top", type=int, default=10, help="how many head/tail classes to list")
    args = parser.parse_args(argv)
    if args.dataset not in DatasetCatalog.list():
        parser.error(f"unknown data set {args.dataset!r}; registered: "
                     + ", ".join(n for n in DatasetCatalog.list() if not n.startswith("coco")))
    print(summarize(args.dataset, args.top))
    write_outputs(args.dataset, args.output_dir)
    print(f"wrote {args.output_dir}/{args.dataset}_class_hist.png and _class_stats.csv")


if __name__ == "__main__":
    sys.exit(main())
