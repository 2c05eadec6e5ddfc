"""AttributionWidget in a real JupyterLab 4 and a real Notebook 7, driven through Chromium.

Each test displays its own widget in a new cell of the session's notebook, works its controls, and checks both
the view (DOM, canvas pixels) and the kernel (the traits, read back by executing code on the kernel).
"""

import pytest
from _jupyter import DRAG_AT_60HZ_JS, kernel_exec, save_screenshot

pytestmark = pytest.mark.browser

# JS: statistics of the heatmap canvas: share of coloured (non-grey) pixels and a hash of all pixels.
CANVAS_STATS_JS = """
(canvas) => {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  const data = ctx.getImageData(0, 0, width, height).data;
  let coloured = 0, hash = 0, lit = 0;
  for (let i = 0; i < data.length; i += 4) {
    const r = data[i], g = data[i + 1], b = data[i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured++;
    if (r + g + b > 30) lit++;
    hash = (Math.imul(hash, 31) + r + 7 * g + 13 * b) | 0;
  }
  return { coloured: coloured / (width * height), lit: lit / (width * height), hash, width, height };
}
"""

WAIT_FOR_SEQ_JS = """
([selector, after]) => {
  const root = document.querySelector(selector);
  return root !== null && Number(root.dataset.seq) > after && root.dataset.busy === "false";
}
"""


def root_selector(tag):
    return f'[data-test-cell="{tag}"] .aw-root'


def show_widget(nb, tag, code):
    """Run ``code`` (which displays a widget named ``w_<tag>``) in a new cell; wait for its first heatmap."""
    cell = nb.cell(f"# {tag}\n{code}", tag)
    root = cell.locator(".aw-root")
    root.wait_for(timeout=60_000)
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), 0], timeout=60_000)
    return root


def seq(root):
    return int(root.get_attribute("data-seq"))


def after_update(nb, root, tag, action):
    """Do ``action`` and wait until the view shows the result of a newer request."""
    before = seq(root)
    action()
    try:
        nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), before], timeout=60_000)
    except Exception:
        w = f"w_{tag}"
        kernel = kernel_exec(nb.page, f"print({w}.request_seq, {w}.result['seq'], repr({w}.notice))")
        view = root.get_attribute("data-seq"), root.get_attribute("data-busy")
        print(f"no update after {before}: view (seq, busy) {view}; kernel (request, result, notice) {kernel}")
        raise


def canvas_stats(root):
    return root.locator("canvas.aw-canvas").evaluate(CANVAS_STATS_JS)


def select_method(root, method):
    return lambda: root.locator('[data-control="method"]').select_option(method)


def kernel_value(nb, expression):
    return kernel_exec(nb.page, f"print({expression})").strip()


def test_renders_a_heatmap_over_the_digit(nb):
    tag = "render"
    root = show_widget(nb, tag, "w_render = AttributionWidget(model, x_test[3], labels=LABELS)\nw_render")
    stats = canvas_stats(root)
    assert stats["width"] >= 320 and stats["height"] >= 320
    assert stats["coloured"] > 0.05, stats  # heat over the digit strokes, not a blank or grey canvas
    assert stats["lit"] > 0.2, stats
    rows = root.locator(".aw-target")
    assert rows.count() == 5
    top = kernel_value(nb, "LABELS[w_render.target]")
    assert root.locator(".aw-target.aw-on .aw-target-label").inner_text() == top
    assert root.locator(".aw-title").inner_text() == "Integrated Gradients"
    assert root.locator(".aw-tick").count() == 5 and "+" in root.locator(".aw-tick").last.inner_text()
    badge = root.locator(".aw-badge")
    assert badge.is_visible() and badge.get_attribute("data-level") in ("good", "fair")
    assert not root.locator(".aw-error").is_visible()
    root.locator("canvas.aw-canvas").hover(position={"x": 170, "y": 170})
    assert "attribution" in root.locator(".aw-readout").inner_text()
    save_screenshot(root, f"{nb.app}-widget")
    save_screenshot(nb.page, f"{nb.app}-page")


def test_browser_controls_recompute_and_update_the_kernel(nb):
    tag = "controls"
    root = show_widget(nb, tag, "w_controls = AttributionWidget(model, x_test[5], labels=LABELS)\nw_controls")
    page = nb.page
    hashes = [canvas_stats(root)["hash"]]

    after_update(nb, root, tag, select_method(root, "saliency"))
    assert kernel_value(nb, "w_controls.method") == "saliency"
    assert root.locator(".aw-title").inner_text().startswith("Saliency")
    assert root.locator('[data-control="baseline"] button').first.is_disabled()
    hashes.append(canvas_stats(root)["hash"])

    after_update(nb, root, tag, select_method(root, "integrated_gradients"))
    after_update(nb, root, tag, lambda: root.locator('[data-control="baseline"] [data-value="blur"]').click())
    assert kernel_value(nb, "w_controls.baseline") == "blur"
    assert kernel_value(nb, "w_controls.result['baseline']") == "blur"
    hashes.append(canvas_stats(root)["hash"])

    second = root.locator(".aw-target").nth(1)
    index = second.get_attribute("data-index")
    after_update(nb, root, tag, lambda: second.click())
    assert kernel_value(nb, "w_controls.target") == index
    assert root.locator(".aw-target.aw-on").get_attribute("data-index") == index
    hashes.append(canvas_stats(root)["hash"])

    after_update(nb, root, tag, lambda: root.locator('[data-control="n_steps"]').fill("20"))
    assert kernel_value(nb, "w_controls.n_steps, w_controls.result['n_steps']") == "20 20"

    # View-only controls redraw without the kernel, but still set the traits.
    before = seq(root)
    root.locator('[data-control="sign_mode"] [data-value="absolute"]').click()
    root.locator('[data-control="opacity"]').fill("0.4")
    page.wait_for_timeout(300)
    assert seq(root) == before
    assert kernel_value(nb, "w_controls.sign_mode, w_controls.opacity") == "absolute 0.4"
    assert root.locator(".aw-legend-caption").inner_text().startswith("|attribution|")
    hashes.append(canvas_stats(root)["hash"])
    assert len(set(hashes)) == len(hashes), "every change redrew the canvas"
    assert kernel_value(nb, "w_controls.result['seq'] == w_controls.request_seq") == "True"
    save_screenshot(root, f"{nb.app}-controls")


def test_python_assignments_rerender_the_view(nb):
    tag = "python"
    root = show_widget(nb, tag, "w_python = AttributionWidget(model, x_test[7], labels=LABELS)\nw_python")
    before = canvas_stats(root)["hash"]
    after_update(nb, root, tag, lambda: kernel_exec(nb.page, "w_python.method = 'input_x_gradient'"))
    assert root.locator('[data-control="method"]').input_value() == "input_x_gradient"
    assert canvas_stats(root)["hash"] != before
    third = "w_python.target = int(w_python.top_k[2]['index'])"
    after_update(nb, root, tag, lambda: kernel_exec(nb.page, third))
    assert root.locator(".aw-target.aw-on").get_attribute("data-index") == kernel_value(nb, "w_python.target")
    kernel_exec(nb.page, "w_python.sign_mode = 'positive'; w_python.opacity = 1.0")
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel + ' .aw-legend-caption').textContent.startsWith('positive')",
        arg=root_selector(tag),
    )
    assert root.locator('[data-control="sign_mode"] .aw-on').inner_text() == "Positive"
    after_update(nb, root, tag, lambda: kernel_exec(nb.page, "w_python.inputs = x_test[8]"))
    label = kernel_value(nb, "LABELS[w_python.target]")
    assert root.locator(".aw-target.aw-on .aw-target-label").inner_text() == label


def test_a_dragged_slider_ends_on_its_last_value(nb):
    """Fifteen slider steps without waiting: the view settles on the newest request, never an older one."""
    tag = "drag"
    root = show_widget(nb, tag, "w_drag = AttributionWidget(model, x_test[9], labels=LABELS)\nw_drag")
    nb.page.evaluate(
        """(sel) => {
            const slider = document.querySelector(sel + ' [data-control="n_steps"]');
            for (let steps = 10; steps <= 24; steps++) {
                slider.value = String(steps);
                slider.dispatchEvent(new Event("input", { bubbles: true }));
            }
        }""",
        root_selector(tag),
    )
    idle = "(sel) => document.querySelector(sel).dataset.busy === 'false'"
    nb.page.wait_for_function(idle, arg=root_selector(tag), timeout=60_000)
    fields = "w_drag.n_steps, w_drag.result['n_steps'], w_drag.request_seq, w_drag.result['seq']"
    kernel = kernel_value(nb, fields)
    steps, result_steps, request_seq, result_seq = kernel.split()
    assert steps == result_steps == "24"
    assert request_seq == result_seq == root.get_attribute("data-seq")
    assert root.locator('[data-control="n_steps"]').input_value() == "24"


def test_the_heatmap_follows_a_slider_while_it_is_dragged(nb):
    """24 steps at 60 Hz: answers to earlier steps are drawn as previews while it moves, then the last one."""
    tag = "drag-live"
    root = show_widget(nb, tag, "w_live = AttributionWidget(model, x_test[4], labels=LABELS)\nw_live")
    got = nb.page.evaluate(DRAG_AT_60HZ_JS, [root_selector(tag), "n_steps", list(range(8, 32))])
    assert got["during"] >= 2 and got["previews"] >= 1, got  # without previews nothing is drawn mid-drag
    assert root.get_attribute("data-preview") == "false"
    steps, result_steps, request_seq, result_seq = kernel_value(
        nb, "w_live.n_steps, w_live.result['n_steps'], w_live.request_seq, w_live.result['seq']"
    ).split()
    assert steps == result_steps == "31" and request_seq == result_seq == root.get_attribute("data-seq")
    save_screenshot(root, f"{nb.app}-drag-live-final")


def test_invalid_input_shows_the_error_in_the_view(nb):
    tag = "invalid"
    root = show_widget(nb, tag, "w_invalid = AttributionWidget(model, x_test[1], labels=LABELS)\nw_invalid")
    code = "try:\n    w_invalid.inputs = torch.rand(3, 8, 8)\nexcept ValueError as e:\n    print('raised', e)"
    out = kernel_exec(nb.page, code)
    assert out.startswith("raised inputs: the model raised")
    box = root.locator(".aw-error")
    box.wait_for(state="visible", timeout=10_000)
    assert box.get_attribute("data-kind") == "rejected"
    assert "expects 1 channel(s) but inputs has 3" in box.inner_text()
    assert canvas_stats(root)["coloured"] > 0.05  # the previous, still valid heatmap stays on screen

    # A number typed in the view that the kernel rejects: shown, reverted, and the kernel keeps its target.
    target = kernel_value(nb, "w_invalid.target")
    number = root.locator('[data-control="target-number"]')
    after_update(nb, root, tag, lambda: (number.fill("42"), number.press("Enter")))
    box.wait_for(state="visible")
    assert "target 42 is out of range: the model has 10 classes" in box.inner_text()
    assert kernel_value(nb, "w_invalid.target") == target
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel + ' [data-control=target-number]').value !== '42'",
        arg=root_selector(tag),
    )
    save_screenshot(root, f"{nb.app}-rejected")


def test_a_failing_computation_shows_the_error_never_a_blank_view(nb):
    tag = "failing"
    code = "fragile = Fragile(model)\nw_failing = AttributionWidget(fragile, x_test[2])\nw_failing"
    root = show_widget(nb, tag, code)
    kernel_exec(nb.page, "fragile.fail = True")
    after_update(nb, root, tag, select_method(root, "saliency"))
    box = root.locator(".aw-error")
    assert box.is_visible() and box.get_attribute("data-kind") == "failure"
    assert "RuntimeError: the fragile model failed on purpose" in box.inner_text()
    assert root.get_attribute("data-error") == "true"
    assert canvas_stats(root)["lit"] > 0.2  # the input image is still drawn
    code = "try:\n    w_failing.wait()\nexcept RuntimeError as error:\n    print('raised', error)"
    out = kernel_exec(nb.page, code)
    assert out.strip() == "raised the fragile model failed on purpose"
    save_screenshot(root, f"{nb.app}-failure")
    kernel_exec(nb.page, "fragile.fail = False")
    after_update(nb, root, tag, select_method(root, "input_x_gradient"))
    assert not box.is_visible()


def test_dark_theme(nb):
    tag = "dark"
    root = show_widget(nb, tag, "w_dark = AttributionWidget(model, x_test[0], labels=LABELS)\nw_dark")
    luminance_js = """(el) => {
        const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\\d+/g).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    }"""
    theme_js = "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})"
    element = root.element_handle()
    assert root.evaluate(luminance_js) > 0.8
    nb.page.evaluate(theme_js, "JupyterLab Dark")
    try:
        nb.page.wait_for_function(f"(el) => ({luminance_js})(el) < 0.3", arg=element, timeout=20_000)
        save_screenshot(root, f"{nb.app}-dark")
    finally:
        nb.page.evaluate(theme_js, "JupyterLab Light")
        nb.page.wait_for_function(f"(el) => ({luminance_js})(el) > 0.8", arg=element, timeout=20_000)


def test_the_whole_session_stayed_offline_and_error_free(nb):
    assert nb.record.requests, "the page made requests"
    assert nb.record.external_requests() == []
    assert nb.record.console_errors == []


def test_a_resting_pointer_reads_the_new_result_after_a_recompute(nb):
    tag = "reread"
    root = show_widget(nb, tag, "w_reread = AttributionWidget(model, x_test[4], labels=LABELS)\nw_reread")
    canvas = root.locator("canvas.aw-canvas")
    box = canvas.bounding_box()
    canvas.hover(position={"x": box["width"] * 4.5 / 8, "y": box["height"] * 4.5 / 8})  # pixel (4, 4)
    before = root.locator(".aw-readout").inner_text()
    after_update(nb, root, tag, select_method(root, "saliency"))  # the pointer does not move
    after = root.locator(".aw-readout").inner_text()
    value = float(kernel_value(nb, "float(w_reread.heatmap[4, 4])"))
    assert after.startswith("pixel (4, 4)") and after != before
    shown = float(after.split("attribution")[1])
    assert abs(shown - value) <= 0.01 * abs(value) + 1e-6, (after, value)  # the readout rounds


def test_a_narrow_pane_stacks_the_controls_and_nothing_sticks_out(nb):
    tag = "narrow"
    root = show_widget(nb, tag, "w_narrow = AttributionWidget(model, x_test[2], labels=LABELS)\nw_narrow")
    root.evaluate("(el) => { el.style.width = '370px'; }")
    nb.page.wait_for_timeout(200)
    outside = root.evaluate(
        """(el) => {
          const box = el.getBoundingClientRect();
          return [...el.querySelectorAll('*')]
            .filter((c) => c.offsetParent !== null)
            .filter((c) => {
              const r = c.getBoundingClientRect();
              return r.width > 0 && r.right > box.right + 0.5;
            })
            .map((c) => c.className || c.tagName);
        }"""
    )
    assert outside == [], outside
    overlap = root.evaluate(
        """(el) => {
          const a = el.querySelector('.aw-heading').getBoundingClientRect();
          const b = el.querySelector('.aw-badge').getBoundingClientRect();
          return !(a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top);
        }"""
    )
    assert not overlap, "the badge overlaps the title"
    canvas = root.locator("canvas.aw-canvas").bounding_box()
    right = root.locator(".aw-right").bounding_box()
    assert right["y"] >= canvas["y"] + canvas["height"] - 1  # the controls moved under the image
    save_screenshot(root, f"{nb.app}-widget-narrow")


def test_progressive_ig_shows_a_preliminary_result_then_the_final_one(nb):
    tag = "progressive"
    # The digits CNN is fast: make every IG progressive in this kernel for the test, and put it back after.
    code = (
        "import attr_widgets.widgets._attribution_widget as _image_widget\n"
        "w_progressive = AttributionWidget(model, x_test[6], labels=LABELS, method='saliency')\n"
        "w_progressive"
    )
    root = show_widget(nb, tag, code)
    root.evaluate(
        """(el) => {
          window.__awChips = [];
          const chip = el.querySelector('.aw-badge-preliminary');
          new MutationObserver(() => { if (!chip.hidden) window.__awChips.push(chip.textContent); })
            .observe(chip, { attributes: true, childList: true, characterData: true, subtree: true });
        }"""
    )
    kernel_exec(nb.page, "_image_widget.PROGRESSIVE_AFTER_S = 0.0")
    try:
        after_update(nb, root, tag, select_method(root, "integrated_gradients"))
    finally:
        kernel_exec(nb.page, "_image_widget.PROGRESSIVE_AFTER_S = 0.3")
    chips = nb.page.evaluate("window.__awChips")
    assert "preliminary · 4 steps" in chips, chips
    assert root.locator(".aw-badge-preliminary").is_hidden()
    assert root.locator(".aw-frame").get_attribute("data-preliminary") == "false"
    final = kernel_value(nb, "w_progressive.result.get('preliminary'), w_progressive.result['steps_taken']")
    assert final == "None 50"


def test_a_2048_input_arrives_at_display_size_and_hover_reads_the_kernels_values(nb):
    tag = "large"
    code = (
        "big_model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),\n"
        "    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 10)).eval()\n"
        "big_x = torch.rand(1, 2048, 2048, generator=torch.Generator().manual_seed(0))\n"
        "w_large = AttributionWidget(big_model, big_x, method='saliency')\n"
        "w_large"
    )
    root = show_widget(nb, tag, code)
    sent = kernel_value(nb, "w_large.result['display_scale'], w_large.result['full_shape']")
    assert sent == "4 [2048, 2048]"
    stats = canvas_stats(root)
    assert stats["lit"] > 0.5, stats  # the image arrived (RGB expanded to RGBA in the view)
    canvas = root.locator("canvas.aw-canvas")
    box = canvas.bounding_box()
    for fx, fy in ((0.31, 0.62), (0.77, 0.13)):
        canvas.hover(position={"x": box["width"] * fx, "y": box["height"] * fy})
        nb.page.wait_for_function(
            "(sel) => { const t = document.querySelector(sel + ' .aw-readout').textContent;"
            " return t.startsWith('pixel') && !t.includes('≈'); }",
            arg=root_selector(tag),
            timeout=10_000,
        )
        text = root.locator(".aw-readout").inner_text()
        x, y = (int(v) for v in text.split("(")[1].split(")")[0].split(","))
        assert abs(x - fx * 2048) <= 4 and abs(y - fy * 2048) <= 4, text
        value = float(kernel_value(nb, f"float(w_large.heatmap[{y}, {x}])"))
        shown = float(text.split("attribution")[1])
        assert abs(shown - value) <= 0.01 * abs(value) + 1e-9, (text, value)
    save_screenshot(root, f"{nb.app}-widget-2048")
