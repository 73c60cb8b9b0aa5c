"""CIFAR-size classification training throughput: lt_det's pipeline against a plain PyTorch loop.

Both train the same network (an ``LTClassifier`` ResNet, softmax CE, SGD with momentum)
on the same in-memory CIFAR-format data (uint8 [N, 3, 32, 32], CIFAR-10-LT's 12,406
images by default) with the same augmentation (pad 4, random 32x32 crop, horizontal flip):

* ours: ``lt_det``'s classification loader (batch gather + batch crop/flip in torch) and
  detectron2's ``SimpleTrainer.run_step`` (the step ``LTTrainer`` runs);
* baseline: a torch ``Dataset`` of PIL images with torchvision transforms (``RandomCrop``,
  ``RandomHorizontalFlip``, ``ToTensor``, ``Normalize``), a ``DataLoader``, and the usual
  zero_grad / forward / backward / step loop.

Throughput is images per second of data loading plus the training step. The two
pipelines alternate step by step so that load from other processes affects both alike;
the medians over rounds are reported, with the data-loading-only rates. Run:

    OMP_NUM_THREADS=1 python benchmarks/bench_cls_throughput.py [--iters 10 --rounds 3 --threads 1]
"""
import argparse
import statistics
import time
import uuid

import numpy as np
import torch
import torch.nn.functional as F
from detectron2.engine import SimpleTrainer
from detectron2.utils.events import EventStorage
from PIL import Image
from torchvision import transforms as T

import lt_det  # noqa: F401  (registers the components)
from lt_det.config import get_lt_cfg
from lt_det.data import build_train_loader
from lt_det.data.datasets import register_classification
from lt_det.modeling import LTClassifier

MEAN = [125.307, 122.961, 113.8575]
STD = [62.9932, 62.0887, 66.7048]


def make_data(n: int, num_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, num_classes, n)
    return images, labels


def build_cfg(train_name: str, args):
    cfg = get_lt_cfg()
    cfg.merge_from_file("configs/Base-LT-Classifier-CIFAR.yaml")
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.LT.RESNET.DEPTH = args.depth
    cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES = args.classes
    cfg.DATASETS.TRAIN = (train_name,)
    cfg.SOLVER.IMS_PER_BATCH = args.batch
    cfg.DATALOADER.NUM_WORKERS = args.workers
    return cfg


class PILDataset(torch.utils.data.Dataset):
    """The common PyTorch recipe: one PIL image per sample, torchvision transforms."""

    def __init__(self, images, labels):
        self.images = [Image.fromarray(im.transpose(1, 2, 0)) for im in images]
        self.labels = labels.tolist()
        self.transform = T.Compose([
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize([m / 255 for m in MEAN], [s / 255 for s in STD]),
        ])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def timed_pair(step_a, step_b, iters: int):
    """Seconds of ``iters`` calls of each step, alternating a, b, a, b, ... so that load from
    other processes falls on both alike; one warm-up call each first."""
    step_a()
    step_b()
    ta = tb = 0.0
    for _ in range(iters):
        t0 = time.perf_counter()
        step_a()
        t1 = time.perf_counter()
        step_b()
        t2 = time.perf_counter()
        ta += t1 - t0
        tb += t2 - t1
    return ta, tb


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=12406, help="training images (CIFAR-10-LT beta=100: 12406)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--depth", type=int, default=32, help="CIFAR ResNet depth (6n+2)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--iters", type=int, default=10, help="timed iterations per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=0, help="data-loader workers (both pipelines)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    images, labels = make_data(args.images, args.classes)
    name = f"bench_cifar_{uuid.uuid4().hex[:6]}"
    dicts = [{"image": images[i], "label": int(labels[i]), "image_id": i} for i in range(len(labels))]
    register_classification(name, lambda: (dicts, [str(c) for c in range(args.classes)]), is_train=True)
    cfg = build_cfg(name, args)

    # Two copies of one initial network, one per pipeline.
    ours_model = LTClassifier(cfg)
    base_model = LTClassifier(cfg)
    base_model.load_state_dict(ours_model.state_dict())

    def sgd(m):
        return torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)

    ours_model.train()
    trainer = SimpleTrainer(ours_model, build_train_loader(cfg), sgd(ours_model))
    storage = EventStorage(0).__enter__()
    trainer.storage = storage

    def ours_step():
        trainer.run_step()
        storage.iter += 1

    base_model.train()
    base_opt = sgd(base_model)
    base_loader = torch.utils.data.DataLoader(
        PILDataset(images, labels), batch_size=args.batch, shuffle=True, drop_last=True,
        num_workers=args.workers, persistent_workers=args.workers > 0,
    )
    base_iter = [iter(base_loader)]

    def base_batch():
        try:
            return next(base_iter[0])
        except StopIteration:
            base_iter[0] = iter(base_loader)
            return next(base_iter[0])

    def base_step():
        x, y = base_batch()
        logits = base_model.classify(base_model.extract_features(x))
        loss = F.cross_entropy(logits, y)
        base_opt.zero_grad()
        loss.backward()
        base_opt.step()

    ours_loader_iter = iter(build_train_loader(cfg))

    def ours_data():
        b = next(ours_loader_iter)
        ours_model.preprocess_image(b)  # to float + normalise, which the baseline's loader does

    rates = {"ours": [], "base": [], "ours_data": [], "base_data": []}
    n = args.iters * args.batch
    for r in range(args.rounds):
        t_ours, t_base = timed_pair(ours_step, base_step, args.iters)
        rates["ours"].append(n / t_ours)
        rates["base"].append(n / t_base)
        t_ours, t_base = timed_pair(ours_data, base_batch, args.iters)
        rates["ours_data"].append(n / t_ours)
        rates["base_data"].append(n / t_base)
        print(
            f"round {r}: train ours {rates['ours'][-1]:.1f} img/s, baseline {rates['base'][-1]:.1f} img/s; "
            f"data only ours {rates['ours_data'][-1]:.0f} img/s, baseline {rates['base_data'][-1]:.0f} img/s",
            flush=True,
        )
    storage.__exit__(None, None, None)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(
        f"\nResNet-{args.depth}, batch {args.batch}, {args.images} images, {args.threads} thread(s), "
        f"{args.workers} worker(s); medians of {args.rounds} rounds x {args.iters} iterations"
    )
    ratios = [a / b for a, b in zip(rates["ours"], rates["base"])]
    print(f"training (data + step): ours {med['ours']:.1f} img/s, baseline {med['base']:.1f} img/s, "
          f"ratio ours/baseline = {med['ours'] / med['base']:.3f} "
          f"(per round: {', '.join(f'{x:.3f}' for x in ratios)})")
    print(f"data loading only:      ours {med['ours_data']:.0f} img/s, baseline {med['base_data']:.0f} img/s, "
          f"ratio ours/baseline = {med['ours_data'] / med['base_data']:.2f}")


if __name__ == "__main__":
    main()
