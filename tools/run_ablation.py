#!/usr/bin/env python
"""Run an ablation: one training per trick combination, then a table in the papers' layout.

    tools/run_ablation.py --config-file BASE.yaml --ablation ABLATION.yaml [--output-dir D]
        [--seeds S [S ...]] [--only NAME [NAME ...]] [--num-gpus N] [--dry-run] [--table-only] [KEY VALUE ...]

ABLATION.yaml lists the combinations (name + KEY VALUE ``opts`` and/or a ``config`` that is
a ``_BASE_`` delta); see lt_det/engine/ablation.py. Each combination runs tools/train_net.py
in a subprocess (``--num-gpus`` is passed on to its detectron2 launcher) with
``OUTPUT_DIR=<output-dir>/<name>``; combinations whose ``metrics_final.json`` exists are
skipped, so re-running resumes. Trailing KEY VALUE pairs apply to every combination.
``--seeds`` (or the file's ``seeds``) runs every combination once per seed, seed by seed, in
``<name>/seed<s>``. A row with ``eval_of`` trains nothing: it runs ``--eval-only`` on the
named row's ``model_final.pth`` of the same seed (that row must have been trained: name
both in ``--only``). The table shows mean ± std over the finished runs of the file's seeds and
``--seeds`` together (``--table-seeds`` picks others). Runners given
different seeds (or, with ``--only``, different combinations) of one ablation can work side
by side, e.g. one per GPU or core; the table always lists every combination.
Writes ``<output-dir>/results.md`` (top-1 error, many/medium/few accuracy; or AP, APr, APc,
APf), ``results.json`` and ``results.png``.
"""
import argparse
import os
import subprocess
import sys

from lt_det.engine.ablation import (
    check_seeds,
    checkpoint_path,
    collect,
    load_ablation,
    read_metrics,
    run_dir,
    train_command,
    write_report,
)

TRAIN_NET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_net.py")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config-file", default="", help="base config (else the ablation file's 'base')")
    p.add_argument("--ablation", required=True, help="YAML list of trick combinations")
    p.add_argument("--output-dir", default="", help="default: the ablation file's output_dir")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="run each combination with these SEEDs (default: the file's seeds, else once)")
    p.add_argument("--table-seeds", type=int, nargs="+", default=None,
                   help="seeds to tabulate (default: the file's seeds and --seeds together)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME",
                   help="train only these combinations (names as in the ablation file)")
    p.add_argument("--num-gpus", type=int, default=1)
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--table-only", action="store_true", help="only collect existing results")
    p.add_argument("--keep-going", action="store_true", help="continue after a failed run")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE pairs for every run")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        ablation = load_ablation(args.ablation)
    except (FileNotFoundError, ValueError) as e:
        print(f"run_ablation.py: error: {e}", file=sys.stderr)
        return 2
    base = args.config_file or ablation.base
    if not base or not os.path.isfile(base):
        print(f"run_ablation.py: error: base config {base!r} does not exist (--config-file)", file=sys.stderr)
        return 2
    if len(args.opts) % 2:
        print("run_ablation.py: error: trailing opts must be KEY VALUE pairs", file=sys.stderr)
        return 2
    try:
        seeds = check_seeds(args.seeds, "--seeds") if args.seeds is not None else ablation.seeds
        # A runner given a subset (--seeds 1 --only X) must not shrink the shared table to it.
        table_seeds = (check_seeds(args.table_seeds, "--table-seeds") if args.table_seeds is not None
                       else sorted(set(ablation.seeds) | set(seeds)))
    except ValueError as e:
        print(f"run_ablation.py: error: {e}", file=sys.stderr)
        return 2
    names = [c.name for c in ablation.combinations]
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        print(f"run_ablation.py: error: --only names {unknown} are not in {args.ablation} (it has {names})",
              file=sys.stderr)
        return 2
    chosen = [c for c in ablation.combinations if args.only is None or c.name in args.only]
    out = args.output_dir or ablation.output_dir
    failed = []
    runs = [(s, c) for s in (seeds or [None]) for c in chosen]
    if not args.table_only:
        for i, (seed, combo) in enumerate(runs):
            label = combo.name if seed is None else f"{combo.name} (seed {seed})"
            if read_metrics(run_dir(out, combo, seed)) is not None:
                print(f"[run_ablation] {label}: results exist, skipped", flush=True)
                continue
            source = ablation.combination(combo.eval_of) if combo.eval_of is not None else None
            cmd = train_command(sys.executable, TRAIN_NET, base, combo, out,
                                list(ablation.opts) + list(args.opts),
                                ["--num-gpus", str(args.num_gpus)] if args.num_gpus != 1 else [], seed=seed,
                                source=source)
            if source is not None and not args.dry_run and not os.path.isfile(checkpoint_path(out, source, seed)):
                failed.append(label)
                print(f"[run_ablation] {label}: evaluates {source.name!r}, whose checkpoint "
                      f"{checkpoint_path(out, source, seed)} does not exist (train that row first)",
                      file=sys.stderr, flush=True)
                if not args.keep_going:
                    break
                continue
            print(f"[run_ablation] run {i + 1}/{len(runs)}: " + " ".join(cmd), flush=True)
            if args.dry_run:
                continue
            rc = subprocess.call(cmd)
            if rc != 0:
                failed.append(label)
                print(f"[run_ablation] {label}: train_net.py exited with {rc}", file=sys.stderr, flush=True)
                if not args.keep_going:
                    break
    rows = collect(ablation, out, seeds=table_seeds)
    if not args.dry_run:
        print(write_report(rows, out), flush=True)
        print(f"[run_ablation] table: {os.path.join(out, 'results.md')}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
