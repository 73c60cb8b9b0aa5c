from . import builtin  # noqa: F401  (registers the embedded data sets)
from .lt_shapes import LTShapesSpec, ensure_lt_shapes, generate_lt_shapes
from .lvis_format import DatasetFormatError, load_lvis_format_json, register_lvis_format

__all__ = [
    "LTShapesSpec",
    "ensure_lt_shapes",
    "generate_lt_shapes",
    "DatasetFormatError",
    "load_lvis_format_json",
    "register_lvis_format",
]
