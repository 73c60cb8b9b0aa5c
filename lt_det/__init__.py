"""lt_det: long-tailed recognition tricks as first-class detectron2 components.

Importing the package registers its components (data sets, losses, samplers, models,
evaluators) in detectron2's and lt_det's registries.
"""
__version__ = "0.1.0"

from . import config, data, engine, evaluation, losses, modeling, solver  # noqa: F401,E402
