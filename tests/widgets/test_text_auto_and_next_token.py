"""Text widget: n_steps="auto" for Integrated Gradients, and next-token attribution for a causal LM.

The causal LM is a GPT-2-style model built from a ``transformers`` config with random weights (nothing is
downloaded), with the shipped MiniLM's tokenizer: the widget needs a tokenizer and a model whose vocabulary
covers it, not a particular pair.
"""

import warnings

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from attr_widgets.attribution import attribute
from attr_widgets.examples import LABELS, minilm_sentiment_classifier
from attr_widgets.widgets import TextAttributionWidget
from attr_widgets.widgets._next_token import LastPosition

TEXT = "The plot was thin but the acting shone."


@pytest.fixture(scope="module")
def minilm():
    tokenizer, model, _ = minilm_sentiment_classifier()
    return tokenizer, model


@pytest.fixture(scope="module")
def tiny_gpt(minilm):
    tokenizer, _ = minilm
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
                        attn_implementation="eager")  # fmt: skip
    model = GPT2LMHeadModel(config).eval()
    return tokenizer, model


def test_auto_steps_refine_to_the_tolerance_and_say_how_many(minilm):
    tokenizer, model = minilm
    w = TextAttributionWidget(model, TEXT, tokenizer=tokenizer, labels=LABELS, target=1)
    fixed = w.attribution
    w.auto_steps = True
    w.tol = 1e-2
    auto = w.attribution
    assert auto.settings["requested_n_steps"] == "auto"
    assert w.result["steps_taken"] == auto.n_steps
    c = w.result["completeness"]
    assert abs(c["delta"]) <= 1e-2 * abs(c["gap"])  # the stopping rule held
    enc = tokenizer(TEXT, return_tensors="pt")
    specials = [t for t in tokenizer.all_special_ids if t != tokenizer.pad_token_id]
    reference = attribute(
        model, enc["input_ids"], method="layer_integrated_gradients",
        layer="encoder.embeddings.word_embeddings", baseline="pad", pad_token_id=tokenizer.pad_token_id,
        keep_token_ids=specials, target=1, n_steps="auto", tol=1e-2, integration="adaptive",
        forward_kwargs={"attention_mask": enc["attention_mask"]}, cache=False,
    )  # fmt: skip
    assert reference.n_steps == auto.n_steps
    np.testing.assert_allclose(w.token_scores, reference.values[0].sum(-1).numpy(), rtol=1e-5, atol=1e-6)
    w.tol = 1e-3  # a tighter tolerance takes at least as many steps
    assert w.result["steps_taken"] >= auto.n_steps
    w.auto_steps = False
    assert w.result["steps_taken"] == fixed.n_steps == w.n_steps
    with pytest.raises(Exception, match="tol"):
        w.tol = 0.0


def test_a_causal_lm_attributes_the_next_token(tiny_gpt):
    tokenizer, model = tiny_gpt
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = TextAttributionWidget(model, "The cat sat on the", tokenizer=tokenizer, n_steps=8)
    assert w.next_token and w.num_classes == len(tokenizer)
    assert w.labels == []  # the vocabulary's names stay in Python
    full = tokenizer("The cat sat on the", return_tensors="pt")
    # Only what the widget passes: a BERT tokenizer's token_type_ids would mean something else to GPT-2.
    enc = {"input_ids": full["input_ids"], "attention_mask": full["attention_mask"]}
    with torch.no_grad():
        logits = model(**enc).logits[0, -1]
    top = torch.topk(logits, 5).indices.tolist()
    assert [entry["index"] for entry in w.top_k] == top
    assert [entry["label"] for entry in w.top_k] == tokenizer.convert_ids_to_tokens(top)
    assert w.target == top[0]
    reference = attribute(
        model, enc["input_ids"], method="layer_integrated_gradients", layer="transformer.wte",
        baseline="pad", pad_token_id=tokenizer.pad_token_id,
        keep_token_ids=[t for t in tokenizer.all_special_ids if t != tokenizer.pad_token_id],
        target=top[0], n_steps=8, output=LastPosition(),
        forward_kwargs={"attention_mask": enc["attention_mask"]}, cache=False,
    )  # fmt: skip
    np.testing.assert_allclose(w.token_scores, reference.values[0].sum(-1).numpy(), rtol=1e-5, atol=1e-6)
    w.target = top[3]  # any vocabulary token can be the target
    assert w.result["error"] is None and w.result["target"] == top[3]
    w.method = "attention"  # read from the last token, the one that predicts
    with torch.no_grad():
        attentions = model(**enc, output_attentions=True).attentions[-1][0].mean(0)[-1]
    np.testing.assert_allclose(w.token_scores, attentions.numpy(), rtol=1e-5, atol=1e-6)
    assert "last token" in next(m for m in w.options["methods"] if m["value"] == "attention")["reduction"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_next_token_can_be_forced_off_or_on(minilm, tiny_gpt):
    tokenizer, classifier = minilm
    assert not TextAttributionWidget(classifier, TEXT, tokenizer=tokenizer, n_steps=4).next_token
    _, lm = tiny_gpt
    w = TextAttributionWidget(
        lm, TEXT, tokenizer=tokenizer, n_steps=4, next_token=False, output=lambda o: o.logits[:, 0, :]
    )
    assert not w.next_token and len(w.labels) == len(tokenizer)
