"""bench_roundtrip.py --quick runs end to end and prints its tables, floor rows included (a smoke run)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_roundtrip.py"


def test_the_round_trip_benchmark_prints_the_floor_beside_the_widget():
    command = [sys.executable, str(SCRIPT), "--quick"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    pattern = re.compile(r"^\| on \| ([^|]+?) \| 8 \| ([\d.]+) \|", re.M)
    rows = {m.group(1): float(m.group(2)) for m in pattern.finditer(done.stdout)}
    assert {"bare anywidget: custom message echo (floor)", "bare anywidget: trait echo (floor)"} <= set(rows)
    assert any(name.startswith("n_steps slider") for name in rows)
    assert any(name.startswith("direction slider") for name in rows)
    assert all(value > 0 for value in rows.values())
    assert "≤ 210 KB" in done.stdout
