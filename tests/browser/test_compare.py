"""CompareWidget in JupyterLab 4 and Notebook 7: the grid, one scale, agreement, linked hover, progress.

The session's kernel is shared with the other browser tests: every name defined here starts with ``cmp_``.
"""

import json

import pytest
from _jupyter import kernel_exec, save_screenshot
from test_widget_in_browser import WAIT_FOR_SEQ_JS, root_selector

pytestmark = pytest.mark.browser

METHODS = ("saliency", "integrated_gradients", "smoothgrad", "grad_cam", "occlusion")

# A wrapper that is slow only without gradients: occlusion's forward passes (no_grad) crawl while the gradient
# methods run at full speed, so the test can watch a slow method next to finished ones.
SETUP = """
import time
import torch
from attr_widgets.widgets import CompareWidget

class CmpSlowWithoutGrad(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.delay = 0.0
    def forward(self, x):
        if not torch.is_grad_enabled():
            time.sleep(self.delay)
        return self.inner(x)

cmp_methods = {methods!r}
"""

GRID_JS = """
(root) => [...root.querySelectorAll('.aw-cmp-grid .aw-cmp-panel')].map((p) => ({
  method: p.dataset.method,
  state: p.dataset.state,
  extent: Number(p.dataset.extent),
  chip: p.querySelector('.aw-cmp-chip').textContent,
  progress: p.querySelector('.aw-progress').hidden
    ? null : parseFloat(p.querySelector('.aw-progress-fill').style.width),
  mark: (() => {
    const m = p.querySelector('.aw-pixel-mark');
    return m.hidden ? null : [Number(m.dataset.x), Number(m.dataset.y)];
  })(),
  lit: (() => {
    const c = p.querySelector('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) coloured++;
    }
    return coloured / (c.width * c.height);
  })(),
}))
"""


def kernel_json(nb, expression):
    return json.loads(kernel_exec(nb.page, f"import json\nprint(json.dumps({expression}))"))


def show(nb, tag, code):
    cell = nb.cell(f"# {tag}\n{code}", tag)
    root = cell.locator(".aw-root")
    root.wait_for(timeout=120_000)
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), 0], timeout=120_000)
    return root


def hover_pixel(nb, root, method, x, y):
    """Move the pointer to the centre of pixel (x, y) of ``method``'s map."""
    box = root.locator(f'.aw-cmp-grid [data-method="{method}"] canvas').bounding_box()
    nb.page.mouse.move(box["x"] + (x + 0.5) * box["width"] / 8, box["y"] + (y + 0.5) * box["height"] / 8)


def test_grid_shares_one_scale_agrees_with_the_kernel_and_links_hover(nb):
    tag = "cmp_grid"
    kernel_exec(nb.page, SETUP.format(methods=METHODS))
    root = show(
        nb, tag, f"w_{tag} = CompareWidget(model, x_test[3], methods=cmp_methods, labels=LABELS)\nw_{tag}"
    )
    panels = root.evaluate(GRID_JS)
    assert [p["method"] for p in panels] == list(METHODS)
    assert all(p["state"] == "done" for p in panels), panels
    # On one unnormalised scale a method with small values is faint (Grad-CAM here); the largest is vivid.
    assert max(p["lit"] for p in panels) > 0.3, panels
    # One scale: every map's extent is the kernel's shared extent, and the legend shows it.
    scale = kernel_json(nb, f"w_{tag}.scale")
    assert scale > 0
    assert all(p["extent"] == pytest.approx(scale, rel=1e-6) for p in panels)
    ticks = root.locator(".aw-legend .aw-tick").all_inner_texts()
    assert len(ticks) == 5 and ticks[2] == "0" and ticks[-1].startswith("+")

    # The matrix is the kernel's agreement, cell by cell.
    agreement = kernel_json(nb, f"w_{tag}.agreement")
    cells = root.locator(".aw-cmp-matrix td")
    assert cells.count() == len(METHODS) ** 2
    shown = cells.evaluate_all(
        "(tds) => tds.map((td) => td.dataset.value === '' ? null : Number(td.dataset.value))"
    )
    expected = [v for row in agreement["spearman"] for v in row]
    assert shown == pytest.approx(expected)
    root.locator('[data-control="agreement_metric"] [data-value="topk"]').click()
    root.locator('[data-control="k"]').fill("10")
    root.locator('[data-control="k"]').press("Enter")
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel + ' .aw-cmp-matrix-caption').textContent.includes('k = 10')",
        arg=root_selector(tag),
        timeout=20_000,
    )
    agreement = kernel_json(nb, f"w_{tag}.agreement")
    assert agreement["k"] == 10
    shown = cells.evaluate_all("(tds) => tds.map((td) => Number(td.dataset.value))")
    assert shown == pytest.approx([v for row in agreement["topk"] for v in row])

    # Linked hover: the pixel under the pointer in one map is marked in all, with each method's value.
    hover_pixel(nb, root, "smoothgrad", 5, 2)
    panels = root.evaluate(GRID_JS)
    assert all(p["mark"] == [5, 2] for p in panels), panels
    values = kernel_json(nb, f"{{m: float(v[2, 5]) for m, v in w_{tag}.maps.items()}}")
    readout = root.locator(".aw-cmp-readout")
    assert readout.get_attribute("data-x") == "5" and readout.get_attribute("data-y") == "2"
    items = readout.locator(".aw-cmp-readout-item")
    assert items.count() == len(METHODS)
    for i, method in enumerate(METHODS):
        text = items.nth(i).locator(".aw-cmp-readout-value").inner_text()
        assert float(text) == pytest.approx(values[method], rel=0.01, abs=1e-4), (method, text)
    save_screenshot(root, f"{nb.app}-compare-grid")

    # A click on a cell: the two maps side by side with their difference.
    root.locator('.aw-cmp-matrix td[data-row="saliency"][data-col="occlusion"]').click()
    pair = root.locator(".aw-cmp-pair")
    pair.wait_for(state="visible")
    assert pair.locator("canvas").count() == 3
    labels = pair.locator(".aw-cmp-label").all_inner_texts()
    assert labels[0].startswith("A: Saliency") and labels[1] == "B: Occlusion" and labels[2] == "A − B"
    difference_extent = float(pair.locator('[data-part="difference"]').get_attribute("data-extent"))
    assert difference_extent == pytest.approx(scale)
    save_screenshot(root, f"{nb.app}-compare-pair")

    # Own scales: each map's extent is its own, as the kernel reports them; the legend says so.
    root.locator('[data-control="shared_scale"]').uncheck()
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel + ' .aw-legend-caption').textContent.includes('own scale')",
        arg=root_selector(tag),
    )
    extents = kernel_json(nb, f"w_{tag}.extents")
    panels = root.evaluate(GRID_JS)
    assert {p["method"]: p["extent"] for p in panels} == pytest.approx(extents)
    assert len({round(v, 9) for v in extents.values()}) == len(METHODS)
    assert all(p["lit"] > 0.05 for p in panels), panels  # on its own scale every map shows colour
    assert root.locator(".aw-legend .aw-tick").all_inner_texts()[-1] == "+100 %"
    save_screenshot(root, f"{nb.app}-compare-own-scales")


def test_a_slow_method_shows_progress_while_the_fast_ones_are_drawn(nb):
    tag = "cmp_slow"
    kernel_exec(nb.page, SETUP.format(methods=METHODS))
    code = (
        "cmp_slow_model = CmpSlowWithoutGrad(model)\ncmp_slow_model.delay = 0.25\n"
        f"w_{tag} = CompareWidget(cmp_slow_model, x_test[3], methods=cmp_methods, labels=LABELS, "
        "internal_batch_size=4)\n"
        f"w_{tag}"
    )
    root = show(nb, tag, code)
    before = int(root.get_attribute("data-seq"))
    root.locator('.aw-target[data-index]:not(.aw-on)').first.click()
    # Occlusion (measured slowest on the first request) computes last: the other maps are drawn meanwhile.
    nb.page.wait_for_function(
        """(sel) => {
          const p = document.querySelector(sel + ' .aw-cmp-grid [data-method="occlusion"]');
          const fill = parseFloat(p.querySelector('.aw-progress-fill').style.width);
          return p.dataset.state === 'computing' && fill > 0;
        }""",
        arg=root_selector(tag),
        timeout=60_000,
    )
    panels = {p["method"]: p for p in root.evaluate(GRID_JS)}
    assert panels["occlusion"]["progress"] > 0 and panels["occlusion"]["chip"].startswith("computing")
    fast = [m for m in METHODS if m != "occlusion"]
    assert all(panels[m]["state"] == "done" for m in fast), panels
    assert int(root.get_attribute("data-seq")) > before  # a partial result for the new target is on screen
    assert root.get_attribute("data-busy") == "true"
    save_screenshot(root, f"{nb.app}-compare-progress")
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), before], timeout=60_000)
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel + ' .aw-cmp-grid [data-method=\"occlusion\"]')"
        ".dataset.state === 'done'",
        arg=root_selector(tag),
    )
    done = kernel_json(nb, f"sorted(w_{tag}.attributions)")
    assert done == sorted(METHODS)


def test_a_row_of_features_compares_as_bars_with_linked_hover(nb):
    tag = "cmp_tabular"
    code = (
        "from tabular_model import train_tabular_mlp\n"
        "from attr_widgets.widgets import CompareWidget\n"
        "cmp_tab_mlp, cmp_tab_names, cmp_tab_train, cmp_tab_test = train_tabular_mlp()\n"
        f"w_{tag} = CompareWidget(cmp_tab_mlp, cmp_tab_test[0], feature_names=cmp_tab_names)\n"
        f"w_{tag}"
    )
    root = show(nb, tag, code)
    methods = kernel_json(nb, f"w_{tag}.method_names")
    panels = root.locator(".aw-cmp-grid .aw-cmp-panel")
    assert panels.count() == len(methods) == 5
    assert root.locator(".aw-cmp-grid canvas").count() == 0
    for i in range(5):
        assert panels.nth(i).locator(".aw-bar-row").count() == 9  # the top 8 and "the other 22 features"
    # Each map's first bar is its largest |attribution|, as the kernel has it.
    top = kernel_json(
        nb, f"{{m: w_{tag}.feature_names[int(abs(v).argmax())] for m, v in w_{tag}.maps.items()}}"
    )
    for i, method in enumerate(methods):
        assert panels.nth(i).locator(".aw-bar-name").first.inner_text() == top[method]
    # Hover the first bar of the first map: the same feature is marked in every map that shows it.
    feature = panels.nth(0).locator(".aw-bar-row").first.get_attribute("data-feature")
    panels.nth(0).locator(".aw-bar-name").first.hover()
    marked = root.locator(".aw-cmp-grid .aw-bar-row.aw-hover")
    assert marked.count() >= 1
    assert set(marked.evaluate_all("(rows) => rows.map((r) => r.dataset.feature)")) == {feature}
    name = kernel_json(nb, f"w_{tag}.feature_names[{feature}]")
    assert root.locator(".aw-cmp-readout-title").inner_text().startswith(f"feature {name} = ")
    extents = [float(panels.nth(i).get_attribute("data-extent")) for i in range(5)]
    assert extents == pytest.approx([kernel_json(nb, f"w_{tag}.scale")] * 5)
    root.scroll_into_view_if_needed()
    panels.nth(0).locator(".aw-bar-name").first.hover()  # again: scrolling may have moved the pointer off
    save_screenshot(root, f"{nb.app}-compare-tabular")


def test_evaluate_every_method_from_the_view(nb):
    """Opening "Evaluate every method" computes each map's deletion / insertion curves on the kernel; the
    table and the charts show the kernel's figures per method; the sanity check adds its column."""
    tag = "cmp_eval"
    kernel_exec(nb.page, SETUP.format(methods=METHODS))
    root = show(
        nb,
        tag,
        f"w_{tag} = CompareWidget(model, x_test[3], methods=('saliency', 'integrated_gradients'), "
        f"labels=LABELS, n_steps=16)\nw_{tag}",
    )
    details = root.locator("details.aw-cmp-eval")
    details.locator("summary").click()
    rows = details.locator(".aw-cmp-eval-table tbody tr")
    rows.nth(1).wait_for(timeout=60_000)
    idle = "(el) => el.dataset.state === 'idle'"
    nb.page.wait_for_function(idle, arg=details.element_handle(), timeout=60_000)
    shown = f"w_{tag}.evaluation_figures['figures'].items()"
    figures = kernel_json(nb, f"{{m: {{k: v['auc'] for k, v in f.items()}} for m, f in {shown}}}")
    assert set(figures) == {"saliency", "integrated_gradients"}
    for i, method in enumerate(("saliency", "integrated_gradients")):
        assert rows.nth(i).get_attribute("data-method") == method
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[:2] == [f"{figures[method]['deletion']:.3f}", f"{figures[method]['insertion']:.3f}"]
    for kind in ("deletion", "insertion"):
        lines = details.locator(f'[data-chart="compare-{kind}"] path.aw-eval-line')
        assert lines.count() == 3  # one per method and the random order

    details.locator('[data-job="sanity"]').click()
    nb.page.wait_for_function(
        "(el) => [...el.querySelectorAll('.aw-cmp-eval-table tbody tr td:last-child')]"
        ".every((td) => td.dataset.survives !== undefined)",
        arg=details.element_handle(),
        timeout=120_000,
    )
    survives = kernel_json(nb, f"{{m: f['sanity']['survives'] for m, f in {shown}}}")
    shown = details.locator(".aw-cmp-eval-table tbody td:last-child")
    assert [shown.nth(i).get_attribute("data-survives") for i in range(2)] == [
        str(survives["saliency"]).lower(),
        str(survives["integrated_gradients"]).lower(),
    ]
    details.scroll_into_view_if_needed()
    save_screenshot(details, f"{nb.app}-compare-evaluation")
