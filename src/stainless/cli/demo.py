"""``stainless demo``: phase → DAPI → nuclei on shipped samples, with a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="run the built-in models on shipped samples and write a report (no download)",
        description="Predict DAPI from phase contrast, segment nuclei from the predicted and the "
        "real DAPI and from three DSB2018 images, score them, and write TIFFs, overlays, "
        "metrics.csv and report.html into --output.",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("stainless-demo"), help="folder (stainless-demo)"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier demo's files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo, print the key numbers and where the report is."""
    from stainless.demo import run_demo

    result = run_demo(
        args.output,
        device=args.device,
        overwrite=args.overwrite,
        report=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(f"\n{'sample':<48}{'objects':>9}{'found':>7}{'csi@0.50':>10}{'F1@0.50':>9}")
    for row in result["rows"]:
        print(
            f"{row['sample']:<48}{row['n_true']:>9}{row['n_pred']:>7}"
            f"{row['csi@0.50']:>10.3f}{row['f1@0.50']:>9.3f}"
        )
    print(f"\nreport: {result['report']}  ({result['seconds']:.1f} s)")
    return 0
