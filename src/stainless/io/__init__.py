"""Microscopy files: images with axes and metadata, label images, and data-set layouts."""

from stainless.io.collections import (
    KNOWN_LABEL_SUFFIXES,
    Collection,
    Sample,
    list_dsb_samples,
    list_images,
    pair_by_name,
    pair_folder,
    read_dsb_labels,
    read_manifest,
)
from stainless.io.images import Image, check_axes, project_z, read_image, write_image
from stainless.io.labels import check_labels, read_labels
from stainless.io.metadata import ImageMetadata

__all__ = [
    "KNOWN_LABEL_SUFFIXES",
    "Collection",
    "Image",
    "ImageMetadata",
    "Sample",
    "check_axes",
    "check_labels",
    "list_dsb_samples",
    "list_images",
    "pair_by_name",
    "pair_folder",
    "project_z",
    "read_dsb_labels",
    "read_image",
    "read_labels",
    "read_manifest",
    "write_image",
]
