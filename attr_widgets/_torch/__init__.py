"""Model plumbing shared by ``attr_widgets.attribution`` and ``attr_widgets.projection`` (torch only).

Resolving a layer by name, the model's device, the per-model lock, capturing and patching an activation:
every library that touches a user's model goes through here, so the rules for touching it live in one place.
"""

from ._lock import model_lock
from ._modules import (
    Captured,
    all_modules,
    capture,
    first_parameter,
    model_device,
    patched,
    resolve_layer,
    unknown_name_error,
)

__all__ = [
    "Captured",
    "all_modules",
    "capture",
    "first_parameter",
    "model_device",
    "model_lock",
    "patched",
    "resolve_layer",
    "unknown_name_error",
]
