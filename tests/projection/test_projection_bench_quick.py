"""The benchmark script must keep running: its --quick mode is executed here (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_projection.py"


def test_bench_quick_prints_a_table():
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    assert "| p | n | method | time (s) | vs ref | σ err (top-k) | peak MiB |" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "method" not in line]
    assert len(rows) == 10
    for method in ("reference (seed)", "exact", "randomized", "torch.svd_lowrank", "sklearn randomized_svd"):
        assert sum(f"| {method} |" in r for r in rows) == 2
    # every method agrees with exact to well within the goal's 1e-3 on these tiny sizes
    errs = [float(r.split("|")[6]) for r in rows if "(truth)" not in r]
    assert max(errs) < 1e-3
