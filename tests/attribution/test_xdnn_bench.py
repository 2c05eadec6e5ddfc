"""The X-DNN benchmark runs end to end (--quick) and prints its table; values, not timings, are checked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_xdnn_quick_runs_and_reports_equal_values() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "benchmarks" / "bench_xdnn.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "| method | wall ms |" in out
    for row in ("x_gradient", "captum IG-50", "attribute IG-50", "captum IG-64"):
        assert f"| {row} |" in out
    match = re.search(r"max \|XG − IG-64\| / max \|IG-64\| = ([0-9.e+-]+)", out)
    assert match is not None and float(match.group(1)) <= 1e-5
    assert "Warning" not in completed.stderr
