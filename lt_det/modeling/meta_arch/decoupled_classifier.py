"""``DecoupledClassifier``: one network holding T nested sub-models, aggregated at test time.

The model of Decoupled Optimisation (Cong et al., AAAI 2024): an ``LTClassifier`` whose
decoupled parameters carry owner masks (``lt_det.modeling.param_masks.ParamMasks``,
trained and pruned stage by stage by ``lt_det.engine.param_decoupling``), and whose
inference aggregates the T sub-models' probabilities with
``lt_det.modeling.test_time_aggregation`` (instance-level by default). Stages are the
top-level config plus the entries of ``LT.STAGES``, so T = len(LT.STAGES) + 1.
"""
import torch
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY
from torch.nn import functional as F

from ..param_masks import ParamMasks
from ..test_time_aggregation import TestTimeAggregator
from .classifier import LTClassifier


def random_views(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """A random view of each image: horizontal flip (p = 0.5) and a shift of up to ``pad``
    pixels (zero padding, crop of the original size)."""
    n, _, h, w = images.shape
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.where(flip.view(n, 1, 1, 1).to(images.device), images.flip(-1), images)
    if pad <= 0:
        return out
    padded = F.pad(out, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).tolist()
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).tolist()
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


@META_ARCH_REGISTRY.register()
class DecoupledClassifier(LTClassifier):
    """``LTClassifier`` + parameter masks of T stages + test-time aggregation.

    Inference returns one ``{"scores": [C], "aggregation_weights": lambda [T]}`` per
    image. A model whose masks hold fewer than T finished stages (a checkpoint that was not
    written by a decoupling run) is refused at inference, except while its own training
    runs (``allow_partial = True``), when the current network is evaluated as is.

    Args:
        num_stages: T.
        exclude: module paths whose parameters are not decoupled.
        aggregation, tta_steps, tta_lr: see ``TestTimeAggregator``.
        tta_pad: shift range of the two random views.
        seed: seed of the views' random draws.
        **kwargs: ``LTClassifier`` arguments.
    """

    @configurable
    def __init__(self, *, num_stages: int, exclude=(), aggregation: str = "instance", tta_steps: int = 5,
                 tta_lr: float = 0.2, tta_pad: int = 4, seed: int = 0, eval_submodel: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.param_masks = ParamMasks(self, num_stages, exclude=tuple(exclude) + ("param_masks",))
        self.aggregator = TestTimeAggregator(aggregation, tta_steps, tta_lr)
        self.tta_pad = int(tta_pad)
        self.seed = int(seed)
        self.allow_partial = False
        if not 0 <= int(eval_submodel) <= num_stages:
            raise ValueError(f"LT.DECOUPLE.EVAL_SUBMODEL must lie in 0..{num_stages}, got {eval_submodel}")
        self.eval_submodel = int(eval_submodel)
        self._views_generator = torch.Generator().manual_seed(self.seed)

    @classmethod
    def from_config(cls, cfg, class_stats=None):
        ret = LTClassifier.from_config(cfg, class_stats)
        d = cfg.LT.DECOUPLE
        ret.update(
            num_stages=len(cfg.LT.STAGES) + 1,
            exclude=tuple(d.EXCLUDE),
            aggregation=d.AGGREGATION,
            tta_steps=d.TTA_STEPS,
            tta_lr=d.TTA_LR,
            tta_pad=d.TTA_PAD,
            seed=max(int(cfg.SEED), 0),
            eval_submodel=d.EVAL_SUBMODEL,
        )
        return ret

    @property
    def num_stages(self) -> int:
        return self.param_masks.num_stages

    def reset_aggregation(self) -> None:
        """Start a new test set: the group-level lambda and the views' draws restart."""
        self.aggregator.reset()
        self._views_generator = torch.Generator().manual_seed(self.seed)

    def train(self, mode: bool = True):
        if not mode and self.training:
            self.reset_aggregation()  # every evaluation starts from the same state
        return super().train(mode)

    def submodel_probs(self, images: torch.Tensor) -> torch.Tensor:
        """``[T, N, C]`` probabilities of the T sub-models on preprocessed images."""
        out = []
        for t in range(1, self.num_stages + 1):
            with self.param_masks.submodel(self, t):
                out.append(self.loss.predict_probs(self.classify(self.extract_features(images))))
        return torch.stack(out)

    def aggregate(self, images: torch.Tensor):
        """(aggregated probabilities ``[N, C]``, lambda ``[N, T]``) of preprocessed images;
        with ``eval_submodel = t`` sub-model t alone (lambda one-hot)."""
        if self.eval_submodel:
            with self.param_masks.submodel(self, self.eval_submodel):
                probs = self.loss.predict_probs(self.classify(self.extract_features(images)))
            weights = torch.zeros(images.shape[0], self.num_stages, device=probs.device)
            weights[:, self.eval_submodel - 1] = 1.0
            return probs, weights
        if self.aggregator.mode == "average":  # no views needed: lambda_t = 1 / T
            probs = self.submodel_probs(images)
            return self.aggregator(probs, probs, probs)
        view1 = random_views(images, self.tta_pad, self._views_generator)
        view2 = random_views(images, self.tta_pad, self._views_generator)
        n = images.shape[0]
        probs = self.submodel_probs(torch.cat([images, view1, view2]))
        return self.aggregator(probs[:, :n], probs[:, n:2 * n], probs[:, 2 * n:])

    def forward(self, batched_inputs):
        if self.training or len(batched_inputs) == 0:
            return super().forward(batched_inputs)
        done = int(self.param_masks.stages_done)
        if done < self.num_stages:
            if self.allow_partial:
                return super().forward(batched_inputs)
            raise ValueError(
                f"MODEL.WEIGHTS holds {done} of the {self.num_stages} sub-models' masks (param_masks.* "
                "buffers); evaluate a checkpoint written by a LT.DECOUPLE.ENABLED training run of this config"
            )
        with torch.no_grad():
            probs, weights = self.aggregate(self.preprocess_image(batched_inputs))
        return [{"scores": p, "aggregation_weights": w} for p, w in zip(probs, weights)]
