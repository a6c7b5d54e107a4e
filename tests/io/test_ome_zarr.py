"""OME-Zarr in and out: NGFF 0.5 / zarr v3 written level by level, NGFF 0.4 / zarr v2 read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from stainless.io import read_image
from stainless.io.lazy import LazyImage
from stainless.io.ome_zarr import (
    OmeZarrLayout,
    add_levels,
    downsample_region,
    finish_store,
    level_shapes,
    partial_path,
    pyramid_regions,
    start_store,
    write_region,
)


def test_levels_halve_until_512() -> None:
    assert level_shapes((1500, 700)) == [(1500, 700), (750, 350), (375, 175)]
    assert level_shapes((300, 200)) == [(300, 200)]


@pytest.mark.parametrize("labels", [True, False])
def test_a_store_written_by_regions_has_a_pyramid_and_ngff_05(tmp_path: Path, labels: bool) -> None:
    rng = np.random.default_rng(0)
    shape = (1100, 900)
    pixels = rng.integers(0, 60000, size=shape if labels else (2, *shape)).astype(np.uint32)
    layout = OmeZarrLayout(tmp_path / "x.ome.zarr", shape, "uint32", 256,
                           None if labels else ("dapi", "map2"), (0.5, 0.5))  # fmt: skip
    start_store(layout.path)
    add_levels(layout)
    for y in range(0, shape[0], 256):
        for x in range(0, shape[1], 256):
            write_region(layout, 0, y, x, pixels[..., y : y + 256, x : x + 256])
    for level in range(1, layout.n_levels):
        for y, x, side in pyramid_regions(layout, level, 512):
            downsample_region(layout, level, y, x, side)
    assert not layout.path.exists()  # nothing looks finished before it is
    finish_store(layout, "x", attributes={"summary": {"n": 1}})
    assert not partial_path(layout.path).exists()
    group = zarr.open_group(str(layout.path), mode="r")
    assert group.metadata.zarr_format == 3 and group.attrs["ome"]["version"] == "0.5"
    level1 = np.asarray(group["1"][...])
    if labels:
        np.testing.assert_array_equal(level1, pixels[::2, ::2])  # ids stay ids
    else:
        expected = pixels[:, :1100, :900].reshape(2, 550, 2, 450, 2).mean(axis=(2, 4))
        np.testing.assert_array_equal(level1, np.rint(expected))
    image = read_image(layout.path)
    assert image.metadata.pixel_size_um == (0.5, 0.5)
    assert image.metadata.channel_names == (None if labels else ("dapi", "map2"))
    np.testing.assert_array_equal(image.array, pixels)


def test_an_existing_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.zarr").mkdir()
    with pytest.raises(FileExistsError, match=r"x\.zarr' exists; pass --overwrite"):
        start_store(tmp_path / "x.zarr")


def test_ngff_04_zarr_v2_is_read_lazily(tmp_path: Path) -> None:
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_image

    pixels = np.arange(3 * 300 * 400, dtype=np.uint16).reshape(3, 300, 400)
    group = zarr.open_group(str(tmp_path / "v2.ome.zarr"), mode="w", zarr_format=2)
    write_image(pixels, group, axes="cyx", fmt=FormatV04(), scale_factors=())
    image = LazyImage(tmp_path / "v2.ome.zarr")
    assert image.shape_yx == (300, 400) and image.n_planes == 3
    np.testing.assert_array_equal(image.read(100, 150, 30, 90), pixels[:, 100:150, 30:90])
    np.testing.assert_array_equal(image.sample(max_pixels=30_000), pixels[:, ::2, ::2])
