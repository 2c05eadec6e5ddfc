"""How many rows (examples x steps) to push through the model at once, and what to do on out-of-memory."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import torch
from torch import nn

T = TypeVar("T")

CPU_MEMORY_BUDGET = 2 * 1024**3
CUDA_FREE_FRACTION = 0.5
# Activations saved for backward plus their gradients (alive at the same time in the backward pass).
_BACKWARD_FACTOR = 2.0

OutOfMemoryError: type[BaseException] = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


class AttributionWarning(UserWarning):
    """Something the user should know about an attribution (e.g. a fallback was taken)."""


def saved_bytes_per_row(
    model: nn.Module, run: Callable[[], torch.Tensor], rows: int
) -> tuple[torch.Tensor, float]:
    """Run ``run()`` with autograd on, returning its result and the activation bytes it saves per row.

    Counts the tensors autograd keeps for the backward pass (``saved_tensors_hooks``), skipping those that
    live in a parameter's storage: weights are saved once, not per row.
    """
    param_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        try:
            if tensor.untyped_storage().data_ptr() not in param_storages:
                total += tensor.numel() * tensor.element_size()
        except (RuntimeError, NotImplementedError):
            pass  # tensors without storage (e.g. some subclasses) are not counted
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = run()
    return result, total / max(rows, 1)


def memory_budget(device: torch.device, budget: int | None = None) -> int:
    """Bytes the attribution may use for activations on ``device``."""
    if budget is not None:
        if budget <= 0:
            raise ValueError(f"memory_budget must be a positive number of bytes, got {budget}.")
        return int(budget)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * CUDA_FREE_FRACTION)
    return CPU_MEMORY_BUDGET


def plan_rows(
    internal_batch_size: int | str | None,
    total_rows: int,
    bytes_per_row: float,
    device: torch.device,
    budget: int | None = None,
) -> int:
    """Rows per chunk: all of them (None), the given int, or as many as fit the memory budget ("auto")."""
    if internal_batch_size is None:
        return total_rows
    if isinstance(internal_batch_size, int):
        return max(1, min(internal_batch_size, total_rows))
    per_row = max(bytes_per_row * _BACKWARD_FACTOR, 1.0)
    return max(1, min(total_rows, int(memory_budget(device, budget) // per_row)))


@dataclass
class ChunkRunner:
    """Runs work in chunks of rows; on CUDA out-of-memory halves the chunk and retries, warning once."""

    rows: int
    warned: bool = False
    halvings: list[int] = field(default_factory=list)

    def run(self, total: int, work: Callable[[int, int], None]) -> None:
        """Call ``work(start, stop)`` over ``range(total)`` in chunks of at most ``self.rows`` rows."""
        start = 0
        while start < total:
            stop = min(total, start + self.rows)
            try:
                work(start, stop)
            except OutOfMemoryError:
                if self.rows <= 1:
                    raise
                self._shrink()
                continue
            start = stop

    def call(self, run: Callable[[int], T]) -> T:
        """``run(rows)`` for work a library (Captum) batches itself; on out-of-memory, halve and retry."""
        while True:
            try:
                return run(self.rows)
            except OutOfMemoryError:
                if self.rows <= 1:
                    raise
                self._shrink()

    def _shrink(self) -> None:
        old = self.rows
        self.rows = max(1, self.rows // 2)
        self.halvings.append(self.rows)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if not self.warned:
            self.warned = True
            warnings.warn(
                f"Out of memory with internal_batch_size={old}; retrying with {self.rows} (and halving again "
                "if needed; this is reported once per call).",
                AttributionWarning,
                stacklevel=4,
            )
