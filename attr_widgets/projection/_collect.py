"""Gather activations at a module of a live model, with the gradients of a scalar (or vector) ``f``.

A forward hook on the chosen module swaps its output for a detached copy that requires grad, so that
``autograd.grad(f, activation)`` gives ``∇f`` at that layer without computing (or touching) any parameter
gradients. Hooks exist only inside a ``try … finally``; the model's per-module train/eval flags are restored
and ``requires_grad``/``.grad`` of parameters are never changed, even when ``f`` or the model raises.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .._torch import capture, model_device, resolve_layer
from ._api import important_directions, vector_directions
from ._result import Projection
from ._streaming import DirectionsAccumulator

__all__ = ["Collected", "collect", "accumulate"]

Objective = Callable[[Any, Any], Tensor]


@dataclass(frozen=True)
class Collected:
    """Samples gathered by :func:`collect`, on the model's device.

    Activations with extra position dims (tokens ``[batch, seq, n]``, conv maps ``[batch, h, w, n]`` after
    ``feature_dim`` is moved last) are flattened so that every (example, position) pair is one sample:
    ``E[·]`` in Hilton (2024) then runs over positions as well as examples.

    Attributes:
        acts: ``[N, n]`` activations.
        grads: ``[N, n]`` gradients of scalar f, or ``[N, m, n]`` Jacobians of vector f.
        example: ``[N]`` index (over the whole pass) of the example each sample came from.
        position: ``[N]`` flat position index within its example (0 for ``[batch, n]`` activations).
        outputs: ``[E]`` or ``[E, m]`` values of f per example.
    """

    acts: Tensor
    grads: Tensor
    example: Tensor
    position: Tensor
    outputs: Tensor

    def directions(self, k: int, **options: Any) -> Projection:
        """:func:`important_directions` (or :func:`vector_directions` for Jacobians) on these samples."""
        if self.grads.ndim == 3:
            return vector_directions(self.acts, self.grads, k, **options)
        return important_directions(self.acts, self.grads, k, **options)


@dataclass
class _Batch:
    acts: Tensor
    grads: Tensor
    position: Tensor
    n_examples: int
    example: Tensor
    outputs: Tensor


def _resolve_module(model: nn.Module, module: nn.Module | str) -> nn.Module:
    """:func:`resolve_layer`, with this module's argument name (``module``) in its errors."""
    if not isinstance(module, (str, nn.Module)):
        raise TypeError(
            f"module must be an nn.Module inside model or its dotted name; got {type(module).__name__}"
        )
    try:
        return resolve_layer(model, module)[0]
    except ValueError as err:
        if isinstance(module, str):
            # A shared module reached through a second name is not in named_modules(); get_submodule finds it.
            try:
                return model.get_submodule(module)
            except AttributeError:
                raise ValueError(f"module {module!r} is not a submodule of the model: {err}") from err
        raise ValueError("module must be a submodule of model (the hook would never fire)") from err


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {key: _to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _run(model: nn.Module, batch: Any, forward: Callable[[nn.Module, Any], Any] | None) -> Any:
    if forward is not None:
        return forward(model, batch)
    if isinstance(batch, Mapping):
        return model(**batch)
    if isinstance(batch, (tuple, list)):
        return model(batch[0])
    return model(batch)


def _positions_mask(batch: Any, mask: Any, b: int, positions: int, device: torch.device) -> Tensor | None:
    if callable(mask):
        mask = mask(batch)
    elif mask is None and isinstance(batch, Mapping) and isinstance(batch.get("attention_mask"), Tensor):
        candidate = batch["attention_mask"]
        mask = candidate if candidate.numel() == b * positions else None
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask.numel() != b * positions:
        raise ValueError(
            f"mask must give one bool per (example, position), {b} x {positions}; "
            f"got {getattr(mask, 'shape', mask)}"
        )
    return mask.to(device).reshape(b * positions).bool()


def _samples(t: Tensor, feature_dim: int) -> Tensor:
    """``[B, ..., n, ...]`` → ``[B, P, n]`` with the feature dim last and positions flattened."""
    if t.ndim < 2 or not (-t.ndim <= feature_dim < t.ndim) or feature_dim % t.ndim == 0:
        raise ValueError(
            f"feature_dim={feature_dim} must name a non-batch dim of the module output, which has shape "
            f"{tuple(t.shape)} (dim 0 is the batch)"
        )
    n = t.shape[feature_dim]
    return torch.movedim(t, feature_dim, -1).reshape(t.shape[0], -1, n)


def _iterate(
    model: nn.Module,
    module: nn.Module | str,
    data: Iterable[Any],
    f: Objective,
    *,
    forward: Callable[[nn.Module, Any], Any] | None,
    feature_dim: int,
    mask: Any,
    progress: bool,
    eval_mode: bool,
    max_batches: int | None,
    desc: str,
) -> Generator[_Batch, None, None]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not callable(f):
        raise TypeError(f"f must be callable (output, batch) -> Tensor [B] or [B, m]; got {type(f).__name__}")
    target = _resolve_module(model, module)
    device = model_device(model)
    modes = [(m, m.training) for m in model.modules()]
    total = len(data) if hasattr(data, "__len__") else None  # type: ignore[arg-type]
    if max_batches is not None and total is not None:
        total = min(total, max_batches)
    bar = tqdm(data, total=total, disable=not progress, desc=desc)
    seen = 0
    captured = None
    try:
        if eval_mode:
            model.eval()
        with capture(target, leaf=True) as captured, torch.enable_grad():
            for index, batch in enumerate(bar):
                if max_batches is not None and index >= max_batches:
                    break
                batch = _to_device(batch, device)
                captured.clear()
                out = f(_run(model, batch, forward), batch)
                if len(captured.outputs) != 1:
                    raise ValueError(
                        f"module ran {len(captured.outputs)} times in one forward pass; expected exactly once"
                    )
                leaf = captured.outputs[0]
                yield _gradients(leaf, out, batch, mask, feature_dim, seen, device)
                seen += leaf.shape[0]
    finally:
        if captured is not None:
            captured.clear()
        for m, training in modes:
            m.training = training
        bar.close()


def _gradients(
    leaf: Tensor, out: Any, batch: Any, mask: Any, feature_dim: int, seen: int, device: torch.device
) -> _Batch:
    b = leaf.shape[0]
    if not isinstance(out, Tensor) or out.ndim not in (1, 2) or out.shape[0] != b:
        raise ValueError(
            f"f must return a tensor of shape [B] (scalar per example) or [B, m] (vector) with B={b}; "
            f"got {getattr(out, 'shape', type(out).__name__)}"
        )
    if not out.requires_grad:
        raise ValueError("f's output does not depend on the hooked module's output (no gradient path)")
    columns = [out] if out.ndim == 1 else [out[:, j] for j in range(out.shape[1])]
    grads = []
    for j, column in enumerate(columns):
        (g,) = torch.autograd.grad(column.sum(), leaf, retain_graph=j + 1 < len(columns), allow_unused=True)
        grads.append(torch.zeros_like(leaf) if g is None else g)
    acts = _samples(leaf.detach(), feature_dim)
    positions = acts.shape[1]
    stacked = torch.stack([_samples(g, feature_dim) for g in grads], dim=-2)  # [B, P, m, n]
    acts, stacked = acts.reshape(b * positions, -1), stacked.reshape(b * positions, len(grads), -1)
    example = torch.arange(seen, seen + b, device=device).repeat_interleave(positions)
    position = torch.arange(positions, device=device).repeat(b)
    keep = _positions_mask(batch, mask, b, positions, device)
    if keep is not None:
        acts, stacked, example, position = acts[keep], stacked[keep], example[keep], position[keep]
    grads_out = stacked[:, 0] if out.ndim == 1 else stacked
    return _Batch(acts, grads_out, position, b, example, out.detach())


def collect(
    model: nn.Module,
    module: nn.Module | str,
    data: Iterable[Any],
    f: Objective,
    *,
    forward: Callable[[nn.Module, Any], Any] | None = None,
    feature_dim: int = -1,
    mask: Any = None,
    progress: bool = True,
    eval_mode: bool = True,
    max_batches: int | None = None,
) -> Collected:
    """Run ``model`` over ``data`` and gather activations at ``module`` with the gradients of ``f``.

    Args:
        model: any ``nn.Module``; batches are moved to its device (that of its first parameter/buffer).
        module: the submodule (or its dotted name) whose output is the activation ``X``. If it returns a
            tuple (as transformer blocks do) the first element is used.
        data: an iterable of batches (a DataLoader, a list): a tensor → ``model(batch)``; a tuple/list →
            ``model(batch[0])``; a dict → ``model(**batch)``; or anything with ``forward=``.
        f: ``f(output, batch)`` → ``[B]`` per-example scalars (a logit, a per-example loss, ...) or ``[B, m]``
            for a vector-valued f (Jacobians, Hilton 2024 §4.4). Examples must not interact (eval mode sees to
            batch norm), since the gradient of ``Σ_b f_b`` is taken per activation.
        forward: ``forward(model, batch)`` → output, for batches the defaults above do not fit.
        feature_dim: the dim of the module output holding the n features (``1`` for ``[B, C, H, W]`` conv
            maps); every other non-batch dim is a position.
        mask: which positions to keep: a callable ``batch → bool [B, *positions]``, a tensor, or None (a
            dict batch's ``attention_mask`` is used when its shape fits, so padding tokens are dropped).
        progress: show a tqdm progress bar.
        eval_mode: run the model in eval mode (restored afterwards).
        max_batches: stop after this many batches.
    """
    parts = []
    with contextlib.closing(
        _iterate(
            model,
            module,
            data,
            f,
            forward=forward,
            feature_dim=feature_dim,
            mask=mask,
            progress=progress,
            eval_mode=eval_mode,
            max_batches=max_batches,
            desc="collecting",
        )
    ) as batches:
        parts = list(batches)
    if not parts:
        raise ValueError("data yielded no batches")
    return Collected(
        acts=torch.cat([b.acts for b in parts]),
        grads=torch.cat([b.grads for b in parts]),
        example=torch.cat([b.example for b in parts]),
        position=torch.cat([b.position for b in parts]),
        outputs=torch.cat([b.outputs for b in parts]),
    )


def accumulate(
    model: nn.Module,
    module: nn.Module | str,
    data: Iterable[Any],
    f: Objective,
    *,
    accumulator: DirectionsAccumulator | None = None,
    forward: Callable[[nn.Module, Any], Any] | None = None,
    feature_dim: int = -1,
    mask: Any = None,
    progress: bool = True,
    eval_mode: bool = True,
    max_batches: int | None = None,
) -> DirectionsAccumulator:
    """Like :func:`collect`, but streams every batch into a :class:`DirectionsAccumulator` (bounded memory).

    Returns the accumulator (a new one unless given); call ``.result(k)`` on it. Under ``torch.distributed``,
    give each rank its shard of ``data`` (e.g. with a ``DistributedSampler``) and the result is global.
    """
    acc = DirectionsAccumulator() if accumulator is None else accumulator
    if acc.pca:
        raise ValueError("accumulate() needs an accumulator with pca=False (it feeds gradients)")
    with contextlib.closing(
        _iterate(
            model,
            module,
            data,
            f,
            forward=forward,
            feature_dim=feature_dim,
            mask=mask,
            progress=progress,
            eval_mode=eval_mode,
            max_batches=max_batches,
            desc="accumulating",
        )
    ) as batches:
        for batch in batches:
            if batch.acts.shape[0] == 0:
                continue
            if batch.grads.ndim == 3:
                acc.update(batch.acts, jacobians=batch.grads)
            else:
                acc.update(batch.acts, batch.grads)
    return acc
