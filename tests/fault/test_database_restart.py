"""Fault: the MariaDB server restarts while jobs run.

A private ``mariadbd`` (tests/fault/private.py) is really stopped (SIGTERM: every
client connection drops, new ones are refused) while an api and a worker run jobs on
it, and started again a few seconds later. Some jobs end while it is down, the others
after it is back. Every job must be recorded with its true end (status, exit code)
and its whole log, started once; the api answers again once the server is back.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import pytest

from scripter.services.job_runner import JOB_LABEL, NAMESPACE_LABEL
from tests.e2e.multiprocess import (
    Deployment,
    eventually,
    scale_out,
)
from tests.fault.private import PrivateMariaDB, private_mariadb
from tests.fault.scenario import (
    FINAL,
    Outcome,
    api_and_worker,
    api_client,
    database_counts,
    full_log,
    image_and_script,
    log_of,
    run,
    starts,
    stop,
    until_status,
)

pytestmark = [pytest.mark.fault, pytest.mark.rabbitmq, pytest.mark.docker]

# (sleep, exit code): the short ones end while the server is down, the long ones after.
PLAN = [(3, 0), (3, 3), (10, 0), (10, 4)]
FAILED_TRY = re.compile(r"supervising job (\d+) failed")


@pytest.fixture
async def database() -> AsyncIterator[PrivateMariaDB]:
    async with private_mariadb() as server:
        yield server


@pytest.fixture
async def deployment(tmp_path: Path, database: PrivateMariaDB) -> AsyncIterator[Deployment]:
    async with scale_out(tmp_path, SCRIPTER_DATABASE_URL=database.url) as deployed:
        yield deployed


async def test_jobs_are_recorded_across_a_database_restart(
    deployment: Deployment, database: PrivateMariaDB
) -> None:
    outcome = Outcome("MariaDB restarted while jobs run")
    port, api, worker = await api_and_worker(deployment)
    async with api_client(deployment, port) as http:
        script_id = await image_and_script(http, deployment, api, worker)
        ids = {
            await run(http, script_id, str(sleep), f"job-{n}", str(code)): (n, sleep, code)
            for n, (sleep, code) in enumerate(PLAN)
        }
        await until_status(http, ids, {"running"}, "the jobs running", 30, api, worker)

        # --- the fault: the server stops while every job runs --------------------------
        await database.stop()
        client = docker.from_env()
        short = {i for i, (_, sleep, _) in ids.items() if sleep == 3}

        async def short_ones_exited() -> bool | None:
            listed = await asyncio.to_thread(
                client.containers.list,
                all=True,
                filters={"label": f"{NAMESPACE_LABEL}={deployment.namespace}", "status": "exited"},
                ignore_removed=True,  # the runner removes containers at any moment
            )
            return True if short <= {int(c.labels[JOB_LABEL]) for c in listed} else None

        # The short jobs end while nothing can be recorded, and the worker has tried.
        await eventually(short_ones_exited, "the short jobs ended during the outage", 30)

        async def worker_hit_the_outage() -> bool | None:
            # (Both, unless the machine was so slow that one ended before the stop.)
            tried = {int(m.group(1)) for m in FAILED_TRY.finditer(worker.log())}
            return True if tried & short else None

        await eventually(worker_hit_the_outage, "the worker failing to record them", 30)
        health = await http.get("/healthz")
        outcome.expect(health.status_code == 503, f"healthz during the outage: {health.text}")
        await database.start()

        # --- after: every job recorded with its true end --------------------------------
        finished = await until_status(
            http, ids, FINAL, "every job recorded after the restart", 60, api, worker
        )
        for job_id, (n, _sleep, code) in ids.items():
            outcome.expect_job(finished[job_id], "succeeded" if code == 0 else "failed", code)
            outcome.expect_log(job_id, full_log(f"job-{n}"), await log_of(http, job_id))
        outcome.expect_single_starts(starts([worker]), ids)
        health = await http.get("/healthz")
        outcome.expect(health.status_code == 200, f"healthz after the restart: {health.text}")
        # The api serves writes again, on fresh connections, and the worker runs them.
        after = await run(http, script_id, "0", "after", "0")
        done = await until_status(http, [after], FINAL, "a job after the restart", 30, worker)
        outcome.expect_job(done[after], "succeeded", 0)
        statuses, _ = await database_counts(database.url, script_id)
        outcome.expect(
            not {"queued", "running"} & set(statuses), f"jobs left unfinished: {statuses}"
        )
    outcome.report()
    for process in (worker, api):
        await stop(process)
