"""``stainless export``: a model as a graph that runs without stainless's training stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stainless.cli._outputs import add_output_option

EXAMPLES = """examples:
  stainless export --model cells --format onnx --output cells.onnx
  stainless segment --model cells.onnx --input rgb/ --output labels/ --channels 2,1
  stainless export --model models/my-nuclei --format pt2 --output my-nuclei.pt2
"""

SUFFIXES = {"onnx": ".onnx", "pt2": ".pt2"}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``export``."""
    parser = subparsers.add_parser(
        "export",
        help="write a model as an ONNX graph or a torch.export program",
        description="The network of a model folder or built-in as a graph: normalised planes "
        "(N, C, H, W), H and W multiples of the network's stride (stated in the output), in; "
        "its raw maps (N, K, H, W), before activation and post-processing, out. onnx: opset 18, "
        "any batch and size, runs in onnxruntime (and stainless: segment / predict --model "
        "X.onnx apply the model's normalisation, tiling and post-processing around it); pt2: "
        "a torch.export program, torch.export.load(path).module(). Each export is checked "
        "against the torch network on a batch of another shape before it is written.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="a model folder or a built-in name")
    parser.add_argument("--format", required=True, choices=sorted(SUFFIXES), help="graph format")
    add_output_option(parser, "the file to write (.onnx or .pt2)", required=True)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the output, load, export, check, write."""
    from stainless.export.source import export_source

    suffix = SUFFIXES[args.format]
    if args.output.suffix.lower() != suffix:
        raise ValueError(
            f"--output '{args.output}' must end in {suffix} for --format {args.format}"
        )
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"output '{args.output}' exists; pass --overwrite to replace it")
    if not args.output.parent.is_dir():
        raise ValueError(f"--output '{args.output}': folder '{args.output.parent}' does not exist")
    source = export_source(args.model)
    if args.format == "onnx":
        from stainless.export.onnx_graph import export_onnx

        check = export_onnx(source, Path(args.output))
    else:
        from stainless.export.torch_program import export_pt2

        check = export_pt2(source, Path(args.output))
    size_mb = args.output.stat().st_size / 1e6
    print(
        f"{args.output}: {args.format}, {size_mb:.1f} MB; input planes "
        f"(N, {source.channels}, H, W) with H, W multiples of {source.multiple}; "
        f"max |difference| to torch {check['max_abs_difference']:.1e} "
        f"on {tuple(check['input_shape'])}",
        file=sys.stderr,
    )
    return 0
