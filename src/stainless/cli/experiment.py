"""``stainless experiment fewshot``: segmentation quality vs number of annotated images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """examples:
  stainless experiment fewshot --config benchmarks/configs/fewshot_isl_neurons.yaml
  stainless experiment fewshot --config fewshot.yaml    # rerun: finished runs are skipped
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``experiment`` and its kinds."""
    parser = subparsers.add_parser(
        "experiment",
        help="run a multi-model experiment (few-shot: K images × init × seeds)",
        description="Run experiments made of many trainings, resumable run by run.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    fewshot = kinds.add_parser(
        "fewshot",
        help="train on K ∈ {1, 2, 5, 10, all} images from random and translation init",
        description="For each task × K × init × seed: train a segmentation model on K images, "
        "evaluate it on the test images, append a CSV row; then plot each metric vs K "
        "(mean ± std over seeds) next to the CSV. Rerunning skips finished runs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fewshot.add_argument("--config", required=True, type=Path, help="experiment YAML")
    fewshot.set_defaults(handler=run_fewshot_command)


def run_fewshot_command(args: argparse.Namespace) -> int:
    """Load the config, run the missing runs, write the plot."""
    from stainless.training.fewshot import load_fewshot_config, plot_fewshot, run_fewshot

    config = load_fewshot_config(args.config)
    rows = run_fewshot(config, report=lambda line: print(line, file=sys.stderr, flush=True))
    plot = plot_fewshot(rows, config.csv.with_suffix(".png"))
    print(f"{len(rows)} runs in {config.csv}; plot {plot}")
    return 0
