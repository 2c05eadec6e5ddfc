"""DirectionsWidget in a real JupyterLab 4 and a real Notebook 7, driven through Chromium.

Each test displays its own widget in a new cell, moves its controls in the page and from Python, and checks
both the view (DOM, SVG) and the kernel (traits read back by executing code on the kernel).
"""

import json

import pytest
from _jupyter import kernel_exec, save_screenshot

pytestmark = pytest.mark.browser

WAIT_FOR_SEQ_JS = """
([selector, after]) => {
  const root = document.querySelector(selector);
  return root !== null && Number(root.dataset.seq) > after && root.dataset.busy === "false";
}
"""

# Set a range input as a drag does: value, then input events, then change on release.
SLIDE_JS = """
(range, value) => {
  range.value = String(value);
  range.dispatchEvent(new Event("input", { bubbles: true }));
  range.dispatchEvent(new Event("change", { bubbles: true }));
}
"""


def root_selector(tag):
    return f'[data-test-cell="{tag}"] .aw-root'


def show(nb, tag, code):
    cell = nb.cell(f"# {tag}\nfrom attr_widgets.widgets import DirectionsWidget\n{code}", tag)
    root = cell.locator(".aw-root")
    root.wait_for(timeout=90_000)
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), 0], timeout=90_000)
    return root


def after_update(nb, root, tag, action):
    """Do ``action`` and wait until the view shows the result of a newer request."""
    before = int(root.get_attribute("data-seq"))
    action()
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), before], timeout=60_000)


def kernel_json(nb, expression):
    return json.loads(kernel_exec(nb.page, f"import json; print(json.dumps({expression}))").strip())


def slider(root, index):
    return root.locator(f'[data-control="offset"][data-index="{index}"]')


def test_sliders_move_the_output_and_the_python_trait(nb):
    tag = "dir_sliders"
    code = "w_dir = DirectionsWidget(model, layer='1', data=x_test, k=6, labels=LABELS, example=3)\nw_dir"
    root = show(nb, tag, code)
    assert root.locator('[data-control="offset"]').count() == 6
    assert root.locator('svg[data-chart="spectrum"] rect.aw-dir-important').count() == 6
    assert root.locator('svg[data-chart="spectrum"] rect.aw-dir-pca').count() == 6
    assert root.locator('svg[data-chart="objective"] polyline').count() == 2
    assert root.locator(".aw-dir-thumb canvas").count() == 10
    assert root.locator('[data-kind="after"] .aw-dir-top-item').count() == 5
    assert root.locator('[data-field="delta_f"]').inner_text().startswith("Δf")
    save_screenshot(root, f"{nb.app}-directions-start")

    after_update(nb, root, tag, lambda: slider(root, 0).evaluate(SLIDE_JS, 2))
    assert kernel_json(nb, "w_dir.offsets")[:2] == [2.0, 0.0]
    delta = kernel_json(nb, "w_dir.outputs['delta_f']")
    assert delta > 0  # oriented: right raises f on average
    assert root.locator('[data-field="delta_f"]').inner_text().startswith("Δf +")
    shown = float(root.locator('[data-field="f_after"]').inner_text())
    assert abs(shown - kernel_json(nb, "w_dir.outputs['f_after']")) < 1e-2
    save_screenshot(root, f"{nb.app}-directions-moved")

    # The projection toggle, from the page, then reset all.
    after_update(nb, root, tag, lambda: root.locator('[data-control="project"]').check())
    assert kernel_json(nb, "w_dir.project") is True
    after_update(nb, root, tag, lambda: root.locator('[data-control="reset-all"]').click())
    assert kernel_json(nb, "[w_dir.offsets, w_dir.project]") == [[0.0] * 6, False]
    assert not root.locator('[data-control="project"]').is_checked()

    # From Python: the view follows.
    after_update(nb, root, tag, lambda: kernel_exec(nb.page, "w_dir.offsets = [0, -1.5, 0, 0, 0, 0]"))
    assert float(slider(root, 1).input_value()) == -1.5
    after_update(nb, root, tag, lambda: kernel_exec(nb.page, "w_dir.project = True"))
    assert root.locator('[data-control="project"]').is_checked()
    after_update(nb, root, tag, lambda: kernel_exec(nb.page, "w_dir.reset()"))
    assert float(slider(root, 1).input_value()) == 0.0
    assert not root.locator('[data-control="project"]').is_checked()

    # One slider's own reset.
    after_update(nb, root, tag, lambda: kernel_exec(nb.page, "w_dir.offsets = [1, 1, 0, 0, 0, 0]"))
    after_update(nb, root, tag, lambda: root.locator('[data-control="reset"][data-index="0"]').click())
    assert kernel_json(nb, "w_dir.offsets")[:2] == [0.0, 1.0]

    # Selecting a direction sends its thumbnails.
    root.locator('[data-control="select-direction"][data-index="2"]').click()
    nb.page.wait_for_function(
        "(sel) => document.querySelector(sel + ' .aw-dir-examples-panel .aw-dir-panel-title')"
        ".textContent.includes('d3')",
        arg=root_selector(tag),
        timeout=30_000,
    )
    assert kernel_json(nb, "w_dir.direction") == 2
    assert not root.locator(".aw-error").is_visible()
    save_screenshot(root, f"{nb.app}-directions-final")


def test_recomputing_directions_shows_progress_and_a_new_spectrum(nb):
    tag = "dir_k"
    root = show(nb, tag, "w_k = DirectionsWidget(model, layer='1', data=x_test, k=3, labels=LABELS)\nw_k")
    assert root.locator('[data-control="offset"]').count() == 3
    k_input = root.locator('[data-control="k"]')
    after_update(nb, root, tag, lambda: (k_input.fill("5"), k_input.dispatch_event("change")))
    assert kernel_json(nb, "w_k.k") == 5
    assert root.locator('[data-control="offset"]').count() == 5
    assert root.locator('svg[data-chart="spectrum"] rect.aw-dir-important').count() == 5
    after_update(nb, root, tag, lambda: root.locator('[data-control="layer"]').select_option("3"))
    assert kernel_json(nb, "w_k.layer") == "3"
    assert "layer 3" in root.locator(".aw-subtitle").inner_text()


def test_texts_show_token_coordinates_and_a_click_pins_the_moved_token(nb):
    """DirectionsWidget(tokenizer=) on the real MiniLM: the example's tokens are coloured by their coordinate
    along the selected direction, a click pins the token the sliders move (the Python trait follows), a slider
    then changes f, and the top / bottom tokens are shown in context, as text."""
    tag = "dir_texts"
    code = (
        "from attr_widgets.examples import LABELS as DIR_LABELS, minilm_sentiment_classifier, "
        "sentiment_sentences\n"
        "dir_tok, dir_minilm, _ = minilm_sentiment_classifier()\n"
        "dir_texts = sentiment_sentences()[0][:16] + ['A <b>bold</b> & plain film.']\n"
        "w_dirt = DirectionsWidget(dir_minilm, layer='encoder.encoder.layer.3', data=dir_texts, "
        "tokenizer=dir_tok, k=3, target=1, labels=DIR_LABELS, example=16)\nw_dirt"
    )
    root = show(nb, tag, code)
    tokens = root.locator(".aw-dir-example .aw-dir-tok")
    shown = tokens.all_inner_texts()
    expected = kernel_json(nb, "[t['text'] for t in w_dirt.result['tokens'] if not t['special']]")
    assert shown == expected and "<" in shown  # the markup is text, never an element
    assert root.locator(".aw-dir-example b").count() == 0
    coloured = tokens.evaluate_all("(ts) => ts.filter((t) => t.style.background !== '').length")
    assert coloured >= len(shown) - 1
    assert root.locator(".aw-dir-snippet").count() == 10

    after_update(nb, root, tag, lambda: tokens.nth(2).click())
    position = kernel_json(nb, "w_dirt.position")
    assert position >= 1 and root.locator(".aw-dir-pinned").inner_text() == shown[2]
    before = kernel_json(nb, "w_dirt.outputs['f_after']")
    after_update(nb, root, tag, lambda: slider(root, 0).evaluate(SLIDE_JS, 2))
    assert kernel_json(nb, "w_dirt.result['position']") == position
    assert kernel_json(nb, "w_dirt.outputs['f_after']") != before
    save_screenshot(root, f"{nb.app}-directions-texts")
