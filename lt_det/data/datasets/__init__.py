from . import builtin  # noqa: F401  (registers the embedded data sets)
from . import builtin_classification  # noqa: F401  (registers the classification sets)
from .cifar_lt import cifar_lt_counts, load_cifar_lt, register_cifar_lt
from .classification_catalog import register_classification
from .image_folder import load_image_folder, register_image_folder
from .inaturalist import load_inat_json, register_inaturalist
from .lt_images import LTImagesSpec, ensure_lt_images, generate_lt_images
from .lt_sar import LTSARSpec, ensure_lt_sar, generate_lt_sar
from .txt_split import load_txt_split, register_txt_split
from .lt_shapes import LTShapesSpec, ensure_lt_shapes, generate_lt_shapes
from .lvis_format import DatasetFormatError, load_lvis_format_json, register_lvis_format

__all__ = [
    "cifar_lt_counts",
    "load_cifar_lt",
    "register_cifar_lt",
    "register_classification",
    "load_image_folder",
    "register_image_folder",
    "load_inat_json",
    "register_inaturalist",
    "LTImagesSpec",
    "ensure_lt_images",
    "generate_lt_images",
    "LTSARSpec",
    "ensure_lt_sar",
    "generate_lt_sar",
    "load_txt_split",
    "register_txt_split",
    "LTShapesSpec",
    "ensure_lt_shapes",
    "generate_lt_shapes",
    "DatasetFormatError",
    "load_lvis_format_json",
    "register_lvis_format",
]
