"""Mixup training for the classification branch: input mixup and manifold mixup.

Input mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018):
``x~ = lam x_a + (1 - lam) x_b``, ``L = lam L(f(x~), y_a) + (1 - lam) L(f(x~), y_b)`` with
``lam ~ Beta(alpha, alpha)`` and ``b`` a random permutation of the batch.
Manifold mixup (Verma et al., ICML 2019) mixes hidden states ``h`` instead of ``x`` at one
location (a backbone stage's output, or the pooled features; Zhang et al., AAAI 2021 find
"pool" best on long-tailed CIFAR). Remix (``remix.py``) changes only the label weights.

A mixup strategy is registered in ``MIXUP_REGISTRY`` and selected by ``MODEL.LT.MIXUP.NAME``; the
``LTTricksClassifier`` meta-architecture calls it in place of its plain training forward.
Fine-tuning without mixup for the last epochs is a stage of ``LT.STAGES`` that sets
``MODEL.LT.MIXUP.NAME`` to "none".
"""
from typing import Callable, Dict, Optional, Union

import numpy as np
import torch
from detectron2.config import configurable
from detectron2.utils.registry import Registry

MIXUP_REGISTRY = Registry("LT_MIXUP")
MIXUP_REGISTRY.__doc__ = """
Registry of mixup strategies (training forward passes of a classifier).

Call contract: the registered class is ``@configurable`` and built as ``cls(cfg)``; its
``from_config`` maps ``cfg.MODEL.LT.MIXUP.*`` to keyword arguments. The instance is called as
``strategy(model, images, labels) -> {"loss_cls": Tensor}`` where ``model`` offers the
``LTClassifier`` API (docs/classification.md): ``extract_features``, ``classify``,
``losses``, ``backbone``, ``pool``, ``in_feature``; ``images`` are the preprocessed float
``[N,3,H,W]`` tensor and ``labels`` the int64 ``[N]`` ground truth.
"""


def sample_lambda(alpha: float, generator: Optional[np.random.Generator] = None) -> float:
    """Draw ``lam ~ Beta(alpha, alpha)``; ``alpha <= 0`` means no mixing (``lam = 1``)."""
    if alpha <= 0:
        return 1.0
    rng = generator if generator is not None else np.random.default_rng()
    return float(rng.beta(alpha, alpha))


def mix(x: torch.Tensor, lam: float, perm: torch.Tensor) -> torch.Tensor:
    """The convex combination ``lam * x + (1 - lam) * x[perm]`` along the batch axis."""
    return lam * x + (1.0 - lam) * x[perm]


def mixed_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    logits: torch.Tensor,
    labels_a: torch.Tensor,
    labels_b: torch.Tensor,
    weight_a: Union[float, torch.Tensor],
) -> torch.Tensor:
    """``mean_i [w_i L_i(y_a) + (1 - w_i) L_i(y_b)]`` for a batch-mean loss ``loss_fn``.

    ``weight_a`` is one float (mixup) or one weight per sample (Remix). Per-sample weights
    take few distinct values (0, lam, 1), so the batch is split by value and each group's
    batch-mean loss is weighted by its share of the batch; for a loss that is a mean of
    per-sample terms this equals the per-sample weighted mean exactly, and it needs nothing
    from the loss but ``loss_fn(logits, labels) -> scalar``.
    """
    if not torch.is_tensor(weight_a):
        w = float(weight_a)
        return w * loss_fn(logits, labels_a) + (1.0 - w) * loss_fn(logits, labels_b)
    n = logits.shape[0]
    total = logits.sum() * 0.0
    for value in torch.unique(weight_a):
        idx = (weight_a == value).nonzero(as_tuple=True)[0]
        w = float(value)
        part = w * loss_fn(logits[idx], labels_a[idx]) + (1.0 - w) * loss_fn(logits[idx], labels_b[idx])
        total = total + part * (idx.numel() / n)
    return total


class MixupBase:
    """Shared state of the mixup strategies: alpha and a seeded random generator.

    Args:
        alpha: Beta(alpha, alpha) parameter of the mixing coefficient.
        seed: seed of the generator of lambda and of the permutation (None: random).
    """

    def __init__(self, *, alpha: float = 1.0, seed: Optional[int] = None):
        if alpha < 0:
            raise ValueError(f"MODEL.LT.MIXUP.ALPHA must be >= 0, got {alpha}")
        self.alpha = float(alpha)
        self._rng = np.random.default_rng(seed)
        self._torch_gen = torch.Generator().manual_seed(int(self._rng.integers(2**31)))

    def draw(self, n: int):
        """One ``lam`` and one permutation of ``n`` samples (on the CPU)."""
        return sample_lambda(self.alpha, self._rng), torch.randperm(n, generator=self._torch_gen)

    @staticmethod
    def _loss(model):
        return lambda logits, labels: model.losses(logits, labels)["loss_cls"]


@MIXUP_REGISTRY.register()
class InputMixup(MixupBase):
    """Input mixup (Zhang et al., ICLR 2018): ``x~ = lam x_a + (1-lam) x_b``, label weights
    ``lam`` / ``1 - lam``."""

    @configurable
    def __init__(self, *, alpha: float = 1.0, seed: Optional[int] = None):
        super().__init__(alpha=alpha, seed=seed)

    @classmethod
    def from_config(cls, cfg):
        return {"alpha": cfg.MODEL.LT.MIXUP.ALPHA, "seed": None if cfg.SEED < 0 else cfg.SEED}

    def label_weights(self, lam: float, labels_a, labels_b) -> Union[float, torch.Tensor]:
        """Weight of ``labels_a`` in the loss (mixup: ``lam``; Remix overrides this)."""
        return lam

    def __call__(self, model, images: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        lam, perm = self.draw(images.shape[0])
        perm = perm.to(images.device)
        logits = model.classify(model.extract_features(mix(images, lam, perm)))
        weights = self.label_weights(lam, labels, labels[perm])
        return {"loss_cls": mixed_loss(self._loss(model), logits, labels, labels[perm], weights)}


def forward_backbone_mixing_at(backbone, images: torch.Tensor, location: str, out_feature: str, mixer):
    """Run a detectron2 ``ResNet``-like backbone (``stem``, ``stages``, ``stage_names``),
    applying ``mixer`` to the output of stage ``location``; returns feature ``out_feature``."""
    if not all(hasattr(backbone, a) for a in ("stem", "stages", "stage_names")):
        raise ValueError(
            f"Manifold mixup at {location!r} needs a backbone with stem/stages/stage_names "
            "(detectron2's ResNet); set MODEL.LT.MIXUP.LOCATION to 'pool' for other backbones"
        )
    names = list(backbone.stage_names)
    if location not in names + ["stem"]:
        raise ValueError(f"MODEL.LT.MIXUP.LOCATION {location!r} is not one of {['stem'] + names + ['pool']}")
    x = backbone.stem(images)
    if location == "stem":
        x = mixer(x)
    for name, stage in zip(names, backbone.stages):
        x = stage(x)
        if name == location:
            x = mixer(x)
        if name == out_feature:
            return x
    raise ValueError(f"Backbone has no stage {out_feature!r}")


@MIXUP_REGISTRY.register()
class ManifoldMixup(MixupBase):
    """Manifold mixup (Verma et al., ICML 2019): ``h~ = lam h_a + (1-lam) h_b`` at one layer.

    Args:
        alpha: Beta parameter.
        location: "pool" (pooled features, before the classifier) or a backbone stage
            name ("stem", "res2", ...) whose output is mixed.
    """

    @configurable
    def __init__(self, *, alpha: float = 1.0, location: str = "pool", seed: Optional[int] = None):
        super().__init__(alpha=alpha, seed=seed)
        self.location = location

    @classmethod
    def from_config(cls, cfg):
        return {
            "alpha": cfg.MODEL.LT.MIXUP.ALPHA,
            "location": cfg.MODEL.LT.MIXUP.LOCATION,
            "seed": None if cfg.SEED < 0 else cfg.SEED,
        }

    def __call__(self, model, images: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        lam, perm = self.draw(images.shape[0])
        perm = perm.to(images.device)
        if self.location == "pool":
            features = mix(model.extract_features(images), lam, perm)
        else:
            fmap = forward_backbone_mixing_at(
                model.backbone, images, self.location, model.in_feature, lambda h: mix(h, lam, perm)
            )
            features = model.pool(fmap)
        logits = model.classify(features)
        return {"loss_cls": mixed_loss(self._loss(model), logits, labels, labels[perm], lam)}


def build_mixup(cfg):
    """The strategy named by ``cfg.MODEL.LT.MIXUP.NAME``, or None for "none"."""
    name = cfg.MODEL.LT.MIXUP.NAME
    if name in ("", "none", "None"):
        return None
    if name not in MIXUP_REGISTRY:
        known = ", ".join(sorted(k for k, _ in MIXUP_REGISTRY))
        raise KeyError(f"Unknown MODEL.LT.MIXUP.NAME {name!r}; use 'none' or one of: {known}")
    return MIXUP_REGISTRY.get(name)(cfg)
