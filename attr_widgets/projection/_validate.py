"""Argument checks shared by the projection entry points.

Every check raises a ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, bad value) whose
message names the offending argument and says what was expected, so a call can be fixed without the source.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

__all__ = [
    "METHODS",
    "check_k",
    "check_method",
    "check_nonnegative_int",
    "check_rtol",
    "check_samples",
    "check_same_samples",
    "check_generator",
    "default_rtol",
    "working_dtype",
]

METHODS = ("exact", "randomized", "auto")


def working_dtype(*dtypes: torch.dtype) -> torch.dtype:
    """The floating dtype results are returned in: the promoted input dtype, at least float32."""
    out = torch.float32
    for dtype in dtypes:
        out = torch.promote_types(out, dtype)
    return out


def check_samples(value: object, name: str, *, min_samples: int = 2, sample_dims: int = 2) -> Tensor:
    """Check a ``[..., p, n]`` sample tensor (``sample_dims`` trailing dims) and return it as float32/float64.

    Half-precision inputs are upcast to float32 because every route needs at least single precision to reach
    the documented accuracy.
    """
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [..., p, n]; got {type(value).__name__}")
    if not (value.is_floating_point()):
        raise TypeError(f"{name} must have a floating dtype (float32 or float64); got {value.dtype}")
    if value.ndim < sample_dims:
        layout = "[..., p, n]" if sample_dims == 2 else "[..., p, m, n]"
        raise ValueError(
            f"{name} must have shape {layout} (p samples of n features); got shape {tuple(value.shape)}"
        )
    p_dim = value.ndim - sample_dims
    if value.shape[p_dim] < min_samples:
        raise ValueError(
            f"{name} needs at least {min_samples} samples (dim -{sample_dims} is p); "
            f"got shape {tuple(value.shape)}"
        )
    if value.shape[-1] < 1:
        raise ValueError(
            f"{name} needs at least one feature (last dim n >= 1); got shape {tuple(value.shape)}"
        )
    if value.dtype in (torch.float16, torch.bfloat16):
        value = value.float()
    # amax/amin propagate NaN and Inf without allocating a p×n mask (the randomized route promises not to).
    if value.numel() and not (bool(torch.isfinite(value.amax())) and bool(torch.isfinite(value.amin()))):
        bad = int((~torch.isfinite(value)).sum().item())
        raise ValueError(f"{name} contains {bad} NaN or Inf entries; all samples must be finite")
    return value


def check_same_samples(acts: Tensor, other: Tensor, name: str, *, extra_dims: int = 0) -> None:
    """Check that ``other`` holds the same samples as ``acts``: shape (plus ``extra_dims``) and device."""
    if other.device != acts.device:
        raise ValueError(f"{name} is on {other.device} but acts is on {acts.device}; put both on one device")
    if extra_dims == 0:
        if other.shape != acts.shape:
            raise ValueError(
                f"{name} must have the same shape as acts, {tuple(acts.shape)}; got {tuple(other.shape)}"
            )
        return
    expected = (*acts.shape[:-1], "m", acts.shape[-1])
    if (
        other.ndim != acts.ndim + extra_dims
        or other.shape[:-2] != acts.shape[:-1]
        or other.shape[-1] != acts.shape[-1]
    ):
        raise ValueError(
            f"{name} must have shape {expected} (one m x n Jacobian per sample of acts); "
            f"got {tuple(other.shape)}"
        )


def check_k(k: object) -> int:
    """Check the requested number of directions."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int >= 1 (the number of directions); got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1 (the number of directions); got {k}")
    return int(k)


def check_nonnegative_int(value: object, name: str) -> int:
    """Check an iteration count or oversampling size."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 0; got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0; got {value}")
    return int(value)


def check_method(method: object, allowed: tuple[str, ...] = METHODS) -> str:
    """Check the ``method`` keyword."""
    if method not in allowed:
        raise ValueError(f"method must be one of {', '.join(repr(m) for m in allowed)}; got {method!r}")
    return str(method)


def check_rtol(rtol: object) -> float | None:
    """Check the relative singular-value cutoff (None selects :func:`default_rtol`)."""
    if rtol is None:
        return None
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not math.isfinite(float(rtol)):
        raise TypeError(f"rtol must be None or a float in [0, 1); got {rtol!r}")
    if not 0.0 <= float(rtol) < 1.0:
        raise ValueError(f"rtol must be None or a float in [0, 1); got {rtol}")
    return float(rtol)


def check_generator(generator: object, device: torch.device) -> torch.Generator | None:
    """Check that a random generator, if given, lives on the data's device."""
    if generator is None:
        return None
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got {type(generator).__name__}")
    if generator.device.type != device.type:
        raise ValueError(f"generator is on {generator.device} but the samples are on {device}")
    return generator


def default_rtol(dtype: torch.dtype, n: int) -> float:
    """The default relative cutoff below which singular values count as zero.

    Two noise floors: the rounding of the input itself (``n * eps(dtype)``, the LAPACK rank convention) and
    the float64 covariance route, which squares the data and so resolves singular values only down to
    ``sqrt(n * eps(float64))`` of the largest. The larger of the two wins.
    """
    return max(n * torch.finfo(dtype).eps, math.sqrt(n * torch.finfo(torch.float64).eps))
