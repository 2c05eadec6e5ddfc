"""Benchmark: the AttributionWidget's evaluation panel on the digits CNN (CPU, Python side, no browser).

Usage::

    python tests/benchmarks/bench_evaluation.py          # trained CNN, 5 repeats per figure
    python tests/benchmarks/bench_evaluation.py --quick  # untrained CNN, 1 repeat (test suite)

Each figure is timed through ``w.evaluate(name)`` with the cache emptied first, for Integrated Gradients
(n_steps=50) and saliency on one 8×8 digit. The issue's goals: deletion + insertion curves (50 points) ≤ 1 s,
the sanity check ≤ 5 s.

Rows:
    curves (engine only)   deletion_curve + insertion_curve of the map, 50 steps each, no random reference.
    deletion + insertion   the panel's curves: both, each with its random-order reference (4 curves).
    convergence            |delta| vs n_steps for 5 rules × 7 step counts (IG only).
    sanity                 cascading randomisation of the 3 parameter layers, attributions recomputed.
    axioms                 check_axioms: the six probes.
    infidelity             Captum's infidelity, 10 perturbations.
    sensitivity            Captum's max-sensitivity, 10 perturbations (the method re-run on each).
    cached (all seven)     w.evaluate() again with every figure cached.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))

from digits_model import LABELS, digits_cnn, digits_data, train_digits_cnn  # noqa: E402

from attr_widgets.attribution.metrics import deletion_curve, insertion_curve  # noqa: E402
from attr_widgets.widgets import AttributionWidget  # noqa: E402
from attr_widgets.widgets._evaluation import EVALUATIONS  # noqa: E402

GOALS = {"deletion + insertion": 1.0, "sanity": 5.0}
FIGURES = ("convergence", "sanity", "axioms", "infidelity", "sensitivity")


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def uncached(w: AttributionWidget, what):
    def run():
        w._evaluator._cache.clear()
        return w.evaluate(what)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="untrained CNN, one repeat (for the test suite)")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    torch.set_num_threads(1)
    if args.quick:
        torch.manual_seed(0)
        model, x_test = digits_cnn().eval(), digits_data()[2]
    else:
        model, x_test, _ = train_digits_cnn()
    x = x_test[3]
    methods = ("integrated_gradients", "saliency")
    widgets = {m: AttributionWidget(model, x, labels=LABELS, method=m, n_steps=50) for m in methods}
    uncached(widgets[methods[1]], EVALUATIONS)()  # warm-up: captum.metrics' import, first allocations

    rows: list[tuple[str, list[float | None]]] = []

    def engine_curves(w: AttributionWidget):
        pixel_map = w.attribution.values.sum(1, keepdim=True)
        target = int(w.attribution.target[0])
        return lambda: (deletion_curve(model, w.inputs, pixel_map, target=target, steps=50),
                        insertion_curve(model, w.inputs, pixel_map, target=target, steps=50))  # fmt: skip

    rows.append(("curves (engine only)", [median_time(engine_curves(widgets[m]), repeats) for m in methods]))
    curves = [median_time(uncached(widgets[m], ("deletion", "insertion")), repeats) for m in methods]
    rows.append(("deletion + insertion", curves))
    for name in FIGURES:
        times: list[float | None] = []
        for m in methods:
            if name == "convergence" and m != "integrated_gradients":
                times.append(None)  # not applicable: no integration rule
                continue
            times.append(median_time(uncached(widgets[m], name), repeats))
        rows.append((name, times))
    for w in widgets.values():
        w.evaluate()
    cached = [median_time(lambda w=widgets[m]: w.evaluate(), repeats) for m in methods]
    rows.append(("cached (all seven)", cached))

    print(f"evaluation panel, digits CNN ({'untrained, quick' if args.quick else 'trained'}), 1 CPU thread, "
          f"median of {repeats}")  # fmt: skip
    header = f"{'figure':<24}" + "".join(f"{m:>22}" for m in methods) + f"{'goal':>10}{'IG / goal':>11}"
    print(header)
    print("-" * len(header))
    for name, times in rows:
        cells = "".join(f"{'n/a':>22}" if t is None else f"{t * 1000:>19.1f} ms" for t in times)
        goal = GOALS.get(name)
        ratio = f"{times[0] / goal:>10.2f}x" if goal is not None and times[0] is not None else f"{'':>11}"
        print(f"{name:<24}{cells}{'' if goal is None else f'{goal:>8.1f} s':>10}{ratio}")
    missed = [name for name, times in rows if name in GOALS and any(t is not None and t > GOALS[name]
                                                                  for t in times)]  # fmt: skip
    print("goals met" if not missed else f"goals missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
