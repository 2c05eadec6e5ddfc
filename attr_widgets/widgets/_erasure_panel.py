"""The erasure test of Serrano and Smith, "Is Attention Interpretable?" (2019), for the text on screen.

Tokens are removed (through the attention mask) from the top of each ranking until the model's decision flips.
A ranking that flips the decision after few removals points at what the decision rests on. The rankings:
attention (last layer, mean over heads, from the first token), the gradient's norm at each token's embedding,
gradient × attention, Integrated Gradients per token (Sundararajan, Taly and Yan, "Axiomatic Attribution for
Deep Networks", 2017) and a random order. Special tokens are never removed.

Over a widget's list of texts, :func:`flip_table` adds the paper's 2×2 decision-flip table: does removing the
token with the most attention (i*) flip the decision, and does removing a random token?
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from attr_widgets.attribution import attribute
from attr_widgets.attribution.metrics import (
    SingleRemovalFlips,
    attention_mask_predictor,
    erasure_test,
    single_removal_flips,
)

RANKING_LABELS = {
    "attention": "attention",
    "gradient": "gradient ‖∇e‖",
    "gradient_x_attention": "gradient × attention",
    "integrated_gradients": "Integrated Gradients",
    "random": "random order",
}


def erasure_figures(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    special: torch.Tensor,
    *,
    layer: Any,
    ig_scores: torch.Tensor | None,
    n_steps: int,
    output: Any,
    baseline: dict[str, Any],
    progress: Any,
    seed: int = 0,
) -> dict[str, Any]:
    """The figures for one example ``[1, T]``: per ranking, what had to go before the decision flipped.

    ``ig_scores``: the token scores of Integrated Gradients when already computed for the decision class
    (reused), else None (computed here). ``special``: ``[1, T]`` bool, tokens that are never erased.
    """
    common = {"forward_kwargs": {"attention_mask": attention_mask}, "output": output, "progress": progress}
    attention = attribute(model, input_ids, method="attention", **common)
    target = attention.target
    assert isinstance(target, torch.Tensor)  # resolved to classes by attribute() (target=None: the top class)
    decision = int(target[0])
    gradient = attribute(
        model, input_ids, method="layer_gradient_x_activation", layer=layer, target=decision,
        multiply_by_inputs=False, **common,
    ).values.norm(dim=-1)  # fmt: skip
    if ig_scores is None:
        ig = attribute(
            model, input_ids, method="layer_integrated_gradients", layer=layer, target=decision,
            n_steps=n_steps, **baseline, **common,
        )  # fmt: skip
        ig_scores = ig.values.sum(-1)
    rankings = {
        "attention": attention.values,
        "gradient": gradient,
        "gradient_x_attention": gradient * attention.values,
        "integrated_gradients": ig_scores.to(attention.values.dtype).reshape(attention.values.shape),
    }
    erase = attention_mask_predictor(model, input_ids, attention_mask, output=output)
    total = len(rankings) + 1  # the random order too
    erasable = int((~special).sum())
    calls = [0]

    def predict(keep: torch.Tensor) -> torch.Tensor:
        # Each removal is one forward pass: reported as progress, which is also where a cancel stops it.
        calls[0] += 1
        if progress is not None:
            progress(min(calls[0], total * erasable), total * erasable)
        return erase(keep)

    result = erasure_test(predict, rankings, valid=~special, seed=seed)
    if progress is not None:
        progress(total * erasable, total * erasable)
    rows = []
    for name, ranking in result.rankings.items():
        flipped = bool(ranking.flipped[0])
        rows.append(
            {
                "name": name,
                "label": RANKING_LABELS.get(name, name),
                "flipped": flipped,
                "removed": int(ranking.removed[0]),
                "fraction": float(ranking.fraction_removed[0]) if flipped else None,
                "js": float(ranking.js_divergence[0]),
                "js_top": float(ranking.js_top[0]),
            }
        )
    return {"decision": decision, "erasable": erasable, "rankings": rows}


def flip_table(
    model: nn.Module,
    examples: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    *,
    output: Any,
    query: int,
    progress: Any,
    seed: int = 0,
) -> dict[str, Any]:
    """Serrano and Smith's 2×2 table over ``examples`` (``(input_ids, attention_mask, special)`` each).

    Per text: attention (last layer, mean over heads, from token ``query``) names i*; one forward without i*,
    one without a random non-special token; the counts say how often each flips the model's decision.
    """
    flips_top, flips_random = [], []
    for done, (input_ids, attention_mask, special) in enumerate(examples):
        attention = attribute(
            model, input_ids, method="attention", query=query, output=output,
            forward_kwargs={"attention_mask": attention_mask},
        )  # fmt: skip
        predict = attention_mask_predictor(model, input_ids, attention_mask, output=output)
        flips = single_removal_flips(predict, attention.values, valid=~special, seed=seed + done)
        flips_top.append(bool(flips.top[0]))
        flips_random.append(bool(flips.random[0]))
        if progress is not None:
            progress(done + 1, len(examples))
    counts = SingleRemovalFlips(torch.tensor(flips_top), torch.tensor(flips_random)).table()
    return {"texts": len(examples), "ranking": "attention", **counts}
