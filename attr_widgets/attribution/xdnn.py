"""X-DNNs (Hesse, Schaub-Meyer & Roth, *Fast Axiomatic Attribution for Neural Networks*): bias-free networks.

A network built from linear maps (Linear, Conv, pooling by averaging or by order) and positively homogeneous
activations (ReLU, LeakyReLU, PReLU) is *nonnegatively homogeneous* once every bias is removed:
F(αx) = αF(x) for all α > 0. On such a network Integrated Gradients with the zero baseline has the closed form
IG_i(F, x, 0) = x_i ∂F/∂x_i (the "X-Gradient"), one forward and one backward pass instead of ~50.

- :func:`to_xdnn` returns a bias-free deep copy of a model together with a report of what it changed and which
  layers still break homogeneity (the original model is never touched).
- :func:`is_homogeneous` checks F(αx) = αF(x) numerically; :func:`homogeneity_errors` returns the measured
  relative errors behind that verdict.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ._model_state import model_device, preserved_model
from ._outputs import select_output
from ._validation import check_inputs, check_model

__all__ = ["BatchNormScale", "XDNNResult", "homogeneity_errors", "is_homogeneous", "to_xdnn"]

# Leaf modules that are positively homogeneous of degree 1 once their bias (if any) is gone. Matched with
# isinstance, so subclasses count too.
_HOMOGENEOUS_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.ReLU,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
    nn.LPPool1d,
    nn.LPPool2d,
    nn.Upsample,
    nn.PixelShuffle,
    nn.PixelUnshuffle,
    nn.ChannelShuffle,
    nn.ZeroPad1d,
    nn.ZeroPad2d,
    nn.ZeroPad3d,
    nn.ReflectionPad1d,
    nn.ReflectionPad2d,
    nn.ReflectionPad3d,
    nn.ReplicationPad1d,
    nn.ReplicationPad2d,
    nn.ReplicationPad3d,
    nn.CircularPad1d,
    nn.CircularPad2d,
    nn.CircularPad3d,
    nn.Fold,
    nn.Unfold,
)

# Leaf modules that break F(αx) = αF(x) even without a bias, with the reason shown to the user. Order matters
# where types are related (more specific first).
_NON_HOMOGENEOUS_TYPES: tuple[tuple[type[nn.Module] | tuple[type[nn.Module], ...], str], ...] = (
    ((nn.Sigmoid, nn.LogSigmoid, nn.Hardsigmoid), "sigmoid saturates: σ(αz) ≠ ασ(z)"),
    ((nn.Tanh, nn.Tanhshrink, nn.Softsign), "saturating activation: not homogeneous"),
    ((nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d), "softmax: not homogeneous"),
    ((nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish), "smooth gated activation: x·g(x) is not homogeneous"),
    ((nn.ELU, nn.CELU, nn.SELU, nn.Softplus), "exponential branch: not homogeneous"),
    ((nn.ReLU6, nn.Hardtanh), "clips at a fixed level: not homogeneous"),
    ((nn.Hardshrink, nn.Softshrink), "fixed threshold: not homogeneous"),
    (nn.GLU, "gated (a·σ(b)): not homogeneous"),
    (nn.Bilinear, "bilinear form: homogeneous of degree 2, not 1"),
    (
        (nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.CrossMapLRN2d, nn.RMSNorm),
        "normalises by the input's own scale: homogeneous of degree 0 (up to eps), not 1",
    ),
    (
        (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d),
        "normalises by the input's own scale: homogeneous of degree 0 (up to eps), not 1",
    ),
    (nn.MultiheadAttention, "attention softmax: not homogeneous"),
    ((nn.RNNBase, nn.RNNCellBase), "recurrent cell with tanh/sigmoid gates: not homogeneous"),
    ((nn.Embedding, nn.EmbeddingBag), "takes indices, not a real-valued input"),
    (nn.AlphaDropout, "alpha dropout shifts its input in training mode"),
)

# Module types whose bias can be set to None: their forward passes it straight to a functional that accepts
# None. Other modules keep a zero tensor (their forward may index it).
_BIAS_TO_NONE: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.Bilinear,
    nn.modules.conv._ConvNd,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.modules.batchnorm._BatchNorm,
)


class BatchNormScale(nn.Module):
    """A BatchNorm without its shift: ``x · weight / sqrt(running_var + eps)`` per channel (dimension 1).

    This is what an eval-mode BatchNorm computes once its bias and running mean are zero. It never switches
    to batch statistics (training mode), so the network stays homogeneous in both modes.
    """

    weight: nn.Parameter | None
    running_var: torch.Tensor

    def __init__(self, weight: torch.Tensor | None, running_var: torch.Tensor, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone()) if weight is not None else None
        self.register_buffer("running_var", running_var.detach().clone())
        self.eps = float(eps)

    @classmethod
    def from_batchnorm(cls, bn: nn.modules.batchnorm._BatchNorm) -> BatchNormScale:
        """Build the scaling from a BatchNorm's weight, running variance and eps."""
        if bn.running_var is None:
            raise ValueError("bn: a BatchNorm without running statistics has no fixed scale.")
        scale = cls(bn.weight, bn.running_var, bn.eps)
        if bn.weight is not None and scale.weight is not None:
            scale.weight.requires_grad_(bn.weight.requires_grad)
        return scale

    def scale(self) -> torch.Tensor:
        """The per-channel factor ``weight / sqrt(running_var + eps)``."""
        factor = torch.rsqrt(self.running_var + self.eps)
        return factor if self.weight is None else factor * self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale channel c of ``x`` (dimension 1) by ``scale()[c]``."""
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.scale().reshape(shape)

    def extra_repr(self) -> str:
        """Channels and eps, as in BatchNorm's repr."""
        return f"{self.running_var.shape[0]}, eps={self.eps}"


@dataclass(frozen=True)
class XDNNResult:
    """What :func:`to_xdnn` returns.

    Attributes:
        model: the bias-free deep copy (the original model is untouched).
        changed: layer name -> what was changed there (biases removed, BatchNorm turned into a scaling).
        non_homogeneous: layer name -> why that layer breaks F(αx) = αF(x) even without biases (sigmoid, tanh,
            softmax, GELU, LayerNorm, ...). Empty when every layer is known to be homogeneous.
        unverified: leaf layers of types this module does not know (custom modules); their homogeneity can
            only be checked numerically with :func:`is_homogeneous`. Operations called inside ``forward``
            (``torch.sigmoid(x)``, ``x + 1``) are invisible to the report for the same reason.
    """

    model: nn.Module
    changed: dict[str, str] = field(default_factory=dict)
    non_homogeneous: dict[str, str] = field(default_factory=dict)
    unverified: tuple[str, ...] = ()

    @property
    def homogeneous_by_construction(self) -> bool:
        """True when every layer is of a known homogeneous type (still verify custom ``forward`` code)."""
        return not self.non_homogeneous and not self.unverified

    def summary(self) -> str:
        """A short human-readable report."""
        lines = [f"X-DNN: {len(self.changed)} layer(s) changed"]
        lines += [f"  {name or '<model>'}: {what}" for name, what in self.changed.items()]
        if self.non_homogeneous:
            lines.append(f"{len(self.non_homogeneous)} layer(s) break homogeneity:")
            lines += [f"  {name}: {why}" for name, why in self.non_homogeneous.items()]
        if self.unverified:
            lines.append("unknown layer types (check with is_homogeneous): " + ", ".join(self.unverified))
        return "\n".join(lines)


def _is_bias_name(name: str) -> bool:
    return name == "bias" or "bias" in name.lower().split("_")


def _remove_biases(module: nn.Module) -> list[str]:
    removed = []
    for name, param in list(module.named_parameters(recurse=False)):
        if not _is_bias_name(name):
            continue
        if isinstance(module, _BIAS_TO_NONE) and name == "bias":
            setattr(module, name, None)
        else:
            # Unknown module: keep the tensor its forward expects, but zero and frozen so that fine-tuning the
            # X-DNN cannot grow the bias back.
            with torch.no_grad():
                param.zero_()
            param.requires_grad_(False)
        removed.append(name)
    return removed


def _classify(module: nn.Module) -> str | None:
    """Why ``module`` breaks homogeneity, or None when it is homogeneous; raises KeyError when unknown."""
    for types, why in _NON_HOMOGENEOUS_TYPES:
        if isinstance(module, types):
            return why
    if isinstance(module, nn.Threshold):
        # Threshold(0, 0) is a ReLU; any other threshold or fill value is a fixed offset.
        if module.threshold == 0 and module.value == 0:
            return None
        return f"threshold {module.threshold} / fill value {module.value}: not homogeneous"
    if isinstance(module, (nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)):
        return None if module.value == 0 else f"pads with the constant {module.value}, not 0"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "normalises with batch statistics (no running statistics): homogeneous of degree 0"
    if isinstance(module, (_HOMOGENEOUS_TYPES, BatchNormScale)):
        return None
    raise KeyError(type(module).__name__)


def _replace_child(root: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, child = dotted.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def to_xdnn(model: nn.Module) -> XDNNResult:
    """Return a bias-free deep copy of ``model`` (an X-DNN candidate) and a report of what changed.

    - Linear, Conv*, ConvTranspose*, Bilinear, LayerNorm, GroupNorm, InstanceNorm: ``bias`` set to None.
    - BatchNorm with running statistics: replaced by :class:`BatchNormScale`, i.e. ``x · γ / sqrt(var + eps)``
      (the shift β and the running mean are dropped).
    - Any other parameter named ``bias`` / ``*_bias`` / ``bias_*`` (MultiheadAttention's ``in_proj_bias``,
      LSTM's ``bias_ih_l0``, ...): zeroed and frozen.

    The report lists layers whose type breaks homogeneity (sigmoid, tanh, softmax, GELU, LayerNorm — degree 0,
    not 1 —, attention, ...) and leaf layers of unknown type. The copy keeps the original's training flags and
    ``requires_grad`` settings; ``model`` itself is never modified.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    xmodel = copy.deepcopy(model)
    changed: dict[str, str] = {}
    non_homogeneous: dict[str, str] = {}
    unverified: list[str] = []
    for name, module in list(xmodel.named_modules()):
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_var is not None:
            scale = BatchNormScale.from_batchnorm(module)
            if name:
                _replace_child(xmodel, name, scale)
            else:
                xmodel = scale
            changed[name] = f"{type(module).__name__} -> BatchNormScale (dropped bias and running_mean)"
            continue
        removed = _remove_biases(module)
        if removed:
            changed[name] = "removed " + ", ".join(removed)
        if next(module.children(), None) is not None and not isinstance(module, nn.MultiheadAttention):
            continue  # containers are judged by their leaves
        try:
            why = _classify(module)
        except KeyError:
            unverified.append(name or "<model>")
            continue
        if why is not None:
            non_homogeneous[name or "<model>"] = why
    return XDNNResult(xmodel, changed, non_homogeneous, tuple(unverified))


def _check_alphas(alphas: Iterable[float]) -> tuple[float, ...]:
    try:
        values = tuple(float(a) for a in alphas)
    except (TypeError, ValueError) as error:
        raise TypeError(f"alphas must be an iterable of positive numbers, got {alphas!r}.") from error
    if not values or any(not math.isfinite(a) or a <= 0 for a in values):
        raise ValueError(f"alphas must be a non-empty sequence of finite numbers > 0, got {values!r}.")
    return values


def homogeneity_errors(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    alphas: Iterable[float] = (0.5, 2.0, 3.7),
    output: Any = None,
) -> dict[float, float]:
    """Relative error of F(αx) = αF(x) for each α: ``max_b ‖F(αx_b) − αF(x_b)‖∞ / ‖αF(x_b)‖∞``.

    F is the model's selected ``[B, classes]`` output (``output=`` as in ``attribute``), evaluated in eval
    mode under ``torch.no_grad()``; the model's modes, flags and hooks are restored afterwards.
    """
    check_model(model)
    factors = _check_alphas(alphas)
    x = check_inputs(inputs, model_device(model))
    errors: dict[float, float] = {}
    rows = x.shape[0]
    with preserved_model(model), torch.no_grad():
        model.eval()
        # One forward over [x, α₁x, α₂x, ...]: eval-mode rows are independent, and one call is cheaper.
        stacked = torch.cat([x] + [x * alpha for alpha in factors])
        outputs = select_output(model(stacked), output, batch_size=stacked.shape[0]).flatten(1)
        reference = outputs[:rows]
        for index, alpha in enumerate(factors, start=1):
            scaled = outputs[index * rows : (index + 1) * rows]
            expected = alpha * reference
            gap = (scaled - expected).abs().amax(dim=1)
            size = expected.abs().amax(dim=1)
            # An output that is exactly zero at both scales is homogeneous; zero over non-zero is not.
            tiny = torch.finfo(expected.dtype).tiny
            ratio = torch.where(gap == 0, torch.zeros_like(gap), gap / size.clamp_min(tiny))
            errors[alpha] = float(ratio.max())
    return errors


def is_homogeneous(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    alphas: Iterable[float] = (0.5, 2.0, 3.7),
    rtol: float = 1e-4,
    output: Any = None,
) -> bool:
    """Whether F(αx) = αF(x) holds on ``inputs`` for every α in ``alphas``, to relative tolerance ``rtol``.

    A numerical check (it also sees operations hidden in custom ``forward`` code), not a proof: it is true on
    these inputs and scales. See :func:`homogeneity_errors` for the measured errors.
    """
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not rtol > 0:
        raise ValueError(f"rtol must be a positive number, got {rtol!r}.")
    errors = homogeneity_errors(model, inputs, alphas=alphas, output=output)
    return max(errors.values()) <= rtol
