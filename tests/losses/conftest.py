"""Fixtures of the loss tests: a config factory and class statistics built by hand."""
import numpy as np
import pytest

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import ClassStats, frequency_group
from lt_det.losses import build_loss


def _stats(image_count, instance_count=None, num_images=1000):
    image_count = np.asarray(image_count, dtype=np.int64)
    instance_count = image_count if instance_count is None else instance_count
    return ClassStats(
        image_count=image_count,
        instance_count=np.asarray(instance_count, dtype=np.int64),
        frequency=[frequency_group(int(n)) for n in image_count],
        num_images=num_images,
    )


@pytest.fixture
def make_stats():
    """``make_stats(image_count, instance_count=None, num_images=1000) -> ClassStats``."""
    return _stats


@pytest.fixture
def build():
    """``build(name, num_classes, use_background, class_stats, **cfg_keys)``: the loss built
    through ``build_loss`` from a config; ``cfg_keys`` are dotted keys under MODEL.LT.LOSS."""

    def _build(name, num_classes, use_background, class_stats=None, **cfg_keys):
        cfg = get_lt_cfg()
        cfg.DATASETS.TRAIN = ()
        cfg.MODEL.LT.LOSS.NAME = name
        for dotted, value in cfg_keys.items():
            node = cfg.MODEL.LT.LOSS
            *path, leaf = dotted.split(".")
            for part in path:
                node = node[part]
            node[leaf] = value
        return build_loss(cfg, num_classes, use_background, class_stats)

    return _build
