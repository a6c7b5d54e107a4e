"""The plain-onnxruntime script of ``docs/deployment.md`` runs as printed, in a process without
stainless's own code on its path, and its maps are stainless's (within the export's 1e-4)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stainless.cli.main import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def _script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1, "the page holds one Python script"
    return blocks[0]


def test_the_documented_onnxruntime_script_gives_stainless_maps(tmp_path: Path) -> None:
    import tifffile
    import torch

    from stainless.data.normalize import normalize_planes
    from stainless.export.source import export_source
    from stainless.io import read_input_planes, read_labels
    from stainless.zoo import ZOO_ROOT

    pytest.importorskip("onnxruntime")
    assert main(["export", "--model", "cells", "--format", "onnx",
                 "--output", str(tmp_path / "cells.onnx")]) == 0  # fmt: skip
    demo = ZOO_ROOT.parent / "demo_data"
    image = read_input_planes([demo / "dsb_10328b82.png"])[0][0]  # grey nuclei, 30-ish px
    tifffile.imwrite(tmp_path / "field.tif", image)
    run = _script() + "\nnp.save('maps.npy', maps)\nnp.save('foreground.npy', foreground)\n"
    # -I: isolated, so the script sees site-packages but not this checkout's test folders
    done = subprocess.run([sys.executable, "-I", "-c", run], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    maps = np.load(tmp_path / "maps.npy")
    assert maps.shape == (3, *image.shape)
    source = export_source("cells")
    planes = normalize_planes(np.stack([image, np.zeros_like(image)]), 1.0, 99.8)
    planes[1] = 0.0  # stainless feeds an absent channel as zeros, as the script does
    multiple = source.multiple
    pad = [(0, 0), (0, -image.shape[0] % multiple), (0, -image.shape[1] % multiple)]
    with torch.inference_mode():
        padded = torch.from_numpy(np.pad(planes, pad, mode="reflect"))[None]
        expected = source.network(padded)[0, :, : image.shape[0], : image.shape[1]].numpy()
    assert np.abs(maps - expected).max() < 1e-4
    truth = read_labels(demo / "dsb_10328b82_masks.png").array > 0
    foreground = np.load(tmp_path / "foreground.npy")
    overlap = (foreground & truth).sum() / (foreground | truth).sum()
    assert overlap > 0.6  # a real foreground of the held-out image's nuclei
