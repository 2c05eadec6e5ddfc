"""The evaluation-panel benchmark runs (quick mode) and prints its table."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_evaluation.py"


def test_evaluation_benchmark_quick_run_prints_its_table():
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = ("curves (engine only)", "deletion + insertion", "convergence", "sanity", "axioms", "infidelity",
            "sensitivity", "cached (all seven)")  # fmt: skip
    for row in rows:
        assert row in completed.stdout
    assert "Warning" not in completed.stderr
