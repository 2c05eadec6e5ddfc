"""Large inputs travel at display size: block means for the view, exact values on the kernel.

An input larger than DISPLAY_SIDE (640) pixels a side is sent averaged over k × k blocks, image and heatmap
alike; ``w.heatmap`` and the hover answers stay at full resolution.
"""

import numpy as np
import pytest
import torch
from ipywidgets.widgets.widget import _remove_buffers
from torch import nn

from attr_widgets.attribution import attribute
from attr_widgets.widgets import AttributionWidget
from attr_widgets.widgets._serialize import DISPLAY_SIDE, block_mean, channel_sum, display_factor, unpack


def pooled_cnn() -> nn.Module:
    """A small fully convolutional classifier: any input size, cheap at 2048 × 2048."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)
    ).eval()


def message_bytes(state: dict) -> int:
    """Bytes of a state update as ipywidgets sends it: the JSON part plus the binary buffers."""
    import json

    stripped, _, buffers = _remove_buffers(state)
    return len(json.dumps(stripped, default=str)) + sum(memoryview(b).nbytes for b in buffers)


@pytest.fixture(scope="module")
def big():
    x = torch.rand(3, 2048, 2048, generator=torch.Generator().manual_seed(1))
    model = pooled_cnn()
    return model, x, AttributionWidget(model, x, method="saliency", target=1)


def test_the_first_view_of_a_2048_input_is_under_2_mb(big):
    _, _, w = big
    assert w.result["display_scale"] == 4 and w.result["full_shape"] == [2048, 2048]
    assert unpack(w.image).shape == (512, 512, 3)  # opaque RGB: no alpha channel to send
    assert unpack(w.result["heatmap"]).shape == (512, 512)
    assert message_bytes({"image": w.image, "result": w.result}) <= 2_000_000


def test_the_view_gets_block_means_and_python_the_full_resolution(big):
    model, x, w = big
    full = channel_sum(attribute(model, x[None], method="saliency", target=1).values)
    np.testing.assert_allclose(w.heatmap, full, rtol=1e-6, atol=1e-9)
    blocks = full.reshape(512, 4, 512, 4).mean(axis=(1, 3))
    np.testing.assert_allclose(unpack(w.result["heatmap"]), blocks, rtol=1e-5, atol=1e-9)


def test_hover_asks_the_kernel_for_the_exact_value(big, monkeypatch):
    _, _, w = big
    sent = []
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append(content))
    w._on_view_message(w, {"type": "hover", "x": 1001, "y": 7}, [])
    assert sent == [
        {"type": "hover_value", "x": 1001, "y": 7, "value": float(w.heatmap[7, 1001]), "seq": w.result["seq"]}
    ]
    w._on_view_message(w, {"type": "hover", "x": 5000, "y": 7}, [])  # outside the image: no answer
    w._on_view_message(w, {"type": "hover", "x": "1", "y": 7}, [])  # not a pixel: no answer
    assert len(sent) == 1


def test_small_inputs_travel_as_they_are(cnn, digit):
    w = AttributionWidget(cnn, digit)
    assert w.result["display_scale"] == 1 and unpack(w.image).shape == (8, 8, 4)
    np.testing.assert_array_equal(unpack(w.result["heatmap"]), w.heatmap)


@pytest.mark.parametrize(("side", "k"), [(640, 1), (641, 2), (1280, 2), (1281, 3), (4096, 7)])
def test_the_block_size_is_the_smallest_that_fits(side, k):
    assert display_factor(side, 10) == k
    assert (side + k - 1) // k <= DISPLAY_SIDE


def test_partial_blocks_at_the_edges_average_what_they_hold():
    a = torch.arange(25, dtype=torch.float32).reshape(5, 5)
    pooled = block_mean(a, 2)
    assert pooled.shape == (3, 3)
    assert float(pooled[2, 2]) == 24.0  # the corner block holds one pixel
    assert float(pooled[0, 2]) == pytest.approx((4 + 9) / 2)
