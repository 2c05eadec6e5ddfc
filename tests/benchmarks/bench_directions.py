"""Benchmark: DirectionsWidget on the digits CNN (Hilton, "A basis-invariant version of attribution", 2024).

Usage::

    python tests/benchmarks/bench_directions.py          # trained CNN, all 1,797 sklearn digits, 200 moves
    python tests/benchmarks/bench_directions.py --quick  # untrained CNN, 300 digits, 20 moves (test suite)

The layer is the output of the first conv block (conv + ReLU, "1": 16 × 8 × 8 = 1,024 features per example).
Times are Python-side wall clock on the CPU (no browser): the expensive request (a pass over the data
collecting activations and gradients, then the important directions, PCA's and both objective curves) and
the cheap one a slider move makes (one forward and backward pass of one example through a patched layer).

Rows:
    collect             collect_samples: forward + backward over the data, activations and ∇f at the layer.
    solve               important directions and PCA (method="auto"), spreads, extremes, 1st-order objectives.
    measured objective  the real f's objective on 128 examples: 2 bases × (k + 1) patched forward passes.
    widget (k change)   the whole request through the widget when k changes (all of the above + one move).
    slider move         one `w.offsets = ...` assignment, p50 / p95 over the moves.
    projection on       the same with project=True.

A second table (full run, or ``--texts N``): the MiniLM sentiment classifier at encoder layer 3 (384 features
per token) over N sentences (default 300: the 160 shipped ones and lower-cased copies), one sample per token.
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

from digits_model import LABELS, digits_cnn, train_digits_cnn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from attr_widgets.widgets import DirectionsWidget  # noqa: E402
from attr_widgets.widgets._directions_compute import (  # noqa: E402
    TargetReader,
    collect_samples,
    solve,
    with_sampled_objectives,
)

LAYER = "1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="untrained CNN, 300 digits, 20 moves")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--moves", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a shared CPU)")
    parser.add_argument("--texts", type=int, default=None, help="MiniLM table, N sentences (full run: 300)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if args.quick:
        torch.manual_seed(0)
        model, images, moves = digits_cnn().eval(), images[:300], 20
    else:
        model, moves = train_digits_cnn()[0], args.moves

    layer = model.get_submodule(LAYER)
    reader = TargetReader(None)
    collect_s = timed(lambda: collect_samples(model, layer, images, reader, lambda done, total: None))
    samples = collect_samples(model, layer, images, reader, lambda done, total: None)
    solve_s = timed(lambda: solve(samples, args.k))
    state = solve(samples, args.k)
    measured_s = timed(lambda: with_sampled_objectives(model, layer, images, reader, state, lambda n: None))

    w = DirectionsWidget(model, layer=LAYER, data=images, k=args.k, labels=LABELS)
    widget_s = timed(lambda: setattr(w, "k", args.k + 1))
    gen = torch.Generator().manual_seed(0)
    r = w.result["n_directions"]
    rows = {}
    for project in (False, True):
        w.project = project
        times = []
        for _ in range(moves):
            offsets = ((torch.rand(r, generator=gen) - 0.5) * 6).tolist()
            times.append(timed(lambda offsets=offsets: setattr(w, "offsets", offsets)))
        rows["projection on" if project else "slider move"] = times

    print(f"DirectionsWidget benchmark: digits CNN, layer {LAYER!r} ({samples.acts.shape[1]} features), "
          f"{images.shape[0]} digits, k={args.k}, method {w.projection.method!r}, {args.threads} thread(s)"
          f"{' (quick)' if args.quick else ''}")
    print(f"{'step':<22}{'p50 ms':>10}{'p95 ms':>10}")
    singles = (
        ("collect", collect_s),
        ("solve", solve_s),
        ("measured objective", measured_s),
        ("widget (k change)", widget_s),
    )
    for name, seconds in singles:
        print(f"{name:<22}{seconds * 1000:>10.1f}{'':>10}")
    for name, times in rows.items():
        p50, p95 = statistics.median(times) * 1000, percentile(times, 0.95) * 1000
        print(f"{name:<22}{p50:>10.2f}{p95:>10.2f}")
    texts = args.texts if args.texts is not None else (0 if args.quick else 300)
    if texts:
        bench_minilm(texts, args.k, 20 if args.quick else 100)


def bench_minilm(count: int, k: int, moves: int) -> None:
    """Collect + directions and slider moves of DirectionsWidget(tokenizer=) on MiniLM at a middle layer."""
    from attr_widgets.examples import LABELS as SENTIMENT
    from attr_widgets.examples import minilm_sentiment_classifier, sentiment_sentences

    tok, model, _ = minilm_sentiment_classifier()
    shipped = sentiment_sentences()[0]
    texts = (shipped + [t.lower() for t in shipped])[:count]
    start = time.perf_counter()
    w = DirectionsWidget(model, layer="encoder.encoder.layer.3", data=texts, tokenizer=tok, k=k, target=1,
                         labels=SENTIMENT)  # fmt: skip
    build_s = time.perf_counter() - start
    gen = torch.Generator().manual_seed(0)
    r = w.result["n_directions"]
    times = []
    for i in range(moves):
        w.position = -1 if i % 2 else 1  # every token, then one pinned token
        offsets = ((torch.rand(r, generator=gen) - 0.5) * 6).tolist()
        times.append(timed(lambda offsets=offsets: setattr(w, "offsets", offsets)))
    tokens = w.result["n_samples"]
    longest = int(w._data.attention_mask.sum(1).max())
    print()
    print(f"DirectionsWidget on texts: MiniLM encoder layer 3 (384 features per token), {len(texts)} "
          f"sentences, {tokens} tokens (≤ {longest} per sentence), k={k}, "
          f"method {w.projection.method!r}")  # fmt: skip
    print(f"{'step':<22}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'collect + directions':<22}{build_s * 1000:>10.1f}{'':>10}")
    p50, p95 = statistics.median(times) * 1000, percentile(times, 0.95) * 1000
    print(f"{'slider move':<22}{p50:>10.2f}{p95:>10.2f}")


if __name__ == "__main__":
    main()
