"""What crosses to the browser: binary buffers (never JSON lists), small updates, the TypeScript interface."""

import json
import re
from pathlib import Path

import torch
from ipywidgets.widgets.widget import _remove_buffers
from widget_test_models import SmoothCNN

from attr_widgets.widgets import AttributionWidget

TYPES_TS = Path(__file__).resolve().parents[2] / "js" / "src" / "types.ts"
ANYWIDGET_INTERNALS = {"_esm", "_css", "_anywidget_id", "layout", "tabbable", "tooltip", "_dom_classes"}


def message_size(state):
    """Bytes of an ipywidgets update message's JSON part plus its binary buffers."""
    json_part, _, buffers = _remove_buffers(state)
    return len(json.dumps(json_part).encode()), sum(memoryview(b).nbytes for b in buffers)


def test_arrays_travel_as_buffers(cnn, digit):
    w = AttributionWidget(cnn, digit)
    state, paths, buffers = _remove_buffers(w.get_state())
    assert ["image", "view"] in paths and ["result", "heatmap", "view"] in paths
    assert state["result"]["heatmap"] == {"dtype": "float32", "shape": [8, 8]}
    assert state["image"] == {"dtype": "uint8", "shape": [8, 8, 4]}
    sizes = {tuple(p): memoryview(b).nbytes for p, b in zip(paths, buffers, strict=True)}
    assert sizes[("result", "heatmap", "view")] == 8 * 8 * 4
    assert sizes[("image", "view")] == 8 * 8 * 4


def test_an_update_for_a_224_image_is_under_210_kb():
    torch.manual_seed(0)
    model = SmoothCNN(channels=3, classes=5, size=224).eval()
    w = AttributionWidget(model, torch.rand(3, 224, 224), method="saliency")
    sent = []
    def record(change):
        sent.append(message_size({change["name"]: change["new"]}))

    w.observe(record, names=["result", "request_seq"])
    w.target = (w.target + 1) % 5
    json_bytes = sum(j for j, _ in sent)
    buffer_bytes = sum(b for _, b in sent)
    assert buffer_bytes == 224 * 224 * 4  # one float32 heatmap, no image resend
    assert json_bytes < 2_000
    assert json_bytes + buffer_bytes <= 210 * 1024


def test_typescript_interface_mirrors_the_synced_traits(cnn, digit):
    source = TYPES_TS.read_text()
    block = re.search(r"export interface WidgetTraits \{(.*?)\n\}", source, re.S).group(1)
    ts_keys = set(re.findall(r"^\s+(\w+)\s*:", block, re.M))
    w = AttributionWidget(cnn, digit)
    py_keys = {name for name in w.keys if not name.startswith("_") and name not in ANYWIDGET_INTERNALS}
    assert ts_keys == py_keys


def test_compute_keys_are_declared_once_and_sent_to_the_view(cnn, digit):
    w = AttributionWidget(cnn, digit)
    tagged = sorted(AttributionWidget.class_trait_names(compute=True))
    assert w.compute_keys == tagged == ["baseline", "inputs_version", "method", "n_steps", "target"]
    assert w.result["controls"] == {name: getattr(w, name) for name in tagged}
    # The view reads the names from the model: no second list in TypeScript.
    for path in TYPES_TS.parent.rglob("*.ts"):
        assert "COMPUTE_KEYS" not in path.read_text(), path
