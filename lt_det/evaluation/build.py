"""Registry of evaluators, chosen by the ``evaluator_type`` of a data set's metadata."""
from detectron2.data import MetadataCatalog
from detectron2.utils.registry import Registry

EVALUATOR_REGISTRY = Registry("LT_EVALUATOR")
EVALUATOR_REGISTRY.__doc__ = """
Registry of detectron2 ``DatasetEvaluator`` classes keyed by ``evaluator_type``
("lvis" for LVIS-format detection sets, "lt_classification" for classification sets).

Call contract: ``cls.from_cfg(cfg, dataset_name, output_dir)`` returns the evaluator.
"""


def build_evaluator(cfg, dataset_name: str, output_dir: str):
    """The evaluator for ``dataset_name``, chosen by its metadata's ``evaluator_type``."""
    meta = MetadataCatalog.get(dataset_name)
    kind = meta.get("evaluator_type", None)
    if kind is None or kind not in EVALUATOR_REGISTRY:
        known = ", ".join(sorted(k for k, _ in EVALUATOR_REGISTRY))
        raise KeyError(
            f"Data set {dataset_name!r} has evaluator_type {kind!r}; lt_det evaluates: {known}"
        )
    return EVALUATOR_REGISTRY.get(kind).from_cfg(cfg, dataset_name, output_dir)


def register_evaluator(evaluator_type: str, cls) -> None:
    """Register ``cls`` for data sets whose metadata has ``evaluator_type``.

    fvcore's ``Registry.register`` keys by ``__name__`` only; evaluator types are data-set
    vocabulary ("lvis"), so the key is given explicitly (a duplicate is still an error).
    """
    EVALUATOR_REGISTRY._do_register(evaluator_type, cls)
