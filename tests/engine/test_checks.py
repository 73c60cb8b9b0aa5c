"""Start-of-run checks of a config against its data (lt_det/engine/checks.py): the model's
class count for every head and meta-architecture (#12 item 5), and the three task switches
(#11 section 3)."""
import uuid

import pytest
from detectron2.data import DatasetCatalog, MetadataCatalog

from lt_det.config import get_lt_cfg
from lt_det.engine.checks import check_config_against_data, check_num_classes, check_task_switches

# lt_shapes_tiny has 8 classes (given at registration), lt_images_tiny 6 (read from its folder).
DET = ("lt_shapes_tiny_train", 8)
CLS = ("lt_images_tiny_train", 6)


def _cfg(arch, train, test=()):
    cfg = get_lt_cfg()
    cfg.MODEL.META_ARCHITECTURE = arch
    cfg.DATASETS.TRAIN, cfg.DATASETS.TEST = (train,), tuple(test)
    return cfg


HEADS = [
    # (meta-architecture, ROI head, config key of the class count, data set)
    ("GeneralizedRCNN", "StandardROIHeads", "MODEL.ROI_HEADS.NUM_CLASSES", DET),
    ("GeneralizedRCNN", "LTStandardROIHeads", "MODEL.ROI_HEADS.NUM_CLASSES", DET),
    ("GeneralizedRCNN", "LTCascadeROIHeads", "MODEL.ROI_HEADS.NUM_CLASSES", DET),
    ("GeneralizedRCNN", "CascadeROIHeads", "MODEL.ROI_HEADS.NUM_CLASSES", DET),
    ("RetinaNet", None, "MODEL.RETINANET.NUM_CLASSES", DET),
    ("LTClassifier", None, "MODEL.LT.CLASSIFIER.NUM_CLASSES", CLS),
    ("LTTricksClassifier", None, "MODEL.LT.CLASSIFIER.NUM_CLASSES", CLS),
]


@pytest.mark.parametrize("arch, head, key, data", HEADS)
@pytest.mark.parametrize("delta", [-1, 0, 1])
def test_model_class_count_must_match_the_training_set(arch, head, key, data, delta):
    name, n = data
    cfg = _cfg(arch, name)
    if head:
        cfg.MODEL.ROI_HEADS.NAME = head
    cfg.merge_from_list([key, n + delta])
    if delta == 0:
        check_config_against_data(cfg)
        return
    with pytest.raises(ValueError) as e:
        check_num_classes(cfg)
    msg = str(e.value)
    assert "\n" not in msg
    assert f"{key} is {n + delta} but DATASETS.TRAIN {name!r} has {n} classes" in msg
    assert ("fewer" if delta < 0 else "more") in msg and msg.endswith(f"set {key} {n}")


def test_eval_only_checks_against_the_test_set():
    cfg = _cfg("GeneralizedRCNN", "lt_shapes_tiny_train", ["lt_shapes_tiny_val"])
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 8
    cfg.DATASETS.TRAIN = ()
    check_num_classes(cfg, eval_only=True)
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 9
    with pytest.raises(ValueError, match="DATASETS.TEST 'lt_shapes_tiny_val' has 8 classes"):
        check_num_classes(cfg, eval_only=True)


def test_a_set_without_class_names_is_not_compared():
    name = f"checks_plain_{uuid.uuid4().hex[:8]}"
    DatasetCatalog.register(name, lambda: [{"image_id": 0, "annotations": []}])
    cfg = _cfg("GeneralizedRCNN", name)
    check_num_classes(cfg)  # no thing_classes even after loading: nothing to compare


@pytest.mark.parametrize(
    "arch, train, test, needle",
    [
        ("GeneralizedRCNN", "lt_images_tiny_train", (),
         "MODEL.META_ARCHITECTURE 'GeneralizedRCNN' is a detection model but DATASETS.TRAIN "
         "'lt_images_tiny_train' has task 'classification'"),
        ("LTClassifier", "lt_shapes_tiny_train", (),
         "MODEL.META_ARCHITECTURE 'LTClassifier' is a classification model but DATASETS.TRAIN "
         "'lt_shapes_tiny_train' has task 'detection'"),
        ("LTClassifier", "lt_images_tiny_train", ("lt_shapes_tiny_val",),
         "DATASETS.TEST 'lt_shapes_tiny_val' has task 'detection'"),
    ],
)
def test_task_switches_must_agree(arch, train, test, needle):
    with pytest.raises(ValueError) as e:
        check_task_switches(_cfg(arch, train, test))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_evaluator_type_must_agree_with_the_task():
    name = f"checks_mixed_{uuid.uuid4().hex[:8]}"
    DatasetCatalog.register(name, lambda: [])
    MetadataCatalog.get(name).set(task="detection", evaluator_type="lt_classification")
    with pytest.raises(ValueError, match=f"DATASETS.TEST '{name}' has task 'detection' but evaluator_type 'lt_classification'"):
        check_task_switches(_cfg("GeneralizedRCNN", "lt_shapes_tiny_train", [name]))
    # An evaluator type lt_det does not know (detectron2's "sem_seg", ...) is not judged.
    other = f"checks_other_{uuid.uuid4().hex[:8]}"
    DatasetCatalog.register(other, lambda: [])
    MetadataCatalog.get(other).set(evaluator_type="sem_seg")
    check_task_switches(_cfg("GeneralizedRCNN", "lt_shapes_tiny_train", [other]))


def test_agreeing_switches_pass():
    check_task_switches(_cfg("GeneralizedRCNN", "lt_shapes_tiny_train", ["lt_shapes_tiny_val"]))
    check_task_switches(_cfg("LTClassifier", "lt_images_tiny_train", ["lt_images_tiny_val"]))
