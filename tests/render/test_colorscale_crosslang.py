"""The kernel's colour scale equals the view's: colorscale.ts (bundled by esbuild, run by node) and its numpy
port give the same extent and the same RGBA bytes on random inputs in every sign mode."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from attr_widgets.widgets._render.colorscale import SIGN_MODES, composite, scale_extent

ROOT = Path(__file__).resolve().parents[2]
ESBUILD = ROOT / "js" / "node_modules" / ".bin" / "esbuild"

pytestmark = pytest.mark.skipif(
    not ESBUILD.exists() or shutil.which("node") is None, reason="needs node and js/node_modules (esbuild)"
)


def run_ts(cases: list[dict], tmp_path: Path) -> list[dict]:
    bundle = tmp_path / "probe.mjs"
    subprocess.run(
        [
            str(ESBUILD),
            str(Path(__file__).with_name("colorscale_probe.ts")),
            "--bundle",
            "--platform=node",
            "--format=esm",
            f"--outfile={bundle}",
        ],
        check=True,
        capture_output=True,
    )
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases))
    done = subprocess.run(["node", str(bundle), str(data)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def test_composite_and_extent_equal_the_views_byte_for_byte(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    cases, expected = [], []
    for i in range(24):
        mode = SIGN_MODES[i % 4]
        h, w = int(rng.integers(1, 12)), int(rng.integers(1, 12))
        image = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        heat = (rng.standard_normal((h, w)) * 10.0 ** rng.integers(-4, 3)).astype(np.float32)
        heat[rng.random((h, w)) < 0.2] = 0.0
        opacity = float([0.0, 0.3, 0.5, 0.85, 1.0][i % 5])
        outlier = float([0.0, 2.0, 10.0][i % 3])
        cases.append(
            {
                "h": h,
                "w": w,
                "image": image.ravel().tolist(),
                "heat": heat.ravel().tolist(),
                "mode": mode,
                "opacity": opacity,
                "outlier": outlier,
            }
        )
        extent = scale_extent(heat, mode, outlier)
        expected.append((extent, composite(image, heat, mode, extent, opacity)))
    got = run_ts(cases, tmp_path)
    for case, (extent, rgba), ts in zip(cases, expected, got, strict=True):
        assert ts["extent"] == extent, case["mode"]
        assert np.array_equal(np.asarray(ts["rgba"], np.uint8).reshape(rgba.shape), rgba), case["mode"]
