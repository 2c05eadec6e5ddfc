"""The erasure test of Serrano & Smith, *Is Attention Interpretable?* (2019).

A ranking of items (tokens, or the inputs of an attention layer) is a good importance ranking when erasing
its top items changes the model's decision quickly. For each ranking (attention weights, gradients,
gradient × attention, random, ...) items are erased from the top of the ranking downward until the decision
(argmax) flips; reported per example:

- the fraction of the erasable items removed when the decision first flips (1 when it never flips);
- the Jensen-Shannon divergence ``JS(p, q)`` between the original output distribution ``p`` and the one after
  that erasure ``q``, ``JS = ½ KL(p‖m) + ½ KL(q‖m)``, ``m = ½(p + q)`` (natural log, so ``0 ≤ JS ≤ ln 2``);
- ``JS(p, q_{i*})`` after erasing only the top item ``i*`` (the single-weight importance test).

How an item is erased is up to ``predict``: Serrano & Smith zero its attention weight and renormalise the
others; for a transformer, :func:`attention_mask_predictor` removes tokens through the attention mask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._model_state import preserved_model
from .._outputs import OutputSelector, select_output

Predictor = Callable[[torch.Tensor], torch.Tensor]


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence (natural log) between distributions along the last dimension."""
    p, q = p.double(), q.double()
    m = (p + q) / 2
    kl_pm = torch.special.xlogy(p, p).sum(-1) - torch.special.xlogy(p, m).sum(-1)
    kl_qm = torch.special.xlogy(q, q).sum(-1) - torch.special.xlogy(q, m).sum(-1)
    return ((kl_pm + kl_qm) / 2).clamp_min(0.0)


@dataclass(frozen=True)
class ErasureRanking:
    """Outcome of erasing items in the order of one ranking (all tensors ``[B]``)."""

    fraction_removed: torch.Tensor
    removed: torch.Tensor
    flipped: torch.Tensor
    js_divergence: torch.Tensor
    js_top: torch.Tensor


@dataclass(frozen=True)
class ErasureResult:
    """Per-ranking outcomes plus the original output distribution ``probs [B, C]`` and decision ``[B]``."""

    rankings: dict[str, ErasureRanking]
    probs: torch.Tensor
    decision: torch.Tensor

    def summary(self) -> str:
        """Mean fraction removed before the first flip, flip rate and JS divergences, per ranking."""
        lines = [f"{'ranking':<22} fraction removed  flipped  JS at flip  JS top item"]
        for name, r in self.rankings.items():
            lines.append(
                f"{name:<22} {float(r.fraction_removed.mean()):16.3f}  "
                f"{float(r.flipped.double().mean()):7.2f}  {float(r.js_divergence.mean()):10.4f}  "
                f"{float(r.js_top.mean()):11.4f}"
            )
        return "\n".join(lines)


def _probabilities(logits: torch.Tensor, rows: int) -> torch.Tensor:
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != rows:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"predict must return logits [B, classes] for a keep mask [B, n], got {shape}.")
    return torch.softmax(logits.detach().double(), dim=1)


def _erase_in_order(
    predict: Predictor, scores: torch.Tensor, valid: torch.Tensor, probs: torch.Tensor, decision: torch.Tensor
) -> ErasureRanking:
    batch, items = scores.shape
    order = torch.argsort(scores.masked_fill(~valid, -torch.inf), dim=1, descending=True, stable=True)
    rank = torch.empty_like(order).scatter_(
        1, order, torch.arange(items, device=order.device).expand_as(order)
    )
    erasable = valid.sum(dim=1)
    removed = erasable.clone()
    flipped = torch.zeros(batch, dtype=torch.bool, device=scores.device)
    js_at = torch.zeros(batch, dtype=torch.float64, device=scores.device)
    js_top = torch.zeros_like(js_at)
    for step in range(1, int(erasable.max()) + 1):
        count = torch.minimum(erasable, torch.tensor(step, device=erasable.device))
        keep = ~((rank < count[:, None]) & valid)
        q = _probabilities(predict(keep.to(torch.get_default_dtype())), batch)
        js = js_divergence(probs, q)
        if step == 1:
            js_top = js.clone()
        new = ~flipped & (q.argmax(dim=1) != decision) & (step <= erasable)
        removed[new] = step
        js_at[new] = js[new]
        flipped |= new
        last = ~flipped & (step == erasable)  # never flipped: JS with every item erased
        js_at[last] = js[last]
        if bool(flipped.all()):
            break
    fraction = removed.double() / erasable.clamp_min(1).double()
    return ErasureRanking(fraction, removed, flipped, js_at, js_top)


def erasure_test(
    predict: Predictor,
    rankings: Mapping[str, torch.Tensor],
    *,
    valid: torch.Tensor | None = None,
    seed: int | None = 0,
) -> ErasureResult:
    """Erase items in the order of each ranking until the decision flips (Serrano & Smith).

    Args:
        predict: ``keep [B, n] (1 = present, 0 = erased) -> logits [B, classes]``; called with all ones
            for the original decision.
        rankings: name -> importance scores ``[B, n]`` (higher = erased first), e.g. attention weights,
            gradients w.r.t. them, gradient × attention, or an attribution summed per token.
        valid: ``[B, n]`` bool, the items that may be erased and count in the fraction (e.g. not padding, not
            [CLS]/[SEP]); default all.
        seed: when not None, a "random" ranking drawn with this seed is added (the paper's comparison).
    """
    if not rankings:
        raise ValueError("rankings must hold at least one ranking: name -> scores [B, n].")
    first = next(iter(rankings.values()))
    if not isinstance(first, torch.Tensor) or first.dim() != 2:
        raise ValueError("rankings: each ranking must be a tensor of scores [B, n].")
    shape, device = first.shape, first.device
    valid = torch.ones(shape, dtype=torch.bool, device=device) if valid is None else valid.to(device).bool()
    if valid.shape != shape:
        raise ValueError(f"valid must have the rankings' shape {tuple(shape)}, got {tuple(valid.shape)}.")
    if not valid.any(dim=1).all():
        raise ValueError("valid: every example needs at least one erasable item.")
    orders = dict(rankings)
    for name, scores in orders.items():
        if not isinstance(scores, torch.Tensor) or scores.shape != shape:
            got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
            raise ValueError(f"rankings[{name!r}] must be a tensor of shape {tuple(shape)}, got {got}.")
        orders[name] = scores.detach().to(device).double()
    if seed is not None and "random" not in orders:
        generator = torch.Generator().manual_seed(int(seed))
        orders["random"] = torch.rand(shape, generator=generator, dtype=torch.float64).to(device)
    probs = _probabilities(predict(torch.ones(shape, device=device)), shape[0])
    decision = probs.argmax(dim=1)
    results = {name: _erase_in_order(predict, s, valid, probs, decision) for name, s in orders.items()}
    return ErasureResult(results, probs, decision)


def attention_mask_predictor(
    model: nn.Module,
    inputs: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    output: OutputSelector = None,
    **forward_kwargs: Any,
) -> Predictor:
    """A ``predict`` for :func:`erasure_test` that erases tokens through the attention mask.

    ``model(inputs, attention_mask=attention_mask·keep, **forward_kwargs)`` under ``no_grad``; the model is
    used in its current mode and left as it was.
    """
    mask = attention_mask.detach()

    def predict(keep: torch.Tensor) -> torch.Tensor:
        with preserved_model(model), torch.no_grad():
            raw = model(inputs, attention_mask=mask * keep.to(mask.dtype), **forward_kwargs)
            return select_output(raw, output, batch_size=inputs.shape[0])

    return predict


@dataclass(frozen=True)
class SingleRemovalFlips:
    """Per example, whether removing the top item ``i*`` alone flips the decision, and a random one."""

    top: torch.Tensor  # [B] bool
    random: torch.Tensor  # [B] bool

    def table(self) -> dict[str, int]:
        """Serrano & Smith's 2×2 decision-flip counts: (i* flips, random flips) yes/no."""
        top, rand = self.top.bool(), self.random.bool()
        return {
            "both": int((top & rand).sum()),
            "top_only": int((top & ~rand).sum()),
            "random_only": int((~top & rand).sum()),
            "neither": int((~top & ~rand).sum()),
        }


def single_removal_flips(
    predict: Predictor, scores: torch.Tensor, *, valid: torch.Tensor | None = None, seed: int = 0
) -> SingleRemovalFlips:
    """Whether removing the top-scored item ``i*``, or instead a random valid item, flips the decision.

    Three calls of ``predict`` (all items, without ``i*``, without the random item) per batch; the random item
    is drawn uniformly among the valid ones with ``seed``.
    """
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2:
        raise ValueError("scores must be a tensor of importance scores [B, n].")
    valid = torch.ones_like(scores, dtype=torch.bool) if valid is None else valid.to(scores.device).bool()
    if valid.shape != scores.shape or not valid.any(dim=1).all():
        raise ValueError("valid must have the scores' shape and at least one erasable item per example.")
    rows = scores.shape[0]
    everything = torch.ones_like(scores, dtype=torch.get_default_dtype())
    decision = _probabilities(predict(everything), rows).argmax(1)
    top = scores.detach().double().masked_fill(~valid, -torch.inf).argmax(dim=1)
    generator = torch.Generator().manual_seed(int(seed))
    draws = torch.rand(scores.shape, generator=generator, dtype=torch.float64).to(scores.device)
    random = draws.masked_fill(~valid, -1.0).argmax(dim=1)

    def flips(item: torch.Tensor) -> torch.Tensor:
        keep = torch.ones_like(scores, dtype=torch.get_default_dtype())
        keep[torch.arange(rows, device=scores.device), item] = 0.0
        return _probabilities(predict(keep), rows).argmax(1) != decision

    return SingleRemovalFlips(flips(top), flips(random))
