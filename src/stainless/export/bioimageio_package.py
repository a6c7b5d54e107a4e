"""A bioimage.io model package (spec 0.5) of a stainless model, for Fiji/deepImageJ, QuPath,
ilastik, BiaPy and ``bioimageio.core``: ``rdf.yaml`` with the axes, the percentile normalisation
as the spec's own ``scale_range`` preprocessing, ONNX and TorchScript weights (and
``pytorch_state_dict`` weights with a torch-only architecture file for U-Net segmentation models;
QuPath's and deepImageJ's PyTorch engines load TorchScript only), test tensors from a real
image, a cover, and documentation from the model card. Validated with ``bioimageio.core``'s own
``test_model`` before it is written.

The package holds the network only: its outputs are the raw maps (flows, distance, logits or
translated targets), which the documentation says how to turn into labels (stainless segment
--model the exported ONNX, or the decoders of :mod:`stainless.postprocessing`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tifffile
import torch

from stainless.export.source import ExportSource
from stainless.io.atomic import write_atomically

MODEL_LICENCES = {"CC-BY-4.0": "CC-BY-4.0", "MIT": "MIT", "CC0": "CC0-1.0"}
"""A training-data licence named in a built-in's card → the SPDX licence of its package (the
most demanding one found, in this order)."""
EPSILON = 1e-6
"""``scale_range``'s epsilon: (x − p_low) / (p_high − p_low + ε)."""
OUTPUT_NAMES = {"flows": ["cell_logit", "flow_y", "flow_x"], "distance": ["distance", "mask_logit"],
                "hover": ["background_logit", "nucleus_logit", "offset_y", "offset_x"]}  # fmt: skip


def package_licence(card_licence: str) -> str:
    """The SPDX licence of a package from its card's data-licence text."""
    for name, spdx in MODEL_LICENCES.items():
        if name in card_licence:
            return spdx
    raise ValueError(f"no known licence in the model card ('{card_licence}'); pass --licence")


def normalised(planes: np.ndarray, low: float, high: float) -> np.ndarray:
    """Planes ``(C, Y, X)`` scaled per plane as bioimage.io's ``scale_range`` does."""
    out = np.empty(planes.shape, np.float32)
    for index, plane in enumerate(planes.astype(np.float64)):
        lo, hi = np.percentile(plane, [low, high])
        out[index] = (plane - lo) / (hi - lo + EPSILON)
    return out


def output_channel_names(source: ExportSource) -> list[str]:
    """Names of the graph's output maps."""
    info: Any = source.info
    if info.kind == "translation":
        return list(info.target_names)
    if info.head in OUTPUT_NAMES:
        return OUTPUT_NAMES[info.head]
    return (
        ["foreground_logit"]
        if info.classes == 2
        else [f"class{i}_logit" for i in range(info.classes)]
    )


def _cover(path: Path, planes: np.ndarray, maps: np.ndarray, names: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(8, 4))
    axes[0].imshow(planes[0], cmap="gray")
    axes[0].set_title("input, channel 1")
    axes[1].imshow(maps[0], cmap="magma")
    axes[1].set_title(f"output: {names[0]}")
    for axis in axes:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _sample_crop(planes: np.ndarray, multiple: int, side: int = 256) -> np.ndarray:
    """The top-left crop of ``planes`` ``(C, Y, X)`` with sides multiples of ``multiple``."""
    height, width = (min(n, side) // multiple * multiple for n in planes.shape[1:])
    if height < multiple or width < multiple:
        raise ValueError(f"the sample image is smaller than the network's stride {multiple}")
    return np.ascontiguousarray(planes[:, :height, :width], np.float32)


def _documentation(source: ExportSource, card: dict[str, Any] | None, names: list[str]) -> str:
    info: Any = source.info
    lines = [f"# stainless model `{source.folder.name}`", ""]
    if card is not None:
        lines += [card["task"], "", f"**Inputs.** {card['inputs']}", "",
                  f"**Training data.** {card['training_data']}", "",
                  f"**Licence of the training data.** {card['licence']}", "",
                  f"**Credit.** {card['credit']}", "",
                  "## Validation", "",
                  f"Held-out scores ({card['held_out'].get('data', '')}):", ""]  # fmt: skip
        lines += [f"* {key}: {value}" for key, value in card["held_out"]["scores"].items()]
        lines.append("")
    lines += [
        "## What goes in and out", "",
        f"In: `planes` (batch, {source.channels}, y, x), y and x multiples of {source.multiple}, "
        f"each channel scaled by its {info.input_percentiles[0]}-{info.input_percentiles[1]} "
        "percentiles (the package's `scale_range` preprocessing does it).",
        f"Out: `maps` (batch, {len(names)}, y, x): {', '.join(names)} — the network's raw maps, "
        "before activation and post-processing, which are not part of a bioimage.io network.",
        "",
    ]  # fmt: skip
    if info.kind == "segmentation":
        scale = float(getattr(info, "input_scale", 1.0))
        lines += [
            "## From maps to labels", "",
            f"Head `{info.head}`. Resample images by {scale:.3g} first (the model's training "
            "object size), then decode the maps into instance labels: with stainless, "
            "`stainless export --format onnx` and `stainless segment --model X.onnx` do all "
            "of it (and find the object size); the decoders are in `stainless.postprocessing`.",
            f"Thresholds tuned for this model: {info.thresholds}.", "",
        ]  # fmt: skip
    else:
        lines += [
            "Targets come out in training units ([-1, 1] over each target's training "
            "percentile range): `stainless predict --model X.onnx` maps them back.",
            "",
        ]
    return "\n".join(lines)


def export_bioimageio(
    source: ExportSource,
    output: Path,
    sample: np.ndarray,
    card: dict[str, Any] | None,
    licence: str,
    authors: list[str],
) -> dict[str, Any]:
    """Write the zipped package of ``source`` to ``output`` (atomically) after
    ``bioimageio.core.test_model`` passes on it; return the ONNX check and the test's status.

    Parameters
    ----------
    source : ExportSource
    output : Path
        The ``.zip`` to write.
    sample : (C, Y, X) array
        A real image of the network's input planes (raw intensities), for the test tensors
        and the cover; cropped to at most 256 × 256.
    card : dict, optional
        A built-in's ``zoo.json`` (its documentation); None for a trained folder.
    licence : str
        SPDX id of the package.
    authors : list of str

    Raises
    ------
    ValueError
        A model whose input needs stainless's plane stem (mean and spread of any number of
        planes), or a package that fails bioimage.io's test (nothing written).
    """
    from bioimageio.core import test_model
    from bioimageio.spec import save_bioimageio_package
    from bioimageio.spec.model import v0_5 as spec

    from stainless.export.onnx_graph import export_onnx

    info: Any = source.info
    if getattr(info, "any_planes", False) and info.stem() is None:
        raise ValueError(f"'{source.folder}' takes any number of planes through stainless's "
                         "mean-and-spread stem, which bioimage.io cannot express")  # fmt: skip
    raw = _sample_crop(sample, source.multiple)
    low, high = info.input_percentiles
    with torch.inference_mode():
        maps = source.network(torch.from_numpy(normalised(raw, low, high))[None]).numpy()
    names = output_channel_names(source)
    in_names = (["cytoplasm", "nucleus"] if source.channels == 2 and info.kind == "segmentation"
                else [f"channel{i + 1}" for i in range(source.channels)])  # fmt: skip
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        np.save(folder / "test_input.npy", raw[None])
        np.save(folder / "test_output.npy", maps)
        tifffile.imwrite(folder / "sample_input.tif", raw[None])
        tifffile.imwrite(folder / "sample_output.tif", maps)
        check = export_onnx(source, folder / "weights.onnx")
        _cover(folder / "cover.png", raw, maps[0], names)
        (folder / "README.md").write_text(_documentation(source, card, names))
        space = [spec.SpaceInputAxis(id=spec.AxisId(axis), size=spec.ParameterizedSize(
            min=source.multiple, step=source.multiple)) for axis in ("y", "x")]  # fmt: skip
        planes = spec.InputTensorDescr(
            id=spec.TensorId("planes"),
            description="raw image planes (the package scales them)",
            axes=[spec.BatchAxis(), spec.ChannelAxis(channel_names=[spec.Identifier(n) for n in in_names]), *space],  # noqa: E501
            test_tensor=spec.FileDescr(source=folder / "test_input.npy"),
            sample_tensor=spec.FileDescr(source=folder / "sample_input.tif"),
            preprocessing=[spec.ScaleRangeDescr(kwargs=spec.ScaleRangeKwargs(
                axes=[spec.AxisId("y"), spec.AxisId("x")], min_percentile=low,
                max_percentile=high, eps=EPSILON))],
        )  # fmt: skip
        out_space = [spec.SpaceOutputAxis(id=spec.AxisId(axis), size=spec.SizeReference(
            tensor_id=spec.TensorId("planes"), axis_id=spec.AxisId(axis))) for axis in ("y", "x")]  # fmt: skip # noqa: E501
        outputs = spec.OutputTensorDescr(
            id=spec.TensorId("maps"),
            description="raw maps: " + ", ".join(names),
            axes=[spec.BatchAxis(), spec.ChannelAxis(channel_names=[spec.Identifier(n) for n in names]), *out_space],  # noqa: E501
            test_tensor=spec.FileDescr(source=folder / "test_output.npy"),
            sample_tensor=spec.FileDescr(source=folder / "sample_output.tif"),
        )  # fmt: skip
        state_dict = _state_dict_weights(source, folder)
        # one entry is the original, the others name it as their parent: the state dict where
        # there is one (ONNX and TorchScript are converted from it), else the TorchScript
        root: Literal["pytorch_state_dict"] | None = None
        if state_dict is not None:
            root = "pytorch_state_dict"
        weights = spec.WeightsDescr(
            onnx=spec.OnnxWeightsDescr(
                source=folder / "weights.onnx", opset_version=18, parent=root or "torchscript"
            ),
            torchscript=_torchscript_weights(source, folder, root),
            pytorch_state_dict=state_dict,
        )
        description = card["task"] if card is not None else f"stainless {info.kind} model"
        model = spec.ModelDescr(
            name=f"stainless {source.folder.name}",
            description=description[:1000],
            authors=[spec.Author(name=name) for name in authors],
            cite=[
                spec.CiteEntry(
                    text="Ronneberger et al., U-Net, MICCAI 2015",
                    doi=spec.Doi("10.1007/978-3-319-24574-4_28"),
                )
            ],
            license=spec.LicenseId(licence),
            documentation=spec.FileDescr(source=folder / "README.md"),
            covers=[spec.FileDescr(source=folder / "cover.png")],
            tags=[
                "stainless",
                info.kind,
                "2d",
                "label-free" if info.kind == "translation" else "instance-segmentation",
            ],
            inputs=[planes],
            outputs=[outputs],
            weights=weights,
        )
        summary = test_model(model)
        if summary.status != "passed":
            failed = [d.name for d in summary.details if d.status == "failed"]
            raise ValueError(f"the bioimage.io package of '{source.folder}' fails bioimage.io's "
                             f"test ({'; '.join(failed)}); not written")  # fmt: skip
        write_atomically(output, lambda temporary_zip: save_bioimageio_package(
            model, output_path=temporary_zip))  # fmt: skip
    return {**check, "bioimageio_test": summary.status}


def _state_dict_weights(source: ExportSource, folder: Path) -> Any:
    """``pytorch_state_dict`` weights with a torch-only architecture file, for a U-Net
    segmentation network without branches; None otherwise (the package has ONNX weights only)."""
    from bioimageio.spec.model import v0_5 as spec

    from stainless.export.architecture_file import CALLABLE, architecture_source

    network: Any = source.network.network
    backbone = getattr(network, "backbone", None)
    if source.info.kind != "segmentation" or backbone is None:
        return None
    if type(backbone).__name__ != "UNet":
        return None
    if getattr(network, "branch_names", None):
        return None
    (folder / "architecture.py").write_text(architecture_source(source.folder.name))
    torch.save(network.state_dict(), folder / "weights.pt")
    kwargs = {"in_channels": source.channels, "out_channels": len(output_channel_names(source)),
              "width": backbone.head.in_channels, "depth": backbone.depth}  # fmt: skip
    return spec.PytorchStateDictWeightsDescr(
        source=folder / "weights.pt",
        architecture=spec.ArchitectureFromFileDescr(
            source=folder / "architecture.py", callable=spec.Identifier(CALLABLE), kwargs=kwargs
        ),
        pytorch_version=spec.Version(torch.__version__.split("+")[0]),
    )


TORCHSCRIPT_TOLERANCE = 1e-4
"""Largest |difference| allowed between the traced program and the network."""


def _torchscript_weights(
    source: ExportSource, folder: Path, parent: Literal["pytorch_state_dict"] | None
) -> Any:
    """TorchScript weights: the network traced on the export example, then checked against
    the network on a batch of another shape (a trace that did not generalise is refused).

    Raises
    ------
    ValueError
        The traced program differs from the network by more than
        :data:`TORCHSCRIPT_TOLERANCE` on the second shape.
    """
    from bioimageio.spec.model import v0_5 as spec

    with torch.inference_mode():
        traced = torch.jit.trace(source.network, source.example(), check_trace=False)
        other = source.example(batch=1, steps=(5, 3), seed=1)
        difference = float((traced(other) - source.network(other)).abs().max())
    if difference > TORCHSCRIPT_TOLERANCE:
        raise ValueError(f"the TorchScript trace of '{source.folder}' differs from the network "
                         f"by {difference:.2g} on another size; not written")  # fmt: skip
    torch.jit.save(traced, str(folder / "weights_torchscript.pt"))
    return spec.TorchscriptWeightsDescr(
        source=folder / "weights_torchscript.pt",
        pytorch_version=spec.Version(torch.__version__.split("+")[0]),
        parent=parent,
    )
