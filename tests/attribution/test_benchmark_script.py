"""The benchmark script runs (quick mode) and prints its tables."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_attribution.py"


def test_benchmark_quick_run_prints_every_table():
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    titles = (
        "IG overhead vs raw Captum",
        "Steps to reach",
        'n_steps="auto"',
        "Layer IG, prefix",
        "x_gradient vs",
        "Captum-parity methods",
    )
    for title in titles:
        assert title in out
    assert "Warning" not in completed.stderr
