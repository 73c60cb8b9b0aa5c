"""Classification data sets as torch datasets that fetch a whole batch at once.

A classification data set registered in ``DatasetCatalog`` returns dicts with an integer
``"label"`` in ``[0, C)``, an ``"image_id"`` and either

* ``"file_name"``: an image file (decoded with PIL), or
* ``"image"``: the image in memory, uint8 ``[3, H, W]`` RGB (CIFAR, read from its pickles).

Its metadata has ``task="classification"``, ``evaluator_type="lt_classification"``,
``thing_classes`` and (training sets) the class statistics, computed from the set's one load
on first read (``lt_det.data.catalog``).
"""
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.detection_utils import read_image
from PIL import Image

from ..class_stats import ClassStats, class_stats_from_metadata
from ..corrupt_images import (  # noqa: F401  (CorruptImageError, ON_CORRUPT_CHOICES: re-exported)
    DECODE_ERRORS,
    ON_CORRUPT_CHOICES,
    CorruptImageError,
    SkipLog,
    check_on_corrupt,
    corrupt_image_error,
)
from .batch import ImageBatch


# Single-channel modes wider than 8 bits (16-bit PNG/TIFF SAR chips, float TIFFs), which
# PIL's convert("RGB") would clip at 255 instead of scaling.
WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _wide_grey_to_rgb(image) -> np.ndarray:
    """A wide single-channel image as HxWx3 uint8: 16-bit by full scale (v / 257, so 65535 ->
    255 for every image alike); 32-bit integer and float by the image's own min-max range."""
    arr = np.asarray(image).astype(np.float64)
    if image.mode.startswith("I;16"):
        arr = arr / 257.0
    else:
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (np.nan_to_num(arr, nan=lo) - lo) * (255.0 / (hi - lo) if hi > lo else 0.0)
    grey = np.clip(arr + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def decode_image(file_name: str, image_format: str = "RGB") -> torch.Tensor:
    """Read an image file as a uint8 ``[3, H, W]`` tensor in ``image_format`` ("RGB"/"BGR").

    Grey images (8-bit "L", e.g. SAR chips) are replicated to three equal channels; wider
    grey images ("I;16", "I", "F") are scaled to 8 bits first (``_wide_grey_to_rgb``).
    """
    try:
        with Image.open(file_name) as probe:
            wide = probe.mode in WIDE_GREY_MODES
            arr = _wide_grey_to_rgb(probe) if wide else None
        if not wide:
            arr = read_image(file_name, format=image_format)
    except DECODE_ERRORS + (ValueError,) as e:
        raise corrupt_image_error(file_name, e) from None
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise CorruptImageError(f"Image {file_name} decoded to shape {arr.shape}, expected HxWx3")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def get_classification_dataset_dicts(names: Sequence[str]) -> List[dict]:
    """Load and concatenate registered classification sets (which must share one class list)."""
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError("No data set given (cfg.DATASETS.TRAIN / TEST is empty)")
    dicts, classes = [], None
    for name in names:
        part = DatasetCatalog.get(name)
        if len(part) == 0:
            raise ValueError(f"Data set {name!r} is empty")
        if "label" not in part[0]:
            raise ValueError(
                f"Data set {name!r} has no 'label' in its dicts: it is not a classification "
                "set (register it with task='classification')"
            )
        names_i = MetadataCatalog.get(name).get("thing_classes")
        if classes is not None and names_i is not None and list(names_i) != list(classes):
            raise ValueError(f"Data sets {names} do not share one class list")
        classes = names_i if names_i is not None else classes
        dicts.extend(part)
    return dicts


def classification_class_stats(names: Sequence[str]) -> ClassStats:
    """Class statistics of training sets, from their metadata (``class_stats_from_metadata``)."""
    return class_stats_from_metadata(names)


class ClassificationDataset(torch.utils.data.Dataset):
    """Map-style dataset over classification dicts whose unit of work is a batch.

    ``__getitems__(indices)`` (which torch's ``DataLoader`` calls with a batch sampler's
    whole list of indices) returns an ``ImageBatch``: in-memory images are gathered from
    one stacked array in a single indexing op, files are decoded one by one, and then the
    batch ``transform`` crops and flips all of them together.

    Args:
        dicts: the data set's dicts.
        transform: a batch transform from ``CLS_TRANSFORM_REGISTRY``.
        image_format: "RGB" or "BGR" (detectron2's ``INPUT.FORMAT``).
        on_corrupt: "error" raises ``CorruptImageError`` naming the file; "skip" drops the
            sample from its batch and logs a warning counting the skipped files.
    """

    def __init__(
        self,
        dicts: List[dict],
        transform: Callable,
        image_format: str = "RGB",
        on_corrupt: str = "error",
    ):
        if image_format not in ("RGB", "BGR"):
            raise ValueError(f"INPUT.FORMAT must be 'RGB' or 'BGR' for classification, got {image_format!r}")
        check_on_corrupt(on_corrupt)
        self.transform = transform
        self.image_format = image_format
        self.on_corrupt = on_corrupt
        self.skip_log = SkipLog()
        self.labels = torch.as_tensor([int(d["label"]) for d in dicts], dtype=torch.int64)
        self.image_ids = [d.get("image_id", i) for i, d in enumerate(dicts)]
        in_memory = ["image" in d for d in dicts]
        if all(in_memory):
            arrays = [np.asarray(d["image"]) for d in dicts]
            if len({a.shape for a in arrays}) > 1:
                raise ValueError("In-memory images of a data set must share one shape")
            self.array: Optional[torch.Tensor] = torch.from_numpy(np.stack(arrays))
            if image_format == "BGR":
                self.array = self.array.flip(1).contiguous()
            self.files = None
        elif not any(in_memory):
            self.array = None
            self.files = [d["file_name"] for d in dicts]
        else:
            raise ValueError("A data set mixes in-memory images and files; register them separately")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def _decode(self, indices: List[int]):
        images, kept = [], []
        for i in indices:
            try:
                images.append(decode_image(self.files[i], self.image_format))
            except CorruptImageError as e:
                if self.on_corrupt == "error":
                    raise
                self.skip_log(e)
                continue
            kept.append(i)
        return images, kept

    def __getitems__(self, indices: List[int]) -> ImageBatch:
        indices = [int(i) for i in indices]
        if self.array is not None:
            idx = torch.as_tensor(indices, dtype=torch.int64)
            images = self.transform(self.array[idx])
        else:
            decoded, indices = self._decode(indices)
            idx = torch.as_tensor(indices, dtype=torch.int64)
            images = self.transform(decoded)
        return ImageBatch(images, self.labels[idx], idx, [self.image_ids[i] for i in indices])


def collate_image_batch(batch: ImageBatch) -> ImageBatch:
    """``collate_fn`` for ``ClassificationDataset``: the batch is already collated."""
    return batch
