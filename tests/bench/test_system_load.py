"""bench/system_load.py's quick mode: the whole system (switch, Hotline, agents' pages) for one
low step, and the report it ends with."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"bench", "value", "unit", "reference", "ratio", "target"}


def test_quick_run_pops_every_call_to_an_agent_and_ends_with_the_json_line(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}  # its small CRM data set, not the user's
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "system_load.py"), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()

    result = json.loads(lines[-1])
    assert set(result) == KEYS
    assert (result["bench"], result["unit"], result["reference"]) == ("system_load", "calls/s", 20.0)
    # The step passes or fails on latency by the machine's load; either way the figure is the step's.
    assert result["value"] in (0.0, 2.0)
    assert result["ratio"] == round(result["value"] / 20.0, 2)
    assert result["target"].startswith(">= 1")

    # The step's row: rate, offered, sustained, calls, p50, p99, lost, ...
    row = next(line for line in lines if re.match(r"\s+2\s+\d", line))
    _rate, offered, sustained, calls, p50, p99, lost = row.split()[:7]
    assert (float(offered), float(sustained), int(calls), int(lost)) == (2.0, 2.0, 6, 0)
    assert 0 < float(p50) <= float(p99)
    assert "recording index: 6 rows for 6 answered calls" in lines
    assert "wrap-ups saved by the agents: 6 (0 refused)" in lines
    assert any(line.startswith("two nodes: not measured") for line in lines)


def test_quick_run_on_two_servers_delivers_each_servers_callers_and_loses_none(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "system_load.py"), "--quick", "--servers", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert "2 Asterisk server(s)" in lines[0]
    row = next(line for line in lines if re.match(r"\s+2\s+\d", line))
    _rate, offered, sustained, calls, _p50, _p99, lost = row.split()[:7]
    # Each server its half: 1 call/s for 3 s; every call popped, answered and ended.
    assert (float(offered), float(sustained), int(calls), int(lost)) == (2.0, 2.0, 6, 0)
    assert "recording index: 6 rows for 6 answered calls" in lines
    assert json.loads(lines[-1])["value"] in (0.0, 2.0)
