"""Reading configs: YAML → paths resolved → overrides applied → validated, one rule for all.

Relative paths inside a config file are relative to the file's folder; overrides (from the
command line or a sweep variant) are dotted keys (``model.init``, ``training.max_minutes``)
applied after that, as given. Every problem is reported in one line naming the file and the
field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from stainless.config.segmentation import SegmentationConfig
from stainless.config.translation import TranslationConfig

ConfigType = TypeVar("ConfigType", bound=BaseModel)

_SAMPLE_FILES = ("inputs.*", "targets.*", "labels", "cells")
TRAINING_PATHS: tuple[str, ...] = (
    "output",
    "data.manifest",
    "data.unlabelled",
    *(f"data.{group}.*.{key}" for group in ("samples", "validation") for key in _SAMPLE_FILES),
    "model.init",
    "model.encoder_weights",
)
"""Where a training config (translation or segmentation) names files."""


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice (PyYAML keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' is given twice (first on line {seen[key]})",
                mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml(path: Path) -> Any:
    """The YAML document of ``path``, read strictly (a key given twice is an error).

    Raises
    ------
    ValueError
        One line naming ``file:line:column`` and the problem, for syntax errors, repeated keys
        and files that are not UTF-8 text.
    """
    try:
        return yaml.load(path.read_text(), Loader=_StrictLoader)
    except UnicodeDecodeError:
        raise ValueError(f"'{path}' is not a UTF-8 text file") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise ValueError(f"'{where}' is not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"'{path}' is not valid YAML: {error}".replace("\n", " ")) from None


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, str | os.PathLike) and not Path(value).is_absolute():
        return os.path.normpath(base / value)
    return value


def _resolve_at(node: Any, keys: Sequence[str], base: Path) -> Any:
    if not keys:
        return _resolve(node, base)
    key, rest = keys[0], keys[1:]
    if key == "*":
        if isinstance(node, list):
            return [_resolve_at(item, rest, base) for item in node]
        if isinstance(node, dict):
            return {name: _resolve_at(item, rest, base) for name, item in node.items()}
        return node
    if isinstance(node, dict) and node.get(key) is not None:
        return {**node, key: _resolve_at(node[key], rest, base)}
    return node


def resolve_paths(raw: dict[str, Any], base: Path, path_keys: Sequence[str]) -> dict[str, Any]:
    """``raw`` with the relative paths at ``path_keys`` made relative to ``base``.

    A path key is dotted; ``*`` stands for every item of a list or every value of a mapping
    (``data.samples.*.inputs.*``). Absent keys are skipped; ``raw`` is not modified.
    """
    resolved: Any = raw
    for pattern in path_keys:
        resolved = _resolve_at(resolved, pattern.split("."), base)
    return dict(resolved)


EXPLICIT_NULL = object()
"""An override value that sets a key to null (``--set training.max_minutes=null``); a plain None
means "not given" and is skipped."""


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` with each dotted key of ``overrides`` set (None values are skipped;
    :data:`EXPLICIT_NULL` sets null)."""
    result = dict(raw)
    for dotted, value in overrides.items():
        if value is None:
            continue
        if value is EXPLICIT_NULL:
            value = None
        *sections, key = dotted.split(".")
        node = result
        for section in sections:
            child = node.get(section)
            node[section] = dict(child) if isinstance(child, dict) else {}
            node = node[section]
        node[key] = value
    return result


def format_validation_error(error: ValidationError, source: str) -> str:
    """One line naming every problem of a config: ``config 'x.yaml' is invalid: a.b: ...``."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {item['msg']}")
    return f"config '{source}' is invalid: " + "; ".join(problems)


def read_config(
    path: str | os.PathLike[str],
    config_type: type[ConfigType],
    path_keys: Sequence[str],
    overrides: Mapping[str, Any] | None = None,
) -> ConfigType:
    """Read a YAML config, resolve its paths, apply dotted ``overrides``, validate.

    Raises
    ------
    OSError
        The file does not exist.
    ValueError
        Unreadable YAML, not a mapping, unknown or invalid keys (all problems in one line).
    """
    config_path = Path(path)
    if not config_path.is_file():
        raise OSError(f"config '{config_path}' does not exist")
    raw = load_yaml(config_path) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"config '{config_path}' must hold a mapping of settings")
    raw = resolve_paths(
        _builtin_models(raw, config_path.parent), config_path.parent.resolve(), path_keys
    )
    raw = _builtin_models(apply_overrides(raw, overrides or {}), Path.cwd())
    try:
        return config_type.model_validate(raw)
    except ValidationError as error:
        raise ValueError(format_validation_error(error, str(config_path))) from error


MODEL_PATHS = ("init", "encoder_weights")
"""The ``model`` settings that name a model folder, where a built-in model's name also works
(as in a sweep's ``inits`` values)."""


def _builtin_models(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """``raw`` with a bare built-in model name (``phase-to-dapi``) at ``model.init`` /
    ``model.encoder_weights`` or as a sweep ``inits`` value replaced by that model's folder,
    unless ``base`` holds such a path."""
    from stainless.zoo import list_models

    builtin = {entry.name: str(entry.folder) for entry in list_models()}

    def replaced(mapping: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
        updated = dict(mapping)
        for key in keys:
            value = mapping.get(key)
            if (
                isinstance(value, str | os.PathLike)
                and str(value) in builtin
                and not (base / value).exists()
            ):
                updated[key] = builtin[str(value)]
        return updated

    result = dict(raw)
    if isinstance(raw.get("model"), dict):
        result["model"] = replaced(raw["model"], MODEL_PATHS)
    if isinstance(raw.get("inits"), dict):
        result["inits"] = replaced(raw["inits"], list(raw["inits"]))
    return result


def check_files_exist(source: str, named_files: list[tuple[str, Path]]) -> None:
    """``ValueError`` naming the first of ``(owner, file)`` that does not exist, prefixed by
    ``source`` (``config 'x.yaml'``)."""
    for owner, file in named_files:
        if not file.exists():
            raise ValueError(f"{source}: {owner} file '{file}' does not exist")


def load_translation_config(path: str | os.PathLike[str], **overrides: Any) -> TranslationConfig:
    """Read, resolve and validate a translation config YAML file.

    ``overrides`` are dotted keys (``seed=3``, ``output=...``, ``**{"training.epochs": 2}``).
    """
    config = read_config(path, TranslationConfig, TRAINING_PATHS, overrides)
    check_files_exist(
        f"config '{path}'",
        [
            (f"sample '{sample.label}'", file)
            for sample in [*config.data.samples, *config.data.validation]
            for file in [*sample.inputs, *sample.targets.values()]
        ],
    )
    return config


def load_segmentation_config(path: str | os.PathLike[str], **overrides: Any) -> SegmentationConfig:
    """Read, resolve and validate a segmentation config YAML file (overrides as
    :func:`load_translation_config`)."""
    config = read_config(path, SegmentationConfig, TRAINING_PATHS, overrides)
    return checked_segmentation_config(config, f"config '{path}'")


def segmentation_config_from_mapping(
    raw: dict[str, Any], source: str, **overrides: Any
) -> SegmentationConfig:
    """Validate a segmentation config given as a mapping (paths absolute or relative to the
    working folder), with dotted ``overrides``, and check it as a YAML file would be."""
    raw = _builtin_models(apply_overrides(raw, overrides), Path.cwd())
    try:
        config = SegmentationConfig.model_validate(raw)
    except ValidationError as error:
        raise ValueError(format_validation_error(error, source)) from None
    return checked_segmentation_config(config, source)


def checked_segmentation_config(config: SegmentationConfig, source: str) -> SegmentationConfig:
    """``config`` after checking that every file it names exists, with a segmentation model in
    ``model.init`` turned into a fine-tuning (:func:`fine_tuning`)."""
    files = [
        (f"sample '{sample.label}'", file)
        for sample in [*config.data.samples, *config.data.validation]
        for file in [*sample.inputs, sample.labels, *([sample.cells] if sample.cells else [])]
    ]
    if config.data.manifest is not None:
        files.append(("data.manifest", config.data.manifest))
    check_files_exist(source, files)
    for key in MODEL_PATHS:
        folder = getattr(config.model, key)
        if folder is not None and not folder.exists():
            from stainless.zoo import list_models

            names = sorted(entry.name for entry in list_models())
            raise ValueError(
                f"{source}: model.{key} '{folder}' is neither a model folder nor a "
                f"built-in model (built-in: {', '.join(names)})"
            )
    return fine_tuning(config, source=source)


FINE_TUNED_KEYS = ("architecture", "width", "depth", "head", "classes")
"""The ``model`` settings a fine-tuned segmentation model takes from the model it starts from."""


def fine_tuning(config: SegmentationConfig, source: str = "config") -> SegmentationConfig:
    """``config`` ready to fine-tune when ``model.init`` names a trained *segmentation* model
    (a built-in such as ``nuclei-fluorescence``, or a folder): the network takes that model's
    architecture (:data:`FINE_TUNED_KEYS`) and all its weights (``model.encoder_weights``), and
    the data its input percentiles, scale, channels, colour convention and training object
    diameter (for a model trained at one) unless the config sets them. A
    translation model in ``model.init`` is left as it is (its U-Net starts the network,
    [Bonte2022]).

    Raises
    ------
    ValueError
        The config sets an architecture key to another value than the init model has, or the
        init model was itself started from a translation model (not supported).
    """
    from stainless.model_folder import model_kind, read_segmentation_config, read_segmentation_info

    folder = config.model.init
    if folder is None or model_kind(folder) != "segmentation":
        return config
    info = read_segmentation_info(folder)
    if info.transfer is not None:
        raise ValueError(
            f"{source}: model.init '{folder}' was itself started from a translation model; "
            "fine-tuning such a model is not supported (start from its translation model)"
        )
    trained = read_segmentation_config(folder).model
    explicit = config.model.model_fields_set
    differing = [
        f"model.{key} {getattr(config.model, key)!r} (the init model has {getattr(trained, key)!r})"
        for key in FINE_TUNED_KEYS
        if key in explicit and getattr(config.model, key) != getattr(trained, key)
    ]
    if differing:
        raise ValueError(
            f"{source}: model.init '{folder}' is a segmentation model to fine-tune, but "
            + "; ".join(differing)
            + "; remove these keys or make them match"
        )
    model = config.model.model_copy(
        update={
            **{key: getattr(trained, key) for key in FINE_TUNED_KEYS},
            "init": None,
            "init_target": None,
            "encoder_weights": folder,
        }
    )
    inherited = {
        "input_percentiles": info.input_percentiles,
        "scale": info.input_scale,
        "channels": info.channels,
        "colour": info.colour,
        "object_diameter": info.object_diameter_px if info.one_diameter else None,
    }
    data = config.data.model_copy(
        update={k: v for k, v in inherited.items() if k not in config.data.model_fields_set}
    )
    return config.model_copy(update={"model": model, "data": data})


def dump_config(config: BaseModel) -> str:
    """The config as YAML text (paths as strings), for saving inside a model folder."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
