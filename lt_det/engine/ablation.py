"""Ablation studies: run a base config under several trick combinations and tabulate them.

An ablation file is YAML::

    base: configs/...yaml            # optional; tools/run_ablation.py --config-file wins
    output_dir: output/ablation      # optional; one sub-directory per combination
    opts: [SOLVER.MAX_ITER, 100]     # optional; applied to every combination
    seeds: [0, 1, 2]                 # optional; every combination runs once per SEED
    combinations:
      - name: CE
        opts: []
      - name: DRW
        opts: [LT.STAGES, "[{'START_EPOCH': 160, 'OVERRIDES': ['MODEL.LT.LOSS.NAME', 'CSCE']}]"]
      - name: mixup
        config: projects/BagOfTricksLT/configs/mixup_delta.yaml   # merged after the base
      - name: DRW + tau-norm
        eval_of: DRW                     # no training: DRW's checkpoint evaluated
        opts: [MODEL.LT.CLASSIFIER.TAU, 1.0]

A row with ``eval_of`` trains nothing: it evaluates the final checkpoint of the named
(earlier) row, of the same seed, under that row's config and opts followed by its own
(``tools/train_net.py --eval-only``). Rows that differ only at test time (an aggregation,
a calibration) then cost an evaluation, not a training run.

Each run writes ``<output_dir>/<name>/metrics_final.json`` (tools/train_net.py); a run whose
file exists is skipped, so an interrupted ablation resumes. The results table follows the
papers' layout: top-1 error and many / medium / few accuracy for classification,
AP / APr / APc / APf for detection.

With ``seeds`` each combination runs under ``SEED s`` in ``<output_dir>/<name>/seed<s>``
and the table shows mean ± sample standard deviation over the seeds that finished (the
plain value while only one has), with their count: on small long-tailed sets the tail metrics move by several points between
seeds, and one seed cannot tell a trick from noise.
"""
import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

import yaml

from ..evaluation.final_report import flatten_results

CLASSIFICATION_COLUMNS = (("top1_error", "Top-1 err."), ("many", "Many"), ("medium", "Medium"), ("few", "Few"))
DETECTION_COLUMNS = (("AP", "AP"), ("APr", "APr"), ("APc", "APc"), ("APf", "APf"))
METRICS_FILE = "metrics_final.json"


@dataclass
class Combination:
    """One row of the ablation: a name, KEY VALUE overrides and/or an extra config file;
    with ``eval_of`` (another row's name) an evaluation of that row's checkpoint."""

    name: str
    opts: List = field(default_factory=list)
    config: Optional[str] = None
    eval_of: Optional[str] = None


@dataclass
class Ablation:
    base: Optional[str]
    output_dir: str
    opts: List
    combinations: List[Combination]
    seeds: List[int] = field(default_factory=list)

    def combination(self, name: str) -> Combination:
        return next(c for c in self.combinations if c.name == name)


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_")
    if not slug:
        raise ValueError(f"Combination name {name!r} has no usable characters")
    return slug


def load_ablation(path: str) -> Ablation:
    """Parse and validate an ablation YAML file (errors name the bad entry)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Ablation file {path} does not exist")
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if isinstance(raw, list):
        raw = {"combinations": raw}
    combos = raw.get("combinations")
    if not combos:
        raise ValueError(f"{path}: no 'combinations' list")
    out, seen = [], set()
    for i, c in enumerate(combos):
        if not isinstance(c, Mapping) or "name" not in c:
            raise ValueError(f"{path}: combination #{i} needs a 'name'")
        unknown = set(c) - {"name", "opts", "config", "eval_of"}
        if unknown:
            raise ValueError(f"{path}: combination {c['name']!r} has unknown fields {sorted(unknown)}")
        opts = list(c.get("opts") or [])
        if len(opts) % 2:
            raise ValueError(f"{path}: combination {c['name']!r} opts must be KEY VALUE pairs")
        slug = _slug(str(c["name"]))
        if slug in seen:
            raise ValueError(f"{path}: two combinations are named {c['name']!r}")
        seen.add(slug)
        config = c.get("config")
        if config is not None and not os.path.isabs(config) and not os.path.isfile(config):
            config = os.path.join(os.path.dirname(path), config)
        eval_of = c.get("eval_of")
        if eval_of is not None:
            # The trained row must come first: runs go row by row, so its checkpoint exists.
            source = next((o for o in out if o.name == str(eval_of)), None)
            if source is None:
                raise ValueError(f"{path}: combination {c['name']!r}: eval_of {eval_of!r} is not a combination "
                                 f"listed before it ({[o.name for o in out]})")
            if source.eval_of is not None:
                raise ValueError(f"{path}: combination {c['name']!r}: eval_of {eval_of!r} is itself an evaluation "
                                 f"(of {source.eval_of!r}); name the trained row")
            if config is not None:
                raise ValueError(f"{path}: combination {c['name']!r} has eval_of and config: an evaluation "
                                 "uses its trained row's config (add opts instead)")
            eval_of = source.name
        out.append(Combination(name=str(c["name"]), opts=opts, config=config, eval_of=eval_of))
    base_opts = list(raw.get("opts") or [])
    if len(base_opts) % 2:
        raise ValueError(f"{path}: top-level opts must be KEY VALUE pairs")
    seeds = check_seeds(raw.get("seeds") or [], path)
    return Ablation(base=raw.get("base"), output_dir=raw.get("output_dir", "output/ablation"),
                    opts=base_opts, combinations=out, seeds=seeds)


def check_seeds(seeds, where: str = "seeds") -> List[int]:
    """A list of distinct non-negative integer seeds (SEED < 0 means a random seed)."""
    if not isinstance(seeds, (list, tuple)) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ValueError(f"{where}: seeds must be a list of integers, got {seeds!r}")
    if any(s < 0 for s in seeds):
        raise ValueError(f"{where}: seeds must be >= 0 (a negative SEED is a random one), got {list(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{where}: seeds repeat: {list(seeds)}")
    return list(seeds)


def run_dir(output_dir: str, combo: Combination, seed: Optional[int] = None) -> str:
    """``<output_dir>/<name>``, or ``<output_dir>/<name>/seed<seed>`` for a seeded run."""
    d = os.path.join(output_dir, _slug(combo.name))
    return d if seed is None else os.path.join(d, f"seed{seed}")


def checkpoint_path(output_dir: str, combo: Combination, seed: Optional[int] = None) -> str:
    """The final checkpoint of a trained row (what an ``eval_of`` row evaluates)."""
    return os.path.join(run_dir(output_dir, combo, seed), "model_final.pth")


def read_metrics(run_output_dir: str) -> Optional[Dict[str, float]]:
    """The headline metrics of a finished run (None when its metrics file is absent).

    Classification results gain ``top1_error = 100 - top1``. With several test sets the
    first one is used.
    """
    path = os.path.join(run_output_dir, METRICS_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        results = json.load(f)
    flat = flatten_results(results)
    if not flat:
        return {}
    metrics = dict(next(iter(flat.values())))
    if "top1" in metrics:
        metrics["top1_error"] = 100.0 - metrics["top1"]
    return metrics


def aggregate_seeds(runs: Sequence[Mapping[str, float]]) -> Dict[str, float]:
    """Mean and sample standard deviation (n - 1; 0 for one run) of each metric that every
    run reports, as ``key`` and ``key_std``, plus ``n_seeds``."""
    runs = list(runs)
    if not runs:
        raise ValueError("aggregate_seeds needs at least one run")
    keys = [k for k in runs[0] if all(k in r for r in runs[1:])]
    n = len(runs)
    out: Dict[str, float] = {}
    for k in keys:
        vals = [float(r[k]) for r in runs]
        mean = sum(vals) / n
        out[k] = mean
        out[k + "_std"] = (sum((v - mean) ** 2 for v in vals) / (n - 1)) ** 0.5 if n > 1 else 0.0
    out["n_seeds"] = n
    return out


def columns_for(rows: Mapping[str, Optional[Mapping[str, float]]]):
    """Classification columns if any run reports top-1, else detection columns."""
    if any(m and "top1" in m for m in rows.values()):
        return CLASSIFICATION_COLUMNS
    return DETECTION_COLUMNS


def markdown_table(rows: Mapping[str, Optional[Mapping[str, float]]], reference: Optional[Mapping[str, Mapping[str, float]]] = None) -> str:
    """A markdown table, one row per combination (``-`` where a run has no result); with
    ``reference`` ({name: {column: value}}) a paper column is added per metric it has."""
    cols = columns_for(rows)
    seeded = any(m and "n_seeds" in m for m in rows.values())
    ref_cols = [(k, t) for k, t in cols if reference and any(k in r for r in reference.values())]
    header = ["Combination"] + [t for _, t in cols] + [f"{t} (paper)" for _, t in ref_cols]
    header += ["Seeds"] if seeded else []
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, m in rows.items():
        cells = [name]
        for key, _ in cols:
            if not m or key not in m:
                cells.append("-")
            elif seeded and m.get("n_seeds", 1) > 1:
                cells.append(f"{m[key]:.2f} ± {m.get(key + '_std', 0.0):.2f}")
            else:
                cells.append(f"{m[key]:.2f}")
        for key, _ in ref_cols:
            r = (reference or {}).get(name, {})
            cells.append(f"{r[key]:.2f}" if key in r else "-")
        if seeded:
            cells.append(str(int(m["n_seeds"])) if m else "0")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_table(rows: Mapping[str, Optional[Mapping[str, float]]], path: str, title: str = "ablation") -> None:
    """Grouped bars: one group per metric column, one bar per combination (error bars: the
    standard deviation over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = columns_for(rows)
    names = [n for n, m in rows.items() if m]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(cols) * max(len(names), 1) / 3), 4))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        vals = [rows[name].get(k, float("nan")) for k, _ in cols]
        err = [rows[name].get(k + "_std", 0.0) for k, _ in cols] if "n_seeds" in rows[name] else None
        bars = ax.bar([j + i * width for j in range(len(cols))], vals, width=width, label=name,
                      yerr=err, capsize=2 if err else 0)
        ax.bar_label(bars, fmt="%.1f", fontsize=6)
    ax.set_xticks([j + (len(names) - 1) * width / 2 for j in range(len(cols))], [t for _, t in cols])
    ax.set_ylabel("%")
    ax.set_title(title)
    if names:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def collect(ablation: Ablation, output_dir: Optional[str] = None,
            seeds: Optional[Sequence[int]] = None) -> Dict[str, Optional[Dict[str, float]]]:
    """{combination name: metrics or None} in the ablation's order; with seeds (default: the
    ablation's) the metrics are :func:`aggregate_seeds` over the seeds whose run finished."""
    out = output_dir or ablation.output_dir
    seeds = ablation.seeds if seeds is None else seeds
    if not seeds:
        return {c.name: read_metrics(run_dir(out, c)) for c in ablation.combinations}
    rows: Dict[str, Optional[Dict[str, float]]] = {}
    for c in ablation.combinations:
        runs = [m for m in (read_metrics(run_dir(out, c, s)) for s in seeds) if m is not None]
        rows[c.name] = aggregate_seeds(runs) if runs else None
    return rows


def write_report(rows, output_dir: str, reference=None, plot: bool = True) -> str:
    """Write ``results.md`` (and ``results.png``) under ``output_dir``; returns the table."""
    os.makedirs(output_dir, exist_ok=True)
    table = markdown_table(rows, reference)
    with open(os.path.join(output_dir, "results.md"), "w") as f:
        f.write(table)
    with open(os.path.join(output_dir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    if plot:
        plot_table(rows, os.path.join(output_dir, "results.png"),
                   title=os.path.basename(os.path.normpath(output_dir)) or "ablation")
    return table


def train_command(python: str, train_net: str, base_config: str, combo: Combination, output_dir: str,
                  common_opts: Sequence = (), extra_args: Sequence[str] = (),
                  seed: Optional[int] = None, source: Optional[Combination] = None) -> List[str]:
    """The ``tools/train_net.py`` command line of one combination. A combination's
    ``config`` is used as ``--config-file`` instead of the base (write it as a ``_BASE_``
    delta of the base config); the common opts come before the combination's, and a
    ``seed`` (``SEED s``) comes last so that it wins.

    An ``eval_of`` row needs its trained row as ``source``: the command is
    ``--eval-only`` with the source's config and opts, then the row's own, and
    ``MODEL.WEIGHTS`` the source's final checkpoint of the same seed."""
    if combo.eval_of is not None:
        if source is None or source.name != combo.eval_of:
            raise ValueError(f"Combination {combo.name!r} evaluates {combo.eval_of!r}: pass that row as source")
        config = source.config or base_config
        opts = [str(x) for x in list(common_opts) + list(source.opts) + list(combo.opts)]
        extra_args = [*extra_args, "--eval-only"]
    else:
        config = combo.config or base_config
        opts = [str(x) for x in list(common_opts) + list(combo.opts)]
    if seed is not None:
        opts += ["SEED", str(seed)]
    if combo.eval_of is not None:
        opts += ["MODEL.WEIGHTS", checkpoint_path(output_dir, source, seed)]
    return [python, train_net, "--config-file", config, *extra_args, *opts,
            "OUTPUT_DIR", run_dir(output_dir, combo, seed)]
