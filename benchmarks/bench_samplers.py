#!/usr/bin/env python
"""lt_det's samplers against detectron2's RepeatFactorTrainingSampler on the same data.

    .venv/bin/python benchmarks/bench_samplers.py                          # 1,000,000 images
    .venv/bin/python benchmarks/bench_samplers.py --num-images 100000 --repeats 1   # quick

Data (generated, fixed seed): detection dicts in detectron2 format, --num-images images with
--anns-per-image annotations each over --num-classes classes, class of each annotation drawn
from a Zipf law p_c ∝ 1 / (c + 1) (LVIS-like long tail). Random over-/under-sampling are
also run on a classification set shaped like iNaturalist 2018 (--num-classes classes,
n_c = 1000 * (1/500)^(c / (C - 1)) samples), beside detectron2 on the same samples written as
one-annotation detection dicts.

Measured (best of --repeats, one process, torch and numpy on one thread):
  build - detectron2: ``repeat_factors_from_category_frequency`` + the sampler's constructor;
          lt_det: the sampler's constructor from the dicts (class index + weights / factors)
  draw  - the first --draws indices of a fresh iterator (its first epoch / blocks included)
  mem   - peak traced memory (tracemalloc) while building, at 1/4, 1/2 and all of the images,
          per image: linear memory keeps it constant
Ratios are detectron2 / lt_det for times (higher is better for lt_det).
"""
import argparse
import gc
import time
import tracemalloc
from itertools import islice

import numpy as np
import torch


def detection_dicts(num_images, anns, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, num_classes + 1)
    p /= p.sum()
    cats = rng.choice(num_classes, size=(num_images, anns), p=p).tolist()
    return [
        {"image_id": i, "height": 480, "width": 640,
         "annotations": [{"category_id": c, "bbox": [0.0, 0.0, 10.0, 10.0], "bbox_mode": 1} for c in row]}
        for i, row in enumerate(cats)
    ]


def classification_dicts(num_classes, n_max=1000, imbalance=500, seed=0):
    counts = np.floor(n_max * (1.0 / imbalance) ** (np.arange(num_classes) / max(num_classes - 1, 1))).astype(int)
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(num_classes), counts))
    return [{"image_id": i, "label": int(y)} for i, y in enumerate(labels.tolist())]


def best_time(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def draw(sampler, n):
    it = iter(sampler)
    for _ in islice(it, n):
        pass


def peak_mb(fn):
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    obj = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del obj
    return peak / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-images", type=int, default=1_000_000)
    ap.add_argument("--anns-per-image", type=int, default=3)
    ap.add_argument("--num-classes", type=int, default=8142)
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--repeat-thresh", type=float, default=0.001)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from detectron2.data.samplers import RepeatFactorTrainingSampler as D2RFS

    from lt_det.data.samplers import (
        ClassAwareSampler,
        GroupPreferredSampler,
        ProgressiveSampler,
        QPowerSampler,
        RandomOverSampler,
        RandomUnderSampler,
        RepeatFactorSampler,
    )

    kw = {"seed": 0, "rank": 0, "world_size": 1}
    t = args.repeat_thresh
    ours_det = {
        "RepeatFactorSampler (stochastic)": lambda d: RepeatFactorSampler(d, repeat_thresh=t, **kw),
        "RepeatFactorSampler (ceil)": lambda d: RepeatFactorSampler(d, repeat_thresh=t, rounding="ceil", **kw),
        "ClassAwareSampler": lambda d: ClassAwareSampler(d, **kw),
        "QPowerSampler (q=0.5)": lambda d: QPowerSampler(d, q=0.5, **kw),
        "ProgressiveSampler": lambda d: ProgressiveSampler(d, total=90000, unit="iter", ims_per_batch=16, **kw),
        "GroupPreferredSampler": lambda d: GroupPreferredSampler(d, rho=0.8, **kw),
        "RandomUnderSampler": lambda d: RandomUnderSampler(d, **kw),
    }
    ours_cls = {
        "RandomOverSampler": lambda d: RandomOverSampler(d, **kw),
        "RandomUnderSampler": lambda d: RandomUnderSampler(d, **kw),
        "QPowerSampler (q=0)": lambda d: QPowerSampler(d, q=0.0, **kw),
    }

    def d2_build(d):
        return D2RFS(D2RFS.repeat_factors_from_category_frequency(d, t, sqrt=True), seed=0)

    def compare(title, dicts, d2_dicts, ours):
        print(f"\n== {title}")
        d2_bt, d2s = best_time(lambda: d2_build(d2_dicts), args.repeats)
        d2_dt, _ = best_time(lambda: draw(d2s, args.draws), args.repeats)
        rate = args.draws / d2_dt
        print(f"{'sampler':36s} {'build s':>9s} {'x d2':>7s} {'draw s':>9s} {'idx/s':>12s} {'x d2':>7s}")
        print(f"{'detectron2 RepeatFactorTrainingSampler':36s} {d2_bt:9.3f} {1:7.2f} {d2_dt:9.3f} {rate:12,.0f} {1:7.2f}")
        for name, build in ours.items():
            bt, s = best_time(lambda: build(dicts), args.repeats)
            dt, _ = best_time(lambda: draw(s, args.draws), args.repeats)
            print(f"{name:36s} {bt:9.3f} {d2_bt / bt:7.2f} {dt:9.3f} {args.draws / dt:12,.0f} {d2_dt / dt:7.2f}")
        return d2s

    t0 = time.perf_counter()
    det = detection_dicts(args.num_images, args.anns_per_image, args.num_classes)
    print(f"{args.num_images:,} detection images x {args.anns_per_image} annotations, {args.num_classes} classes "
          f"(generated in {time.perf_counter() - t0:.1f} s); drawing {args.draws:,} indices; t = {t}")
    ours_f = RepeatFactorSampler(det, repeat_thresh=t, **kw).factors.astype(np.float32)
    d2_f = D2RFS.repeat_factors_from_category_frequency(det, t, sqrt=True).numpy()
    print(f"repeat factors identical to detectron2's: {np.array_equal(ours_f, d2_f)} "
          f"(mean {d2_f.mean():.4f}, max {d2_f.max():.3f})")
    compare("detection set", det, det, ours_det)

    cls = classification_dicts(args.num_classes)
    as_det = [{"image_id": d["image_id"], "annotations": [{"category_id": d["label"]}]} for d in cls]
    compare(f"classification set ({len(cls):,} samples, {args.num_classes} classes, n_max 1000, n_min 2)",
            cls, as_det, ours_cls)
    del cls, as_det

    if args.skip_memory:
        return
    print("\n== peak traced memory while building (MB, and bytes per image)")
    sizes = [args.num_images // 4, args.num_images // 2, args.num_images]
    print(f"{'sampler':36s} " + " ".join(f"{n:>22,d}" for n in sizes))
    rows = {"detectron2 RepeatFactorTrainingSampler": d2_build, **ours_det}
    for name, build in rows.items():
        cells = []
        for n in sizes:
            sub = det[:n]
            mb = peak_mb(lambda: build(sub))
            cells.append(f"{mb:9.1f} ({mb * 2**20 / n:7.1f} B/im)")
        print(f"{name:36s} " + " ".join(cells))


if __name__ == "__main__":
    main()
