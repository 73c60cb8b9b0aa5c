"""Registered data sets: class metadata readable from registration, each set parsed once.

detectron2 keeps a set's loader in ``DatasetCatalog`` and its metadata in ``MetadataCatalog``.
For a file the package has never read (a user's LVIS-format JSON, an image folder), the class
names and statistics that components need (``thing_classes``, ``class_image_count``,
``class_instance_count``, ``class_frequency``, ``num_train_images``) are only known once the
file has been parsed. lt_det's registrations (``register_lvis_format``,
``register_classification``) therefore go through ``register_loaded_once``:

* the set's metadata is an ``LTMetadata``: reading one of those class keys before the set has
  been loaded loads it (once), so the metadata is there for every reader from registration
  on, detectron2's included, and no builder has to load a set to read it;
* the dicts of that load are kept and returned by the set's next ``DatasetCatalog.get``, so
  reading the metadata and then building the loader parses the files once. A set registered
  with ``keep=True`` (classification sets: a path or an in-memory view and a label per sample;
  their loaders are rebuilt at each stage boundary and each evaluation) keeps them for the
  process; a detection set (``keep=False``) hands them over once, because detectron2's loader
  serializes them and a second copy of a large set's dicts would stay in every worker.

Sets registered by detectron2 or by hand (``register_coco_instances``, detectron2's builtin
LVIS sets) get the same hand-over the first time ``load_for_metadata`` has to load them.
"""
import logging
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.data.catalog import Metadata

logger = logging.getLogger(__name__)

# Metadata keys a load computes; reading one of them on an LTMetadata loads the set first.
CLASS_KEYS = (
    "thing_classes",
    "thing_dataset_id_to_contiguous_id",
    "class_image_count",
    "class_instance_count",
    "class_frequency",
    "num_train_images",
)

# name -> loader returning (dicts, metadata computed from the parse)
_LOADERS: Dict[str, Callable[[], Tuple[List[dict], dict]]] = {}
_KEEP: Dict[str, bool] = {}
# name -> dicts of the set's last load, waiting for the next DatasetCatalog.get
_LOADED: Dict[str, List[dict]] = {}
# sets whose metadata a load has filled (LTMetadata stops loading on missing keys then)
_METADATA_FILLED = set()
# sets registered elsewhere whose DatasetCatalog entry now hands over a held load first
_HANDED_OVER = set()
_LOADING = threading.local()


class LTMetadata(Metadata):
    """detectron2 ``Metadata`` whose class keys (``CLASS_KEYS``) are computed on first read.

    A key a load does not produce (e.g. class statistics of a validation split) stays absent,
    as in a plain ``Metadata``: ``get`` returns the default and attribute access raises.
    """

    def __getattr__(self, key):
        if key in CLASS_KEYS and _needs_load(self.name):
            load_for_metadata(self.name)
            if key in self.__dict__:
                return self.__dict__[key]
        return super().__getattr__(key)

    def __setattr__(self, key, val):
        # detectron2's __setattr__ reads the old value to check consistency; reading a class
        # key there must not load the set.
        with _loading(self.name):
            super().__setattr__(key, val)


class _loading:
    """Marks ``name`` as being loaded in this thread, so metadata reads inside do not recurse."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        names = getattr(_LOADING, "names", None)
        if names is None:
            names = _LOADING.names = []
        names.append(self.name)

    def __exit__(self, *exc):
        _LOADING.names.pop()


def _needs_load(name: str) -> bool:
    return (
        name in _LOADERS
        and name not in _METADATA_FILLED
        and name not in (getattr(_LOADING, "names", None) or ())
    )


def register_loaded_once(
    name: str,
    load: Callable[[], Tuple[List[dict], dict]],
    keep: bool,
    metadata: Optional[dict] = None,
) -> None:
    """Register ``name`` in detectron2's catalogs with lazily computed class metadata.

    Args:
        name: the data set's name.
        load: ``load() -> (dicts, metadata)``: parses the set's files; ``metadata`` holds
            what the parse tells (``thing_classes``, class statistics, ...). It should raise
            a clear error when files are missing (errors are not cached).
        keep: keep the dicts for the rest of the process (True) or hand them over to the
            next ``DatasetCatalog.get`` once (False); see the module docstring.
        metadata: metadata known at registration (task, evaluator_type, paths, ...).
    """
    DatasetCatalog.register(name, lambda: dataset_dicts(name))
    _LOADERS[name] = load
    _KEEP[name] = bool(keep)
    old = MetadataCatalog.get(name)
    if not isinstance(old, LTMetadata):
        MetadataCatalog[name] = LTMetadata(**old.as_dict())
    MetadataCatalog.get(name).set(**(metadata or {}))


def dataset_dicts(name: str) -> List[dict]:
    """The dicts of an lt_det-registered set: from its earlier load if one is held, else parsed."""
    held = _LOADED.get(name) if _KEEP.get(name) else _LOADED.pop(name, None)
    if held is not None:
        return list(held)  # a new list, so that appending to it does not change the held one
    with _loading(name):
        dicts, values = _LOADERS[name]()
    fill_metadata(name, values)
    if _KEEP[name]:
        _LOADED[name] = dicts
        return list(dicts)
    return dicts


def fill_metadata(name: str, values: dict) -> None:
    """Store what a load computed in ``name``'s metadata.

    ``thing_classes`` must agree with classes given at registration; other keys given at
    registration (or by an earlier load) win over the computed ones.
    """
    meta = MetadataCatalog.get(name)
    with _loading(name):
        for key, val in values.items():
            old = meta.get(key)
            if old is None:
                setattr(meta, key, val)
            elif key == "thing_classes" and list(old) != list(val):
                raise ValueError(
                    f"The classes read for data set {name!r} ({len(val)}) differ from those in "
                    f"its metadata ({len(old)}); the files changed since registration, or the "
                    "registration's thing_classes are wrong"
                )
    _METADATA_FILLED.add(name)


def load_for_metadata(name: str) -> None:
    """Load ``name`` so that its metadata holds what a load computes, keeping the dicts for
    the set's next ``DatasetCatalog.get`` (no second parse)."""
    if name in _LOADERS:
        if name not in _METADATA_FILLED:
            preload(name)
        return
    if name not in _LOADED:
        preload(name)


def preload(name: str) -> List[dict]:
    """The dicts of ``name``, held for its next ``DatasetCatalog.get``, which then costs no
    parse (for a check that needs the dicts just before the loader does)."""
    held = _LOADED.get(name)
    if held is not None:
        return held
    if name in _LOADERS:
        dicts = dataset_dicts(name)
        _LOADED[name] = dicts
        return dicts
    # Registered by detectron2 or by hand: load through its own loader (which, like
    # detectron2's load_coco_json, may set thing_classes), and hand its dicts to the next get.
    original = DatasetCatalog[name]
    dicts = original()
    _LOADED[name] = dicts
    if name not in _HANDED_OVER:

        def get_once():
            held = _LOADED.pop(name, None)
            return held if held is not None else original()

        DatasetCatalog.remove(name)
        DatasetCatalog.register(name, get_once)
        _HANDED_OVER.add(name)
    return dicts


def held_dicts(name: str) -> Optional[List[dict]]:
    """The dicts held for ``name``'s next ``DatasetCatalog.get`` (None when none)."""
    return _LOADED.get(name)


def release(names: Sequence[str]) -> None:
    """Drop the dicts held for ``names`` (a later ``DatasetCatalog.get`` parses again)."""
    for name in [names] if isinstance(names, str) else names:
        _LOADED.pop(name, None)
