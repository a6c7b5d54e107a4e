"""Normalisation: percentiles per plane, target scaling to [-1, 1] and back."""

from __future__ import annotations

import numpy as np
import pytest

from stainless.data.normalize import normalize_planes, target_scale, to_uint16


def test_each_plane_is_scaled_by_its_own_percentiles() -> None:
    planes = np.stack([np.arange(101, dtype=np.uint16), np.arange(101, dtype=np.uint16) * 10 + 5])
    out = normalize_planes(planes, 0.0, 100.0)
    np.testing.assert_allclose(out[0], np.arange(101) / 100, atol=1e-6)
    np.testing.assert_allclose(out[1], out[0], atol=1e-6)  # gain and offset do not matter


def test_target_scalings_round_trip_and_uint16_map() -> None:
    raw = np.random.default_rng(0).integers(100, 60000, (16, 16)).astype(np.uint16)
    for scaling in ("percentile", "uint16"):
        scale = target_scale(raw, scaling, (2.0, 99.8))
        np.testing.assert_allclose(scale.invert(scale.apply(raw)), raw, rtol=1e-5)
    fixed = target_scale(raw, "uint16", (2.0, 99.8))
    np.testing.assert_allclose(fixed.apply(np.array([0, 65535])), [-1.0, 1.0])
    np.testing.assert_array_equal(to_uint16(np.array([-5.0, 1.4, 70000.0])), [0, 1, 65535])
    with pytest.raises(ValueError, match="unknown target scaling"):
        target_scale(raw, "minmax", (2.0, 99.8))
