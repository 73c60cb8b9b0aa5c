"""Tiny configurations shared by the tests and the benchmarks (as detectron2 keeps its own in
``detectron2/utils/testing.py``): one place, so a test and a benchmark that say "the tiny
R-CNN" mean the same model.

* ``tiny_rcnn_cfg``: a ResNet-18-GN FPN R-CNN for 64x64 images (lt_det's ROI heads or
  detectron2's), no data set;
* ``tiny_recipe``: any shipped config or documented recipe shrunk to seconds on a CPU: its
  data swapped for the generated tiny sets (LT-Images tiny for classification, LT-Shapes
  tiny for detection), small inputs and batches, no pretrained weights, and a schedule of
  ``iters_per_stage`` iterations per stage, so every stage boundary of ``LT.STAGES`` is
  crossed in order. Model architecture, losses, samplers, heads and tricks are kept.
"""
import copy
from typing import Optional

from .config import get_lt_cfg

# The generated tiny sets (lt_det/data/datasets/builtin*.py) and their class counts.
TINY_CLASSIFICATION = ("lt_images_tiny_train", "lt_images_tiny_val", 6)
TINY_DETECTION = ("lt_shapes_tiny_train", "lt_shapes_tiny_val", 8)
CLASSIFIER_ARCHS = ("LTClassifier", "LTTricksClassifier")


def tiny_rcnn_cfg(heads: str = "LTStandardROIHeads", num_classes: int = 8, mask: bool = False,
                  loss: str = "SoftmaxCE", fc_dim: int = 64, roi_batch: int = 32):
    """ResNet-18-GN FPN R-CNN for 64x64 images (builds and steps in well under a second)."""
    cfg = get_lt_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.MASK_ON = mask
    cfg.MODEL.BACKBONE.NAME = "build_resnet_fpn_backbone"
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    cfg.MODEL.RESNETS.DEPTH = 18
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 64
    cfg.MODEL.RESNETS.STEM_OUT_CHANNELS = 32
    cfg.MODEL.RESNETS.NORM = "GN"
    cfg.MODEL.RESNETS.OUT_FEATURES = ["res2", "res3", "res4", "res5"]
    cfg.MODEL.FPN.IN_FEATURES = ["res2", "res3", "res4", "res5"]
    cfg.MODEL.FPN.OUT_CHANNELS = 32
    cfg.MODEL.FPN.NORM = "GN"
    cfg.MODEL.ANCHOR_GENERATOR.SIZES = [[8], [16], [32], [64], [128]]
    cfg.MODEL.RPN.IN_FEATURES = ["p2", "p3", "p4", "p5", "p6"]
    cfg.MODEL.RPN.PRE_NMS_TOPK_TRAIN = 200
    cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN = 50
    cfg.MODEL.RPN.PRE_NMS_TOPK_TEST = 100
    cfg.MODEL.RPN.POST_NMS_TOPK_TEST = 20
    cfg.MODEL.RPN.BATCH_SIZE_PER_IMAGE = 32
    cfg.MODEL.ROI_HEADS.NAME = heads
    cfg.MODEL.ROI_HEADS.IN_FEATURES = ["p2", "p3", "p4", "p5"]
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = num_classes
    cfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE = roi_batch
    cfg.MODEL.ROI_BOX_HEAD.NAME = "FastRCNNConvFCHead"
    cfg.MODEL.ROI_BOX_HEAD.NUM_FC = 2
    cfg.MODEL.ROI_BOX_HEAD.FC_DIM = fc_dim
    cfg.MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION = 7
    cfg.MODEL.ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG = heads.endswith("CascadeROIHeads")
    cfg.MODEL.ROI_MASK_HEAD.NAME = "MaskRCNNConvUpsampleHead"
    cfg.MODEL.ROI_MASK_HEAD.NUM_CONV = 1
    cfg.MODEL.ROI_MASK_HEAD.CONV_DIM = 32
    cfg.MODEL.ROI_MASK_HEAD.POOLER_RESOLUTION = 14
    cfg.DATASETS.TRAIN = ()
    cfg.DATASETS.TEST = ()
    cfg.MODEL.LT.LOSS.NAME = loss
    return cfg


def load_recipe(config_file: str, opts=()):
    """The config of ``config_file`` with ``opts`` (KEY VALUE ...) merged, as train_net builds it."""
    cfg = get_lt_cfg()
    cfg.merge_from_file(config_file)
    cfg.merge_from_list([str(x) if not isinstance(x, (list, dict)) else x for x in opts])
    return cfg


def is_classification(cfg) -> bool:
    """Whether the meta-architecture is an image classifier (LTClassifier or a subclass)."""
    from detectron2.modeling import META_ARCH_REGISTRY

    from .modeling.meta_arch import LTClassifier

    name = cfg.MODEL.META_ARCHITECTURE
    return name in CLASSIFIER_ARCHS or (name in META_ARCH_REGISTRY and issubclass(META_ARCH_REGISTRY.get(name), LTClassifier))


def tiny_recipe(cfg, output_dir: str, iters_per_stage: int = 2, cache_dir: Optional[str] = None):
    """``cfg`` shrunk to a few CPU seconds (module docstring); returns a new config.

    Stage ``k`` of ``LT.STAGES`` starts at iteration ``iters_per_stage * (k + 1)`` (order
    kept, ``START_EPOCH`` turned into ``START_ITER``) and ``SOLVER.MAX_ITER`` gives the last
    stage ``iters_per_stage`` iterations; without stages the run is ``iters_per_stage``
    iterations. Top-level LR steps past the first stage's length are dropped; warm-up is
    left as it is.
    """
    cfg = cfg.clone()
    cfg.defrost()
    if cfg.LT.DECOUPLE.ENABLED:
        iters_per_stage = max(iters_per_stage, 4)  # a stage must outlast its pruning phase
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = output_dir
    cfg.SEED = 0
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.SOLVER.CHECKPOINT_PERIOD = 10**9
    cfg.TEST.EVAL_PERIOD = 0
    cfg.LT.EVAL.PLOTS = False
    if is_classification(cfg):
        train, test, num_classes = TINY_CLASSIFICATION
        cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES = num_classes
        cfg.SOLVER.IMS_PER_BATCH = 16
        cfg.LT.CLS_INPUT.CROP_SIZE = 32  # LT-Images are 32x32
        cfg.LT.CLS_INPUT.RESIZE_SHORT = 36
        cfg.LT.CLS_INPUT.TEST_IMS_PER_BATCH = 72
    else:
        train, test, num_classes = TINY_DETECTION
        if cfg.MODEL.WEIGHTS:
            # No pretrained backbone offline. Caffe-style pretrained weights expect
            # PIXEL_STD 1 (inputs of magnitude ~100); a randomly initialised ResNet with
            # FrozenBN would blow such inputs up to Inf within a few layers, so a run
            # without the weights takes inputs of unit scale (preprocessing only).
            cfg.MODEL.WEIGHTS = ""
            cfg.MODEL.PIXEL_STD = [57.375, 57.12, 58.395]
        cfg.MODEL.ROI_HEADS.NUM_CLASSES = num_classes
        cfg.MODEL.RETINANET.NUM_CLASSES = num_classes
        cfg.SOLVER.IMS_PER_BATCH = 2
        cfg.INPUT.MIN_SIZE_TRAIN = (64,)
        cfg.INPUT.MAX_SIZE_TRAIN = 64
        cfg.INPUT.MIN_SIZE_TEST = 64
        cfg.INPUT.MAX_SIZE_TEST = 64
        # An untrained model scores every class above LVIS's 1e-4 threshold: 300 detections
        # (and masks) per image would make the tiny evaluation the slowest part of the run.
        cfg.TEST.DETECTIONS_PER_IMAGE = 10
        # Fewer proposals and sampled RoIs (sizes of the sampling, not of the model).
        cfg.MODEL.RPN.PRE_NMS_TOPK_TRAIN = cfg.MODEL.RPN.PRE_NMS_TOPK_TEST = 100
        cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN = cfg.MODEL.RPN.POST_NMS_TOPK_TEST = 32
        cfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE = 32
    cfg.DATASETS.TRAIN = (train,)
    cfg.DATASETS.TEST = (test,)
    if cfg.LT.DECOUPLE.ENABLED:
        # Decoupled Optimisation's class groups and pruning phase, redrawn for the tiny set's
        # 60, 21, 11, 7, 5, 4 training images (as projects/DecoupledOptimisation/configs/
        # lt_images_tiny_do.yaml): many >= 50, medium 11-49 (split at 20), few <= 10, and a
        # pruning phase of one step of one iteration, so it fits a stage of iters_per_stage.
        cfg.LT.DECOUPLE.MANY_MIN, cfg.LT.DECOUPLE.FEW_MAX, cfg.LT.DECOUPLE.MEDIUM_SPLIT = 50, 10, 20
        cfg.MODEL.LT.LOSS.COMPENSATION.GROUP_MIN_COUNT, cfg.MODEL.LT.LOSS.COMPENSATION.GROUP_MAX_COUNT = 11, 49
        cfg.DATALOADER.LT.GROUP_PREFERRED.MIN_COUNT, cfg.DATALOADER.LT.GROUP_PREFERRED.MAX_COUNT = 11, 49
        cfg.LT.DECOUPLE.PRUNE_STEPS = cfg.LT.DECOUPLE.RETRAIN_ITERS = 1
        cfg.LT.DECOUPLE.IMPORTANCE_BATCHES = cfg.LT.DECOUPLE.SCAN_BATCHES = 1
        cfg.LT.DECOUPLE.IMPORTANCE_PLOT_BATCHES = 1
    if cache_dir is not None:
        cfg.LT.CAM_BS.CACHE_DIR = cache_dir
    stages = []
    for k, stage in enumerate(cfg.LT.STAGES):
        stage = copy.deepcopy(dict(stage))
        stage.pop("START_EPOCH", None)
        stage["START_ITER"] = iters_per_stage * (k + 1)
        stages.append(stage)
    cfg.LT.STAGES = stages
    cfg.SOLVER.MAX_ITER = iters_per_stage * (len(stages) + 1)
    # LR steps at or past the shrunk MAX_ITER would never be reached (and detectron2 refuses
    # a step equal to it); the ones of stage OVERRIDES count from their stage and stay.
    cfg.SOLVER.STEPS = tuple(step for step in cfg.SOLVER.STEPS if step < iters_per_stage)
    return cfg
