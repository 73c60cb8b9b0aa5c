#!/usr/bin/env python
"""Train and evaluate an lt_det model (detection or classification).

detectron2's argument conventions and launcher:

    tools/train_net.py --config-file configs/LTShapes/det_faster_r18gn_softmax_demo.yaml
    tools/train_net.py --config-file X --num-gpus 8
    tools/train_net.py --config-file X --num-machines 2 --machine-rank 0 --dist-url tcp://HOST:PORT
    tools/train_net.py --config-file X --eval-only MODEL.WEIGHTS output/model_final.pth
    tools/train_net.py --config-file X --resume  [KEY VALUE ...]

The evaluator is chosen from the test set's metadata (LVIS metrics for LVIS-format sets,
top-1/many/medium/few for classification sets). At the end, ``OUTPUT_DIR`` holds
``metrics_final.json``, ``summary.png``, the per-class CSV and plots, tensorboard events and
the checkpoints.
"""
import logging
import os
import shutil
import sys

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog
from detectron2.engine import default_argument_parser, default_setup, launch
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

import lt_det  # noqa: F401  (registers lt_det's components)
from lt_det.config import add_lt_config
from lt_det.data.datasets.from_config import register_from_config
from lt_det.engine import LTTrainer
from lt_det.engine.checks import check_config_against_data
from lt_det.engine.input_checks import WRITE_ERRNOS, check_output_dir, merge_config_sources, os_error_message
from lt_det.losses import LOSS_REGISTRY
from lt_det.evaluation.final_report import write_final_report

logger = logging.getLogger("lt_det")


class UserInputError(Exception):
    """A mistake in the command line or config, reported in one line."""


def load_config(args):
    """Build the config (no side effects, so bad input leaves nothing behind)."""
    if not args.config_file:
        raise UserInputError("--config-file is required (see configs/)")
    if not os.path.isfile(args.config_file):
        raise UserInputError(f"config file {args.config_file} does not exist")
    cfg = get_cfg()
    add_lt_config(cfg)
    # An error names its source: the command line, or the YAML file (of the _BASE_ chain).
    merge_config_sources(cfg, args.config_file, args.opts)
    if cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        cfg.MODEL.DEVICE = "cpu"  # the same config runs on a CPU-only machine
    if cfg.MODEL.LT.LOSS.NAME not in LOSS_REGISTRY:
        raise UserInputError(
            f"MODEL.LT.LOSS.NAME {cfg.MODEL.LT.LOSS.NAME!r} is not a registered loss; choose one of "
            + ", ".join(sorted(name for name, _ in LOSS_REGISTRY))
        )
    register_from_config(cfg)  # DATASETS.LT.REGISTER: the user's own sets
    registered = set(DatasetCatalog.list())
    for key, names in (("DATASETS.TRAIN", cfg.DATASETS.TRAIN), ("DATASETS.TEST", cfg.DATASETS.TEST)):
        for name in names:
            if name not in registered:
                raise UserInputError(
                    f"{key} names unknown data set {name!r}; register it (DATASETS.LT.REGISTER in "
                    "the config, or lt_det.data.datasets.register_lvis_format) or use a built-in one such as "
                    "lt_shapes_train, lvis_v1_train, lt_images_train or cifar100_lt_100_train"
                )
    check_config_against_data(cfg, eval_only=args.eval_only)  # task switches, class counts
    check_output_dir(cfg.OUTPUT_DIR)  # a read-only or full disk fails here, not mid-run
    cfg.freeze()
    return cfg


def main(args):
    cfg = load_config(args)
    created_output = not os.path.exists(cfg.OUTPUT_DIR)
    try:
        default_setup(cfg, args)
        # default_setup logs "detectron2" and "fvcore" only; lt_det's own lines (stage
        # switches, samplers, class subsets) go to the console and OUTPUT_DIR/log.txt too.
        setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="lt_det", abbrev_name="lt_det")
        if args.eval_only:
            model = LTTrainer.build_model(cfg)
            DetectionCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(
                cfg.MODEL.WEIGHTS, resume=args.resume
            )
            results = LTTrainer.test(cfg, model)
        else:
            trainer = LTTrainer(cfg)
            trainer.resume_or_load(resume=args.resume)
            trainer.train()
            results = getattr(trainer, "_last_eval_results", None) or {}
        if comm.is_main_process() and results:
            write_final_report(results, cfg.OUTPUT_DIR, plot=cfg.LT.EVAL.PLOTS)
        return results
    except BaseException:
        # Bad data found while loading: leave no half-written output directory behind.
        if created_output and comm.is_main_process() and not args.eval_only:
            has_checkpoint = os.path.isfile(os.path.join(cfg.OUTPUT_DIR, "last_checkpoint"))
            if not has_checkpoint:
                logging.shutdown()
                shutil.rmtree(cfg.OUTPUT_DIR, ignore_errors=True)
        raise


def run(args):
    """Entry point of each launched process: user errors become one line, exit code 2."""
    try:
        return main(args)
    except (UserInputError, FileNotFoundError, KeyError, ValueError) as e:
        if os.environ.get("LT_DET_DEBUG"):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"train_net.py: error: {msg}  (LT_DET_DEBUG=1 shows the traceback)", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # a full or read-only disk met while writing outputs
        if e.errno not in WRITE_ERRNOS or os.environ.get("LT_DET_DEBUG"):
            raise
        print(f"train_net.py: error: {os_error_message(e)}  (LT_DET_DEBUG=1 shows the traceback)", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    print("Command Line Args:", args)
    launch(
        run,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
    )
