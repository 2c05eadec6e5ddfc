"""The ResNet benchmark script runs (quick mode) and prints its table."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_resnet.py"


def test_resnet_benchmark_quick_run_prints_its_rows():
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--device", "cpu", "--threads", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    rows = ("IG-2 (chunk 2), ours vs raw Captum", "DeepLIFT, ours (reused ReLU)", "feature_ablation, default")
    rows += ("widget IG-2, time to the first shown result", "widget IG-2, time to the final result")
    rows += ("first view of a 256 x 256 input",)
    for row in rows:
        assert row in out
    assert "max diff 0.0e+00" in out  # DeepLIFT through the view equals Captum on the twin exactly
    assert "total known from the start: True" in out
    assert "Warning" not in completed.stderr
