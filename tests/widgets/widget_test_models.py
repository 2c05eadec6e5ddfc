"""Small real models for the widget tests: smooth, gated (orders threads), failing on demand, odd outputs."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import torch
from torch import nn


class SmoothCNN(nn.Module):
    """A CNN with smooth activations: integrated gradients' completeness holds tightly at 50 steps."""

    def __init__(self, channels: int = 1, classes: int = 10, size: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 8, 3, padding=1)
        self.head = nn.Linear(8 * size * size, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.conv(x)).flatten(1))


class Switchable(nn.Module):
    """Wraps a model; raises inside forward while ``fail`` is set, blocks while ``gate`` is closed."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.fail = False
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.entered.set()
        if not self.gate.wait(timeout=30):
            raise TimeoutError("test gate never opened")
        if self.fail:
            raise RuntimeError("injected failure inside forward")
        return self.inner(x)


class TupleOutput(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor):
        logits = self.inner(x)
        return logits, logits.detach() * 0


class DictOutput(TupleOutput):
    def forward(self, x: torch.Tensor):
        return {"scores": self.inner(x), "extra": x.mean()}


class ObjectOutput(TupleOutput):
    def forward(self, x: torch.Tensor):
        return SimpleNamespace(logits=self.inner(x), hidden=x)


class FlatOutput(TupleOutput):
    """Returns [B] scores: not a [B, classes] tensor."""

    def forward(self, x: torch.Tensor):
        return self.inner(x).sum(dim=1)
