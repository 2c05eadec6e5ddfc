"""Output selection and targets: from whatever the model returns to one score per example."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Union

import torch
from torch import nn

OutputSelector = Union[None, str, int, Callable[[Any], torch.Tensor]]  # noqa: UP007 (runtime alias, py3.10)
Target = Union[None, int, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]  # noqa: UP007

_HOW_TO = (
    "Pass output= a key or attribute name (e.g. output='logits'), an index into a tuple (output=0), or a "
    "callable(out) -> Tensor[B, classes]."
)


def _describe(raw: object) -> str:
    if isinstance(raw, torch.Tensor):
        return f"a tensor of shape {tuple(raw.shape)}"
    if isinstance(raw, Mapping):
        return f"a {type(raw).__name__} with keys {list(raw.keys())}"
    if isinstance(raw, (tuple, list)):
        return f"a {type(raw).__name__} of length {len(raw)}"
    return f"an object of type {type(raw).__name__}"


def _default_selection(raw: object) -> object:
    if isinstance(raw, torch.Tensor):
        return raw
    if hasattr(raw, "logits") and isinstance(raw.logits, torch.Tensor):
        return raw.logits
    if isinstance(raw, Mapping):
        return raw.get("logits", raw)
    if isinstance(raw, (tuple, list)) and raw:
        return raw[0]
    return raw


def select_output(
    raw: object, output: OutputSelector = None, *, batch_size: int | None = None
) -> torch.Tensor:
    """Pick the ``[B, classes]`` score tensor out of a model's raw output.

    ``output=None`` takes a tensor as is, the first element of a tuple, ``"logits"`` of a dict, or the
    ``.logits`` attribute of an object (Hugging Face outputs). A str is a key or attribute name, an int an
    index, a callable is applied to the raw output. Anything that does not end as a 2-D tensor with
    ``batch_size`` rows raises a ValueError naming ``output=``.
    """
    if output is None:
        selected = _default_selection(raw)
    elif callable(output):
        selected = output(raw)
    elif isinstance(output, str):
        if isinstance(raw, Mapping) and output in raw:
            selected = raw[output]
        elif hasattr(raw, output):
            selected = getattr(raw, output)
        else:
            raise ValueError(
                f"output={output!r}: the model returned {_describe(raw)} without that key. {_HOW_TO}"
            )
    elif isinstance(output, int) and not isinstance(output, bool):
        if not isinstance(raw, (tuple, list)) or not -len(raw) <= output < len(raw):
            raise ValueError(
                f"output={output!r}: the model returned {_describe(raw)}, not indexable so. {_HOW_TO}"
            )
        selected = raw[output]
    else:
        raise TypeError(f"output must be None, a str, an int or a callable, got {type(output).__name__}.")
    if not isinstance(selected, torch.Tensor) or selected.dim() != 2:
        raise ValueError(
            f"output={output!r}: expected the selected model output to be a [B, classes] tensor, but the "
            "model "
            f"returned {_describe(raw)} and the selection gave {_describe(selected)}. {_HOW_TO}"
        )
    if batch_size is not None and selected.shape[0] != batch_size:
        raise ValueError(
            f"output={output!r}: the selected output has {selected.shape[0]} rows for a batch of "
            f"{batch_size} "
            f"inputs; expected [B, classes]. {_HOW_TO}"
        )
    return selected


def resolve_target(
    target: Target, logits: torch.Tensor
) -> torch.Tensor | Callable[[torch.Tensor], torch.Tensor]:
    """Turn ``target`` into a LongTensor ``[B]`` of classes (on the logits' device), or keep a callable.

    None means the top predicted class of each example.
    """
    batch, classes = logits.shape
    if target is None:
        return logits.detach().argmax(dim=1)
    if callable(target) and not isinstance(target, torch.Tensor):
        scores = target(logits)
        _check_callable_scores(scores, batch)
        return target
    indices = target_indices(target, batch, logits.device)
    check_target_range(target, indices, classes)
    return indices


def target_indices(target: object, batch: int, device: torch.device) -> torch.Tensor:
    """An int or integer tensor target as a LongTensor ``[batch]``; every check but the class range.

    The range needs the number of classes, i.e. a forward: :func:`check_target_range` does it then.
    """
    if isinstance(target, bool):
        raise TypeError("target must be None, an int, a LongTensor [B] or a callable(output) -> Tensor[B].")
    if isinstance(target, int):
        return torch.full((batch,), target, dtype=torch.long, device=device)
    if isinstance(target, (torch.Tensor, list, tuple)):
        indices = torch.as_tensor(target, device=device)
        if indices.is_floating_point() or indices.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got dtype {indices.dtype}.")
        if indices.dtype != torch.long or indices.dim() != 1:  # the common LongTensor [B]: no op to run
            indices = indices.long().reshape(-1)
        if indices.numel() == 1:
            indices = indices.expand(batch).clone()
        if indices.numel() != batch:
            raise ValueError(
                f"target must have one class per example ({batch}), got {indices.numel()} values."
            )
        return indices
    raise TypeError(
        f"target must be None, an int, a LongTensor [B] or a callable(output) -> Tensor[B], "
        f"got {type(target).__name__}."
    )


def check_target_range(target: object, indices: torch.Tensor, classes: int) -> None:
    """Raise unless every class index is in ``0..classes-1`` (an int ``target``: without a tensor op)."""
    if isinstance(target, int) and not isinstance(target, bool):
        if not 0 <= target < classes:
            raise _out_of_range(target, classes)
        return
    low, high = torch.aminmax(indices)  # one reduction for both bounds (this runs on every call)
    if int(low) < 0 or int(high) >= classes:
        raise _out_of_range(int(low) if int(low) < 0 else int(high), classes)


def _out_of_range(bad: int, classes: int) -> ValueError:
    return ValueError(f"target {bad} is out of range: the model has {classes} classes (0..{classes - 1}).")


def _check_callable_scores(scores: object, rows: int) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor) or scores.reshape(-1).shape[0] != rows or scores.dim() > 2:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(
            f"target: a callable target must return one score per example ([{rows}]), got {shape}."
        )
    return scores.reshape(rows)


def gather_scores(
    logits: torch.Tensor,
    target: torch.Tensor | Callable[[torch.Tensor], torch.Tensor],
    rows: torch.Tensor | None,
) -> torch.Tensor:
    """Scores ``[N]`` of the target for an expanded batch; ``rows[i]`` is the original example of row i."""
    if callable(target) and not isinstance(target, torch.Tensor):
        return _check_callable_scores(target(logits), logits.shape[0])
    index = target if rows is None else target[rows]
    return logits.gather(1, index.unsqueeze(1)).squeeze(1)


class SelectedOutput(nn.Module):
    """A view of the user's model that returns ``[N, classes]`` (or ``[N]`` for a callable target).

    Captum's module-based methods (DeepLift, GuidedBackprop, ...) need an ``nn.Module``; wrapping keeps the
    user's model untouched. Extra positional arguments are forward keyword arguments in ``kwarg_names`` order
    (Captum expands them along the batch together with the inputs).
    """

    def __init__(
        self,
        model: nn.Module,
        output: OutputSelector = None,
        score_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        kwarg_names: tuple[str, ...] = (),
        static_kwargs: Mapping[str, Any] | None = None,
        on_rows: Callable[[int], object] | None = None,
    ) -> None:
        super().__init__()
        # Called with the row count after each model call: progress reporting for calls made inside Captum.
        self._on_rows = on_rows
        self.model = model
        self._output = output
        self._score_fn = score_fn
        self._kwarg_names = kwarg_names
        self._static_kwargs = dict(static_kwargs or {})

    def forward(self, inputs: torch.Tensor, *batched: torch.Tensor) -> torch.Tensor:
        """Run the model and select its scores."""
        kwargs = dict(self._static_kwargs)
        kwargs.update(zip(self._kwarg_names, batched, strict=False))
        raw = self.model(inputs, **kwargs)
        if self._on_rows is not None:
            self._on_rows(int(inputs.shape[0]))
        logits = select_output(raw, self._output, batch_size=inputs.shape[0])
        if self._score_fn is None:
            return logits
        return _check_callable_scores(self._score_fn(logits), logits.shape[0])


def split_forward_kwargs(
    forward_kwargs: Mapping[str, Any] | None, batch: int
) -> tuple[tuple[str, ...], tuple[torch.Tensor, ...], dict[str, Any]]:
    """Separate keyword arguments that carry the batch dimension (expanded with the inputs) from the rest."""
    if forward_kwargs is None:
        return (), (), {}
    if not isinstance(forward_kwargs, Mapping):
        raise TypeError(
            f"forward_kwargs must be a dict of keyword arguments, got {type(forward_kwargs).__name__}."
        )
    names, batched, static = [], [], {}
    for name, value in forward_kwargs.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] == batch:
            names.append(name)
            batched.append(value)
        else:
            static[name] = value
    return tuple(names), tuple(batched), static


def predict(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    output: OutputSelector = None,
    k: int | None = 5,
    output_kind: str | None = None,
    **forward_kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` class probabilities and class indices ``([B, k], [B, k])``; the model is left untouched.

    ``k=None`` returns every class, most probable first; a ``k`` above the number of classes does the same.
    ``output_kind``: what the selected output is, "logits" (softmax is applied), "probabilities" (taken as
    they are, e.g. a model ending in ``nn.Softmax``) or "log_probabilities" (``nn.LogSoftmax``: exp); None
    detects it from the values (``detect_output_kind``).
    """
    probs, indices, _ = predict_with_kind(
        model, inputs, output=output, k=k, output_kind=output_kind, **forward_kwargs
    )
    return probs, indices


def predict_with_kind(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    output: OutputSelector = None,
    k: int | None = 5,
    output_kind: str | None = None,
    **forward_kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """:func:`predict`, and the kind of output it assumed ("logits", "probabilities", "log_probabilities")."""
    from .._torch import model_lock
    from ._model_state import model_device, preserved_model
    from ._probabilities import check_output_kind, to_probabilities
    from ._validation import check_inputs, check_model

    check_model(model)
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"k must be a positive int or None (all classes), got {k!r}.")
    check_output_kind(output_kind)
    x = check_inputs(inputs, model_device(model), floating=False)
    # The per-model lock: a concurrent hook-based attribution must not run its hooks on this forward.
    with model_lock(model), preserved_model(model), torch.no_grad():
        logits = select_output(model(x, **forward_kwargs), output, batch_size=x.shape[0])
    probs, kind = to_probabilities(logits, output_kind)
    classes = probs.shape[1]
    top = probs.topk(classes if k is None else min(k, classes), dim=1)
    return top.values, top.indices, kind
