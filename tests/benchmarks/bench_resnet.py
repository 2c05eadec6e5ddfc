"""Real size: ResNet-18 (torchvision's architecture) on 1 x 3 x 224 x 224, against raw Captum; prints a table.

    python tests/benchmarks/bench_resnet.py                # CPU, 224 x 224 (a few minutes on 2 cores)
    python tests/benchmarks/bench_resnet.py --device cuda  # the same table on a GPU, plus a ResNet-50 block
    python tests/benchmarks/bench_resnet.py --quick        # smoke run (seconds), used by the test suite

Rows (issue 13's table, the engine's part):
1. IG with 50 Gauss-Legendre nodes, ours vs Captum's IntegratedGradients with the same rule, steps and chunk;
2. DeepLIFT on the model with one ReLU module reused per block (ours, through the distinct-activation view)
   vs Captum's DeepLift on the twin built with distinct modules: time ratio and the largest value difference;
3. feature_ablation with the default grouping (square patches): time, groups, progress reports;
4. the AttributionWidget switched to IG-50: time to the first shown result (the coarse, preliminary one of
   progressive IG) and to the final one;
5. bytes of the first view of a 2048 x 2048 input (image + result, as ipywidgets sends them), at display size.
Times are the best of interleaved repeats (load from other processes hits both sides alike).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from captum.attr import DeepLift, IntegratedGradients
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from attr_widgets.attribution import attribute  # noqa: E402
from attr_widgets.examples.resnet import resnet18, resnet50  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(device: torch.device, *functions: Callable[[], object], repeats: int) -> list[float]:
    """Best wall time of each function, interleaved, after one warm-up call each."""
    for fn in functions:
        fn()
    best = [float("inf")] * len(functions)
    for _ in range(repeats):
        for i, fn in enumerate(functions):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def rows_for(name: str, shared, twin, x: torch.Tensor, steps: int, chunk: int, repeats: int) -> list[str]:
    device = x.device
    target = int(shared(x).argmax())
    zeros = torch.zeros_like(x)

    def ours_ig() -> object:
        return attribute(shared, x, method="integrated_gradients", n_steps=steps, target=target,
                         internal_batch_size=chunk, cache=False)  # fmt: skip

    captum_ig = IntegratedGradients(shared)

    def raw_ig() -> object:
        return captum_ig.attribute(x, zeros, target=target, n_steps=steps, method="gausslegendre",
                                   internal_batch_size=chunk)  # fmt: skip

    ig_ours, ig_captum = timed(device, ours_ig, raw_ig, repeats=repeats)

    def ours_deeplift() -> torch.Tensor:
        return attribute(shared, x, method="deeplift", target=target, cache=False).values

    captum_deeplift = DeepLift(twin)

    def twin_deeplift() -> torch.Tensor:
        return captum_deeplift.attribute(x.clone(), zeros, target=target)

    dl_ours, dl_captum = timed(device, ours_deeplift, twin_deeplift, repeats=repeats)
    difference = float((ours_deeplift() - twin_deeplift().detach()).abs().max())
    scale = float(twin_deeplift().detach().abs().max())

    reports: list[tuple[int, int]] = []
    _sync(device)
    start = time.perf_counter()
    ablation = attribute(shared, x, method="feature_ablation", target=target, cache=False,
                         progress=lambda done, total: reports.append((done, total)))  # fmt: skip
    _sync(device)
    ablation_s = time.perf_counter() - start
    first_s, final_s, preliminary = widget_first_result(shared, x, steps)
    return [
        f"| {name}: IG-{steps} (chunk {chunk}), ours vs raw Captum | {ig_ours:.3f} s | {ig_captum:.3f} s | "
        f"{ig_ours / ig_captum:.3f}x | ≤ 1.05x |",
        f"| {name}: DeepLIFT, ours (reused ReLU) vs Captum on the distinct-module twin | {dl_ours:.3f} s | "
        f"{dl_captum:.3f} s | {dl_ours / dl_captum:.3f}x (max diff {difference:.1e} of {scale:.1e}) | "
        "≤ 1.1x, equal |",
        f"| {name}: feature_ablation, default patches ({ablation.info['groups']} groups, "
        f"{len(reports)} progress reports, total known from the start: {reports[1][1] == reports[-1][1]}) | "
        f"{ablation_s:.2f} s | — | — | ≤ 15 s |",
        f"| {name}: widget IG-{steps}, time to the first shown result (preliminary: {preliminary}) | "
        f"{first_s:.2f} s | — | — | ≤ 1 s |",
        f"| {name}: widget IG-{steps}, time to the final result | {final_s:.2f} s | — | — | — |",
    ]


def first_view_bytes(side: int) -> tuple[int, int]:
    """(bytes of the widget's first view of a side x side input, bytes at full resolution for comparison)."""
    import json

    from ipywidgets.widgets.widget import _remove_buffers

    from attr_widgets.widgets import AttributionWidget

    torch.manual_seed(0)
    layers = (nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    small = nn.Sequential(*layers, nn.Linear(4, 3)).eval()
    w = AttributionWidget(small, torch.rand(3, side, side), method="saliency")
    stripped, _, buffers = _remove_buffers({"image": w.image, "result": w.result})
    sent = len(json.dumps(stripped, default=str)) + sum(memoryview(b).nbytes for b in buffers)
    return sent, side * side * (4 + 4)  # RGBA + float32 per pixel


def widget_first_result(model, x: torch.Tensor, steps: int) -> tuple[float, float, bool]:
    """Seconds from switching an AttributionWidget to IG to its first shown and its final result."""
    from attr_widgets.widgets import AttributionWidget

    w = AttributionWidget(model, x[0], method="saliency", n_steps=steps)
    shown: list[tuple[float, bool]] = []
    w.observe(lambda c: shown.append((time.perf_counter(), bool(c["new"].get("preliminary")))), "result")
    start = time.perf_counter()
    w.method = "integrated_gradients"  # a Python assignment returns with the final result
    return shown[0][0] - start, shown[-1][0] - start, shown[0][1]


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--quick", action="store_true", help="small input and few steps (smoke test)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", module="captum")
    size, steps, chunk, repeats = (16, 2, 2, 1) if args.quick else (224, 50, 10, 3)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    print(f"## ResNet at real size: 1 x 3 x {size} x {size}, {device}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads\n")  # fmt: skip
    print("| measure | ours | Captum | ratio | goal |")
    print("|---|---|---|---|---|")
    models = [("ResNet-18", resnet18)] + ([("ResNet-50", resnet50)] if device.type == "cuda" else [])
    side = 256 if args.quick else 2048
    sent, full = first_view_bytes(side)
    print(f"| first view of a {side} x {side} input (image + result) | {sent / 1e6:.2f} MB | — | "
          f"{full / sent:.0f}x less than full resolution ({full / 1e6:.1f} MB) | ≤ 2 MB |", flush=True)
    for name, build in models:
        shared = build().to(device)
        twin = build(distinct_activations=True).to(device)
        for line in rows_for(name, shared, twin, x, steps, chunk, repeats):
            print(line, flush=True)


if __name__ == "__main__":
    main()
