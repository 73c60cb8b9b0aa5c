"""ImageNet-LT and Places-LT (Liu et al., "Large-Scale Long-Tailed Recognition in an Open
World", CVPR 2019) from their split files.

A split file has one ``<relative image path> <label>`` line per image; labels are the
contiguous class ids 0..C-1. Class names are the images' parent folders in the training
split (ImageNet synsets, Places scene folders), shared by all splits of a set.

Files under ``$DETECTRON2_DATASETS``:

* ``ImageNet-LT/ImageNet_LT_{train,val,test}.txt`` and the ImageNet images under
  ``ImageNet-LT/`` (the split files name them ``train/<synset>/...`` and ``val/<synset>/...``,
  so a link ``ImageNet-LT/train -> <ImageNet>/train`` is enough);
* ``Places-LT/Places_LT_{train,val,test}.txt`` and the Places-365 images under ``Places-LT/``
  with the paths the split files use.

The split files are distributed with OLTR: https://github.com/zhmiao/OpenLongTailRecognition-OLTR.
"""
import functools
import os
from dataclasses import dataclass
from typing import List, Tuple

from .classification_catalog import datasets_root, register_classification


@dataclass(frozen=True)
class TxtSplitSet:
    """A data set defined by ``<prefix>_<split>.txt`` files in ``folder``."""

    title: str
    folder: str
    file_prefix: str
    splits: Tuple[str, ...]
    images: str  # what to download, for the error message


IMAGENET_LT = TxtSplitSet("ImageNet-LT", "ImageNet-LT", "ImageNet_LT", ("train", "val", "test"), "ImageNet-2012 (ILSVRC) images")
PLACES_LT = TxtSplitSet("Places-LT", "Places-LT", "Places_LT", ("train", "val", "test"), "Places-365-Standard images")
TXT_SPLIT_SETS = {"imagenet_lt": IMAGENET_LT, "places_lt": PLACES_LT}


@functools.lru_cache(maxsize=8)
def _parse(txt_file: str, mtime: float) -> Tuple[Tuple[str, int], ...]:
    entries = []
    with open(txt_file) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or int(parts[1]) < 0:
                raise ValueError(f"{txt_file}:{lineno}: expected '<image path> <label>', got {line!r}")
            entries.append((parts[0].lstrip("/"), int(parts[1])))
    if not entries:
        raise ValueError(f"{txt_file} lists no images")
    return tuple(entries)


def read_split_file(txt_file: str) -> List[Tuple[str, int]]:
    """``(relative path, label)`` pairs of a split file."""
    if not os.path.isfile(txt_file):
        raise FileNotFoundError(f"Split file {txt_file} not found")
    return list(_parse(txt_file, os.path.getmtime(txt_file)))


def class_names_from_paths(entries: List[Tuple[str, int]]) -> List[str]:
    """Name of each label: the parent folder of its images, if that identifies it uniquely
    (else ``class_<label>``)."""
    num_classes = max(label for _, label in entries) + 1
    folders = [set() for _ in range(num_classes)]
    for path, label in entries:
        folders[label].add(os.path.basename(os.path.dirname(path)))
    names = [next(iter(f)) if len(f) == 1 else f"class_{i}" for i, f in enumerate(folders)]
    if len(set(names)) != len(names):
        return [f"class_{i}" for i in range(num_classes)]
    return names


def load_txt_split(txt_file: str, image_root: str, train_txt_file: str, check_files: int = 16):
    """Dicts ``{"file_name", "label", "image_id"}`` of a split file and the class names.

    The classes are those of ``train_txt_file``; the first and last ``check_files`` images
    are checked to exist, so a wrong image root fails at once with a clear message.
    """
    entries = read_split_file(txt_file)
    names = class_names_from_paths(read_split_file(train_txt_file))
    dicts = []
    for i, (path, label) in enumerate(entries):
        if label >= len(names):
            raise ValueError(f"{txt_file}: label {label} of {path} is not a class of {train_txt_file}")
        dicts.append({"file_name": os.path.join(image_root, path), "label": label, "image_id": i})
    for d in dicts[:check_files] + dicts[-check_files:]:
        if not os.path.isfile(d["file_name"]):
            raise FileNotFoundError(
                f"Image {d['file_name']} (listed in {txt_file}) not found; put the images under "
                f"{image_root} with the paths the split file uses"
            )
    return dicts, names


def register_txt_split(name: str, spec: TxtSplitSet, split: str, root=None) -> None:
    """Register split ``split`` of ``spec`` under ``name`` (read when first requested)."""

    def load():
        folder = os.path.join(root or datasets_root(), spec.folder)
        txt = os.path.join(folder, f"{spec.file_prefix}_{split}.txt")
        train_txt = os.path.join(folder, f"{spec.file_prefix}_train.txt")
        for f in {txt, train_txt}:
            if not os.path.isfile(f):
                raise FileNotFoundError(
                    f"{spec.title} split file {f} not found: download {spec.file_prefix}_*.txt "
                    "(linked from https://github.com/zhmiao/OpenLongTailRecognition-OLTR) and the "
                    f"{spec.images}, put them in {folder}, or set DETECTRON2_DATASETS to the "
                    f"folder that holds {spec.folder}/"
                )
        return load_txt_split(txt, folder, train_txt)

    register_classification(name, load, is_train=(split == "train"))


def register_all_txt_splits() -> None:
    """imagenet_lt_{train,val,test} and places_lt_{train,val,test}."""
    for key, spec in TXT_SPLIT_SETS.items():
        for split in spec.splits:
            register_txt_split(f"{key}_{split}", spec, split)
