"""Token highlights (TextAttributionWidget) on the real MiniLM classifier, in JupyterLab 4 and Notebook 7."""

import pytest
from _jupyter import kernel_exec, save_screenshot
from test_widget_in_browser import WAIT_FOR_SEQ_JS, root_selector

pytestmark = pytest.mark.browser

# Names of their own: the session's kernel is shared, and later tests use its `LABELS` (the digits' classes).
SHOW = """
from attr_widgets.examples import LABELS as TEXT_LABELS, minilm_sentiment_classifier
tok, minilm, _ = minilm_sentiment_classifier()
w_{tag} = AttributionWidget(
    minilm,
    ["The plot was thin but the acting shone, unbelievably so. <img src=x onerror=window.xss_fired=1>",
     "A dull, lifeless film."],
    tokenizer=tok, labels=TEXT_LABELS, n_steps=16,
)
w_{tag}
"""


def wait_for_result(nb, tag, after):
    nb.page.wait_for_function(WAIT_FOR_SEQ_JS, arg=[root_selector(tag), after], timeout=90_000)


def test_tokens_render_as_text_with_colours_and_follow_both_sides(nb):
    tag = "text"
    cell = nb.cell(f"# {tag}\n{SHOW.format(tag=tag)}", tag)
    root = cell.locator(".aw-root")
    root.wait_for(timeout=120_000)
    wait_for_result(nb, tag, 0)
    tokens = root.locator(".aw-tok")
    texts = tokens.all_inner_texts()
    assert "<" in texts and ">" in texts, texts
    # the markup shows as the characters of the text, spaced as in the text
    shown = root.locator(".aw-tokens").inner_text()
    assert "acting shone, unbelievably so. <img src=x onerror=window.xss_fired=1>" in shown, shown
    assert root.locator("img").count() == 0
    assert nb.page.evaluate("() => window.xss_fired === undefined")
    colours = set(tokens.evaluate_all("(spans) => spans.map((s) => s.style.background).filter(Boolean)"))
    assert len(colours) >= 5
    tokens.nth(4).hover()
    assert "attribution" in root.locator(".aw-readout").inner_text()
    save_screenshot(root, f"{nb.app}-text-tokens")

    # words from Python; the pieces of "unbelievably" join
    kernel_exec(nb.page, f"w_{tag}.words = True")
    nb.page.wait_for_function(
        "(sel) => [...document.querySelectorAll(sel + ' .aw-tok')]"
        ".some((s) => s.textContent === 'unbelievably')",
        arg=root_selector(tag),
    )
    # the method from the browser
    seq = int(root.get_attribute("data-seq"))
    root.locator('[data-control="method"]').select_option("attention")
    wait_for_result(nb, tag, seq)
    answer = kernel_exec(nb.page, f"print(w_{tag}.method, w_{tag}.result['method'])")
    assert answer.strip() == "attention attention"
    assert root.locator(".aw-title").inner_text().startswith("Attention")
    # pin a token from the browser: Python sees it
    root.locator(".aw-tok").nth(2).click()
    pinned = int(kernel_exec(nb.page, f"print(w_{tag}.pinned)").strip())
    assert pinned >= 0
    # the other example, from the browser; its top class becomes the target
    seq = int(root.get_attribute("data-seq"))
    root.locator('[data-control="example"]').select_option("1")
    wait_for_result(nb, tag, seq)
    assert root.locator(".aw-tok").first.inner_text() == "A"
    assert kernel_exec(nb.page, f"print(w_{tag}.target)").strip() == "0"
    save_screenshot(root, f"{nb.app}-text-words-attention")
    # the erasure test from the browser: its table appears with one row per ranking
    seq = int(root.get_attribute("data-seq"))
    root.locator('[data-control="erasure"]').check()
    wait_for_result(nb, tag, seq)
    rows = root.locator(".aw-erasure-table:not(.aw-flip-table) tbody tr")
    assert rows.count() == 5
    assert "random order" in rows.nth(4).inner_text()
    assert kernel_exec(nb.page, f"print(len(w_{tag}.result['erasure']['rankings']))").strip() == "5"
    # two texts: the 2×2 decision-flip table over both, with the kernel's counts
    flips = root.locator(".aw-flip-table td")
    assert flips.count() == 4
    counts = kernel_exec(nb.page, f"t = w_{tag}.result['erasure']['flip_table']; "
                                  "print(t['both'], t['top_only'], t['random_only'], t['neither'])").split()
    assert [cell.split()[0] for cell in flips.all_inner_texts()] == counts
    save_screenshot(root, f"{nb.app}-text-erasure")
    # auto steps from the browser: the kernel refines to the tolerance, the view says how many steps it took
    root.locator('[data-control="erasure"]').uncheck()
    seq = int(root.get_attribute("data-seq"))
    root.locator('[data-control="method"]').select_option("layer_integrated_gradients")
    wait_for_result(nb, tag, seq)
    seq = int(root.get_attribute("data-seq"))
    root.locator('[data-control="auto_steps"]').check()
    wait_for_result(nb, tag, seq)
    taken = kernel_exec(
        nb.page, f"print(w_{tag}.result['steps_taken'], w_{tag}.attribution.settings['requested_n_steps'])"
    )
    steps, requested = taken.split()
    assert requested == "auto"
    nb.page.wait_for_function(
        "([sel, n]) => document.querySelector(sel + ' [data-role=steps-taken]')?.textContent"
        " === n + ' steps taken'",
        arg=[root_selector(tag), steps],
    )
    save_screenshot(root, f"{nb.app}-text-auto-steps")
