"""Microscopy files: images with axes and metadata, label images, and data-set layouts."""

from stainless.io.atomic import OutputBatch, write_atomically, write_text_atomically
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
from stainless.io.header import ImageHeader, read_header
from stainless.io.images import (
    Image,
    check_axes,
    is_image_path,
    project_z,
    read_image,
    write_image,
)
from stainless.io.labels import check_labels, read_labels
from stainless.io.manifest import ManifestTable, read_manifest_table
from stainless.io.metadata import ImageMetadata, modality_from_channel_names
from stainless.io.planes import check_training_size, crop_region, read_input_planes

__all__ = [
    "KNOWN_LABEL_SUFFIXES",
    "Collection",
    "Image",
    "ImageHeader",
    "ImageMetadata",
    "ManifestTable",
    "OutputBatch",
    "Sample",
    "check_axes",
    "check_labels",
    "check_training_size",
    "crop_region",
    "is_image_path",
    "list_dsb_samples",
    "list_images",
    "modality_from_channel_names",
    "pair_by_name",
    "pair_folder",
    "project_z",
    "read_dsb_labels",
    "read_header",
    "read_image",
    "read_input_planes",
    "read_labels",
    "read_manifest",
    "read_manifest_table",
    "write_atomically",
    "write_image",
    "write_text_atomically",
]
