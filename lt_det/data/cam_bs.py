"""CAM-based balance-sampling augmentation, CAM-BS (Zhang et al., "Bag of Tricks for
Long-Tailed Visual Recognition with Deep CNNs", AAAI 2021, Sec. 4.4).

After the imbalanced first stage, class activation maps (Zhou et al., CVPR 2016) of the
ground-truth class, ``CAM_y(u, v) = sum_d w_{y,d} F_d(u, v)`` (min-max normalised to
[0, 1] and upsampled to the image), mark the foreground ``CAM > threshold * mean(CAM)``
(threshold 0.75). One of three transforms is applied to the image and its foreground
mask: rotate (uniform in [-45, 45) degrees) and scale ([0.8, 1.2)) about the foreground's
box centre, translate (the box stays inside the image), or horizontal flip; the
transformed foreground is pasted back onto the untouched image, whose pixels form the
background. Class ``i`` gets ``n_max + n_min - n_i`` such images (the reference caps
large sets: classes with ``n_i >= cap`` get none, the others at most ``cap``), made from
random images of that class; the balanced stage trains on the original set plus them.

Generation is batched (``affine_grid`` / ``grid_sample``) and cached under
``LT.CAM_BS.CACHE_DIR`` (default ``OUTPUT_DIR/cam_bs``): ``images.npz`` (uint8 images,
labels, source indices, transform codes) and ``index.json``; for file-based sets the images
are also written as PNGs, which the registered data set lists.
"""
import json
import logging
import math
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)

# Transform codes stored with each generated image.
ROTATE_SCALE, TRANSLATE, HFLIP = 0, 1, 2
TRANSFORM_NAMES = {ROTATE_SCALE: "rotate_scale", TRANSLATE: "translate", HFLIP: "hflip"}


def cam_bs_counts(counts: Sequence[int], max_per_class: int = 0) -> np.ndarray:
    """Images to generate per class: ``n_max + n_min - n_i``; with ``max_per_class > 0``
    (the reference's cap for large sets) classes with ``n_i >= cap`` get 0 and the others
    ``min(n_max + n_min - n_i, cap)``. Classes without images get 0 (nothing to copy)."""
    n = np.asarray(counts, dtype=np.int64)
    present = n > 0
    if not present.any():
        return np.zeros_like(n)
    absent = n[present].max() + n[present].min() - n
    absent[~present] = 0
    if max_per_class > 0:
        absent = np.where(n >= max_per_class, 0, np.minimum(absent, max_per_class))
    return absent


def class_activation_maps(fmap: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Ground-truth-class CAMs ``[N, H, W]`` in [0, 1].

    Args:
        fmap: last-stage features ``[N, D, h, w]``.
        weight: linear classifier weight ``[K, D]`` (bias ignored, as in Zhou et al.).
        labels: ``[N]`` classes whose maps are taken.
        size: output ``(H, W)`` (bilinear upsampling).
    """
    w = weight[labels]  # [N, D]
    cam = torch.einsum("nd,ndhw->nhw", w.to(fmap.dtype), fmap).unsqueeze(1)
    cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False).squeeze(1)
    flat = cam.flatten(1)
    lo, hi = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    flat = (flat - lo) / (hi - lo).clamp(min=1e-12)
    return flat.view_as(cam)


def foreground_masks(cams: torch.Tensor, threshold: float = 0.75) -> torch.Tensor:
    """Boolean ``[N, H, W]``: pixels whose CAM exceeds ``threshold`` x the image's mean CAM."""
    mean = cams.flatten(1).mean(dim=1).view(-1, 1, 1)
    return cams > threshold * mean


def _boxes(masks: torch.Tensor) -> torch.Tensor:
    """``[N, 4]`` (x_min, y_min, x_max, y_max) of each mask (the whole image if empty)."""
    n, h, w = masks.shape
    out = torch.empty(n, 4, dtype=torch.float64)
    for i in range(n):
        ys, xs = torch.nonzero(masks[i], as_tuple=True)
        if ys.numel() == 0:
            out[i] = torch.tensor([0, 0, w - 1, h - 1], dtype=torch.float64)
        else:
            out[i] = torch.tensor([xs.min(), ys.min(), xs.max(), ys.max()], dtype=torch.float64)
    return out


def transform_matrices(
    kinds: torch.Tensor, boxes: torch.Tensor, size: Tuple[int, int], rng: np.random.Generator
) -> Tuple[torch.Tensor, List[dict]]:
    """Forward pixel-space affine maps ``[N, 3, 3]`` (input pixel -> output pixel) and the
    drawn parameters of each (angle/scale, shift or flip)."""
    h, w = size
    mats, params = [], []
    for kind, (x0, y0, x1, y1) in zip(kinds.tolist(), boxes.tolist()):
        m = np.eye(3)
        if kind == ROTATE_SCALE:
            angle = float(rng.uniform(-45.0, 45.0))
            scale = float(rng.uniform(0.8, 1.2))
            cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
            a = math.radians(angle)
            rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
            t1 = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
            t2 = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
            m = t2 @ (scale * rot + np.diag([0, 0, 1 - scale])) @ t1
            params.append({"angle": angle, "scale": scale})
        elif kind == TRANSLATE:
            dx = int(rng.integers(-int(x0), int(w - x1))) if w - x1 > -x0 else 0
            dy = int(rng.integers(-int(y0), int(h - y1))) if h - y1 > -y0 else 0
            m = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)
            params.append({"dx": dx, "dy": dy})
        else:
            m = np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1]], dtype=np.float64)
            params.append({})
        mats.append(m)
    return torch.as_tensor(np.stack(mats)), params


def warp(x: torch.Tensor, forward: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Apply forward pixel-space affine maps ``[N, 3, 3]`` to ``x [N, C, H, W]`` with
    ``affine_grid`` / ``grid_sample`` (outside the image: zeros)."""
    n, _, h, w = x.shape
    # Pixel centre (u, v) <-> normalised (2u + 1) / W - 1 (align_corners=False).
    to_norm = torch.tensor([[2.0 / w, 0, 1.0 / w - 1], [0, 2.0 / h, 1.0 / h - 1], [0, 0, 1]], dtype=torch.float64)
    theta = to_norm @ torch.linalg.inv(forward) @ torch.linalg.inv(to_norm)
    grid = F.affine_grid(theta[:, :2].to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def paste_transformed(
    images: torch.Tensor, masks: torch.Tensor, forward: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Move each image's foreground by its map and paste it onto the original image.

    Args:
        images: float ``[N, C, H, W]``.
        masks: boolean foreground ``[N, H, W]``.
        forward: ``[N, 3, 3]`` pixel-space maps.

    Returns:
        The composed images ``[N, C, H, W]`` and the moved masks ``[N, H, W]``.
    """
    moved = warp(images, forward, "bilinear")
    moved_mask = warp(masks.unsqueeze(1).to(images.dtype), forward, "nearest").squeeze(1) > 0.5
    out = torch.where(moved_mask.unsqueeze(1), moved, images)
    return out, moved_mask


def classifier_weight(head: nn.Module) -> torch.Tensor:
    """The ``[K, D]`` weight of the (first) linear layer of a classifier head."""
    if isinstance(head, nn.Linear):
        return head.weight
    for m in head.modules():
        if isinstance(m, nn.Linear):
            return m.weight
    weight = getattr(head, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.dim() == 2:
        return weight
    raise ValueError(f"CAM-BS needs a linear classifier head, got {type(head).__name__}")


@torch.no_grad()
def generate_batch(
    model, images: torch.Tensor, labels: torch.Tensor, rng: np.random.Generator, threshold: float = 0.75, bgr: bool = False
):
    """CAM-BS images for one batch of uint8 RGB ``[N, 3, H, W]`` images of ``labels``.

    ``model`` offers the LTClassifier API (``preprocess_image``, ``backbone``,
    ``in_feature``, ``head``); ``bgr`` flips channels for a model trained on BGR input.
    Returns uint8 images ``[N, 3, H, W]`` and the transform code of each.
    """
    n, _, h, w = images.shape
    model_in = images.flip(1) if bgr else images
    x = model.preprocess_image([{"image": im} for im in model_in])
    fmap = model.backbone(x)[model.in_feature]
    cams = class_activation_maps(fmap, classifier_weight(model.head), labels.to(fmap.device), (h, w)).cpu()
    masks = foreground_masks(cams, threshold)
    kinds = torch.as_tensor(rng.integers(0, 3, size=n))
    forward, _ = transform_matrices(kinds, _boxes(masks), (h, w), rng)
    out, _ = paste_transformed(images.double(), masks, forward)
    return out.round().clamp(0, 255).to(torch.uint8), kinds


def _source_image(d: dict, image_format: str = "RGB") -> torch.Tensor:
    if "image" in d:
        return torch.as_tensor(np.asarray(d["image"]))
    from .classification.dataset import decode_image

    return decode_image(d["file_name"], "RGB")


def generate_cam_bs(
    model,
    dicts: List[dict],
    num_classes: int,
    *,
    threshold: float = 0.75,
    max_per_class: int = 0,
    batch_size: int = 64,
    seed: int = 0,
    bgr: bool = False,
):
    """Generate the CAM-BS images for a training set's dicts.

    Returns a dict of arrays: ``images`` (uint8 ``[M, 3, H, W]`` when the sources share a
    shape, else a list), ``labels`` ``[M]``, ``source_index`` ``[M]``, ``transform`` ``[M]``.
    """
    labels_all = np.asarray([int(d["label"]) for d in dicts], dtype=np.int64)
    counts = np.bincount(labels_all, minlength=num_classes)
    todo = cam_bs_counts(counts, max_per_class)
    rng = np.random.default_rng(seed)
    sources = np.concatenate(
        [rng.choice(np.flatnonzero(labels_all == c), size=int(k), replace=True) for c, k in enumerate(todo) if k > 0]
        or [np.zeros(0, dtype=np.int64)]
    ).astype(np.int64)
    was_training = model.training
    model.eval()
    images_out: List[Optional[torch.Tensor]] = [None] * len(sources)
    kinds_out = np.zeros(len(sources), dtype=np.int64)
    try:
        # Batches of same-shaped images (file-based sets may mix sizes).
        shapes = {}
        for j, s in enumerate(sources):
            shapes.setdefault(tuple(_source_image(dicts[s]).shape), []).append(j)
        for shape, members in shapes.items():
            for b in range(0, len(members), batch_size):
                idx = members[b : b + batch_size]
                imgs = torch.stack([_source_image(dicts[sources[j]]) for j in idx])
                out, kinds = generate_batch(model, imgs, torch.as_tensor(labels_all[sources[idx]]), rng, threshold, bgr)
                for t, j in enumerate(idx):
                    images_out[j] = out[t]
                    kinds_out[j] = int(kinds[t])
    finally:
        model.train(was_training)
    same = len({tuple(im.shape) for im in images_out}) <= 1
    images = torch.stack(images_out).numpy() if images_out and same else [im.numpy() for im in images_out]
    if not images_out:
        images = np.zeros((0, 3, 1, 1), dtype=np.uint8)
    return {
        "images": images,
        "labels": labels_all[sources],
        "source_index": sources,
        "transform": kinds_out,
        "counts": todo,
    }


def save_cache(result: dict, cache_dir: str, meta: dict, write_png: bool) -> List[dict]:
    """Write ``images.npz`` + ``index.json`` (and PNGs when ``write_png``); returns the
    data set dicts of the generated images."""
    os.makedirs(cache_dir, exist_ok=True)
    images = result["images"]
    dicts = []
    files = []
    if write_png:
        from PIL import Image

        for j, im in enumerate(images):
            path = os.path.join(cache_dir, f"cam_bs_{j:07d}_label{int(result['labels'][j])}.png")
            Image.fromarray(np.ascontiguousarray(np.asarray(im).transpose(1, 2, 0))).save(path)
            files.append(path)
    arrays = {k: result[k] for k in ("labels", "source_index", "transform", "counts")}
    if isinstance(images, np.ndarray):
        arrays["images"] = images
    tmp = os.path.join(cache_dir, "images.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, os.path.join(cache_dir, "images.npz"))
    index = dict(meta)
    index.update(
        {
            "num_images": int(len(result["labels"])),
            "per_class": [int(x) for x in result["counts"]],
            "transforms": {TRANSFORM_NAMES[k]: int((result["transform"] == k).sum()) for k in TRANSFORM_NAMES},
            "files": files,
        }
    )
    with open(os.path.join(cache_dir, "index.json.tmp"), "w") as f:
        json.dump(index, f, indent=1)
    os.replace(os.path.join(cache_dir, "index.json.tmp"), os.path.join(cache_dir, "index.json"))
    return cache_dicts(cache_dir)


def cache_dicts(cache_dir: str) -> List[dict]:
    """Data set dicts of a CAM-BS cache (in-memory images, or PNG files when listed)."""
    with open(os.path.join(cache_dir, "index.json")) as f:
        index = json.load(f)
    data = np.load(os.path.join(cache_dir, "images.npz"))
    labels = data["labels"]
    if index.get("files"):
        return [
            {"file_name": p, "label": int(l), "image_id": f"cam_bs_{j}"}
            for j, (p, l) in enumerate(zip(index["files"], labels))
        ]
    images = data["images"]
    return [{"image": images[j], "label": int(labels[j]), "image_id": f"cam_bs_{j}"} for j in range(len(labels))]


def prepare_cam_bs_dataset(model, cfg, regenerate: bool = True) -> str:
    """Generate (or, when ``regenerate`` is False and a cache exists, reuse) the CAM-BS
    images for ``cfg.DATASETS.TRAIN`` and register them as a classification data set;
    returns its name."""
    from detectron2.data import DatasetCatalog, MetadataCatalog

    from .class_stats import compute_class_stats, stats_to_metadata
    from .classification.dataset import get_classification_dataset_dicts

    train = [n for n in cfg.DATASETS.TRAIN if not n.endswith("_cam_bs")]
    cache_dir = cfg.LT.CAM_BS.CACHE_DIR or os.path.join(cfg.OUTPUT_DIR, "cam_bs")
    name = "+".join(train) + "_cam_bs"
    src_meta = MetadataCatalog.get(train[0])
    classes = list(src_meta.get("thing_classes", []))
    num_classes = cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES
    cached = os.path.isfile(os.path.join(cache_dir, "index.json"))
    if regenerate or not cached:
        dicts = get_classification_dataset_dicts(train)
        logger.info("CAM-BS: generating images for %s into %s", train, cache_dir)
        result = generate_cam_bs(
            model,
            dicts,
            num_classes,
            threshold=cfg.LT.CAM_BS.THRESHOLD,
            max_per_class=cfg.LT.CAM_BS.MAX_PER_CLASS,
            batch_size=cfg.LT.CAM_BS.BATCH_SIZE,
            seed=max(cfg.SEED, 0),
            bgr=cfg.INPUT.FORMAT == "BGR",
        )
        meta = {"source_datasets": train, "threshold": cfg.LT.CAM_BS.THRESHOLD}
        gen = save_cache(result, cache_dir, meta, write_png="image" not in dicts[0])
        logger.info("CAM-BS: %d images generated", len(gen))
    else:
        gen = cache_dicts(cache_dir)
        logger.info("CAM-BS: %d cached images read from %s", len(gen), cache_dir)
    if not gen:
        raise ValueError("CAM-BS generated no images (the training set is already balanced)")
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
        MetadataCatalog.remove(name)
    DatasetCatalog.register(name, lambda d=gen: d)
    stats = compute_class_stats(gen, num_classes)
    MetadataCatalog.get(name).set(
        task="classification",
        evaluator_type=src_meta.get("evaluator_type", "lt_classification"),
        thing_classes=classes,
        **stats_to_metadata(stats),
    )
    return name
