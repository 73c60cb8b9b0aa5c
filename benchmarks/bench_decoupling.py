"""Cost of Decoupled Optimisation's parameter masks and test-time aggregation, each against
its baseline in the same run (interleaved, medians over repeats, ratios printed):

1. one training step (forward, backward, SGD step with momentum and weight decay) of a
   ``DecoupledClassifier`` whose masks freeze half of every tensor (gradient hooks plus the
   restore after each step) vs the same network as a plain ``LTClassifier``.
   Target: at most 1.1x. The forward + backward alone is timed too.
2. test-time aggregation per image: instance-level and group-level (two random views,
   3 T forwards and the lambda ascent) vs the average of the T sub-models (T forwards).

On CPU the clock is the process's CPU time (steadier on a shared machine than the wall
clock); on CUDA it is the wall clock after a synchronise.

Usage:
    python benchmarks/bench_decoupling.py [--device cpu|cuda] [--depth 32] [--batch 64]
        [--repeats 15] [--threads 1]
"""
import argparse
import statistics
import time

import torch

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import ClassStats
from lt_det.data.classification.batch import ImageBatch
from lt_det.modeling import DecoupledClassifier, LTClassifier


def _cfg(depth, device):
    cfg = get_lt_cfg()
    cfg.merge_from_file("configs/Base-LT-Classifier-CIFAR.yaml")
    cfg.MODEL.DEVICE = device
    cfg.MODEL.LT.RESNET.DEPTH = depth
    cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES = 100
    cfg.DATASETS.TRAIN = ()
    cfg.LT.STAGES = [{"START_ITER": 1}, {"START_ITER": 2}]  # T = 3 sub-models
    return cfg


def _stats(c=100):
    n = torch.logspace(2.7, 0.7, c).round().long().numpy()
    return ClassStats(image_count=n, instance_count=n, frequency=["f"] * c, num_images=int(n.sum()))


def _clock(device):
    if device == "cuda":
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = args.device
    cfg = _cfg(args.depth, dev)
    torch.manual_seed(0)
    plain = LTClassifier(cfg, class_stats=_stats()).to(dev)
    torch.manual_seed(0)
    do = DecoupledClassifier(cfg, class_stats=_stats()).to(dev)
    masks = do.param_masks
    g = torch.Generator().manual_seed(0)
    # Half of every tensor belongs to theta_bar_1 (frozen), the rest is free.
    prune = {n: torch.rand(p.shape, generator=g).to(dev) < 0.5 for n, p in masks.params(do).items()}
    masks.prune(do, prune)
    masks.finish_stage(do, 1)
    opts = {}
    for name, m in (("plain", plain), ("masked", do)):
        opts[name] = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    masks.install(do, opts["masked"])
    imgs = torch.randint(0, 256, (args.batch, 3, 32, 32), dtype=torch.uint8)
    batch = ImageBatch(images=imgs, labels=torch.randint(0, 100, (args.batch,)), indices=torch.arange(args.batch))

    def fwd_bwd(m):
        m.train()
        loss = sum(m(batch).values())
        loss.backward()

    def step(m, opt):
        opt.zero_grad()
        fwd_bwd(m)
        opt.step()

    times = {k: [] for k in ("plain_fb", "masked_fb", "plain_step", "masked_step")}
    for name, m in (("plain", plain), ("masked", do)):  # warm-up
        step(m, opts[name])
    for _ in range(args.repeats):
        for name, m in (("plain", plain), ("masked", do)):
            opts[name].zero_grad()
            t0 = _clock(dev)
            fwd_bwd(m)
            times[f"{name}_fb"].append(_clock(dev) - t0)
            t0 = _clock(dev)
            step(m, opts[name])
            times[f"{name}_step"].append(_clock(dev) - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"ResNet-{args.depth}, batch {args.batch}, {dev}, {args.threads} thread(s), {args.repeats} repeats (median):")
    print(f"  forward+backward        plain {1e3 * med['plain_fb']:.1f} ms  masked {1e3 * med['masked_fb']:.1f} ms"
          f"  ratio {med['masked_fb'] / med['plain_fb']:.3f}")
    print(f"  training step (+SGD)    plain {1e3 * med['plain_step']:.1f} ms  masked {1e3 * med['masked_step']:.1f} ms"
          f"  ratio {med['masked_step'] / med['plain_step']:.3f}  (target <= 1.1)")

    masks.finish_stage(do, 2)
    masks.finish_stage(do, 3)
    do.eval()
    tt = {m: [] for m in ("average", "group", "instance")}
    for _ in range(max(3, args.repeats // 3)):
        for mode in tt:
            do.aggregator.mode = mode
            do.reset_aggregation()
            t0 = _clock(dev)
            do(batch)
            tt[mode].append((_clock(dev) - t0) / args.batch)
    med = {k: statistics.median(v) for k, v in tt.items()}
    print("  test-time aggregation per image (T = 3):")
    for mode in tt:
        print(f"    {mode:8s} {1e3 * med[mode]:.2f} ms/image  ratio vs average {med[mode] / med['average']:.2f}")


if __name__ == "__main__":
    main()
