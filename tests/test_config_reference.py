"""docs/configuration.md is the generated YAML reference and lists every key."""

from __future__ import annotations

from stainless.config import SegmentationConfig
from stainless.config.reference import markdown_reference
from tests.conftest import REPO_ROOT


def test_the_committed_reference_is_current() -> None:
    committed = (REPO_ROOT / "docs" / "configuration.md").read_text()
    assert committed == markdown_reference(), (
        "regenerate: python -m stainless.config.reference > docs/configuration.md"
    )


def test_every_segmentation_key_is_listed() -> None:
    reference = markdown_reference()
    for section in ("data", "model", "training", "postprocess"):
        section_type = SegmentationConfig.model_fields[section].annotation
        assert section_type is not None and hasattr(section_type, "model_fields")
        for name in section_type.model_fields:
            assert f"`{section}.{name}`" in reference, f"{section}.{name}"
