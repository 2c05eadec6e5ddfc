"""Benchmark: X-Gradient (one forward/backward pass) against Integrated Gradients on an X-DNN.

    python tests/benchmarks/bench_xdnn.py                 # batch 16 of 3×32×32 images on the CPU
    python tests/benchmarks/bench_xdnn.py --quick         # smoke run (seconds), used by the test suite
    python tests/benchmarks/bench_xdnn.py --device cuda   # the same table on a GPU

The model is a small ResNet-like CNN (conv stem, two residual stages with BatchNorm, max pooling, global
average pooling, linear classifier) turned into an X-DNN by ``attr_widgets.xdnn.to_xdnn``. On a nonnegatively
homogeneous network the gradient is constant along the ray {αx: α > 0}, so IG with the zero baseline equals
x·∇F(x) for any number of steps up to rounding (seed 001, Key Result II); the "max rel diff" column measures
that rounding (max |XG − IG| / max |IG| over the batch).

Rows:
    x_gradient                 attribute(method="x_gradient"): one pass plus the homogeneity check
    x_gradient (no check)      the same with check_homogeneous=False: exactly one forward/backward
    x·∇F (raw autograd)        the closed form by hand, for the engine's overhead
    captum IG-50               Captum IntegratedGradients, Gauss-Legendre, 50 steps, one internal batch
    attribute IG-50            attribute(method="integrated_gradients", n_steps=50)
    captum IG-256              Captum with many steps: the accuracy reference, run once (IG-64 with --quick)
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
from captum.attr import IntegratedGradients
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from attr_widgets.attribution import attribute  # noqa: E402
from attr_widgets.xdnn import is_homogeneous, to_xdnn  # noqa: E402


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))) + x)


def resnet_like(width: int, classes: int = 10) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        Block(width),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.BatchNorm2d(2 * width),
        nn.ReLU(),
        Block(2 * width),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * width, classes),
    )
    for module in net.modules():  # trained-looking BatchNorm statistics
        if isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return net.eval()


def timed(
    fn: Callable[[], torch.Tensor], repeats: int, device: torch.device
) -> tuple[float, float, torch.Tensor]:
    """Median wall and process-CPU seconds after one warm-up call, and the last result.

    CPU time (all threads of this process) is printed next to wall time: on a machine shared with other
    jobs it is the steadier estimate of what the call costs.
    """
    result = fn()
    walls, cpus = [], []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats (smoke run)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (median); default 5")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    size, width, many = (8, 4, 64) if args.quick else (32, 32, 256)
    repeats = args.repeats or (1 if args.quick else 5)

    xmodel = to_xdnn(resnet_like(width)).model.to(device)
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(args.batch, 3, size, size, generator=generator).to(device)
    target = xmodel(x).argmax(1).detach()
    assert is_homogeneous(xmodel, x), "to_xdnn did not give a homogeneous network"
    zeros = torch.zeros_like(x)
    captum_ig = IntegratedGradients(xmodel)

    def raw_x_gradient() -> torch.Tensor:
        leaf = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(xmodel(leaf).gather(1, target[:, None]).sum(), leaf)
        return (leaf * grad).detach()

    def captum(steps: int) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Captum's "did not require gradients" notice
                return captum_ig.attribute(
                    x.clone().requires_grad_(True),
                    zeros,
                    target=target,
                    n_steps=steps,
                    method="gausslegendre",
                ).detach()

        return run

    rows: list[tuple[str, Callable[[], torch.Tensor]]] = [
        ("x_gradient", lambda: attribute(xmodel, x, method="x_gradient", target=target, cache=False).values),
        (
            "x_gradient (no check)",
            lambda: (
                attribute(
                    xmodel, x, method="x_gradient", target=target, check_homogeneous=False, cache=False
                ).values
            ),
        ),
        ("x·∇F (raw autograd)", raw_x_gradient),
        ("captum IG-50", captum(50)),
        (
            "attribute IG-50",
            lambda: (
                attribute(
                    xmodel, x, method="integrated_gradients", target=target, n_steps=50, cache=False
                ).values
            ),
        ),
        (f"captum IG-{many}", captum(many)),
    ]
    results = {name: timed(fn, 1 if name.endswith(f"IG-{many}") else repeats, device) for name, fn in rows}
    reference_wall, reference_cpu, _ = results["captum IG-50"]
    xg = results["x_gradient"][2]
    reference = results[f"captum IG-{many}"][2]

    print(
        f"X-DNN: ResNet-like CNN (width {width}), batch {args.batch} of 3×{size}×{size}, {device.type}, "
        f"{torch.get_num_threads()} threads, median of {repeats} after a warm-up (IG-{many}: one run)"
    )
    print(
        "| method | wall ms | wall: IG-50 / this | cpu ms | cpu: IG-50 / this | max rel diff vs x_gradient |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, (wall, cpu, values) in results.items():
        diff = float((values - xg).abs().max() / values.abs().max())
        print(
            f"| {name} | {wall * 1e3:.1f} | {reference_wall / wall:.1f}× | {cpu * 1e3:.1f} | "
            f"{reference_cpu / cpu:.1f}× | {diff:.2e} |"
        )
    best = float((xg - reference).abs().max() / reference.abs().max())
    print(f"\nmax |XG − IG-{many}| / max |IG-{many}| = {best:.2e} (goal ≤ 1e-5)")
    wall, cpu, _ = results["x_gradient"]
    ratios = f"wall {reference_wall / wall:.1f}×, cpu {reference_cpu / cpu:.1f}×"
    print(f"captum IG-50 / x_gradient: {ratios} (goal ≥ 10×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
