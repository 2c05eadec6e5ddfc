"""A small CNN trained on scikit-learn's bundled 8×8 digits (no download): seconds on CPU, ~95% accuracy.

Shared by the browser tests (the kernel imports it), the widget tests and the round-trip benchmark.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn

LABELS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def digits_cnn() -> nn.Module:
    """The untrained architecture: two 3×3 convolutions, max-pooling, a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def digits_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train images, train labels, test images, test labels); images [N, 1, 8, 8] scaled to [0, 1]."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    return images[:1500], labels[:1500], images[1500:], labels[1500:]


def train_digits_cnn(epochs: int = 10, seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Train on the first 1500 digits; return (model in eval mode, test images, test labels).

    Trains on one thread (restored afterwards): for a model this small, more threads only add hand-off costs.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(epochs, seed)
    finally:
        torch.set_num_threads(threads)


def _train(epochs: int, seed: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = digits_data()
    model = digits_cnn()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for batch in torch.randperm(len(x_train)).split(64):
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimiser.step()
    return model.eval(), x_test, y_test
