"""LT-Shapes: a procedurally generated long-tailed detection set in the LVIS v1 layout.

Each class is a (shape, colour family) pair drawn with random size, rotation, colour jitter,
fill texture and partial overlaps on cluttered backgrounds. Class instance counts follow the
exponential long-tail profile of CIFAR-LT, ``n_k = n_max * imbalance ** (-k / (C - 1))``, so
that, as in LVIS, a few classes are frequent
(> 100 training images), many are common (11-100) and a tail is rare (1-10). The data is
written as PNG images plus ``lvis_v1_{train,val}.json`` files with everything LVIS has:
categories with ``frequency``/``image_count``/``instance_count``, images with
``neg_category_ids`` and ``not_exhaustive_category_ids``, polygon segmentations.
Generation is deterministic for a spec (seed included) and happens once, on first use, into
``lt_det.data.datasets.cache.cache_dir("lt_shapes")``.
"""
import json
import math
import os
from dataclasses import asdict, dataclass
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .cache import ensure_generated, spec_cache_dir
from ..class_stats import frequency_group

SHAPES = (
    "circle", "square", "triangle", "diamond", "pentagon",
    "hexagon", "star", "cross", "arrow", "trapezoid",
)
# Colour families (base RGB); instances jitter around them so colour alone is not exact.
COLOURS = {
    "red": (210, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 210),
    "yellow": (225, 200, 30),
}

# Increase when the drawing code changes, so caches of an older generator are not reused.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class LTShapesSpec:
    """What to generate. Two specs with equal fields give byte-identical data sets."""

    num_train: int = 800
    num_val: int = 200
    image_size: int = 128
    num_classes: int = 40
    # Instances of the head class and head/tail ratio of the exponential class profile.
    max_instances: int = 400
    imbalance: float = 100.0
    # At most this many objects per image.
    max_objects: int = 6
    seed: int = 0
    # Val instances of every class: a balanced val split, so that each rare class is measured
    # on this many instances (with 2, APr moved by up to 4.7 points between seeds). 0 = the
    # earlier profile (the train profile flattened, at least 2 per class). The train split is
    # byte-identical either way.
    val_per_class: int = 20

    def __post_init__(self):
        if not 1 <= self.num_classes <= len(SHAPES) * len(COLOURS):
            raise ValueError(
                f"LT-Shapes has at most {len(SHAPES) * len(COLOURS)} classes, got {self.num_classes}"
            )
        if self.num_train < 1 or self.num_val < 1 or self.image_size < 32 or self.val_per_class < 0:
            raise ValueError(f"Invalid LT-Shapes spec {self}")
        if self.val_per_class * self.num_classes > self.num_val * self.max_objects:
            raise ValueError(
                f"LT-Shapes val_per_class={self.val_per_class} x {self.num_classes} classes does not fit "
                f"in num_val={self.num_val} images of at most max_objects={self.max_objects}"
            )


def class_combos(num_classes: int):
    """(shape, colour) of each class, in a fixed shuffled order so that head and tail classes
    mix shapes and colours (neither alone tells how frequent a class is)."""
    combos = [(shape, colour) for colour in COLOURS for shape in SHAPES]
    order = np.random.default_rng(20240417).permutation(len(combos))
    return [combos[i] for i in order[:num_classes]]


def class_names(num_classes: int) -> List[str]:
    return [f"{colour}_{shape}" for shape, colour in class_combos(num_classes)]


def _unit_polygon(shape: str) -> np.ndarray:
    """Vertices of a shape inscribed in the unit circle, as an (n, 2) array."""
    def regular(n, phase=0.0):
        t = phase + 2 * np.pi * np.arange(n) / n
        return np.stack([np.cos(t), np.sin(t)], 1)

    if shape == "circle":
        return regular(28)
    if shape == "square":
        return regular(4, np.pi / 4)
    if shape == "triangle":
        return regular(3, -np.pi / 2)
    if shape == "diamond":
        return regular(4) * np.array([0.65, 1.0])
    if shape == "pentagon":
        return regular(5, -np.pi / 2)
    if shape == "hexagon":
        return regular(6)
    if shape == "star":
        outer, inner = regular(5, -np.pi / 2), regular(5, -np.pi / 2 + np.pi / 5) * 0.42
        return np.stack([outer, inner], 1).reshape(-1, 2)
    if shape == "cross":
        a, b = 1.0, 0.33
        return np.array([(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a),
                         (-b, b), (-a, b), (-a, -b), (-b, -b)])
    if shape == "arrow":
        return np.array([(-1, -0.3), (0.2, -0.3), (0.2, -0.75), (1, 0), (0.2, 0.75),
                         (0.2, 0.3), (-1, 0.3)])
    if shape == "trapezoid":
        return np.array([(-1, 0.6), (1, 0.6), (0.45, -0.6), (-0.45, -0.6)])
    raise KeyError(shape)


def _instance_counts(spec: LTShapesSpec) -> np.ndarray:
    """Target instances per class: n_k = n_max * imbalance ** (-k / (C - 1)), at least 1."""
    k = np.arange(spec.num_classes)
    expo = k / max(spec.num_classes - 1, 1)
    return np.maximum(1, np.round(spec.max_instances * spec.imbalance ** -expo)).astype(int)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth colour gradient plus noise and grey clutter lines."""
    c0, c1 = rng.uniform(60, 200, 3), rng.uniform(60, 200, 3)
    t = np.linspace(0, 1, size)
    if rng.random() < 0.5:
        t = t[None, :, None]
    else:
        t = t[:, None, None]
    img = c0 * (1 - t) + c1 * t + np.zeros((size, size, 3))
    img += rng.normal(0, rng.uniform(4, 14), (size, size, 3))
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    for _ in range(rng.integers(0, 5)):
        g = int(rng.integers(70, 190))
        pts = [tuple(rng.uniform(0, size, 2)) for _ in range(2)]
        draw.line(pts, fill=(g, g, g), width=int(rng.integers(1, 3)))
    return np.asarray(pil)


def _draw_object(img: Image.Image, rng, cls: int, cx, cy, radius) -> List[float]:
    """Draw class ``cls`` centred at (cx, cy) and return its polygon [x0, y0, x1, y1, ...]."""
    shape, colour_name = class_combos(cls + 1)[cls]
    base = np.array(COLOURS[colour_name], dtype=float)
    colour = tuple(int(v) for v in np.clip(base + rng.normal(0, 18, 3), 0, 255))
    theta = rng.uniform(0, 2 * np.pi)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    pts = _unit_polygon(shape) @ rot.T * radius + np.array([cx, cy])
    size = img.size[0]
    pts = np.clip(pts, 0, size - 1)
    poly = [tuple(p) for p in pts]
    draw = ImageDraw.Draw(img)
    draw.polygon(poly, fill=colour)
    if rng.random() < 0.4:  # texture: darker stripes clipped to the shape
        stripes = Image.new("L", img.size, 0)
        sd = ImageDraw.Draw(stripes)
        step = int(rng.integers(3, 6))
        for off in range(-size, size, step * 2):
            sd.line([(off, 0), (off + size, size)], fill=255, width=step)
        shape_mask = Image.new("L", img.size, 0)
        ImageDraw.Draw(shape_mask).polygon(poly, fill=255)
        mask = Image.fromarray(np.minimum(np.asarray(stripes), np.asarray(shape_mask)))
        dark = tuple(int(v * 0.6) for v in colour)
        img.paste(Image.new("RGB", img.size, dark), (0, 0), mask)
    draw.line(poly + [poly[0]], fill=tuple(int(v * 0.5) for v in colour), width=1)
    return [round(float(v), 2) for v in pts.reshape(-1)]


def _split_plan(spec: LTShapesSpec, rng) -> Tuple[List[List[int]], List[List[int]]]:
    """Which classes appear in each train and val image.

    Train instances follow the exponential targets. Val has ``spec.val_per_class`` instances
    of every class (balanced), or with ``val_per_class=0`` the train profile flattened with at
    least 2 per class.
    """
    train_counts = _instance_counts(spec)
    legacy_val = np.maximum(2, np.round(train_counts * spec.num_val / spec.num_train * 0.6)).astype(int)

    def assign(counts, num_images, rng=rng):
        # Every image gets one object first, the rest land on random images that still have
        # room (at most max_objects each), so no image is empty and counts are exact.
        pool = np.repeat(np.arange(spec.num_classes), counts)
        rng.shuffle(pool)
        images: List[List[int]] = [[] for _ in range(num_images)]
        for i, cls in enumerate(pool):
            if i < num_images:
                target = i
            else:
                room = [j for j in rng.permutation(num_images) if len(images[j]) < spec.max_objects]
                target = room[0] if room else int(rng.integers(num_images))
            images[target].append(int(cls))
        return images

    train_plan = assign(train_counts, spec.num_train)
    val_plan = assign(legacy_val, spec.num_val)
    if spec.val_per_class:
        # The earlier val plan is still drawn above so that the generator's random stream, and
        # with it every train image, stays identical to the earlier profile's; the balanced plan
        # comes from a stream of its own.
        rng_val = np.random.default_rng([spec.seed, 1])
        val_counts = np.full(spec.num_classes, spec.val_per_class, dtype=int)
        val_plan = assign(val_counts, spec.num_val, rng_val)
    return train_plan, val_plan


def _render_split(spec, rng, plan, split, out_dir, first_ann_id):
    images, annotations = [], []
    ann_id = first_ann_id
    size = spec.image_size
    img_dir = os.path.join(out_dir, split)
    os.makedirs(img_dir, exist_ok=True)
    for idx, classes in enumerate(plan):
        image_id = idx + 1
        pil = Image.fromarray(_background(rng, size))
        boxes: List[np.ndarray] = []
        present = set()
        dropped = set()
        for cls in classes:
            for _ in range(20):  # placement with limited overlap (IoU <= 0.25)
                radius = rng.uniform(0.07, 0.2) * size
                cx, cy = rng.uniform(radius, size - radius, 2)
                box = np.array([cx - radius, cy - radius, cx + radius, cy + radius])
                if all(_iou(box, b) <= 0.25 for b in boxes):
                    break
            boxes.append(box)
            poly = _draw_object(pil, rng, cls, cx, cy, radius)
            xs, ys = poly[0::2], poly[1::2]
            x0, y0 = min(xs), min(ys)
            w, h = max(xs) - x0, max(ys) - y0
            # As in LVIS, a few categories are not exhaustively annotated in an image: an
            # instance is left unlabelled and the category is listed as not exhaustive.
            if cls in present and rng.random() < 0.15:
                dropped.add(cls)
                continue
            present.add(cls)
            annotations.append({
                "id": ann_id, "image_id": image_id, "category_id": cls + 1,
                "bbox": [round(x0, 2), round(y0, 2), round(w, 2), round(h, 2)],
                "area": round(_polygon_area(xs, ys), 2), "segmentation": [poly],
            })
            ann_id += 1
        absent = [c for c in range(spec.num_classes) if c not in present and c not in dropped]
        n_neg = int(rng.integers(len(absent) // 3, len(absent) // 2 + 1)) if absent else 0
        neg = sorted(int(c) + 1 for c in rng.choice(absent, n_neg, replace=False)) if n_neg else []
        file_name = f"{split}/{image_id:06d}.png"
        pil.save(os.path.join(out_dir, file_name))
        images.append({
            "id": image_id, "file_name": file_name, "height": size, "width": size,
            "neg_category_ids": neg,
            "not_exhaustive_category_ids": sorted(c + 1 for c in dropped),
        })
    return images, annotations, ann_id


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _polygon_area(xs, ys) -> float:
    x, y = np.asarray(xs), np.asarray(ys)
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _categories(spec, train_anns) -> List[dict]:
    names = class_names(spec.num_classes)
    image_sets: Dict[int, set] = {k + 1: set() for k in range(spec.num_classes)}
    inst = np.zeros(spec.num_classes, dtype=int)
    for a in train_anns:
        image_sets[a["category_id"]].add(a["image_id"])
        inst[a["category_id"] - 1] += 1
    cats = []
    for k, name in enumerate(names):
        n_img = len(image_sets[k + 1])
        cats.append({
            "id": k + 1, "name": name, "synset": f"{name}.n.01", "synonyms": [name],
            "def": f"a {name.replace('_', ' ')}",
            # Training-set statistics, in train and val alike (as LVIS v1 does).
            "image_count": n_img, "instance_count": int(inst[k]),
            "frequency": frequency_group(n_img),
        })
    return cats


def generate_lt_shapes(spec: LTShapesSpec, out_dir: str) -> None:
    """Write the images and the two LVIS-format JSON files of ``spec`` into ``out_dir``."""
    rng = np.random.default_rng(spec.seed)
    train_plan, val_plan = _split_plan(spec, rng)
    train_imgs, train_anns, next_id = _render_split(spec, rng, train_plan, "train", out_dir, 1)
    val_imgs, val_anns, _ = _render_split(spec, rng, val_plan, "val", out_dir, next_id)
    cats = _categories(spec, train_anns)
    info = {"description": "LT-Shapes (lt_det)", "spec": asdict(spec),
            "generator_version": GENERATOR_VERSION}
    for split, imgs, anns in (("train", train_imgs, train_anns), ("val", val_imgs, val_anns)):
        with open(os.path.join(out_dir, f"lvis_v1_{split}.json"), "w") as f:
            json.dump({"info": info, "licenses": [], "categories": cats, "images": imgs,
                       "annotations": anns}, f)


def spec_dir(spec: LTShapesSpec) -> str:
    """The cache directory of ``spec`` (its fields are in the name, so specs never collide)."""
    return spec_cache_dir("lt_shapes", GENERATOR_VERSION, spec)


def ensure_lt_shapes(spec: LTShapesSpec) -> str:
    """Generate ``spec`` once (process-safe, atomic) and return its directory (complete
    once ``lvis_v1_val.json``, the generator's last file, is there)."""
    return ensure_generated(
        spec_dir(spec), lambda folder: generate_lt_shapes(spec, folder), marker="lvis_v1_val.json"
    )
