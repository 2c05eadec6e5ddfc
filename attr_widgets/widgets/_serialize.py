"""Arrays to the browser as binary buffers: ``{view: memoryview, dtype, shape}``, never JSON lists.

ipywidgets lifts every memoryview out of the state into a message buffer; the view gets a DataView on it
(js/src/codecs.ts). Besides the packing, two tiny display reductions live here because only the view
needs them: the heatmap is the attribution summed over channels, and the image is the input rescaled to
8-bit RGBA.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

BinaryArray = dict[str, Any]

# Longest side, in pixels, of an image and heatmap sent to the view: the default 320 px canvas at a device
# pixel ratio of 2. A larger input is sent averaged over k × k blocks (k the smallest integer that fits), so
# a 2048 × 2048 input travels as 512 × 512 (2 MB at 8-bit RGB + float32 instead of 32 MB); hover values are
# read from the full resolution on the kernel (AttributionWidget's "hover" message).
DISPLAY_SIDE = 640


def display_factor(height: int, width: int) -> int:
    """The block size k of the display reduction: 1 up to DISPLAY_SIDE pixels a side."""
    return max(1, math.ceil(max(height, width) / DISPLAY_SIDE))


def block_mean(array: torch.Tensor, k: int) -> torch.Tensor:
    """The mean over k × k blocks of the last two dimensions (partial blocks at the edges: their own mean)."""
    if k == 1:
        return array
    batched = array.reshape(-1, 1, *array.shape[-2:]).to(torch.float32)
    pooled = F.avg_pool2d(batched, k, stride=k, ceil_mode=True)
    return pooled.reshape(*array.shape[:-2], *pooled.shape[-2:])


def binary_array(array: np.ndarray) -> BinaryArray:
    """Pack a float32 or uint8 array (copied to C order if needed) as ``{view, dtype, shape}``."""
    if array.dtype not in (np.float32, np.uint8):
        raise TypeError(f"binary_array packs float32 or uint8 arrays, got {array.dtype}.")
    contiguous = np.ascontiguousarray(array)
    view = contiguous.data.cast("B")
    return {"view": view, "dtype": str(contiguous.dtype), "shape": list(contiguous.shape)}


def unpack(packed: BinaryArray) -> np.ndarray:
    """Inverse of :func:`binary_array` (for tests and for Python-side readers of the state)."""
    return np.frombuffer(packed["view"], dtype=packed["dtype"]).reshape(packed["shape"])


def channel_sum(values: torch.Tensor) -> np.ndarray:
    """The float32 ``[H, W]`` heatmap of a ``[1, C, H, W]`` or ``[C, H, W]`` attribution: the channel sum.

    Summing keeps completeness: the heatmap's total equals the attribution's total.
    """
    if values.dim() == 4:
        if values.shape[0] != 1:
            raise ValueError(f"channel_sum takes one example, got a batch of {values.shape[0]}.")
        values = values[0]
    if values.dim() != 3:
        raise ValueError(
            f"channel_sum takes [1, C, H, W] or [C, H, W] attributions, got {tuple(values.shape)}."
        )
    return values.detach().to("cpu", torch.float64).sum(dim=0).to(torch.float32).numpy()


def display_rgba(image: torch.Tensor, k: int = 1) -> np.ndarray:
    """A ``[1, C, H, W]`` input as ``[H, W, 4]`` uint8 RGBA for display (``[H/k, W/k, 3]`` RGB for k > 1).

    The whole image is min-max rescaled (one range for all channels, so colours keep their balance); one
    channel is grey, three are RGB, four take the first three, any other count shows the channel mean in
    grey. With ``k`` > 1 it is averaged over k × k blocks first and sent without the (opaque) alpha channel.
    """
    x = block_mean(image.detach().to("cpu", torch.float32)[0], k)
    channels = x.shape[0]
    if channels == 3:
        rgb = x
    elif channels == 4:
        rgb = x[:3]
    elif channels == 1:
        rgb = x.expand(3, -1, -1)
    else:
        rgb = x.mean(dim=0, keepdim=True).expand(3, -1, -1)
    low, high = float(rgb.min()), float(rgb.max())
    scaled = (rgb - low) / (high - low) if high > low else torch.zeros_like(rgb)
    rgba = torch.ones(4 if k == 1 else 3, *rgb.shape[1:])
    rgba[:3] = scaled
    return (rgba.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
