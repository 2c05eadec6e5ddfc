"""w.save("view.html"): the page opens from file:// in Chromium, no kernel, no network, and shows the view.

No Jupyter server here: the widgets are built in the test process, saved, and the files opened directly.
"""

import pytest
import torch
from _jupyter import save_screenshot
from digits_model import digits_cnn, digits_data

from attr_widgets.examples import LABELS as TEXT_LABELS
from attr_widgets.examples import minilm_sentiment_classifier
from attr_widgets.widgets import AttributionWidget, TextAttributionWidget

pytestmark = pytest.mark.browser

ALLOWED_SCHEMES = ("file:", "data:", "blob:")
SAVED_VIEW_MESSAGE = "Saved view: controls need a running kernel"

# Pixels of the heatmap canvas: how many there are, how many distinct colours, how many are clearly red or
# blue (the diverging scale over a grey digit), read from the canvas itself.
CANVAS_PIXELS_JS = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  let tinted = 0;
  for (let i = 0; i < data.length; i += 4) {
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    if (Math.abs(data[i] - data[i + 2]) > 40) tinted += 1;
  }
  return { pixels: data.length / 4, colours: colours.size, tinted };
}"""


def open_saved(chromium, path):
    """A fresh page on ``path`` (file://) recording every request it makes and every console error."""
    context = chromium.new_context(viewport={"width": 1100, "height": 800})
    requests, errors = [], []
    context.on("request", lambda r: requests.append(r.url))

    def handle(route):
        # The page's own file passes; anything else (a CDN, the kernel, the Jupyter server) is refused.
        url = route.request.url
        requests.append(url)
        if url.startswith(ALLOWED_SCHEMES):
            route.continue_()
        else:
            route.abort()

    context.route("**", handle)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function("() => document.body.dataset.rendered !== undefined", timeout=30_000)
    return context, page, requests, errors


# The trait a form control sets: its closest [data-control] (views name them after their trait).
OWNER_JS = "(c) => c.closest('[data-control]')?.dataset.control ?? null"


def assert_saved_view(page, requests, errors, view_controls):
    """The saved result on screen, no request, no error; only ``view_controls`` (view-only traits) enabled."""
    assert page.evaluate("() => document.body.dataset.rendered") == "true", page.inner_text("body")
    outside = [url for url in requests if not url.startswith(ALLOWED_SCHEMES)]
    assert not outside, f"the saved page made network requests: {outside}"
    assert not errors, f"console errors in the saved page: {errors}"
    root = page.locator(".aw-root")
    assert root.get_attribute("data-offline") == "true"
    assert root.get_attribute("data-seq") == "1"  # the saved result is the one on screen
    assert SAVED_VIEW_MESSAGE in root.locator(".aw-state-text").inner_text()
    controls = root.locator("input, select, button")
    count = controls.count()
    enabled = {controls.nth(i).evaluate(OWNER_JS) for i in range(count) if controls.nth(i).is_enabled()}
    disabled = sum(not controls.nth(i).is_enabled() for i in range(controls.count()))
    assert disabled >= 3, "the controls that need the kernel are not disabled"
    # the Export menu saves the picture on screen: it needs no kernel
    allowed = {*view_controls, "export"}
    assert enabled <= allowed, f"controls enabled in a saved view: {enabled - allowed}"
    return root


def test_saved_image_view_draws_its_heatmap_offline(chromium, tmp_path):
    torch.manual_seed(0)
    model = digits_cnn().eval()
    x = digits_data()[2][3]
    w = AttributionWidget(model, x, method="integrated_gradients", n_steps=16, canvas_size=256)
    path = w.save(tmp_path / "digit.html")
    context, page, requests, errors = open_saved(chromium, path)
    try:
        root = assert_saved_view(page, requests, errors, ["opacity", "sign_mode"])
        for control in ("method", "n_steps", "target", "baseline"):
            assert root.locator(f'[data-control="{control}"]').first.evaluate(
                "(c) => [c, ...c.querySelectorAll('input, select, button')].some((e) => e.disabled)"
            ), control
        canvas = root.locator("canvas.aw-canvas")
        pixels = canvas.evaluate(CANVAS_PIXELS_JS)
        assert pixels["pixels"] >= 256 * 256
        assert pixels["colours"] > 20 and pixels["tinted"] > 0.05 * pixels["pixels"], pixels
        # the legend's extent is the kernel's figure for the same heatmap and percentile
        extent = float(root.locator(".aw-heatmap").get_attribute("data-extent"))
        assert extent == pytest.approx(w.to_dict()["figures"]["scale_extent"], rel=1e-5)
        save_screenshot(page, "offline_html_image")
        # a view-only control redraws from the saved heatmap, with no kernel and no request
        root.locator('[data-control="sign_mode"] [data-value="negative"]').click()
        w.sign_mode = "negative"
        positive = float(root.locator(".aw-heatmap").get_attribute("data-extent"))
        assert positive == pytest.approx(w.to_dict()["figures"]["scale_extent"], rel=1e-5)
        assert canvas.evaluate(CANVAS_PIXELS_JS) != pixels
        # the Export menu works from file:// too: the figure at 2x, and the settings the page was saved with
        checks = {"png": lambda b: b.startswith(b"\x89PNG"), "json": lambda b: b"integrated" in b}
        for fmt, check in checks.items():
            root.locator(".aw-export-button").click()
            with page.expect_download(timeout=20_000) as info:
                root.locator(f'.aw-export-item[data-format="{fmt}"]').click()
            assert info.value.suggested_filename == f"attribution-integrated_gradients.{fmt}"
            with open(info.value.path(), "rb") as f:
                assert check(f.read()), fmt
        assert [url for url in requests if not url.startswith(ALLOWED_SCHEMES)] == [] and not errors
    finally:
        context.close()


def test_saved_text_view_shows_its_tokens_offline(chromium, tmp_path):
    tokenizer, model, _ = minilm_sentiment_classifier()
    text = "The plot was thin but the acting shone. </script><b>bold</b>"
    w = TextAttributionWidget(model, text, tokenizer=tokenizer, labels=TEXT_LABELS, n_steps=8)
    path = w.save(tmp_path / "text.html")
    context, page, requests, errors = open_saved(chromium, path)
    try:
        root = assert_saved_view(page, requests, errors, ["words", "show_special", "sign_mode"])
        shown = [t["text"] for t in w.tokens if not t["special"]]
        texts = root.locator(".aw-tok").all_inner_texts()
        assert [t for t in texts if t] == shown
        # the markup in the text is text, not elements, also in the saved page
        assert root.locator("b").count() == 0 and "</script>" in root.locator(".aw-tokens").inner_text()
        coloured = root.locator(".aw-tok").evaluate_all(
            "(spans) => spans.filter((s) => getComputedStyle(s).backgroundColor !== 'rgba(0, 0, 0, 0)')"
            ".length"
        )
        assert coloured >= len(shown) // 2
        save_screenshot(page, "offline_html_text")
        root.locator('[data-control="show_special"]').check()  # view-only: the special tokens appear
        assert root.locator(".aw-tok").all_inner_texts()[0] == "[CLS]" and not errors
    finally:
        context.close()


def other_widgets():
    """The tabular, compare and directions widgets, each on a small model (built when the test runs)."""
    from tabular_model import train_tabular_mlp

    from attr_widgets.widgets import CompareWidget, DirectionsWidget, TabularAttributionWidget

    def tabular():
        model, names, _, x_test = train_tabular_mlp()
        return TabularAttributionWidget(model, x_test[0], feature_names=names, method="saliency")

    def compare():
        torch.manual_seed(0)
        x = digits_data()[2][3]
        return CompareWidget(digits_cnn().eval(), x, methods=("saliency", "input_x_gradient"))

    def directions():
        torch.manual_seed(0)
        return DirectionsWidget(digits_cnn().eval(), "0", digits_data()[2][:40], k=3)

    return {"tabular": tabular, "compare": compare, "directions": directions}


@pytest.mark.parametrize("kind", ["tabular", "compare", "directions"])
def test_every_widget_class_saves_a_working_offline_view(chromium, tmp_path, kind):
    w = other_widgets()[kind]()
    path = w.save(tmp_path / f"{kind}.html")
    context, page, requests, errors = open_saved(chromium, path)
    try:
        views = {"tabular": ["top_features", "sign_mode"], "directions": [],
                 "compare": ["shared_scale", "sign_mode", "opacity"]}[kind]  # fmt: skip
        root = assert_saved_view(page, requests, errors, views)
        assert root.locator(".aw-error").first.is_hidden()
        save_screenshot(page, f"offline_html_{kind}")
    finally:
        context.close()
