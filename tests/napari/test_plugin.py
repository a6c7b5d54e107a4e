"""The napari plugin in a real viewer: its manifest, the Segment / Evaluate widgets on a real
held-out image (results arrive from a background thread as layers with the image's scale), and
one-line refusals of layers it cannot use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stainless.napari import samples, widgets


def test_the_manifest_declares_the_widgets_and_sample_data() -> None:
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("stainless")
    names = {widget.display_name for widget in manifest.contributions.widgets or []}
    assert names == {"Segment", "Predict fluorescence", "Evaluate", "Fine-tune"}
    assert {s.key for s in manifest.contributions.sample_data or []} == {"nuclei", "neurons"}


def _wait(qtbot: Any, worker: Any, seconds: float = 120) -> None:
    """Until the widget's worker has run to its end, its progress bar full."""
    qtbot.waitUntil(lambda: worker.pbar.n >= worker.pbar.total, timeout=int(seconds * 1000))


def test_segment_and_evaluate_a_real_image_in_the_viewer(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    viewer = make_napari_viewer()
    for data, options, kind in samples.nuclei_sample():
        getattr(viewer, f"add_{kind}")(data, scale=(0.5, 0.5), **options)
    _, segment = viewer.window.add_plugin_dock_widget("stainless", "Segment")
    segment.image.value = viewer.layers["dsb_10328b82"]
    segment.model.value = "nuclei-fluorescence"
    worker = segment()
    assert worker.pbar.total == 3  # load, size or nothing, segment: a bar in the activity panel
    _wait(qtbot, worker)
    qtbot.waitUntil(lambda: len(viewer.layers) == 3, timeout=10_000)
    labels = viewer.layers[-1]
    assert labels.name == "dsb_10328b82 nuclei-fluorescence labels"
    assert tuple(labels.scale) == (0.5, 0.5)
    truth = viewer.layers["dsb_10328b82 truth"].data
    found = len(np.unique(labels.data)) - 1
    assert 0.7 * truth.max() <= found <= 1.3 * truth.max()
    from stainless.model_folder import read_segmentation_info
    from stainless.zoo import get_model

    tuned = read_segmentation_info(get_model("nuclei-fluorescence").folder).thresholds
    assert labels.metadata["thresholds"] == tuned  # -1 in every box: the model's own values
    segment["min_size"].value = 900.0  # px: larger than most nuclei here
    _wait(qtbot, segment())
    qtbot.waitUntil(lambda: len(viewer.layers) == 4, timeout=10_000)
    fewer = viewer.layers.pop(-1)
    assert fewer.metadata["thresholds"]["min_size_px"] == 900.0
    assert len(np.unique(fewer.data)) - 1 < found
    _, evaluate = viewer.window.add_plugin_dock_widget("stainless", "Evaluate")
    evaluate.prediction.value = labels
    evaluate.truth.value = viewer.layers["dsb_10328b82 truth"]
    _wait(qtbot, evaluate())
    qtbot.waitUntil(lambda: len(viewer.layers) == 4, timeout=10_000)
    errors = viewer.layers[-1]
    assert errors.metadata["scores"]["csi@0.50"] > 0.5
    assert 1 in np.unique(errors.data)  # matched predictions drawn
    shot = os.environ.get("STAINLESS_NAPARI_SCREENSHOT", str(tmp_path / "napari.png"))
    viewer.layers["dsb_10328b82 truth"].visible = False
    viewer.window.resize(1500, 800)
    viewer.reset_view()
    viewer.screenshot(shot, canvas_only=False)
    assert Path(shot).stat().st_size > 10_000


def test_layers_it_cannot_use_are_refused_in_one_line(make_napari_viewer: Any) -> None:
    viewer = make_napari_viewer()
    movie = viewer.add_image(np.zeros((2, 3, 32, 32), np.float32), name="movie")
    with pytest.raises(ValueError, match="layer 'movie' has 4 dimensions"):
        widgets.segment(viewer, movie)
    with pytest.raises(ValueError, match=r"--mask-threshold must be in \(0, 1\), got 1.5"):
        widgets.segment(viewer, viewer.add_image(np.zeros((32, 32)), name="f"), mask_threshold=1.5)
    image = viewer.add_image(np.zeros((32, 32), np.float32), name="field")
    empty = viewer.add_labels(np.zeros((32, 32), np.uint16), name="nothing")
    with pytest.raises(ValueError, match="hold no object"):
        widgets.fine_tune(viewer, image, empty, output=Path("never-written"))
    wrong = viewer.add_labels(np.ones((16, 16), np.uint16), name="small")
    with pytest.raises(ValueError, match="correct a Labels layer of this image"):
        widgets.fine_tune(viewer, image, wrong, output=Path("never-written"))
    assert not Path("never-written").exists()


def test_a_fine_tuning_that_cannot_run_says_why_in_the_viewer(tmp_path: Path) -> None:
    import subprocess
    import sys

    # in a process of its own: a training run and a Qt viewer in one test process crash its exit
    script = ("from pathlib import Path\n"
              "from stainless.napari import samples, widgets\n"
              "(image, _, _), (truth, _, _) = samples.nuclei_sample()\n"
              f"folder = Path({str(tmp_path / 'corrections')!r})\n"
              "steps = widgets._fine_tune(image[None], truth, 'dsb 1', 'nuclei-fluorescence', "
              f"0.01, Path({str(tmp_path / 'm')!r}), folder, '')\n"
              "try:\n"
              "    for step in steps:\n"
              "        print('step:', step)\n"
              "except ValueError as error:\n"
              "    print('viewer message:', error)\n"
              "print('kept:', sorted(p.name for p in folder.iterdir()))\n")  # fmt: skip
    said = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "viewer message: fine-tuning 'nuclei-fluorescence' failed:" in said.stdout
    assert "shorter than one epoch" in said.stdout
    assert not (tmp_path / "m").exists()
    assert "step: fine-tuning 'nuclei-fluorescence' on 1 corrected image(s)" in said.stdout
    assert "kept: ['dsb_1_img.tif', 'dsb_1_masks.tif']" in said.stdout  # the correction stays


def test_the_reader_opens_outputs_at_their_pixel_size(
    make_napari_viewer: Any, tmp_path: Path
) -> None:
    from stainless.io import ImageMetadata, write_image

    at = ImageMetadata(pixel_size_um=(0.65, 0.65), channel_names=["dapi", "map2"])
    labels = np.arange(64, dtype=np.uint16).reshape(8, 8)
    sized = ImageMetadata(pixel_size_um=(0.65, 0.65))
    write_image(tmp_path / "a_labels.ome.tif", labels, axes="YX", metadata=sized)
    write_image(tmp_path / "a.ome.tif", np.ones((2, 8, 8), np.float32), axes="CYX", metadata=at)
    viewer = make_napari_viewer()
    viewer.open(str(tmp_path / "a_labels.ome.tif"), plugin="stainless")
    viewer.open(str(tmp_path / "a.ome.tif"), plugin="stainless")
    kinds = [(layer.name, type(layer).__name__, tuple(layer.scale)) for layer in viewer.layers]
    assert kinds == [("a_labels.ome.tif", "Labels", (0.65, 0.65)), ("dapi", "Image", (0.65, 0.65)),
                     ("map2", "Image", (0.65, 0.65))]  # fmt: skip


def test_fine_tune_in_a_viewer_keeps_the_correction_and_reports_in_one_line(
    tmp_path: Path,
) -> None:
    """The Fine-tune widget's whole path in a real viewer (in a process of its own, as above):
    a progress bar sized to the budget's seconds, the corrected pair kept in the corrections
    folder, and the training command's refusal shown as one viewer message."""
    import subprocess
    import sys

    script = f"""
import os, time
from pathlib import Path
import napari
from napari.utils.notifications import notification_manager
from qtpy.QtWidgets import QApplication
from stainless.napari import samples, widgets
viewer = napari.Viewer(show=False)
(image, _, _), (truth, _, _) = samples.nuclei_sample()
layer = viewer.add_image(image, name="dsb 1")
labels = viewer.add_labels(truth, name="dsb 1 corrected")
folder = Path({str(tmp_path / "corrections")!r})
worker = widgets.fine_tune(viewer, layer, labels, init="nuclei-fluorescence", minutes=0.01,
                           output=Path({str(tmp_path / "m")!r}), corrections=folder)
print("total:", worker.pbar.total)
deadline = time.time() + 240
while time.time() < deadline and not any("stainless" in str(n.message)
                                         for n in notification_manager.records):
    QApplication.processEvents(); time.sleep(0.05)
for record in notification_manager.records:
    print("message:", record.message)
print("kept:", sorted(p.name for p in folder.iterdir()))
os._exit(0)
"""
    said = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert "total: 2" in said.stdout, said.stderr[-2000:]  # 0.6 s of budget + the pair
    messages = [line for line in said.stdout.splitlines() if line.startswith("message:")]
    assert any("fine-tuning 'nuclei-fluorescence' failed:" in line
               and "shorter than one epoch" in line for line in messages), said.stdout  # fmt: skip
    assert "kept: ['dsb_1_img.tif', 'dsb_1_masks.tif']" in said.stdout
    assert not (tmp_path / "m").exists()


def test_a_region_drawn_at_another_scale_picks_the_right_pixels(make_napari_viewer: Any) -> None:
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((40, 40), np.float32), name="field", scale=(0.5, 0.5))
    rectangle = np.array([[2.0, 4.0], [2.0, 10.0], [8.0, 10.0], [8.0, 4.0]])  # world units
    shapes = viewer.add_shapes([rectangle], shape_type="rectangle", name="corrected here")
    assert widgets.region_box(shapes, image, (40, 40)) == (slice(4, 16), slice(8, 20))
    empty = viewer.add_shapes(name="nothing drawn")
    with pytest.raises(ValueError, match="holds no shape"):
        widgets.region_box(empty, image, (40, 40))
    far = viewer.add_shapes([rectangle + 100], shape_type="rectangle", name="far")
    with pytest.raises(ValueError, match="lies outside image 'field'"):
        widgets.region_box(far, image, (40, 40))
    labels = viewer.add_labels(np.zeros((40, 40), np.uint16), name="fixes")
    labels.data[30:35, 30:35] = 1  # an object, but outside the region
    with pytest.raises(ValueError, match="hold no object"):
        widgets.fine_tune(viewer, image, labels, output=Path("never-written"), region=shapes)
