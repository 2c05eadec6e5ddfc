"""What crosses to the browser: binary buffers (never JSON lists), small updates, the TypeScript interface."""

import json
import re
from pathlib import Path

import pytest
import torch
from ipywidgets.widgets.widget import _remove_buffers
from widget_test_models import SmoothCNN

from attr_widgets import widgets
from attr_widgets.widgets import AttributionWidget
from attr_widgets.widgets._base import ComputeWidget

TS_SRC = Path(__file__).resolve().parents[2] / "js" / "src"
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


def _ts_interface_fields(name):
    """Field names of ``export interface <name>`` under js/src, with those of the interfaces it extends."""
    pattern = rf"export interface {name}(?:<[^>{{]*>)? (?:extends ([^{{]*))?\{{(.*?)\n\}}"
    for path in TS_SRC.rglob("*.ts"):
        match = re.search(pattern, path.read_text(), re.S)
        if match:
            own = set(re.findall(r"^  (\w+)\??\s*:", match.group(2), re.M))
            bases = re.findall(r"(\w+)(?:<[^>]*>)?", re.sub(r"<[^>]*>", "", match.group(1) or ""))
            return own.union(*(_ts_interface_fields(base) for base in bases))
    raise AssertionError(f"no `export interface {name}` under {TS_SRC}")


def _ts_key_table(name):
    """Keys of ``export const <name>: TraitKeys<...> = {...}`` (the list a Store subscribes to)."""
    for path in TS_SRC.rglob("*.ts"):
        match = re.search(rf"export const {name}: TraitKeys<[^=]*= \{{(.*?)\n\}};", path.read_text(), re.S)
        if match:
            return set(re.findall(r"^  (\w+): true,", match.group(1), re.M))
    raise AssertionError(f"no `export const {name}` under {TS_SRC}")


def widget_classes():
    """Every widget class the package exports (each stands on ComputeWidget)."""
    classes = [getattr(widgets, name) for name in widgets.__all__]
    classes = [c for c in classes if isinstance(c, type) and issubclass(c, ComputeWidget)]
    assert classes, "attr_widgets.widgets exports no widget class"
    return classes


def synced_trait_names(cls):
    return {
        name
        for name in cls.class_trait_names(sync=True)
        if not name.startswith("_") and name not in ANYWIDGET_INTERNALS
    }


@pytest.mark.parametrize("cls", widget_classes(), ids=lambda c: c.__name__)
def test_typescript_interface_mirrors_the_synced_traits_of_every_widget(cls):
    assert _ts_interface_fields(f"{cls.__name__}Traits") == synced_trait_names(cls)


def test_the_compute_protocol_traits_are_mirrored_once():
    assert _ts_interface_fields("ComputeTraits") == synced_trait_names(ComputeWidget)
    assert _ts_key_table("COMPUTE_TRAIT_KEYS") == synced_trait_names(ComputeWidget)


def test_each_widget_class_has_its_own_bundle_and_the_shared_stylesheet():
    # anywidget has read the files into FileContents by now; their paths say which bundle a class ships.
    for cls in widget_classes():
        esm = Path(cls._esm._path)
        assert esm.parent.name == "static" and esm.suffix == ".js", esm
        assert (TS_SRC / "entries" / f"{esm.stem}.ts").is_file(), esm
        assert "export" in str(cls._esm) and "require(" not in str(cls._esm)
        assert Path(cls._css._path).name == "widgets.css" and ".aw-root" in str(cls._css)
        assert "<style" not in str(cls._esm)  # the CSS travels as _css, not inside each render


def test_an_instance_syncs_what_its_class_declares(cnn, digit):
    w = AttributionWidget(cnn, digit)
    synced = {n for n in w.keys if not n.startswith("_") and n not in ANYWIDGET_INTERNALS}
    assert synced == synced_trait_names(AttributionWidget)


def test_compute_keys_are_declared_once_and_sent_to_the_view(cnn, digit):
    w = AttributionWidget(cnn, digit)
    tagged = sorted(AttributionWidget.class_trait_names(compute=True))
    assert w.compute_keys == tagged == ["baseline", "inputs_version", "method", "n_steps", "target"]
    assert w.result["controls"] == {name: getattr(w, name) for name in tagged}
    # The view reads the names from the model: no second list in TypeScript.
    for path in TS_SRC.rglob("*.ts"):
        assert "COMPUTE_KEYS" not in path.read_text(), path
