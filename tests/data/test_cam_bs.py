import numpy as np
import torch

from lt_det.data.cam_bs import (
    HFLIP,
    TRANSLATE,
    _boxes,
    cache_dicts,
    cam_bs_counts,
    class_activation_maps,
    foreground_masks,
    generate_cam_bs,
    paste_transformed,
    save_cache,
    transform_matrices,
)


def test_counts_rule():
    # n = [100, 40, 10]: n_max + n_min - n_i = 110 - n_i = [10, 70, 100].
    assert cam_bs_counts([100, 40, 10]).tolist() == [10, 70, 100]
    # Cap 50 (reference, large sets): n_i >= 50 -> 0; others min(., 50).
    assert cam_bs_counts([100, 40, 10], 50).tolist() == [0, 50, 50]
    # A class without images gets nothing (nothing to copy); empty set.
    assert cam_bs_counts([5, 0, 1]).tolist() == [1, 0, 5]
    assert cam_bs_counts([0, 0]).tolist() == [0, 0]


def test_cam_and_mask_from_hand_built_features():
    # Feature map: channel 0 lights the top-left 2x2 corner, channel 1 the bottom-right.
    fmap = torch.zeros(1, 2, 4, 4)
    fmap[0, 0, :2, :2] = 1.0
    fmap[0, 1, 2:, 2:] = 1.0
    weight = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # class 0 <- channel 0, class 1 <- channel 1
    cam0 = class_activation_maps(fmap, weight, torch.tensor([0]), (4, 4))
    assert torch.allclose(cam0[0, :2, :2], torch.ones(2, 2)) and cam0[0, 2:, 2:].sum() == 0
    # mean CAM = 4/16 = 0.25 -> threshold 0.1875: exactly the lit corner is foreground.
    mask = foreground_masks(cam0, 0.75)
    want = torch.zeros(1, 4, 4, dtype=torch.bool)
    want[0, :2, :2] = True
    assert torch.equal(mask, want)
    cam1 = class_activation_maps(fmap, weight, torch.tensor([1]), (4, 4))
    assert torch.equal(foreground_masks(cam1, 0.75)[0, 2:, 2:], torch.ones(2, 2, dtype=torch.bool))


def test_paste_takes_pixels_from_the_attended_area():
    # 1-channel 4x4 image with distinct values; foreground = top-left 2x2 (values 0, 1, 4, 5).
    img = torch.arange(16, dtype=torch.float64).view(1, 1, 4, 4)
    mask = torch.zeros(1, 4, 4, dtype=torch.bool)
    mask[0, :2, :2] = True
    rng = np.random.default_rng(0)
    # Translate: the box (0,0)-(1,1) may move by dx, dy in [0, 3): drawn from rng.
    fwd, params = transform_matrices(torch.tensor([TRANSLATE]), _boxes(mask), (4, 4), rng)
    dx, dy = params[0]["dx"], params[0]["dy"]
    out, moved = paste_transformed(img, mask, fwd)
    expected = img.clone()
    expected[0, 0, dy : dy + 2, dx : dx + 2] = img[0, 0, :2, :2]
    assert torch.allclose(out, expected)
    assert moved.sum() == 4
    # Horizontal flip: the corner lands at the top-right, mirrored; the rest is untouched.
    fwd, _ = transform_matrices(torch.tensor([HFLIP]), _boxes(mask), (4, 4), rng)
    out, _ = paste_transformed(img, mask, fwd)
    expected = img.clone()
    expected[0, 0, :2, 2:] = img[0, 0, :2, :2].flip(-1)
    assert torch.allclose(out, expected)


class _CamModel(torch.nn.Module):
    """Backbone output = the image itself (3 channels, 1:1), head weight picks channel c."""

    def __init__(self):
        super().__init__()
        self.in_feature = "res4"
        self.head = torch.nn.Linear(3, 3, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(3))

    def preprocess_image(self, batch):
        return torch.stack([d["image"] for d in batch]).float()

    def backbone(self, x):
        return {"res4": x}


def test_generate_and_cache_round_trip(tmp_path):
    # Class 0: 3 images, class 1: 1 image -> class 0 gets 3 + 1 - 3 = 1, class 1 gets 3.
    dicts = []
    for i, label in enumerate([0, 0, 0, 1]):
        im = np.zeros((3, 6, 6), dtype=np.uint8)
        im[label, 1:3, 1:3] = 200  # the class's channel lights a 2x2 square
        dicts.append({"image": im, "label": label, "image_id": i})
    res = generate_cam_bs(_CamModel(), dicts, 3, batch_size=2, seed=1)
    assert res["labels"].tolist() == [0, 1, 1, 1]
    assert res["counts"].tolist() == [1, 3, 0]
    assert res["images"].shape == (4, 3, 6, 6) and res["images"].dtype == np.uint8
    for im, lab in zip(res["images"], res["labels"]):
        # The pasted square keeps its pixels: still 4 bright pixels of value 200 (translate,
        # flip) or about 4 after rotate/scale; the background stays 0.
        bright = (im[lab] > 100).sum()
        assert 2 <= bright <= 8
    gen = save_cache(res, str(tmp_path), {"source": "test"}, write_png=False)
    again = cache_dicts(str(tmp_path))
    assert len(gen) == len(again) == 4
    assert np.array_equal(again[1]["image"], res["images"][1]) and again[1]["label"] == 1
    assert (tmp_path / "index.json").exists() and (tmp_path / "images.npz").exists()
    png = save_cache(res, str(tmp_path / "png"), {}, write_png=True)
    assert png[0]["file_name"].endswith(".png")
