import math
import os

import numpy as np
import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from lt_det.data.datasets.lt_sar import (
    CLASSES,
    DB_MAX,
    DB_MIN,
    MAVOC_2021_SAR_TRAIN_COUNTS,
    TEMPLATES,
    LTSARSpec,
    apply_speckle,
    class_names,
    draw_chip,
    generate_lt_sar,
    reflectivity_map,
    scaled_counts,
    to_uint8_db,
    train_counts,
)

TINY = LTSARSpec(head_train=6, tail_train=2, test_per_class=2, image_size=32, seed=3)


def test_counts_follow_the_mavoc_profile():
    # MAVOC 2021 SAR: n_max = 234,209 (sedan), n_min = 624 (bus). Default head 1,200, tail 12:
    # beta = ln(100) / ln(234209 / 624) = 4.6052 / 5.9278 = 0.7769;
    # SUV: 1200 * (28089 / 234209)^0.7769 = 1200 * 0.11993^0.7769 = 1200 * 0.1925 = 231;
    # box truck: 1200 * (1741 / 234209)^0.7769 = 1200 * e^(0.7769 * -4.9016) = 1200 * 0.02221 = 27.
    counts = train_counts(LTSARSpec())
    beta = math.log(100) / math.log(234209 / 624)
    assert abs(beta - 0.7769) < 1e-4
    profile = list(MAVOC_2021_SAR_TRAIN_COUNTS.values())
    assert counts == [max(12, round(1200 * (n / 234209) ** beta)) for n in profile]
    assert counts[0] == 1200 and counts[1] == 231 and counts[4] == 27 and min(counts) == 12
    assert counts[CLASSES.index("bus")] == 12
    # The profile's order is kept (ties where the real tail counts round together).
    assert all(counts[i] >= counts[j] for i in range(10) for j in range(10) if profile[i] > profile[j])
    # One dominant class: the sedan holds 1200 / 1780 = 67 % of the chips (80 % in the real
    # set); many (> 100) / medium (20-100) / few (< 20): 4 / 1 / 5 classes.
    assert sum(counts) == 1780 and counts[0] / sum(counts) > 0.5
    assert [sum(n > 100 for n in counts), sum(20 <= n <= 100 for n in counts), sum(n < 20 for n in counts)] == [4, 1, 5]
    # Hand-built profile: [1000, 100, 10] -> head 50, tail 5: beta = ln 10 / ln 100 = 0.5,
    # middle 50 * 0.1^0.5 = 15.8 -> 16.
    assert scaled_counts([1000, 100, 10], 50, 5) == [50, 16, 5]
    assert scaled_counts([7, 7], 9, 3) == [9, 9] and scaled_counts([8, 2], 4, 4) == [4, 4]
    with pytest.raises(ValueError, match="tail_train"):
        LTSARSpec(head_train=3, tail_train=5)


def test_generation_is_deterministic_by_seed(tmp_path):
    generate_lt_sar(TINY, str(tmp_path / "a"))
    generate_lt_sar(TINY, str(tmp_path / "b"))
    generate_lt_sar(LTSARSpec(**{**TINY.__dict__, "seed": 4}), str(tmp_path / "c"))
    differs = False
    for split, expected in (("train", train_counts(TINY)), ("test", [2] * 10)):
        assert sorted(os.listdir(tmp_path / "a" / split)) == class_names()
        for name, n in zip(class_names(), expected):
            files = sorted(os.listdir(tmp_path / "a" / split / name))
            assert len(files) == n and files == sorted(os.listdir(tmp_path / "b" / split / name))
            for f in files:
                im = Image.open(tmp_path / "a" / split / name / f)
                assert im.mode == "L" and im.size == (32, 32)  # single-channel chips
                a = np.asarray(im)
                assert np.array_equal(a, np.asarray(Image.open(tmp_path / "b" / split / name / f)))
                differs |= not np.array_equal(a, np.asarray(Image.open(tmp_path / "c" / split / name / f)))
    assert differs  # another seed, other chips


def test_speckle_is_multiplicative_gamma_with_the_given_looks():
    # L-look intensity speckle n ~ Gamma(L, 1/L): mean 1, variance 1/L, so on a flat
    # reflectivity R the chip has mean R and coefficient of variation 1/sqrt(L).
    rng = np.random.default_rng(0)
    for looks in (1.0, 4.0):
        out = apply_speckle(np.full((400, 400), 0.3), looks, rng)
        assert abs(out.mean() / 0.3 - 1) < 0.01
        assert abs(out.std() / out.mean() - 1 / math.sqrt(looks)) < 0.01
    # Multiplicative: doubling the reflectivity doubles the noise, pixel by pixel.
    a = apply_speckle(np.full(100, 1.0), 2.0, np.random.default_rng(5))
    b = apply_speckle(np.full(100, 2.0), 2.0, np.random.default_rng(5))
    assert np.allclose(b, 2 * a)


def test_decibel_scaling():
    # 10 log10(I) over [-25, 10] dB -> 0..255: I = 1 (0 dB) -> 255 * 25 / 35 = 182.1 -> 182.
    assert (DB_MIN, DB_MAX) == (-25.0, 10.0)
    assert to_uint8_db(np.array([1.0, 10.0, 1e-4, 100.0, 0.0])).tolist() == [182, 255, 0, 255, 0]


def test_chips_have_the_stated_properties():
    spec = LTSARSpec(image_size=64)
    rng = np.random.default_rng(1)
    # A target brighter than its clutter: the strongest pixel of the speckle-free map is a
    # scatterer (amplitude >= 2 x lognormal) far above the ground's mean (0.06 e^(0.5 N)).
    for name in CLASSES:
        r = reflectivity_map(name, spec, rng)
        assert r.shape == (64, 64) and r.max() > 10 * np.median(r)
    # Random orientation: two speckle-free chips of one class differ; silhouettes differ:
    # class templates have different areas (sum of part lengths x widths) and heights.
    a, b = reflectivity_map("bus", spec, rng), reflectivity_map("bus", spec, rng)
    assert not np.allclose(a, b)
    areas = {n: sum(p[2] * p[3] for p in t["parts"]) for n, t in TEMPLATES.items()}
    assert len({round(v, 2) for v in areas.values()}) == len(CLASSES)
    assert areas["bus"] > 10 * areas["motorcycle"]
    # The chip itself: uint8, 2-D, not constant, speckled background (many grey levels).
    chip = draw_chip("sedan", spec, rng)
    assert chip.dtype == np.uint8 and chip.shape == (64, 64) and len(np.unique(chip)) > 50
    # Fewer looks, more speckle: the background's spread in dB grows as L falls.
    spread = []
    for looks in (1.0, 16.0):
        s = LTSARSpec(looks=looks, clutter_points=0.0)
        spread.append(np.mean([draw_chip("motorcycle", s, np.random.default_rng(k))[:8].std() for k in range(5)]))
    assert spread[0] > 2 * spread[1]


def test_registered_tiny_set():
    dicts = DatasetCatalog.get("lt_sar_tiny_train")
    meta = MetadataCatalog.get("lt_sar_tiny_train")
    assert meta.task == "classification" and meta.evaluator_type == "lt_classification"
    assert meta.thing_classes == class_names()
    spec = LTSARSpec(head_train=60, tail_train=2, test_per_class=4, image_size=32, seed=1)
    assert meta.class_image_count == train_counts(spec)
    assert len(dicts) == sum(meta.class_image_count)
    test = DatasetCatalog.get("lt_sar_tiny_test")
    assert len(test) == 10 * 4 and sorted({d["label"] for d in test}) == list(range(10))
