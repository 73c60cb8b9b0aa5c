"""Masks over one set of weights: T nested sub-models that share a network's parameters.

Parameter decoupling (Cong et al., "Decoupled Optimisation for Long-Tailed Visual
Recognition", AAAI 2024; PackNet, Mallya and Lazebnik, CVPR 2018, for the masking idea)
splits every decoupled parameter tensor element-wise into groups theta_bar_1 ... theta_bar_T.
One int8 buffer per tensor records the owner of each element:

* ``0``: free - trained in the current stage;
* ``-1``: pruned in the current stage (value 0, not trained; freed and re-initialised when
  the stage ends);
* ``t >= 1``: important for stage t (theta_bar_t), frozen from the end of stage t on.

Sub-model t is theta_bar_1 u ... u theta_bar_t: its forward uses the elements with owner
in [1, t] and zeros elsewhere. All T sub-models live in one checkpoint as these buffers
(one byte per element), not as T copies of the weights.

Frozen and pruned elements are truly frozen: their gradients are masked, and since SGD's
weight decay and momentum would still move an element whose gradient is zero, every
optimizer step is followed by restoring them to their values (a hook on the optimizer),
so they stay bit-identical whatever the optimizer.

Normalisation layers are not masked: their affine parameters and running statistics are
trained in every stage, and the state at the end of stage t is stored for sub-model t
(``[T, C]`` buffers). Sub-model t's frozen weights were trained under the statistics of its
own stage; later stages add active weights that change every layer's activations, so
sharing the last statistics would shift the earlier sub-models' inputs.
"""
import contextlib
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

FREE = 0
PRUNED = -1
NORM_TYPES = (_BatchNorm, nn.GroupNorm, nn.LayerNorm)
BN_STATS = ("weight", "bias", "running_mean", "running_var")


def _safe(name: str) -> str:
    return name.replace(".", "__")


def is_norm(module: nn.Module) -> bool:
    from detectron2.layers import FrozenBatchNorm2d

    return isinstance(module, NORM_TYPES + (FrozenBatchNorm2d,))


def decoupled_parameters(model: nn.Module, exclude: Iterable[str] = ()) -> List[Tuple[str, nn.Parameter]]:
    """Parameters that are split between stages: every parameter outside normalisation
    layers (and outside the module paths ``exclude``)."""
    exclude = tuple(exclude)
    norm_params = {id(p) for m in model.modules() if is_norm(m) for p in m.parameters(recurse=False)}
    return [
        (n, p) for n, p in model.named_parameters()
        if id(p) not in norm_params and not any(n == e or n.startswith(e + ".") for e in exclude)
    ]


def norm_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if is_norm(m) and hasattr(m, "weight")]


class ParamMasks(nn.Module):
    """Owner buffers of a model's decoupled parameters and per-stage normalisation states.

    Build it from the model it masks and make it a submodule of that model (so the buffers
    are in the model's checkpoint); every method takes that model. It holds no reference
    to the model itself.

    Args:
        model: the network (without this module yet).
        num_stages: T.
        exclude: module paths whose parameters are not decoupled.
    """

    def __init__(self, model: nn.Module, num_stages: int, exclude: Iterable[str] = ()):
        super().__init__()
        if num_stages < 1:
            raise ValueError(f"num_stages must be >= 1, got {num_stages}")
        self.num_stages = int(num_stages)
        self.param_names = [n for n, _ in decoupled_parameters(model, exclude)]
        for n, p in decoupled_parameters(model, exclude):
            self.register_buffer("owner__" + _safe(n), torch.zeros(p.shape, dtype=torch.int8, device=p.device))
        self.norm_names = [n for n, _ in norm_modules(model)]
        for n, m in norm_modules(model):
            for stat in BN_STATS:
                t = getattr(m, stat, None)
                if isinstance(t, torch.Tensor):
                    self.register_buffer(f"norm__{_safe(n)}__{stat}", torch.zeros((num_stages,) + tuple(t.shape)))
        # Number of stages whose sub-model is complete, and the pruning ratio each used.
        self.register_buffer("stages_done", torch.zeros((), dtype=torch.int64))
        self.register_buffer("gammas", torch.full((num_stages,), -1.0))
        self._frozen_values: Dict[str, torch.Tensor] = {}
        self._trainable: Dict[str, torch.Tensor] = {}
        self._handles = []
        # False while importance is estimated: every element's own gradient is needed.
        self.grad_masking = True

    # ------------------------------------------------------------------ views
    def owner(self, name: str) -> torch.Tensor:
        return getattr(self, "owner__" + _safe(name))

    def params(self, model: nn.Module) -> Dict[str, nn.Parameter]:
        named = dict(model.named_parameters())
        return {n: named[n] for n in self.param_names}

    def trainable_mask(self, name: str) -> torch.Tensor:
        return self.owner(name) == FREE

    def submodel_mask(self, name: str, t: int) -> torch.Tensor:
        """Elements of sub-model t (owners 1..t)."""
        o = self.owner(name)
        return (o >= 1) & (o <= t)

    def count(self, code: Optional[int] = None) -> int:
        """Number of decoupled elements (with owner ``code`` if given)."""
        return int(sum(
            (self.owner(n) == code).sum() if code is not None else self.owner(n).numel()
            for n in self.param_names
        ))

    # -------------------------------------------------------------- training
    @torch.no_grad()
    def refresh(self, model: nn.Module) -> None:
        """Record the current values of the non-trainable elements (after the owners change
        or a checkpoint is loaded)."""
        self._frozen_values, self._trainable = {}, {}
        for n, p in self.params(model).items():
            trainable = self.trainable_mask(n)
            self._trainable[n] = trainable
            if not bool(trainable.all()):
                self._frozen_values[n] = p.detach().clone()

    def install(self, model: nn.Module, optimizer: Optional[torch.optim.Optimizer] = None) -> None:
        """Mask gradients of non-trainable elements and restore them after every step of
        ``optimizer`` (weight decay and momentum move elements whose gradient is zero)."""
        self.uninstall()
        self.refresh(model)
        for n, p in self.params(model).items():
            self._handles.append(p.register_hook(self._grad_hook(n)))
        if optimizer is not None:
            self._handles.append(optimizer.register_step_post_hook(lambda *a, **k: self.restore(model)))

    def uninstall(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _grad_hook(self, name: str):
        def hook(grad):
            if not self.grad_masking or name not in self._frozen_values:
                return grad
            return grad * self._trainable[name].to(grad.dtype)
        return hook

    @torch.no_grad()
    def restore(self, model: nn.Module) -> None:
        """Put every frozen / pruned element back to its recorded value."""
        params = dict(model.named_parameters())
        for n, frozen in self._frozen_values.items():
            p = params[n]
            p.copy_(torch.where(self._trainable[n], p, frozen))

    @torch.no_grad()
    def prune(self, model: nn.Module, prune: Dict[str, torch.Tensor]) -> int:
        """Mark free elements ``prune[name]`` (bool, param-shaped) as pruned and zero them.
        Returns the number newly pruned."""
        params = self.params(model)
        total = 0
        for n, sel in prune.items():
            sel = sel.to(torch.bool) & (self.owner(n) == FREE)
            self.owner(n)[sel] = PRUNED
            params[n][sel] = 0.0
            total += int(sel.sum())
        self.refresh(model)
        return total

    @torch.no_grad()
    def finish_stage(
        self,
        model: nn.Module,
        t: int,
        optimizer: Optional[torch.optim.Optimizer] = None,
        generator: Optional[torch.Generator] = None,
    ) -> int:
        """End stage t (1-based): the free elements become theta_bar_t, the normalisation
        state is stored for sub-model t, and the pruned elements are freed, re-initialised
        (the layer's own ``reset_parameters`` init) and their optimizer state zeroed.
        Returns the number of re-initialised elements."""
        if not 1 <= t <= self.num_stages:
            raise ValueError(f"stage {t} outside 1..{self.num_stages}")
        params = self.params(model)
        fresh = fresh_init(model, self.param_names, generator)
        reinit = 0
        for n, p in params.items():
            o = self.owner(n)
            o[o == FREE] = t
            pruned = o == PRUNED
            if bool(pruned.any()):
                p[pruned] = fresh[n][pruned].to(p.dtype)
                o[pruned] = FREE
                reinit += int(pruned.sum())
                if optimizer is not None:
                    for v in optimizer.state.get(p, {}).values():
                        if isinstance(v, torch.Tensor) and v.shape == p.shape:
                            v[pruned] = 0
        modules = dict(model.named_modules())
        for n in self.norm_names:
            for stat in BN_STATS:
                if hasattr(self, f"norm__{_safe(n)}__{stat}"):
                    getattr(self, f"norm__{_safe(n)}__{stat}")[t - 1].copy_(getattr(modules[n], stat))
        self.stages_done.fill_(t)
        self.refresh(model)
        return reinit

    # ------------------------------------------------------------- inference
    @contextlib.contextmanager
    @torch.no_grad()
    def submodel(self, model: nn.Module, t: int):
        """Inside this context ``model`` is sub-model t: weights outside owners 1..t are
        zero and normalisation layers hold stage t's state. Restored on exit."""
        if not 1 <= t <= int(self.stages_done):
            raise ValueError(
                f"Sub-model {t} does not exist: the masks hold {int(self.stages_done)} finished stages "
                f"of {self.num_stages}"
            )
        params = self.params(model)
        saved = {n: p.detach().clone() for n, p in params.items()}
        modules = dict(model.named_modules())
        saved_norm = {}
        for n in self.norm_names:
            for stat in BN_STATS:
                key = f"norm__{_safe(n)}__{stat}"
                if hasattr(self, key):
                    cur = getattr(modules[n], stat)
                    saved_norm[(n, stat)] = cur.detach().clone()
                    cur.copy_(getattr(self, key)[t - 1])
        for n, p in params.items():
            p.mul_(self.submodel_mask(n, t).to(p.dtype))
        try:
            yield model
        finally:
            for n, p in params.items():
                p.copy_(saved[n])
            for (n, stat), v in saved_norm.items():
                getattr(modules[n], stat).copy_(v)


def fresh_init(model: nn.Module, names: Iterable[str], generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
    """New initial values for the parameters ``names``: each owning module's
    ``reset_parameters`` run in place and undone (the model ends as it was); parameters of
    modules without one get Kaiming-uniform (weights) or zeros (1-d). With ``generator``
    the draw is reproducible (a resumed run re-initialises the same values)."""
    names = list(names)
    owners = {}
    for n in names:
        mod_path, _, pname = n.rpartition(".")
        owners.setdefault(mod_path, []).append((n, pname))
    out = {}
    state = torch.get_rng_state()
    if generator is not None:
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    try:
        with torch.no_grad():
            for mod_path, items in owners.items():
                module = model.get_submodule(mod_path) if mod_path else model
                own = dict(module.named_parameters(recurse=False))
                if hasattr(module, "reset_parameters"):
                    saved = {k: v.detach().clone() for k, v in own.items()}
                    module.reset_parameters()
                    for n, pname in items:
                        out[n] = own[pname].detach().clone()
                    for k, v in saved.items():
                        own[k].copy_(v)
                else:
                    for n, pname in items:
                        t = torch.empty_like(own[pname])
                        if t.dim() > 1:
                            nn.init.kaiming_uniform_(t, a=5 ** 0.5)
                        else:
                            t.zero_()
                        out[n] = t
    finally:
        torch.set_rng_state(state)
    return out
