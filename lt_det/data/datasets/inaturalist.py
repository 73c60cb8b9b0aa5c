"""iNaturalist 2018 (Van Horn et al., CVPR 2018) from its COCO-like JSON files.

``train2018.json`` / ``val2018.json`` have ``images`` (``id``, ``file_name``),
``annotations`` (``image_id``, ``category_id``, one per image) and ``categories`` (``id``,
``name``). Labels are the categories' positions in the order of their ids.

Files under ``$DETECTRON2_DATASETS/iNaturalist2018/``: the two JSON files and the image
folder ``train_val2018/`` they refer to (https://github.com/visipedia/inat_comp/tree/master/2018).
"""
import os

from .classification_catalog import datasets_root, register_classification
from .lvis_format import read_coco_style_json

INAT_FOLDER = "iNaturalist2018"
INAT_SPLITS = {"train": "train2018.json", "val": "val2018.json"}


def load_inat_json(json_file: str, image_root: str, check_files: int = 16):
    """Dicts ``{"file_name", "label", "image_id"}`` of an iNaturalist JSON and the class names."""
    data = read_coco_style_json(json_file, "an iNaturalist JSON file")
    cats = sorted(data["categories"], key=lambda c: c["id"])
    label_of = {c["id"]: i for i, c in enumerate(cats)}
    category_of = {}
    for ann in data["annotations"]:
        if ann["category_id"] not in label_of:
            raise ValueError(f"{json_file}: annotation {ann.get('id')} has unknown category_id {ann['category_id']}")
        if category_of.setdefault(ann["image_id"], ann["category_id"]) != ann["category_id"]:
            raise ValueError(f"{json_file}: image {ann['image_id']} has annotations of two categories")
    dicts = []
    for img in sorted(data["images"], key=lambda x: x["id"]):
        if img["id"] not in category_of:
            raise ValueError(f"{json_file}: image {img['id']} ({img['file_name']}) has no annotation")
        dicts.append({
            "file_name": os.path.join(image_root, img["file_name"]),
            "label": label_of[category_of[img["id"]]],
            "image_id": img["id"],
        })
    for d in dicts[:check_files] + dicts[-check_files:]:
        if not os.path.isfile(d["file_name"]):
            raise FileNotFoundError(
                f"Image {d['file_name']} (listed in {json_file}) not found; extract the "
                f"iNaturalist 2018 images into {image_root}"
            )
    return dicts, [str(c.get("name", c["id"])) for c in cats]


def register_inaturalist(name: str, split: str, root=None) -> None:
    """Register iNaturalist 2018 split ``split`` ("train" or "val") under ``name``."""

    def load():
        folder = os.path.join(root or datasets_root(), INAT_FOLDER)
        json_file = os.path.join(folder, INAT_SPLITS[split])
        if not os.path.isfile(json_file):
            raise FileNotFoundError(
                f"iNaturalist 2018 file {json_file} not found: download train_val2018.tar.gz, "
                "train2018.json.tar.gz and val2018.json.tar.gz from "
                f"https://github.com/visipedia/inat_comp/tree/master/2018, extract them into "
                f"{folder}, or set DETECTRON2_DATASETS to the folder that holds {INAT_FOLDER}/"
            )
        return load_inat_json(json_file, folder)

    register_classification(name, load, is_train=(split == "train"))


def register_all_inaturalist() -> None:
    """inat2018_train and inat2018_val."""
    for split in INAT_SPLITS:
        register_inaturalist(f"inat2018_{split}", split)
