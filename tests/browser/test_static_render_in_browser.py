"""The kernel's static heatmap equals the browser's canvas: the composite that ``png_of`` draws
(attr_widgets/widgets/_render) is, pixel for pixel, what the AttributionWidget's heatmap <canvas> shows in a
real JupyterLab / Notebook 7 (read back with toDataURL, sampled at the centre of each input pixel)."""

import base64
import json

import numpy as np
import pytest
from _jupyter import kernel_exec, save_screenshot

from attr_widgets.widgets._render.png import decode_png

pytestmark = pytest.mark.browser

WAIT_IDLE_JS = """
(selector) => {
  const root = document.querySelector(selector);
  return root !== null && Number(root.dataset.seq) > 0 && root.dataset.busy === "false";
}
"""


@pytest.mark.parametrize("sign_mode", ["signed", "absolute"])
def test_kernel_png_equals_the_heatmap_canvas(nb, sign_mode: str) -> None:
    tag = f"static-{sign_mode}"
    name = f"w_static_{sign_mode}"
    code = f"{name} = AttributionWidget(model, x_test[5], labels=LABELS, sign_mode={sign_mode!r})\n{name}"
    cell = nb.cell(f"# {tag}\n{code}", tag)
    cell.locator(".aw-root").wait_for(timeout=60_000)
    nb.page.wait_for_function(WAIT_IDLE_JS, arg=f'[data-test-cell="{tag}"] .aw-root', timeout=60_000)
    canvas = cell.locator("canvas.aw-canvas")
    url = canvas.evaluate("(c) => c.toDataURL('image/png')")
    shown = decode_png(base64.b64decode(url.split(",", 1)[1]))
    save_screenshot(cell.locator(".aw-root"), f"static_render_{nb.app}_{sign_mode}")

    out = kernel_exec(
        nb.page,
        "import json, base64\n"
        "from attr_widgets.widgets._render import heatmap_rgba, png_of\n"
        f"px = heatmap_rgba({name})\n"
        "print(json.dumps({'shape': px.shape, 'data': base64.b64encode(px.tobytes()).decode(),"
        f" 'png': png_of({name}) is not None}}))",
    )
    kernel = json.loads(out.strip().splitlines()[-1])
    native = np.frombuffer(base64.b64decode(kernel["data"]), np.uint8).reshape(kernel["shape"])
    assert kernel["png"]
    h, w = native.shape[:2]
    rows = ((np.arange(h) + 0.5) * shown.shape[0] / h).astype(int)
    cols = ((np.arange(w) + 0.5) * shown.shape[1] / w).astype(int)
    sampled = shown[rows][:, cols]
    if sampled.shape[2] == 3:
        sampled = np.concatenate([sampled, np.full((h, w, 1), 255, np.uint8)], axis=2)
    # Exact: the canvas draws the same bytes, upscaled with smoothing off (crisp pixels).
    assert np.array_equal(sampled, native), np.abs(sampled.astype(int) - native).max()
