"""Leave the user's model exactly as we found it: modes, requires_grad, .grad, buffers and hooks.

Every attribution runs inside :func:`preserved_model`. Captum and our own layer code register hooks; they are
removed in ``finally`` blocks, but this context manager is the last line of defence: whatever hook, mode or
flag changed while it was open is put back when it closes, also when the attribution raised.
"""

from __future__ import annotations

import re
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch
from torch import nn

from .._torch import all_modules
from .._torch import model_device as model_device  # re-exported: moved to attr_widgets._torch

T = TypeVar("T")

# The per-module dictionaries that hold hooks keyed by handle id (torch.nn.Module internals).
HOOK_DICT_NAMES = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)


def hook_counts(model: nn.Module) -> dict[str, int]:
    """Number of hooks of each kind on ``model`` and all its submodules (for tests and sanity checks)."""
    counts = {name: 0 for name in HOOK_DICT_NAMES}
    for module in model.modules():
        for name in HOOK_DICT_NAMES:
            counts[name] += len(getattr(module, name, {}) or {})
    return counts


def _hook_snapshot(modules: list[nn.Module]) -> dict[int, dict[str, set[int]]]:
    # Only the non-empty dictionaries: most modules have no hooks, and this runs on every attribution.
    snapshot: dict[int, dict[str, set[int]]] = {}
    for module in modules:
        attributes = module.__dict__
        present = {name: set(hooks) for name in HOOK_DICT_NAMES if (hooks := attributes.get(name))}
        if present:
            snapshot[id(module)] = present
    return snapshot


# Hooks defined in these packages are attribution machinery; others belong to the model (Hugging Face models
# install output-capturing hooks lazily, on their first call with output_attentions=True, and rely on them).
_ATTRIBUTION_PACKAGES = ("captum", "attr_widgets")


def _hook_package(hook: object) -> str:
    function = getattr(hook, "func", hook)  # functools.partial
    function = getattr(function, "__func__", function)  # bound method
    return (getattr(function, "__module__", None) or "").split(".")[0]


def _remove_new_hooks(model: nn.Module, snapshot: dict[int, dict[str, set[int]]]) -> None:
    for module in model.modules():
        before = snapshot.get(id(module), {})
        attributes = module.__dict__
        for name in HOOK_DICT_NAMES:
            hooks = attributes.get(name)
            if not hooks or hooks.keys() == before.get(name):
                continue  # nothing added (the common case)
            added = [key for key in hooks if key not in before.get(name, set())]
            owners = {key: _hook_package(hooks[key]) for key in added if not isinstance(hooks[key], bool)}
            for key in added:
                # The *_with_kwargs / *_always_called dicts hold flags keyed like the hooks they qualify.
                if owners.get(key, _flag_owner(module, key)) in _ATTRIBUTION_PACKAGES:
                    del hooks[key]


def _flag_owner(module: nn.Module, key: int) -> str:
    for name in ("_forward_hooks", "_forward_pre_hooks"):
        hook = (getattr(module, name, None) or {}).get(key)
        if hook is not None:
            return _hook_package(hook)
    return "captum"  # a flag whose hook is gone: it was removed by us above or by its owner


@contextmanager
def preserved_model(model: nn.Module, *, restore_buffers: bool = True) -> Iterator[nn.Module]:
    """Run a block that may touch ``model`` and restore every observable piece of state afterwards.

    Restored: each submodule's ``training`` flag, each parameter's ``requires_grad`` and ``.grad``, the values
    of buffers when some module is in training mode (BatchNorm running statistics would otherwise drift), and
    the hook dictionaries of every submodule (hooks that Captum or this package added inside the block are
    removed; hooks the model installs itself are its own business). ``restore_buffers=False`` skips the
    buffer snapshot for blocks that run the model through :func:`with_private_buffers` and so never write
    the user's buffers.
    """
    modules = list(model.modules())
    training = [(module, module.training) for module in modules]
    # One traversal for everything (parameters shared between modules counted once): this runs per call.
    params = dict.fromkeys(p for m in modules for p in m._parameters.values() if p is not None)
    requires_grad = [(p, p.requires_grad, p.grad) for p in params]
    buffers = []
    if restore_buffers and any(flag for _, flag in training):
        # Forward passes in train mode update running statistics; keep a copy to write back.
        buffers = [(b, b.detach().clone()) for b in model.buffers()]
    hooks = _hook_snapshot(modules)
    try:
        yield model
    finally:
        _remove_new_hooks(model, hooks)
        for module, flag in training:
            # Set the flag directly: ``module.train(flag)`` would recurse and override the children's flags.
            if module.training != flag:
                module.training = flag
        for param, flag, grad in requires_grad:
            if param.requires_grad != flag:
                param.requires_grad_(flag)
            if param.grad is not grad:
                param.grad = grad
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


class _Block(nn.Module):
    """Holds ``model`` as a submodule so that ``functional_call`` can swap its buffers around ``run()``."""

    def __init__(self, model: nn.Module, run: Callable[[], T]) -> None:
        super().__init__()
        self.model = model
        self.run = run

    def forward(self) -> Any:
        return self.run()


def any_training(model: nn.Module) -> bool:
    """Whether ``model`` or any of its submodules is in training mode."""
    return any(module.training for module in all_modules(model))


def with_private_buffers(model: nn.Module, run: Callable[[], T]) -> T:
    """``run()`` with every buffer of ``model`` replaced by a private copy while it runs.

    In training mode BatchNorm updates ``running_mean`` / ``running_var`` / ``num_batches_tracked`` in place
    on every forward. Rather than letting it write the user's tensors and copying them back afterwards, the
    forwards (ours and Captum's, which call the same modules) see clones via ``torch.func.functional_call``,
    which puts the original tensors back when ``run`` returns or raises. In eval mode nothing writes buffers,
    so ``run()`` is called directly.
    """
    if not any_training(model):
        return run()
    clones = {f"model.{name}": buffer.detach().clone() for name, buffer in model.named_buffers()}
    if not clones:
        return run()
    return torch.func.functional_call(_Block(model, run), clones, ())  # type: ignore[no-any-return]


def _training_sensitive(module: nn.Module) -> bool:
    """Whether ``module`` computes something different in train mode: dropout or batch statistics."""
    if isinstance(module, (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)):
        return True
    if isinstance(module, nn.modules.instancenorm._InstanceNorm):
        return module.track_running_stats
    # Recurrent layers and attention take their dropout as an argument rather than a Dropout submodule.
    return isinstance(module, (nn.RNNBase, nn.MultiheadAttention)) and float(module.dropout) > 0


def train_mode_modules(model: nn.Module) -> list[str]:
    """Type names of the modules in training mode that behave differently there (dropout, BatchNorm, ...).

    A freshly built ``nn.Module`` is in training mode; for plain layers (Linear, Conv, ReLU) the mode
    changes nothing, so only these modules make train mode matter. Custom code that reads
    ``self.training`` itself is not seen.
    """
    return sorted({type(m).__name__ for m in all_modules(model) if m.training and _training_sensitive(m)})


_warned_training: weakref.WeakSet[nn.Module] = weakref.WeakSet()


def warn_if_training(model: nn.Module) -> None:
    """Warn once per model that train mode makes attributions random and batch-dependent (modes untouched)."""
    if model in _warned_training:
        return
    names = train_mode_modules(model)
    if not names:
        return
    _warned_training.add(model)
    warnings.warn(
        f"attribute: the model is in training mode with {', '.join(names)}: dropout draws new masks on every "
        "forward and BatchNorm normalises with the statistics of the batch, so attributions are random and "
        "depend on which examples are batched together. Call model.eval() first unless that is what you "
        "want. The modes are left as they are, running statistics are not updated, and such results are not "
        "cached. (Shown once per model.)",
        UserWarning,
        stacklevel=4,
    )


# Messages Captum (and torch on Captum's behalf) emit on perfectly normal calls. We handle the situations they
# describe ourselves (inputs are detached copies that we mark as requiring grad), so they carry no information
# for our users.
_EXPECTED_WARNINGS = (
    r"Input Tensor \d+ did not already require gradients",
    r".*required_grads has been set automatically",
    r"Setting forward, backward hooks and attributes on non-linear",
    r"Setting backward hooks on ReLU activations",
    r"Using a non-full backward hook",
    r"Full backward hook will not fire",
    r".*does not have any requires_grad",
    r"Multiple baselines provided",
)
_EXPECTED_PATTERN = re.compile("|".join(f"(?:{p})" for p in _EXPECTED_WARNINGS))


@contextmanager
def quiet_captum() -> Iterator[None]:
    """Silence the warnings Captum emits on normal calls; other warnings still reach the user."""
    with warnings.catch_warnings():
        for pattern in _EXPECTED_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        warnings.filterwarnings("ignore", module=r"captum(\.|$)")
        yield
