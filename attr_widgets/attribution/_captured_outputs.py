"""f(x) and f(baseline) from the forward Captum runs anyway: DeepLIFT without a forward of ours.

``attribute`` normally runs the model once on the inputs before the method: that forward resolves
``target=None`` to the top class, checks that the selected output is finite and gives ``outputs`` (f(x)).
Captum's DeepLift and LayerDeepLift run the model once on ``[inputs; baselines]`` themselves, so with a class
index target (an int or a LongTensor, resolved without logits) that forward does all of it: a forward hook on
the module Captum runs, registered before Captum's own hook (which keeps only the inputs' half), sees the
selected output ``[2B, classes]``, checks it before Captum gathers the target (the errors of the first
forward: NaN/Inf output, class index out of range) and keeps it: its first B rows give f(x), the last B
f(baseline). That saves a forward of B rows per call and, for layer DeepLIFT, a second one for f(baseline).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._outputs import check_target_range, gather_scores
from ._request import Request
from ._validation import all_finite

NON_FINITE_OUTPUT = "model: the selected output contains NaN/Inf at these inputs."


def deferrable(target: object) -> bool:
    """Whether the target needs no logits to resolve: not None (the top class), not a callable."""
    return target is not None and not (callable(target) and not isinstance(target, torch.Tensor))


class OutputRows:
    """A forward hook that records the selected outputs of the module it is registered on.

    With ``request.outputs`` None (attribute() ran no forward of its own) it checks each output as the
    first forward would have: finite on the inputs' rows, and the target classes in range.
    """

    def __init__(self, request: Request) -> None:
        self.request = request
        self.seen: list[torch.Tensor] = []

    def hook(self, _module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        """Check (when deferred) and keep ``output``."""
        request = self.request
        if request.outputs is None and output.dim() == 2:  # a callable target gives scores [N]: not deferred
            if not all_finite(output[: request.batch].detach()):
                raise ValueError(NON_FINITE_OUTPUT)
            check_target_range(None, request.scorer.target, output.shape[1])  # type: ignore[arg-type]
        self.seen.append(output.detach())

    def halves(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(f(x), f(baseline)) per example from one ``[inputs; baselines]`` forward, else (None, None)."""
        batch = self.request.batch
        if len(self.seen) != 1 or self.seen[0].shape[0] != 2 * batch:
            return None, None
        rows = self.seen[0]
        scorer = self.request.scorer
        if scorer.callable_target:
            scores = rows.reshape(2 * batch)  # the module already returned the callable's scores
        else:
            target = scorer.target.repeat(2)  # type: ignore[union-attr]
            scores = rows.gather(1, target.unsqueeze(1)).squeeze(1)
        return scores[:batch], scores[batch:]

    def attached(self, module: nn.Module) -> Any:
        """The hook registered on ``module`` (a handle to remove in ``finally``)."""
        return module.register_forward_hook(self.hook)


def outputs_of(request: Request) -> torch.Tensor:
    """f(x) by a forward of its own, checked like the first forward (when the method's forward gave none)."""
    scorer = request.scorer
    with torch.no_grad():
        logits = scorer.logits(request.inputs).detach()
    if not all_finite(logits):
        raise ValueError(NON_FINITE_OUTPUT)
    check_target_range(None, scorer.target, logits.shape[1])  # type: ignore[arg-type]
    return gather_scores(logits, scorer.target, None)
