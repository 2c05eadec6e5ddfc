"""The numbers behind DirectionsWidget (torch only): collect, solve, orient, and one slider pass.

Hilton, "A basis-invariant version of attribution" (2024): the rank-k projection ``P`` minimising
``E[(f(X) − f(μ + P(X − μ)))²]`` to first order comes from the SVD of ``GᵀA``; PCA is the case ``Π = I``.
The activation of one example is one sample: a layer's whole output is flattened into a vector of n features
(so a conv map contributes ``C·H·W`` features, and every direction is a pattern over channels and positions).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from attr_widgets._torch import capture, model_device, patched
from attr_widgets.projection import Projection, RankDeficiencyWarning, important_directions

from ._directions_objective import linearised_objective, linearised_total, truncated
from ._directions_tokens import TokenBatch, forward, logits_of

COLLECT_BATCH = 256
SAMPLED_EXAMPLES = 128  # the subsample the objective of the real (nonlinear) f is measured on
EXAMPLES_PER_END = 5  # top and bottom dataset examples shown per direction

Progress = Callable[[int, int], None]


class TargetReader:
    """Reads ``f`` (one number per example) off the model's output, the way ``target`` says."""

    def __init__(self, target: int | Callable[[Any], Tensor] | None) -> None:
        self.target = target

    def describe(self) -> str:
        if self.target is None:
            return "each example's top class logit"
        if isinstance(self.target, int):
            return f"the logit of class {self.target}"
        return f"target {getattr(self.target, '__name__', 'callable')}(output)"

    def classes(self, out: Any) -> Tensor | None:
        """The class each example is explained for (None: f is not a logit)."""
        if callable(self.target):
            return None
        logits = self._logits(out)
        if self.target is None:
            return logits.detach().argmax(dim=1)
        return torch.full((logits.shape[0],), self.target, dtype=torch.long, device=logits.device)

    def __call__(self, out: Any, classes: Tensor | None, batch: int) -> Tensor:
        if callable(self.target):
            value = self.target(out)
            if not isinstance(value, Tensor) or value.shape != (batch,):
                raise ValueError(
                    f"target: the callable must return a tensor of shape [B] (one scalar f per example), "
                    f"B={batch}; got {getattr(value, 'shape', type(value).__name__)}. Reduce a vector output,"
                    " e.g. target=lambda out: out[:, 3] - out[:, 5]."
                )
            return value
        assert classes is not None
        return self._logits(out).gather(1, classes[:, None])[:, 0]

    def _logits(self, out: Any) -> Tensor:
        out = logits_of(out)  # a dict or an output object with .logits (Hugging Face models)
        if not isinstance(out, Tensor) or out.ndim != 2:
            raise ValueError(
                f"target={self.target!r} picks a class logit, so the model must return [B, classes]; it "
                f"returned {getattr(out, 'shape', type(out).__name__)}. Pass target=callable(output) -> [B]."
            )
        if isinstance(self.target, int) and not 0 <= self.target < out.shape[1]:
            raise ValueError(
                f"target {self.target} is out of range: the model has {out.shape[1]} outputs "
                f"(0..{out.shape[1] - 1})."
            )
        return out


@dataclass(frozen=True)
class Samples:
    """One pass over the data: flattened activations, gradients of f, f, the explained class, outputs."""

    acts: Tensor  # [N, n]
    grads: Tensor  # [N, n]
    f: Tensor  # [N]
    classes: Tensor | None  # [N] or None for a callable target
    probs: Tensor | None  # [N, C] softmax of a logit output, or None
    # Texts (_directions_tokens): a sample per token; its text and position. None for one sample per example.
    owner: Tensor | None = None  # [M]
    position: Tensor | None = None  # [M]


def _restore_modes(model: nn.Module) -> Callable[[], None]:
    modes = [(m, m.training) for m in model.modules()]

    def restore() -> None:
        for module, training in modes:
            module.training = training

    return restore


def _token_samples(leaf: Tensor, grad: Tensor, batch: TokenBatch, start: int) -> tuple[Tensor, ...]:
    """(acts, grads, owner, position) of the batch's non-padding tokens: one sample per token."""
    b, t = batch.shape
    if leaf.ndim != 3 or tuple(leaf.shape[:2]) != (b, t):
        raise ValueError(
            f"layer: with texts, its output must be [batch, tokens, features] = [{b}, {t}, n]; got "
            f"{tuple(leaf.shape)}. Pick a layer that returns the token states (e.g. an encoder block)."
        )
    valid = batch.valid().to(leaf.device)
    owner = torch.arange(start, start + b, device=leaf.device)[:, None].expand(b, t)[valid]
    position = torch.arange(t, device=leaf.device)[None, :].expand(b, t)[valid]
    return leaf.detach()[valid], grad[valid], owner, position


def collect_samples(
    model: nn.Module, layer: nn.Module, data: Tensor | TokenBatch, reader: TargetReader, progress: Progress
) -> Samples:
    """Activations at ``layer`` and ``∇f`` there for every example, in eval mode, hooks removed on exit.

    ``progress(done, total)`` is called after every batch; an exception it raises (a cancel) stops the pass.
    """
    device = model_device(model)
    total = data.shape[0]
    acts: list[Tensor] = []
    grads: list[Tensor] = []
    values: list[Tensor] = []
    classes: list[Tensor] = []
    probs: list[Tensor] = []
    owners: list[Tensor] = []
    positions: list[Tensor] = []
    restore = _restore_modes(model)
    try:
        model.eval()
        with capture(layer, leaf=True) as captured, torch.enable_grad():
            for start in range(0, total, COLLECT_BATCH):
                batch = data[start : start + COLLECT_BATCH]
                captured.clear()
                out = forward(model, batch, device)
                if len(captured.outputs) != 1:
                    raise ValueError(
                        f"layer ran {len(captured.outputs)} times in one forward pass; pick one running once"
                    )
                leaf = captured.outputs[0]
                explained = reader.classes(out)
                f = reader(out, explained, batch.shape[0])
                if not f.requires_grad:
                    raise ValueError("target: f does not depend on the layer's output (no gradient path)")
                (grad,) = torch.autograd.grad(f.sum(), leaf)
                if isinstance(batch, TokenBatch):
                    token_acts, token_grads, owner, position = _token_samples(leaf, grad, batch, start)
                    acts.append(token_acts)
                    grads.append(token_grads)
                    owners.append(owner)
                    positions.append(position)
                else:
                    acts.append(leaf.detach().flatten(1))
                    grads.append(grad.flatten(1))
                values.append(f.detach())
                if explained is not None:
                    classes.append(explained)
                soft = _softmax(out)
                if soft is not None:
                    probs.append(soft)
                progress(min(start + COLLECT_BATCH, total), total)
    finally:
        restore()
    return Samples(
        acts=torch.cat(acts),
        grads=torch.cat(grads),
        f=torch.cat(values),
        classes=torch.cat(classes) if classes else None,
        probs=torch.cat(probs) if len(probs) == len(values) else None,
        owner=torch.cat(owners) if owners else None,
        position=torch.cat(positions) if positions else None,
    )


def _softmax(out: Any) -> Tensor | None:
    out = logits_of(out)
    if isinstance(out, Tensor) and out.ndim == 2 and out.shape[1] >= 2:
        return torch.softmax(out.detach().double(), dim=1).float()
    return None


def orient(projection: Projection, mean_gradient: Tensor) -> Projection:
    """Flip each direction so that moving along it raises f on average (``E[∇f·a_i] ≥ 0``).

    SVD signs are arbitrary; this convention is basis-invariant (``∇f·a`` does not change under a
    reparameterisation), so the same slider does the same thing in any basis. ``mean_gradient``: ``E[∇f]``
    over the data, ``[n]``.
    """
    slope = mean_gradient.to(projection.act_basis.dtype) @ projection.act_basis
    sign = torch.where(slope < 0, -1.0, 1.0).to(projection.act_basis.dtype)
    return replace(projection, act_basis=projection.act_basis * sign, grad_basis=projection.grad_basis * sign)


@dataclass(frozen=True)
class DirectionsState:
    """Everything a (k, target, layer, data) request computes once; slider moves only read it."""

    samples: Samples
    projection: Projection
    pca: Projection
    spreads: Tensor  # [r]: std of each coordinate over the data (one slider unit)
    coords: Tensor  # [N, r]
    objective: list[float]
    pca_objective: list[float]
    top: list[list[int]]
    bottom: list[list[int]]
    # E[(f(X) − f(μ + P_k(X − μ)))²] for the real f on `sampled_examples` examples (see sampled_objective).
    sampled_objective: list[float] = field(default_factory=list)
    pca_sampled_objective: list[float] = field(default_factory=list)
    sampled_examples: int = 0


def solve(samples: Samples, k: int, statistics: Any = None) -> DirectionsState:
    """Important directions and PCA's at the same layer, oriented, with spreads, extremes and objectives.

    ``statistics``: all ranks' ``GlobalStatistics`` (_directions_distributed) when the widget is distributed;
    the directions, orientation and spreads then come from them, the rest from this rank's samples.
    """
    n_samples, n_features = samples.acts.shape
    if statistics is not None:
        n_samples = statistics.count
    limit = min(n_features, n_samples - 1)
    if k > limit:
        warnings.warn(
            RankDeficiencyWarning(
                f"k={k} is more than this layer and data allow ({n_features} features, {n_samples} samples): "
                f"using k={limit}."
            ),
            stacklevel=3,
        )
        k = limit
    if statistics is None:
        mean_gradient = samples.grads.mean(0)
        important = important_directions(samples.acts, samples.grads, k, method="auto")
        projection = orient(important, mean_gradient)
        pca = orient(important_directions(samples.acts, None, k, method="auto"), mean_gradient)
    else:
        from ._directions_distributed import solve_bases

        important, principal = solve_bases(statistics, k, samples.acts.dtype)
        projection = orient(important, statistics.mean_gradient)
        pca = orient(principal, statistics.mean_gradient)
    total = linearised_total(samples.acts, samples.grads, projection.mean)
    coords = projection.coords(samples.acts)
    if statistics is None:
        spreads = coords.std(dim=0, unbiased=False)
    else:
        from ._directions_distributed import global_spreads

        spreads = global_spreads(projection, statistics)
    spreads = torch.where(spreads > 0, spreads, torch.ones_like(spreads))
    ends = min(EXAMPLES_PER_END, samples.acts.shape[0])
    order = coords.argsort(dim=0, descending=True)
    return DirectionsState(
        samples=samples,
        projection=projection,
        pca=pca,
        spreads=spreads,
        coords=coords,
        objective=linearised_objective(samples.acts, samples.grads, projection, total),
        pca_objective=linearised_objective(samples.acts, samples.grads, pca, total),
        top=order[:ends].T.tolist(),
        bottom=order.flip(0)[:ends].T.tolist(),
    )


def sampled_subset(n_examples: int) -> Tensor:
    """A fixed subsample of the data (the same for every request, so curves compare across requests)."""
    generator = torch.Generator().manual_seed(0)
    return torch.randperm(n_examples, generator=generator)[: min(n_examples, SAMPLED_EXAMPLES)].sort().values


def sampled_objective(
    model: nn.Module,
    layer: nn.Module,
    x: Tensor | TokenBatch,
    reader: TargetReader,
    classes: Tensor | None,
    f_true: Tensor,
    projection: Projection,
    step: Callable[[int], None],
) -> list[float]:
    """``E[(f(X) − f(μ + P_k(X − μ)))²]`` for k = 0..r over the examples ``x``: one forward pass per k.

    ``step(count)`` is called after each pass (progress and cancel).
    """
    device = model_device(model)
    values = []
    restore = _restore_modes(model)
    try:
        model.eval()
        with torch.no_grad():
            for k in range(projection.n_directions + 1):
                kept = truncated(projection, k)

                def project(h: Tensor, kept: Projection = kept) -> Tensor:
                    # One sample per example (flattened), or per token (the last dim) for texts.
                    flat = h.reshape(-1, h.shape[-1]) if isinstance(x, TokenBatch) else h.flatten(1)
                    return kept(flat.to(kept.mean.dtype)).to(h.dtype).reshape(h.shape)

                with patched(layer, project):
                    out = forward(model, x, device)
                f = reader(out, classes, x.shape[0])
                values.append(float((f_true.to(f.device) - f).double().square().mean()))
                step(x.shape[0])
    finally:
        restore()
    return values


def with_sampled_objectives(
    model: nn.Module,
    layer: nn.Module,
    data: Tensor | TokenBatch,
    reader: TargetReader,
    state: DirectionsState,
    step: Callable[[int], None],
) -> DirectionsState:
    """``state`` with the objective of the real f measured on :func:`sampled_subset`, for both bases."""
    index = sampled_subset(data.shape[0])
    samples = state.samples
    index_on_device = index.to(samples.f.device)
    classes = None if samples.classes is None else samples.classes[index_on_device]
    f_true = samples.f[index_on_device]
    curves = [
        sampled_objective(model, layer, data[index], reader, classes, f_true, projection, step)
        for projection in (state.projection, state.pca)
    ]
    return replace(
        state,
        sampled_objective=curves[0],
        pca_sampled_objective=curves[1],
        sampled_examples=int(index.numel()),
    )
