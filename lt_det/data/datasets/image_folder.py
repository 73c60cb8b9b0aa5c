"""Any image folder as a classification set: ``root/<split>/<class name>/<image file>``.

The classes are the sub-folders of the training split (``root/train``), sorted by name;
every split uses that class list, so a class may have no image in the validation split and
a validation folder with an unknown class is an error.
"""
import os
from typing import Callable, List, Optional, Sequence

from .classification_catalog import register_classification

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".tif", ".tiff")


def folder_classes(split_dir: str) -> List[str]:
    """Sorted names of the class sub-folders of ``split_dir``."""
    if not os.path.isdir(split_dir):
        raise FileNotFoundError(
            f"Image folder {split_dir} not found; expected one sub-folder per class holding "
            "its images (root/train/<class>/<image>, root/val/<class>/<image>)"
        )
    classes = sorted(e.name for e in os.scandir(split_dir) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"Image folder {split_dir} has no class sub-folders")
    return classes


def load_image_folder(split_dir: str, class_names: Sequence[str]) -> List[dict]:
    """Dicts ``{"file_name", "label", "image_id"}`` of one split (files sorted per class)."""
    label_of = {c: i for i, c in enumerate(class_names)}
    dicts = []
    for cls in folder_classes(split_dir):
        if cls not in label_of:
            raise ValueError(
                f"{os.path.join(split_dir, cls)} is not a class of the training split "
                f"({len(class_names)} classes); add it to train/ or remove it"
            )
        folder = os.path.join(split_dir, cls)
        files = sorted(
            e.name for e in os.scandir(folder) if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)
        )
        for f in files:
            dicts.append({"file_name": os.path.join(folder, f), "label": label_of[cls], "image_id": len(dicts)})
    if not dicts:
        raise ValueError(f"Image folder {split_dir} has no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return dicts


def register_image_folder(
    prefix: str,
    root: str,
    splits: Sequence[str] = ("train", "val"),
    train_split: str = "train",
    prepare: Optional[Callable[[], None]] = None,
    metadata: Optional[dict] = None,
) -> List[str]:
    """Register ``<prefix>_<split>`` for each split folder of ``root``; returns the names.

    Args:
        prefix: name prefix of the registered sets.
        root: the folder holding one sub-folder per split.
        splits: the split folders.
        train_split: the split that defines the classes and gets class statistics.
        prepare: called before loading (e.g. to generate the data on first use).
        metadata: extra metadata of every split.
    """
    names = []
    for split in splits:

        def load(split=split):
            if prepare is not None:
                prepare()
            classes = folder_classes(os.path.join(root, train_split))
            return load_image_folder(os.path.join(root, split), classes), classes

        name = f"{prefix}_{split}"
        register_classification(
            name, load, is_train=(split == train_split), metadata={"image_root": root, **(metadata or {})}
        )
        names.append(name)
    return names
