"""An LRU cache of attributions keyed by everything that determines them.

The key holds the model's identity, the version counter, storage and norm of every parameter and buffer (an
in-place update such as ``optimizer.step()`` or ``load_state_dict`` bumps a version; writes through
``param.data`` change the norm), the modules' train/eval flags, a hash of the input bytes and the settings.
Returning to an earlier setting in a widget is then free, and changing the weights invalidates the entry.

Models with dropout or BatchNorm in training mode are not cached: dropout makes every result a fresh random
draw.
A cached result whose tensors the caller changed in place (``a.values.mul_(0)``) is a miss, detected by the
tensors' version counters recorded when it was stored.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import torch
from torch import nn

from .._torch import all_modules
from ._model_state import train_mode_modules

MAX_ENTRIES = 32

_entries: OrderedDict[Hashable, tuple[weakref.ReferenceType, Any, tuple]] = OrderedDict()


class Uncacheable(Exception):
    """A setting whose value we cannot fingerprint (e.g. a DataLoader): skip the cache."""


def tensor_fingerprint(tensor: torch.Tensor) -> tuple:
    """Shape, dtype, device and a hash of the bytes of ``tensor``."""
    data = tensor.detach()
    if data.device.type != "cpu":
        data = data.cpu()
    raw = data.contiguous().reshape(-1).view(torch.uint8).numpy().data  # a memoryview: hashed, not copied
    return (
        "tensor",
        tuple(tensor.shape),
        str(tensor.dtype),
        str(tensor.device),
        hashlib.blake2b(raw).hexdigest(),
    )


def model_state_key(model: nn.Module, modules: list[nn.Module] | None = None) -> tuple:
    """Identity, version counters, storages and modes: no read of the weights (microseconds).

    Changes on in-place updates of parameters and buffers (``optimizer.step()``, ``load_state_dict``,
    ``nn.init``), on replaced tensors and on mode or ``requires_grad`` changes; not on writes through
    ``param.data``, which has a version counter of its own. ``modules``: ``all_modules(model)`` when the
    caller already walked the tree (``attribute`` does, once per call), so that it is not walked again.
    """
    # One traversal of the modules (this runs on every x_gradient call): their own tensors, shared ones once.
    if modules is None:
        modules = all_modules(model)
    # List comprehensions rather than generators: about half the time on a small model.
    tensors = dict.fromkeys(
        [t for m in modules for d in (m._parameters, m._buffers) for t in d.values() if t is not None]
    )
    return (
        id(model),
        tuple([(t._version, t.data_ptr(), t.requires_grad) for t in tensors]),
        tuple([module.training for module in modules]),
    )


def model_fingerprint(model: nn.Module) -> tuple:
    """:func:`model_state_key` plus the norm of every floating tensor, which catches ``param.data`` writes."""
    tensors = [*model.parameters(), *model.buffers()]
    floating = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    # One fused read of all weights (``_foreach_norm``), cheap next to the forward passes of an attribution.
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for tensor in floating:
        by_dtype.setdefault(tensor.dtype, []).append(tensor)
    norms = [norm for group in by_dtype.values() for norm in torch._foreach_norm(group)]
    return (*model_state_key(model), tuple(torch.stack([n.float() for n in norms]).tolist()) if norms else ())


def _hashable(value: Any) -> Hashable:
    if isinstance(value, torch.Tensor):
        return tensor_fingerprint(value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str, nn.Module)) or callable(value):
        # Modules and callables compare by identity; the key keeps them alive while the entry lives.
        return value
    raise Uncacheable(type(value).__name__)


def make_key(model: nn.Module, inputs: torch.Tensor, settings: Mapping[str, Any]) -> Hashable | None:
    """The cache key, or None when some setting cannot be fingerprinted or dropout / BatchNorm is training."""
    if train_mode_modules(model):
        return None  # every call is a fresh random draw (dropout) or depends on the batch (BatchNorm)
    try:
        return (model_fingerprint(model), tensor_fingerprint(inputs), _hashable(settings))
    except Uncacheable:
        return None


def _versions(value: Any) -> tuple:
    """Version counters of the tensors of a result (its fields and ``info``): in-place writes bump them."""
    fields = vars(value) if hasattr(value, "__dict__") else {}
    info = fields.get("info") or {}
    tensors = [v for v in (*fields.values(), *info.values()) if isinstance(v, torch.Tensor)]
    return tuple((id(t), t._version) for t in tensors)


def lookup(model: nn.Module, key: Hashable | None) -> Any | None:
    """The cached result for ``key`` (moved to the front), or None."""
    if key is None or key not in _entries:
        return None
    ref, value, versions = _entries[key]
    if ref() is not model or _versions(value) != versions:
        del _entries[key]  # model gone, or the caller changed the returned tensors in place
        return None
    _entries.move_to_end(key)
    return value


def store(model: nn.Module, key: Hashable | None, value: Any) -> None:
    """Remember ``value`` under ``key``, evicting the least recently used entries beyond ``MAX_ENTRIES``."""
    if key is None:
        return
    _entries[key] = (weakref.ref(model), value, _versions(value))
    _entries.move_to_end(key)
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)


def clear_cache() -> None:
    """Forget every cached attribution."""
    _entries.clear()


def cache_size() -> int:
    """Number of cached attributions."""
    return len(_entries)
