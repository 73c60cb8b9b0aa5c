"""The contract every detection loss (issues 4 and 16) keeps: logit count, score layout and edge cases."""
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import compute_class_stats, stats_to_metadata
from lt_det.losses import LOSS_REGISTRY, build_loss

C = 4
# Logits in detection (classification always has C): the losses' declared shapes.
DETECTION_LOGITS = {
    "SoftmaxCE": C + 1,
    "SigmoidBCE": C,
    "EQL": C,
    "EQLv2": C + 1,
    "Seesaw": C + 2,
    "Federated": C,
    "CSCE": C + 1,
    "ClassBalancedCE": C + 1,
    "Focal": C,
    "CBFocal": C,
    # Issue 16. BAGS: background group (2) + one "others" per class group; the fixture's
    # instance counts (2000, 30, 1, 0) make 3 groups.
    "ECM": C + 1,
    "GOL": C + 1,
    "BAGS": C + 2 + 3,
}
# Classification has C logits except where a loss adds its own (BAGS: one "others" per group).
CLASSIFICATION_LOGITS = {"BAGS": C + 3}
NAMES = sorted(DETECTION_LOGITS)


@pytest.fixture
def stats(make_stats):
    # Class 3 has no training image at all.
    return make_stats([500, 20, 1, 0], instance_count=[2000, 30, 1, 0], num_images=1000)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("use_background", [True, False])
def test_shapes_and_scores(build, stats, name, use_background):
    loss = build(name, C, use_background, stats).train()
    assert type(loss) is LOSS_REGISTRY.get(name)
    assert loss.num_logits() == (
        DETECTION_LOGITS[name] if use_background else CLASSIFICATION_LOGITS.get(name, C)
    )
    torch.manual_seed(0)
    logits = torch.randn(7, loss.num_logits(), requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, C, C, 0]) if use_background else torch.tensor([0, 1, 2, 3, 3, 2, 0])
    value = loss(logits, labels)
    value.backward()
    assert value.dim() == 0 and torch.isfinite(value) and torch.isfinite(logits.grad).all()
    probs = loss.predict_probs(logits.detach())
    assert probs.shape == (7, C + 1 if use_background else C)
    assert torch.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()


@pytest.mark.parametrize("name", NAMES)
def test_empty_batch(build, stats, name):
    loss = build(name, C, True, stats).train()
    logits = torch.zeros(0, loss.num_logits(), requires_grad=True)
    value = loss(logits, torch.zeros(0, dtype=torch.long))
    value.backward()
    assert value.item() == 0.0 and logits.grad.shape == (0, loss.num_logits())
    assert loss.predict_probs(logits.detach()).shape == (0, C + 1)


@pytest.mark.parametrize("name", NAMES)
def test_all_background_batch(build, stats, name):
    loss = build(name, C, True, stats).train()
    logits = torch.randn(5, loss.num_logits(), requires_grad=True)
    value = loss(logits, torch.full((5,), C))
    value.backward()
    assert torch.isfinite(value) and value > 0 and torch.isfinite(logits.grad).all()
    # A second step after the first has updated any state.
    assert torch.isfinite(loss(logits.detach(), torch.full((5,), C)))


@pytest.mark.parametrize("name", NAMES)
def test_single_class(build, make_stats, name):
    loss = build(name, 1, True, make_stats([3])).train()
    logits = torch.randn(3, loss.num_logits())
    assert torch.isfinite(loss(logits, torch.tensor([0, 1, 0])))
    assert loss.predict_probs(logits).shape == (3, 2)


def test_unknown_name_is_a_clear_error():
    cfg = get_lt_cfg()
    cfg.DATASETS.TRAIN = ()
    cfg.MODEL.LT.LOSS.NAME = "EQLv3"
    with pytest.raises(KeyError, match="EQLv3.*registered losses"):
        build_loss(cfg, C, True)


def test_class_count_disagreeing_with_dataset_is_a_clear_error():
    name = "lt_det_test_losses_three_classes"
    dicts = [{"image_id": 0, "annotations": [{"category_id": 2}]}]
    if name not in DatasetCatalog.list():
        DatasetCatalog.register(name, lambda: dicts)
        MetadataCatalog.get(name).set(
            thing_classes=["a", "b", "c"], **stats_to_metadata(compute_class_stats(dicts, 3))
        )
    cfg = get_lt_cfg()
    cfg.DATASETS.TRAIN = (name,)
    cfg.MODEL.LT.LOSS.NAME = "EQL"
    with pytest.raises(ValueError, match="NUM_CLASSES"):
        build_loss(cfg, C, True)
    assert build_loss(cfg, 3, True).tail.tolist() == [1.0, 1.0, 0.0]  # f = (0, 0, 1)
