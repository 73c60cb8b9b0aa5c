import pytest
import torch

from lt_det.config import get_lt_cfg
from lt_det.data.classification.transforms import (
    CLS_TRANSFORM_REGISTRY,
    Identity,
    PadCropFlip,
    RandomResizedCropFlip,
    ResizeCenterCrop,
    build_cls_transform,
    center_crop,
    resize_short_side,
)


def _cfg(**keys):
    cfg = get_lt_cfg()
    for k, v in keys.items():
        cfg.LT.CLS_INPUT[k] = v
    return cfg


def _images(n=4, h=6, w=6):
    return torch.arange(n * 3 * h * w, dtype=torch.int64).remainder(251).to(torch.uint8).view(n, 3, h, w)


def test_build_from_config():
    t = build_cls_transform(_cfg(TRAIN_TRANSFORM="PadCropFlip", CROP_SIZE=28, PAD=2), is_train=True)
    assert isinstance(t, PadCropFlip) and (t.crop_size, t.pad, t.flip) == (28, 2, True)
    t = build_cls_transform(_cfg(TEST_TRANSFORM="ResizeCenterCrop", RESIZE_SHORT=40, CROP_SIZE=32), is_train=False)
    assert isinstance(t, ResizeCenterCrop) and (t.resize_short, t.crop_size) == (40, 32)
    assert {"Identity", "PadCropFlip", "RandomResizedCropFlip", "ResizeCenterCrop"} <= {k for k, _ in CLS_TRANSFORM_REGISTRY}
    with pytest.raises(KeyError, match="TRAIN_TRANSFORM"):
        build_cls_transform(_cfg(TRAIN_TRANSFORM="Nope"), is_train=True)


def test_pad_crop_flip_every_output_is_a_shifted_or_flipped_window():
    torch.manual_seed(0)
    x = _images(n=16)
    out = PadCropFlip(crop_size=6, pad=2, flip=True)(x)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    flips = 0
    for i in range(16):
        # The crop must equal one of the 5 x 5 windows of the padded image, or its mirror.
        windows = [padded[i, :, t : t + 6, l : l + 6] for t in range(5) for l in range(5)]
        plain = any(torch.equal(out[i], w) for w in windows)
        mirrored = any(torch.equal(out[i], w.flip(-1)) for w in windows)
        assert plain or mirrored
        flips += mirrored and not plain
    assert 0 < flips < 16  # p = 0.5: with 16 images both outcomes occur (seeded)


def test_pad_crop_without_pad_or_flip_is_identity():
    x = _images()
    assert torch.equal(PadCropFlip(crop_size=6, pad=0, flip=False)(x), x)
    assert torch.equal(PadCropFlip(crop_size=6, pad=0, flip=False)(list(x)), x)


def test_resize_center_crop_hand_values():
    # A 2x4 image resized to shorter side 2 is unchanged; the centre 2x2 crop takes columns 1-2.
    img = torch.arange(24, dtype=torch.uint8).view(1, 3, 2, 4)
    out = ResizeCenterCrop(resize_short=2, crop_size=2)(img)
    assert torch.equal(out, img[..., 1:3])
    # Upsampling a constant image keeps it constant; sizes follow the aspect ratio.
    const = torch.full((3, 4, 8), 77, dtype=torch.uint8)
    r = resize_short_side(const, 6)
    assert r.shape == (3, 6, 12) and (r == 77).all()
    assert center_crop(r, 6).shape == (3, 6, 6)
    # Images of different sizes (a list) are each resized and cropped.
    out = ResizeCenterCrop(resize_short=8, crop_size=8)([const, torch.zeros(3, 10, 9, dtype=torch.uint8)])
    assert out.shape == (2, 3, 8, 8) and (out[0] == 77).all()
    with pytest.raises(ValueError, match="RESIZE_SHORT"):
        ResizeCenterCrop(resize_short=4, crop_size=8)


def test_random_resized_crop_shapes_and_boxes():
    torch.manual_seed(0)
    t = RandomResizedCropFlip(crop_size=16, scale=(0.25, 1.0), ratio=(0.75, 4 / 3))
    imgs = [torch.randint(0, 256, (3, 40, 30), dtype=torch.uint8), torch.randint(0, 256, (3, 20, 50), dtype=torch.uint8)]
    out = t(imgs)
    assert out.shape == (2, 3, 16, 16) and out.dtype == torch.uint8
    for _ in range(50):
        top, left, h, w = t.sample_box(40, 30)
        assert 0 <= top and top + h <= 40 and 0 <= left and left + w <= 30
        assert 0.25 * 1200 * 0.9 <= h * w <= 1200  # area within the scale range (rounding)


def test_errors_and_empty_batches():
    mixed = [torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(3, 5, 5, dtype=torch.uint8)]
    with pytest.raises(ValueError, match="one size"):
        PadCropFlip(crop_size=4, pad=0)(mixed)
    with pytest.raises(ValueError, match="one size"):
        Identity()(mixed)
    assert PadCropFlip(crop_size=4)([]).shape[0] == 0
    assert ResizeCenterCrop(resize_short=4, crop_size=4)([]).shape == (0, 3, 4, 4)
    assert RandomResizedCropFlip(crop_size=4)([]).shape == (0, 3, 4, 4)


def test_strong_augment_wraps_the_training_transform_only():
    import pytest as _pytest

    from lt_det.config import get_lt_cfg
    from lt_det.data.classification.transforms import StrongAugment, build_cls_transform

    cfg = get_lt_cfg()
    cfg.LT.CLS_INPUT.TRAIN_TRANSFORM = "Identity"
    cfg.LT.CLS_INPUT.TEST_TRANSFORM = "Identity"
    cfg.LT.CLS_INPUT.STRONG_AUGMENT = "randaugment"
    t = build_cls_transform(cfg, is_train=True)
    assert isinstance(t, StrongAugment) and not isinstance(build_cls_transform(cfg, is_train=False), StrongAugment)
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    y = t(x)
    assert y.shape == x.shape and y.dtype == torch.uint8
    # At M = 9 with two ops per image, a batch of 16 random images does not come out unchanged.
    torch.manual_seed(0)
    assert not torch.equal(t(x.repeat(4, 1, 1, 1)), x.repeat(4, 1, 1, 1))
    cfg.LT.CLS_INPUT.STRONG_AUGMENT = "mixup"
    with _pytest.raises(ValueError, match="LT.CLS_INPUT.STRONG_AUGMENT"):
        build_cls_transform(cfg, is_train=True)
