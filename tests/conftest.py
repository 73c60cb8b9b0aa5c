"""Test-session set-up: generated data goes to a private cache, torch stays on 2 threads."""
import os
import subprocess
import tempfile

# Must happen before lt_det is imported: registered data sets resolve their cache path then.
os.environ.setdefault("LT_DET_CACHE", tempfile.mkdtemp(prefix="lt_det_test_cache_"))
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from detectron2.layers import CNNBlockBase  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))


# Tiny stand-ins with the LTClassifier API (docs/classification.md) for the trick tests.
class _Scale(CNNBlockBase):
    def __init__(self, factor):
        super().__init__(1, 1, 1)
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class TinyBackbone(nn.Module):
    """detectron2-ResNet-like: ``stem``, ``stages``, ``stage_names``; "res2" doubles, "res3"
    adds 1, so where mixing happens changes the result in a way we can compute by hand."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Identity()
        self.stages = nn.ModuleList([_Scale(2.0), _AddOne()])
        self.stage_names = ("res2", "res3")

    def forward(self, x):
        x = self.stem(x)
        out = {}
        for name, stage in zip(self.stage_names, self.stages):
            x = stage(x)
            out[name] = x
        return out


class _AddOne(nn.Module):
    def forward(self, x):
        return x + 1.0


class TinyClassifier(nn.Module):
    """features = spatial mean of the backbone output; logits = a linear head; CE loss."""

    def __init__(self, dim: int = 2, num_classes: int = 2):
        super().__init__()
        self.backbone = TinyBackbone()
        self.in_feature = "res3"
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.head = nn.Linear(dim, num_classes, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(num_classes, dim))
        self.num_classes = num_classes
        self.seen_images = []

    def extract_features(self, images):
        self.seen_images.append(images)
        return self.pool(self.backbone(images)[self.in_feature])

    def classify(self, features):
        return self.head(features)

    def losses(self, logits, labels):
        return {"loss_cls": F.cross_entropy(logits, labels)}




@pytest.fixture
def tiny_classifier():
    """A fresh ``TinyClassifier`` (features 2x + 1, identity head, CE)."""
    return TinyClassifier()


def write_lvis_set(root, num_images=4, size=64, truncated=(), annotated=True, name="ann.json"):
    """A tiny LVIS-format set on disk: ``num_images`` PNGs of ``size`` px, each with one
    square of category 1 or 2 (alternating), as tests/data/datasets/test_lvis_format.py
    builds one. Images whose index is in ``truncated`` keep only the first half of their
    bytes (PIL opens them, decoding fails: "image file is truncated"); ``annotated=False``
    writes no annotations at all. Returns (json path, [image paths])."""
    import json

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    images, anns, paths = [], [], []
    for i in range(num_images):
        arr = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        x, w = 8 + 4 * i, 24
        arr[x : x + w, x : x + w] = (255, 0, 0) if i % 2 else (0, 0, 255)
        path = os.path.join(str(root), f"img{i}.png")
        Image.fromarray(arr).save(path)
        if i in truncated:
            data = open(path, "rb").read()
            open(path, "wb").write(data[: len(data) // 2])
        paths.append(path)
        images.append({"id": i + 1, "file_name": f"img{i}.png", "height": size, "width": size,
                       "neg_category_ids": [], "not_exhaustive_category_ids": []})
        if annotated:
            anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1 + i % 2, "area": w * w,
                         "bbox": [x, x, w, w]})
    cats = [{"id": 1, "name": "blue", "frequency": "f"}, {"id": 2, "name": "red", "frequency": "r"}]
    path = os.path.join(str(root), name)
    with open(path, "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)
    return path, paths


@pytest.fixture
def lvis_set(tmp_path):
    """``write_lvis_set`` under a fresh folder (keyword arguments as there)."""
    return lambda **kw: write_lvis_set(tmp_path, **kw)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder no one can write in: chmod 555, or for root (whom permissions do not stop)
    a read-only tmpfs mounted there (skipped where mounting is not allowed)."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                      capture_output=True).returncode != 0:
        pytest.skip("running as root and cannot mount a read-only tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)
