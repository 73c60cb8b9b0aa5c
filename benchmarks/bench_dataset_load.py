#!/usr/bin/env python
"""Start-up cost of an LVIS-v1-sized training set: lt_det's LTTrainer against detectron2's stock
DefaultTrainer on the same annotation file, each in its own process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dataset_load.py          # LVIS v1 size
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dataset_load.py --num-images 5000 --num-anns 63500  # quick

Data (generated once, fixed seed, into ``$LT_DET_CACHE/bench_dataset_load/``): an LVIS-v1-format
JSON with --num-images images (LVIS v1 train: 100,170), --num-anns instances (1,270,141) over
1,203 categories (ids 1..1203, LVIS v1's names, ``image_count`` / ``instance_count`` /
``frequency`` as LVIS gives them), the class of each instance drawn from a Zipf law, boxes and
4-point polygons, images named by ``coco_url`` as in LVIS v1. Every image file is a hard link
to one of a few identical 64 x 48 JPEGs, so reading images costs nothing and both trainers read the same files.

Each run is a fresh Python process that builds the same tiny model (Faster R-CNN, ResNet-18 FPN
from detectron2, 32-pixel images, NUM_CLASSES 1203), trains one iteration of batch 2 with
NUM_WORKERS 0, and reports at the end of that iteration:
  time - wall seconds from the process's launch (interpreter start and imports included) to
         the end of the first training iteration, and the process's CPU seconds (user + system)
         to then, which depend less on what else runs on the machine;
  mem  - peak resident memory of the process (``ru_maxrss``).
Runs:
  detectron2        DefaultTrainer; the set registered with detectron2's register_lvis_instances
  lt_det            LTTrainer, the same model; the set registered with lt_det's
                    register_lvis_format; the start-of-run check of tools/train_net.py included
  lt_det EQL + RFS  LTTrainer with LTStandardROIHeads + EQL (class statistics from the set's
                    metadata) and lt_det's RepeatFactorSampler
Ratios are lt_det / detectron2 (<= 1: no slower, no bigger). Heavy (several GB per process): run
it alone on a quiet machine.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "bench_lvis_v1_train"  # detectron2's LVIS loader takes LVIS v1's metadata from "v1" in the name
IMAGE_HW = (48, 64)


# ------------------------------------------------------------------------------ data
def generate(out_dir: str, num_images: int, num_anns: int, seed: int = 0) -> str:
    """Write the annotation file and the image links (once); returns the JSON's path."""
    import numpy as np
    from detectron2.data.datasets.lvis_v1_categories import LVIS_CATEGORIES
    from PIL import Image

    path = os.path.join(out_dir, f"lvis_v1_size_{num_images}_{num_anns}.json")
    last_image = os.path.join(out_dir, "train2017", f"{num_images:012d}.jpg")
    if os.path.isfile(path) and os.path.isfile(last_image):
        return path
    os.makedirs(os.path.join(out_dir, "train2017"), exist_ok=True)
    rng = np.random.default_rng(seed)
    cats = sorted(LVIS_CATEGORIES, key=lambda c: c["id"])
    num_classes = len(cats)
    # One instance of every class, the rest Zipf-distributed (shuffled over the ids).
    p = 1.0 / np.arange(1, num_classes + 1) ** 1.1
    p = rng.permutation(p / p.sum())
    cls = np.concatenate([np.arange(num_classes), rng.choice(num_classes, num_anns - num_classes, p=p)])
    img = np.concatenate([rng.integers(0, num_images, num_classes), rng.integers(0, num_images, num_anns - num_classes)])
    order = np.argsort(img, kind="stable")
    cls, img = cls[order], img[order]
    h, w = IMAGE_HW
    bw = np.round(rng.uniform(2, w / 3, num_anns), 2)
    bh = np.round(rng.uniform(2, h / 3, num_anns), 2)
    bx = np.round(rng.uniform(0, w - bw - 1), 2)
    by = np.round(rng.uniform(0, h - bh - 1), 2)
    instance_count = np.bincount(cls, minlength=num_classes)
    pairs = np.unique(img.astype(np.int64) * num_classes + cls)
    image_count = np.bincount(pairs % num_classes, minlength=num_classes)

    def frequency(n):
        return "r" if n <= 10 else ("c" if n <= 100 else "f")

    data = {
        "info": {"description": "LVIS-v1-sized synthetic annotations (lt_det benchmark)"},
        "licenses": [],
        "categories": [
            {"id": c["id"], "name": c["name"], "synset": c.get("synset", ""), "image_count": int(image_count[k]),
             "instance_count": int(instance_count[k]), "frequency": frequency(int(image_count[k]))}
            for k, c in enumerate(cats)
        ],
        "images": [
            {"id": i + 1, "height": h, "width": w, "neg_category_ids": [], "not_exhaustive_category_ids": [],
             "coco_url": f"http://images.cocodataset.org/train2017/{i + 1:012d}.jpg"}
            for i in range(num_images)
        ],
        "annotations": [
            {"id": j + 1, "image_id": int(img[j]) + 1, "category_id": cats[int(cls[j])]["id"],
             "bbox": [float(bx[j]), float(by[j]), float(bw[j]), float(bh[j])],
             "area": float(bw[j] * bh[j]),
             "segmentation": [[float(bx[j]), float(by[j]), float(bx[j] + bw[j]), float(by[j]),
                               float(bx[j] + bw[j]), float(by[j] + bh[j]), float(bx[j]), float(by[j] + bh[j])]]}
            for j in range(num_anns)
        ],
    }
    for i in range(num_images):
        # A file system allows some 65,000 links to one file: a new source every 50,000.
        source = os.path.join(out_dir, f"image_{i // 50_000}.jpg")
        if i % 50_000 == 0:
            Image.new("RGB", (w, h), (90, 120, 150)).save(source)
        link = os.path.join(out_dir, "train2017", f"{i + 1:012d}.jpg")
        if not os.path.exists(link):
            os.link(source, link)
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.replace(path + ".tmp", path)
    return path


# ------------------------------------------------------------------------------ one run
def tiny_model_config(cfg, out_dir: str) -> None:
    """The same tiny Faster R-CNN for every run (detectron2's own R18-FPN, from scratch)."""
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.META_ARCHITECTURE = "GeneralizedRCNN"
    cfg.MODEL.BACKBONE.NAME = "build_resnet_fpn_backbone"
    cfg.MODEL.RESNETS.DEPTH = 18
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 64
    cfg.MODEL.RESNETS.OUT_FEATURES = ["res2", "res3", "res4", "res5"]
    cfg.MODEL.FPN.IN_FEATURES = ["res2", "res3", "res4", "res5"]
    cfg.MODEL.FPN.OUT_CHANNELS = 32
    cfg.MODEL.ANCHOR_GENERATOR.SIZES = [[8], [16], [32], [64], [128]]
    cfg.MODEL.RPN.IN_FEATURES = ["p2", "p3", "p4", "p5", "p6"]
    cfg.MODEL.ROI_HEADS.NAME = "StandardROIHeads"
    cfg.MODEL.ROI_HEADS.IN_FEATURES = ["p2", "p3", "p4", "p5"]
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 1203
    cfg.MODEL.ROI_BOX_HEAD.NAME = "FastRCNNConvFCHead"
    cfg.MODEL.ROI_BOX_HEAD.NUM_FC = 1
    cfg.MODEL.ROI_BOX_HEAD.FC_DIM = 64
    cfg.MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION = 7
    cfg.MODEL.MASK_ON = False
    cfg.INPUT.MIN_SIZE_TRAIN = (32,)
    cfg.INPUT.MAX_SIZE_TRAIN = 64
    cfg.DATASETS.TRAIN = (NAME,)
    cfg.DATASETS.TEST = ()
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.SOLVER.IMS_PER_BATCH = 2
    cfg.SOLVER.BASE_LR = 0.001
    cfg.SOLVER.MAX_ITER = 1
    cfg.SOLVER.STEPS = ()
    cfg.SOLVER.WARMUP_ITERS = 0
    cfg.SOLVER.CHECKPOINT_PERIOD = 10**9
    cfg.OUTPUT_DIR = out_dir


def child(kind: str, json_file: str, image_root: str, result_file: str) -> None:
    """Build the trainer of ``kind``, train one iteration, write time and ru_maxrss, exit."""
    from detectron2.engine import HookBase

    class Report(HookBase):
        def after_step(self):
            usage = resource.getrusage(resource.RUSAGE_SELF)
            with open(result_file, "w") as f:
                json.dump({"end_of_first_iteration": time.time(), "maxrss_mb": usage.ru_maxrss / 1024,
                           "cpu_s": usage.ru_utime + usage.ru_stime}, f)
            os._exit(0)  # skip the final checkpoint and anything after the measured point

    out = tempfile.mkdtemp(prefix="bench_dataset_load_")
    if kind == "detectron2":
        from detectron2.config import get_cfg
        from detectron2.data.datasets import register_lvis_instances
        from detectron2.engine import DefaultTrainer

        register_lvis_instances(NAME, {}, json_file, image_root + os.sep)
        cfg = get_cfg()
        tiny_model_config(cfg, out)
        trainer = DefaultTrainer(cfg)
    else:
        from lt_det.config import get_lt_cfg
        from lt_det.data.datasets import register_lvis_format
        from lt_det.engine import LTTrainer

        register_lvis_format(NAME, json_file, image_root)
        cfg = get_lt_cfg()
        tiny_model_config(cfg, out)
        if kind == "lt_det_eql_rfs":
            cfg.MODEL.ROI_HEADS.NAME = "LTStandardROIHeads"
            cfg.MODEL.LT.LOSS.NAME = "EQL"
            cfg.MODEL.LT.LOSS.EQL.LAMBDA = 1.1e-3
            cfg.DATALOADER.SAMPLER_TRAIN = "RepeatFactorSampler"
            cfg.DATALOADER.REPEAT_THRESHOLD = 0.001
        try:  # what tools/train_net.py does before training (absent before lt_det 0.1.x's checks)
            from lt_det.engine.checks import check_config_against_data
        except ImportError:
            check_config_against_data = None
        if check_config_against_data is not None:
            check_config_against_data(cfg)
        trainer = LTTrainer(cfg)
    trainer.register_hooks([Report()])
    trainer.resume_or_load(resume=False)
    trainer.train()
    raise SystemExit("training ended without reaching the report hook")


RUNS = (("detectron2", "detectron2"), ("lt_det", "lt_det"), ("lt_det EQL + RFS", "lt_det_eql_rfs"))


def run(kind: str, json_file: str, image_root: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = os.path.join(tmp, "result.json")
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        start = time.time()
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", kind, "--json", json_file, "--root", image_root,
             "--result", result],
            env=env, capture_output=True, text=True,
        )
        if proc.returncode != 0 or not os.path.isfile(result):
            raise RuntimeError(f"{kind} run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        with open(result) as f:
            r = json.load(f)
    return {"time_s": r["end_of_first_iteration"] - start, "cpu_s": r["cpu_s"], "maxrss_mb": r["maxrss_mb"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-images", type=int, default=100_000)
    parser.add_argument("--num-anns", type=int, default=1_270_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind; the best of each measure is kept")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.json, args.root, args.result)
        return

    sys.path.insert(0, ROOT)
    from lt_det.data.datasets.cache import cache_dir

    out_dir = cache_dir("bench_dataset_load")
    t = time.time()
    json_file = generate(out_dir, args.num_images, args.num_anns)
    print(f"annotations: {json_file} ({os.path.getsize(json_file) / 2**20:.0f} MiB; ready in {time.time() - t:.0f} s)")
    print(f"{args.num_images} images, {args.num_anns} instances, 1203 classes; one process per run, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    # Repeats interleave the kinds, so that a change in the machine's load hits all of them.
    results = {}
    for _ in range(args.repeats):
        for label, kind in RUNS:
            r = run(kind, json_file, out_dir)
            best = results.get(label)
            results[label] = r if best is None else {k: min(best[k], r[k]) for k in r}
    for label, _ in RUNS:
        r = results[label]
        print(f"  {label:<18} start -> end of 1st iteration {r['time_s']:6.1f} s wall, {r['cpu_s']:6.1f} s CPU;"
              f"   peak RSS {r['maxrss_mb']:6.0f} MiB")
    base = results["detectron2"]
    for label, _ in RUNS[1:]:
        r = results[label]
        print(f"  {label} / detectron2: wall time {r['time_s'] / base['time_s']:.2f}x, CPU time "
              f"{r['cpu_s'] / base['cpu_s']:.2f}x, peak memory {r['maxrss_mb'] / base['maxrss_mb']:.2f}x")


if __name__ == "__main__":
    main()
