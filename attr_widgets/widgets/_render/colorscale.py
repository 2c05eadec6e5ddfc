"""The view's colour scales in numpy: a port of js/src/core/colorscale.ts over the same colour table.

The stops are read from ``attr_widgets/static/colormaps.json``, a copy (made by ``npm run build``) of
js/src/core/colormaps.json, which the view bundles: one table for both languages. Arithmetic is float64 in the
same order as the TypeScript, and bytes are written the way a ``Uint8ClampedArray`` stores a
number (clamped to [0, 255], rounded half to even, NaN as 0), so the kernel's composite equals the canvas's
byte for byte (tests/render/test_colorscale_crosslang.py).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

SignMode = Literal["positive", "negative", "absolute", "signed"]
SIGN_MODES: tuple[str, ...] = ("positive", "negative", "absolute", "signed")

COLORMAPS_PATH = Path(__file__).resolve().parents[2] / "static" / "colormaps.json"


@lru_cache(maxsize=1)
def colormaps() -> dict[str, object]:
    """The shared colour table (stops of REDS, BLUES, VIRIDIS and the ghost contrast)."""
    if not COLORMAPS_PATH.exists():
        raise FileNotFoundError(
            f"{COLORMAPS_PATH} is missing: run `npm run build` in js/ (it copies js/src/core/colormaps.json)."
        )
    return json.loads(COLORMAPS_PATH.read_text())


def _stops(name: str) -> np.ndarray:
    return np.asarray(colormaps()[name], dtype=np.float64)


def ghost_contrast() -> float:
    return float(colormaps()["GHOST_CONTRAST"])  # type: ignore[arg-type]


def _check_mode(mode: str) -> None:
    if mode not in SIGN_MODES:
        raise ValueError(f"mode must be one of {SIGN_MODES}, got {mode!r}.")


def interpolate(stops: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``stops`` at ``t`` (clipped to [0, 1]): ``[..., 3]`` float64."""
    x = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0) * (len(stops) - 1)
    i = np.minimum(len(stops) - 2, np.floor(x)).astype(np.int64)
    f = (x - i)[..., None]
    a = stops[i]
    b = stops[i + 1]
    return a + (b - a) * f


def color_of(mode: str, t: np.ndarray) -> np.ndarray:
    """colorOf: the RGB (float64, ``[..., 3]``) of normalised values ``t``."""
    _check_mode(mode)
    t = np.asarray(t, dtype=np.float64)
    if mode == "positive":
        return interpolate(_stops("REDS"), t)
    if mode == "negative":
        return interpolate(_stops("BLUES"), t)
    if mode == "absolute":
        return interpolate(_stops("VIRIDIS"), t)
    return np.where((t >= 0)[..., None], interpolate(_stops("REDS"), t), interpolate(_stops("BLUES"), -t))


def magnitude_of(mode: str, v: np.ndarray) -> np.ndarray:
    """magnitudeOf: the magnitude the mode shows (0 where it hides the value)."""
    _check_mode(mode)
    v = np.asarray(v, dtype=np.float64)
    if mode == "positive":
        return np.where(v > 0, v, 0.0)
    if mode == "negative":
        return np.where(v < 0, -v, 0.0)
    return np.abs(v)


def scale_extent(values: np.ndarray, mode: str, outlier_percent: float) -> float:
    """scaleExtent: the (100 − outlier_percent)th percentile (nearest rank) of the non-zero magnitudes."""
    mags = magnitude_of(mode, np.asarray(values, dtype=np.float32).ravel())
    mags = mags[(mags > 0) & np.isfinite(mags)]
    if mags.size == 0:
        return 0.0
    mags.sort()
    q = min(100.0, max(0.0, 100.0 - outlier_percent)) / 100.0
    idx = min(mags.size - 1, max(0, int(np.ceil(q * mags.size)) - 1))
    return float(mags[idx])


def shared_extent(arrays: list[np.ndarray], mode: str, outlier_percent: float) -> float:
    """sharedExtent: one extent over the pooled magnitudes of several heatmaps."""
    pooled = np.concatenate([np.asarray(a, dtype=np.float32).ravel() for a in arrays])
    return scale_extent(pooled, mode, outlier_percent)


def normalise(mode: str, v: np.ndarray, extent: float) -> np.ndarray:
    """normalise: values to [-1, 1] (signed) or [0, 1], clipped at the extent."""
    v = np.asarray(v, dtype=np.float64)
    if not extent > 0:
        return np.zeros_like(v)
    if mode == "signed":
        return np.maximum(-1.0, np.minimum(1.0, v / extent))
    return np.minimum(1.0, magnitude_of(mode, v) / extent)


def overlay_alpha(t: np.ndarray, opacity: float) -> np.ndarray:
    """overlayAlpha: zero attribution leaves the image untouched, the extent covers it."""
    return opacity * np.sqrt(np.minimum(1.0, np.abs(t)))


def clamped_bytes(x: np.ndarray) -> np.ndarray:
    """What a Uint8ClampedArray stores for float64 ``x``: NaN → 0, clamp to [0, 255], round half to even."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    return np.rint(np.clip(x, 0.0, 255.0)).astype(np.uint8)


def composite(
    image: np.ndarray, heatmap: np.ndarray | None, mode: str, extent: float, opacity: float
) -> np.ndarray:
    """composite: the heatmap over the ``[H, W, 3|4]`` uint8 image, as ``[H, W, 4]`` uint8 RGBA."""
    _check_mode(mode)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"image must be [H, W, 3|4] uint8, got {image.shape} {image.dtype}.")
    if heatmap is not None and np.shape(heatmap) != image.shape[:2]:
        raise ValueError(f"heatmap shape {np.shape(heatmap)} does not match the image's {image.shape[:2]}.")
    rgb = image[..., :3].astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    fade = 0.0 if heatmap is None else min(1.0, 2 * opacity)
    if fade > 0:
        gc = ghost_contrast()
        ghost = 255 * (1 - gc) + (0.299 * r + 0.587 * g + 0.114 * b) * gc
        r = r + (ghost - r) * fade
        g = g + (ghost - g) * fade
        b = b + (ghost - b) * fade
    if heatmap is not None:
        t = normalise(mode, np.asarray(heatmap, dtype=np.float32), extent)
        a = overlay_alpha(t, opacity)
        c = color_of(mode, t)
        shown = a > 0
        r = np.where(shown, r * (1 - a) + c[..., 0] * a, r)
        g = np.where(shown, g * (1 - a) + c[..., 1] * a, g)
        b = np.where(shown, b * (1 - a) + c[..., 2] * a, b)
    out = np.empty((*image.shape[:2], 4), dtype=np.uint8)
    out[..., 0] = clamped_bytes(r)
    out[..., 1] = clamped_bytes(g)
    out[..., 2] = clamped_bytes(b)
    out[..., 3] = 255
    return out
