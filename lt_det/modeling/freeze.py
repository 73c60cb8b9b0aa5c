"""Freezing and re-initialising parts of a model: the moves of classifier re-training.

cRT (Kang et al., "Decoupling Representation and Classifier for Long-Tailed Recognition",
ICLR 2020): after instance-balanced training, the representation (backbone) is frozen, the
classifier is re-initialised and re-trained with class-balanced sampling (reference: 30
epochs, lr 0.1, steps at 10 and 20). In lt_det that is a stage of ``LT.STAGES`` with
``LT.FREEZE: ["backbone"]``, ``REINIT: ["head"]`` and a class-balanced sampler
(docs/tricks.md); these functions do the freezing and re-initialising.
"""
from typing import Iterable, List, Optional

import torch
from detectron2.layers import FrozenBatchNorm2d
from torch import nn


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper."""
    return getattr(model, "module", model)


def get_module(model: nn.Module, path: str) -> nn.Module:
    """``model.get_submodule(path)`` with an error that lists the top-level modules."""
    try:
        return model.get_submodule(path)
    except AttributeError:
        top = ", ".join(n for n, _ in model.named_children())
        raise KeyError(f"The model has no module {path!r}; its top-level modules are: {top}") from None


def _set_module(model: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, name, new)


def freeze_modules(model: nn.Module, paths: Iterable[str]) -> List[str]:
    """Freeze the modules at ``paths``: ``requires_grad=False`` and BatchNorm replaced by
    ``FrozenBatchNorm2d`` (fixed statistics even in training mode).

    Parameters stay in the optimizer; with no gradient, SGD leaves them (and their weight
    decay) untouched. BatchNorm layers stay frozen if the module is unfrozen later.
    Returns the names of the parameters that were frozen.
    """
    frozen = []
    for path in paths:
        module = get_module(model, path)
        converted = FrozenBatchNorm2d.convert_frozen_batchnorm(module)
        if converted is not module:
            _set_module(model, path, converted)
            module = converted
        for name, p in module.named_parameters():
            if p.requires_grad:
                p.requires_grad_(False)
                frozen.append(f"{path}.{name}")
    return frozen


@torch.no_grad()
def reinit_modules(model: nn.Module, paths: Iterable[str], optimizer: Optional[torch.optim.Optimizer] = None) -> List[str]:
    """Re-initialise the modules at ``paths`` (each submodule's ``reset_parameters``) in
    place, so the optimizer keeps the same parameter objects; their optimizer state
    (momentum) is dropped. Returns the names of the modules that were reset."""
    reset = []
    for path in paths:
        module = get_module(model, path)
        for name, sub in module.named_modules():
            if hasattr(sub, "reset_parameters") and callable(sub.reset_parameters):
                sub.reset_parameters()
                reset.append(f"{path}.{name}" if name else path)
        if optimizer is not None:
            for p in module.parameters():
                optimizer.state.pop(p, None)
    if not reset:
        raise ValueError(f"REINIT {list(paths)}: no submodule has reset_parameters()")
    return reset
