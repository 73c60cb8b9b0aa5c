"""Registers lt_det's embedded data sets (generated on first use, never downloaded)."""
import os

from .lt_shapes import LTShapesSpec, class_names, ensure_lt_shapes, spec_dir
from .lvis_format import register_lvis_format

# name prefix -> what to generate. "lt_shapes" is the demo (balanced val, 20 instances per
# class); "lt_shapes_v2" has the same train images and the earlier sparse val split (2 per rare
# class) on which projects/EQL's first tables were measured; "lt_shapes_tiny" serves tests.
LT_SHAPES_SPECS = {
    "lt_shapes": LTShapesSpec(),
    "lt_shapes_v2": LTShapesSpec(val_per_class=0),
    "lt_shapes_tiny": LTShapesSpec(
        num_train=48, num_val=16, image_size=64, num_classes=8, max_instances=40,
        imbalance=20.0, max_objects=3, seed=1, val_per_class=0,
    ),
}


def register_lt_shapes(prefix: str, spec: LTShapesSpec) -> None:
    """Register ``<prefix>_train`` and ``<prefix>_val`` for ``spec``."""
    root = spec_dir(spec)
    for split in ("train", "val"):
        register_lvis_format(
            f"{prefix}_{split}",
            json_file=os.path.join(root, f"lvis_v1_{split}.json"),
            image_root=root,
            metadata={"thing_classes": class_names(spec.num_classes)},
            prepare=lambda spec=spec: ensure_lt_shapes(spec),
        )


for _prefix, _spec in LT_SHAPES_SPECS.items():
    register_lt_shapes(_prefix, _spec)
