"""``stainless models list|info``: the built-in models shipped with the package, and what a
trained model folder records."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``models`` and its actions."""
    parser = subparsers.add_parser(
        "models",
        help="list the built-in models (usable offline as --model NAME)",
        description="Built-in models ship inside the package: no download, usable by name "
        "wherever a model folder is accepted.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="task, inputs, data, licence, metrics, size")
    listing.set_defaults(handler=run_list)
    info = actions.add_parser(
        "info", help="everything about one built-in model, or what a model folder records"
    )
    info.add_argument("name", help="a built-in model name or a trained model folder")
    info.set_defaults(handler=run_info)


def _metrics(held_out: dict[str, object]) -> str:
    scores = held_out.get("scores", {})
    assert isinstance(scores, dict)
    return ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if isinstance(v, float))


def run_list(args: argparse.Namespace) -> int:
    """One block per built-in model."""
    from stainless.zoo import list_models

    models = list_models()
    if not models:
        print("no built-in model is installed")
        return 0
    for model in models:
        print(f"{model.name}  v{model.version}  ({model.size_bytes / 1e6:.1f} MB)")
        print(f"  task:      {model.task}")
        print(f"  inputs:    {model.inputs}")
        print(f"  trained:   {model.training_data} — licence {model.licence}")
        print(f"  held-out:  {_metrics(model.held_out)} ({model.held_out.get('data', '')})")
    return 0


def run_info(args: argparse.Namespace) -> int:
    """The full card of a built-in model, or what a trained model folder records."""
    from stainless.model_folder import require_model_folder, resolve_model
    from stainless.zoo import ZOO_ROOT, get_model

    folder = resolve_model(args.name)
    if folder.resolve().parent == ZOO_ROOT:
        model = get_model(folder.name)
        print(f"name:          {model.name}")
        print(f"version:       {model.version}" + (f" ({model.changes})" if model.changes else ""))
        print(f"folder:        {model.folder}")
        print(f"size:          {model.size_bytes / 1e6:.1f} MB")
        print(f"task:          {model.task}")
        print(f"inputs:        {model.inputs}")
        print(f"training data: {model.training_data}")
        print(f"licence:       {model.licence}")
        print(f"credit:        {model.credit}")
        if model.channels:
            print(f"channel rule:  {model.channels}")
        _print_inputs(folder, model.pixel_size)
        print(f"held-out:      {_metrics(model.held_out)}")
        print(f"               on {model.held_out.get('data', '')}")
        if model.leave_one_set_out is not None:
            print(f"left-out sets: {_metrics(model.leave_one_set_out)}")
            print(f"               {model.leave_one_set_out.get('data', '')}")
        print(f"built by:      {model.built_by}")
        return 0
    require_model_folder(folder)
    _print_trained_folder(folder)
    return 0


def _print_inputs(folder: Path, stated_pixel_size: str = "") -> None:
    """Planes, channels, pixel size and object size, from the folder's ``model.json``."""
    from stainless.model_folder import (
        SegmentationModelInfo,
        model_kind,
        read_segmentation_info,
        read_translation_info,
    )

    info = (
        read_segmentation_info(folder)
        if model_kind(folder) == "segmentation"
        else read_translation_info(folder)
    )
    colour = getattr(info, "colour", "as_is")
    if colour != "as_is":
        planes = f"one grey plane or an RGB colour image (fed as {colour})"
    elif info.input_planes == "resample":
        planes = f"any number, 1..N (resampled along z to {info.in_channels}; --planes picks some)"
    elif info.any_planes:
        planes = "any number, 1..N (their mean and spread; --planes picks some)"
    elif getattr(info, "channels", None) and info.in_channels > 1:
        planes = f"{info.in_channels} (an image lacking a channel below is fed zeros there)"
    else:
        planes = f"exactly {info.in_channels}"
    print(f"planes:        {planes}")
    channels = getattr(info, "channels", None)
    if channels:
        print(f"channels:      {channels} (the image channels it was trained on, 1-based)")
    if info.pixel_size_um is not None:
        print(f"pixel size:    {info.pixel_size_um:.3g} µm (inputs at another size are resampled)")
    else:
        print(f"pixel size:    {stated_pixel_size or 'not stated by the training data'}")
    if isinstance(info, SegmentationModelInfo):
        print(f"head:          {info.head} ({info.classes} classes)")
        diameter = info.object_diameter_px
        size = f"median {diameter:.0f} px across" if diameter else "not recorded"
        if info.one_diameter:
            print(f"objects:       every training image brought to a {size}; segment "
                  "finds the size in each image unless --diameter is given")  # fmt: skip
        else:
            print(f"objects:       {size} in the training images (segment --diameter rescales)")


def _print_trained_folder(folder: Path) -> None:
    """What a model folder trained by the user records: its inputs and its ``meta.json``."""
    from stainless.model_folder import read_meta

    meta = read_meta(folder)
    size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    print(f"folder:        {folder}")
    print(f"size:          {size / 1e6:.1f} MB")
    print(f"trained:       {meta.get('date_utc', 'unknown date')} by: {meta.get('command', '?')}")
    seconds = meta.get("training_seconds")
    if isinstance(seconds, int | float):
        steps = meta.get("batches", "?")
        stop = meta.get("stopped_by", "?")
        print(f"training:      {seconds / 60:.1f} min, {steps} steps, stopped by {stop}")
    data = meta.get("data", {})
    if isinstance(data, dict):
        n_train, n_val = len(data.get("training", [])), len(data.get("validation", []))
        print(f"training data: {n_train} image(s); {n_val} for validation")
    _print_inputs(folder)
    tuning = meta.get("tuning") or {}
    scores = ", ".join(f"{k} {v:.3f}" for k, v in tuning.items() if k.startswith("csi"))
    if scores:
        print(f"validation:    {scores} on {tuning.get('images', '?')} image(s) ({tuning['on']})")
