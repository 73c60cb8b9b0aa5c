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

Exit codes (docs/reliability.md): 0 done; 2 bad input, one line, and nothing is left in a
new ``OUTPUT_DIR``; 3 the loss diverged, one line naming the iteration, the non-finite loss
terms and the last good checkpoint (the traceback is in ``OUTPUT_DIR/log.txt``). Once
training has started, ``log.txt``, ``metrics.json`` and the events stay, whatever happens.
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
from lt_det.engine.checkpoint import DivergenceError
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


def setup_lt_logger(cfg) -> None:
    """Route the ``lt_det`` logger where detectron2's goes: the console (main process) and
    ``OUTPUT_DIR/log.txt`` (``log.txt.rank<r>`` on other ranks)."""
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="lt_det", abbrev_name="lt_det")


class _NoDivergenceTraceback(logging.Filter):
    """On the console, detectron2's "Exception during training" record of a divergence is
    dropped (train_net prints one line instead); log.txt keeps the traceback."""

    def filter(self, record):
        return not (record.exc_info and isinstance(record.exc_info[1], DivergenceError))


def _quiet_console_on_divergence() -> None:
    for name in ("detectron2", "lt_det"):
        for h in logging.getLogger(name).handlers:
            if getattr(h, "stream", None) in (sys.stdout, sys.stderr):
                h.addFilter(_NoDivergenceTraceback())


def main(args):
    cfg = load_config(args)
    created_output = not os.path.exists(cfg.OUTPUT_DIR)
    try:
        default_setup(cfg, args)
        setup_lt_logger(cfg)
        _quiet_console_on_divergence()
        if args.eval_only:
            model = LTTrainer.build_model(cfg)
            DetectionCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(
                cfg.MODEL.WEIGHTS, resume=args.resume
            )
            results = LTTrainer.test(cfg, model)
            if comm.is_main_process() and results:
                write_final_report(results, cfg.OUTPUT_DIR, plot=cfg.LT.EVAL.PLOTS)
            return results
        trainer = LTTrainer(cfg)
        trainer.resume_or_load(resume=args.resume)
    except BaseException:
        # Bad input found before training starts (config, data, checkpoint): leave no
        # half-written output directory behind. Once training has started, log.txt,
        # metrics.json and the events stay, whatever happens.
        if created_output and comm.is_main_process() and not args.eval_only:
            logging.shutdown()
            shutil.rmtree(cfg.OUTPUT_DIR, ignore_errors=True)
        raise
    results = trainer.train()
    if comm.is_main_process() and results:
        write_final_report(results, cfg.OUTPUT_DIR, plot=cfg.LT.EVAL.PLOTS)
    return results


# Exit codes: 0 done; 2 bad input (one line); 3 training diverged (one line naming the
# iteration, the non-finite loss terms and the last good checkpoint; traceback in log.txt).
EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3


def run(args):
    """Entry point of each launched process: user errors become one line, exit code 2; a
    diverged run one line, exit code 3."""
    try:
        return main(args)
    except DivergenceError as e:
        if os.environ.get("LT_DET_DEBUG"):
            raise
        if comm.is_main_process():
            resume = " (resume from it with --resume)" if e.last_good else ""
            print(f"train_net.py: {e}{resume}; traceback in log.txt", file=sys.stderr)
        sys.exit(EXIT_DIVERGED)
    except (UserInputError, FileNotFoundError, KeyError, ValueError) as e:
        if os.environ.get("LT_DET_DEBUG"):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"train_net.py: error: {msg}  (LT_DET_DEBUG=1 shows the traceback)", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except OSError as e:  # a full or read-only disk met while writing outputs
        if e.errno not in WRITE_ERRNOS or os.environ.get("LT_DET_DEBUG"):
            raise
        print(f"train_net.py: error: {os_error_message(e)}  (LT_DET_DEBUG=1 shows the traceback)", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


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
