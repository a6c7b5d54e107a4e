"""The README's picture of the napari Fine-tune widget at work: a real viewer, the demo's held-out
DSB2018 image with its labels as the corrected layer, a one-minute fine-tune of the built-in
``nuclei`` started from the docked widget, and the screenshot taken 25 s in, with the activity
panel (and its progress bar) open.

    xvfb-run -a python tools/napari_fine_tune_screenshot.py docs/napari_fine_tune.png

Writes the model and the corrections into a temporary folder. The activity panel is opened with
a private napari call (``statusBar()._toggle_activity_dock``): a docs tool, not product code.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    import napari
    from qtpy.QtWidgets import QApplication

    from stainless.napari import samples

    viewer = napari.Viewer()
    (image, _, _), (truth, _, _) = samples.nuclei_sample()
    layer = viewer.add_image(image, name="dsb_10328b82")
    labels = viewer.add_labels(truth, name="dsb_10328b82 corrected")
    _, dock = viewer.window.add_plugin_dock_widget("stainless", "Fine-tune")
    work = Path(tempfile.mkdtemp(prefix="stainless-shot-"))
    values = {"image": layer, "labels": labels, "init": "nuclei", "minutes": 1.0,
              "output": work / "fine-tuned", "corrections": work / "corrections"}  # fmt: skip
    for name, value in values.items():
        dock[name].value = value  # dock.labels is magicgui's own attribute: index by name
    viewer.window.resize(1500, 850)
    dock()
    viewer.window._qt_window.statusBar()._toggle_activity_dock(True)
    end = time.time() + 25
    while time.time() < end:
        QApplication.processEvents()
        time.sleep(0.05)
    viewer.screenshot(sys.argv[1], canvas_only=False)
    print(f"wrote {sys.argv[1]}")
    sys.stdout.flush()
    os._exit(0)  # Qt and a training thread in one process: skip the teardown (see tests/napari)


if __name__ == "__main__":
    raise SystemExit(main())
