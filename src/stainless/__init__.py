"""stainless: label-free microscopy — in silico labelling, segmentation and evaluation."""

import os
from importlib.metadata import PackageNotFoundError, version

# onnxruntime (1.31+ on Linux too) writes a device id under ~/.cache/Microsoft and uploads usage
# events unless this is set before it is first imported; stainless runs offline and writes only
# where the user says (set it to 0 yourself to allow them)
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

try:
    __version__ = version("stainless")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
