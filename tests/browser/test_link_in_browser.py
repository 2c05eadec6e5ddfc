"""``aw.link`` in a real JupyterLab 4 / Notebook 7: two AttributionWidgets on two models, linked on target and
hover. The target follows across widgets through the kernel; the hover is forwarded in the browser alone (the
page's websocket sends nothing while the pointer moves); ``unlink()`` stops both."""


import pytest
from _jupyter import ARTIFACTS, kernel_exec

pytestmark = pytest.mark.browser

CODE = """# {tag}
import copy
import attr_widgets as aw
from IPython.display import display
other = copy.deepcopy(model)
with torch.no_grad():
    other[0].weight.mul_(-1.0)  # a different model: its map differs, the pixel does not
w_la = AttributionWidget(model, x_test[4], labels=LABELS, method="saliency")
w_lb = AttributionWidget(other, x_test[4], labels=LABELS, method="saliency")
lk = aw.link(w_la, w_lb, on=("target", "hover"))
display(w_la, w_lb)
"""

COUNT_SENDS_JS = """() => {
  if (!window.__awSends) {
    window.__awSends = 0;
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) { window.__awSends += 1; return send.call(this, data); };
  }
  return window.__awSends;
}"""


def hover(page, canvas, fx: float, fy: float) -> None:
    """Move the pointer to a fraction of the canvas (scrolled into view first: the cell is the last one)."""
    box = canvas.bounding_box()
    canvas.hover(position={"x": fx * box["width"], "y": fy * box["height"]})


def test_hover_travels_in_the_browser_and_target_through_the_kernel(nb) -> None:
    tag = "linked"
    cell = nb.cell(CODE.format(tag=tag), tag)
    roots = cell.locator(".aw-root")
    roots.nth(1).wait_for(timeout=60_000)
    for i in range(2):
        nb.page.wait_for_function(
            "(el) => Number(el.dataset.seq) > 0 && el.dataset.busy === 'false'",
            arg=roots.nth(i).element_handle(),
            timeout=60_000,
        )
    a, b = roots.nth(0), roots.nth(1)
    canvas_a = a.locator("canvas.aw-canvas")
    mark_b = b.locator(".aw-pixel-mark")

    before = nb.page.evaluate(COUNT_SENDS_JS)
    # input pixel (x, y) = (5, 2) of the 8 x 8 digit, then (1, 6)
    for px, py in [(5, 2), (1, 6)]:
        hover(nb.page, canvas_a, (px + 0.5) / 8, (py + 0.5) / 8)
        nb.page.wait_for_function(
            "([el, x, y]) => !el.hidden && el.dataset.x === String(x) && el.dataset.y === String(y)",
            arg=[mark_b.element_handle(), px, py],
            timeout=5_000,
        )
        assert b.locator(".aw-readout").inner_text().startswith(f"pixel ({px}, {py})")
        assert a.locator(".aw-readout").inner_text().startswith(f"pixel ({px}, {py})")
    # each reads its own model's value at that pixel
    assert a.locator(".aw-readout").inner_text() != b.locator(".aw-readout").inner_text()
    # The picture: both canvases in the viewport (the first at its top), the pointer on the first, a page
    # screenshot of that band (a locator's screenshot scrolls, which moves the pointer off the canvas).
    viewport = nb.page.viewport_size
    nb.page.set_viewport_size({"width": viewport["width"], "height": 1500})  # room for both widgets
    canvas_a.evaluate("(c) => c.scrollIntoView({ block: 'start' })")
    hover(nb.page, canvas_a, 1.5 / 8, 6.5 / 8)
    top, bottom = canvas_a.bounding_box(), b.locator("canvas.aw-canvas").bounding_box()
    height = bottom["y"] + bottom["height"] - top["y"] + 60
    band = {"x": top["x"] - 20, "y": top["y"] - 10, "width": 760, "height": height}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nb.page.screenshot(path=str(ARTIFACTS / f"{nb.app}-linked-hover.png"), clip=band)
    assert not mark_b.evaluate("(el) => el.hidden")
    nb.page.set_viewport_size(viewport)
    nb.page.mouse.move(0, 0)
    nb.page.wait_for_function("(el) => el.hidden", arg=mark_b.element_handle(), timeout=5_000)
    assert nb.page.evaluate(COUNT_SENDS_JS) == before  # no message left the page for the hovers

    # target: chosen in one view, the other widget follows (its own recompute)
    seq_b = int(b.get_attribute("data-seq"))
    a.locator(".aw-target").nth(2).click()
    nb.page.wait_for_function(
        "([el, seq]) => Number(el.dataset.seq) > seq && el.dataset.busy === 'false'",
        arg=[b.element_handle(), seq_b],
        timeout=60_000,
    )
    targets = kernel_exec(nb.page, "print(w_la.target, w_lb.target)").split()
    assert targets[0] == targets[1]
    assert b.locator(".aw-target.aw-on").get_attribute("data-index") == targets[0]

    kernel_exec(nb.page, "lk.unlink()")
    hover(nb.page, canvas_a, 0.5 / 8, 0.5 / 8)
    a.locator(".aw-readout >> text=pixel (0, 0)").wait_for(timeout=5_000)
    nb.page.wait_for_timeout(300)
    assert mark_b.is_hidden()
    assert not b.locator(".aw-readout").inner_text().startswith("pixel")
