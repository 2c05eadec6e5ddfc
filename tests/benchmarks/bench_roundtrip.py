"""Browser round trip of AttributionWidget: control change → view updated, and bytes per update.

Runs a real JupyterLab with Chromium (as tests/browser does), displays the widget for the digits CNN (CPU, one
torch thread) and, in the page, changes a control and times until the view has drawn the answering result
(a MutationObserver on the widget's ``data-seq``; the canvas is drawn before that attribute changes).
Then it measures the bytes the kernel's websocket delivers for one update of a 224×224 RGB input.

    python tests/benchmarks/bench_roundtrip.py [--changes 24] [--app lab|notebook] [--quick]

The first two rows are the floor: a bare anywidget (tests/browser/echo_widget.py) answering a custom
message, and echoing a trait, on the same server and page; the widgets' own cost is what they add above it.
The last rows move a DirectionsWidget slider (one patched forward per move): on the digits CNN, and (not with
--quick) on the MiniLM sentiment classifier over 300 sentences, one sample per token; and (not with --quick)
a target change with saliency on the ResNet-18 architecture at 224 × 224.

Then a slider is dragged at 60 Hz (24 input events 1/60 s apart, then the release) on the digits CNN: how
many distinct results the view drew while it moved (the store shows answers to earlier steps of a drag as
previews, js/src/core/store.ts), and the time from the release to the final value's result.

Prints markdown tables. Goals: p50 ≤ 100 ms for the digits CNN; ≤ 210 KB per 224×224 update; ≥ 20 results
drawn during a 24-step drag.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from attr_widgets.widgets._fallback import QUIET_S

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from _jupyter import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    DRAG_AT_60HZ_JS,
    HERE,
    kernel_exec,
    open_notebook,
    run_cell,
    start_server,
    write_notebook,
)
from digits_model import train_digits_cnn  # noqa: E402

SETUP = """\
import sys
sys.path.insert(0, {here!r})
import torch
from torch import nn
from digits_model import digits_cnn, LABELS
from attr_widgets.widgets import AttributionWidget, DirectionsWidget
saved = torch.load({weights!r})
model = digits_cnn()
model.load_state_dict(saved["state"])
model.eval()
x_test = saved["x"]
torch.manual_seed(0)
big_model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                          nn.Linear(128, 1000)).eval()
big_x = torch.rand(3, 224, 224)

from echo_widget import Echo
echo = Echo()
"""

# In the page: apply each change, resolve when the widget's data-seq moves past the old one with busy false.
TIME_CHANGES_JS = """
async ([selector, control, values, eventType]) => {
  const root = document.querySelector(selector);
  const times = [];
  for (const value of values) {
    const before = Number(root.dataset.seq);
    const updated = new Promise((resolve, reject) => {
      const done = () => Number(root.dataset.seq) > before && root.dataset.busy === "false";
      const observer = new MutationObserver(() => { if (done()) { observer.disconnect(); resolve(); } });
      observer.observe(root, { attributes: true, attributeFilter: ["data-seq", "data-busy"] });
      setTimeout(() => {
        observer.disconnect();
        reject(new Error(`no update for ${control}=${value} after seq ${before}: ` +
                         `seq ${root.dataset.seq}, busy ${root.dataset.busy}`));
      }, 30000);
    });
    const start = performance.now();
    const el = root.querySelector(`[data-control="${control}"]`);
    if (el.tagName === "SELECT" || el.tagName === "INPUT") {
      el.value = String(value);
      // A slider dragged then let go: "input" (the view's pending value), then "change".
      for (const type of eventType.split("+")) el.dispatchEvent(new Event(type, { bubbles: true }));
    } else {
      el.querySelector(`[data-value="${value}"]`).click();
    }
    await updated;
    times.push(performance.now() - start);
  }
  return times;
}
"""

# View-only change (no kernel work): time to the redraw, for reference.
TIME_VIEW_ONLY_JS = """
async ([selector, values]) => {
  const root = document.querySelector(selector);
  const slider = root.querySelector('[data-control="opacity"]');
  const times = [];
  for (const value of values) {
    const start = performance.now();
    slider.value = String(value);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    times.push(performance.now() - start);  // the canvas redraw is synchronous in the input handler
  }
  return times;
}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def row(name: str, times: list[float], kernel_ms: list[float] | None = None) -> str:
    p50, p95 = statistics.median(times), percentile(times, 95)
    kernel = f"{statistics.median(kernel_ms):.1f}" if kernel_ms else "–"
    return f"| {name} | {len(times)} | {p50:.1f} | {p95:.1f} | {max(times):.1f} | {kernel} |"


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--changes", type=int, default=24, help="control changes per scenario (>= 20)")
    parser.add_argument("--app", choices=["lab", "notebook"], default="lab")
    parser.add_argument("--quick", action="store_true", help="8 changes a scenario, one server (a smoke run)")
    parser.add_argument(
        "--nodelay", choices=["on", "off", "both"], default="both",
        help="the attr_widgets server extension (TCP_NODELAY on kernel websockets): on, off, or both in turn",
    )  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.changes, args.nodelay = 8, "on"
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: the benchmark needs Chromium (apt-get install chromium).")
    work = Path(tempfile.mkdtemp(prefix="bench-roundtrip-"))
    root_dir = work / "root"
    root_dir.mkdir()
    model, x_test, _ = train_digits_cnn()
    weights = work / "digits.pt"
    torch.save({"state": model.state_dict(), "x": x_test}, weights)
    write_notebook(root_dir / "bench.ipynb", [SETUP.format(here=str(HERE), weights=str(weights))])
    modes = ["off", "on"] if args.nodelay == "both" else [args.nodelay]
    results = {mode: run_session(args, root_dir, mode) for mode in modes}
    print(f"\n## Browser round trip, digits CNN (8×8) on CPU, {args.app}, torch threads = 1")
    print(f"torch {torch.__version__}; times in ms from the control event to the redrawn view\n")
    print("| TCP_NODELAY | scenario | changes | p50 | p95 | max | kernel compute p50 |")
    print("|---|---|---|---|---|---|---|")
    for mode, (rows, _, _) in results.items():
        for line in rows:
            print(f"| {mode} {line}")
    print("\n## A slider dragged at 60 Hz (24 steps, 400 ms), digits CNN: results drawn while it moved\n")
    print("| TCP_NODELAY | slider | results drawn while dragging | goal | in all | release → final (ms) |")
    print("|---|---|---|---|---|---|")
    for mode, (_, drags, _) in results.items():
        for line in drags:
            print(f"| {mode} {line}")
    print("\n## Bytes per update, 224×224 RGB input (websocket frames the page received)\n")
    print("| update | websocket frames | bytes on the wire | comm message (JSON + buffers) | goal |")
    print("|---|---|---|---|---|")
    for line in results[modes[-1]][2]:
        print(line)


def run_session(args, root_dir: Path, mode: str) -> tuple[list[str], list[str], list[str]]:
    """One server (extension on or off), one page: the round-trip rows and the bytes rows."""
    from playwright.sync_api import sync_playwright

    extra = () if mode == "on" else ("--KernelWebsocketNoDelay.enabled=False",)
    server = start_server(args.app, root_dir, extra)
    frames: list[int] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})

            def on_websocket(ws):
                if "/api/kernels/" in ws.url:
                    ws.on("framereceived", lambda payload: frames.append(len(payload)))

            page.on("websocket", on_websocket)
            open_notebook(page, server, "bench.ipynb")
            page.evaluate(
                """async () => {
                    const notebook = window.jupyterapp.shell.currentWidget.content;
                    notebook.activeCellIndex = 0;
                    await window.jupyterapp.commands.execute("notebook:run-cell");
                }"""
            )
            rows = measure_echo_floor(page, args.changes)
            rows += measure_round_trips(page, args.changes, args.quick)
            drag_rows = measure_drags(page)
            size_rows = measure_bytes(page, frames)
            browser.close()
    finally:
        server.stop()
    return rows, drag_rows, size_rows


def measure_echo_floor(page, changes: int) -> list[str]:
    """The bare anywidget rows: what any widget pays for one kernel round trip on this server."""
    cell = run_cell(page, "echo", "echo")
    cell.locator(".aw-echo").wait_for(timeout=60_000)
    page.evaluate("() => window.__echo('message', 4)")  # warm-up
    rows = []
    for kind, name in (("message", "bare anywidget: custom message echo (floor)"),
                       ("trait", "bare anywidget: trait echo (floor)")):  # fmt: skip
        rows.append(row(name, page.evaluate("([k, n]) => window.__echo(k, n)", [kind, changes])))
    return rows


def measure_round_trips(page, changes: int, quick: bool = False) -> list[str]:
    cell = run_cell(page, "w = AttributionWidget(model, x_test[3], labels=LABELS)\nw", "bench")
    cell.locator(".aw-root").wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelector('.aw-root').dataset.busy === 'false'")
    selector = '[data-test-cell="bench"] .aw-root'

    def kernel_times(count: int) -> list[float]:
        code = f"print(*[r for r in w._bench_elapsed[-{count}:]])"
        return [float(v) for v in kernel_exec(page, code).split()]

    kernel_exec(
        page,
        "w._bench_elapsed = []\n"
        "w.observe(lambda c: c['new'] and w._bench_elapsed.append(c['new']['elapsed_ms']), 'result')",
    )
    rows = []
    print("timing round trips…", file=sys.stderr)
    # Distinct step counts: every change is a fresh integrated-gradients computation (no cache hits).
    steps = list(range(20, 20 + changes))
    page.evaluate(TIME_CHANGES_JS, [selector, "n_steps", [19], "input"])  # warm-up
    times = page.evaluate(TIME_CHANGES_JS, [selector, "n_steps", steps, "input"])
    rows.append(row("n_steps slider, integrated gradients (fresh compute)", times, kernel_times(changes)))

    kernel_exec(page, "w.method = 'saliency'")
    current = int(kernel_exec(page, "print(w.target)"))
    targets = [(current + 1 + i) % 10 for i in range(changes)]  # every change a different class
    times = page.evaluate(TIME_CHANGES_JS, [selector, "target-number", targets, "change"])
    rows.append(row("target, saliency (first 10 fresh, then cached)", times, kernel_times(changes)))

    cycle = ["input_x_gradient", "integrated_gradients", "smoothgrad", "saliency"]  # starts off "saliency"
    methods = [cycle[i % len(cycle)] for i in range(changes)]
    times = page.evaluate(TIME_CHANGES_JS, [selector, "method", methods, "change"])
    name = "method selector, 4 methods in turn (cached after round 1)"
    rows.append(row(name, times, kernel_times(changes)))

    times = page.evaluate(TIME_VIEW_ONLY_JS, [selector, [round(0.2 + 0.03 * i, 2) for i in range(changes)]])
    rows.append(row("opacity slider (view only, no kernel)", times))
    rows.append(measure_direction_slider(page, changes))
    if not quick:
        rows.append(measure_text_direction_slider(page, changes))
        rows.append(measure_resnet_target(page, changes))
    return rows


def measure_resnet_target(page, changes: int) -> str:
    """ResNet-18 architecture, a 1 x 3 x 224 x 224 input, saliency: every change a class not asked yet."""
    code = (
        "from attr_widgets.examples.resnet import resnet18\n"
        "torch.manual_seed(1)\n"
        "wr = AttributionWidget(resnet18().eval(), torch.rand(3, 224, 224), method='saliency')\nwr"
    )
    cell = run_cell(page, code, "resnet")
    cell.locator(".aw-root").wait_for(timeout=120_000)
    selector = '[data-test-cell="resnet"] .aw-root'
    page.wait_for_function(f"() => document.querySelector('{selector}').dataset.busy === 'false'")
    record = "wr.observe(lambda c: c['new'] and wr._bench_elapsed.append(c['new']['elapsed_ms']), 'result')"
    kernel_exec(page, "wr._bench_elapsed = []\n" + record)
    targets = [7 + 37 * i for i in range(changes)]  # distinct classes of 1000: every one a fresh computation
    times = page.evaluate(TIME_CHANGES_JS, [selector, "target-number", targets, "change"])
    kernel = [float(v) for v in kernel_exec(page, f"print(*wr._bench_elapsed[-{changes}:])").split()]
    return row("ResNet-18, 224 × 224, target, saliency (fresh compute, 1 torch thread)", times, kernel)


def time_direction_slider(
    page, code: str, name: str, tag: str, changes: int, label: str, wait_ms: int
) -> str:
    """Show the DirectionsWidget ``code`` makes (as ``name``); time its first slider, ``changes`` moves."""
    cell = run_cell(page, code, tag)
    cell.locator(".aw-root").wait_for(timeout=wait_ms)
    selector = f'[data-test-cell="{tag}"] .aw-root'
    idle = f"() => document.querySelector('{selector}').dataset.busy === 'false'"
    page.wait_for_function(idle, timeout=wait_ms)
    keep = f"{name}._bench_elapsed.append(c['new']['elapsed_ms'])"
    record = f"{name}.observe(lambda c: c['new'] and {keep}, 'result')"
    kernel_exec(page, f"{name}._bench_elapsed = []\n" + record)
    # every move a new offset, inside the view's ±3 spreads (a value past the end is clamped: no new request)
    values = [round(-3 + 6 * (i + 1) / (changes + 1), 3) for i in range(changes)]
    times = page.evaluate(TIME_CHANGES_JS, [selector, "offset", values, "input+change"])
    kernel = [float(v) for v in kernel_exec(page, f"print(*{name}._bench_elapsed[-{changes}:])").split()]
    return row(label, times, kernel)


def measure_direction_slider(page, changes: int) -> str:
    """DirectionsWidget on the digits CNN (first conv block, k = 4): a slider moved, one forward a move."""
    code = "wd = DirectionsWidget(model, layer='1', data=x_test, k=4, labels=LABELS)\nwd"
    label = "direction slider, DirectionsWidget (one patched forward)"
    return time_direction_slider(page, code, "wd", "directions", changes, label, 120_000)


def measure_text_direction_slider(page, changes: int) -> str:
    """DirectionsWidget on MiniLM (encoder layer 3, 300 sentences, k = 8): a slider moving all tokens."""
    code = (
        "from attr_widgets.examples import minilm_sentiment_classifier, sentiment_sentences\n"
        "bt, bm, _ = minilm_sentiment_classifier()\n"
        "bs = sentiment_sentences()[0]\n"
        "wt = DirectionsWidget(bm, layer='encoder.encoder.layer.3', "
        "data=(bs + [t.lower() for t in bs])[:300], tokenizer=bt, k=8, target=1)\nwt"
    )
    label = "direction slider, DirectionsWidget on MiniLM texts (300 sentences)"
    return time_direction_slider(page, code, "wt", "text-directions", changes, label, 240_000)


def measure_drags(page, steps: int = 24) -> list[str]:
    """Drag the n_steps slider (integrated gradients) and a direction slider, one input event per frame."""
    print("dragging sliders…", file=sys.stderr)
    kernel_exec(page, "w.method = 'integrated_gradients'\nw.wait()")
    bench = '[data-test-cell="bench"] .aw-root'
    page.wait_for_function(f"() => document.querySelector('{bench}').dataset.busy === 'false'")
    drags = [
        ("n_steps 8 → 31, integrated gradients", bench, "n_steps", [8 + i for i in range(steps)]),
        ("direction slider (DirectionsWidget)", '[data-test-cell="directions"] .aw-root', "offset",
         [round(-2.5 + 5 * i / steps, 3) for i in range(steps)]),
    ]  # fmt: skip
    rows = []
    for label, selector, control, values in drags:
        got = page.evaluate(DRAG_AT_60HZ_JS, [selector, control, values])
        ok = "✓" if got["during"] >= 20 else "✗"
        rows.append(
            f"| {label} | {got['during']} of {steps} | ≥ 20 {ok} | {got['total']} | {got['settle']:.0f} |"
        )
    return rows


def measure_bytes(page, frames: list[int]) -> list[str]:
    cell = run_cell(page, "wb = AttributionWidget(big_model, big_x, method='saliency')\nwb", "big")
    cell.locator(".aw-root").wait_for(timeout=60_000)
    selector = '[data-test-cell="big"] .aw-root'
    page.wait_for_function(f"() => document.querySelector('{selector}').dataset.busy === 'false'")
    comm = kernel_exec(
        page,
        "import json\n"
        "from ipywidgets.widgets.widget import _remove_buffers\n"
        "sizes = []\n"
        "def measure(change):\n"
        "    state, _, buffers = _remove_buffers({change['name']: change['new']})\n"
        "    sizes.append(len(json.dumps(state)) + sum(memoryview(b).nbytes for b in buffers))\n"
        "wb.observe(measure, ['result', 'request_seq'])",
    )
    assert comm == ""
    results = []
    print("measuring bytes per update…", file=sys.stderr)
    for label, control, value in (
        ("target change", "target-number", 7),
        ("method change", "method", "input_x_gradient"),
    ):
        time.sleep(QUIET_S + 0.5)  # the previous update's static picture (sent after a quiet second) is out
        kernel_exec(page, "pass")  # (a display from the picture's timer thread leaves with the next message)
        frames.clear()
        page.evaluate(TIME_CHANGES_JS, [selector, control, [value], "change"])
        time.sleep(0.5)  # let trailing status frames arrive
        comm_bytes = sum(int(v) for v in kernel_exec(page, "print(*sizes); sizes.clear()").split())
        wire = sum(frames)
        verdict = "≤ 210 KB ✓" if wire <= 210 * 1024 else "≤ 210 KB ✗"
        kb = f"{wire:,} ({wire / 1024:.1f} KB)"
        results.append(f"| {label} | {len(frames)} | {kb} | {comm_bytes:,} | {verdict} |")
        # The static picture under the view (attr_widgets/widgets/_fallback.py) follows once it is quiet.
        frames.clear()
        time.sleep(QUIET_S + 0.5)
        kernel_exec(page, "pass")
        deferred = sum(frames)
        results.append(f"| … then, after {QUIET_S:g} s quiet, the static picture | {len(frames)} | "
                       f"{deferred:,} ({deferred / 1024:.1f} KB) | – | once per pause |")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
