"""write_atomically: complete or absent, never half-written, no leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from stainless.io import write_atomically, write_text_atomically


def test_a_file_appears_with_its_content_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    write_text_atomically(target, "a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "scores.json"
    target.write_text("old")

    def half_then_fail(temporary: Path) -> None:
        temporary.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.json"]


def test_the_writer_sees_the_final_suffix(tmp_path: Path) -> None:
    seen: list[str] = []
    write_atomically(tmp_path / "x.ome.tif", lambda t: (seen.append(t.name), t.write_bytes(b"")))
    assert seen[0].endswith("x.ome.tif") and seen[0].startswith(".")


def test_a_folder_replaces_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "store.zarr"
    target.mkdir()
    (target / "old-chunk").write_text("old")

    def write_store(temporary: Path) -> None:
        temporary.mkdir()
        (temporary / "new-chunk").write_text("new")

    write_atomically(target, write_store)
    assert [p.name for p in target.iterdir()] == ["new-chunk"]
    assert [p.name for p in tmp_path.iterdir()] == ["store.zarr"]
