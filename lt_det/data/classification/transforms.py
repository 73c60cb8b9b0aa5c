"""Batch augmentations for classification, done with torch ops on uint8 images.

A transform takes the decoded images of one batch, either a stacked uint8 tensor
``[N, 3, H, W]`` (in-memory sets such as CIFAR, all of one size) or a list of uint8
``[3, H_i, W_i]`` tensors (decoded files of any size), and returns a stacked uint8 tensor
``[N, 3, h, w]``. Work that does not depend on the image size (crop offsets, flips) is done
once for the whole batch, so a CIFAR batch costs a few tensor ops instead of 128 PIL calls.

Randomness comes from torch's global generator, which detectron2 seeds
(``seed_all_rng``) and data-loader workers re-seed per worker.
"""
import math
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from detectron2.config import configurable
from detectron2.utils.registry import Registry

Images = Union[torch.Tensor, List[torch.Tensor]]

CLS_TRANSFORM_REGISTRY = Registry("LT_CLS_TRANSFORM")
CLS_TRANSFORM_REGISTRY.__doc__ = """
Registry of batch transforms for classification inputs (``LT.CLS_INPUT.TRAIN_TRANSFORM``,
``LT.CLS_INPUT.TEST_TRANSFORM``).

Call contract: the registered class is ``@configurable``, built as ``cls(cfg)``; its
``from_config`` maps ``cfg.LT.CLS_INPUT.*`` to keyword arguments. ``transform(images)``
takes a uint8 ``[N, 3, H, W]`` tensor or a list of uint8 ``[3, H_i, W_i]`` tensors and
returns a uint8 ``[N, 3, h, w]`` tensor.
"""


def _stack_same_size(images: Images, who: str) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images
    if not images:
        return torch.empty(0, 3, 0, 0, dtype=torch.uint8)
    shapes = {tuple(x.shape) for x in images}
    if len(shapes) > 1:
        raise ValueError(
            f"{who} needs images of one size but got {sorted(shapes)[:3]}...; use "
            "'RandomResizedCropFlip' / 'ResizeCenterCrop' in LT.CLS_INPUT.*_TRANSFORM for "
            "data sets of varying image sizes"
        )
    return torch.stack(images)


def random_flip(images: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Flip each image of ``[N, C, H, W]`` horizontally with probability ``p``."""
    if len(images) == 0:
        return images
    flip = torch.rand(len(images)) < p
    if not flip.any():
        return images
    out = images.clone()
    out[flip] = images[flip].flip(-1)
    return out


def resize_short_side(image: torch.Tensor, short: int) -> torch.Tensor:
    """Resize ``[..., 3, H, W]`` uint8 so the shorter side is ``short`` (bilinear, antialiased)."""
    h, w = image.shape[-2:]
    if min(h, w) == short:
        return image
    scale = short / min(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return _resize(image, size)


def _resize(image: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    batched = image.dim() == 4
    x = image if batched else image[None]
    x = F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
    x = x.round_().clamp_(0, 255).to(torch.uint8)
    return x if batched else x[0]


def center_crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """Central ``size x size`` crop of ``[..., H, W]`` (zero-padded if the image is smaller)."""
    h, w = image.shape[-2:]
    if h < size or w < size:
        ph, pw = max(0, size - h), max(0, size - w)
        image = F.pad(image, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        h, w = image.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return image[..., top : top + size, left : left + size]


@CLS_TRANSFORM_REGISTRY.register()
class Identity:
    """No change; images must share one size."""

    @configurable
    def __init__(self):
        pass

    @classmethod
    def from_config(cls, cfg):
        return {}

    def __call__(self, images: Images) -> torch.Tensor:
        return _stack_same_size(images, "Identity")


@CLS_TRANSFORM_REGISTRY.register()
class PadCropFlip:
    """CIFAR augmentation: zero-pad ``pad`` pixels, random ``crop_size`` crop, random h-flip.

    The standard recipe of He et al. (2016) used by the CIFAR-LT literature. Crop offsets
    and flips of the whole batch are applied by one gather.

    Args:
        crop_size: output side.
        pad: zero padding on each side before cropping.
        flip: random horizontal flip with probability 0.5.
    """

    @configurable
    def __init__(self, *, crop_size: int, pad: int = 4, flip: bool = True):
        if crop_size <= 0 or pad < 0:
            raise ValueError(f"PadCropFlip: bad crop_size {crop_size} / pad {pad}")
        self.crop_size = int(crop_size)
        self.pad = int(pad)
        self.flip = bool(flip)

    @classmethod
    def from_config(cls, cfg):
        c = cfg.LT.CLS_INPUT
        return {"crop_size": c.CROP_SIZE, "pad": c.PAD, "flip": c.FLIP}

    def __call__(self, images: Images) -> torch.Tensor:
        x = _stack_same_size(images, "PadCropFlip")
        n = len(x)
        if n == 0:
            return x
        p, s = self.pad, self.crop_size
        if p:
            x = F.pad(x, (p, p, p, p))
        h, w = x.shape[-2:]
        if h < s or w < s:
            raise ValueError(f"PadCropFlip: padded images are {h}x{w}, smaller than the crop {s}")
        top = torch.randint(0, h - s + 1, (n,))
        left = torch.randint(0, w - s + 1, (n,))
        ar = torch.arange(s)
        rows = top[:, None] + ar  # [n, s]
        cols = left[:, None] + ar  # [n, s]
        if self.flip:
            flip = torch.rand(n) < 0.5
            cols = torch.where(flip[:, None], cols.flip(1), cols)
        # One gather over the flattened pixels (6x faster on CPU than advanced indexing):
        # output pixel (r, c) of image i reads padded pixel rows[i, r] * w + cols[i, c].
        flat = (rows[:, :, None] * w + cols[:, None, :]).view(n, 1, s * s).expand(n, x.shape[1], s * s)
        return x.flatten(2).gather(2, flat).view(n, x.shape[1], s, s)


@CLS_TRANSFORM_REGISTRY.register()
class RandomResizedCropFlip:
    """ImageNet-style training augmentation (Szegedy et al., 2015): a random crop covering
    ``scale`` of the area with aspect ratio in ``ratio`` (log-uniform), resized to
    ``crop_size``, then a random horizontal flip.

    Args:
        crop_size: output side (224 for ImageNet-LT / iNaturalist / Places-LT).
        scale: range of the crop's area fraction.
        ratio: range of the crop's aspect ratio w / h.
        flip: random horizontal flip with probability 0.5.
    """

    @configurable
    def __init__(
        self,
        *,
        crop_size: int,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
        flip: bool = True,
    ):
        if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f"RandomResizedCropFlip: bad scale {scale} or ratio {ratio}")
        self.crop_size = int(crop_size)
        self.scale = (float(scale[0]), float(scale[1]))
        self.log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        self.flip = bool(flip)

    @classmethod
    def from_config(cls, cfg):
        c = cfg.LT.CLS_INPUT
        return {"crop_size": c.CROP_SIZE, "scale": c.RRC_SCALE, "ratio": c.RRC_RATIO, "flip": c.FLIP}

    def sample_box(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """(top, left, height, width) of a crop; the centred largest crop after 10 misses."""
        area = h * w
        for _ in range(10):
            target = area * float(torch.empty(1).uniform_(*self.scale))
            aspect = math.exp(float(torch.empty(1).uniform_(*self.log_ratio)))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                top = int(torch.randint(0, h - ch + 1, (1,)))
                left = int(torch.randint(0, w - cw + 1, (1,)))
                return top, left, ch, cw
        # Fallback: the whole image, clipped to the allowed aspect ratios.
        r = w / h
        lo, hi = math.exp(self.log_ratio[0]), math.exp(self.log_ratio[1])
        if r < lo:
            cw, ch = w, int(round(w / lo))
        elif r > hi:
            ch, cw = h, int(round(h * hi))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def __call__(self, images: Images) -> torch.Tensor:
        s = self.crop_size
        crops = []
        for img in images:
            top, left, ch, cw = self.sample_box(*img.shape[-2:])
            crops.append(_resize(img[:, top : top + ch, left : left + cw], (s, s)))
        if not crops:
            return torch.empty(0, 3, s, s, dtype=torch.uint8)
        out = torch.stack(crops)
        return random_flip(out) if self.flip else out


@CLS_TRANSFORM_REGISTRY.register()
class ResizeCenterCrop:
    """Evaluation transform: resize the shorter side to ``resize_short``, centre-crop
    ``crop_size`` (CIFAR-LT: 36 / 32, ImageNet style: 256 / 224; Zhang et al., 2021).

    Args:
        resize_short: shorter side after resizing.
        crop_size: output side.
    """

    @configurable
    def __init__(self, *, resize_short: int, crop_size: int):
        if resize_short < crop_size:
            raise ValueError(
                f"ResizeCenterCrop: LT.CLS_INPUT.RESIZE_SHORT {resize_short} < CROP_SIZE {crop_size}"
            )
        self.resize_short = int(resize_short)
        self.crop_size = int(crop_size)

    @classmethod
    def from_config(cls, cfg):
        c = cfg.LT.CLS_INPUT
        return {"resize_short": c.RESIZE_SHORT, "crop_size": c.CROP_SIZE}

    def __call__(self, images: Images) -> torch.Tensor:
        s = self.crop_size
        if isinstance(images, torch.Tensor):  # one size: one resize call for the batch
            if len(images) == 0:
                return torch.empty(0, 3, s, s, dtype=torch.uint8)
            return center_crop(resize_short_side(images, self.resize_short), s).contiguous()
        if not images:
            return torch.empty(0, 3, s, s, dtype=torch.uint8)
        return torch.stack([center_crop(resize_short_side(x, self.resize_short), s) for x in images])


STRONG_AUGMENTS = ("none", "randaugment", "autoaugment_imagenet", "autoaugment_cifar10")


class StrongAugment:
    """A training transform followed, image by image, by torchvision's RandAugment
    (Cubuk et al., NeurIPS-W 2020; ``num_ops`` N, ``magnitude`` M) or AutoAugment (Cubuk et
    al., CVPR 2019; its ImageNet or CIFAR-10 policy) on the uint8 crops - the "strong
    augmentation" of the long-tail recipes (PaCo, Decoupled Optimisation)."""

    def __init__(self, base, kind: str, num_ops: int = 2, magnitude: int = 9):
        from torchvision.transforms import v2

        if kind == "randaugment":
            self.op = v2.RandAugment(num_ops=num_ops, magnitude=magnitude)
        elif kind == "autoaugment_imagenet":
            self.op = v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)
        elif kind == "autoaugment_cifar10":
            self.op = v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)
        else:
            raise ValueError(f"LT.CLS_INPUT.STRONG_AUGMENT must be one of {STRONG_AUGMENTS}, got {kind!r}")
        self.base = base

    def __call__(self, images: Images) -> torch.Tensor:
        x = self.base(images)
        if len(x) == 0:
            return x
        return torch.stack([self.op(im) for im in x])


def build_cls_transform(cfg, is_train: bool):
    """The transform named by ``LT.CLS_INPUT.TRAIN_TRANSFORM`` or ``TEST_TRANSFORM`` (the
    training one followed by ``LT.CLS_INPUT.STRONG_AUGMENT`` when set)."""
    key = "TRAIN_TRANSFORM" if is_train else "TEST_TRANSFORM"
    name = cfg.LT.CLS_INPUT[key]
    if name not in CLS_TRANSFORM_REGISTRY:
        known = ", ".join(sorted(k for k, _ in CLS_TRANSFORM_REGISTRY))
        raise KeyError(f"Unknown LT.CLS_INPUT.{key} {name!r}; registered transforms: {known}")
    transform = CLS_TRANSFORM_REGISTRY.get(name)(cfg)
    strong = cfg.LT.CLS_INPUT.STRONG_AUGMENT
    if is_train and strong != "none":
        transform = StrongAugment(transform, strong, cfg.LT.CLS_INPUT.RANDAUGMENT_N, cfg.LT.CLS_INPUT.RANDAUGMENT_M)
    return transform
