"""Figures of the reliability suites (docs/reliability.md).

A fault or hostile-input test calls :func:`record` with what it injected and what
came of it. Each call appends one JSON line to the file named by
``$SCRIPTER_FIGURES`` (nothing is written when it is unset, so ordinary test runs
leave no files behind). ``python -m tests.figures FILE`` renders the table of
docs/reliability.md from such a file; ``make reliability`` runs the suites and does it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FIGURES_ENV = "SCRIPTER_FIGURES"


def record(suite: str, case: str, **figures: int | float | str) -> None:
    """One row: ``suite`` is ``fault`` or ``hostile``, ``case`` names what was done
    (``"RabbitMQ stopped while runs are requested"``), ``figures`` are counts such as
    ``injected=1, survived=1, jobs_lost=0, jobs_duplicated=0, log_bytes_lost=0`` or
    ``inputs=412, server_errors=0, escapes=0``."""
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return
    row = {"suite": suite, "case": case, **figures}
    with Path(target).open("a", encoding="utf-8") as out:
        # Keys in the caller's order: they become the table's columns, in that order.
        out.write(json.dumps(row) + "\n")


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def render(rows: Iterable[dict[str, Any]]) -> str:
    """Markdown tables, one per suite, columns in first-seen order."""
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_suite.setdefault(row["suite"], []).append(row)
    parts: list[str] = []
    for suite, suite_rows in by_suite.items():
        columns: list[str] = []
        for row in suite_rows:
            columns += [key for key in row if key not in ("suite", "case", *columns)]
        totals = {
            c: sum(r.get(c, 0) for r in suite_rows if isinstance(r.get(c, 0), int | float))
            for c in columns
        }
        lines = [
            f"### {suite}",
            "",
            "| case | " + " | ".join(columns) + " |",
            "|---|" + "---|" * len(columns),
        ]
        for row in suite_rows:
            lines.append(
                f"| {row['case']} | " + " | ".join(str(row.get(c, "")) for c in columns) + " |"
            )
        lines.append("| **total** | " + " | ".join(f"**{totals[c]}**" for c in columns) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(read(Path(sys.argv[1]))))
