"""The YAML reference: every key of every config, with its type, default and the section's own
description, generated from the config classes so that it cannot fall behind them
(``docs/configuration.md``; ``python -m stainless.config.reference > docs/configuration.md``).
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from stainless.config.segmentation import SegmentationConfig
from stainless.config.sweep import SweepConfig
from stainless.config.translation import TranslationConfig

DOCUMENTED: tuple[tuple[str, type[BaseModel]], ...] = (
    ("stainless train segmentation --config", SegmentationConfig),
    ("stainless train translation --config", TranslationConfig),
    ("stainless experiment sweep --config", SweepConfig),
)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The config class inside an annotation (``X``, ``list[X]``, ``X | None``), if any."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _type_name(annotation: Any) -> str:
    """A readable type: ``int``, ``list[Path]``, ``float or None``, ``'unet', 'tiramisu'``."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(arguments[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(argument) for argument in arguments)
    if origin is typing.Literal:
        return ", ".join(repr(argument) for argument in arguments)
    if origin is not None:
        inner = ", ".join(_type_name(argument) for argument in arguments)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        return "required" if field.is_required() else repr(field.default)
    if field.default_factory is not None:
        value = field.default_factory()
        return "(defaults below)" if isinstance(value, BaseModel) else repr(value)
    return "required"


def _description(model: type[BaseModel]) -> str:
    """The class docstring as one Markdown paragraph (double backticks made single)."""
    doc = inspect.getdoc(model) or ""
    return " ".join(doc.split()).replace("``", "`")


def _sections(
    model: type[BaseModel], key: str, level: int, seen: set[type[BaseModel]]
) -> list[str]:
    """A heading for ``key``, the model's description, a table of its keys, then a section
    for each nested config (``[]`` after a list's key)."""
    heading = "#" * level + (f" `{key}`" if key else "")
    lines = [heading, "", _description(model), "", "| key | type | default |", "|---|---|---|"]
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        child = f"{key}.{name}" if key else name
        type_name = _type_name(field.annotation)
        lines.append(f"| `{child}` | {type_name} | {_default(field)} |")
        inner = _model_in(field.annotation)
        if inner is not None and inner not in seen:
            seen.add(inner)
            nested.append((f"{child}[]" if type_name.startswith("list[") else child, inner))
    for child, inner in nested:
        lines += ["", *_sections(inner, child, min(level + 1, 4), seen)]
    return lines


def markdown_reference() -> str:
    """The reference of :data:`DOCUMENTED` as Markdown."""
    lines = [
        "# Configuration reference",
        "",
        "Every key of the YAML configs, generated from the config classes by",
        "`python -m stainless.config.reference > docs/configuration.md` (a test checks it is",
        "current). Paths are relative to the YAML file; `--set key.sub=value` overrides any key.",
        "A `[]` marks the items of a list (e.g. `data.samples[].inputs`); a class met before",
        "(the same sample layout in `data.validation`) is described once.",
    ]
    for command, model in DOCUMENTED:
        lines += ["", f"## `{command}`", ""]
        lines += _sections(model, "", 3, {model})[2:]  # the command heading replaces the first
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_reference())
