"""The hostile-input benchmark's inputs: each is refused by a real `dpp verify`, in one line.

Timings and memory stay in the benchmark (benchmarks/hostile_inputs.py, 1 MiB inputs); this
test only holds the behaviour a user relies on, at a small size.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "hostile_inputs.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_inputs", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_hostile_input_is_refused_in_one_line() -> None:
    hostile = _load()
    results = list(hostile.run(96 * 1024))
    assert [name for name, _, _ in results] == list(hostile.INPUTS)
    for name, size, result in results:
        assert 0 < size <= 96 * 1024, name
        assert result["exit"] in (1, 2), (name, result)
        if result["exit"] == 2:  # unreadable: one line on stderr, never a traceback
            assert result["lines_on_stderr"] == 1, (name, result)
        else:
            assert "NOT GENUINE" in result["message"], (name, result)
        assert "Traceback" not in result["message"], (name, result)
