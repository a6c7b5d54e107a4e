"""The napari plugin of stainless (``pip install 'stainless[napari]'``; npe2 manifest
``napari.yaml``): segment, predict fluorescence, evaluate against a Labels layer, and fine-tune
the current model on corrected labels, each in a background thread; the demo's images as
sample data."""
