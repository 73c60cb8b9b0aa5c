"""Post-hoc score calibration of trained detectors (``MODEL.LT.CALIBRATION``)."""
from .build import (
    CALIBRATION_REGISTRY,
    CalibratedPredictProbs,
    apply_calibration,
    box_predictors,
    build_calibration,
)

# Importing each calibration file registers it in CALIBRATION_REGISTRY.
from .fracal import FRACAL
from .norcal import NorCal

__all__ = [
    "CALIBRATION_REGISTRY",
    "CalibratedPredictProbs",
    "apply_calibration",
    "box_predictors",
    "build_calibration",
    "FRACAL",
    "NorCal",
]
