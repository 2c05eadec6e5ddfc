"""Finding a layer, the model's device, and reading or replacing a module's output through a forward hook.

``capture`` and ``patched`` install one forward hook each and remove it in ``finally``, so the user's model
carries no hook of ours once the block has left, also when it raised.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "Captured",
    "all_modules",
    "capture",
    "first_parameter",
    "model_device",
    "patched",
    "resolve_layer",
    "unknown_name_error",
]


def unknown_name_error(argument: str, value: object, known: Iterable[str]) -> ValueError:
    """A ValueError for an unknown name that suggests the nearest known one (difflib)."""
    known = list(known)
    close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"{argument}={value!r} is not known.{hint} Expected one of: {', '.join(known)}.")


def resolve_layer(model: nn.Module, layer: object) -> tuple[nn.Module, str]:
    """Find ``layer`` (a submodule or its dotted name) in ``model``; return (module, name)."""
    named = dict(model.named_modules())
    if isinstance(layer, str):
        if layer not in named:
            raise unknown_name_error("layer", layer, [n for n in named if n])
        return named[layer], layer
    if isinstance(layer, nn.Module):
        for name, module in named.items():
            if module is layer:
                return module, name
        raise ValueError(
            f"layer={type(layer).__name__}(...) is not a submodule of the model; pass one of "
            "model.named_modules() "
            "(the module object or its dotted name)."
        )
    raise TypeError(
        f"layer must be an nn.Module inside the model or its dotted name, got {type(layer).__name__}."
    )


def all_modules(model: nn.Module) -> list[nn.Module]:
    """``list(model.modules())`` (pre-order, each module once) without building dotted names.

    ``nn.Module.modules`` walks ``named_modules``, which formats a name string for every submodule; the
    single-pass methods walk the tree several times per call, where that walk is a visible part of the cost.
    """
    order = [model]
    seen = {id(model)}

    def visit(module: nn.Module) -> None:
        for child in module._modules.values():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                order.append(child)
                if child._modules:
                    visit(child)

    visit(model)
    return order


def first_parameter(model: nn.Module) -> torch.Tensor | None:
    """The first of ``model.parameters()`` (None without parameters), without the generic member walk."""
    for module in all_modules(model):
        for parameter in module._parameters.values():
            if parameter is not None:
                return parameter
    return None


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); CPU for a model without tensors."""
    parameter = first_parameter(model)
    if parameter is not None:
        return parameter.device
    for buffer in model.buffers():
        return buffer.device
    return torch.device("cpu")


def _split(output: Any) -> tuple[Tensor, Callable[[Tensor], Any]]:
    """The output's tensor (a tensor, or a tuple's/list's first element) and a function to put one back."""
    if isinstance(output, Tensor):
        return output, lambda t: t
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], Tensor):

        def rebuild(t: Tensor) -> Any:
            return type(output)([t, *output[1:]]) if isinstance(output, list) else (t, *output[1:])

        return output[0], rebuild
    raise TypeError(
        f"the hooked module returned {type(output).__name__}; expected a tensor or a tuple "
        "whose first element is a tensor"
    )


class Captured:
    """What :func:`capture` recorded: one tensor per forward call of the module, in call order."""

    def __init__(self) -> None:
        self.outputs: list[Tensor] = []

    @property
    def output(self) -> Tensor:
        """The latest recorded output (raises when the module has not run)."""
        if not self.outputs:
            raise RuntimeError("the captured module has not run inside the block")
        return self.outputs[-1]

    def clear(self) -> None:
        """Forget what was recorded."""
        self.outputs.clear()


@contextmanager
def capture(module: nn.Module, *, leaf: bool = False) -> Iterator[Captured]:
    """Record ``module``'s output (a tensor, or the first tensor of a tuple) on every forward call.

    ``leaf=True`` swaps the output for a detached copy that requires grad and records that leaf, so that
    ``autograd.grad(f, captured.output)`` gives ``∇f`` at the module without touching parameter gradients
    (the model sees a clone: downstream in-place ops may not modify a leaf that requires grad). The hook is
    removed when the block exits, also when it raises.
    """
    record = Captured()

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        tensor, rebuild = _split(output)
        if not leaf:
            record.outputs.append(tensor)
            return None
        captured = tensor.detach().requires_grad_(True)
        record.outputs.append(captured)
        return rebuild(captured.clone())

    handle = module.register_forward_hook(hook)
    try:
        yield record
    finally:
        handle.remove()


@contextmanager
def patched(module: nn.Module, fn: Callable[[Tensor], Tensor]) -> Iterator[nn.Module]:
    """Replace ``module``'s output by ``fn(output)`` inside the block (a tuple output: its first element).

    The forward hook is removed when the block exits, also when it raises.
    """

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        tensor, rebuild = _split(output)
        return rebuild(fn(tensor))

    handle = module.register_forward_hook(hook)
    try:
        yield module
    finally:
        handle.remove()
