"""The CompareWidget benchmark runs (quick mode) and prints its tables."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_compare.py"


def test_compare_benchmark_quick_run_prints_its_tables():
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = ("fast method first", "occlusion first", "widget: first map", "digits 8×8", "Bytes per update")
    for row in rows:
        assert row in completed.stdout
    assert "Warning" not in completed.stderr
