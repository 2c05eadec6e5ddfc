"""Gradients w.r.t. a layer's activations without recomputing the prefix for every step.

Captum's LayerIntegratedGradients runs the whole model on ``n_steps × B`` copies of the input and swaps the
layer's output for interpolated activations. Here a forward hook swaps in the interpolated activations while
the part of the model before the layer runs on the ``B`` original examples only, under ``no_grad`` (the hook
switches autograd on for the suffix). Only the suffix sees ``n_steps × B`` rows.

That is exact when nothing computed before the layer reaches the part after it except through the layer.
When something does (a residual around the layer, an attention mask built from the inputs), the batched
suffix cannot line up with the ``B``-row prefix tensors and the forward raises (a shape or index error); we
then run the prefix per example (one row, which broadcasts against that example's steps: still exact, still
once per example), and as a last resort the prefix on every row, like Captum.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ._batching import OutOfMemoryError
from ._scorer import Scorer

STRATEGIES = ("batched", "per_example", "full")


def first_tensor(output: Any) -> torch.Tensor:
    """The first attributed tensor of a layer's output: the output itself or the first tensor of a tuple."""
    return layer_tensors(output)[0]


def _positions(output: Any) -> list[int]:
    """Indices of the floating-point tensors of a tuple output (the ones a layer method attributes)."""
    return [i for i, item in enumerate(output) if isinstance(item, torch.Tensor) and item.is_floating_point()]


def layer_tensors(output: Any) -> tuple[torch.Tensor, ...]:
    """The attributed tensors of a layer's output: the tensor itself, or every float tensor of a tuple.

    Captum attributes each tensor of a tuple output; so do we (non-tensor entries such as ``None`` and integer
    tensors are passed through untouched).
    """
    if isinstance(output, torch.Tensor):
        return (output,)
    if isinstance(output, (tuple, list)):
        positions = _positions(output)
        if positions:
            return tuple(output[i] for i in positions)
        if output and isinstance(output[0], torch.Tensor):
            return (output[0],)
    raise ValueError(
        f"layer: its output must be a tensor or a tuple of tensors, got {type(output).__name__}."
    )


def _with_tensors(output: Any, tensors: tuple[torch.Tensor, ...]) -> Any:
    if isinstance(output, torch.Tensor):
        return tensors[0]
    items = list(output)
    positions = _positions(output) or [0]
    for position, tensor in zip(positions, tensors, strict=True):
        items[position] = tensor
    return items if isinstance(output, list) else tuple(items)


def pack(tensors: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Several per-example tensors as one ``[B, D1 + D2 + ...]`` tensor (one path for all of them)."""
    batch = tensors[0].shape[0]
    return torch.cat([t.reshape(batch, -1) for t in tensors], dim=1)


def unpack(packed: torch.Tensor, shapes: tuple[torch.Size, ...]) -> tuple[torch.Tensor, ...]:
    """Inverse of :func:`pack` for ``packed`` rows and the per-example ``shapes``."""
    sizes = [int(torch.Size(shape).numel()) for shape in shapes]
    parts = packed.split(sizes, dim=1)
    return tuple(part.reshape(packed.shape[0], *shape) for part, shape in zip(parts, shapes, strict=True))


class LayerTap:
    """A forward hook on ``layer`` that captures its output or replaces it (registered only in a context)."""

    def __init__(self, layer: nn.Module) -> None:
        self.layer = layer
        self.replacement: torch.Tensor | None = None
        # The layer's output on the last captured forward: a tensor, or a tuple when it has several tensors.
        self.captured: Any = None
        # Set (per-example shapes) when the replacement is a packed tuple of tensors (see ``pack``).
        self.packed_shapes: tuple[torch.Size, ...] | None = None
        self.calls = 0

    def _hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise ValueError(
                "layer: the layer is called more than once per forward pass; pick a layer used once."
            )
        tensors = layer_tensors(output)
        if self.replacement is None:
            detached = tuple(t.detach() for t in tensors)
            self.captured = detached[0] if len(detached) == 1 else detached
            return None
        if self.packed_shapes is not None:
            produced_shapes = tuple(t.shape[1:] for t in tensors)
            if produced_shapes != self.packed_shapes:
                raise ValueError(
                    f"layer: activations of shapes {produced_shapes} cannot take the replacement."
                )
            # The prefix ran without autograd; the suffix needs it.
            torch.set_grad_enabled(True)
            return _with_tensors(output, unpack(self.replacement, self.packed_shapes))
        produced = tensors[0]
        if produced.shape[1:] != self.replacement.shape[1:]:
            raise ValueError(
                f"layer: activations of shape {tuple(produced.shape)} cannot take the replacement."
            )
        torch.set_grad_enabled(True)
        return _with_tensors(output, (self.replacement, *tensors[1:]))

    @contextmanager
    def attached(self) -> Iterator[LayerTap]:
        """Register the hook for the duration of the block."""
        handle = self.layer.register_forward_hook(self._hook)
        try:
            yield self
        finally:
            handle.remove()

    def run(
        self, scorer: Scorer, x: torch.Tensor, kwarg_rows: torch.Tensor | None, rows: int
    ) -> torch.Tensor:
        """One forward pass; returns the selected ``[rows, classes]`` output."""
        self.calls = 0
        raw = scorer.run_model(x, scorer.kwargs(kwarg_rows))
        if self.calls == 0:
            raise ValueError(
                "layer: the layer was not called during the forward pass; is it part of forward()?"
            )
        from ._outputs import select_output

        return select_output(raw, scorer.output, batch_size=rows)


def capture(tap: LayerTap, scorer: Scorer, x: torch.Tensor) -> tuple[Any, torch.Tensor]:
    """The layer's activations on ``x`` (a tensor, or a tuple of tensors) and the target scores ``[B]``."""
    from ._outputs import gather_scores

    tap.replacement = None
    with torch.no_grad():
        logits = tap.run(scorer, x, None, x.shape[0])
    assert tap.captured is not None
    return tap.captured, gather_scores(logits, scorer.target, None).detach()


class LayerGradients:
    """``gradient_fn(points, rows)`` for layer activations, using the cheapest strategy that works."""

    def __init__(
        self,
        tap: LayerTap,
        scorer: Scorer,
        inputs: torch.Tensor,
        strategy: str = "batched",
        grad_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"layer_strategy must be one of {STRATEGIES}, got {strategy!r}.")
        self.tap, self.scorer, self.inputs = tap, scorer, inputs
        # Extra arguments of torch.autograd.grad, as Captum's grad_kwargs (e.g. retain_graph).
        self.grad_kwargs = dict(grad_kwargs or {})
        self.strategy = strategy
        self.prefix_rows = 0  # rows the prefix ran on (for the benchmark and tests)

    def _gradient(
        self, x: torch.Tensor, kwarg_rows: torch.Tensor | None, points: torch.Tensor, rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        from ._outputs import gather_scores

        leaf = points.detach().requires_grad_(True)
        self.tap.replacement = leaf
        try:
            with torch.no_grad():
                logits = self.tap.run(self.scorer, x, kwarg_rows, leaf.shape[0])
                scores = gather_scores(logits, self.scorer.target, rows)
                if not scores.requires_grad:
                    raise ValueError("model: the target score does not depend differentiably on the layer.")
                (grad,) = torch.autograd.grad(scores.sum(), leaf, **self.grad_kwargs)
        finally:
            self.tap.replacement = None
        self.prefix_rows += x.shape[0]
        return grad, scores.detach()

    def __call__(self, points: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """∇ of the target score w.r.t. the layer activations ``points`` of examples ``rows``."""
        return self.scored(points, rows)[0]

    def scored(self, points: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(∇, the target scores ``[N]``) at the layer activations ``points`` of examples ``rows``."""
        batch = self.inputs.shape[0]
        if self.strategy == "batched" and batch > 1:
            aligned = len(rows) != batch or bool((rows == torch.arange(batch, device=rows.device)).all())
            if aligned:
                try:
                    return self._gradient(self.inputs, None, points, rows)
                except OutOfMemoryError:
                    raise
                except Exception:  # noqa: BLE001 - any shape clash means the prefix reaches the suffix
                    self.strategy = "per_example"
        if self.strategy in ("batched", "per_example"):
            try:
                return self._per_example(points, rows)
            except OutOfMemoryError:
                raise
            except Exception:  # noqa: BLE001 - the full strategy re-raises genuine errors
                self.strategy = "full"
        return self._gradient(self.inputs[rows], rows, points, rows)

    def _per_example(self, points: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        grads = torch.empty_like(points)
        scores = torch.empty(points.shape[0], dtype=points.dtype, device=points.device)
        for example in torch.unique(rows).tolist():
            chosen = (rows == example).nonzero().squeeze(1)
            index = torch.tensor([example], device=rows.device)
            grads[chosen], part = self._gradient(
                self.inputs[example : example + 1], index, points[chosen], rows[chosen]
            )
            scores[chosen] = part.to(scores.dtype)
        return grads, scores
