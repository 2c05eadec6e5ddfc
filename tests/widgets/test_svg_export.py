"""svg_of: every widget kind that has a picture has an SVG of it (w.save("fig.svg")), with texts escaped."""

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np

from attr_widgets.examples import minilm_sentiment_classifier
from attr_widgets.widgets import AttributionWidget, CompareWidget, TextAttributionWidget
from attr_widgets.widgets._render import png_of, svg_of
from attr_widgets.widgets._render.png import decode_png

EVIL = "<b>&evil"


def embedded_png(svg: str) -> bytes:
    (data,) = set(re.findall(r'href="data:image/png;base64,([^"]+)"', svg))
    return base64.b64decode(data)


def test_an_image_widget_svg_holds_its_png_exactly_with_caption_and_scale_as_text(cnn, digit):
    labels = [EVIL] + [str(i) for i in range(1, 10)]
    w = AttributionWidget(cnn, digit, method="saliency", labels=labels, target=0)
    svg = svg_of(w)
    root = ET.fromstring(svg)  # well-formed XML: the label is escaped
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[0] == f"AttributionWidget · saliency · target {EVIL}"
    assert texts[1].startswith("scale: ") and "signed" in texts[1]
    png = embedded_png(svg)
    assert png == png_of(w)
    image = next(root.iter("{http://www.w3.org/2000/svg}image"))
    h, width = decode_png(png).shape[:2]
    assert (int(image.get("width")), int(image.get("height"))) == (width, h)


def test_a_compare_widget_svg_holds_its_grid(cnn, digit):
    c = CompareWidget(cnn, digit, methods=["saliency", "integrated_gradients"], n_steps=8)
    c.wait()
    assert embedded_png(svg_of(c)) == png_of(c)


def test_text_svg_is_one_box_and_one_escaped_text_per_token():
    tok, model, _ = minilm_sentiment_classifier()
    t = TextAttributionWidget(model, f"a great {EVIL} film", tokenizer=tok, n_steps=8)
    root = ET.fromstring(svg_of(t))
    ns = "{http://www.w3.org/2000/svg}"
    texts = [e.text for e in root.iter(f"{ns}text")]
    assert texts == [tok_["text"] for tok_ in t.tokens]
    fills = [r.get("fill") for r in root.iter(f"{ns}rect")]
    assert len(fills) == len(texts) and len(set(fills)) > 3
    # the box of the token with the largest |score| is the most opaque
    alphas = np.array([float(f.rsplit(",", 1)[1].rstrip(")")) for f in fills])
    assert int(np.argmax(alphas)) == int(np.argmax(np.abs(t.token_scores)))


def test_png_at_scale_repeats_each_view_pixel_and_bad_scales_are_refused(cnn, digit, tmp_path):
    """``w.save("fig.png", scale=2)``, the Export menu's resolution: each pixel of scale 1 is a 2x2 block."""
    import pytest

    w = AttributionWidget(cnn, digit, method="saliency")
    one = decode_png(png_of(w))
    two = decode_png(w.save(tmp_path / "fig.png", scale=2).read_bytes())
    side = w.canvas_size // 8 * 8  # the heatmap's height at scale 1 (an 8 x 8 digit)
    assert two.shape[1] == 2 * one.shape[1]
    assert np.array_equal(two[: 2 * side : 2, ::2], one[:side])  # the heatmap, a block per pixel
    assert np.array_equal(two[1 : 2 * side : 2, 1::2], one[:side])
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="scale must be a positive integer"):
            w.save(tmp_path / "bad.png", scale=bad)
    assert not (tmp_path / "bad.png").exists()
