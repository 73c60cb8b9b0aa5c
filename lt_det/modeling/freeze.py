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


def resettable_modules(model: nn.Module, paths: Iterable[str]) -> List[tuple]:
    """``(name, module)`` of every submodule under ``paths`` that ``reinit_modules`` resets.

    Raises ``ValueError`` (naming the module) when a submodule owns parameters but has no
    ``reset_parameters()``, which would leave it trained while the rest starts afresh, or
    when nothing under ``paths`` can be reset. Changes nothing, so a stage's ``REINIT`` is
    checked when the run starts, not when the stage begins.
    """
    found = []
    for path in paths:
        module = get_module(model, path)
        for name, sub in module.named_modules():
            full = ".".join(part for part in (path, name) if part)
            if callable(getattr(sub, "reset_parameters", None)):
                found.append((full, sub))
            elif any(True for _ in sub.parameters(recurse=False)):
                raise ValueError(
                    f"REINIT {list(paths)}: {full or 'the model'!r} ({type(sub).__name__}) has "
                    "parameters but no reset_parameters(); give it one or re-initialise a "
                    "module that has"
                )
    if not found:
        raise ValueError(f"REINIT {list(paths)}: no submodule has reset_parameters()")
    return found


@torch.no_grad()
def reinit_modules(model: nn.Module, paths: Iterable[str], optimizer: Optional[torch.optim.Optimizer] = None) -> List[str]:
    """Re-initialise the modules at ``paths`` (each submodule's ``reset_parameters``) in
    place, so the optimizer keeps the same parameter objects; their optimizer state
    (momentum) is dropped. Returns the names of the modules that were reset."""
    paths = list(paths)
    targets = resettable_modules(model, paths)
    for _, sub in targets:
        sub.reset_parameters()
    if optimizer is not None:
        for path in paths:
            for p in get_module(model, path).parameters():
                optimizer.state.pop(p, None)
    return [name for name, _ in targets]
