"""Reading and writing TIFF / OME-TIFF / PNG: round trips, axes, channels, and bad files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

from stainless.io import ImageMetadata, project_z, read_image, read_labels, write_image
from stainless.io.labels import warn_if_objects_in_pieces


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("name", ["image.tif", "image.ome.tif"])
def test_tiff_round_trip_keeps_values_dtype_and_axes(
    tmp_path: Path, dtype: type, name: str
) -> None:
    rng = np.random.default_rng(0)
    array = (rng.random((3, 2, 20, 24)) * 200).astype(dtype)
    write_image(tmp_path / name, array, axes="ZCYX")
    image = read_image(tmp_path / name)
    assert image.axes == "ZCYX"
    assert image.array.dtype == dtype
    np.testing.assert_array_equal(image.array, array)


def test_tiff_is_compressed(tmp_path: Path) -> None:
    write_image(tmp_path / "zeros.tif", np.zeros((256, 256), np.uint16), axes="YX")
    assert (tmp_path / "zeros.tif").stat().st_size < 256 * 256 * 2 / 10
    with tifffile.TiffFile(tmp_path / "zeros.tif") as tif:
        assert tif.pages[0].compression != 1  # 1 = uncompressed


def test_ome_tiff_keeps_channel_names_and_pixel_size(tmp_path: Path) -> None:
    metadata = ImageMetadata(
        channel_names=("phase", "DAPI"), pixel_size_um=(0.65, 0.65), z_step_um=2.0
    )
    write_image(
        tmp_path / "a.ome.tif", np.zeros((2, 8, 8), np.uint16), axes="CYX", metadata=metadata
    )
    image = read_image(tmp_path / "a.ome.tif")
    assert image.metadata == metadata


def test_channels_are_selected_by_index_or_name(tmp_path: Path) -> None:
    array = np.stack([np.full((4, 5), value, np.uint16) for value in (10, 20, 30)])
    metadata = ImageMetadata(channel_names=("phase", "DAPI", "MAP2"))
    write_image(tmp_path / "a.ome.tiff", array, axes="CYX", metadata=metadata)
    by_name = read_image(tmp_path / "a.ome.tiff", channel="DAPI")
    assert by_name.axes == "YX" and int(by_name.array[0, 0]) == 20
    several = read_image(tmp_path / "a.ome.tiff", channel=[2, "phase"])
    assert several.axes == "CYX" and several.array[:, 0, 0].tolist() == [30, 10]
    assert several.metadata.channel_names == ("MAP2", "phase")
    with pytest.raises(ValueError, match="no channel named 'GFP'"):
        read_image(tmp_path / "a.ome.tiff", channel="GFP")
    with pytest.raises(ValueError, match="has 3 channels; channel 3 does not exist"):
        read_image(tmp_path / "a.ome.tiff", channel=3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip_8_and_16_bit(tmp_path: Path, dtype: type) -> None:
    array = np.arange(12 * 10, dtype=np.uint32).reshape(12, 10).astype(dtype) * 3
    write_image(tmp_path / "a.png", array, axes="YX")
    image = read_image(tmp_path / "a.png")
    assert image.axes == "YX" and image.array.dtype == dtype
    np.testing.assert_array_equal(image.array, array)


def test_rgb_png_reads_as_yxc_and_cyx_input_is_accepted(tmp_path: Path) -> None:
    array = np.random.default_rng(1).integers(0, 255, (3, 6, 7), dtype=np.uint8)
    write_image(tmp_path / "rgb.png", array, axes="CYX")
    image = read_image(tmp_path / "rgb.png")
    assert image.axes == "YXC"
    np.testing.assert_array_equal(image.array, np.moveaxis(array, 0, -1))


def test_labels_keep_integer_values_exactly(tmp_path: Path) -> None:
    labels = np.zeros((10, 10), np.uint16)
    labels[2:5, 2:5] = 65535
    labels[6:9, 6:9] = 4097
    for name in ("l.png", "l.tif"):
        write_image(tmp_path / name, labels, axes="YX")
        read = read_labels(tmp_path / name).array
        assert read.dtype == np.uint16
        np.testing.assert_array_equal(read, labels)


def test_float_and_negative_labels_are_refused(tmp_path: Path) -> None:
    write_image(tmp_path / "f.tif", np.ones((4, 4), np.float32), axes="YX")
    with pytest.raises(
        ValueError, match=r"labels '.*f\.tif' have dtype float32; expected integers"
    ):
        read_labels(tmp_path / "f.tif")
    tifffile.imwrite(tmp_path / "n.tif", -np.ones((4, 4), np.int16))
    with pytest.raises(ValueError, match=r"n\.tif' hold negative values"):
        read_labels(tmp_path / "n.tif")


def test_explicit_axes_override_and_are_checked(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((7, 8, 9), np.uint16))
    assert read_image(tmp_path / "stack.tif", axes="ZYX").axes == "ZYX"
    with pytest.warns(UserWarning, match="does not say what its first axis is; read as 'ZYX'"):
        assert read_image(tmp_path / "stack.tif").axes == "ZYX"  # 7 planes: more than 4 channels
    with pytest.raises(ValueError, match="has 3 dimensions but axes 'YX' names 2"):
        read_image(tmp_path / "stack.tif", axes="YX")
    with pytest.raises(ValueError, match="letters"):
        read_image(tmp_path / "stack.tif", axes="QYX")


def test_project_z_max_and_mean(tmp_path: Path) -> None:
    stack = np.stack([np.full((3, 3), v, np.uint16) for v in (1, 5, 3)])
    write_image(tmp_path / "z.tif", stack, axes="ZYX")
    image = read_image(tmp_path / "z.tif")
    projected = project_z(image, "max")
    assert projected.axes == "YX" and projected.array.dtype == np.uint16
    assert int(projected.array[0, 0]) == 5
    assert float(project_z(image, "mean").array[0, 0]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="has no Z axis"):
        project_z(projected)


def test_bad_files_raise_errors_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(OSError, match=r"missing\.png' does not exist"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"image\.jpg' has an unsupported extension"):
        read_image(tmp_path / "image.jpg")
    write_image(tmp_path / "good.png", np.ones((64, 64), np.uint8), axes="YX")
    truncated = (tmp_path / "good.png").read_bytes()[:40]
    (tmp_path / "truncated.png").write_bytes(truncated)
    with pytest.raises(OSError, match=r"truncated\.png': corrupt or truncated"):
        read_image(tmp_path / "truncated.png")
    (tmp_path / "garbage.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(OSError, match=r"garbage\.tif': corrupt or truncated"):
        read_image(tmp_path / "garbage.tif")


def test_write_refuses_to_overwrite_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out.tif"
    write_image(target, np.zeros((4, 4), np.uint8), axes="YX")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_image(target, np.ones((4, 4), np.uint8), axes="YX")
    assert int(read_image(target).array.max()) == 0
    write_image(target, np.ones((4, 4), np.uint8), axes="YX", overwrite=True)
    assert int(read_image(target).array.max()) == 1
    with pytest.raises(ValueError, match=r"PNG .* can hold uint8 or uint16"):
        write_image(tmp_path / "f.png", np.zeros((4, 4), np.float32), axes="YX")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_zarr_round_trip_keeps_axes_metadata_and_refuses_overwrite(tmp_path: Path) -> None:
    array = np.random.default_rng(2).integers(0, 4000, (2, 3, 40, 30)).astype(np.uint16)
    metadata = ImageMetadata(channel_names=("a", "b", "c"), pixel_size_um=(0.3, 0.3), z_step_um=1.0)
    write_image(tmp_path / "stack.zarr", array, axes="ZCYX", metadata=metadata)
    image = read_image(tmp_path / "stack.zarr", channel="b")
    assert image.axes == "ZYX" and image.metadata.pixel_size_um == (0.3, 0.3)
    np.testing.assert_array_equal(image.array, array[:, 1])
    with pytest.raises(FileExistsError):
        write_image(tmp_path / "stack.zarr", array, axes="ZCYX")
    write_image(tmp_path / "stack.zarr", array[:1], axes="ZCYX", overwrite=True)
    assert read_image(tmp_path / "stack.zarr").array.shape == (1, 3, 40, 30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.zarr"]


def test_ome_zarr_full_resolution_level_is_read(tmp_path: Path) -> None:
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "image.ome.zarr"), mode="w")
    group.attrs["multiscales"] = [
        {
            "axes": [{"name": "c"}, {"name": "y"}, {"name": "x"}],
            "datasets": [
                {
                    "path": "0",
                    "coordinateTransformations": [{"type": "scale", "scale": [1, 0.5, 0.25]}],
                }
            ],
        }
    ]
    level = group.create_array("0", shape=(2, 8, 8), dtype="uint8")
    level[...] = 7
    image = read_image(tmp_path / "image.ome.zarr")
    assert image.axes == "CYX" and image.metadata.pixel_size_um == (0.5, 0.25)
    assert int(image.array.sum()) == 7 * 2 * 8 * 8
    with pytest.raises(OSError, match="does not exist or is not a zarr folder"):
        read_image(tmp_path / "missing.zarr")


def test_labels_with_an_id_in_pieces_warn_saying_what_they_look_like() -> None:
    mask = np.zeros((10, 10), np.uint8)
    mask[1:3, 1:3] = 255
    mask[6:9, 6:9] = 255
    with pytest.warns(UserWarning, match="single value over 2 separate regions"):
        warn_if_objects_in_pieces(mask, "mask.png")
    mask[6:9, 6:9] = 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_objects_in_pieces(mask, "labels.png")  # two values: instance labels, no warning
    mask[1:3, 8:10] = 7  # object 7 now has a second, separate piece
    with pytest.warns(
        UserWarning, match=r"1 of 2 objects are in several separate pieces \(id 7: 2"
    ):
        warn_if_objects_in_pieces(mask, "pred.png")


def test_read_pixel_size_reads_metadata_only(tmp_path: Path) -> None:
    from stainless.io.header import read_pixel_size

    plane = np.zeros((8, 8), np.uint16)
    at = ImageMetadata(None, (0.5, 0.7))
    write_image(tmp_path / "a.ome.tif", plane, axes="YX", metadata=at)
    write_image(tmp_path / "a.zarr", plane, axes="YX", metadata=at)
    write_image(tmp_path / "a.png", plane, axes="YX")
    write_image(tmp_path / "plain.tif", plane, axes="YX")
    assert read_pixel_size(tmp_path / "a.ome.tif") == pytest.approx(0.6)
    assert read_pixel_size(tmp_path / "a.zarr") == pytest.approx(0.6)
    assert read_pixel_size(tmp_path / "a.png") is None
    assert read_pixel_size(tmp_path / "plain.tif") is None
