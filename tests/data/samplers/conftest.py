"""Fixtures of the sampler tests (data and constructors live in sampler_data.py)."""
import pytest
from sampler_data import SAMPLERS, cls_dicts, det_dicts


@pytest.fixture(params=sorted(SAMPLERS))
def sampler_spec(request):
    return SAMPLERS[request.param]


@pytest.fixture(params=["classification", "detection"])
def dicts(request):
    return cls_dicts() if request.param == "classification" else det_dicts()
