"""Checkpoints that survive kills, full disks and divergence.

``LTCheckpointer`` is detectron2's ``DetectionCheckpointer`` with three changes, all through
its public methods (``save``, ``tag_last_checkpoint``, ``resume_or_load``):

* a checkpoint is written to ``<name>.pth.tmp``, flushed to disk and renamed onto
  ``<name>.pth`` (a rename is atomic on POSIX), and only then does ``last_checkpoint`` (also
  written by rename) name it; a kill or a full disk leaves at most a stray ``.tmp`` file,
  never a partial checkpoint that ``last_checkpoint`` names;
* a model with non-finite weights is never saved (:class:`DivergenceError`), and after
  :meth:`LTCheckpointer.stop_saving` (called when the loss diverged) nothing is saved, so such
  a state never becomes ``last_checkpoint``;
* ``--resume`` with a corrupt, empty or missing checkpoint falls back to the newest loadable
  one with a warning; if there is none, :class:`CheckpointError` names the file in one line.
"""
import logging
import os
import pickle
import zipfile
from typing import List, Optional

import torch
from detectron2.checkpoint import DetectionCheckpointer

logger = logging.getLogger(__name__)

# What torch.load raises on a truncated, empty or garbled file.
CORRUPT_FILE_ERRORS = (EOFError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, OSError)


class CheckpointError(ValueError):
    """No loadable checkpoint to resume from (a one-line message naming the file)."""


class DivergenceError(RuntimeError):
    """Training stopped because the loss or the weights stopped being finite.

    Attributes:
        iteration: the iteration at which it was found.
        terms: names of the non-finite loss terms (or weight tensors).
        last_good: path of the newest checkpoint with finite weights ("" if none).
    """

    def __init__(self, iteration: int, terms: List[str], last_good: str, what: str = "loss terms"):
        self.iteration, self.terms, self.last_good, self.what = int(iteration), list(terms), last_good, what
        shown = ", ".join(self.terms[:8]) + (f" (+{len(self.terms) - 8} more)" if len(self.terms) > 8 else "")
        shown = shown.replace("\n", " ")
        super().__init__(
            f"training diverged at iteration {self.iteration}: non-finite {what}: {shown}; "
            f"last good checkpoint: {last_good or 'none'}"
        )


def nonfinite_tensors(state_dict) -> List[str]:
    """Names of floating-point tensors of ``state_dict`` with a NaN or an infinity."""
    return [
        k for k, v in state_dict.items()
        if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]


def unreadable_reason(path: str) -> str:
    """Why the checkpoint at ``path`` cannot be read ("" if it can): torch writes a zip
    archive whose members carry CRCs, so a truncated, empty or garbled file fails this check
    without unpickling anything (a truncated file is what detectron2 reports as EOFError)."""
    try:
        if os.path.getsize(path) == 0:
            return "empty file"
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
        return f"corrupt member {bad}" if bad else ""
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return f"{type(e).__name__}: {e}"


def _atomic_write(path: str, write) -> None:
    """``write(file)`` into ``path + ".tmp"``, flush it to disk, rename it onto ``path``."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class LTCheckpointer(DetectionCheckpointer):
    """detectron2's ``DetectionCheckpointer`` with atomic writes, no non-finite checkpoint
    and a resume that falls back past corrupt files (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stopped: Optional[str] = None
        self.last_good = ""  # newest checkpoint written with finite weights in this run

    def stop_saving(self, reason: str) -> None:
        """Refuse every later ``save`` (the state is no longer one to resume from)."""
        self._stopped = reason

    def newest_checkpoint(self) -> str:
        """The checkpoint ``last_checkpoint`` names if it exists, else ""."""
        if not self.has_checkpoint():
            return ""
        path = self.get_checkpoint_file()
        return path if os.path.isfile(path) else ""

    def save(self, name: str, **kwargs) -> None:
        if not self.save_dir or not self.save_to_disk:
            return
        if self._stopped is not None:
            logger.warning("Not saving checkpoint %s: %s", name, self._stopped)
            return
        data = {"model": self.model.state_dict()}
        bad = nonfinite_tensors(data["model"])
        if bad:
            trainer = self.checkpointables.get("trainer")
            iteration = getattr(trainer, "iter", -1)
            self.stop_saving("the weights are not finite")
            raise DivergenceError(iteration, bad, self.last_good or self.newest_checkpoint(), what="weights")
        for key, obj in self.checkpointables.items():
            data[key] = obj.state_dict()
        data.update(kwargs)
        basename = f"{name}.pth"
        save_file = os.path.join(self.save_dir, basename)
        self.logger.info("Saving checkpoint to %s", save_file)
        _atomic_write(save_file, lambda f: torch.save(data, f))
        self.tag_last_checkpoint(basename)
        self.last_good = save_file

    def tag_last_checkpoint(self, last_filename_basename: str) -> None:
        path = os.path.join(self.save_dir, "last_checkpoint")
        _atomic_write(path, lambda f: f.write(last_filename_basename.encode()))

    def resume_or_load(self, path: str, *, resume: bool = True):
        if not (resume and self.has_checkpoint()):
            return super().resume_or_load(path, resume=resume)
        tagged = self.get_checkpoint_file()
        others = sorted(
            (p for p in self.get_all_checkpoint_files() if os.path.abspath(p) != os.path.abspath(tagged)),
            key=os.path.getmtime, reverse=True,
        )
        failures = []
        for candidate in [tagged, *others]:
            if not os.path.isfile(candidate):
                failures.append(f"{candidate} does not exist")
                continue
            problem = unreadable_reason(candidate)
            if problem:
                failures.append(f"{candidate} cannot be read ({problem})")
                continue
            if failures:
                logger.warning("Resuming from %s instead: %s", candidate, "; ".join(failures))
            try:
                return self.load(candidate)
            except CORRUPT_FILE_ERRORS as e:  # passed the archive check, failed to unpickle
                raise CheckpointError(f"--resume: checkpoint {candidate} cannot be loaded ({type(e).__name__}: {e})") from None
        raise CheckpointError(
            f"--resume: no loadable checkpoint in {self.save_dir}: {failures[0]}"
            + (f" (and {len(failures) - 1} other files)" if len(failures) > 1 else "")
            + "; delete it or start without --resume"
        )
