"""``stainless export``: a model as a graph that runs without stainless's training stack."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from stainless.cli._outputs import add_output_option

EXAMPLES = """examples:
  stainless export --model cells --format onnx --output cells.onnx
  stainless segment --model cells.onnx --input rgb/ --output labels/ --channels 2,1
  stainless export --model models/my-nuclei --format pt2 --output my-nuclei.pt2
  stainless export --model cells --format bioimageio --output cells.zip
  stainless export --model models/my-nuclei --format bioimageio --output my-nuclei.zip \
      --sample dapi/field1.tif --licence CC-BY-4.0 --author "A. Biologist"
"""

SUFFIXES = {"onnx": ".onnx", "pt2": ".pt2", "bioimageio": ".zip"}


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
    add_output_option(parser, "the file to write (.onnx, .pt2 or .zip)", required=True)
    parser.add_argument(
        "--sample",
        type=Path,
        help="bioimageio: a real image of the model's input planes for the package's test "
        "tensors and cover (default for built-ins: a shipped demo image)",
    )
    parser.add_argument(
        "--licence",
        help="bioimageio: SPDX licence of the package (default for built-ins: from the "
        "training data's licences)",
    )
    parser.add_argument(
        "--author", action="append", help="bioimageio: an author's name (repeatable)"
    )
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
    elif args.format == "pt2":
        from stainless.export.torch_program import export_pt2

        check = export_pt2(source, Path(args.output))
    else:
        check = _bioimageio(args, source)
    size_mb = args.output.stat().st_size / 1e6
    print(
        f"{args.output}: {args.format}, {size_mb:.1f} MB; input planes "
        f"(N, {source.channels}, H, W) with H, W multiples of {source.multiple}; "
        f"max |difference| to torch {check['max_abs_difference']:.1e} "
        f"on {tuple(check['input_shape'])}",
        file=sys.stderr,
    )
    return 0


def _bioimageio(args: argparse.Namespace, source: Any) -> dict[str, Any]:
    """The package's sample, card, licence and authors from the options, then the package."""
    from stainless.export.bioimageio_package import export_bioimageio, package_licence
    from stainless.io import read_input_planes
    from stainless.zoo import ZOO_ROOT, list_models

    card = None
    built_in = {model.folder.resolve(): model for model in list_models()}
    if source.folder.resolve() in built_in:
        card = json.loads((source.folder / "zoo.json").read_text())
    if args.sample is None and card is None:
        raise ValueError("--format bioimageio of a trained model needs --sample IMAGE (a real "
                         "image of its input planes)")  # fmt: skip
    if args.licence is None and card is None:
        raise ValueError("--format bioimageio of a trained model needs --licence SPDX-ID")
    sample_path = args.sample or ZOO_ROOT.parent / "demo_data" / (
        "neurons_phase.tif" if source.channels == 13 else "dsb_10328b82.png"
    )
    planes = read_input_planes([sample_path])[0].astype(np.float32)
    if planes.shape[0] < source.channels:  # a grey sample for a cytoplasm + nucleus model
        missing = source.channels - planes.shape[0]
        planes = np.concatenate([planes, np.zeros((missing, *planes.shape[1:]), np.float32)])
    planes = planes[: source.channels]
    licence = args.licence or package_licence(card["licence"] if card else "")
    authors = args.author or ["stainless contributors"]
    return export_bioimageio(source, Path(args.output), planes, card, licence, authors)
