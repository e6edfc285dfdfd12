"""The bench scripts run on a fresh clone: their output folder is made, never assumed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench import common


def test_a_result_is_written_into_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "bench"  # a fresh clone has no data/ at all
    out = common.write_result("recalc-postgres", {"raw_ms": 1.5}, folder=folder)
    assert out == folder / "recalc-postgres.json"
    assert json.loads(out.read_text()) == {"raw_ms": 1.5}


def test_every_bench_script_writes_through_the_output_helpers() -> None:
    """A script that builds a data/bench path itself may write before the folder exists
    (bench/recalc.py crashed at its very end on a fresh clone)."""
    for script in Path(common.ROOT / "bench").glob("*.py"):
        if script.name == "common.py":
            continue
        source = script.read_text()
        assert not re.search(r'"data"\s*/\s*"bench"', source), script.name
