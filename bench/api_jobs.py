"""API: listing jobs at 1M job rows, on MariaDB and on SQLite, against ``/healthz``
of the same server.

For each database: a throwaway database (MariaDB: a unique name, dropped
afterwards; SQLite: a file in a temporary folder) is migrated and seeded with
finished jobs over 100 scripts (``bench.seeding``: template rows through the
repositories, then ``INSERT ... SELECT``), then ``scripter api`` starts on it and
one client (one keep-alive connection) sends the requests one after the other, the
endpoints in turn (A B C ... A B C, each round starting one further), so every
endpoint sees the same machine. The first rounds warm up and are not counted.
Nothing is kept between runs: each run seeds a new database.

    python -m bench api [--rows 1000000] [--requests 500] [--databases mariadb,sqlite]
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from bench.framework import Benchmark, Context, Outcome, Param, at_most, metric
from bench.live_support import HOST, Server, scripter_server
from bench.seeding import Seeded, seed_jobs
from bench.services import mariadb_database, migrate, rabbitmq_names, require, run_async

PARAMS = (
    Param("rows", 1_000_000, 20_000, "job rows in the database"),
    Param("requests", 500, 40, "measured requests per endpoint"),
    Param("databases", "mariadb,sqlite", "mariadb,sqlite", "databases, comma-separated"),
)
WARMUP_ROUNDS = 10
FAILED = "failed"

DESCRIPTION = (
    "`GET /api/jobs` pages (50 jobs) at the given number of job rows, on a throwaway"
    " MariaDB database and a throwaway SQLite file, through `scripter api`; one client,"
    " one keep-alive connection, requests one after the other, the endpoints in turn"
    " with `/healthz` of the same server as the baseline (it asks the database, the"
    " broker and Docker). Script ids and cursors change from request to request."
)


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str

    def path(self, seeded: Seeded, rows: int, rng: random.Random) -> str:
        script = rng.choice(seeded.script_ids)
        if self.kind == "healthz":
            return "/healthz"
        if self.kind == "first":
            return "/api/jobs"
        if self.kind == "script":
            return f"/api/jobs?script_id={script}"
        if self.kind == "status":
            return f"/api/jobs?status={FAILED}"
        if self.kind == "script_status":
            return f"/api/jobs?script_id={script}&status={FAILED}"
        if self.kind == "cursor":
            return f"/api/jobs?cursor={rng.randrange(rows // 10, rows)}"
        raise ValueError(self.kind)


ENDPOINTS = (
    Endpoint("/healthz", "healthz"),
    Endpoint("first page", "first"),
    Endpoint("by script", "script"),
    Endpoint("by status (failed)", "status"),
    Endpoint("by script and status", "script_status"),
    Endpoint("a page further down (cursor)", "cursor"),
)


class Client:
    """One keep-alive HTTP/1.1 connection; a request's time includes reading its body."""

    def __init__(self, server: Server) -> None:
        self._connection = http.client.HTTPConnection(HOST, server.port, timeout=60)
        self._headers = server.auth_headers

    def get(self, path: str) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self._connection.request("GET", path, headers=self._headers)
        response = self._connection.getresponse()
        body = response.read()
        return time.perf_counter() - started, response.status, body

    def close(self) -> None:
        self._connection.close()


def measure(server: Server, seeded: Seeded, rows: int, requests: int) -> dict[str, list[float]]:
    """Milliseconds per endpoint name."""
    rng = random.Random(10)
    client = Client(server)
    samples: dict[str, list[float]] = {e.name: [] for e in ENDPOINTS}
    try:
        for round_index in range(WARMUP_ROUNDS + requests):
            shift = round_index % len(ENDPOINTS)
            for endpoint in ENDPOINTS[shift:] + ENDPOINTS[:shift]:
                seconds, status, body = client.get(endpoint.path(seeded, rows, rng))
                if status != 200:
                    raise RuntimeError(f"{endpoint.name}: HTTP {status}: {body[:300]!r}")
                if endpoint.kind == "first" and len(json.loads(body)["items"]) != 50:
                    raise RuntimeError("the first page does not hold 50 jobs")
                if round_index >= WARMUP_ROUNDS:
                    samples[endpoint.name].append(seconds * 1000)
    finally:
        client.close()
    return samples


async def query_plans(url: str, seeded: Seeded) -> dict[str, list[str]]:
    """How the database runs the list queries (EXPLAIN), for the report."""
    from scripter.adapters.db.engine import create_engine, is_sqlite
    from scripter.adapters.db.tables import jobs

    script = seeded.script_ids[0]
    base = select(jobs).order_by(jobs.c.id.desc()).limit(51)
    queries = {
        "first page": base,
        "by script": base.where(jobs.c.script_id == script),
        "by status (failed)": base.where(jobs.c.status == FAILED),
        "by script and status": base.where(jobs.c.script_id == script, jobs.c.status == FAILED),
        "cursor": base.where(jobs.c.id < 500),
    }
    engine = create_engine(url)
    plans: dict[str, list[str]] = {}
    try:
        async with engine.connect() as connection:
            for name, query in queries.items():
                sql = str(
                    query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
                )
                explain = "EXPLAIN QUERY PLAN " if is_sqlite(url) else "EXPLAIN "
                rows = (await connection.execute(text(explain + sql))).all()
                plans[name] = [" | ".join(str(v) for v in row) for row in rows]
    finally:
        await engine.dispose()
    return plans


@contextlib.contextmanager
def seeded_database(kind: str, rows: int) -> Iterator[tuple[dict[str, str], Path | None, str]]:
    """(server settings, data directory for SQLite, database URL), migrated and seeded."""
    if kind == "mariadb":
        with mariadb_database("scripter_bench_api") as url, rabbitmq_names() as broker:
            migrate(url)
            yield {"SCRIPTER_DATABASE_URL": url, **broker}, None, url
    elif kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="scripter-bench-api-") as tmp:
            data = Path(tmp) / "data"
            url = f"sqlite+aiosqlite:///{data / 'scripter.db'}"
            migrate(url)
            yield {}, data, url
    else:
        raise ValueError(f"unknown database {kind!r}: mariadb or sqlite")


async def run(ctx: Context) -> Outcome:
    rows, requests = int(ctx.params["rows"]), int(ctx.params["requests"])
    kinds = [k.strip() for k in str(ctx.params["databases"]).split(",") if k.strip()]
    metrics = []
    details: dict[str, Any] = {"plans": {}, "seed_seconds": {}}
    for kind in kinds:
        require("mariadb" if kind == "mariadb" else "sqlite")
        label = "MariaDB" if kind == "mariadb" else "SQLite"
        with seeded_database(kind, rows) as (env, data, url):
            ctx.log(f"{label}: seeding {rows:,} jobs")
            seeded = await asyncio.to_thread(run_async, lambda u=url: seed_jobs(u, rows))
            details["seed_seconds"][label] = round(seeded.seconds, 1)
            details["plans"][label] = await asyncio.to_thread(
                run_async, lambda u=url, s=seeded: query_plans(u, s)
            )
            ctx.log(f"{label}: seeded in {seeded.seconds:.0f} s; measuring")
            with scripter_server(env, command="api", data=data) as server:
                await asyncio.to_thread(server.wait_healthy)
                ctx.watch(server.pid, f"server-{kind}")
                samples = await asyncio.to_thread(measure, server, seeded, rows, requests)
        health = samples.pop("/healthz")
        for name, values in samples.items():
            metrics.append(
                metric(
                    f"{label}: {name}",
                    "ms",
                    values,
                    label=f"GET /api/jobs, {name}",
                    baseline=health,
                    baseline_label="/healthz",
                    targets=[at_most(20, "p99")],
                )
            )
    notes = [
        "Seeding took " + ", ".join(f"{k} {v} s" for k, v in details["seed_seconds"].items()) + ".",
        *(
            f"{db} plan, {name}: `{'; '.join(plan)}`"
            for db, plans in details["plans"].items()
            for name, plan in plans.items()
        ),
    ]
    details["notes"] = notes
    return Outcome(metrics=metrics, details=details)


BENCHMARK = Benchmark(
    name="api",
    title="API: list jobs",
    params=PARAMS,
    run=run,
    description=DESCRIPTION,
)
