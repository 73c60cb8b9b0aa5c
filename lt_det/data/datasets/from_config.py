"""A user's own data sets, registered from the config (``DATASETS.LT.REGISTER``).

Each entry of the list is a dict:

* ``{"NAME": n, "JSON_FILE": f, "IMAGE_ROOT": r}``: an LVIS-format JSON (``FORMAT`` "lvis",
  the default; lt_det's loader and LVIS evaluation) or, with ``"FORMAT": "coco"``, a COCO
  JSON (detectron2's ``register_coco_instances``: crowd boxes kept as crowd; COCO evaluation);
* ``{"NAME": p, "ROOT": r}``: an image folder ``r/<split>/<class>/<image>``
  (``register_image_folder``), registered as ``p_<split>`` for each split folder present
  among ``SPLITS`` (default train, val, test); the classes are those of ``TRAIN_SPLIT``
  (default "train").

``tools/train_net.py`` calls ``register_from_config`` in every process it launches, before it
checks ``DATASETS.TRAIN`` / ``DATASETS.TEST``, so a config alone trains on the user's data
(and ``tools/run_ablation.py``, which starts train_net, works on it too).
"""
import os
from typing import List

from detectron2.data import DatasetCatalog, MetadataCatalog

from .image_folder import register_image_folder
from .lvis_format import register_lvis_format

KEY = "DATASETS.LT.REGISTER"
_JSON_KEYS = {"NAME", "FORMAT", "JSON_FILE", "IMAGE_ROOT"}
_FOLDER_KEYS = {"NAME", "FORMAT", "ROOT", "SPLITS", "TRAIN_SPLIT"}
FORMATS = ("lvis", "coco", "image_folder")


def register_from_config(cfg) -> List[str]:
    """Register every set of ``cfg.DATASETS.LT.REGISTER``; returns the registered names.

    A name registered earlier in this process from the same files is left as it is (a
    second call registers nothing); a name registered otherwise is an error. Errors are one
    line naming the entry and the key (``ValueError``, ``FileNotFoundError``).
    """
    names = []
    for i, entry in enumerate(cfg.DATASETS.LT.REGISTER):
        where = f"{KEY}[{i}]"
        if not isinstance(entry, dict) or not entry.get("NAME"):
            raise ValueError(
                f"{where} must be a dict with NAME and either JSON_FILE + IMAGE_ROOT (LVIS/COCO "
                f"format) or ROOT (an image folder); got {entry!r}"
            )
        fmt = entry.get("FORMAT") or ("lvis" if "JSON_FILE" in entry else "image_folder")
        if fmt not in FORMATS:
            raise ValueError(f"{where}.FORMAT {fmt!r} is not one of {', '.join(FORMATS)}")
        allowed = _FOLDER_KEYS if fmt == "image_folder" else _JSON_KEYS
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise ValueError(f"{where} ({fmt}) has unknown key(s) {unknown}; its keys are {sorted(allowed)}")
        if fmt == "image_folder":
            names += _register_folder(where, entry)
        else:
            names.append(_register_json(where, entry, fmt))
    return names


def _required(where: str, entry: dict, key: str) -> str:
    if not entry.get(key):
        raise ValueError(f"{where} ({entry['NAME']}) needs {key}")
    return os.path.expanduser(str(entry[key]))


def _already(where: str, name: str, **paths) -> bool:
    """Whether ``name`` is registered from these paths already (True) or not at all (False)."""
    if name not in DatasetCatalog.list():
        return False
    meta = MetadataCatalog.get(name)
    if all(meta.get(k) == v for k, v in paths.items()):
        return True
    raise ValueError(f"{where}: data set {name!r} is already registered (from other files); choose another NAME")


def _register_json(where: str, entry: dict, fmt: str) -> str:
    name = str(entry["NAME"])
    json_file = _required(where, entry, "JSON_FILE")
    image_root = _required(where, entry, "IMAGE_ROOT")
    if not os.path.isfile(json_file):
        raise FileNotFoundError(f"{where}.JSON_FILE {json_file} does not exist")
    if not os.path.isdir(image_root):
        raise FileNotFoundError(f"{where}.IMAGE_ROOT {image_root} is not a folder")
    if _already(where, name, json_file=json_file, image_root=image_root):
        return name
    if fmt == "lvis":
        register_lvis_format(name, json_file, image_root)
    else:
        from detectron2.data.datasets import register_coco_instances

        # detectron2's COCO loader sets thing_classes when it loads; lt_det's class statistics
        # load it once and hand the dicts to the training loader (lt_det.data.catalog).
        register_coco_instances(name, {"task": "detection"}, json_file, image_root)
    return name


def _register_folder(where: str, entry: dict) -> List[str]:
    prefix = str(entry["NAME"])
    root = _required(where, entry, "ROOT")
    train_split = str(entry.get("TRAIN_SPLIT") or "train")
    if not os.path.isdir(os.path.join(root, train_split)):
        raise FileNotFoundError(
            f"{where}.ROOT {root} has no {train_split}/ folder; expected "
            f"{root}/{train_split}/<class>/<image> (and val/, test/ likewise)"
        )
    splits = [str(s) for s in (entry.get("SPLITS") or ("train", "val", "test"))]
    splits = [s for s in splits if os.path.isdir(os.path.join(root, s))]
    todo = [s for s in splits if not _already(where, f"{prefix}_{s}", image_root=root)]
    if todo:
        register_image_folder(prefix, root, splits=todo, train_split=train_split)
    return [f"{prefix}_{s}" for s in splits]
