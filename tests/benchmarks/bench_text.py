"""Benchmark: token highlights on the MiniLM sentiment classifier (attr_widgets.examples), CPU.

    python tests/benchmarks/bench_text.py            # a 64-token input
    python tests/benchmarks/bench_text.py --quick    # smoke run, used by the test suite

Table 1: layer Integrated Gradients on the token embeddings: ours with ``n_steps="auto", tol=1e-2`` (steps
doubled until |delta| ≤ tol·|f(x) − f(b)|) and at 50 steps, against Captum's ``LayerIntegratedGradients`` at
its default 50 steps; time and |delta| side by side in one run. Table 2: what one update of the widget sends
for a 512-token text (the token scores as one float32 buffer; the tokens only when the example changes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from captum.attr import LayerIntegratedGradients

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from attr_widgets.attribution import attribute  # noqa: E402
from attr_widgets.examples import minilm_sentiment_classifier  # noqa: E402

SENTENCE = "The plot was thin but the acting shone, and the music was lovely even when the story dragged. "


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short input, one repeat (a smoke run)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    tokenizer, model, _ = minilm_sentiment_classifier()
    tokens = 16 if args.quick else 64
    repeats = 1 if args.quick else 3
    enc = tokenizer(SENTENCE * 8, return_tensors="pt", truncation=True, max_length=tokens)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    layer = model.encoder.embeddings.word_embeddings
    specials = [tokenizer.cls_token_id, tokenizer.sep_token_id]
    baseline_ids = torch.where(
        torch.isin(ids, torch.tensor(specials)), ids, torch.full_like(ids, tokenizer.pad_token_id)
    )
    target = int(model(ids, attention_mask=mask)["logits"].argmax())
    common = dict(
        layer=layer, baseline="pad", pad_token_id=tokenizer.pad_token_id, keep_token_ids=specials,
        target=target, forward_kwargs={"attention_mask": mask}, cache=False,
    )  # fmt: skip

    def ours(n_steps, integration="gausslegendre"):
        return lambda: attribute(
            model, ids, method="layer_integrated_gradients", n_steps=n_steps, tol=1e-2,
            integration=integration, **common,
        )  # fmt: skip

    lig = LayerIntegratedGradients(lambda i, m: model(i, attention_mask=m)["logits"], layer)

    def captum():
        return lig.attribute(ids, baselines=baseline_ids, target=target, additional_forward_args=(mask,),
                             n_steps=50, return_convergence_delta=True)  # fmt: skip

    rows = []
    ms_adaptive, adaptive = timed(ours("auto", "adaptive"), repeats)
    evaluations = int(adaptive.info["evaluations"][0])
    rows.append(("ours, 'auto' adaptive tol=1e-2", ms_adaptive, evaluations, float(adaptive.delta.abs()[0])))
    ms_auto, auto = timed(ours("auto"), repeats)
    evaluations = int(auto.info["evaluations"][0])  # Gauss-Legendre levels are not nested: 4 + 8 + 16 ...
    rows.append(("ours, 'auto' Gauss-Legendre tol=1e-2", ms_auto, evaluations, float(auto.delta.abs()[0])))
    ms_50, ours50 = timed(ours(50), repeats)
    rows.append(("ours, 50 steps", ms_50, 50, float(ours50.delta.abs()[0])))
    ms_captum, (_, delta) = timed(captum, repeats)
    rows.append(("Captum LayerIG, 50 steps", ms_captum, 50, float(delta.abs()[0])))
    print(f"Layer IG on the token embeddings, MiniLM classifier, {ids.shape[1]} tokens, CPU, "
          f"{args.threads} thread(s), median of {repeats} (ms); evals = gradient evaluations")  # fmt: skip
    print(f"{'run':<38} {'ms':>9} {'evals':>6} {'|delta|':>10} {'vs Captum':>10}")
    for name, ms, steps, delta_abs in rows:
        print(f"{name:<38} {ms:9.1f} {steps:>6} {delta_abs:10.2e} {ms_captum / ms:9.1f}x")

    # The widget's own messages, as ipywidgets splits them (JSON part + binary buffers).
    from ipywidgets.widgets.widget import _remove_buffers

    from attr_widgets.widgets import TextAttributionWidget

    w = TextAttributionWidget(model, SENTENCE * 40, tokenizer=tokenizer, method="attention")
    n = len(w.tokens)
    state, _, buffers = _remove_buffers({"result": w.result})
    result_json, scores = len(json.dumps(state)), sum(memoryview(b).nbytes for b in buffers)
    tokens_json = len(json.dumps(w.tokens))
    print()
    print(f"Bytes sent for a {n}-token text")
    print(f"{'message':<40} {'JSON':>8} {'buffers':>8}")
    print(f"{'a result (every update)':<40} {result_json:>8} {scores:>8}")
    print(f"{'the tokens (once per example)':<40} {tokens_json:>8} {0:>8}")


if __name__ == "__main__":
    main()
