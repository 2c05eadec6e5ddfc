"""What DirectionsWidget sends to the view: small JSON for the numbers, binary RGBA for the thumbnails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ._directions_compute import DirectionsState, TargetReader
from ._directions_slider import SliderOutcome
from ._directions_tokens import TokenBatch, snippet
from ._serialize import binary_array, display_rgba

TOP_K = 5
THUMBNAIL_SIDE = 32  # longest side of a top/bottom example thumbnail, in pixels


def _floats(values: torch.Tensor | Sequence[float]) -> list[float]:
    if isinstance(values, torch.Tensor):
        return [float(v) for v in values.detach().cpu().double().tolist()]
    return [float(v) for v in values]


def top_predictions(probs: torch.Tensor | None, names: Sequence[str]) -> list[dict[str, Any]]:
    """The five most probable classes, ``[{index, label, prob}]`` (empty when f is not a classifier's)."""
    if probs is None:
        return []
    values, indices = probs.detach().cpu().double().topk(min(TOP_K, probs.shape[0]))
    return [
        {"index": int(i), "label": names[int(i)] if int(i) < len(names) else str(int(i)), "prob": float(p)}
        for p, i in zip(values.tolist(), indices.tolist(), strict=True)
    ]


def state_fields(state: DirectionsState, reader: TargetReader) -> dict[str, Any]:
    """The directions' own numbers (the same for every slider setting)."""
    important, pca = state.projection.singular_values, state.pca.singular_values
    return {
        "n_directions": state.projection.n_directions,
        "n_samples": int(state.samples.acts.shape[0]),
        "n_features": int(state.samples.acts.shape[1]),
        "method": state.projection.method,
        "f_description": reader.describe(),
        "spectrum": {"important": _floats(important), "pca": _floats(pca)},
        # k = 0..K; k = 0 is the total (nothing kept).
        "objective": {
            "important": _floats(state.objective),
            "pca": _floats(state.pca_objective),
            "important_sampled": _floats(state.sampled_objective),
            "pca_sampled": _floats(state.pca_sampled_objective),
            "sampled_examples": state.sampled_examples,
        },
        "spreads": _floats(state.spreads),
        "top": state.top,
        "bottom": state.bottom,
    }


def outcome_fields(
    state: DirectionsState, outcome: SliderOutcome, index: int, names: Sequence[str]
) -> dict[str, Any]:
    """One slider setting: f before → after, the example's coordinates and per-direction attribution."""
    probs = state.samples.probs
    explained = None if state.samples.classes is None else int(state.samples.classes[index])
    return {
        "f_before": outcome.f_before,
        "f_after": outcome.f_after,
        "explained_class": explained,
        "coords": _floats(outcome.coords / state.spreads),  # in spreads, like the sliders
        "coords_after": _floats(outcome.coords_after / state.spreads),
        "attribution": _floats(outcome.attribution),
        "top_before": top_predictions(None if probs is None else probs[index], names),
        "top_after": top_predictions(outcome.probs_after, names),
    }


def _thumbnail(x: torch.Tensor) -> torch.Tensor:
    side = max(x.shape[-2:])
    if side > THUMBNAIL_SIDE:
        scale = THUMBNAIL_SIDE / side
        size = (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale)))
        x = F.adaptive_avg_pool2d(x.float(), size)
    return x


def thumbnails(data: torch.Tensor, state: DirectionsState, direction: int) -> dict[str, Any]:
    """The top and bottom examples of one direction.

    Indices, coordinates (in spreads) and RGBA images ``[2·ends, H, W, 4]`` (top first); the images are
    None when the data are not images.
    """
    top, bottom = state.top[direction], state.bottom[direction]
    indices = top + bottom
    spread = float(state.spreads[direction])
    coords = [float(state.coords[i, direction]) / spread for i in indices]
    images = None
    if data.ndim == 4:
        stack = [display_rgba(_thumbnail(data[i : i + 1])) for i in indices]
        images = binary_array(torch.stack([torch.from_numpy(s) for s in stack]).numpy())
    return {"direction": direction, "top": top, "bottom": bottom, "coords": coords, "images": images}


def token_fields(
    data: TokenBatch, state: DirectionsState, outcome: SliderOutcome, index: int, position: int | None
) -> dict[str, Any]:
    """Texts: the example's tokens and each one's coordinates (in spreads) before the move."""
    length = int(data.attention_mask[index].sum())
    records = data.tokens[index][:length]
    coords = [] if outcome.token_coords is None else (outcome.token_coords[:length] / state.spreads).tolist()
    return {
        "tokens": [{"text": str(t["text"]), "special": bool(t["special"])} for t in records],
        "token_coords": [[float(v) for v in row] for row in coords],
        "position": -1 if position is None else int(position),
    }


def snippets(data: TokenBatch, state: DirectionsState, direction: int) -> dict[str, Any]:
    """Texts: the tokens with the highest and lowest coordinate along one direction, each with its context."""
    top, bottom = state.top[direction], state.bottom[direction]
    samples = top + bottom
    owner, position = state.samples.owner, state.samples.position
    assert owner is not None and position is not None
    spread = float(state.spreads[direction])
    return {
        "direction": direction,
        "top": [int(owner[i]) for i in top],
        "bottom": [int(owner[i]) for i in bottom],
        "coords": [float(state.coords[i, direction]) / spread for i in samples],
        "images": None,
        "snippets": [snippet(data, int(owner[i]), int(position[i])) for i in samples],
    }
