"""Small deterministic models shared by the attribution engine's tests (not a test module)."""

from __future__ import annotations

import torch
from torch import nn


def small_cnn(seed: int = 0, classes: int = 5) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, classes),
    ).eval()


def tanh_mlp(
    seed: int = 0, features: int = 6, hidden: int = 16, classes: int = 3, depth: int = 2
) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    width = features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.Tanh()]
        width = hidden
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers).double().eval()


def images(batch: int = 3, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, 8, 8, generator=generator)


class TupleModel(nn.Module):
    """Returns (logits, hidden) like many research models."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner(x), x.flatten(1)


class DictModel(nn.Module):
    def __init__(self, inner: nn.Module, key: str = "logits") -> None:
        super().__init__()
        self.inner, self.key = inner, key

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"hidden": x.flatten(1), self.key: self.inner(x)}


class LogitsObject:
    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits
        self.scores = logits * 2


class ObjectModel(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> LogitsObject:
        return LogitsObject(self.inner(x))


class FailingModel(nn.Module):
    """Raises on the n-th forward call (to check that state is restored after an error)."""

    def __init__(self, inner: nn.Module, fail_on_call: int = 3) -> None:
        super().__init__()
        self.inner, self.fail_on_call, self.calls = inner, fail_on_call, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise RuntimeError("injected failure")
        return self.inner(x)


def all_hook_dicts_empty(model: nn.Module) -> bool:
    names = (
        "_forward_hooks",
        "_forward_hooks_with_kwargs",
        "_forward_hooks_always_called",
        "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs",
        "_backward_hooks",
        "_backward_pre_hooks",
    )
    return all(not getattr(module, name, {}) for module in model.modules() for name in names)


def state_snapshot(model: nn.Module) -> dict:
    return {
        "training": [m.training for m in model.modules()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "state": {k: v.clone() for k, v in model.state_dict().items()},
    }


def same_state(a: dict, b: dict) -> bool:
    if a["training"] != b["training"] or a["requires_grad"] != b["requires_grad"]:
        return False
    for ga, gb in zip(a["grads"], b["grads"], strict=True):
        if (ga is None) != (gb is None) or (ga is not None and not torch.equal(ga, gb)):
            return False
    return a["state"].keys() == b["state"].keys() and all(
        torch.equal(a["state"][k], b["state"][k]) for k in a["state"]
    )
