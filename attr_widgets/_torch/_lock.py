"""One re-entrant lock per model, owned by the library.

Hook-based methods (DeepLIFT, guided backprop, layer capture, activation patching) install hooks on the
user's modules for the length of a call. Two such calls interleaving on one model (two widgets, or a widget's
background recompute and an ``attribute`` call) would see each other's hooks, so every call that runs the
model takes this lock. It is re-entrant because library calls nest (axiom checks call ``attribute``).
"""

from __future__ import annotations

import threading
import weakref

from torch import nn

_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The library's lock for ``model`` (created on first use, dropped with the model)."""
    with _GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.RLock()
        return lock
