"""LT-Images: a procedurally generated long-tailed image-classification set (no download).

Each class is a texture or shape family with one parameter (stripe orientation, ring
frequency, checker size, filled shape, spoke count, dot lattice, ...). Every image draws
its own random foreground and background colours, position, scale, rotation, phase,
contrast and pixel noise, so only the pattern identifies the class: colour is useless and
the task is learnable, but not trivial, for a small CNN.

Training counts follow a Zipf-like profile, ``n_k = round(n_max * (k + 1)^(-alpha))`` with
alpha chosen so that the last class has ``n_min`` images; the validation split is balanced.
The set is written as a real image folder (``train/<class>/*.png``, ``val/<class>/*.png``)
under ``lt_det.data.datasets.cache.cache_dir("lt_images")`` on first use, deterministically for a
spec, and registered through the image-folder code path.
"""
import math
import os
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
from PIL import Image

from .cache import ensure_generated, spec_cache_dir
from .image_folder import register_image_folder

# Increase when the drawing code changes, so caches of an older generator are not reused.
GENERATOR_VERSION = 2


def _smooth_step(x: np.ndarray, sharpness: float = 12.0) -> np.ndarray:
    """Soft indicator of x > 0 (anti-aliased edges)."""
    return 1.0 / (1.0 + np.exp(-sharpness * x))


# Pattern families: name -> (function of rotated coordinates u, v, radius r, angle a, a phase
# and the class parameter -> map in [0, 1], the three class parameters).
def _stripes(u, v, r, a, phase, p):
    t = math.radians(p)
    return 0.5 + 0.5 * np.sin(2 * math.pi * 2.5 * (u * math.cos(t) + v * math.sin(t)) + phase)


def _rings(u, v, r, a, phase, p):
    return 0.5 + 0.5 * np.sin(2 * math.pi * p * r + phase)


def _checker(u, v, r, a, phase, p):
    s = phase / (2 * math.pi)
    return ((np.floor(p * (u + 1) + s) + np.floor(p * (v + 1) + s)) % 2).astype(np.float64)


def _shape(u, v, r, a, phase, p):
    if p == 0:  # disk
        return _smooth_step(0.6 - r, 16)
    if p == 1:  # square
        return _smooth_step(0.5 - np.maximum(np.abs(u), np.abs(v)), 16)
    return _smooth_step(np.minimum(v + 0.45, 0.55 - 1.6 * np.abs(u) - v), 16)  # triangle


def _cross(u, v, r, a, phase, p):
    if p == 0:  # plus
        return _smooth_step(0.18 - np.minimum(np.abs(u), np.abs(v)), 16)
    if p == 1:  # X
        return _smooth_step(0.18 - np.minimum(np.abs(u - v), np.abs(u + v)) / math.sqrt(2), 16)
    return _smooth_step(0.12 - np.abs(r - 0.55), 16)  # annulus


def _spokes(u, v, r, a, phase, p):
    return 0.5 + 0.5 * np.sin(p * a + phase)


def _dots(u, v, r, a, phase, p):
    return _smooth_step(np.sin(math.pi * p * u + phase) * np.sin(math.pi * p * v + phase) - 0.35, 10)


def _ramp(u, v, r, a, phase, p):
    t = math.radians(p)
    return np.clip(0.5 + 0.5 * (u * math.cos(t) + v * math.sin(t)), 0, 1)


FAMILIES: Dict[str, tuple] = {
    # Orientations chosen so that a horizontal flip (theta -> 180 - theta) maps no class onto
    # another: stripes repeat every 180 degrees, 45 flips to 135, which is no class.
    "stripes": (_stripes, (0, 45, 90)),
    "rings": (_rings, (1.5, 3.0, 4.5)),
    "checker": (_checker, (2, 3, 5)),
    "shape": (_shape, (0, 1, 2)),
    "cross": (_cross, (0, 1, 2)),
    "spokes": (_spokes, (3, 5, 8)),
    "dots": (_dots, (2, 3, 4)),
    "ramp": (_ramp, (0, 120, 240)),
}
PATTERNS: List[tuple] = [(fam, i) for fam in FAMILIES for i in range(3)]


@dataclass(frozen=True)
class LTImagesSpec:
    """What to generate. Two specs with equal fields give byte-identical data sets."""

    num_classes: int = 24
    # Training images of the most and the least frequent class.
    max_train: int = 500
    min_train: int = 5
    # Validation images per class (balanced).
    val_per_class: int = 30
    image_size: int = 32
    seed: int = 0

    def __post_init__(self):
        if not 1 <= self.num_classes <= len(PATTERNS):
            raise ValueError(f"LT-Images has {len(PATTERNS)} patterns; num_classes must be 1..{len(PATTERNS)}")
        if not 1 <= self.min_train <= self.max_train:
            raise ValueError(f"Need 1 <= min_train <= max_train, got {self.min_train}, {self.max_train}")
        if self.image_size < 8 or self.val_per_class < 0:
            raise ValueError("image_size must be >= 8 and val_per_class >= 0")


def train_counts(spec: LTImagesSpec) -> List[int]:
    """``round(n_max * (k + 1)^(-alpha))``, alpha = ln(n_max / n_min) / ln(C)."""
    c = spec.num_classes
    if c == 1:
        return [spec.max_train]
    alpha = math.log(spec.max_train / spec.min_train) / math.log(c)
    return [max(spec.min_train, int(round(spec.max_train * (k + 1) ** (-alpha)))) for k in range(c)]


def class_patterns(spec: LTImagesSpec) -> List[tuple]:
    """The pattern of each class (a seeded permutation, so the head mixes families)."""
    order = np.random.default_rng(spec.seed).permutation(len(PATTERNS))
    return [PATTERNS[i] for i in order[: spec.num_classes]]


def class_names(spec: LTImagesSpec) -> List[str]:
    """Folder names: rank (0 = most frequent) and pattern, e.g. ``c00_rings_1``."""
    return [f"c{k:02d}_{fam}_{i}" for k, (fam, i) in enumerate(class_patterns(spec))]


def _random_colour_pair(rng: np.random.Generator):
    while True:
        fg, bg = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        if np.abs(fg - bg).mean() > 0.3:
            return fg, bg


def draw_image(pattern: tuple, size: int, rng: np.random.Generator) -> np.ndarray:
    """One HxWx3 uint8 image of ``pattern`` with random colours, pose, phase and noise."""
    fam, idx = pattern
    fn, params = FAMILIES[fam]
    lin = (np.arange(size) + 0.5) / size * 2 - 1
    y, x = np.meshgrid(lin, lin, indexing="ij")
    # Random pose: translation, isotropic scale, a small rotation (keeps orientations apart).
    tx, ty = rng.uniform(-0.25, 0.25, 2)
    scale = rng.uniform(0.8, 1.2)
    rot = math.radians(rng.uniform(-12, 12))
    xs, ys = (x - tx) / scale, (y - ty) / scale
    u = xs * math.cos(rot) + ys * math.sin(rot)
    v = -xs * math.sin(rot) + ys * math.cos(rot)
    r = np.sqrt(u**2 + v**2)
    a = np.arctan2(v, u)
    m = fn(u, v, r, a, rng.uniform(0, 2 * math.pi), params[idx])
    fg, bg = _random_colour_pair(rng)
    contrast = rng.uniform(0.6, 1.0)
    img = bg + (fg - bg) * (contrast * m)[..., None]
    img = img + rng.normal(0, 0.08, img.shape)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def generate_lt_images(spec: LTImagesSpec, out_dir: str) -> None:
    """Write the image folder of ``spec`` into ``out_dir``."""
    rng = np.random.default_rng(spec.seed + 1)
    names = class_names(spec)
    patterns = class_patterns(spec)
    counts = {"train": train_counts(spec), "val": [spec.val_per_class] * spec.num_classes}
    for split in ("train", "val"):
        for k, (name, pattern) in enumerate(zip(names, patterns)):
            folder = os.path.join(out_dir, split, name)
            os.makedirs(folder, exist_ok=True)
            for j in range(counts[split][k]):
                Image.fromarray(draw_image(pattern, spec.image_size, rng)).save(os.path.join(folder, f"{j:04d}.png"))


def spec_dir(spec: LTImagesSpec) -> str:
    """The cache directory of ``spec`` (its fields are in the name, so specs never collide)."""
    return spec_cache_dir("lt_images", GENERATOR_VERSION, spec)


def ensure_lt_images(spec: LTImagesSpec) -> str:
    """Generate ``spec`` once (process-safe, atomic) and return its directory."""
    return ensure_generated(spec_dir(spec), lambda folder: generate_lt_images(spec, folder))


def register_lt_images(prefix: str, spec: LTImagesSpec) -> List[str]:
    """Register ``<prefix>_train`` / ``<prefix>_val`` as an image folder, generating the
    files when the set is first requested."""
    return register_image_folder(prefix, spec_dir(spec), prepare=lambda: ensure_lt_images(spec))
