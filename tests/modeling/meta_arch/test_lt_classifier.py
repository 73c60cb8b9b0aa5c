import pytest
import torch
from detectron2.modeling import build_model

from lt_det.config import get_lt_cfg
from lt_det.data.class_stats import ClassStats, frequency_group
from lt_det.data.classification import ImageBatch
from lt_det.losses import LOSS_REGISTRY
from lt_det.modeling import LTClassifier
from lt_det.modeling.classifier_heads import Cosine

COUNTS = [40, 12, 3]


def _stats(counts=COUNTS):
    counts = torch.tensor(counts).numpy()
    return ClassStats(counts, counts, [frequency_group(int(n)) for n in counts], int(counts.sum()))


def _cfg(**loss):
    cfg = get_lt_cfg()
    cfg.MODEL.META_ARCHITECTURE = "LTClassifier"
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.BACKBONE.NAME = "build_cifar_resnet_backbone"
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    cfg.MODEL.LT.RESNET.DEPTH = 8
    cfg.MODEL.LT.RESNET.WIDTH = 4
    cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES = len(COUNTS)
    cfg.MODEL.PIXEL_MEAN = [127.5, 127.5, 127.5]
    cfg.MODEL.PIXEL_STD = [64.0, 64.0, 64.0]
    cfg.DATASETS.TRAIN = ()
    for k, v in loss.items():
        cfg.MODEL.LT.LOSS[k] = v
    return cfg


def _model(cfg):
    return LTClassifier(cfg, class_stats=_stats())


def _batch(n=6, size=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    labels = torch.arange(n) % len(COUNTS)
    return ImageBatch(images, labels, torch.arange(n))


def test_builds_from_config_through_detectron2():
    model = build_model(_cfg())
    assert isinstance(model, LTClassifier)
    assert model.in_feature == "res4" and model.head.in_features == 16 and model.num_classes == 3


def test_train_and_inference_outputs():
    torch.manual_seed(0)
    model = _model(_cfg())
    batch = _batch()
    losses = model(batch)
    assert set(losses) == {"loss_cls"} and losses["loss_cls"].ndim == 0
    losses["loss_cls"].backward()
    assert model.head.weight.grad is not None and model.backbone.stem.layers[0].weight.grad is not None
    model.eval()
    with torch.no_grad():
        out = model(batch)
    assert len(out) == 6 and out[0]["scores"].shape == (3,)
    assert torch.allclose(torch.stack([o["scores"] for o in out]).sum(1), torch.ones(6))


def test_components_compose_like_forward():
    # The API other tricks build on: forward == inference(classify(extract_features(preprocess))).
    model = _model(_cfg()).eval()
    batch = _batch()
    with torch.no_grad():
        images = model.preprocess_image(batch)
        # Normalisation: (x - 127.5) / 64 of the uint8 input.
        assert torch.allclose(images, (batch.images.float() - 127.5) / 64)
        feats = model.extract_features(images)
        assert feats.shape == (6, 16)
        logits = model.classify(feats)
        manual = model.inference(logits)
        auto = model(batch)
    assert all(torch.allclose(a["scores"], b["scores"]) for a, b in zip(manual, auto))
    assert model.labels(batch).tolist() == batch.labels.tolist()


def test_plain_list_of_dicts_equals_image_batch():
    model = _model(_cfg()).eval()
    batch = _batch()
    dicts = [{"image": d["image"].clone(), "label": d["label"]} for d in batch]
    with torch.no_grad():
        a = torch.stack([o["scores"] for o in model(batch)])
        b = torch.stack([o["scores"] for o in model(dicts)])
    assert torch.equal(a, b)


def test_loss_weight_and_empty_batch():
    torch.manual_seed(0)
    m1 = _model(_cfg())
    torch.manual_seed(0)
    m2 = _model(_cfg(WEIGHT=2.5))
    batch = _batch()
    assert torch.isclose(m2(batch)["loss_cls"], 2.5 * m1(batch)["loss_cls"])
    assert m1.eval()([]) == []


@pytest.mark.parametrize("name", sorted(k for k, _ in LOSS_REGISTRY))
def test_every_registered_loss_trains(name):
    """Each shared loss builds for classification (use_background=False), gives a finite
    loss with gradients, and scores of shape [N, C]."""
    torch.manual_seed(0)
    cfg = _cfg(NAME=name)
    if name == "LDAM":
        cfg.MODEL.LT.CLASSIFIER.HEAD = "Cosine"
        cfg.MODEL.LT.CLASSIFIER.COSINE_SCALE = 1.0
    model = _model(cfg)
    loss = model(_batch())["loss_cls"]
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(model.head.weight.grad).all()
    if name == "LDAM":
        assert isinstance(model.head, Cosine)
    model.eval()
    with torch.no_grad():
        scores = torch.stack([o["scores"] for o in model(_batch(4))])
    assert scores.shape == (4, 3) and ((scores >= 0) & (scores <= 1)).all()


def test_class_count_mismatch_is_a_clear_error():
    cfg = _cfg()
    cfg.MODEL.LT.CLASSIFIER.NUM_CLASSES = 5
    with pytest.raises(ValueError, match="NUM_CLASSES"):
        LTClassifier(cfg, class_stats=_stats())
