"""A small MLP on scikit-learn's bundled breast-cancer data (30 standardised features), trained in a second.

Shared by the widget tests and the browser tests (whose kernel imports it from this directory).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

LABELS = ["malignant", "benign"]


Split = tuple[list[str], torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def breast_cancer_data(seed: int = 0) -> Split:
    """(feature names, x_train, y_train, x_test, y_test): features standardised on the training split."""
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=seed, stratify=data.target
    )
    scaler = StandardScaler().fit(x_train)
    as_tensor = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    return (
        [str(name) for name in data.feature_names],
        as_tensor(scaler.transform(x_train)),
        torch.tensor(y_train),
        as_tensor(scaler.transform(x_test)),
        torch.tensor(y_test),
    )


def tabular_mlp(features: int = 30, hidden: int = 16, classes: int = 2) -> nn.Sequential:
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def train_tabular_mlp(
    seed: int = 0, epochs: int = 150
) -> tuple[nn.Module, list[str], torch.Tensor, torch.Tensor]:
    """(the trained model in eval mode, feature names, x_train, x_test); full-batch Adam, deterministic."""
    torch.manual_seed(seed)
    names, x_train, y_train, x_test, _ = breast_cancer_data(seed)
    model = tabular_mlp(x_train.shape[1])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x_train), y_train).backward()
        optimiser.step()
    return model.eval(), names, x_train, x_test


def held_out_accuracy(model: nn.Module, seed: int = 0) -> float:
    _, _, _, x_test, y_test = breast_cancer_data(seed)
    with torch.no_grad():
        return float((model(x_test).argmax(1) == y_test).float().mean())
