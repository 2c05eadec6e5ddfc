"""ResNet-18 and ResNet-50 with torchvision's architecture, random weights, no torchvision needed.

He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition" (2016), written as torchvision's
``torchvision.models.resnet`` writes it, module for module (same names, so a torchvision ``state_dict``
loads), including its habit that matters for attribution: **one** ``nn.ReLU(inplace=True)`` per block (and
one in the stem), called several times in each forward. DeepLIFT and guided backpropagation hook activation
modules, so a reused module is the case they must handle; ``distinct_activations=True`` builds the twin with
one ReLU per call site (same parameters), the reference those methods are checked against.

This lives in the package rather than in the tests so that users, the tests and the benchmarks can all build
the "real-size" reference model the same way (torchvision's CPU build is not always installable).
"""

from __future__ import annotations

import torch
from torch import nn


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def _second_use(module: nn.Module, name: str) -> nn.Module:
    """The twin's own ReLU for a call site (registered as ``name``), or torchvision's one shared ``relu``."""
    own = module._modules.get(name)
    return own if own is not None else module.relu  # type: ignore[return-value]


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv-bn-relu-conv-bn, + identity (or a 1x1 downsample), relu."""

    expansion = 1

    def __init__(
        self, cin: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, *, distinct=False
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        if distinct:  # the twin's second ReLU is a module of its own; torchvision calls self.relu twice
            self.relu_out = nn.ReLU(inplace=True)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The forward of torchvision's block, in-place residual add included."""
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return _second_use(self, "relu_out")(out)


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (ResNet-50): 1x1, 3x3 (with the stride, "v1.5"), 1x1 x4, one shared ReLU."""

    expansion = 4

    def __init__(
        self, cin: int, planes: int, stride: int = 1, downsample: nn.Module | None = None, *, distinct=False
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        if distinct:
            self.relu_mid, self.relu_out = nn.ReLU(inplace=True), nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The forward of torchvision's block."""
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = _second_use(self, "relu_mid")(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return _second_use(self, "relu_out")(out)


class ResNet(nn.Module):
    """torchvision's ResNet: stem (7x7 conv, bn, relu, max-pool), four stages, global average pool, fc."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: tuple[int, int, int, int],
        num_classes: int = 1000,
        *,
        distinct_activations: bool = False,
    ) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages = [
            self._stage(block, planes, blocks, stride, distinct_activations)
            for planes, blocks, stride in zip((64, 128, 256, 512), layers, (1, 2, 2, 2), strict=True)
        ]
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for module in self.modules():  # torchvision's initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)

    def _stage(self, block, planes: int, blocks: int, stride: int, distinct: bool) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, distinct=distinct)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, distinct=distinct) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, num_classes]``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _build(block, layers, num_classes: int, seed: int, distinct: bool) -> ResNet:
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = ResNet(block, layers, num_classes, distinct_activations=distinct)
    finally:
        torch.random.set_rng_state(generator_state)  # the caller's global RNG is left as it was
    return model.eval()


def resnet18(num_classes: int = 1000, *, seed: int = 0, distinct_activations: bool = False) -> ResNet:
    """ResNet-18 (11.7 M parameters at 1000 classes), random weights from ``seed``, in eval mode.

    ``distinct_activations=True`` gives the twin with one ReLU module per call site; with the same ``seed``
    it has the same parameters (the extra ReLUs have none), so both compute the same function.
    """
    return _build(BasicBlock, (2, 2, 2, 2), num_classes, seed, distinct_activations)


def resnet50(num_classes: int = 1000, *, seed: int = 0, distinct_activations: bool = False) -> ResNet:
    """ResNet-50 (25.6 M parameters at 1000 classes), random weights from ``seed``, in eval mode."""
    return _build(Bottleneck, (3, 4, 6, 3), num_classes, seed, distinct_activations)
