"""An LRU cache of attributions keyed by everything that determines them.

The key holds the model's identity, the version counter, storage and norm of every parameter and buffer (an
in-place update such as ``optimizer.step()`` or ``load_state_dict`` bumps a version; writes through
``param.data`` change the norm), the modules' train/eval flags, a hash of the input bytes and the settings.
Returning to an earlier setting in a widget is then free, and changing the weights invalidates the entry.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import torch
from torch import nn

MAX_ENTRIES = 32

_entries: OrderedDict[Hashable, tuple[weakref.ReferenceType, Any]] = OrderedDict()


class Uncacheable(Exception):
    """A setting whose value we cannot fingerprint (e.g. a DataLoader): skip the cache."""


def tensor_fingerprint(tensor: torch.Tensor) -> tuple:
    """Shape, dtype, device and a hash of the bytes of ``tensor``."""
    data = tensor.detach()
    if data.device.type != "cpu":
        data = data.cpu()
    raw = data.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return (
        "tensor",
        tuple(tensor.shape),
        str(tensor.dtype),
        str(tensor.device),
        hashlib.blake2b(raw).hexdigest(),
    )


def model_fingerprint(model: nn.Module) -> tuple:
    """Identity and state versions of the model: changes whenever weights, buffers or modes change."""
    tensors = [*model.parameters(), *model.buffers()]
    floating = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    # Version counters miss writes through ``param.data`` (a separate version counter); the norms catch
    # those at the cost of one read of the weights, cheap next to the forward passes of an attribution.
    norms = torch.stack([torch.linalg.vector_norm(t.float()) for t in floating]).tolist() if floating else []
    return (
        id(model),
        tuple((t._version, t.data_ptr(), t.requires_grad) for t in tensors),
        tuple(norms),
        tuple(module.training for module in model.modules()),
    )


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
    """The cache key, or None when some setting cannot be fingerprinted."""
    try:
        return (model_fingerprint(model), tensor_fingerprint(inputs), _hashable(settings))
    except Uncacheable:
        return None


def lookup(model: nn.Module, key: Hashable | None) -> Any | None:
    """The cached result for ``key`` (moved to the front), or None."""
    if key is None or key not in _entries:
        return None
    ref, value = _entries[key]
    if ref() is not model:
        del _entries[key]
        return None
    _entries.move_to_end(key)
    return value


def store(model: nn.Module, key: Hashable | None, value: Any) -> None:
    """Remember ``value`` under ``key``, evicting the least recently used entries beyond ``MAX_ENTRIES``."""
    if key is None:
        return
    _entries[key] = (weakref.ref(model), value)
    _entries.move_to_end(key)
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)


def clear_cache() -> None:
    """Forget every cached attribution."""
    _entries.clear()


def cache_size() -> int:
    """Number of cached attributions."""
    return len(_entries)
