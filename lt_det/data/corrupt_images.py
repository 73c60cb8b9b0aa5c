"""What to do with an image file that cannot be decoded (``LT.INPUT.ON_CORRUPT``).

Shared by the classification datasets and the detection mapper: "error" stops with one line
that names the file; "skip" drops the sample and logs a warning that counts the files skipped
so far (per data-loader process: each worker keeps its own count).
"""
import logging

from PIL import UnidentifiedImageError

logger = logging.getLogger(__name__)

ON_CORRUPT_CHOICES = ("error", "skip")

# What PIL (through detectron2's read_image) raises on a truncated, garbled or unreadable
# file: OSError ("image file is truncated", permission denied, UnidentifiedImageError) and
# SyntaxError ("broken PNG file").
DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError)


class CorruptImageError(ValueError):
    """An image file that cannot be decoded, in a one-line message naming the file.

    torch's ``DataLoader`` re-raises an exception of a worker in the main process as
    ``type(e)(text of the worker's traceback)``; that text is kept in ``worker_traceback`` and
    the message reduced to its last line, the one naming the file, so the error stays one line.
    """

    def __init__(self, message: str):
        self.worker_traceback = None
        if message.startswith("Caught ") and "Original Traceback" in message:
            self.worker_traceback = message
            last = message.rstrip().splitlines()[-1]
            message = last.split(f"{type(self).__name__}: ", 1)[-1]
        super().__init__(message)


def check_on_corrupt(on_corrupt: str) -> str:
    if on_corrupt not in ON_CORRUPT_CHOICES:
        raise ValueError(f"LT.INPUT.ON_CORRUPT must be one of {ON_CORRUPT_CHOICES}, got {on_corrupt!r}")
    return on_corrupt


def corrupt_image_error(file_name: str, error: BaseException) -> CorruptImageError:
    """The one-line error for ``file_name`` that failed to decode with ``error``."""
    return CorruptImageError(
        f"Cannot decode image {file_name}: {error.__class__.__name__}: {error}. Replace or delete "
        "the file, or set LT.INPUT.ON_CORRUPT 'skip' to train without it"
    )


class SkipLog:
    """Counts the corrupt files a dataset or mapper skipped, logging each with the count."""

    def __init__(self):
        self.skipped = 0

    def __call__(self, error: CorruptImageError) -> None:
        self.skipped += 1
        logger.warning(
            "Skipped corrupt image %d in this data-loader process (LT.INPUT.ON_CORRUPT 'skip'): %s",
            self.skipped, error,
        )
