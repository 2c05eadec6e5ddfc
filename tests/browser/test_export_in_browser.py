"""The view's Export menu in a real JupyterLab 4 / Notebook 7: PNG (2×), SVG and JSON arrive as downloads
(Playwright download events), made in the page from the view as laid out. The PNG's heatmap is pixel for
pixel the kernel's ``png_of(w, scale=2)``; the SVG embeds the canvas's exact pixels and draws token text as
text; the JSON is ``w.to_dict()`` and replays through ``aw.attribute(**settings)`` to the same values."""

import base64
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from _jupyter import ARTIFACTS, kernel_exec, save_screenshot
from test_text_widget_in_browser import SHOW as TEXT_SHOW
from test_widget_in_browser import WAIT_FOR_SEQ_JS, root_selector

from attr_widgets.widgets._render.png import decode_png

pytestmark = pytest.mark.browser

SVG = "{http://www.w3.org/2000/svg}"

def rgba(pixels: np.ndarray) -> np.ndarray:
    if pixels.shape[2] == 4:
        return pixels
    return np.concatenate([pixels, np.full((*pixels.shape[:2], 1), 255, np.uint8)], axis=2)


def export(nb, root, fmt: str):
    """Open the menu, pick `fmt`, return (suggested file name, bytes)."""
    root.locator(".aw-export-button").click()
    with nb.page.expect_download(timeout=20_000) as info:
        root.locator(f'.aw-export-item[data-format="{fmt}"]').click()
    download = info.value
    with open(download.path(), "rb") as f:
        data = f.read()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{nb.app}-export-{download.suggested_filename}").write_bytes(data)  # to be looked at
    return download.suggested_filename, data


def kernel_json(nb, code: str):
    return json.loads(kernel_exec(nb.page, code).strip().splitlines()[-1])


def test_image_widget_exports_png_svg_json(nb, tmp_path) -> None:
    tag = "export-image"
    cell = nb.cell(
        f"# {tag}\nw_exp = AttributionWidget(model, x_test[3], labels=LABELS, "
        'method="integrated_gradients", n_steps=16)\nw_exp',
        tag,
    )
    root = cell.locator(".aw-root")
    root.wait_for(timeout=60_000)
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), 0], timeout=60_000)
    root.locator(".aw-export-button").click()
    assert root.locator(".aw-export-menu").is_visible()
    save_screenshot(root, f"{nb.app}-export-menu")
    nb.page.keyboard.press("Escape")
    assert not root.locator(".aw-export-menu").is_visible()

    # PNG: 2x the figure on screen; its heatmap block is the kernel's png_of(w, scale=2), exactly
    name, data = export(nb, root, "png")
    assert name == "attribution-integrated_gradients.png"
    shown = rgba(decode_png(data))
    # the export writes the figure's size and where its canvas went (CSS px) on the menu
    layout = json.loads(root.locator(".aw-export").get_attribute("data-last-export"))
    assert shown.shape[:2] == (2 * layout["height"], 2 * layout["width"])
    (canvas_at,) = layout["canvases"]
    at = dict(zip("xywh", canvas_at, strict=True))
    assert at["w"] == root.locator("canvas.aw-canvas").bounding_box()["width"]
    kernel = kernel_json(
        nb,
        "import json, base64\nfrom attr_widgets.widgets._render import png_of\n"
        "print(json.dumps({'png': base64.b64encode(png_of(w_exp, scale=2)).decode()}))",
    )
    python_png = rgba(decode_png(base64.b64decode(kernel["png"])))
    side = round(2 * at["w"])
    heat = python_png[:side, :side]  # the heatmap above png_of's colour bar
    x, y = round(2 * at["x"]), round(2 * at["y"])
    block = shown[y : y + side, x : x + side]
    assert block.shape == heat.shape
    assert np.array_equal(block, heat), np.abs(block.astype(int) - heat).max()
    (tmp_path / "fig.png").write_bytes(data)

    # SVG: well-formed, title and legend as text, the heatmap as the canvas's own pixels
    name, data = export(nb, root, "svg")
    assert name == "attribution-integrated_gradients.svg"
    svg = ET.fromstring(data)
    texts = [t.text or "" for t in svg.iter(f"{SVG}text")]
    assert any("Integrated" in t or "integrated" in t for t in texts), texts
    assert any(t.startswith("+") for t in texts), texts  # the legend's ticks
    (image,) = list(svg.iter(f"{SVG}image"))
    embedded = rgba(decode_png(base64.b64decode(image.get("href").split(",", 1)[1])))
    canvas_url = root.locator("canvas.aw-canvas").evaluate("(c) => c.toDataURL('image/png')")
    assert np.array_equal(embedded, rgba(decode_png(base64.b64decode(canvas_url.split(",", 1)[1]))))

    # JSON: w.to_dict(), and it replays through aw.attribute to the values on screen
    name, data = export(nb, root, "json")
    assert name == "attribution-integrated_gradients.json"
    settings_path = tmp_path / "view.json"
    settings_path.write_bytes(data)
    assert json.loads(data) == kernel_json(nb, "import json\nprint(json.dumps(w_exp.to_dict()))")
    replay = kernel_json(
        nb,
        "import json, torch, attr_widgets as aw\n"
        f"d = json.load(open({str(settings_path)!r}))\n"
        "again = aw.attribute(model, w_exp.inputs, cache=False, **d['settings'])\n"
        "equal = bool(torch.equal(again.values, w_exp.attribution.values))\n"
        "print(json.dumps({'equal': equal, 'method': d['settings']['method']}))",
    )
    assert replay == {"equal": True, "method": "integrated_gradients"}


def test_text_widget_exports_tokens_as_text(nb) -> None:
    tag = "export_text"  # also a Python name (w_{tag})
    cell = nb.cell(f"# {tag}\n{TEXT_SHOW.format(tag=tag)}", tag)
    root = cell.locator(".aw-root")
    root.wait_for(timeout=120_000)
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), 0], timeout=90_000)

    name, data = export(nb, root, "svg")
    assert name.startswith("text-") and name.endswith(".svg")
    assert b"<img" not in data  # the token "<img ..." is text in the SVG, never an element
    svg = ET.fromstring(data)
    assert not list(svg.iter(f"{SVG}img")) and not list(svg.iter("img"))
    texts = [t.text or "" for t in svg.iter(f"{SVG}text")]
    shown = root.locator(".aw-tok").all_inner_texts()
    assert "<" in shown and "acting" in shown
    missing = [t for t in shown if t.strip() and t.strip() not in texts]
    assert not missing, (missing, texts[:40])  # every token on screen is a text of the SVG
    # the token boxes keep the view's colours: as many coloured boxes as coloured tokens on screen
    fills = {r.get("fill") for r in svg.iter(f"{SVG}rect")}
    assert len(fills) > 5, fills

    name, data = export(nb, root, "png")
    assert name.endswith(".png")
    pixels = rgba(decode_png(data))
    box = root.locator(".aw-tokens").bounding_box()
    assert pixels.shape[1] >= 2 * box["width"] - 2
    colours = {tuple(p) for p in pixels[::4, ::4, :3].reshape(-1, 3)}
    assert len(colours) > 20  # token colours and text, not a blank page
    save_screenshot(root, f"{nb.app}-export-text")


OTHER_KINDS = {
    "tabular": (
        "from tabular_model import LABELS as TAB_LABELS, train_tabular_mlp\n"
        "exp_tab = train_tabular_mlp()\n"
        "w_exp_tab = AttributionWidget(exp_tab[0], exp_tab[3][0], feature_names=exp_tab[1], data=exp_tab[2], "
        "labels=TAB_LABELS)\nw_exp_tab"
    ),
    "directions": (
        "from attr_widgets.widgets import DirectionsWidget\n"
        "w_exp_dir = DirectionsWidget(model, layer='1', data=x_test, k=4, labels=LABELS, example=3)\n"
        "w_exp_dir"
    ),
    "compare": (
        "from attr_widgets.widgets import CompareWidget\n"
        "w_exp_cmp = CompareWidget(model, x_test[3], methods=('saliency', 'integrated_gradients'), "
        "labels=LABELS)\nw_exp_cmp"
    ),
}


@pytest.mark.parametrize("kind", sorted(OTHER_KINDS))
def test_every_widget_kind_exports_its_figure(nb, kind: str) -> None:
    """The same menu on the other widgets (their entries only name their figure's parts): a PNG at 2x with the
    figure's colours, an SVG with the title as text (and the directions' chart as a nested vector SVG)."""
    tag = f"export_{kind}"
    cell = nb.cell(f"# {tag}\n{OTHER_KINDS[kind]}", tag)
    root = cell.locator(".aw-root")
    root.wait_for(timeout=120_000)
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), 0], timeout=90_000)
    idle = "(el) => el.dataset.busy === 'false'"
    nb.page.wait_for_function(idle, arg=root.element_handle(), timeout=90_000)

    name, data = export(nb, root, "png")
    assert name.startswith(f"{kind}") and name.endswith(".png"), name
    layout = json.loads(root.locator(".aw-export").get_attribute("data-last-export"))
    pixels = rgba(decode_png(data))
    assert pixels.shape[:2] == (2 * layout["height"], 2 * layout["width"])
    assert len({tuple(p) for p in pixels[::3, ::3, :3].reshape(-1, 3)}) > 20  # a figure, not a blank page

    name, data = export(nb, root, "svg")
    svg = ET.fromstring(data)
    texts = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    title = root.locator(".aw-title").first.inner_text()
    assert title in texts, (title, texts[:300])
    if kind == "directions":
        assert list(svg.iter(f"{SVG}svg")), "the spectrum chart is embedded as vector SVG"
        assert any(r.get("class") for r in svg.iter(f"{SVG}rect"))
    save_screenshot(root, f"{nb.app}-export-view-{kind}")
