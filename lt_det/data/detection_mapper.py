"""detectron2's ``DatasetMapper`` with lt_det's corrupt-image policy (``LT.INPUT.ON_CORRUPT``)."""
from typing import Optional

from detectron2.config import configurable
from detectron2.data import DatasetMapper

from .corrupt_images import DECODE_ERRORS, SkipLog, check_on_corrupt, corrupt_image_error


class LTDatasetMapper(DatasetMapper):
    """``DatasetMapper`` that names an image file it cannot decode.

    With ``on_corrupt="error"`` a truncated or unreadable file raises ``CorruptImageError``
    (a ``ValueError``, one line naming the file); with ``"skip"`` the mapper returns None,
    which detectron2's ``MapDataset`` documents as "skip this element" (a map-style dataset
    then takes another random element, so batches stay full), and logs the skip with a count.
    Skipping applies to training only: at test time a skipped image would be scored as missed,
    so ``is_train=False`` always raises.
    """

    @configurable
    def __init__(self, is_train: bool, *, on_corrupt: str = "error", **kwargs):
        super().__init__(is_train, **kwargs)
        self.on_corrupt = check_on_corrupt(on_corrupt)
        self.skip_log = SkipLog()

    @classmethod
    def from_config(cls, cfg, is_train: bool = True):
        ret = super().from_config(cfg, is_train)
        ret["on_corrupt"] = cfg.LT.INPUT.ON_CORRUPT if is_train else "error"
        return ret

    def __call__(self, dataset_dict: dict) -> Optional[dict]:
        try:
            return super().__call__(dataset_dict)
        except DECODE_ERRORS as e:
            error = corrupt_image_error(dataset_dict.get("file_name"), e)
            if self.on_corrupt == "error" or not self.is_train:
                raise error from None
            self.skip_log(error)
            return None
