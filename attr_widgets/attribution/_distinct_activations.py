"""A view of a model in which every reused activation module is a distinct module per call.

torchvision's ResNets call one ``nn.ReLU(inplace=True)`` several times per block. DeepLIFT (Shrikumar et al.,
"Learning Important Features Through Propagating Activation Differences", 2017) in Captum keeps each hooked
nonlinearity's input and output *on the module*, so the second call overwrites the first and the backward
pass fails ("A Module ReLU(inplace=True) was detected that does not contain some of the input/output
attributes"). The fix is the model a user would write with one ReLU per call site: :func:`distinct_view`
builds it without touching the user's model.

The view is a shallow copy of just the containers on the way to a reused module; every other module is the
user's own object, and every copy shares its parameter and buffer dictionaries with the original (so it
computes the same function with the same tensors, also under ``torch.func.functional_call``). A reused
module becomes a :class:`PerCall`, whose i-th call in one forward runs its i-th copy. Which modules are
reused is found once per model structure by counting calls in one forward (no gradient) and cached.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ._model_state import HOOK_DICT_NAMES


class PerCall(nn.Module):
    """Stands in for a module called ``calls`` times per forward: the i-th call runs ``copies[i]``.

    The counter is reset by the view's root before each forward; it wraps around (modulo), so a forward that
    calls the module more often than the counted one still runs (and Captum then reports it).
    """

    def __init__(self, original: nn.Module, calls: int) -> None:
        super().__init__()
        self.copies = nn.ModuleList([_shallow_copy(original) for _ in range(calls)])
        self.calls_made = 0

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the copy for this call site."""
        module = self.copies[self.calls_made % len(self.copies)]
        self.calls_made += 1
        return module(*args, **kwargs)


class DistinctView(nn.Module):
    """The model with its reused activations made distinct; resets the call counters on every forward."""

    def __init__(self, model: nn.Module, per_call: list[PerCall]) -> None:
        super().__init__()
        self.model = model
        self._per_call = per_call

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The user's forward, through the copied module tree."""
        for module in self._per_call:
            module.calls_made = 0
        return self.model(*args, **kwargs)


def _shallow_copy(module: nn.Module) -> nn.Module:
    """A new module object sharing parameters and buffers (the same dicts), with its own hooks and children.

    Hooks the user registered are kept (copied); hooks added to the copy (Captum's) stay on the copy.
    """
    twin = copy.copy(module)
    for name in HOOK_DICT_NAMES:
        hooks = module.__dict__.get(name)
        if hooks is not None:
            twin.__dict__[name] = copy.copy(hooks)
    twin.__dict__["_modules"] = dict(module._modules)
    return twin


def _structure_key(model: nn.Module, inputs: torch.Tensor) -> tuple:
    modules = tuple((name, id(module), module.training) for name, module in model.named_modules())
    return (modules, tuple(inputs.shape[1:]), inputs.dtype)


# model -> (structure key, ids of reused parameter-free leaf modules -> calls per forward)
_reuse_counts: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, dict[int, int]]] = (
    weakref.WeakKeyDictionary()
)


def reused_activations(
    model: nn.Module, inputs: torch.Tensor, run: Callable[[torch.Tensor], Any]
) -> dict[int, int]:
    """``{id(module): calls}`` for the parameter-free leaf modules one forward calls more than once.

    ``run(x)`` is one forward of the model (with its keyword arguments) on the batch; it is called without
    gradients, only when the model's structure (modules, modes) or the input shape changed.
    """
    key = _structure_key(model, inputs)
    known = _reuse_counts.get(model)
    if known is not None and known[0] == key:
        return known[1]
    counts: dict[int, int] = {}
    leaves = [
        m for m in model.modules() if not m._modules and not any(True for _ in m.parameters(recurse=False))
    ]

    def count(module: nn.Module, _args: object) -> None:
        counts[id(module)] = counts.get(id(module), 0) + 1

    handles = [m.register_forward_pre_hook(count) for m in leaves]
    # The whole batch (BatchNorm in train mode needs more than one row), and the global RNGs as they were
    # (dropout in train mode draws from them): the probe leaves no trace.
    devices = [inputs.device] if inputs.device.type == "cuda" else []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            run(inputs.clone())
    finally:
        for handle in handles:
            handle.remove()
    reused = {ident: calls for ident, calls in counts.items() if calls > 1}
    _reuse_counts[model] = (key, reused)
    return reused


def distinct_view(model: nn.Module, reused: dict[int, int]) -> tuple[nn.Module, dict[int, nn.Module]]:
    """``model`` itself when nothing is reused, else a :class:`DistinctView` (the user's model untouched).

    Also returns ``{id(original module): its module in the view}`` for the modules that were copied.
    """
    if not reused:
        return model, {}
    per_call: list[PerCall] = []
    memo: dict[int, nn.Module] = {}

    def rebuild(module: nn.Module) -> nn.Module:
        ident = id(module)
        if ident in memo:
            return memo[ident]  # a module registered under several parents is one object in the view too
        if ident in reused:
            stand_in = PerCall(module, reused[ident])
            per_call.append(stand_in)
            memo[ident] = stand_in
            return stand_in
        children = {name: child for name, child in module._modules.items() if child is not None}
        rebuilt = {name: rebuild(child) for name, child in children.items()}
        if all(rebuilt[name] is child for name, child in children.items()):
            memo[ident] = module  # nothing reused below: the user's own module
            return module
        twin = _shallow_copy(module)
        twin._modules.update(rebuilt)
        memo[ident] = twin
        return twin

    view = DistinctView(rebuild(model), per_call)
    return view, memo


def captum_module_for_hooks(request: Any) -> tuple[nn.Module, nn.Module | None]:
    """The request's Captum module over the distinct-activation view of its model, and its layer in the view.

    ``Scorer.captum_module`` with the view as its model; the layer is None without one. For the methods
    that keep per-call state on activation modules (the DeepLIFT family).
    """
    scorer = request.scorer
    model = request.model
    reused = reused_activations(model, request.inputs, lambda x: model(x, **scorer.kwargs(None)))
    module = scorer.captum_module()
    module.model, copies = distinct_view(request.model, reused)
    layer = request.layer
    if layer is not None and id(layer) in reused:
        raise ValueError(
            f"layer={request.layer_name!r} is called {reused[id(layer)]} times in one forward (a reused "
            "activation module), so it has no single activation to attribute to; pick the module before it "
            "or the block that contains it."
        )
    return module, None if layer is None else copies.get(id(layer), layer)
