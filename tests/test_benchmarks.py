"""The benchmarks run as scripts from benchmarks/, whose folder Python puts first
on sys.path: a file there named like a standard module (http.py) would shadow it
for every benchmark, and Django itself would fail to import."""

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_no_benchmark_file_shadows_a_standard_module():
    names = {path.stem for path in BENCHMARKS.glob("*.py")}
    assert names, "no benchmarks found"
    assert not names & set(sys.stdlib_module_names)
