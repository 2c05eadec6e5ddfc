"""Benchmark: per-call overhead of the single-pass methods against bare autograd.

    python tests/benchmarks/bench_overhead.py            # CPU, many repeats
    python tests/benchmarks/bench_overhead.py --quick    # smoke run (seconds), used by the test suite

For each model (a bias-free 256-512-512-10 ReLU MLP, i.e. an X-DNN, and the small 8×8 digits CNN of the
browser tests, untrained: timings do not depend on the weights), batch 16, the table compares

    bare autograd    torch.autograd.grad(model(x).gather(1, t[:, None]).sum(), x): one forward, one backward
    ours             attribute(model, x, method=..., target=t, cache=False)
    ratio            ours / bare (the target is ≤ 1.3)

plus ``cache hit``: the same attribute call answered from the cache, and ``x_gradient vs IG-50``: how many
times faster X-Gradient (Hesse, Schaub-Meyer & Roth, "Fast Axiomatic Attribution for Neural Networks", 2021)
is than Integrated Gradients (Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep Networks", 2017)
with 50 steps on the same model and inputs (the target is ≥ 10). Times are medians over repeats, after
warmup, with a fixed number of torch threads.
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
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from attr_widgets.attribution import AttributionWarning, attribute, clear_cache  # noqa: E402

METHODS = ("saliency", "input_x_gradient", "x_gradient")
BATCH = 16


def xdnn_mlp() -> nn.Module:
    """A bias-free ReLU MLP 256-512-512-10: nonnegatively homogeneous, so X-Gradient equals IG."""
    return nn.Sequential(
        nn.Linear(256, 512, bias=False),
        nn.ReLU(),
        nn.Linear(512, 512, bias=False),
        nn.ReLU(),
        nn.Linear(512, 10, bias=False),
    )


def digits_cnn() -> nn.Module:
    """The architecture of tests/browser/digits_model.py (8×8, one channel), without its training."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def interleaved_ms(functions: dict[str, Callable[[], object]], repeats: int, warmup: int) -> dict[str, float]:
    """Median milliseconds of each function, timed round-robin: drift in machine load hits all alike."""
    for _ in range(warmup):
        for function in functions.values():
            function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def bare_gradient(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    probe = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(probe).gather(1, target[:, None]).sum(), probe)
    return grad


def rows(name: str, model: nn.Module, x: torch.Tensor, repeats: int, warmup: int) -> list[str]:
    model.eval()
    with torch.no_grad():
        target = model(x).argmax(dim=1)
    functions: dict[str, Callable[[], object]] = {"bare": lambda: bare_gradient(model, x, target)}
    for method in METHODS:
        functions[method] = lambda m=method: attribute(model, x, method=m, target=target, cache=False)
        functions[f"{method} hit"] = lambda m=method: attribute(model, x, method=m, target=target)
    clear_cache()
    ms = interleaved_ms(functions, repeats, warmup)
    bare = ms["bare"]
    lines = [
        f"{name:<12} {method:<18} {bare:>9.3f} {ms[method]:>9.3f} {ms[method] / bare:>6.2f} "
        f"{ms[method + ' hit']:>10.3f}"
        for method in METHODS
    ]
    ig_ms = interleaved_ms(
        {
            "ig": lambda: attribute(
                model, x, method="integrated_gradients", target=target, n_steps=50, cache=False
            ),
            "xg": lambda: attribute(model, x, method="x_gradient", target=target, cache=False),
        },
        max(3, repeats // 10),
        1,
    )
    ig, xg = ig_ms["ig"], ig_ms["xg"]
    lines.append(f"{name:<12} {'x_gradient vs IG-50':<18} {ig:>9.3f} {xg:>9.3f} {ig / xg:>6.1f}x")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke run)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per row")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    # The digits CNN has biases, so x_gradient warns on every call that it is only input × gradient there;
    # the timing is what this table is about.
    warnings.filterwarnings("ignore", category=AttributionWarning)
    repeats = args.repeats or (5 if args.quick else 200)
    warmup = 2 if args.quick else 20
    torch.manual_seed(0)
    models = (
        ("mlp", xdnn_mlp(), torch.randn(BATCH, 256)),
        ("digits_cnn", digits_cnn(), torch.rand(BATCH, 1, 8, 8)),
    )
    print(f"Per-call overhead, batch {BATCH}, CPU, {args.threads} thread(s), median of {repeats} (ms)")
    print(f"{'model':<12} {'method':<18} {'bare':>9} {'ours':>9} {'ratio':>6} {'cache hit':>10}")
    print("(x_gradient vs IG-50 rows: IG-50 ms, x_gradient ms, speed-up)")
    for name, model, x in models:
        for line in rows(name, model, x, repeats, warmup):
            print(line)


if __name__ == "__main__":
    main()
