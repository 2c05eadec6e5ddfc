"""Benchmark of the attribution engine against raw Captum; prints markdown tables.

    python tests/benchmarks/bench_attribution.py            # full run (a few minutes on 2 CPU cores)
    python tests/benchmarks/bench_attribution.py --quick    # smoke run (seconds), used by the test suite

Tables:
1. overhead of ``attribute(method="integrated_gradients")`` over Captum's IntegratedGradients (same settings);
2. steps each integration rule needs to reach |delta| ≤ 1e-3·|f(x) − f(b)| on smooth and ReLU models;
3. gradient evaluations of ``n_steps="auto"`` (tol 1e-3) against Captum's default 50 steps;
4. layer IG with the prefix computed once against Captum's LayerIntegratedGradients (middle layer);
5. X-Gradient (one pass) against IG with 50 steps on an X-DNN;
6. the Captum-parity methods (layer, neuron, NoiseTunnel) against raw Captum (``bench_parity_methods.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from captum.attr import IntegratedGradients, LayerIntegratedGradients
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from attr_widgets.attribution import INTEGRATION_RULES, attribute  # noqa: E402
from attr_widgets.xdnn import to_xdnn  # noqa: E402

TOL = 1e-3


def timed(*functions: Callable[[], object], repeats: int) -> list[float]:
    """Best wall time of each function, interleaved (so load from other processes hits all alike)."""
    for fn in functions:
        fn()  # warm-up
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for i, fn in enumerate(functions):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def mlp(
    activation: type[nn.Module], depth: int, width: int, features: int, classes: int = 10
) -> nn.Sequential:
    layers: list[nn.Module] = []
    size = features
    for _ in range(depth):
        linear = nn.Linear(size, width)
        # Variance-preserving init, so deep stacks keep activations (and attributions) of order one.
        nn.init.normal_(linear.weight, std=(2.0 / size) ** 0.5)
        layers += [linear, activation()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, classes)).eval()


def cnn(
    activation: type[nn.Module], channels: int = 16, classes: int = 10, pool: type[nn.Module] = nn.MaxPool2d
) -> nn.Sequential:
    """Three stages of two 3x3 convolutions (c, 2c, 4c channels); AvgPool2d keeps a smooth model smooth."""
    c = channels
    layers: list[nn.Module] = []
    size = 3
    for stage, width in enumerate((c, 2 * c, 4 * c)):
        if stage:
            layers.append(pool(2))
        layers += [nn.Conv2d(size, width, 3, padding=1), activation(), nn.Conv2d(width, width, 3, padding=1)]
        layers.append(activation())
        size = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(size, classes)).eval()


def side(quick: bool) -> int:
    """Image size: 32 pixels, 8 in quick runs."""
    return 8 if quick else 32


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    sys.stdout.flush()


def _overhead_row(name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> list[object]:
    target = model(x).argmax(1)
    ig = IntegratedGradients(model)

    def captum_ig() -> object:
        return ig.attribute(
            x, target=target, n_steps=50, method="gausslegendre", return_convergence_delta=True
        )

    def ours(size: int | str | None) -> object:
        return attribute(
            model,
            x,
            method="integrated_gradients",
            target=target,
            n_steps=50,
            internal_batch_size=size,
            cache=False,
        )

    base, plain, auto = timed(captum_ig, lambda: ours(None), lambda: ours("auto"), repeats=repeats)
    return [
        name,
        x.shape[0],
        base * 1e3,
        plain * 1e3,
        f"{100 * (plain / base - 1):+.1f}%",
        auto * 1e3,
        f"{100 * (auto / base - 1):+.1f}%",
    ]


def overhead(device: torch.device, quick: bool) -> None:
    repeats = 1 if quick else 9
    batch = 2 if quick else 16
    models = {
        "tanh MLP 4x256": (mlp(nn.Tanh, 4, 64 if quick else 256, 64), torch.randn(batch, 64)),
        f"ReLU CNN {side(quick)}px": (
            cnn(nn.ReLU, 4 if quick else 16),
            torch.rand(batch, 3, side(quick), side(quick)),
        ),
    }
    rows = [
        _overhead_row(name, model.to(device), x.to(device), repeats) for name, (model, x) in models.items()
    ]
    table(
        f"IG overhead vs raw Captum (50 steps, gausslegendre, with delta; {device.type})",
        ["model", "B", "Captum ms", "ours ms (batch None)", "overhead", "ours ms (batch auto)", "overhead"],
        rows,
    )


def steps_models(quick: bool) -> dict[str, tuple[nn.Module, torch.Tensor]]:
    torch.manual_seed(0)
    batch = 2 if quick else 8
    models = {
        "tanh MLP": (mlp(nn.Tanh, 3, 64, 16), torch.randn(batch, 16)),
        "GELU MLP": (mlp(nn.GELU, 3, 64, 16), torch.randn(batch, 16)),
        "ReLU MLP": (mlp(nn.ReLU, 3, 64, 16), torch.randn(batch, 16)),
        "GELU CNN (avg-pool)": (cnn(nn.GELU, 4, pool=nn.AvgPool2d), torch.rand(batch, 3, 16, 16)),
        "ReLU CNN": (cnn(nn.ReLU, 4), torch.rand(batch, 3, 16, 16)),
    }
    if quick:
        models = {name: models[name] for name in ("tanh MLP", "ReLU MLP")}
    # float64: the question is the quadrature error, not float32 rounding.
    return {name: (model.double(), x.double()) for name, (model, x) in models.items()}


def steps_to_tolerance(quick: bool) -> None:
    grid = (
        [2, 3, 4, 6, 8, 12, 16, 32, 64]
        if quick
        else list(range(2, 33)) + [40, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
    )
    rows = []
    for name, (model, x) in steps_models(quick).items():
        needed: dict[str, torch.Tensor] = {}
        for rule in INTEGRATION_RULES:
            first = torch.full((x.shape[0],), -1, dtype=torch.long)
            for n in grid:
                result = attribute(
                    model, x, method="integrated_gradients", n_steps=n, integration=rule, cache=False
                )
                reached = (result.relative_delta <= TOL) & (first < 0)
                first[reached] = n
                if (first > 0).all():
                    break
            needed[rule] = first
        row: list[object] = [name]
        for rule in INTEGRATION_RULES:
            first = needed[rule]
            missing = int((first < 0).sum())
            median = statistics.median([int(v) if v > 0 else grid[-1] * 2 for v in first])
            row.append(f"{median:g}" + (f" ({missing} > {grid[-1]})" if missing else ""))
        gl = statistics.median([int(v) if v > 0 else grid[-1] * 2 for v in needed["gausslegendre"]])
        right = statistics.median([int(v) if v > 0 else grid[-1] * 2 for v in needed["riemann_right"]])
        row.append(f"{right / gl:.1f}x")
        rows.append(row)
    table(
        "Steps to reach |delta| <= 1e-3 |f(x) - f(b)| (median over the batch, zero baseline, float64)",
        ["model", *INTEGRATION_RULES, "riemann_right / gausslegendre"],
        rows,
    )


def auto_steps(quick: bool) -> None:
    rows = []
    for name, (model, x) in steps_models(quick).items():
        for rule in INTEGRATION_RULES:
            result = attribute(
                model,
                x,
                method="integrated_gradients",
                n_steps="auto",
                integration=rule,
                tol=TOL,
                max_steps=64 if quick else 1024,
                cache=False,
            )
            evaluations = result.info["evaluations"].double()
            mean = float(evaluations.mean())
            rows.append(
                [
                    name,
                    rule,
                    mean,
                    int(evaluations.max()),
                    f"{mean / 50:.2f}",
                    float(result.relative_delta.max()),
                ]
            )
    table(
        'n_steps="auto" (tol 1e-3): gradient evaluations per example vs Captum\'s default 50',
        ["model", "rule", "mean evals", "max evals", "mean / 50", "max relative delta"],
        rows,
    )


def _layer_row(name: str, model: nn.Module, index: int, x: torch.Tensor, repeats: int) -> list[object]:
    layer = model[index]
    target = model(x).argmax(1)
    lig = LayerIntegratedGradients(model, layer)

    def theirs() -> torch.Tensor:
        return lig.attribute(x, target=target, n_steps=50, method="gausslegendre")

    def ours() -> object:
        return attribute(
            model, x, method="layer_integrated_gradients", layer=layer, target=target, n_steps=50, cache=False
        )

    t_captum, t_ours = timed(theirs, ours, repeats=repeats)
    reference, result = theirs(), ours()
    difference = float((result.values - reference).abs().max() / reference.abs().max())
    return [
        name,
        f"[{index}] {type(layer).__name__}",
        x.shape[0],
        t_captum * 1e3,
        t_ours * 1e3,
        f"{t_captum / t_ours:.2f}x",
        difference,
    ]


def layer_prefix_reuse(device: torch.device, quick: bool) -> None:
    repeats = 1 if quick else 5
    batch = 2 if quick else 16
    torch.manual_seed(0)
    deep = mlp(nn.GELU, 4 if quick else 16, 32 if quick else 256, 64)
    conv = cnn(nn.ReLU, 4 if quick else 16)
    quarter = len(deep) // 4
    side_px = side(quick)
    cases = [
        ("deep GELU MLP", deep, quarter - 1, torch.randn(batch, 64)),
        ("deep GELU MLP", deep, 2 * quarter - 1, torch.randn(batch, 64)),
        ("deep GELU MLP", deep, 3 * quarter - 1, torch.randn(batch, 64)),
        (f"ReLU CNN {side_px}px", conv, 4, torch.rand(batch, 3, side_px, side_px)),
        (f"ReLU CNN {side_px}px", conv, 6, torch.rand(batch, 3, side_px, side_px)),
        (f"ReLU CNN {side_px}px", conv, 9, torch.rand(batch, 3, side_px, side_px)),
    ]
    if quick:
        cases = cases[1:2] + cases[4:5]
    rows = [
        _layer_row(name, model.to(device), index, x.to(device), repeats) for name, model, index, x in cases
    ]
    table(
        f"Layer IG, prefix computed once vs Captum LayerIntegratedGradients (50 steps; layers at 1/4, 1/2 "
        f"and 3/4 depth; {device.type})",
        ["model", "layer", "B", "Captum ms", "ours ms", "speedup", "max |diff| / max |value|"],
        rows,
    )


def x_gradient_vs_ig(device: torch.device, quick: bool) -> None:
    repeats = 1 if quick else 7
    batch = 2 if quick else 16
    torch.manual_seed(0)
    model = to_xdnn(cnn(nn.ReLU, 4 if quick else 16)).model.to(device)
    x = torch.rand(batch, 3, side(quick), side(quick), device=device)
    target = model(x).argmax(1)
    rows = []

    def ig() -> object:
        return attribute(model, x, method="integrated_gradients", target=target, n_steps=50, cache=False)

    def xg(check: bool) -> object:
        return attribute(model, x, method="x_gradient", target=target, check_homogeneous=check, cache=False)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an X-DNN must not trigger the "only input x gradient" warning
        t_ig, t_checked, t_unchecked = timed(ig, lambda: xg(True), lambda: xg(False), repeats=repeats)
        reference = ig().values
        for check, t_xg in ((True, t_checked), (False, t_unchecked)):
            values = xg(check).values
            error = float((values - reference).abs().max() / reference.abs().max())
            rows.append(
                [f"check_homogeneous={check}", batch, t_ig * 1e3, t_xg * 1e3, f"{t_ig / t_xg:.1f}x", error]
            )
    table(
        f"x_gradient vs IG-50 on an X-DNN (to_xdnn of a ReLU CNN, {side(quick)}px; {device.type})",
        ["x_gradient", "B", "IG-50 ms", "x_gradient ms", "speedup", "max |diff| / max |IG|"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small models and grids: a smoke run in seconds")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f"# attribution benchmark ({'quick' if args.quick else 'full'}; torch {torch.__version__}; "
          f"{device}; {torch.get_num_threads()} CPU threads)")  # fmt: skip
    overhead(device, args.quick)
    steps_to_tolerance(args.quick)
    auto_steps(args.quick)
    layer_prefix_reuse(device, args.quick)
    x_gradient_vs_ig(device, args.quick)
    from bench_parity_methods import parity_overhead

    torch.manual_seed(0)
    model = cnn(nn.ReLU, 4 if args.quick else 16)
    parity_overhead(device, args.quick, timed, table, model, 4, side(args.quick))


if __name__ == "__main__":
    main()
