"""lt_det: long-tailed recognition tricks as first-class detectron2 components.

Importing the package registers its components (losses, samplers, ROI heads, data sets)
in the registries of detectron2 and of lt_det.
"""
__version__ = "0.1.0"
