"""Calls a Captum user makes that used to crash or differ: 1-D inputs, tuple-output layers, dtypes, occlusion.

Each case is small enough to compute by hand, and is compared with Captum on the same call where Captum has
the method.
"""

import pytest
import torch
from captum import attr as C
from torch import nn

import attr_widgets.attribution as A
from attr_widgets.attribution import attribute


@pytest.fixture(autouse=True)
def _fresh_cache():
    A.clear_cache()
    yield
    A.clear_cache()


def as_scores(out):
    """[B] outputs as [B, 1] scores (a model whose every example is one scalar)."""
    return out.reshape(-1, 1)


class Square(nn.Module):
    """f(x) = x² per example on inputs [B]: IG from 0 is exactly x², the gradient 2x."""

    def forward(self, x):
        return x * x


DELTA_METHODS = ["integrated_gradients", "x_gradient", "deeplift", "deeplift_shap", "gradient_shap"]


@pytest.mark.parametrize("method", DELTA_METHODS)
def test_methods_with_delta_accept_one_dimensional_inputs(method):
    options = {"check_homogeneous": False} if method == "x_gradient" else {}
    result = attribute(nn.Identity(), torch.tensor([1.0, 2.0]), method=method, output=as_scores, **options)
    # The identity is linear: every method gives x − 0 = x, and completeness holds exactly.
    torch.testing.assert_close(result.values, torch.tensor([1.0, 2.0]))
    assert result.values.shape == (2,) and result.delta.shape == (2,)
    torch.testing.assert_close(result.delta, torch.zeros(2))


@pytest.mark.parametrize("n_steps", [16, "auto"])
def test_integrated_gradients_on_one_dimensional_inputs_is_hand_computable(n_steps):
    x = torch.tensor([1.0, -3.0, 0.5], dtype=torch.float64)
    result = attribute(
        Square(), x, method="integrated_gradients", output=as_scores, n_steps=n_steps, tol=1e-9
    )
    # ∫₀¹ 2αx dα · x = x²; Gauss-Legendre is exact on the linear integrand.
    torch.testing.assert_close(result.values, x * x)
    assert result.relative_delta.max() < 1e-9
    theirs = C.IntegratedGradients(lambda t: Square()(t).reshape(-1, 1)).attribute(x, target=0, n_steps=16)
    torch.testing.assert_close(result.values, theirs)


class TwoOutputs(nn.Module):
    """A layer returning a tuple (h, 2h), or (h, 2h, None): None is passed through, not attributed."""

    def __init__(self, with_none: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.with_none = with_none

    def forward(self, x):
        h = self.linear(x)
        return (h, 2 * h, None) if self.with_none else (h, 2 * h)


class TupleLayerModel(nn.Module):
    def __init__(self, with_none: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.pair = TwoOutputs(with_none)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        a, b = self.pair(x)[:2]
        return self.head(torch.tanh(a) + b * b)


def _tuple_model(with_none: bool = False):
    model = TupleLayerModel(with_none).double().eval()
    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return model, x, torch.tensor([0, 2, 1])


def test_grad_cam_on_a_tuple_layer_gives_one_map_per_tensor_like_captum():
    model, x, target = _tuple_model()
    ours = attribute(model, x, method="grad_cam", layer="pair", target=target)
    theirs = C.LayerGradCam(model, model.pair).attribute(x, target=target, relu_attributions=True)
    assert isinstance(ours.values, tuple) and len(ours.values) == 2
    for mine, reference in zip(ours.values, theirs, strict=True):
        torch.testing.assert_close(mine, reference)


@pytest.mark.parametrize(("n_steps", "batch_size"), [(12, None), (12, 5), ("auto", "auto")])
def test_layer_ig_on_a_tuple_layer_attributes_every_tensor_like_captum(n_steps, batch_size):
    model, x, target = _tuple_model()
    ours = attribute(model, x, method="layer_integrated_gradients", layer="pair", target=target,
                     n_steps=n_steps, internal_batch_size=batch_size, tol=1e-8)  # fmt: skip
    assert isinstance(ours.values, tuple) and [v.shape for v in ours.values] == [(3, 4), (3, 4)]
    # Completeness over both tensors together: the suffix's change from baseline to input activations.
    assert ours.relative_delta.max() < 1e-6
    if n_steps != "auto":
        theirs = C.LayerIntegratedGradients(model, model.pair).attribute(
            x, target=target, n_steps=n_steps, method="gausslegendre"
        )
        # rtol 1e-7: float64 rounding of the quadrature nodes differs from Captum's.
        for mine, reference in zip(ours.values, theirs, strict=True):
            torch.testing.assert_close(mine, reference, rtol=1e-7, atol=1e-10)


def test_layer_ig_on_a_tuple_layer_rejects_a_layer_shaped_baseline():
    model, x, target = _tuple_model()
    with pytest.raises(ValueError, match="baseline: the layer returns a tuple"):
        attribute(model, x, method="layer_integrated_gradients", layer="pair", target=target,
                  baseline=torch.zeros(7, dtype=torch.float64))  # fmt: skip


def test_non_tensor_entries_of_a_tuple_layer_are_passed_through_by_layer_ig():
    # (Captum's layer methods, grad_cam among them, need a tuple of tensors only.)
    model, x, target = _tuple_model(with_none=False)
    with_none, _, _ = _tuple_model(with_none=True)
    method = "layer_integrated_gradients"
    plain = attribute(model, x, method=method, layer="pair", target=target, n_steps=8)
    padded = attribute(with_none, x, method=method, layer="pair", target=target, n_steps=8)
    assert len(padded.values) == 2
    for a, b in zip(plain.values, padded.values, strict=True):
        torch.testing.assert_close(a, b)


class CountModel(nn.Module):
    """Integer scores from integer inputs: class 0 counts the ones, class 1 sums the ids."""

    def forward(self, ids):
        return torch.stack([(ids == 1).sum(1), ids.sum(1)], dim=1)


def test_feature_ablation_keeps_the_dtype_of_the_models_scores_like_captum():
    ids = torch.tensor([[1, 2, 1], [3, 1, 0]])
    ours = attribute(CountModel(), ids, method="feature_ablation", target=1, pad_token_id=0)
    theirs = C.FeatureAblation(CountModel()).attribute(ids, target=1, baselines=0)
    # Ablating id k to the pad id 0 lowers the sum by k: exact, in int64 as in Captum.
    assert ours.values.dtype == torch.int64
    torch.testing.assert_close(ours.values, ids)
    torch.testing.assert_close(ours.values, theirs)
    torch.manual_seed(0)
    embedder = nn.Sequential(nn.Embedding(5, 2), nn.Flatten(), nn.Linear(6, 2)).double()
    floating = attribute(embedder, ids, method="feature_ablation", target=0, pad_token_id=0)
    assert floating.values.dtype == torch.float64  # token ids in, the model's float64 scores out
    reference = C.FeatureAblation(embedder).attribute(ids, target=0, baselines=0)
    torch.testing.assert_close(floating.values, reference)


def test_occlusion_on_one_dimensional_inputs_occludes_the_one_feature():
    x = torch.tensor([1.0, -2.0, 3.0])
    for window in (None, ()):
        result = attribute(Square(), x, method="occlusion", output=as_scores, sliding_window_shapes=window)
        # f(x) − f(0) = x² per example.
        torch.testing.assert_close(result.values, x * x)
    reference = C.FeatureAblation(lambda t: Square()(t).reshape(-1, 1)).attribute(x, target=0)
    torch.testing.assert_close(result.values, reference)


def test_occlusion_default_stride_is_the_window_and_strides_1_is_captums_default():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 36, 4))
    x = torch.rand(2, 2, 6, 6, generator=torch.Generator().manual_seed(3))
    window = (2, 3, 3)
    overlapping = attribute(model, x, method="occlusion", target=1, sliding_window_shapes=window, strides=1)
    theirs = C.Occlusion(model).attribute(x, sliding_window_shapes=window, target=1)  # Captum: strides=1
    torch.testing.assert_close(overlapping.values, theirs)
    assert overlapping.info["windows"] == 4 * 4
    patches = attribute(model, x, method="occlusion", target=1, sliding_window_shapes=window)
    theirs = C.Occlusion(model).attribute(x, sliding_window_shapes=window, strides=window, target=1)
    torch.testing.assert_close(patches.values, theirs)
    assert patches.info["windows"] == 2 * 2
    assert "strides=1" in {str(m): m for m in A.methods()}["occlusion"].description


def test_occlusion_bad_strides_name_the_argument():
    with pytest.raises(ValueError, match="strides must be"):
        attribute(Square(), torch.rand(2, 4), method="occlusion", output=lambda o: o[:, :1], strides=(1, 1))
