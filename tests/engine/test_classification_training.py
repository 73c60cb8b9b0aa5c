"""End to end: LTTrainer trains and evaluates an LTClassifier on the embedded LT-Images set."""
import os

import torch

from lt_det.config import get_lt_cfg
from lt_det.engine import LTTrainer
from lt_det.modeling import LTClassifier

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "LTImages", "cls_resnet8_ce_tiny.yaml")


def test_short_training_run_beats_chance(tmp_path):
    torch.set_num_threads(1)
    cfg = get_lt_cfg()
    cfg.merge_from_file(CONFIG)
    cfg.MODEL.DEVICE = "cpu"
    cfg.OUTPUT_DIR = str(tmp_path)
    trainer = LTTrainer(cfg)
    assert isinstance(trainer.model, LTClassifier)
    trainer.resume_or_load(resume=False)
    results = trainer.train()["classification"]  # LTTrainer.train returns the final results
    # 6 classes with a balanced validation split: chance is 1/6 = 16.7% top-1. A working
    # pipeline (loader, augmentation, model, loss, solver, evaluator) reaches > 2x chance.
    assert results["top1"] > 2 * 100 / 6, results
    # The tiny set's counts are 60, 21, 11, 7, 5, 4: no many-shot class, one medium.
    assert results["many"] != results["many"]  # NaN: no class has > 100 training images
    assert 0 <= results["few"] <= 100 and 0 <= results["medium"] <= 100
    assert os.path.isfile(tmp_path / "inference" / "lt_images_tiny_val" / "per_class_accuracy.csv")
    assert os.path.isfile(tmp_path / "model_final.pth")
