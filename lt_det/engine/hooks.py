"""lt_det's training hooks (beside detectron2's ``engine/hooks.py``)."""
import logging

import torch
from detectron2.engine import HookBase
from detectron2.utils import comm

from .checkpoint import DivergenceError

logger = logging.getLogger(__name__)


class DivergenceGuard(HookBase):
    """Stops training at the first iteration whose loss terms are not all finite.

    A forward hook on the model (torch's ``register_forward_hook``) checks the loss dict of
    each training step as soon as the model returns it, before the backward pass and the
    optimizer step, so the weights never take a non-finite gradient. With several processes
    the verdict is all-reduced (one flag per step) so that all ranks stop together. On a
    non-finite term the trainer's checkpointer stops saving (a state after the explosion
    never becomes ``last_checkpoint``) and
    :class:`~lt_det.engine.checkpoint.DivergenceError` names the iteration, the terms and the
    last good checkpoint; ``tools/train_net.py`` turns it into one line and exit code 3.
    ``LTTrainer.run_step`` also turns detectron2's own ``FloatingPointError`` (non-finite RPN
    boxes or scores, raised inside the forward pass) into the same error.
    """

    def __init__(self):
        self._handle = None

    def _check(self, module, inputs, output):
        if not (module.training and isinstance(output, dict)):
            return
        bad = sorted(k for k, v in output.items() if torch.is_tensor(v) and not bool(torch.isfinite(v.detach()).all()))
        if comm.get_world_size() > 1:
            ref = next((v for v in output.values() if torch.is_tensor(v)), None)
            flag = torch.tensor([float(bool(bad))], device=ref.device if ref is not None else "cpu")
            torch.distributed.all_reduce(flag)
            if flag.item() and not bad:
                bad = ["(on another process)"]
        if bad:
            raise self.divergence(bad)

    def divergence(self, terms, what: str = "loss terms") -> DivergenceError:
        """Stop the checkpointer and return the error naming ``terms`` at this iteration."""
        checkpointer = getattr(self.trainer, "checkpointer", None)
        last_good = ""
        if checkpointer is not None:
            if hasattr(checkpointer, "stop_saving"):
                checkpointer.stop_saving(f"the loss diverged at iteration {self.trainer.iter}")
            last_good = getattr(checkpointer, "last_good", "") or (
                checkpointer.get_checkpoint_file() if checkpointer.has_checkpoint() else ""
            )
        return DivergenceError(self.trainer.iter, terms, last_good, what=what)

    def before_train(self):
        self._handle = self.trainer.model.register_forward_hook(self._check)

    def after_train(self):
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


class IterationSeed(HookBase):
    """Seeds Python's, numpy's and torch's generators from ``(SEED, iteration)`` before each
    step (and before training, for what the other hooks do in ``before_train`` at the start
    iteration), so the model's randomness (proposal sampling, mixup, dropout, re-initialised
    modules) at an iteration does not depend on where the run started: with the loaders of
    ``lt_det.data.resumable`` a resumed run repeats the uninterrupted run's steps exactly.
    """

    def __init__(self, seed: int):
        self.seed = int(seed)

    def _seed(self):
        from ..data.resumable import ITERATION_KEY, derive_seed, seed_all

        seed_all(derive_seed(self.seed, ITERATION_KEY, self.trainer.iter))

    def before_train(self):
        self._seed()

    def before_step(self):
        self._seed()
