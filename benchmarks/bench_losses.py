"""Speed of lt_det's classification losses and of the LT box predictor, against baselines.

Two measurements, each against its baseline in the same run, interleaved so that machine
load affects both alike; medians over repeats are reported with their ratio:

1. forward + backward of every loss on LVIS-sized input (1,203 classes x 8,192 RoIs, 25%
   foreground, training mode so that stateful losses update their state) vs plain sigmoid
   BCE computed as detectron2 does (one-hot target, ``binary_cross_entropy_with_logits``).
   Target: within 2x.
2. each post-hoc calibration (lt_det.modeling.calibration) on one image's box scores at
   inference (1,000 RoIs, detectron2's POST_NMS_TOPK_TEST, x 1,204 columns) vs the same
   sigmoid BCE forward + backward of [1], and vs the softmax of those scores (what the
   uncalibrated predictor computes).
3. one training step (forward, backward, SGD step) of detectron2's GeneralizedRCNN on a
   small synthetic batch with ``LTStandardROIHeads`` (SoftmaxCE) vs detectron2's
   ``StandardROIHeads`` at the same config and weights, with a second stock model as a
   control whose ratio shows the noise. Target: within 3%.

On CPU the clock is the process's CPU time (wall-clock time on a shared machine varies by
several percent between identical steps); on CUDA it is the wall clock after a synchronise.

Usage:
    python benchmarks/bench_losses.py [--device cpu|cuda] [--threads N] [--repeats R]
        [--skip-model] [--skip-calibration]
"""
import argparse
import statistics
import time

import numpy as np
import torch
from torch.nn import functional as F

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import ClassStats, frequency_group
from lt_det.losses import build_loss
from lt_det.testing import tiny_rcnn_cfg

LOSSES = [
    "SigmoidBCE", "SoftmaxCE", "EQL", "EQLv2", "Seesaw", "Federated",
    "CSCE", "ClassBalancedCE", "Focal", "CBFocal", "ECM", "GOL", "BAGS",
]


def lvis_like_stats(num_classes: int, num_images: int = 100_000, seed: int = 0) -> ClassStats:
    """A long-tailed profile of LVIS v1's size (a few classes with no image at all)."""
    rng = np.random.default_rng(seed)
    image_count = np.floor(20_000 * np.arange(1, num_classes + 1) ** -1.2).astype(np.int64)
    image_count[rng.choice(num_classes, 3, replace=False)] = 0
    instance_count = image_count * rng.integers(1, 6, num_classes)
    return ClassStats(
        image_count, instance_count, [frequency_group(int(n)) for n in image_count], num_images
    )


def detectron2_sigmoid_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Baseline: detectron2's sigmoid cross-entropy on C logits (one-hot incl. background)."""
    n, c = logits.shape
    target = logits.new_zeros(n, c + 1)
    target[torch.arange(n, device=logits.device), labels] = 1
    return F.binary_cross_entropy_with_logits(logits, target[:, :c], reduction="sum") / n


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time_once(fn, device) -> float:
    # On CPU the process's CPU time: the wall clock of a machine shared with other jobs
    # varies by several percent from step to step, the work done does not.
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    _sync(device)
    start = clock()
    fn()
    _sync(device)
    return clock() - start


def interleaved(fns, device, repeats: int, warmup: int = 2):
    """Seconds of each callable per round. Rounds alternate the order (A B, B A, ...) so
    that neither a drift of the machine's load nor the position in a round favours one."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for r in range(repeats):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            times[i].append(_time_once(fns[i], device))
    return times


def medians(times):
    return [statistics.median(t) for t in times]


def bench_losses(device, repeats: int, num_classes: int = 1203, num_rois: int = 8192, names=None):
    torch.manual_seed(0)
    stats = lvis_like_stats(num_classes)
    cfg = get_lt_cfg()
    cfg.DATASETS.TRAIN = ()
    fg = torch.rand(num_rois) < 0.25
    labels = torch.where(fg, torch.randint(0, num_classes, (num_rois,)), torch.tensor(num_classes))
    labels = labels.to(device)
    base_logits = torch.randn(num_rois, num_classes, device=device, requires_grad=True)

    def run_baseline():
        base_logits.grad = None
        detectron2_sigmoid_bce(base_logits, labels).backward()

    print(f"\n[1] loss forward+backward, {num_classes} classes x {num_rois} RoIs, {device}")
    print(f"{'loss':<16}{'logits':>7}{'ms':>10}{'BCE ms':>10}{'ratio':>8}")
    for name in names or LOSSES:
        cfg.MODEL.LT.LOSS.NAME = name
        loss = build_loss(cfg, num_classes, True, stats).to(device).train()
        logits = torch.randn(num_rois, loss.num_logits(), device=device, requires_grad=True)

        def run_loss(loss=loss, logits=logits):
            logits.grad = None
            loss(logits, labels).backward()

        ours, base = medians(interleaved([run_loss, run_baseline], device, repeats))
        print(f"{name:<16}{loss.num_logits():>7}{ours * 1e3:>10.1f}{base * 1e3:>10.1f}{ours / base:>8.2f}")


def bench_calibrations(device, repeats: int, num_classes: int = 1203, num_rois: int = 1000):
    from lt_det.modeling.calibration import FRACAL, NorCal

    torch.manual_seed(0)
    stats = lvis_like_stats(num_classes)
    fractal_dim = 1.0 + np.random.default_rng(0).random(num_classes)  # D in [1, 2)
    calibrations = {
        "NorCal": NorCal(num_classes=num_classes, class_stats=stats, gamma=0.6),
        "FRACAL softmax": FRACAL(num_classes=num_classes, class_stats=stats, fractal_dim=fractal_dim),
        "FRACAL sigmoid": FRACAL(
            num_classes=num_classes, class_stats=stats, fractal_dim=fractal_dim, activation="sigmoid"
        ),
    }
    scores = torch.randn(num_rois, num_classes + 1, device=device)
    probs = torch.softmax(scores, dim=1)
    # Baseline: [1]'s sigmoid BCE forward + backward (1203 classes x 8192 RoIs).
    fg = torch.rand(8192) < 0.25
    labels = torch.where(fg, torch.randint(0, num_classes, (8192,)), torch.tensor(num_classes)).to(device)
    base_logits = torch.randn(8192, num_classes, device=device, requires_grad=True)

    def run_baseline():
        base_logits.grad = None
        detectron2_sigmoid_bce(base_logits, labels).backward()

    def run_softmax():
        torch.softmax(scores, dim=1)

    print(f"\n[2] calibration per image, {num_rois} RoIs x {num_classes + 1} scores, {device}")
    print(f"{'calibration':<16}{'ms':>10}{'BCE ms':>10}{'/ BCE':>8}{'softmax ms':>12}{'/ softmax':>10}")
    for name, cal in calibrations.items():
        def run_cal(cal=cal):
            with torch.no_grad():
                cal(probs)

        ours, base, soft = medians(interleaved([run_cal, run_baseline, run_softmax], device, repeats))
        print(f"{name:<16}{ours * 1e3:>10.2f}{base * 1e3:>10.1f}{ours / base:>8.3f}{soft * 1e3:>12.2f}{ours / soft:>10.2f}")


def bench_rcnn_cfg(heads: str, num_classes: int):
    """lt_det.testing's tiny R-CNN at benchmark size: 512 RoIs per image through a 1024-d
    box head, as in detectron2's R-CNNs, so the classification loss sees a realistic batch."""
    cfg = tiny_rcnn_cfg(heads, num_classes, fc_dim=1024, roi_batch=512)
    cfg.MODEL.FPN.OUT_CHANNELS = 64
    cfg.MODEL.ANCHOR_GENERATOR.SIZES = [[16], [32], [64], [128], [256]]
    cfg.MODEL.RPN.PRE_NMS_TOPK_TRAIN = 1000
    cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN = 512
    cfg.MODEL.RPN.BATCH_SIZE_PER_IMAGE = 256
    cfg.MODEL.ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG = False
    cfg.DATASETS.TRAIN = ()
    return cfg


def synthetic_batch(num_images: int, size: int, num_classes: int):
    from detectron2.structures import Boxes, Instances

    g = torch.Generator().manual_seed(0)
    batch = []
    for _ in range(num_images):
        xy = torch.rand(8, 2, generator=g) * size * 0.6
        wh = 16 + torch.rand(8, 2, generator=g) * size * 0.35
        inst = Instances((size, size))
        inst.gt_boxes = Boxes(torch.cat([xy, (xy + wh).clamp(max=size - 1)], dim=1))
        inst.gt_classes = torch.randint(0, num_classes, (8,), generator=g)
        image = torch.rand(3, size, size, generator=g) * 255
        batch.append({"image": image, "instances": inst})
    return batch


def bench_training_step(repeats: int, num_classes: int = 1203, size: int = 256):
    from detectron2.modeling import build_model
    from detectron2.utils.events import EventStorage

    torch.manual_seed(0)
    stock = build_model(bench_rcnn_cfg("StandardROIHeads", num_classes))
    # A second stock model measures the noise floor: its ratio to the first should be 1.
    control = build_model(bench_rcnn_cfg("StandardROIHeads", num_classes))
    ours = build_model(bench_rcnn_cfg("LTStandardROIHeads", num_classes))
    control.load_state_dict(stock.state_dict())
    ours.load_state_dict(stock.state_dict())
    batch = synthetic_batch(2, size, num_classes)
    steps = []
    for model in (stock, control, ours):
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

        def step(model=model, optimizer=optimizer):
            torch.manual_seed(1)  # same proposal sampling in every model
            with EventStorage():
                losses = model(batch)
            optimizer.zero_grad()
            sum(losses.values()).backward()
            optimizer.step()

        steps.append(step)
    print(
        f"\n[3] GeneralizedRCNN training step (R18-GN-FPN, {num_classes} classes, 2 images "
        f"{size}x{size}, 512 RoIs/image, CPU time, {torch.get_num_threads()} threads, "
        f"{repeats} rounds)"
    )
    times = interleaved(steps, torch.device("cpu"), repeats)
    t_stock, t_control, t_ours = medians(times)
    print(f"{'stock StandardROIHeads':<34}{t_stock * 1e3:>10.1f} ms")
    print(f"{'stock again (control)':<34}{t_control * 1e3:>10.1f} ms")
    print(f"{'LTStandardROIHeads (SoftmaxCE)':<34}{t_ours * 1e3:>10.1f} ms")
    # Per-round ratios: each round runs the models back to back, so slow drifts of the
    # machine's load cancel; the control's spread is the measurement's noise.
    for label, other in (("control / stock", times[1]), ("LT / stock", times[2])):
        ratios = [o / s for s, o in zip(times[0], other)]
        q1, q3 = np.percentile(ratios, [25, 75])
        print(f"{label + ' per-round ratio':<34}{statistics.median(ratios):>10.3f}  IQR [{q1:.3f}, {q3:.3f}]")
    print(f"{'LT / stock, ratio of medians':<34}{t_ours / t_stock:>10.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: keep)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--step-repeats", type=int, default=30)
    parser.add_argument("--skip-model", action="store_true", help="skip the training step")
    parser.add_argument("--skip-calibration", action="store_true", help="skip the calibrations")
    parser.add_argument("--losses", nargs="*", default=None, help="only these losses")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_losses(torch.device(args.device), args.repeats, names=args.losses)
    if not args.skip_calibration:
        bench_calibrations(torch.device(args.device), args.repeats)
    if not args.skip_model:
        bench_training_step(args.step_repeats)


if __name__ == "__main__":
    main()
