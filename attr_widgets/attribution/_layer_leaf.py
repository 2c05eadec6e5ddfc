"""A layer's activations kept from the first forward: layer methods in one pass.

Layer gradient × activation and layer activation need the layer's output (or input) on ``x`` and, for the
first, the gradient of the target score with respect to it. Captum gets them with a forward of its own after
ours; here the first forward of ``attribute`` already runs the model, so a hook on the layer keeps its
activations, and ``autograd.grad(score, activations)`` is Captum's gradient (autograd stops at the requested
tensors: nothing is back-propagated through the part before the layer) without a second forward.

An activation already on the graph (the usual case: the weights before the layer require grad) is kept as it
is, so gradients w.r.t. several outputs of one layer are the same total derivatives Captum computes (one
output may be computed from another). One that is not on a graph (frozen weights, integer inputs) becomes a
leaf (``detach().requires_grad_()``) and the model is fed a clone of it, so that an in-place operation after
the layer neither fails on the leaf nor changes the values kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ._layer_path import _with_tensors, layer_tensors


def _on_graph(tensors: tuple[torch.Tensor, ...]) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """(the activations to keep, the tensors to feed on): leaves and their clones where not on a graph."""
    kept = tuple(t if t.requires_grad else t.detach().requires_grad_(True) for t in tensors)
    fed = tuple(t if t is k else k.clone() for t, k in zip(tensors, kept, strict=True))
    return kept, fed


class LayerLeaves:
    """Hooks ``layer`` to keep its output (or its floating tensor inputs) from one forward, on a graph.

    ``leaves`` holds them after the forward, in the order of ``layer_tensors`` (or of the arguments).
    """

    def __init__(self, layer: nn.Module, *, layer_input: bool = False) -> None:
        self.layer = layer
        self.layer_input = layer_input
        self.leaves: tuple[torch.Tensor, ...] = ()
        self.calls = 0

    def _count(self) -> None:
        self.calls += 1
        if self.calls > 1:
            raise ValueError(
                "layer: the layer is called more than once per forward pass; pick a layer used once."
            )

    def _output_hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        self._count()
        tensors = layer_tensors(output)
        self.leaves, fed = _on_graph(tensors)
        unchanged = all(a is b for a, b in zip(fed, tensors, strict=True))
        return None if unchanged else _with_tensors(output, fed)

    def _input_hook(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self._count()
        positions = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.is_floating_point()]
        if not positions:
            raise ValueError("layer: attribute_to_layer_input=True needs a floating-point tensor input.")
        self.leaves, fed = _on_graph(tuple(args[i] for i in positions))
        replaced = list(args)
        for position, tensor in zip(positions, fed, strict=True):
            replaced[position] = tensor
        return tuple(replaced)

    @contextmanager
    def attached(self) -> Iterator[LayerLeaves]:
        """Register the hook for the duration of the block (removed also when the forward raises)."""
        if self.layer_input:
            handle = self.layer.register_forward_pre_hook(self._input_hook)
        else:
            handle = self.layer.register_forward_hook(self._output_hook)
        try:
            yield self
        finally:
            handle.remove()
        if self.calls == 0:
            raise ValueError(
                "layer: the layer was not called during the forward pass; is it part of forward()?"
            )
