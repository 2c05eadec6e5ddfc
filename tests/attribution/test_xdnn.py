"""X-DNNs (seed 001, Hesse et al.): to_xdnn, is_homogeneous, and X-Gradient = IG with the zero baseline."""

from __future__ import annotations

import math

import pytest
import torch
from captum.attr import IntegratedGradients
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attr_widgets.xdnn import BatchNormScale, XDNNResult, homogeneity_errors, is_homogeneous, to_xdnn


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + x)


def conv_bn_net(seed: int = 0, classes: int = 5) -> nn.Module:
    """A small ResNet-like CNN with BatchNorm whose running statistics are non-trivial."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        ResidualBlock(8),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1, stride=2),
        nn.LeakyReLU(0.1),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, classes),
    )
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return net.eval()


def images(batch: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def x_gradient(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    score = model(x).gather(1, target[:, None]).sum()
    (grad,) = torch.autograd.grad(score, x)
    return (x * grad).detach()


def test_to_xdnn_makes_a_conv_bn_net_homogeneous() -> None:
    model, x = conv_bn_net(), images()
    assert not is_homogeneous(model, x)
    result = to_xdnn(model)
    assert isinstance(result, XDNNResult)
    assert is_homogeneous(result.model, x)
    assert max(homogeneity_errors(result.model, x).values()) < 1e-5
    assert result.non_homogeneous == {} and result.unverified == ()
    assert result.homogeneous_by_construction


def test_to_xdnn_reports_every_changed_layer() -> None:
    result = to_xdnn(conv_bn_net())
    assert result.changed == {
        "0": "removed bias",
        "1": "BatchNorm2d -> BatchNormScale (dropped bias and running_mean)",
        "3.conv1": "removed bias",
        "3.bn1": "BatchNorm2d -> BatchNormScale (dropped bias and running_mean)",
        "3.conv2": "removed bias",
        "3.bn2": "BatchNorm2d -> BatchNormScale (dropped bias and running_mean)",
        "5": "removed bias",
        "9": "removed bias",
    }
    xmodel = result.model
    assert isinstance(xmodel[1], BatchNormScale) and isinstance(xmodel[3].bn2, BatchNormScale)
    assert all(
        module.bias is None for module in xmodel.modules() if isinstance(module, (nn.Conv2d, nn.Linear))
    )
    assert "removed bias" in result.summary()


def test_to_xdnn_never_touches_the_original() -> None:
    model = conv_bn_net()
    model[3].train()  # a mixed-mode model: the copy and the original keep their flags
    before = snapshot(model)
    params = dict(model.named_parameters())
    modes = {name: m.training for name, m in model.named_modules()}
    result = to_xdnn(model)
    assert snapshot(model).keys() == before.keys()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p is params[name] for name, p in model.named_parameters())
    assert {name: m.training for name, m in model.named_modules()} == modes
    assert isinstance(model[1], nn.BatchNorm2d) and model[0].bias is not None
    # The copy shares no storage with the original: changing it leaves the original as it was.
    with torch.no_grad():
        for p in result.model.parameters():
            p.add_(1.0)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert result.model[3].training and not result.model[0].training


def test_batchnorm_scale_is_eval_batchnorm_without_shift() -> None:
    bn = conv_bn_net()[1]
    x = torch.randn(4, 8, 5, 5)
    shiftless = nn.BatchNorm2d(8).eval()
    shiftless.load_state_dict(bn.state_dict())
    with torch.no_grad():
        shiftless.running_mean.zero_()
        shiftless.bias.zero_()
    scale = BatchNormScale.from_batchnorm(bn)
    torch.testing.assert_close(scale(x), shiftless(x))
    scale.train()  # unlike BatchNorm, never switches to batch statistics
    torch.testing.assert_close(scale(x), shiftless(x))
    bn1d = nn.BatchNorm1d(6, affine=False).eval()
    bn1d.running_var.uniform_(0.5, 2.0)
    flat = torch.randn(3, 6)
    torch.testing.assert_close(
        BatchNormScale.from_batchnorm(bn1d)(flat), flat / torch.sqrt(bn1d.running_var + 1e-5)
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_x_gradient_equals_integrated_gradients_with_zero_baseline(dtype: torch.dtype) -> None:
    """Seed 001, Key Result II: on an X-DNN, IG(F, x, 0) = x ⊙ ∇F(x) (one forward/backward pass)."""
    xmodel = to_xdnn(conv_bn_net()).model.to(dtype)
    x = images(6).to(dtype)
    target = xmodel(x).argmax(1)
    xg = x_gradient(xmodel, x, target)
    ig = IntegratedGradients(xmodel).attribute(
        x.clone().requires_grad_(True), baselines=torch.zeros_like(x), target=target, n_steps=256
    )
    relative = (xg - ig).abs().max() / ig.abs().max()
    assert relative <= 1e-5
    # Completeness with F(0) = 0 is Euler's identity for degree-1 homogeneous functions: Σ x·∇F = F(x).
    torch.testing.assert_close(xg.flatten(1).sum(1), xmodel(x).gather(1, target[:, None]).squeeze(1).detach())


def test_x_gradient_differs_from_ig_on_the_original_network() -> None:
    """The closed form needs homogeneity: with biases, x ⊙ ∇F(x) is only input × gradient."""
    model = conv_bn_net().double()
    x = images(4).double()
    target = model(x).argmax(1)
    ig = IntegratedGradients(model).attribute(
        x.clone().requires_grad_(True), baselines=torch.zeros_like(x), target=target, n_steps=256
    )
    assert (x_gradient(model, x, target) - ig).abs().max() / ig.abs().max() > 1e-2


def test_a_relu_network_with_biases_is_not_homogeneous() -> None:
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)).eval()
    x = torch.randn(5, 6)
    assert not is_homogeneous(mlp, x)
    errors = homogeneity_errors(mlp, x)
    assert set(errors) == {0.5, 2.0, 3.7} and min(errors.values()) > 1e-3
    assert is_homogeneous(to_xdnn(mlp).model, x)


def test_layernorm_is_homogeneous_of_degree_zero_not_one() -> None:
    """LayerNorm without bias satisfies LN(αx) ≈ LN(x), so F(αx) − αF(x) has relative size |1 − α| / α."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    result = to_xdnn(net)
    assert result.changed == {"0": "removed bias", "1": "removed bias", "2": "removed bias"}
    assert "degree 0" in result.non_homogeneous["1"]
    errors = homogeneity_errors(result.model, torch.randn(4, 8) * 3, alphas=(0.5, 2.0, 4.0))
    for alpha, error in errors.items():
        assert error == pytest.approx(abs(1 - alpha) / alpha, rel=1e-3)


def _sample_input(module: nn.Module) -> torch.Tensor:
    generator = torch.Generator().manual_seed(3)
    if isinstance(module, nn.Linear):
        return 4 * torch.randn(3, module.in_features, generator=generator)
    return 4 * torch.randn(3, 4, 6, 6, generator=generator)


HOMOGENEOUS = [
    nn.ReLU(),
    nn.LeakyReLU(0.2),
    nn.PReLU(),
    nn.Threshold(0.0, 0.0),
    nn.MaxPool2d(2),
    nn.AvgPool2d(3, stride=1),
    nn.AdaptiveAvgPool2d(4),
    nn.AdaptiveMaxPool2d(2),
    nn.LPPool2d(2, 2),
    nn.Upsample(scale_factor=2, mode="bilinear"),
    nn.PixelShuffle(2),
    nn.ZeroPad2d(1),
    nn.ConstantPad2d(1, 0.0),
    nn.ReflectionPad2d(1),
    nn.Conv2d(4, 4, 3),
    nn.ConvTranspose2d(4, 2, 3, stride=2),
    nn.Linear(4, 3),
    nn.Dropout(0.5),
    nn.BatchNorm2d(4),
]

NON_HOMOGENEOUS = [
    nn.Sigmoid(),
    nn.Tanh(),
    nn.Softmax(dim=1),
    nn.LogSoftmax(dim=1),
    nn.GELU(),
    nn.SiLU(),
    nn.ELU(),
    nn.Softplus(),
    nn.ReLU6(),
    nn.Hardtanh(),
    nn.Hardswish(),
    nn.Threshold(0.5, 0.0),
    nn.LayerNorm([6, 6]),
    nn.GroupNorm(2, 4),
    nn.InstanceNorm2d(4, affine=True),
    nn.ConstantPad2d(1, 0.5),
]


@pytest.mark.parametrize("module", HOMOGENEOUS + NON_HOMOGENEOUS, ids=lambda m: type(m).__name__)
def test_the_report_agrees_with_the_numerical_check(module: nn.Module) -> None:
    """Every layer type the report classifies is classified the way F(αx) = αF(x) behaves numerically."""
    model = nn.Sequential(module, nn.Flatten()).eval()
    if isinstance(module, nn.BatchNorm2d):
        module.running_mean.uniform_(-1, 1)
    result = to_xdnn(model)
    claims_homogeneous = "0" not in result.non_homogeneous
    assert result.unverified == ()
    assert claims_homogeneous == (module in HOMOGENEOUS)
    assert is_homogeneous(result.model.eval(), _sample_input(module)) == claims_homogeneous


def test_unknown_layers_and_odd_biases_are_reported() -> None:
    class Custom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(4))
            self.shift_bias = nn.Parameter(torch.full((4,), 0.5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.scale + self.shift_bias

    model = nn.Sequential(nn.Linear(4, 4), Custom(), nn.Sigmoid(), nn.Linear(4, 2))
    result = to_xdnn(model)
    assert result.unverified == ("1",)
    assert set(result.non_homogeneous) == {"2"} and "sigmoid" in result.non_homogeneous["2"]
    assert result.changed["1"] == "removed shift_bias"
    shift = result.model[1].shift_bias
    assert torch.equal(shift, torch.zeros(4)) and not shift.requires_grad
    assert torch.equal(model[1].shift_bias, torch.full((4,), 0.5))
    assert not result.homogeneous_by_construction


def test_attention_and_recurrent_biases_are_removed() -> None:
    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    lstm = nn.LSTM(4, 3)
    assert "removed in_proj_bias" in to_xdnn(attention).changed[""]
    assert to_xdnn(attention).non_homogeneous == {"<model>": "attention softmax: not homogeneous"}
    lstm_result = to_xdnn(lstm)
    assert lstm_result.changed[""] == "removed bias_ih_l0, bias_hh_l0"
    assert all(torch.count_nonzero(p) == 0 for n, p in lstm_result.model.named_parameters() if "bias" in n)


def test_is_homogeneous_restores_modes_and_selects_outputs() -> None:
    class DictNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(4, 6, bias=False), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 3)
            )

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"logits": self.body(x), "hidden": x}

    net = to_xdnn(DictNet()).model.train()
    x = torch.randn(3, 4)
    assert is_homogeneous(net, x)  # dropout is off: evaluated in eval mode
    assert net.training and net.body[2].training
    assert is_homogeneous(net, x, output="logits")
    assert is_homogeneous(net, x, output=lambda out: out["logits"] + 1.0) is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alphas": (0.5, -1.0)}, "alphas"),
        ({"alphas": ()}, "alphas"),
        ({"alphas": (float("nan"),)}, "alphas"),
        ({"rtol": 0.0}, "rtol"),
    ],
)
def test_bad_arguments_name_themselves(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        is_homogeneous(nn.Linear(3, 2), torch.randn(2, 3), **kwargs)


def test_bad_models_and_inputs_are_rejected() -> None:
    with pytest.raises(TypeError, match="model"):
        to_xdnn("resnet")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inputs"):
        is_homogeneous(nn.Linear(3, 2), torch.tensor([[1.0, float("nan"), 0.0]]))
    with pytest.raises(TypeError, match="alphas"):
        is_homogeneous(nn.Linear(3, 2), torch.randn(2, 3), alphas=1.0)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    width=st.integers(1, 12),
    depth=st.integers(1, 3),
    alpha=st.floats(1e-2, 1e2),
)
def test_bias_free_relu_mlps_are_homogeneous_and_x_gradient_is_complete(
    seed: int, width: int, depth: int, alpha: float
) -> None:
    """Every bias-free ReLU MLP has F(αx) = αF(x) and Σ x·∇F(x) = F(x) − F(0) (X-Gradient completeness)."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(5, width), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.LeakyReLU(0.05)]
    xmodel = to_xdnn(nn.Sequential(*layers, nn.Linear(width, 2)).double()).model
    x = torch.randn(4, 5, dtype=torch.float64)
    assert homogeneity_errors(xmodel, x, alphas=(alpha,))[alpha] <= 1e-10
    target = torch.zeros(4, dtype=torch.long)
    total = x_gradient(xmodel, x, target).sum(1)
    assert torch.allclose(total, xmodel(x)[:, 0].detach(), rtol=1e-10, atol=1e-12)
    assert math.isclose(float(xmodel(torch.zeros(1, 5, dtype=torch.float64)).detach().abs().max()), 0.0)


def test_attribute_x_gradient_equals_integrated_gradients_on_an_x_dnn() -> None:
    """The engine's one-pass method agrees with the closed form and with Captum's IG (zero baseline)."""
    import warnings

    from attr_widgets.attribution import AttributionWarning, attribute

    xmodel = to_xdnn(conv_bn_net()).model.double()
    x = images(5).double()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # homogeneous: no warning
        result = attribute(xmodel, x, method="x_gradient")
    torch.testing.assert_close(result.values, x_gradient(xmodel, x, result.target))
    ig = IntegratedGradients(xmodel).attribute(
        x.clone().requires_grad_(True), baselines=torch.zeros_like(x), target=result.target, n_steps=256
    )
    assert (result.values - ig).abs().max() / ig.abs().max() <= 1e-5
    assert result.delta is not None and result.delta.abs().max() <= 1e-9  # completeness, F(0) = 0
    with pytest.warns(AttributionWarning, match="not nonnegatively homogeneous"):
        attribute(conv_bn_net().double(), x, method="x_gradient")
