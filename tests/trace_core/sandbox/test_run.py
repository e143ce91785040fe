"""`trace_core.sandbox.run`: results via report() or printed output, files, environment."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.import_probe import modules_loaded_by
from trace_core.sandbox import SandboxError, available_isolation, run
from trace_core.sandbox.stdout_result import parse_objective, parse_status
from trace_core.sandbox.threads import thread_environment


def test_report_gives_objective_status_and_values() -> None:
    result = run("report(12.5, status='optimal', values={'x': 2, 'y': 0.5})\nprint('done')")
    assert result.ok
    assert (result.objective, result.status, result.result_source) == (12.5, "optimal", "report")
    assert result.values == {"x": 2.0, "y": 0.5}
    assert result.stdout == "done\n"
    assert result.isolation is available_isolation()[0]


def test_report_wins_over_printed_numbers() -> None:
    result = run("print('objective: 99')\nreport(3)")
    assert (result.objective, result.result_source) == (3.0, "report")


def test_printed_objective_is_the_fallback() -> None:
    result = run("print('solving...')\nprint('Optimal value: 1,234.5')\n")
    assert (result.objective, result.status, result.result_source) == (1234.5, "optimal", "stdout")


def test_program_without_any_result_has_no_source() -> None:
    result = run("x = 1 + 1\n")
    assert result.ok
    assert (result.objective, result.result_source) == (None, None)


def test_exception_in_program_is_reported_in_stderr() -> None:
    result = run("def f():\n    raise ValueError('bad data')\nf()\n")
    assert result.returncode == 1
    assert "ValueError: bad data" in result.stderr
    assert "program.py" in result.stderr


def test_files_are_written_into_the_working_directory() -> None:
    files = {"data/costs.csv": "a,3\nb,4\n", "blob.bin": b"\x00\x01"}
    code = (
        "import csv\n"
        "rows = list(csv.reader(open('data/costs.csv')))\n"
        "report(sum(int(c) for _, c in rows) + len(open('blob.bin', 'rb').read()))\n"
    )
    assert run(code, files=files).objective == 9.0


@pytest.mark.parametrize("name", ["../escape.py", "/etc/passwd", "program.py"])
def test_file_names_outside_or_reserved_are_refused(name: str) -> None:
    with pytest.raises(SandboxError, match="relative path"):
        run("pass", files={name: "x"})


def test_environment_is_an_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_DATABASE_PASSWORD", "hunter2")
    result = run("import json, os\nprint(json.dumps(sorted(os.environ)))")
    names = set(json.loads(result.stdout))
    assert "MY_DATABASE_PASSWORD" not in names
    threads = set(thread_environment(1))
    assert threads <= names
    base = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONIOENCODING", "MALLOC_ARENA_MAX"}
    assert names <= base | threads | {"PWD"}  # PWD: set by bwrap


def test_working_directory_is_fresh_and_removed_afterwards() -> None:
    first = run("import os\nopen('left.txt', 'w').write('x')\nprint(os.getcwd())")
    second = run("import os\nprint(os.getcwd(), sorted(os.listdir('.')))")
    workdir = first.stdout.strip()
    assert not Path(workdir).exists()
    assert "left.txt" not in second.stdout


def test_parallel_runs_do_not_interfere() -> None:
    code = (
        "import time\n"
        "open('shared.txt', 'w').write('{n}')\n"
        "time.sleep(0.3)\n"
        "report(int(open('shared.txt').read()))\n"
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: run(code.format(n=n)), range(8)))
    assert [r.objective for r in results] == [float(n) for n in range(8)]


def test_invalid_arguments_raise_sandbox_error_with_fix() -> None:
    with pytest.raises(SandboxError, match="positive number of seconds"):
        run("pass", timeout_s=0)
    with pytest.raises(SandboxError, match="use one of: bwrap, unshare, rlimits"):
        run("pass", isolation="docker")


def test_weakest_layer_still_reports_results() -> None:
    result = run("report(4)", isolation="rlimits")
    assert (result.objective, result.isolation.value) == (4.0, "rlimits")
    assert "audit-hook" in result.guards


def test_importing_sandbox_loads_no_solver_or_llm_library() -> None:
    loaded = modules_loaded_by("import trace_core.sandbox; trace_core.sandbox.run")
    for heavy in ("highspy", "pyscipopt", "gurobipy", "torch", "openai", "scipy", "numpy"):
        assert heavy not in loaded


@pytest.mark.parametrize(
    ("text", "objective"),
    [
        ("Optimal value: 42", 42.0),
        ("objective = 1.5e3\nstatus ok", 1500.0),
        ("Total cost (in $): 1,234.50", 1234.5),
        ("Objective value: -3.5\nBest objective 7", 7.0),
        ("obj val = .5", 0.5),
        ("Maximum profit is $1,200", 1200.0),
        ("took 3.0 seconds", None),
    ],
)
def test_stdout_fallback_takes_last_number_after_objective_phrase(
    text: str, objective: float | None
) -> None:
    assert parse_objective(text) == objective


def test_stdout_fallback_reads_infeasible_status() -> None:
    assert parse_status("Model status: Infeasible", None) == "infeasible"


def test_program_that_closes_its_output_still_runs_to_its_report() -> None:
    result = run("import os, time\nos.close(1)\nos.close(2)\ntime.sleep(0.5)\nreport(5)\n")
    assert (result.objective, result.returncode, result.timed_out) == (5.0, 0, False)


def test_forged_report_file_cannot_smuggle_wrong_types() -> None:
    code = (
        "import os\n"
        "os.pwrite(report.__globals__['_REPORT_FD'], "
        '\'{"objective": "abc", "status": "optimal", "values": {"a": "x", "b": 2}}\'.encode(), 0)\n'
    )
    result = run(code)
    assert result.result_source == "report"
    assert (result.objective, result.values) == (None, {"a": None, "b": 2.0})


def test_run_directory_of_a_dead_parent_is_swept() -> None:
    import tempfile

    child = subprocess.Popen(["true"])
    child.wait()
    stale = Path(tempfile.gettempdir(), f"optoforge-sandbox-{child.pid}-abc")
    stale.mkdir()
    (stale / "program.py").write_text("pass")
    run("pass")
    assert not stale.exists()
