"""The contract every registered loss keeps: logit count, score layout, edge cases and
finite numerics. The tests iterate ``LOSS_REGISTRY`` (as timm's tests iterate every
registered model), so a new loss is covered as soon as it is registered."""
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import compute_class_stats, stats_to_metadata
from lt_det.losses import LOSS_REGISTRY, build_loss

C = 4
# Logits in detection where a loss's count is pinned by hand (classification has C); a loss
# not listed here is still covered, with the generic layouts below.
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
# The counts each loss reads from its class statistics (ClassificationLoss.require_counts);
# a loss not listed builds without class statistics.
REQUIRED_COUNTS = {
    **dict.fromkeys(["ECM", "EQL", "Federated"], "image"),
    **dict.fromkeys(
        ["BAGS", "BalancedSoftmaxCE", "CBFocal", "CSCE", "ClassBalancedCE", "CompensationCE",
         "LDAM", "LogitAdjustedCE"],
        "instance",
    ),
}
NAMES = sorted(name for name, _ in LOSS_REGISTRY)
# (name, use_background) for every loss and every mode it has.
MODES = [(n, b) for n in NAMES for b in (True, False) if b is False or LOSS_REGISTRY.get(n).detection]
DETECTION = [n for n in NAMES if LOSS_REGISTRY.get(n).detection]


def _labels(use_background, num):
    """Every class, then (detection) background labels C, cycled to ``num`` samples."""
    pattern = list(range(C)) + ([C, C] if use_background else [])
    return torch.tensor([pattern[i % len(pattern)] for i in range(num)])


@pytest.fixture
def stats(make_stats):
    # Class 3 has no training image at all.
    return make_stats([500, 20, 1, 0], instance_count=[2000, 30, 1, 0], num_images=1000)


@pytest.mark.parametrize("name,use_background", MODES)
def test_shapes_and_scores(build, stats, name, use_background):
    loss = build(name, C, use_background, stats).train()
    assert type(loss) is LOSS_REGISTRY.get(name)
    # Classification: one logit per class (BAGS adds one "others" per group). Detection: C
    # sigmoid logits, C + 1 softmax logits or C + 2 (Seesaw's objectness pair), pinned above
    # for the losses listed there.
    if use_background:
        assert loss.num_logits() == DETECTION_LOGITS.get(name, loss.num_logits()) and (
            name in DETECTION_LOGITS or loss.num_logits() in (C, C + 1, C + 2))
    else:
        assert loss.num_logits() == CLASSIFICATION_LOGITS.get(name, C)
    torch.manual_seed(0)
    logits = torch.randn(7, loss.num_logits(), requires_grad=True)
    labels = _labels(use_background, 7)
    value = loss(logits, labels)
    value.backward()
    assert value.dim() == 0 and torch.isfinite(value) and torch.isfinite(logits.grad).all()
    probs = loss.predict_probs(logits.detach())
    assert probs.shape == (7, C + 1 if use_background else C)
    assert torch.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()
    # Each class has its own logit column inside the layout (swap_classification_loss moves
    # the class rows by these).
    cols = loss.class_columns()
    assert cols.dtype == torch.int64 and cols.shape == (C,) and len(set(cols.tolist())) == C
    assert 0 <= int(cols.min()) and int(cols.max()) < loss.num_logits()


@pytest.mark.parametrize("name", sorted(set(NAMES) - set(DETECTION)))
def test_classification_only_loss_rejects_detection(build, stats, name):
    with pytest.raises(ValueError, match="no detection form"):
        build(name, C, True, stats)


@pytest.mark.parametrize("name", NAMES)
def test_class_statistics_requirement(build, name):
    use_background = LOSS_REGISTRY.get(name).detection
    if name not in REQUIRED_COUNTS:
        assert build(name, C, use_background, None).class_stats is None
        return
    # One line naming the loss and the counts it needs (the base class's require_counts).
    message = rf"^{name} needs class statistics \({REQUIRED_COUNTS[name]} counts\): register"
    with pytest.raises(ValueError, match=message):
        build(name, C, use_background, None)


@pytest.mark.parametrize("name", DETECTION)
def test_empty_batch(build, stats, name):
    loss = build(name, C, True, stats).train()
    logits = torch.zeros(0, loss.num_logits(), requires_grad=True)
    value = loss(logits, torch.zeros(0, dtype=torch.long))
    value.backward()
    assert value.item() == 0.0 and logits.grad.shape == (0, loss.num_logits())
    assert loss.predict_probs(logits.detach()).shape == (0, C + 1)


@pytest.mark.parametrize("name", DETECTION)
def test_all_background_batch(build, stats, name):
    loss = build(name, C, True, stats).train()
    logits = torch.randn(5, loss.num_logits(), requires_grad=True)
    value = loss(logits, torch.full((5,), C))
    value.backward()
    assert torch.isfinite(value) and value > 0 and torch.isfinite(logits.grad).all()
    # A second step after the first has updated any state.
    assert torch.isfinite(loss(logits.detach(), torch.full((5,), C)))


@pytest.mark.parametrize("name,use_background", MODES)
def test_single_class(build, make_stats, name, use_background):
    loss = build(name, 1, use_background, make_stats([3])).train()
    logits = torch.randn(3, loss.num_logits())
    labels = torch.tensor([0, 1, 0]) if use_background else torch.zeros(3, dtype=torch.long)
    assert torch.isfinite(loss(logits, labels))
    assert loss.predict_probs(logits).shape == (3, 1 + int(use_background))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,use_background", MODES)
def test_finite_value_and_gradient_at_extreme_logits(build, stats, name, use_background, dtype):
    # Logits of +-1e4 overflow exp() in both precisions and drive sigmoid/softmax to exactly
    # 0 or 1: a loss must reach its value and gradient through log-space forms. The rows mix
    # large positive and negative logits on the label's column and on the others, so every
    # class is once a confident hit, once a confident miss.
    loss = build(name, C, use_background, stats).train()
    labels = _labels(use_background, 8)
    big = torch.zeros(8, loss.num_logits(), dtype=dtype)
    big[0::2, :] = 1e4
    big[1::2, :] = -1e4
    big[2::4, 0] = -1e4
    big[3::4, 1] = 1e4
    for logits in (big, -big):
        for _ in range(2):  # a second step sees the state the first has updated
            x = logits.clone().requires_grad_(True)
            value = loss(x, labels)
            value.backward()
            assert value.dtype == dtype and torch.isfinite(value), (name, value)
            assert torch.isfinite(x.grad).all(), (name, x.grad)
        assert torch.isfinite(loss.predict_probs(logits)).all()


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
