"""CompareWidget on the digits CNN: time to the first map and to all maps, vs calling each method in turn.

For each test digit a CompareWidget with five methods (saliency, integrated gradients, SmoothGrad, Grad-CAM,
occlusion) is built (its first request measures every method), then its target changes to the second most
probable class: that request is timed from the assignment to the first published map and to the last.
The reference is the same five ``attribute`` calls one after another, in the order given, for the same
digit and target (cache off): its first map comes after the first method, all maps after the sum.
Both orders are measured: the issue's (a fast method first) and the reverse (occlusion first), where
computing fast methods first pays. Then the bytes one update sends: result messages (JSON + binary
buffers) and per-method progress messages, for the 8×8 digits and for a 224×224 RGB input.

    python tests/benchmarks/bench_compare.py [--quick] [--examples 10]

Each digit's target changes five times (second and third most probable class in turn); medians over all.

Prints markdown tables; CPU, one torch thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from ipywidgets.widgets.widget import _remove_buffers
from torch import nn

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "browser"))

from digits_model import train_digits_cnn  # noqa: E402

from attr_widgets.attribution import attribute, clear_cache  # noqa: E402
from attr_widgets.widgets import CompareWidget  # noqa: E402

METHODS = ("saliency", "integrated_gradients", "smoothgrad", "grad_cam", "occlusion")
OPTIONS = {"grad_cam": {"layer": "2"}}  # the digits CNN's last Conv2d, CompareWidget's default


def timed_update(widget: CompareWidget, target: int) -> tuple[float, float, int]:
    """(seconds to the first map, seconds to all maps, results published) for one target change."""
    stamps: list[float] = []
    handler = lambda change: stamps.append(time.perf_counter())  # noqa: E731
    widget.observe(handler, "result")
    start = time.perf_counter()
    widget.target = target
    widget.unobserve(handler, "result")
    return stamps[0] - start, stamps[-1] - start, len(stamps)


def sequential(model: nn.Module, x: torch.Tensor, target: int, order: tuple[str, ...]) -> tuple[float, float]:
    """(seconds to the first map, seconds to all) calling ``attribute`` once per method, in ``order``."""
    clear_cache()
    start = time.perf_counter()
    first = None
    for name in order:
        attribute(model, x[None], method=name, target=target, cache=False, **OPTIONS.get(name, {}))
        first = time.perf_counter() - start if first is None else first
    return float(first), time.perf_counter() - start


def message_bytes(value: object, name: str) -> int:
    json_part, _, buffers = _remove_buffers({name: value})
    return len(json.dumps(json_part).encode()) + sum(memoryview(b).nbytes for b in buffers)


def bytes_per_update(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    w = CompareWidget(model, x, methods=METHODS)
    sizes = {"result": 0, "method_states": 0, "agreement_state": 0, "messages": 0}

    def record(change: dict) -> None:
        sizes[change["name"]] += message_bytes(change["new"], change["name"])
        sizes["messages"] += 1

    w.observe(record, names=["result", "method_states", "agreement_state"])
    w.target = (w.target + 1) % w.num_classes
    return sizes


def median_ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two digits, a briefly trained model")
    parser.add_argument("--examples", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    examples = 2 if args.quick else args.examples
    repeats = 1 if args.quick else 5
    model, x_test, _ = train_digits_cnn(epochs=1 if args.quick else 10)

    rows = []
    for label, order in (("fast method first (issue's order)", METHODS), ("occlusion first", METHODS[::-1])):
        widget_first, widget_all, seq_first, seq_all, published = [], [], [], [], []
        for i in range(examples):
            x = x_test[i]
            w = CompareWidget(model, x, methods=order)
            # Alternate between the second and third most probable class: each change is a fresh request for
            # every method; the widget and the calls one after another take turns, so load on the machine
            # hits both alike.
            for r in range(repeats):
                target = int(w._order[1 + r % 2])
                first, total, count = timed_update(w, target)
                widget_first.append(first)
                widget_all.append(total)
                published.append(count)
                s_first, s_all = sequential(model, x, target, order)
                seq_first.append(s_first)
                seq_all.append(s_all)
        rows.append((label, widget_first, widget_all, seq_first, seq_all, published))

    runs = f"median of {examples} digits × {repeats} changes"
    print(f"\n### CompareWidget, five methods, digits CNN (CPU, 1 thread, {runs})\n")
    print("| methods given | widget: first map | widget: all maps | one after another: first | "
          "one after another: all | first map ratio | all maps ratio | results per update |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, wf, wa, sf, sa, published in rows:
        first_ratio = median_ms(wf) / median_ms(sf)
        all_ratio = median_ms(wa) / median_ms(sa)
        results = statistics.median(published)
        print(
            f"| {label} | {median_ms(wf):.1f} ms | {median_ms(wa):.1f} ms | {median_ms(sf):.1f} ms | "
            f"{median_ms(sa):.1f} ms | {first_ratio:.2f} | {all_ratio:.2f} | {results:.0f} |"
        )

    torch.manual_seed(0)
    big = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, 10),
    ).eval()
    cases = [("digits 8×8", model, x_test[0])]
    if not args.quick:
        cases.append(("224×224 RGB", big, torch.rand(3, 224, 224)))
    print("\n### Bytes per update (one target change, five methods)\n")
    print("| input | result messages | progress messages | agreement messages | total | messages |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, net, x in cases:
        sizes = bytes_per_update(net, x)
        total = sizes["result"] + sizes["method_states"] + sizes["agreement_state"]
        print(
            f"| {name} | {sizes['result'] / 1024:.1f} KB | {sizes['method_states'] / 1024:.1f} KB | "
            f"{sizes['agreement_state'] / 1024:.1f} KB | {total / 1024:.1f} KB | {sizes['messages']} |"
        )


if __name__ == "__main__":
    main()
