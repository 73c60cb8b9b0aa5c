"""LT-SAR: a procedurally generated, SAR-like, long-tailed vehicle-classification set.

A CPU-sized stand-in for the SAR track of the 2021 Multi-modal Aerial View Object
Classification challenge (MAVOC / NTIRE 2021 Track 1; UNICORN data; Liu et al., "NTIRE
2021 Multi-Modal Aerial View Object Classification Challenge", CVPRW 2021,
arXiv 2107.01189), the setting of Li, Tan and Pan's three-stage recipe (arXiv 2104.09830,
projects/ThreeStageLT). Every chip is single-channel (8-bit grey), ``image_size`` px
square (64 by default; the real chips are 54-60 px), and shows one of 10 vehicle-like
targets seen from above:

* **silhouette**: each class is a few rectangles in a vehicle frame (cab, body, bed, box,
  trailer; lengths and widths of real vehicles in metres, ``PIXEL_M`` metres per pixel),
  with its own radar height, hence its own **shadow** (the return behind the target in
  range, +y in the image, is attenuated over ``height / tan(45 deg)`` metres);
* **scatterers**: class-specific bright points (roof corners, the dihedral of a box and a
  cab, the rim of a bed, the window frames of a bus), each with a random strength and a
  chance of fading out (scintillation), at the system's point-spread width;
* **pose**: uniform random orientation in [0, 360), a shift of up to +-4 px, +-8 % scale;
* **clutter**: a log-normal, spatially smooth background reflectivity and a few bright
  clutter points;
* **low resolution**: soft edges and point spread of ``resolution_m`` metres;
* **speckle**: the reflectivity is multiplied by gamma(L, 1/L) noise (mean 1, variance 1/L,
  ``looks`` = L, the multi-look intensity model), then written in decibels over a fixed
  35 dB window.

Training counts follow the MAVOC 2021 SAR training set (``MAVOC_2021_SAR_TRAIN_COUNTS``),
scaled down in log space so that the embedded set generates in seconds and trains in
minutes: ``n'_k = round(head_train * (n_k / n_max)^beta)`` with beta chosen so that the
rarest class gets ``tail_train`` (``train_counts``): the order of the classes and the
shape of the profile (one dominant class, a few medium ones, a flat tail) are kept, the
imbalance ratio is reduced from 375 to ``head_train / tail_train``. The test split is
balanced. The set is written as a real image folder (``train/<class>/*.png``,
``test/<class>/*.png``, class folders ``c<k>_<name>`` so that the sorted folder order is
the challenge's label order) under ``cache_dir("lt_sar")`` on first use, atomically and
deterministically for a spec, and registered through the image-folder code path, the
same path that reads real SAR chip folders.
"""
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image

from .cache import ensure_generated, spec_cache_dir
from .image_folder import register_image_folder

# Increase when the drawing code changes, so caches of an older generator are not reused.
GENERATOR_VERSION = 1

# Training chips per class of the MAVOC 2021 SAR track (Liu et al., CVPRW 2021,
# arXiv 2107.01189), in the challenge's label order. Verified against the label file of the
# 3rd-placed team's repository, github.com/solcummings/ntire2021-sar (commit 4e828ff),
# ntire2021/data/train/csv/img_label.csv: 293,772 rows, labels 0-9 counted 234,209 /
# 28,089 / 15,301 / 10,655 / 1,741 / 852 / 828 / 624 / 840 / 633, the same numbers as the
# class-frequency plot with class names in that repository (examples/frequency_graph.png).
# The challenge report's own table was not opened. The sedan holds 80 % of the chips, then
# three medium classes and a flat tail of about 600-1,700.
MAVOC_2021_SAR_TRAIN_COUNTS: Dict[str, int] = {
    "sedan": 234209,
    "suv": 28089,
    "pickup_truck": 15301,
    "van": 10655,
    "box_truck": 1741,
    "motorcycle": 852,
    "flatbed_truck": 828,
    "bus": 624,
    "pickup_truck_with_trailer": 840,
    "flatbed_truck_with_trailer": 633,
}
CLASSES: Tuple[str, ...] = tuple(MAVOC_2021_SAR_TRAIN_COUNTS)

# Metres per pixel of the rendered chips (64 px = 25.6 m: a bus with trailer room fits).
PIXEL_M = 0.4
# Decibel window written to 0..255.
DB_MIN, DB_MAX = -25.0, 10.0

# Vehicle templates, metres, u along the vehicle (forward +), v across it.
# parts: (centre u, centre v, length, width, reflectivity); scatterers: (u, v, strength);
# height: radar height of the target (sets its shadow length).
_Part = Tuple[float, float, float, float, float]
_Point = Tuple[float, float, float]


def _side_points(u0: float, u1: float, v: float, step: float, amp: float) -> List[_Point]:
    n = int(round((u1 - u0) / step)) + 1
    return [(u0 + i * step, s * v, amp) for i in range(n) for s in (-1, 1)]


def _shift(points, du):
    return [(p[0] + du,) + tuple(p[1:]) for p in points]


_PICKUP_PARTS: List[_Part] = [(1.2, 0, 2.6, 2.0, 0.9), (-1.4, 0, 2.6, 1.9, 0.3)]
_PICKUP_POINTS: List[_Point] = [(-0.1, -0.9, 6), (-0.1, 0.9, 6), (-2.7, -0.9, 3), (-2.7, 0.9, 3), (2.2, 0, 3)]
_FLATBED_PARTS: List[_Part] = [(2.8, 0, 1.8, 2.3, 1.0), (-0.9, 0, 5.2, 2.4, 0.2)]
_FLATBED_POINTS: List[_Point] = [(3.6, -1.0, 5), (3.6, 1.0, 5), (1.9, 0, 8)] + _side_points(-3.4, 1.4, 1.2, 1.2, 2.0)

TEMPLATES: Dict[str, dict] = {
    "sedan": dict(parts=[(0, 0, 4.6, 1.8, 0.6), (-0.2, 0, 2.2, 1.5, 0.9)],
                  points=[(0.9, -0.55, 4), (0.9, 0.55, 4), (-1.4, 0, 3)], height=1.45),
    "suv": dict(parts=[(0, 0, 4.8, 2.0, 0.7), (-0.4, 0, 3.2, 1.8, 1.1)],
                points=[(1.2, -0.8, 4), (1.2, 0.8, 4), (-2.0, -0.8, 6), (-2.0, 0.8, 6)], height=1.8),
    "pickup_truck": dict(parts=_PICKUP_PARTS, points=_PICKUP_POINTS, height=1.8),
    "van": dict(parts=[(0, 0, 5.2, 2.0, 1.3)],
                points=[(2.4, -0.9, 5), (2.4, 0.9, 5), (-2.4, -0.9, 5), (-2.4, 0.9, 5), (2.7, 0, 3)], height=2.3),
    "box_truck": dict(parts=[(2.9, 0, 1.8, 2.2, 1.0), (-1.0, 0, 5.4, 2.5, 1.6)],
                      points=[(1.7, -1.2, 9), (1.7, 1.2, 9), (-3.7, -1.2, 6), (-3.7, 1.2, 6)], height=3.4),
    "motorcycle": dict(parts=[(0, 0, 2.1, 0.7, 0.8)], points=[(0.8, 0, 5), (-0.8, 0, 3)], height=1.2),
    "flatbed_truck": dict(parts=_FLATBED_PARTS, points=_FLATBED_POINTS, height=1.4),
    "bus": dict(parts=[(0, 0, 11.5, 2.6, 1.3)], points=_side_points(-5.0, 5.0, 1.3, 1.5, 3.0) + [(5.7, 0, 5)],
                height=3.2),
    "pickup_truck_with_trailer": dict(
        parts=[(p[0] + 2.6,) + p[1:] for p in _PICKUP_PARTS] + [(-3.4, 0, 3.2, 1.8, 0.8)],
        points=_shift(_PICKUP_POINTS, 2.6) + [(-1.4, 0, 7), (-5.0, -0.9, 4), (-5.0, 0.9, 4)], height=1.8),
    "flatbed_truck_with_trailer": dict(
        parts=[(p[0] + 3.3,) + p[1:] for p in _FLATBED_PARTS] + [(-6.0, 0, 4.8, 2.4, 0.2)],
        points=_shift(_FLATBED_POINTS, 3.3) + _side_points(-8.2, -3.8, 1.1, 1.2, 2.0) + [(-3.3, 0, 6)],
        height=1.4),
}


@dataclass(frozen=True)
class LTSARSpec:
    """What to generate. Two specs with equal fields give byte-identical data sets."""

    # Training chips of the most frequent class (sedan) and of the rarest one.
    head_train: int = 1200
    tail_train: int = 12
    # Test chips per class (balanced).
    test_per_class: int = 50
    image_size: int = 64
    # Equivalent number of looks L of the gamma speckle (1: single-look, fully developed).
    looks: float = 2.0
    # Width (sigma, metres) of the point-spread function: edges and scatterers.
    resolution_m: float = 0.5
    # Expected number of bright clutter points per chip.
    clutter_points: float = 2.0
    seed: int = 0

    def __post_init__(self):
        if not 1 <= self.tail_train <= self.head_train:
            raise ValueError(f"Need 1 <= tail_train <= head_train, got {self.tail_train}, {self.head_train}")
        if self.image_size < 16 or self.test_per_class < 0:
            raise ValueError("image_size must be >= 16 and test_per_class >= 0")
        if self.looks <= 0 or self.resolution_m <= 0 or self.clutter_points < 0:
            raise ValueError("looks and resolution_m must be > 0, clutter_points >= 0")


def scaled_counts(profile: Sequence[int], head: int, tail: int) -> List[int]:
    """The profile compressed in log space: ``round(head * (n_k / n_max)^beta)``, beta =
    ``ln(head / tail) / ln(n_max / n_min)``, so the largest class gets ``head`` and the
    smallest ``tail``, and the order of the classes is kept (beta > 0)."""
    n_max, n_min = max(profile), min(profile)
    if n_max == n_min or head == tail:
        return [head] * len(profile)
    beta = math.log(head / tail) / math.log(n_max / n_min)
    return [max(tail, int(round(head * (n / n_max) ** beta))) for n in profile]


def train_counts(spec: LTSARSpec) -> List[int]:
    """Training chips per class: the MAVOC 2021 SAR profile scaled to the spec."""
    return scaled_counts(list(MAVOC_2021_SAR_TRAIN_COUNTS.values()), spec.head_train, spec.tail_train)


def class_names() -> List[str]:
    """Folder names ``c<k>_<class>``: sorted, they are in the challenge's label order."""
    return [f"c{k}_{name}" for k, name in enumerate(CLASSES)]


def apply_speckle(reflectivity: np.ndarray, looks: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative L-look speckle: ``I = R * n``, n ~ Gamma(shape L, scale 1 / L) (mean 1,
    variance 1 / L), the standard model of multi-look SAR intensity."""
    return reflectivity * rng.gamma(looks, 1.0 / looks, reflectivity.shape)


def _smooth_field(size: int, rng: np.random.Generator, cells: int = 6) -> np.ndarray:
    """A spatially smooth random field: a coarse Gaussian grid, bilinearly upsampled."""
    coarse = rng.normal(0.0, 1.0, (cells + 1, cells + 1))
    t = np.linspace(0, cells, size)
    i0 = np.minimum(t.astype(int), cells - 1)
    f = t - i0
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def _soft(x: np.ndarray, edge: float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(x / edge))


def reflectivity_map(name: str, spec: LTSARSpec, rng: np.random.Generator) -> np.ndarray:
    """The noise-free (speckle-free) reflectivity of one chip of class ``name``."""
    t = TEMPLATES[name]
    size = spec.image_size
    lin = (np.arange(size) - size / 2 + 0.5) * PIXEL_M
    y, x = np.meshgrid(lin, lin, indexing="ij")  # y: range (radar looks from the top, -y)
    theta = rng.uniform(0, 2 * math.pi)
    tx, ty = rng.uniform(-4, 4, 2) * PIXEL_M
    scale = rng.uniform(0.92, 1.08)
    c, s = math.cos(theta), math.sin(theta)
    u = ((x - tx) * c + (y - ty) * s) / scale
    v = (-(x - tx) * s + (y - ty) * c) / scale
    edge = spec.resolution_m / 2

    body = np.zeros((size, size))
    refl = np.zeros((size, size))
    for cu, cv, length, width, r in t["parts"]:
        m = _soft(length / 2 - np.abs(u - cu), edge) * _soft(width / 2 - np.abs(v - cv), edge)
        refl = np.where(m > body, r, refl)
        body = np.maximum(body, m)

    # Shadow: where the target hides the ground behind it in range (+y), over height metres.
    shadow = np.zeros_like(body)
    steps = max(1, int(round(t["height"] * scale / PIXEL_M)))
    for k in range(1, steps + 1):
        shadow[k:] = np.maximum(shadow[k:], body[:-k])
    shadow = shadow * (1 - body)

    ground = 0.06 * np.exp(0.5 * _smooth_field(size, rng))
    out = ground * (1 - 0.85 * shadow) * (1 - body) + body * refl * rng.uniform(0.7, 1.3) * 0.35

    sigma2 = 2 * spec.resolution_m**2
    for pu, pv, amp in t["points"]:
        if rng.random() < 0.2:  # scintillation: the scatterer fades at this aspect
            continue
        px = tx + scale * (pu * c - pv * s)
        py = ty + scale * (pu * s + pv * c)
        out += amp * rng.lognormal(0.0, 0.4) * np.exp(-((x - px) ** 2 + (y - py) ** 2) / sigma2)
    for _ in range(rng.poisson(spec.clutter_points)):
        px, py = rng.uniform(lin[0], lin[-1], 2)
        out += rng.uniform(0.5, 4.0) * np.exp(-((x - px) ** 2 + (y - py) ** 2) / sigma2)
    return out


def to_uint8_db(intensity: np.ndarray) -> np.ndarray:
    """Intensity to 8-bit grey through decibels: ``[DB_MIN, DB_MAX]`` dB -> 0..255 (clipped)."""
    db = 10.0 * np.log10(np.maximum(intensity, 1e-12))
    return (np.clip((db - DB_MIN) / (DB_MAX - DB_MIN), 0, 1) * 255 + 0.5).astype(np.uint8)


def draw_chip(name: str, spec: LTSARSpec, rng: np.random.Generator) -> np.ndarray:
    """One HxW uint8 chip of class ``name``: reflectivity, speckle, decibel scaling."""
    return to_uint8_db(apply_speckle(reflectivity_map(name, spec, rng), spec.looks, rng))


def generate_lt_sar(spec: LTSARSpec, out_dir: str) -> None:
    """Write the image folder of ``spec`` into ``out_dir`` (grey PNGs, mode "L")."""
    rng = np.random.default_rng(spec.seed)
    counts = {"train": train_counts(spec), "test": [spec.test_per_class] * len(CLASSES)}
    for split in ("train", "test"):
        for k, (folder_name, name) in enumerate(zip(class_names(), CLASSES)):
            folder = os.path.join(out_dir, split, folder_name)
            os.makedirs(folder, exist_ok=True)
            for j in range(counts[split][k]):
                Image.fromarray(draw_chip(name, spec, rng), mode="L").save(os.path.join(folder, f"{j:05d}.png"))


def spec_dir(spec: LTSARSpec) -> str:
    """The cache directory of ``spec`` (its fields are in the name, so specs never collide)."""
    return spec_cache_dir("lt_sar", GENERATOR_VERSION, spec)


def ensure_lt_sar(spec: LTSARSpec) -> str:
    """Generate ``spec`` once (process-safe, atomic) and return its directory."""
    return ensure_generated(spec_dir(spec), lambda folder: generate_lt_sar(spec, folder))


def register_lt_sar(prefix: str, spec: LTSARSpec) -> List[str]:
    """Register ``<prefix>_train`` / ``<prefix>_test`` as an image folder, generating the
    files when the set is first requested."""
    return register_image_folder(
        prefix, spec_dir(spec), splits=("train", "test"), prepare=lambda: ensure_lt_sar(spec)
    )
