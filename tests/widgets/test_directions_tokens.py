"""DirectionsWidget on texts, on the real MiniLM sentiment classifier: one sample per token.

The directions equal the projection module's own (``projection.collect`` over the same texts, padding
dropped by the attention mask, then ``important_directions``); a slider moves a pinned token exactly as a
hand-written forward hook adding ``offset · spread · a`` to that token's state; the model is left as it was.
"""

import pytest
import torch

from attr_widgets.examples import LABELS, minilm_sentiment_classifier, sentiment_sentences
from attr_widgets.projection import collect, important_directions
from attr_widgets.widgets import DirectionsWidget

LAYER = "encoder.encoder.layer.3"
N_TEXTS = 24
K = 3


@pytest.fixture(scope="module")
def minilm():
    tok, model, _ = minilm_sentiment_classifier()
    texts, _ = sentiment_sentences()
    return tok, model, texts[:N_TEXTS]


@pytest.fixture(scope="module")
def widget(minilm):
    tok, model, texts = minilm
    return DirectionsWidget(model, layer=LAYER, data=texts, tokenizer=tok, k=K, target=1, labels=LABELS)


def _layer(model):
    return model.get_submodule(LAYER)


def test_every_token_is_a_sample_and_the_directions_are_the_projection_modules(minilm, widget):
    tok, model, texts = minilm
    batch = dict(tok(texts, return_tensors="pt", padding=True))
    batch.pop("token_type_ids", None)
    reference = collect(model, _layer(model), [batch], lambda out, _b: out["logits"][:, 1], progress=False)
    assert widget.result["n_samples"] == int(batch["attention_mask"].sum()) == reference.acts.shape[0]
    assert widget.result["n_features"] == 384 and widget.kind == "tokens"
    expected = important_directions(reference.acts, reference.grads, K)
    torch.testing.assert_close(
        widget.projection.singular_values, expected.singular_values, rtol=1e-3, atol=1e-5
    )
    # the same subspace (directions are defined up to sign; the widget orients them)
    torch.testing.assert_close(widget.projection.matrix(), expected.matrix(), rtol=1e-3, atol=1e-4)


def test_a_pinned_token_moves_exactly_as_a_hand_written_hook(minilm, widget):
    tok, model, texts = minilm
    widget.example, widget.project = 2, False
    widget.position = 3
    widget.offsets = [1.5, 0.0, 0.0]
    a0 = widget.projection.act_basis[:, 0]
    spread = float(widget.spreads[0])

    def add(_module, _inputs, output):
        h = output[0] if isinstance(output, tuple) else output
        h = h.clone()
        h[0, 3] += 1.5 * spread * a0.to(h.dtype)
        return (h, *output[1:]) if isinstance(output, tuple) else h

    enc = tok(texts[2], return_tensors="pt")
    handle = _layer(model).register_forward_hook(add)
    try:
        with torch.no_grad():
            moved = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])["logits"][0, 1]
    finally:
        handle.remove()
    assert widget.result["f_after"] == pytest.approx(float(moved), abs=1e-4)
    with torch.no_grad():
        plain = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])["logits"][0, 1]
    assert widget.result["f_before"] == pytest.approx(float(plain), abs=1e-4)
    assert widget.result["f_after"] != pytest.approx(widget.result["f_before"], abs=1e-3)
    # the view gets the text's tokens and each one's coordinates along every direction
    tokens = widget.result["tokens"]
    assert len(tokens) == int(enc["attention_mask"].sum()) == len(widget.result["token_coords"])
    assert tokens[0]["special"] and not tokens[1]["special"]
    assert widget.result["position"] == 3
    widget.example = 4  # a pinned token belongs to its text
    assert widget.position == -1 and widget.result["position"] == -1
    widget.reset()


def test_top_tokens_come_with_their_context_and_the_model_is_unchanged(minilm, widget):
    _, model, _ = minilm
    examples = widget.examples
    assert len(examples["snippets"]) == len(examples["top"]) + len(examples["bottom"])
    first = examples["snippets"][0]
    assert {"before", "token", "after", "example", "position"} <= set(first)
    coords = examples["coords"]
    assert coords[0] >= coords[len(examples["top"]) - 1] >= coords[-1]
    assert not model.training
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_bad_text_inputs_are_named(minilm):
    tok, model, texts = minilm
    with pytest.raises(TypeError, match="texts need the model's tokenizer"):
        DirectionsWidget(model, layer=LAYER, data=texts, k=2)
    with pytest.raises(ValueError, match="at least 2 texts"):
        DirectionsWidget(model, layer=LAYER, data=texts[:1], tokenizer=tok, k=2)
    with pytest.raises(ValueError, match=r"\[batch, tokens, features\]"):
        DirectionsWidget(model, layer="head", data=texts[:4], tokenizer=tok, k=2)
