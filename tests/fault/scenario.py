"""What every fault test does around its fault: a deployment of real ``scripter``
processes (tests/e2e/multiprocess.py), an image and a script on it, jobs with a known
output, and the figures of docs/reliability.md counted from what really happened.

Jobs run ``MAIN_PY``: it prints ``start <tag>``, sleeps, prints ``done <tag>`` and
exits with the code it is given, so each job's complete log is known in advance.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from scripter.adapters.db.engine import create_engine
from tests.e2e.multiprocess import (
    MIGRATE_TIMEOUT,
    STOP_TIMEOUT,
    Deployment,
    Process,
    built_image_and_script,
    eventually,
    free_port,
    json_of,
    tail,
)
from tests.figures import record

BUILD_TIMEOUT = 90.0
STARTED = re.compile(r"job (\d+) started in container")

MAIN_PY = (
    "import sys, time\n"
    "print('start', sys.argv[2], flush=True)\n"
    "time.sleep(float(sys.argv[1]))\n"
    "print('done', sys.argv[2])\n"
    "sys.exit(int(sys.argv[3]))\n"
)


def full_log(tag: str) -> bytes:
    return f"start {tag}\ndone {tag}\n".encode()


async def api_and_worker(deployment: Deployment) -> tuple[int, Process, Process]:
    """What every fault starts from: the database migrated, an api on a free port (its
    port, the process) and one worker."""
    await deployment.run("migrate", timeout=MIGRATE_TIMEOUT)
    port = free_port()
    return port, await deployment.api(port), await deployment.spawn("worker", "worker")


def api_client(deployment: Deployment, port: int) -> httpx.AsyncClient:
    """A client of the deployment's api, authenticated as every test client is (the
    token the api made in the shared data directory)."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, auth=deployment.auth)


async def image_and_script(
    http: httpx.AsyncClient, deployment: Deployment, *alive: Process, code: str = MAIN_PY
) -> int:
    """An image on the test base (built by a worker) and a script on it; the script's id."""
    return await built_image_and_script(
        http, deployment, *alive, name="fault", code=code, build_timeout=BUILD_TIMEOUT
    )


async def run(http: httpx.AsyncClient, script_id: int, *args: str) -> int:
    job = json_of(await http.post(f"/api/scripts/{script_id}/runs", json={"args": list(args)}), 202)
    return int(job["id"])


async def job(http: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    found: dict[str, Any] = json_of(await http.get(f"/api/jobs/{job_id}"), 200)
    return found


async def log_of(http: httpx.AsyncClient, job_id: int) -> bytes:
    response = await http.get(f"/api/jobs/{job_id}/log")
    assert response.status_code == 200, response.text
    return response.content


async def until_status(
    http: httpx.AsyncClient,
    ids: Iterable[int],
    statuses: set[str],
    what: str,
    timeout: float,
    *alive: Process,
) -> dict[int, dict[str, Any]]:
    """Until every job of ``ids`` is in one of ``statuses``; their records."""
    wanted = set(ids)

    async def probe() -> dict[int, dict[str, Any]] | None:
        Deployment.check_alive(*alive)
        found = {i: await job(http, i) for i in wanted}
        return found if all(j["status"] in statuses for j in found.values()) else None

    return await eventually(probe, what, timeout)


FINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}


async def stop(process: Process) -> None:
    """SIGTERM after the fault: the process must exit 0. (Not ``Deployment.stop``,
    which also refuses any traceback in the log: the client libraries log the
    broker's or the server's disappearance with one, and that is the fault.)"""
    process.process.send_signal(signal.SIGTERM)
    try:
        returncode = await asyncio.wait_for(process.process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        pytest.fail(f"{process.name} did not stop within {STOP_TIMEOUT:.0f} s of SIGTERM")
    assert returncode == 0, f"{process.name} exited with {returncode}:\n{tail(process.stderr)}"


def starts(workers: Iterable[Process]) -> Counter[int]:
    """How many times any worker process said it started each job."""
    return Counter(int(m.group(1)) for w in workers for m in STARTED.finditer(w.log()))


async def database_counts(url: str, script_id: int) -> tuple[Counter[str], int]:
    """(jobs of the script by status, outbox rows not yet published), read from the
    database itself rather than through the API under test."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text("SELECT status, COUNT(*) FROM jobs WHERE script_id = :s GROUP BY status"),
                {"s": script_id},
            )
            statuses = Counter({str(status): int(count) for status, count in rows})
            pending = await connection.scalar(
                sa.text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            )
    finally:
        await engine.dispose()
    return statuses, int(pending or 0)


def lost_bytes(expected: bytes, got: bytes) -> int:
    """Bytes of ``expected`` missing from ``got``: everything after the first byte
    where they differ (a log must be exactly what the job printed, in order)."""
    same = 0
    for a, b in zip(expected, got, strict=False):
        if a != b:
            break
        same += 1
    return len(expected) - same


@dataclass
class Outcome:
    """What a fault test checks, counted as it goes; ``report`` records the figures
    before any assertion can stop the test, so a failure still shows in the table."""

    case: str
    problems: list[str] = field(default_factory=list)
    jobs_lost: int = 0
    jobs_duplicated: int = 0
    log_bytes_lost: int = 0

    def expect_job(
        self,
        found: dict[str, Any],
        status: str,
        exit_code: int | None,
        *,
        error: str | None = None,
    ) -> None:
        """A job that did not end as expected counts as lost."""
        ok = found["status"] == status and found["exit_code"] == exit_code
        if error is not None:
            ok = ok and error in (found.get("error") or "")
        if not ok:
            self.jobs_lost += 1
            self.problems.append(
                f"job {found['id']}: {found['status']} / exit {found['exit_code']} / "
                f"{found.get('error')!r}; expected {status} / exit {exit_code}"
                + (f" / an error with {error!r}" if error else "")
            )

    def expect_log(self, job_id: int, expected: bytes, got: bytes) -> None:
        lost = lost_bytes(expected, got)
        self.log_bytes_lost += lost
        if got != expected:
            at = len(expected) - lost
            self.problems.append(
                f"job {job_id}: a log of {len(got)} bytes, expected {len(expected)}; they "
                f"differ from byte {at}: {got[at : at + 80]!r} for {expected[at : at + 80]!r}"
            )

    def expect_single_starts(self, started: Counter[int], ids: Iterable[int]) -> None:
        for job_id in ids:
            if started[job_id] > 1:
                self.jobs_duplicated += started[job_id] - 1
                self.problems.append(f"job {job_id} was started {started[job_id]} times")

    def expect(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def report(self) -> None:
        record(
            "fault",
            self.case,
            injected=1,
            survived=0 if self.problems else 1,
            jobs_lost=self.jobs_lost,
            jobs_duplicated=self.jobs_duplicated,
            log_bytes_lost=self.log_bytes_lost,
        )
        assert not self.problems, f"{self.case}:\n" + "\n".join(self.problems)
