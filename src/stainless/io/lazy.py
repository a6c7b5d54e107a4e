"""Large images read region by region: OME-Zarr / zarr stores and (Big)TIFF / OME-TIFF files
through tifffile's zarr interface, so a whole slide is never held in memory.

A :class:`LazyImage` pickles as its path alone (it reopens the file where it is unpickled), which
is what a dask worker receives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import zarr
from numpy.typing import NDArray

from stainless.io._tiff_series import image_series
from stainless.io._zarr import open_zarr_array
from stainless.io.header import ImageHeader, read_header
from stainless.io.images import PNG_SUFFIXES, _suffix, quiet_tifffile, read_image
from stainless.io.metadata import ImageMetadata, ome_metadata_of


def _open_tiff_lazily(path: Path) -> tuple[Any, ImageMetadata]:
    """The image series of a TIFF as a zarr array (level 0) and its OME metadata."""
    with quiet_tifffile(), tifffile.TiffFile(path) as tif:
        image_series(tif, path)  # refuses a file of several images
        xml = tif.ome_metadata if tif.is_ome else None
    store = tifffile.imread(path, aszarr=True, series=0, level=0)
    return zarr.open(store, mode="r"), (ome_metadata_of(xml) if xml else ImageMetadata())


class LazyImage:
    """The planes ``(C, Y, X)`` of one image file, read one region at a time.

    Parameters
    ----------
    path : Path
        An OME-Zarr/zarr store, a TIFF/OME-TIFF/BigTIFF (read lazily) or a PNG (read whole:
        PNGs are small).

    Raises
    ------
    OSError, ValueError
        From :func:`stainless.io.read_header`, naming the file: unreadable, or axes other than
        ``YX``, ``CYX``, ``ZYX`` or ``YXC``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.header: ImageHeader = read_header(self.path)
        self.n_planes = self.header.planes  # refuses axes that are not planes
        self._array: Any = None
        self._metadata: ImageMetadata | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "header": self.header, "n_planes": self.n_planes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._array, self._metadata = None, None

    def _open(self) -> Any:
        if self._array is None:
            if self.path.is_dir():
                self._array, _, self._metadata = open_zarr_array(self.path)
            elif _suffix(self.path) in PNG_SUFFIXES:
                image = read_image(self.path)
                self._array, self._metadata = image.array, image.metadata
            else:
                self._array, self._metadata = _open_tiff_lazily(self.path)
        return self._array

    @property
    def shape_yx(self) -> tuple[int, int]:
        """The plane size (Y, X)."""
        return self.header.yx_shape

    @property
    def metadata(self) -> ImageMetadata:
        """Channel names and pixel size the file records."""
        self._open()
        assert self._metadata is not None  # set by _open
        return self._metadata

    def read(self, y0: int, y1: int, x0: int, x1: int) -> NDArray[Any]:
        """The planes of the region ``[y0, y1) × [x0, x1)``: ``(C, y1 - y0, x1 - x0)`` in the
        file's dtype."""
        array = self._open()
        axes = self.header.axes
        index = tuple(
            slice(y0, y1) if a == "Y" else slice(x0, x1) if a == "X" else slice(None) for a in axes
        )
        region = np.asarray(array[index])
        if axes == "YX":
            return region[np.newaxis]
        if axes == "YXC":
            return np.moveaxis(region, -1, 0)
        return region

    def sample(self, max_pixels: int = 4_000_000) -> NDArray[Any]:
        """Every k-th pixel of every k-th row, ``(C, ≈Y/k, ≈X/k)`` with at most ~``max_pixels``
        per plane: enough for intensity percentiles of the whole image, read in bands of ~512
        rows (one chunk row of a typical store) so that memory stays bounded."""
        height, width = self.shape_yx
        step = max(1, int(np.ceil(np.sqrt(height * width / max_pixels))))
        band = max(step, (512 // step) * step)
        rows = [
            self.read(y, min(y + band, height), 0, width)[:, ::step, ::step]
            for y in range(0, height, band)
        ]
        return np.concatenate(rows, axis=1)
