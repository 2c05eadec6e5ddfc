"""The reference real-size architectures through every method the image widget offers, quietly.

ResNet-18 with torchvision's architecture (one ReLU module reused per block) and a vision transformer built
from a transformers config with random weights; small inputs keep the suite fast, the architectures are the
real ones (``tests/benchmarks/bench_resnet.py`` runs them at 224 x 224).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam

import attr_widgets as aw
from attr_widgets.attribution._methods_rollout import patch_grid
from attr_widgets.examples.resnet import resnet18
from attr_widgets.examples.vit import vit_classifier
from attr_widgets.widgets._options import METHOD_LABELS

IMAGE_METHODS = [*METHOD_LABELS]  # every method the image widget has a label for
VIT_METHODS = [*IMAGE_METHODS, "attention", "attention_rollout"]


@pytest.fixture(scope="module")
def resnet() -> torch.nn.Module:
    return resnet18(num_classes=10, seed=1)


@pytest.fixture(scope="module")
def vit() -> torch.nn.Module:
    return vit_classifier(image_size=32, patch_size=8, hidden_size=32, layers=2, heads=2, num_classes=5)


def _image(size: int) -> torch.Tensor:
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(4))


def _every_method_quietly(model: torch.nn.Module, x: torch.Tensor, names: list[str]) -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # quietly: no warning reaches the user
        w = aw.AttributionWidget(model, x[0], method="saliency", methods=names, n_steps=8)
        hidden = w.unavailable_methods
        offered = [entry["value"] for entry in w.options["methods"]]
        assert offered == [name for name in names if name not in hidden]
        assert [entry["value"] for entry in w.options["unavailable_methods"]] == list(hidden)
        for name in offered:
            w.method = name
            assert w.result["error"] is None, (name, w.result["error"])
            heatmap = w.heatmap
            assert heatmap is not None and heatmap.shape == tuple(x.shape[2:]), name
            assert np.isfinite(heatmap).all() and np.abs(heatmap).max() > 0, name
    return hidden


def test_resnet18_through_every_widget_method(resnet) -> None:
    hidden = _every_method_quietly(resnet, _image(32), IMAGE_METHODS)
    # Biases and BatchNorm: F(αx) ≠ αF(x), so X-Gradient is not IG here; it is hidden, with the reason.
    assert list(hidden) == ["x_gradient"] and "not nonnegatively homogeneous" in hidden["x_gradient"]
    with pytest.raises(ValueError, match="method='x_gradient' is not available for this model: the model"):
        aw.AttributionWidget(resnet, _image(32)[0], method="x_gradient", methods=IMAGE_METHODS)


def test_vit_through_every_widget_method_and_the_attention_maps(vit) -> None:
    hidden = _every_method_quietly(vit, _image(32), VIT_METHODS)
    # GELU, no nn.ReLU: guided backprop and deconvolution would be the gradient.
    assert sorted(hidden) == ["deconvolution", "guided_backprop", "x_gradient"]
    assert hidden["guided_backprop"].endswith("it would equal the plain gradient.")


def test_attention_methods_are_hidden_for_a_model_without_attention(resnet) -> None:
    w = aw.AttributionWidget(resnet, _image(32)[0], method="saliency", methods=["saliency", "attention"])
    assert list(w.unavailable_methods) == ["attention"]
    assert "returns no attention weights" in w.unavailable_methods["attention"]


def test_attention_rollout_equals_the_papers_recursion(vit) -> None:
    x = _image(32)
    result = aw.attribute(vit, x, method="attention_rollout")
    with torch.no_grad():
        attentions = [a[0].double().numpy() for a in vit(x, output_attentions=True).attentions]
    rolled = np.eye(17)
    for layer in attentions:  # Abnar & Zuidema (2020): Ã = 0.5 W_att + 0.5 I, rows renormalised
        mixed = 0.5 * layer.mean(axis=0) + 0.5 * np.eye(17)
        rolled = (mixed / mixed.sum(axis=1, keepdims=True)) @ rolled
    cls_row = rolled[0, 1:].reshape(4, 4)  # [CLS] query, patch tokens on the 4 x 4 grid
    expected = np.kron(cls_row, np.ones((8, 8)))  # each patch covers 8 x 8 pixels
    np.testing.assert_allclose(result.values[0, 0].double().numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(rolled.sum(axis=1), 1.0)  # rows stay distributions


def test_grad_cam_on_transformer_tokens_is_a_clear_error(vit) -> None:
    x = _image(32)
    shape = r"layer='vit.layers.1' gives activations of shape \(1, 17, 32\), not \[B, C, H, W\]"
    with pytest.raises(ValueError, match=shape):
        aw.attribute(vit, x, method="grad_cam", layer="vit.layers.1")
    # The patch embedding is a convolution: Grad-CAM is defined there, and equals Captum's.
    conv = vit.vit.embeddings.patch_embeddings.projection
    ours = aw.attribute(vit, x, method="grad_cam", layer=conv, target=2)
    maps = LayerGradCam(lambda t: vit(t).logits, conv).attribute(x, target=2, relu_attributions=True)
    reference = LayerAttribution.interpolate(maps, (32, 32), interpolate_mode="bilinear")
    torch.testing.assert_close(ours.values, reference)


@pytest.mark.parametrize(
    ("tokens", "height", "width", "grid"),
    [(197, 224, 224, (1, 14, 14)), (198, 224, 224, (2, 14, 14)), (196, 224, 224, (0, 14, 14)),
     (33, 32, 64, (1, 4, 8))],
)  # fmt: skip
def test_patch_grids(tokens, height, width, grid) -> None:
    assert patch_grid(tokens, height, width) == grid


def test_tokens_without_a_grid_are_refused() -> None:
    # 11 patches (+1) is prime: 1 x 11 or 11 x 1, neither the shape of a square image cut into square patches.
    with pytest.raises(ValueError, match="12 tokens do not form a patch grid of the 32 x 32 image"):
        patch_grid(12, 32, 32)
