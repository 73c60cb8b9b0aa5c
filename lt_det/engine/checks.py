"""Start-of-run checks of a config against its data sets: one line naming the keys, before
anything is trained.

* The three switches that say "detection" or "classification" must agree:
  ``MODEL.META_ARCHITECTURE``, each data set's ``task`` and its ``evaluator_type``.
* The model's class count (``MODEL.ROI_HEADS.NUM_CLASSES`` for detectron2's and lt_det's ROI
  heads, ``MODEL.RETINANET.NUM_CLASSES`` for RetinaNet, ``MODEL.LT.CLASSIFIER.NUM_CLASSES``
  for ``LTClassifier`` and its subclasses) must equal the training set's number of classes:
  one too few trains silently with detectron2's softmax head (the last class becomes
  background), one too many fails only after training.

The class count of a set is read from its metadata (``thing_classes``), which for lt_det's
registrations costs the set's one load, reused by the training loader
(``lt_det.data.catalog``).
"""
from typing import Optional, Tuple

from detectron2.data import MetadataCatalog
from detectron2.modeling import META_ARCH_REGISTRY

from ..data.catalog import load_for_metadata

# evaluator_type -> the task it evaluates (types not listed here are not checked)
EVALUATOR_TASKS = {"lvis": "detection", "coco": "detection", "lt_classification": "classification"}


def meta_arch_task(name: str) -> str:
    """"classification" for ``LTClassifier`` and its subclasses, else "detection"."""
    from ..modeling.meta_arch.classifier import LTClassifier

    if name in META_ARCH_REGISTRY:
        cls = META_ARCH_REGISTRY.get(name)
        if isinstance(cls, type) and issubclass(cls, LTClassifier):
            return "classification"
    return "detection"


def model_num_classes(cfg) -> Tuple[str, int]:
    """(config key, value) of the model's number of classes."""
    if meta_arch_task(cfg.MODEL.META_ARCHITECTURE) == "classification":
        return "MODEL.LT.CLASSIFIER.NUM_CLASSES", int(cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES)
    if cfg.MODEL.META_ARCHITECTURE == "RetinaNet":
        return "MODEL.RETINANET.NUM_CLASSES", int(cfg.MODEL.RETINANET.NUM_CLASSES)
    return "MODEL.ROI_HEADS.NUM_CLASSES", int(cfg.MODEL.ROI_HEADS.NUM_CLASSES)


def check_task_switches(cfg) -> None:
    """``MODEL.META_ARCHITECTURE``, the sets' ``task`` and their ``evaluator_type`` agree."""
    arch = cfg.MODEL.META_ARCHITECTURE
    task = meta_arch_task(arch)
    for key, names in (("DATASETS.TRAIN", cfg.DATASETS.TRAIN), ("DATASETS.TEST", cfg.DATASETS.TEST)):
        for name in names:
            meta = MetadataCatalog.get(name)
            set_task = meta.get("task", "detection")
            if set_task != task:
                raise ValueError(
                    f"MODEL.META_ARCHITECTURE {arch!r} is a {task} model but {key} {name!r} has "
                    f"task {set_task!r}; use a {set_task} meta-architecture "
                    f"({'LTClassifier' if set_task == 'classification' else 'GeneralizedRCNN'}) "
                    f"or a {task} data set"
                )
            kind = meta.get("evaluator_type")
            if key == "DATASETS.TEST" and EVALUATOR_TASKS.get(kind, set_task) != set_task:
                raise ValueError(
                    f"{key} {name!r} has task {set_task!r} but evaluator_type {kind!r}, which "
                    f"evaluates {EVALUATOR_TASKS[kind]}; fix the set's registration metadata"
                )


def _num_classes_of(name: str) -> Optional[int]:
    meta = MetadataCatalog.get(name)
    classes = meta.get("thing_classes")  # lt_det's registrations: the set's one load
    if classes is None:
        load_for_metadata(name)  # detectron2's own loaders set it when they load
        classes = meta.get("thing_classes")
    return None if classes is None else len(classes)


def check_num_classes(cfg, eval_only: bool = False) -> None:
    """The model's class count equals that of the first training set (the first test set
    with ``eval_only``, where no training set need be read)."""
    key, names = ("DATASETS.TEST", cfg.DATASETS.TEST) if eval_only else ("DATASETS.TRAIN", cfg.DATASETS.TRAIN)
    if not names:
        return
    n = _num_classes_of(names[0])
    if n is None:
        return  # a set without class names: nothing to compare with
    model_key, model_n = model_num_classes(cfg)
    if model_n != n:
        more = "fewer" if model_n < n else "more"
        raise ValueError(
            f"{model_key} is {model_n} but {key} {names[0]!r} has {n} classes ({more} classes "
            f"in the model than in the data); set {model_key} {n}"
        )


def check_config_against_data(cfg, eval_only: bool = False) -> None:
    """All start-of-run checks of ``cfg`` against its registered data sets."""
    check_task_switches(cfg)
    check_num_classes(cfg, eval_only=eval_only)
