"""The benchmark report: results.json round trip, the Markdown tables (median, p99,
min-max, baseline, ratio, target met or MISSED with its figure, the machine), the
hand-written text around the generated part, and the plots. Made-up results only."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import report
from bench.framework import at_least, at_most, metric, timeline
from bench.profiling import frame_name, summarize
from bench.results import (
    BenchmarkResult,
    Machine,
    Results,
    Target,
    decode,
    encode,
    format_number,
    load,
    save,
)

MACHINE = Machine(
    cpu_count=2,
    cpu_model="AMD EPYC",
    memory_gib=23.5,
    kernel="6.1.0",
    docker_version="20.10.24",
    python="3.11.7",
    architecture="x86_64",
)


def result(name: str = "job_overhead", *, quick: bool = False) -> BenchmarkResult:
    return BenchmarkResult(
        name=name,
        title="Job overhead",
        quick=quick,
        params={"runs": 3},
        started_at="2026-11-28T04:00:00+00:00",
        seconds=12.0,
        load_before=[1.5, 1.0, 0.5],
        load_after=[2.0, 1.0, 0.5],
        metrics=[
            metric(
                "run-now to finished",
                "ms",
                [300.0, 360.0, 330.0],
                label="POST -> event",
                baseline=[250.0, 300.0, 275.0],
                baseline_label="docker run --rm",
                targets=[Target(stat="ratio", op="<=", value=1.05)],
                paired=True,
            ),
            metric("latency", "ms", [1.0, 2.0, 3.0], label="SSE", targets=[at_most(50)]),
            metric(
                "throughput",
                "MB/s",
                [250.0],
                label="SSE",
                targets=[at_least(200)],
                higher_is_better=True,
            ),
        ],
        timelines=[
            timeline("throughput", "over time", "s", "jobs", {"scripter": ([0.5, 1.0], [1, 2])})
        ],
        details={"description": "What is measured.", "notes": ["A note."]},
    )


def results(*items: BenchmarkResult) -> Results:
    return Results(machine=MACHINE, updated_at="2026-11-28T04:10:00+00:00", benchmarks=list(items))


def test_numbers_are_short_and_readable():
    assert format_number(1234567.8) == "1,234,568"
    assert format_number(123.456) == "123"
    assert format_number(12.345) == "12.3"
    assert format_number(1.2345) == "1.23"
    assert format_number(0.012345) == "0.0123"
    assert format_number(0.0) == "0"
    assert format_number(3.0) == "3"
    assert format_number(None) == "-"
    assert format_number(math.nan) == "-"


def test_results_round_trip_through_json_without_nan(tmp_path: Path):
    original = results(result())
    original.benchmarks[0].details["nothing"] = math.nan
    data = encode(original)
    assert b"NaN" not in data
    assert b'"samples": [300.0,360.0,330.0]' in data  # numbers on one line
    again = decode(data)
    assert again.benchmarks[0].metrics[0].baseline is not None
    assert (
        again.benchmarks[0].metrics[0].measured.summary
        == original.benchmarks[0].metrics[0].measured.summary
    )
    assert again.benchmarks[0].details["nothing"] is None
    path = tmp_path / "bench" / "results.json"
    save(original, path)
    loaded = load(path)
    assert loaded is not None and loaded.machine == MACHINE
    assert load(tmp_path / "missing.json") is None


def test_a_benchmark_run_alone_replaces_only_its_own_entry():
    stored = results(result("job_overhead"), result("api"))
    stored.put(result("job_overhead", quick=True))
    assert [b.name for b in stored.benchmarks] == ["api", "job_overhead"]
    assert stored.benchmarks[1].quick


def test_the_table_has_every_column_and_says_missed_with_the_figure(tmp_path: Path):
    text = report.render(results(result()), tmp_path / "benchmarks.md", tmp_path / "bench", {})
    row = next(line for line in text.splitlines() if line.startswith("| run-now to finished"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:5] == ["run-now to finished (ms)", "3", "330", "359", "300-360"]
    assert cells[5:9] == ["docker run --rm", "275", "300", "250-300"]
    assert cells[9] == "1.20x (pairs 1.20-1.20)"
    assert cells[10] == "median ratio <= 1.05x: **MISSED** (1.20x)"
    assert (
        "| Job overhead | run-now to finished | median ratio <= 1.05x | full | **MISSED** (1.20x) |"
        in text
    )
    assert "p99 <= 50 ms: met (2.98 ms)" in text
    assert "median >= 200 MB/s: met (250 MB/s)" in text
    assert "2 x AMD EPYC (x86_64), 24 GiB RAM, Linux 6.1.0, Docker engine 20.10.24" in text
    assert "load average 1.50 before, 2 after" in text
    assert "What is measured." in text and "- A note." in text
    assert text.startswith(report.BEGIN) and text.rstrip().endswith(report.END)


def test_quick_results_and_failures_are_labelled(tmp_path: Path):
    failed = result("api")
    failed.metrics, failed.error = [], "Traceback ...\nRuntimeError: MariaDB is not reachable"
    text = report.render(
        results(result(quick=True), failed), tmp_path / "b.md", tmp_path / "bench", {}
    )
    assert "--quick` smoke sizes" in text
    assert "| quick |" in text
    assert "**did not finish**: RuntimeError: MariaDB is not reachable" in text


def test_plots_are_linked_relative_to_the_report(tmp_path: Path):
    plots = {"job_overhead": ["job_overhead-distributions.png"]}
    text = report.render(
        results(result()), tmp_path / "docs" / "b.md", tmp_path / "docs" / "bench", plots
    )
    assert "(bench/job_overhead-distributions.png)" in text
    assert "[`bench/results.json`](bench/results.json)" in text


def test_only_the_generated_part_of_the_report_is_replaced(tmp_path: Path):
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\nHand-written intro.\n\n## Findings\n\nKept.\n")
    report.update_report(path, report.BEGIN + "\nfirst\n" + report.END + "\n")
    assert "Hand-written intro." in path.read_text() and "first" in path.read_text()
    text = path.read_text().replace("## Findings\n\nKept.\n", "")
    path.write_text(text.replace(report.END, report.END + "\n\n## Findings\n\nKept.\n"))
    report.update_report(path, report.BEGIN + "\nsecond\n" + report.END + "\n")
    again = path.read_text()
    assert "second" in again and "first" not in again
    assert again.index("Hand-written intro.") < again.index("second") < again.index("Kept.")


def test_plots_are_png_files(tmp_path: Path):
    pytest.importorskip("matplotlib")
    from bench.plots import render_plots

    stored = results(result())
    stored.benchmarks[0].metrics[0] = metric(
        "run",
        "ms",
        [float(v) for v in range(1, 40)],
        label="a",
        baseline=[2.0] * 39,
        baseline_label="b",
        targets=[at_most(30)],
    )
    (tmp_path / "job_overhead-stale.png").write_bytes(b"old")
    made = render_plots(stored, tmp_path)
    assert made == {
        "job_overhead": ["job_overhead-distributions.png", "job_overhead-throughput.png"]
    }
    for name in made["job_overhead"]:
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "job_overhead-stale.png").exists()


def test_profiles_are_summarised_by_function():
    collapsed = "\n".join(
        [
            "<module> (scripter/__main__.py:1);run (/x/scripter/services/job_runner.py:10);"
            "select (/usr/lib/python3.11/selectors.py:5) 6",
            "<module> (scripter/__main__.py:1);write (/x/site-packages/h11/_conn.py:3) 4",
        ]
    )
    summary = summarize(collapsed)
    assert summary["samples"] == 10
    assert summary["top_self_percent"] == [
        ["selectors.py:select", 60.0],
        ["h11/_conn.py:write", 40.0],
    ]
    assert summary["top_scripter_inclusive_percent"] == [
        ["scripter/services/job_runner.py:run", 60.0]
    ]
    assert frame_name("write (/x/site-packages/h11/_conn.py:3)") == "h11/_conn.py:write"
    text = report.profile_text({"file": "p.txt", **summary})
    assert "scripter/services/job_runner.py:run` 60.0 %" in text
