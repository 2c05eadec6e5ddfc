"""Overhead of ``attribute`` over raw Captum for the Captum-parity methods (layer, neuron, NoiseTunnel).

A table of ``bench_attribution.py`` (its ``main`` calls :func:`parity_overhead`); runnable alone too:

    python tests/benchmarks/bench_parity_methods.py [--quick]

Each row times the same attribution both ways on a ReLU CNN, best of a few interleaved runs, and reports the
largest difference of the values relative to Captum's largest value (0 when the call is Captum's own class).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from captum import attr as C
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from attr_widgets.attribution import attribute  # noqa: E402


def _seeded(fn: Callable[[], torch.Tensor], seed: int) -> Callable[[], torch.Tensor]:
    def run() -> torch.Tensor:
        torch.manual_seed(seed)
        np.random.seed(seed)
        return fn()

    return run


def parity_cases(model: nn.Sequential, layer_index: int, x: torch.Tensor, target: torch.Tensor) -> list:
    """(name, ours, Captum's) for each parity method; both callables return the values."""
    layer = model[layer_index]
    name = str(layer_index)
    neuron = (0, 1, 1)
    dist = torch.rand(4, *x.shape[1:], generator=torch.Generator().manual_seed(0)).to(x.device)

    def ours(method: str, **options: object) -> Callable[[], torch.Tensor]:
        return lambda: attribute(model, x, method=method, target=target, cache=False, **options).values

    steps = {"n_steps": 20}
    return [
        ("layer_conductance", ours("layer_conductance", layer=name, **steps),
         lambda: C.LayerConductance(model, layer).attribute(x, target=target, n_steps=20)),
        ("layer_gradient_x_activation", ours("layer_gradient_x_activation", layer=name),
         lambda: C.LayerGradientXActivation(model, layer).attribute(x, target=target)),
        ("internal_influence", ours("internal_influence", layer=name, **steps),
         lambda: C.InternalInfluence(model, layer).attribute(x, target=target, n_steps=20)),
        ("layer_deeplift", ours("layer_deeplift", layer=name),
         lambda: C.LayerDeepLift(model, layer).attribute(x, baselines=torch.zeros_like(x), target=target)),
        ("layer_gradient_shap", ours("layer_gradient_shap", layer=name, baseline=dist, n_samples=10, seed=1),
         _seeded(lambda: C.LayerGradientShap(model, layer).attribute(
             x, baselines=dist, target=target, n_samples=10), 1)),
        ("neuron_integrated_gradients",
         ours("neuron_integrated_gradients", layer=name, neuron=neuron, **steps),
         lambda: C.NeuronIntegratedGradients(model, layer).attribute(x, neuron, n_steps=20)),
        ("neuron_conductance", ours("neuron_conductance", layer=name, neuron=neuron, **steps),
         lambda: C.NeuronConductance(model, layer).attribute(
             x, neuron, target=target, n_steps=20, method="gausslegendre")),
        ("smooth=smoothgrad over IG", ours("integrated_gradients", smooth="smoothgrad", nt_samples=8,
                                          stdevs=0.1, seed=2, **steps),
         _seeded(lambda: C.NoiseTunnel(C.IntegratedGradients(model)).attribute(
             x, nt_type="smoothgrad", nt_samples=8, stdevs=0.1, target=target, n_steps=20), 2)),
    ]  # fmt: skip


def parity_overhead(
    device: torch.device,
    quick: bool,
    timed: Callable[..., list[float]],
    table: Callable[..., None],
    model: nn.Sequential,
    layer_index: int,
    side: int,
) -> None:
    """Print the overhead table (``timed`` and ``table`` are bench_attribution's helpers)."""
    import warnings

    repeats = 1 if quick else 5
    batch = 2 if quick else 8
    model = model.to(device)
    x = torch.rand(batch, 3, side, side, device=device)
    target = model(x).argmax(1)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Captum's own calls warn about hooks; ours are quiet
        for name, ours, theirs in parity_cases(model, layer_index, x, target):
            t_captum, t_ours = timed(theirs, ours, repeats=repeats)
            reference, values = theirs(), ours()
            reference = reference[0] if isinstance(reference, tuple) else reference
            scale = float(reference.abs().max()) or 1.0
            difference = float((values - reference).abs().max()) / scale
            overhead = f"{100 * (t_ours / t_captum - 1):+.1f}%"
            rows.append([name, batch, t_captum * 1e3, t_ours * 1e3, overhead, difference])
    table(
        f"Captum-parity methods: ours vs raw Captum (ReLU CNN {side}px, layer [{layer_index}]; "
        f"{device.type})",
        ["method", "B", "Captum ms", "ours ms", "overhead", "max |diff| / max |value|"],
        rows,
    )


if __name__ == "__main__":
    import bench_attribution

    quick = "--quick" in sys.argv
    torch.manual_seed(0)
    network = bench_attribution.cnn(nn.ReLU, 4 if quick else 16)
    side = bench_attribution.side(quick)
    helpers = (bench_attribution.timed, bench_attribution.table)
    parity_overhead(torch.device("cpu"), quick, *helpers, network, 4, side)
