"""The batch type of the classification loaders: a list of dicts that carries stacked tensors."""
from typing import List, Optional

import torch


class ImageBatch(list):
    """A batch of classification samples.

    It is the ``list`` of per-sample dicts that detectron2's trainers, hooks and evaluators
    expect (``{"image": uint8 [3, H, W], "label": int, "image_id": ..., "index": int}``),
    and it also carries the stacked tensors, so models and evaluators skip the per-sample
    Python work:

    Attributes:
        images: uint8 ``[N, 3, H, W]`` (the per-sample ``"image"`` entries are its rows).
        labels: int64 ``[N]``.
        indices: int64 ``[N]``, positions of the samples in the data set's list of dicts.
        image_ids: the samples' ``image_id`` values.

    Pickling (to and from data-loader workers) sends the tensors once and rebuilds the
    dicts on arrival.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        indices: torch.Tensor,
        image_ids: Optional[List] = None,
    ):
        n = len(images)
        if len(labels) != n or len(indices) != n:
            raise ValueError(f"ImageBatch: {n} images but {len(labels)} labels, {len(indices)} indices")
        self.images = images
        self.labels = labels
        self.indices = indices
        self.image_ids = list(image_ids) if image_ids is not None else indices.tolist()
        labels_list = labels.tolist()
        index_list = indices.tolist()
        super().__init__(
            {"image": images[i], "label": labels_list[i], "image_id": self.image_ids[i], "index": index_list[i]}
            for i in range(n)
        )

    def __reduce__(self):
        return (ImageBatch, (self.images, self.labels, self.indices, self.image_ids))

    @staticmethod
    def from_dicts(dicts: List[dict]) -> "ImageBatch":
        """Build a batch from dicts with an ``"image"`` uint8 ``[3, H, W]`` tensor and a ``"label"``."""
        if not dicts:
            raise ValueError("Cannot build an ImageBatch from an empty list of dicts")
        images = torch.stack([torch.as_tensor(d["image"]) for d in dicts])
        labels = torch.as_tensor([int(d["label"]) for d in dicts], dtype=torch.int64)
        indices = torch.as_tensor([int(d.get("index", i)) for i, d in enumerate(dicts)], dtype=torch.int64)
        return ImageBatch(images, labels, indices, [d.get("image_id", i) for i, d in enumerate(dicts)])
