"""The model on disk: one self-describing folder, read and written only here.

::

    model/
      config.yaml          the training config, as run
      model.json           what prediction needs: head or targets, input planes, normalisation,
                           tuned thresholds, pixel scale
      weights.safetensors  the network's weights (no pickle: safe to load from anywhere)
      meta.json            versions, seed, data, date, training time, validation metrics
      checkpoints/         Lightning checkpoints of an unfinished or resumable training

A ``separate`` translation model is a folder of per-modality model folders indexed by
``separate.json``. A built-in model (``stainless models list``) is named instead of a path.
Every file is written atomically; loading never unpickles. (After StarDist's and CSBDeep's
model folders.)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from pydantic import BaseModel, TypeAdapter, ValidationError
from safetensors.torch import load_file, save_file

from stainless.config import SegmentationConfig, TranslationConfig, dump_config
from stainless.config.loading import format_validation_error, load_yaml
from stainless.data.normalize import TargetScale
from stainless.data.plane_stem import PlaneInputs
from stainless.io.atomic import write_atomically, write_text_atomically
from stainless.io.json_text import json_text

WEIGHTS = "weights.safetensors"
MODEL_JSON = "model.json"
META_JSON = "meta.json"
CONFIG_YAML = "config.yaml"
SEPARATE_INDEX = "separate.json"
CHECKPOINTS = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
MIN_INPUT_SCALE, MAX_INPUT_SCALE = 0.05, 8.0
"""The resampling a ``--diameter`` may ask for (beyond: a unit mistake, or out of memory)."""


@dataclass(frozen=True)
class TranslationModelInfo(PlaneInputs):
    """What prediction needs to know about a translation model (``model.json``).

    ``in_channels``: the network's input channels. ``input_planes``: ``fixed`` (the network takes
    ``in_channels`` planes as they are), ``any`` (the mean and spread of 1..N planes) or
    ``resample`` (1..N planes resampled along z to ``in_channels``; see
    :mod:`stainless.data.plane_stem`). ``trained_planes``: planes per training sample.
    ``pixel_size_um``: the training images' pixel size (None: not known).
    """

    target_names: list[str]
    in_channels: int
    input_percentiles: tuple[float, float]
    target_scales: dict[str, tuple[float, float]]
    modalities: list[str]
    modality_strategy: str
    size_multiple: int
    kind: str = "translation"
    input_planes: str = "fixed"
    trained_planes: int | None = None
    pixel_size_um: float | None = None

    def scale(self, target: str) -> TargetScale:
        """Raw ↔ network map of one target."""
        return TargetScale(*self.target_scales[target])


@dataclass(frozen=True)
class SegmentationModelInfo(PlaneInputs):
    """What segmentation needs to know about a model (``model.json``).

    ``thresholds``: post-processing settings (``mask_threshold``, ``h``, ``border_threshold``,
    ``min_size_px``), tuned on validation images when asked. ``transfer``: for a network started
    from a translation model, that model's ``model`` config, input planes, targets and the chosen
    target, so the network can be rebuilt without the translation model's folder.
    ``input_scale``: the magnification applied to images before the network (``data.scale``).
    ``channels``: which channels of an image feed the network (``data.channels``; None: all).
    ``object_diameter_px``: the median equivalent diameter of the training objects in the
    training images' own pixels (None for models trained before it was recorded), so that
    ``segment --diameter`` can bring other images to the training size. ``input_planes``:
    ``fixed``, ``any`` or ``resample`` (as :class:`TranslationModelInfo`). ``pixel_size_um``:
    the training images' pixel size (None: not known). ``colour``: the input convention
    (:mod:`stainless.data.colour`). ``one_diameter``: every training image was brought to
    objects of ``object_diameter_px`` (``data.object_diameter``), so images are segmented at
    the size found in them unless a diameter or pixel size is given; ``training_diameters_px``:
    then the smallest and largest per-image median diameter, in the images' own pixels.
    """

    head: str
    classes: int
    in_channels: int
    input_percentiles: tuple[float, float]
    size_multiple: int
    thresholds: dict[str, float]
    transfer: dict[str, Any] | None = None
    kind: str = "segmentation"
    input_scale: float = 1.0
    channels: list[int | str] | None = None
    object_diameter_px: float | None = None
    input_planes: str = "fixed"
    pixel_size_um: float | None = None
    colour: str = "as_is"
    one_diameter: bool = False
    training_diameters_px: tuple[float, float] | None = None

    def planes_wanted(self) -> int | None:
        """Planes an input must have: ``in_channels``, or None when any number will do (a
        colour convention takes grey and RGB images)."""
        return None if self.colour != "as_is" else super().planes_wanted()

    def scale_at(self, diameter_px: float) -> float | None:
        """The ``input_scale`` that brings objects of ``diameter_px`` pixels to the size of the
        training objects ([Stringer2021]'s diameter rescaling); None when not recorded."""
        if self.object_diameter_px is None:
            return None
        return self.input_scale * self.object_diameter_px / diameter_px

    def at_diameter(self, diameter_px: float, source: str) -> SegmentationModelInfo:
        """This info with ``input_scale`` set so that objects of ``diameter_px`` pixels reach
        the network at the size of the training objects.

        Raises
        ------
        ValueError
            A diameter that is not a finite number > 0, or a model (named ``source``) that does
            not record its training objects' diameter.
        """
        if not (math.isfinite(diameter_px) and diameter_px > 0):
            raise ValueError(f"--diameter must be a finite number > 0, got {diameter_px}")
        scale = self.scale_at(diameter_px)
        if scale is None:
            raise ValueError(
                f"model '{source}' does not record the diameter of its training objects "
                "(trained before it was recorded); retrain it, or resize the images instead"
            )
        if not MIN_INPUT_SCALE <= scale <= MAX_INPUT_SCALE:
            raise ValueError(
                f"--diameter {diameter_px:g} would resample the images by {scale:.3g} (the "
                f"model's objects are {self.object_diameter_px:.0f} px across at scale "
                f"{self.input_scale:g}); the supported range is {MIN_INPUT_SCALE}-"
                f"{MAX_INPUT_SCALE}: check the diameter is in pixels"
            )
        return dataclasses.replace(self, input_scale=scale)


ModelInfo = TranslationModelInfo | SegmentationModelInfo
InfoType = TypeVar("InfoType", TranslationModelInfo, SegmentationModelInfo)
ConfigType = TypeVar("ConfigType", TranslationConfig, SegmentationConfig)


def is_model_folder(folder: Path) -> bool:
    """True when ``folder`` holds a complete model (weights and description)."""
    return (folder / WEIGHTS).is_file() and (folder / MODEL_JSON).is_file()


def require_model_folder(folder: Path) -> None:
    """Raise ``ValueError`` unless ``folder`` holds a complete model."""
    if not is_model_folder(folder):
        raise ValueError(
            f"'{folder}' is not a stainless model folder (no {WEIGHTS} + {MODEL_JSON})"
        )


def last_checkpoint(folder: Path) -> Path:
    """Where a training into ``folder`` keeps the checkpoint it resumes from."""
    return folder / CHECKPOINTS / LAST_CHECKPOINT


def save_model_folder(
    folder: Path,
    config: BaseModel,
    state: dict[str, torch.Tensor],
    info: ModelInfo,
    meta: dict[str, Any],
) -> Path:
    """Write a model folder, each file atomically; replaces the model files of an existing
    folder (other files in it, such as training checkpoints and logs, are kept).

    Parameters
    ----------
    folder : Path
    config : BaseModel
        The training config, saved as ``config.yaml``.
    state : dict of str → tensor
        The network's ``state_dict()``.
    info, meta
        ``model.json`` and ``meta.json``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.detach().cpu().contiguous() for key, value in state.items()}
    write_atomically(folder / WEIGHTS, lambda temporary: save_file(tensors, str(temporary)))
    write_text_atomically(folder / CONFIG_YAML, dump_config(config))
    write_text_atomically(folder / MODEL_JSON, json_text(asdict(info)))
    write_text_atomically(folder / META_JSON, json_text(meta))
    return folder


def update_model_folder(
    folder: Path, *, info: ModelInfo | None = None, meta: dict[str, Any] | None = None
) -> None:
    """Replace ``model.json`` with ``info`` and/or merge ``meta`` into ``meta.json``, atomically."""
    require_model_folder(folder)
    if info is not None:
        write_text_atomically(folder / MODEL_JSON, json_text(asdict(info)))
    if meta is not None:
        write_text_atomically(folder / META_JSON, json_text({**read_meta(folder), **meta}))


def _read_json_object(folder: Path, name: str) -> dict[str, Any]:
    """A JSON file of a model folder as a mapping; ``ValueError`` naming the file otherwise."""
    path = folder / name
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"model '{folder}': {name} is not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno})"
        ) from None
    except UnicodeDecodeError:
        raise ValueError(f"model '{folder}': {name} is not a text file") from None
    if not isinstance(document, dict):
        raise ValueError(
            f"model '{folder}': {name} must hold a JSON object, not a {type(document).__name__}"
        )
    return document


def model_kind(folder: Path) -> str | None:
    """``translation`` or ``segmentation`` for a model folder; None when ``folder`` is not one."""
    if not is_model_folder(folder):
        return None
    kind = _read_json_object(folder, MODEL_JSON).get("kind")
    return kind if isinstance(kind, str) else None


def _read_model_json(folder: Path, kind: str) -> dict[str, Any]:
    require_model_folder(folder)
    raw = _read_json_object(folder, MODEL_JSON)
    if raw.get("kind") != kind:
        raise ValueError(f"model '{folder}' is a {raw.get('kind')} model, not a {kind} model")
    return raw


def validated_info(folder: Path, info_type: type[InfoType], raw: dict[str, Any]) -> InfoType:
    """``model.json`` checked against its schema (the dataclass's fields and types)."""
    try:
        return TypeAdapter(info_type).validate_python(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}"
            for item in error.errors()
        )
        raise ValueError(f"model '{folder}': {MODEL_JSON} is invalid: {problems}") from None


def read_translation_info(folder: Path) -> TranslationModelInfo:
    """``model.json`` of a translation model folder, checked against its schema."""
    return validated_info(folder, TranslationModelInfo, _read_model_json(folder, "translation"))


def read_segmentation_info(folder: Path) -> SegmentationModelInfo:
    """``model.json`` of a segmentation model folder, checked against its schema."""
    return validated_info(folder, SegmentationModelInfo, _read_model_json(folder, "segmentation"))


def read_meta(folder: Path) -> dict[str, Any]:
    """``meta.json`` of a model folder (empty when absent)."""
    return _read_json_object(folder, META_JSON) if (folder / META_JSON).is_file() else {}


def _read_config(folder: Path, config_type: type[ConfigType]) -> ConfigType:
    path = folder / CONFIG_YAML
    if not path.is_file():
        raise ValueError(f"model '{folder}' has no {CONFIG_YAML}")
    document = load_yaml(path)
    try:
        return config_type.model_validate(document)
    except ValidationError as error:
        raise ValueError(format_validation_error(error, str(path))) from None


def read_translation_config(folder: Path) -> TranslationConfig:
    """The config a translation model folder was trained with."""
    return _read_config(folder, TranslationConfig)


def read_segmentation_config(folder: Path) -> SegmentationConfig:
    """The config a segmentation model folder was trained with."""
    return _read_config(folder, SegmentationConfig)


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """The network weights of a model folder (safetensors: nothing is unpickled).

    Raises
    ------
    ValueError
        The file is missing, truncated, not safetensors, or holds NaN / ±Inf weights.
    """
    path = folder / WEIGHTS
    try:
        weights = load_file(str(path))
    except FileNotFoundError:
        raise ValueError(f"model '{folder}' has no {WEIGHTS}") from None
    except Exception as error:  # safetensors raises its own SafetensorError for broken files
        raise ValueError(
            f"model '{folder}': {WEIGHTS} is unreadable, truncated or not a safetensors file "
            f"({error}); copy the model folder again"
        ) from None
    broken = [name for name, tensor in weights.items() if not torch.isfinite(tensor).all()]
    if broken:
        raise ValueError(
            f"model '{folder}': {WEIGHTS} holds NaN or infinite values in {len(broken)} "
            f"tensor(s), e.g. '{broken[0]}'"
        )
    return weights


def load_weights_into(network: torch.nn.Module, folder: Path) -> None:
    """Load a model folder's weights into ``network``, first checking that every tensor's name
    and shape fits the architecture described by ``config.yaml`` / ``model.json``.

    Raises
    ------
    ValueError
        Naming the folder, the counts of missing / unexpected / mis-shaped tensors and one of each.
    """
    weights = read_weights(folder)
    own = network.state_dict()
    missing = [name for name in own if name not in weights]
    unexpected = [name for name in weights if name not in own]
    reshaped = [name for name in own if name in weights and weights[name].shape != own[name].shape]
    if missing or unexpected or reshaped:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing (e.g. '{missing[0]}')")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected (e.g. '{unexpected[0]}')")
        if reshaped:
            name = reshaped[0]
            problems.append(
                f"{len(reshaped)} of another shape (e.g. '{name}': "
                f"{tuple(weights[name].shape)} in the file, {tuple(own[name].shape)} expected)"
            )
        raise ValueError(
            f"model '{folder}': {WEIGHTS} does not fit the network described by {CONFIG_YAML} "
            f"and {MODEL_JSON}: tensors " + ", ".join(problems)
        )
    network.load_state_dict(weights)


def read_separate_index(folder: Path) -> dict[str, Path] | None:
    """Modality → model folder of a ``separate`` translation model; None for a single model."""
    index = folder / SEPARATE_INDEX
    if not index.is_file():
        return None
    return {modality: folder / sub for modality, sub in json.loads(index.read_text()).items()}


def write_separate_index(folder: Path, modalities: list[str]) -> None:
    """Index the per-modality model folders ``<folder>/<modality>`` of a ``separate`` model."""
    mapping = {modality: modality for modality in modalities}
    write_text_atomically(folder / SEPARATE_INDEX, json_text(mapping))


def holds_a_model(folder: Path) -> bool:
    """A model folder or a ``separate`` folder of them."""
    return is_model_folder(folder) or (folder / SEPARATE_INDEX).is_file()


def resolve_model(name_or_folder: str | os.PathLike[str]) -> Path:
    """A model folder path: the argument itself when it exists, else a built-in model's folder.

    Raises ``ValueError`` when it is neither (naming the built-in models).
    """
    from stainless.zoo import list_models

    path = Path(name_or_folder)
    if path.exists():
        return path
    if path.name == str(name_or_folder):  # a bare name, not a path
        names = {m.name: m.folder for m in list_models()}
        if str(name_or_folder) in names:
            return names[str(name_or_folder)]
        raise ValueError(
            f"'{name_or_folder}' is neither a model folder nor a built-in model "
            f"(built-in: {sorted(names)})"
        )
    raise ValueError(f"model folder '{name_or_folder}' does not exist")
