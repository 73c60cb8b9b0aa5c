import itertools
import logging
import pickle
import uuid

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog

from lt_det.config import get_lt_cfg
from lt_det.data import build_test_loader, build_train_loader
from lt_det.data.classification import ClassificationDataset, CorruptImageError, ImageBatch
from lt_det.data.classification.loader import build_classification_train_loader
from lt_det.data.classification.transforms import Identity
from lt_det.data.datasets import register_classification, register_image_folder
from lt_det.data.samplers import SAMPLER_REGISTRY
from PIL import Image


def _in_memory_set(n_per_class=(6, 3, 1)):
    """A registered in-memory set: image k is filled with value k (so batches are checkable)."""
    name = f"test_mem_{uuid.uuid4().hex[:8]}"
    labels = [c for c, n in enumerate(n_per_class) for _ in range(n)]

    def load():
        dicts = [
            {"image": np.full((3, 4, 4), k % 256, np.uint8), "label": y, "image_id": 100 + k}
            for k, y in enumerate(labels)
        ]
        return dicts, ["a", "b", "c"][: len(n_per_class)]  # image k is filled with k mod 256

    register_classification(name, load, is_train=True)
    return name, labels


def _cfg(train, **cls_input):
    cfg = get_lt_cfg()
    cfg.DATASETS.TRAIN = (train,)
    cfg.SOLVER.IMS_PER_BATCH = 4
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.LT.CLS_INPUT.TRAIN_TRANSFORM = "Identity"
    cfg.LT.CLS_INPUT.TEST_TRANSFORM = "Identity"
    cfg.LT.CLS_INPUT.TEST_IMS_PER_BATCH = 4
    for k, v in cls_input.items():
        cfg.LT.CLS_INPUT[k] = v
    return cfg


def test_train_loader_yields_stacked_batches():
    name, labels = _in_memory_set()
    loader = build_train_loader(_cfg(name))
    batches = list(itertools.islice(iter(loader), 10))
    seen = set()
    for b in batches:
        assert isinstance(b, ImageBatch) and b.images.shape == (4, 3, 4, 4) and b.images.dtype == torch.uint8
        # Image k has value k: the stacked images, labels and dicts agree with the data set.
        ks = b.images[:, 0, 0, 0].tolist()
        assert ks == b.indices.tolist()
        assert b.labels.tolist() == [labels[k] for k in ks]
        assert [d["image_id"] for d in b] == [100 + k for k in ks]
        assert torch.equal(b[0]["image"], b.images[0])
        seen.update(ks)
    # 10 batches of 4 = 40 draws from an infinite shuffled stream over 10 images: all seen.
    assert seen == set(range(10))


def test_test_loader_covers_each_sample_once_in_order():
    name, labels = _in_memory_set()
    loader = build_test_loader(_cfg(name), name)
    batches = list(loader)
    assert len(loader) == 3 and [len(b) for b in batches] == [4, 4, 2]
    assert torch.cat([b.labels for b in batches]).tolist() == labels


def test_lt_sampler_from_the_registry_is_used(monkeypatch):
    name, labels = _in_memory_set()
    sampler_name = f"TestOnlyClassTwo{uuid.uuid4().hex[:6]}"

    class _Sampler(torch.utils.data.Sampler):
        """Yields only the indices of label 2, forever (checks the loader's wiring)."""

        def __init__(self, cfg, dataset_dicts):
            self.idx = [i for i, d in enumerate(dataset_dicts) if d["label"] == 2]

        def __iter__(self):
            return itertools.cycle(self.idx)

    # Registered for this test only (other tests compare the registry with their own list).
    monkeypatch.setitem(SAMPLER_REGISTRY._obj_map, sampler_name, _Sampler)

    cfg = _cfg(name)
    cfg.DATALOADER.SAMPLER_TRAIN = sampler_name
    batch = next(iter(build_train_loader(cfg)))
    assert batch.labels.tolist() == [2, 2, 2, 2]
    cfg.DATALOADER.SAMPLER_TRAIN = "RepeatFactorTrainingSampler"
    with pytest.raises(ValueError, match="SAMPLER_TRAIN"):
        build_train_loader(cfg)


LT_SAMPLERS = sorted(k for k, _ in SAMPLER_REGISTRY)


@pytest.mark.parametrize("sampler", LT_SAMPLERS)
def test_every_registered_sampler_feeds_the_classification_loader(sampler):
    # Counts 120 / 30 / 5: a many-, a medium- and a few-shot class (group-preferred sampling
    # needs a non-empty medium group).
    name, labels = _in_memory_set((120, 30, 5))
    cfg = _cfg(name)
    cfg.DATALOADER.SAMPLER_TRAIN = sampler
    cfg.SOLVER.IMS_PER_BATCH = 8
    it = iter(build_train_loader(cfg))
    drawn = []
    for _ in range(20):
        b = next(it)
        assert len(b) == 8 and b.images.shape == (8, 3, 4, 4)
        ks = b.indices.tolist()
        assert b.images[:, 0, 0, 0].tolist() == [k % 256 for k in ks]
        assert b.labels.tolist() == [labels[k] for k in ks]
        drawn += b.labels.tolist()
    assert set(drawn) <= {0, 1, 2} and len(drawn) == 160


def test_image_batch_pickles_tensors_once():
    b = ImageBatch(torch.zeros(3, 3, 2, 2, dtype=torch.uint8), torch.tensor([1, 0, 1]), torch.tensor([5, 6, 7]), ["x", "y", "z"])
    c = pickle.loads(pickle.dumps(b))
    assert isinstance(c, ImageBatch) and c.labels.tolist() == [1, 0, 1] and [d["image_id"] for d in c] == ["x", "y", "z"]
    assert c[2]["index"] == 7 and torch.equal(c[1]["image"], c.images[1])
    with pytest.raises(ValueError, match="labels"):
        ImageBatch(torch.zeros(2, 3, 1, 1), torch.tensor([0]), torch.tensor([0, 1]))


def _folder_with_corrupt_file(root):
    for c in ("a", "b"):
        for i in range(2):
            p = root / "train" / c / f"{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((5, 5, 3), 10 * i, np.uint8)).save(p)
    bad = root / "train" / "b" / "2_broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (name,) = register_image_folder(f"test_corrupt_{uuid.uuid4().hex[:6]}", str(root), splits=("train",))
    return name, bad


def test_corrupt_image_is_a_clear_error(tmp_path):
    name, bad = _folder_with_corrupt_file(tmp_path)
    loader = build_test_loader(_cfg(name), name)
    with pytest.raises(CorruptImageError, match=f"Cannot decode image {bad}.*ON_CORRUPT"):
        list(loader)


def test_corrupt_image_skipped_with_a_warning(tmp_path, caplog):
    name, bad = _folder_with_corrupt_file(tmp_path)
    cfg = _cfg(name)
    cfg.LT.INPUT.ON_CORRUPT = "skip"
    loader = build_test_loader(cfg, name)
    with caplog.at_level(logging.WARNING):
        batches = list(loader)
    # Files in order a/0, a/1, b/0, b/1 | b/2_broken: the second batch loses its only image.
    assert [len(b) for b in batches] == [4, 0] and str(bad) in caplog.text
    assert "Skipped corrupt image 1 in this data-loader process" in caplog.text
    assert batches[0].labels.tolist() == [0, 0, 1, 1] and batches[0].images.shape == (4, 3, 5, 5)


def test_dataset_argument_errors():
    with pytest.raises(ValueError, match="ON_CORRUPT"):
        ClassificationDataset([{"file_name": "x", "label": 0}], Identity(), on_corrupt="ignore")
    with pytest.raises(ValueError, match="INPUT.FORMAT"):
        ClassificationDataset([{"file_name": "x", "label": 0}], Identity(), image_format="L")
    with pytest.raises(ValueError, match="mixes"):
        ClassificationDataset([{"file_name": "x", "label": 0}, {"image": np.zeros((3, 1, 1)), "label": 0}], Identity())
    # BGR flips the channel order of in-memory RGB images.
    img = np.stack([np.full((1, 1), v, np.uint8) for v in (1, 2, 3)])
    ds = ClassificationDataset([{"image": img, "label": 0}], Identity(), image_format="BGR")
    assert ds[0]["image"].flatten().tolist() == [3, 2, 1]


def test_detection_sets_are_rejected():
    name = f"test_det_{uuid.uuid4().hex[:6]}"
    DatasetCatalog.register(name, lambda: [{"file_name": "x.png", "annotations": []}])
    with pytest.raises(ValueError, match="not a classification set"):
        build_classification_train_loader(_cfg(name))
