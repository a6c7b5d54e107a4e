"""``stainless experiment sweep``: segmentation quality over task × K × init × seed × variant."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """examples:
  stainless experiment sweep --config benchmarks/configs/fewshot_isl_neurons.yaml
  stainless experiment sweep --config sweep.yaml    # rerun: finished runs are skipped
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``experiment`` and its kinds."""
    parser = subparsers.add_parser(
        "experiment",
        help="run a multi-model experiment (a sweep: task × K images × init × seed × variant)",
        description="Run experiments made of many trainings, resumable run by run.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    sweep = kinds.add_parser(
        "sweep",
        aliases=["fewshot"],
        help="train on K images from random and translation init, per seed and variant",
        description="For each task × variant × K × init × seed: train a segmentation model on K "
        "images (a variant is a set of dotted config overrides), score it on the test images, "
        "append a CSV row; then plot each metric vs K (mean ± std over seeds) next to the CSV. "
        "Rerunning skips finished runs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("--config", required=True, type=Path, help="sweep YAML (see README)")
    sweep.set_defaults(handler=run_sweep_command)


def run_sweep_command(args: argparse.Namespace) -> int:
    """Load the config, run the missing runs, write the plot."""
    from stainless.experiments.plots import plot_sweep
    from stainless.experiments.sweep import load_sweep_config, run_sweep, summary_table

    config = load_sweep_config(args.config)
    rows = run_sweep(config, report=lambda line: print(line, file=sys.stderr, flush=True))
    plot = plot_sweep(rows, config.csv.with_suffix(".png"))
    print(summary_table(rows))
    print(f"{len(rows)} runs in {config.csv}; plot {plot}")
    return 0
