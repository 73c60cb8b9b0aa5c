"""detectron2's COCO evaluation for COCO-format sets (``evaluator_type`` "coco").

A COCO JSON registered from the config (``DATASETS.LT.REGISTER`` with ``FORMAT: coco``, i.e.
detectron2's ``register_coco_instances``) has no LVIS frequency groups, so it is evaluated
with detectron2's own ``COCOEvaluator`` (AP, AP50, AP75, APs/m/l and per-category AP).
"""
from detectron2.evaluation import COCOEvaluator

from .build import register_evaluator


class LTCOCOEvaluator(COCOEvaluator):
    """detectron2's ``COCOEvaluator`` with the ``EVALUATOR_REGISTRY`` constructor."""

    @classmethod
    def from_cfg(cls, cfg, dataset_name: str, output_dir):
        return cls(dataset_name, output_dir=output_dir, max_dets_per_image=cfg.TEST.DETECTIONS_PER_IMAGE)


register_evaluator("coco", LTCOCOEvaluator)
