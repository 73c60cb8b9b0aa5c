"""Loading and registering any data set in the LVIS annotation format.

Unlike detectron2's ``load_lvis_json`` (which takes class names from LVIS's own tables and
file names from ``coco_url``), this loader reads the class list from the JSON's categories,
so LVIS v0.5, LVIS v1 and any LVIS-format set (LT-Shapes, a user's own) share one path.
Bad annotations raise a one-line error naming the file, the record and the fix.
"""
import gc
import json
import math
import os
from typing import Callable, List, Optional, Tuple

from detectron2.structures import BoxMode

from ..catalog import fill_metadata, register_loaded_once
from ..class_stats import ClassStats, compute_class_stats, frequency_group, stats_to_metadata


class DatasetFormatError(ValueError):
    """An annotation file that does not follow its format (LVIS, or iNaturalist's JSON)."""


def _file_name(image_root: str, img: dict) -> str:
    if "file_name" in img:
        return os.path.join(image_root, img["file_name"])
    if "coco_url" in img:  # LVIS v1: images live in COCO's split folders
        split_folder, name = img["coco_url"].split("/")[-2:]
        return os.path.join(image_root, split_folder, name)
    raise DatasetFormatError(f"image {img.get('id')} has neither file_name nor coco_url")


def _check_box(json_file: str, ann: dict) -> None:
    box = ann.get("bbox")
    ok = (
        isinstance(box, (list, tuple))
        and len(box) == 4
        and all(isinstance(v, (int, float)) and math.isfinite(v) for v in box)
        and box[2] > 0
        and box[3] > 0
    )
    if not ok:
        raise DatasetFormatError(
            f"{json_file}: annotation {ann.get('id')} has malformed bbox {box!r}; "
            "expected [x, y, width, height] with finite numbers and width, height > 0"
        )


def load_lvis_format_json(
    json_file: str,
    image_root: str,
    dataset_name: Optional[str] = None,
    check_files: bool = True,
) -> List[dict]:
    """Read an LVIS-format JSON into detectron2 dicts.

    Category ids are mapped to contiguous ids in the order of sorted ids. When
    ``dataset_name`` is given, its metadata receives what ``read_lvis_format`` computes
    (``thing_classes``, the id mapping, the class statistics).
    """
    dicts, metadata = read_lvis_format(json_file, image_root, check_files)
    if dataset_name is not None:
        fill_metadata(dataset_name, metadata)
    return dicts


def read_lvis_format(json_file: str, image_root: str, check_files: bool = True) -> Tuple[List[dict], dict]:
    """Parse an LVIS-format JSON once: its detectron2 dicts and the metadata it tells.

    The metadata holds ``thing_classes`` (the categories' names in the order of sorted ids),
    ``thing_dataset_id_to_contiguous_id`` and the class statistics (``stats_to_metadata``):
    training counts from the categories' ``image_count`` and ``instance_count`` where all
    categories have them (LVIS), else counted from the annotations.
    """
    if not os.path.isfile(json_file):
        raise FileNotFoundError(f"Annotation file {json_file} does not exist")
    # The parse creates millions of small objects and no reference cycles; with the cyclic
    # collector running, each of its many collections walks every object of the process.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _read(json_file, image_root, check_files)
    finally:
        if enabled:
            gc.enable()


def read_coco_style_json(json_file: str, kind: str) -> dict:
    """The dict of a COCO-style JSON file (LVIS, iNaturalist), checked to be valid JSON with
    ``images``, ``annotations`` and ``categories``; ``kind`` names the format in the error."""
    with open(json_file) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DatasetFormatError(f"{json_file} is not valid JSON: {e}") from None
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise DatasetFormatError(f"{json_file} has no '{key}' list; is it {kind}?")
    return data


def _read(json_file: str, image_root: str, check_files: bool) -> Tuple[List[dict], dict]:
    data = read_coco_style_json(json_file, "an LVIS-format file")
    cats = sorted(data["categories"], key=lambda c: c["id"])
    id_map = {c["id"]: i for i, c in enumerate(cats)}
    anns_by_image: dict = {}
    for ann in data["annotations"]:
        if ann.get("category_id") not in id_map:
            raise DatasetFormatError(
                f"{json_file}: annotation {ann.get('id')} has unknown category_id "
                f"{ann.get('category_id')!r}; add it to 'categories' or fix the annotation"
            )
        _check_box(json_file, ann)
        anns_by_image.setdefault(ann["image_id"], []).append(ann)

    dicts = []
    missing = []
    for img in sorted(data["images"], key=lambda x: x["id"]):
        file_name = _file_name(image_root, img)
        if check_files and not os.path.isfile(file_name):
            missing.append(file_name)
            continue
        objs = []
        for ann in anns_by_image.get(img["id"], []):
            obj = {
                "bbox": ann["bbox"],
                "bbox_mode": BoxMode.XYWH_ABS,
                "category_id": id_map[ann["category_id"]],
            }
            if "segmentation" in ann:
                obj["segmentation"] = ann["segmentation"]
            objs.append(obj)
        dicts.append({
            "file_name": file_name,
            "height": img["height"],
            "width": img["width"],
            "image_id": img["id"],
            "neg_category_ids": img.get("neg_category_ids", []),
            "not_exhaustive_category_ids": img.get("not_exhaustive_category_ids", []),
            "annotations": objs,
        })
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} image(s) of {json_file} are missing, e.g. {missing[0]}; "
            f"put the images under {image_root} (or fix the image root)"
        )
    metadata = {
        "thing_classes": [c["name"] for c in cats],
        "thing_dataset_id_to_contiguous_id": dict(id_map),
        **stats_to_metadata(_category_stats(cats, dicts)),
    }
    return dicts, metadata


def _category_stats(cats: List[dict], dicts: List[dict]) -> ClassStats:
    """Training statistics: the categories' LVIS counts when all have them, else counted."""
    if all("image_count" in c and "instance_count" in c for c in cats):
        import numpy as np

        image_count = np.array([c["image_count"] for c in cats], dtype=np.int64)
        return ClassStats(
            image_count=image_count,
            instance_count=np.array([c["instance_count"] for c in cats], dtype=np.int64),
            frequency=[c.get("frequency") or frequency_group(int(n)) for c, n in zip(cats, image_count)],
            num_images=len(dicts),
        )
    return compute_class_stats(dicts, len(cats))


def register_lvis_format(
    name: str,
    json_file: str,
    image_root: str,
    metadata: Optional[dict] = None,
    prepare: Optional[Callable[[], None]] = None,
) -> None:
    """Register an LVIS-format data set in detectron2's catalogs.

    Args:
        name: the data set's name (used in ``cfg.DATASETS.TRAIN/TEST``).
        json_file, image_root: the annotation file and the folder its file names are under.
        metadata: extra metadata (e.g. ``thing_classes`` when known before loading).

    ``thing_classes`` and the class statistics need not be given: the first read of them
    parses the JSON, and the loader reuses that parse.
        prepare: called before loading, e.g. to generate a synthetic set on first use.
    """

    def load():
        if prepare is not None:
            prepare()
        return read_lvis_format(json_file, image_root)

    # The class names and statistics are read from the JSON on first use (lt_det.data.catalog),
    # and that one parse also gives the dicts the loader then uses.
    register_loaded_once(
        name,
        load,
        keep=False,
        metadata={
            "json_file": json_file,
            "image_root": image_root,
            "evaluator_type": "lvis",
            "task": "detection",
            **(metadata or {}),
        },
    )
