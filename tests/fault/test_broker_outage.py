"""Fault: RabbitMQ is down while runs are requested.

A private RabbitMQ node (tests/fault/private.py) is really stopped (every client
connection drops, new ones are refused) while an api and a worker use it, and
started again on the same Mnesia folder, as a broker restart does. Meanwhile:

- runs are requested: each answers 202 at once, and the outbox in the database
  holds each request's event, unpublished;
- a job that was running before the outage ends during it and is recorded.

Once the broker is back every requested job runs, exactly once (one "started" line
of the worker per job), with its whole log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.multiprocess import Deployment, scale_out
from tests.fault.private import PrivateRabbitMQ, private_rabbitmq
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

pytestmark = [pytest.mark.fault, pytest.mark.mariadb, pytest.mark.docker]

DURING_OUTAGE = 8


@pytest.fixture
async def broker() -> AsyncIterator[PrivateRabbitMQ]:
    async with private_rabbitmq() as node:
        yield node


@pytest.fixture
async def deployment(tmp_path: Path, broker: PrivateRabbitMQ) -> AsyncIterator[Deployment]:
    async with scale_out(tmp_path, SCRIPTER_BROKER_URL=broker.url) as deployed:
        yield deployed


async def test_runs_requested_while_the_broker_is_down_run_once_it_is_back(
    deployment: Deployment, broker: PrivateRabbitMQ
) -> None:
    outcome = Outcome("RabbitMQ stopped while runs are requested")
    port, api, worker = await api_and_worker(deployment)
    database_url = deployment.env["SCRIPTER_DATABASE_URL"]
    async with api_client(deployment, port) as http:
        script_id = await image_and_script(http, deployment, api, worker)
        # Running before the outage, ending during it.
        before = await run(http, script_id, "4", "before", "0")
        await until_status(http, [before], {"running"}, "a job running", 30, api, worker)

        # --- the fault: the broker stops; runs are requested meanwhile ------------------
        await broker.stop()
        requested: dict[int, str] = {}
        for n in range(DURING_OUTAGE):
            response = await http.post(
                f"/api/scripts/{script_id}/runs", json={"args": ["0", f"during-{n}", "0"]}
            )
            outcome.expect(response.status_code == 202, f"run during the outage: {response.text}")
            if response.status_code == 202:
                requested[int(response.json()["id"])] = f"during-{n}"
        statuses, unpublished = await database_counts(database_url, script_id)
        outcome.expect(
            unpublished >= len(requested),
            f"{unpublished} events in the outbox for {len(requested)} runs requested",
        )
        outcome.expect(statuses["queued"] == len(requested), f"jobs during the outage: {statuses}")
        # The running job ends and is recorded while the broker is still down (the
        # database holds the record; its event waits in the outbox).
        ended = await until_status(
            http, [before], FINAL, "the running job recorded in the outage", 30, api, worker
        )
        outcome.expect_job(ended[before], "succeeded", 0)
        health = await http.get("/healthz")
        outcome.expect(health.status_code == 503, f"healthz during the outage: {health.text}")
        await broker.start()

        # --- after: every requested job runs, once ---------------------------------------
        finished = await until_status(
            http, requested, FINAL, "the jobs requested in the outage", 90, api, worker
        )
        for job_id, tag in requested.items():
            outcome.expect_job(finished[job_id], "succeeded", 0)
            outcome.expect_log(job_id, full_log(tag), await log_of(http, job_id))
        outcome.expect_log(before, full_log("before"), await log_of(http, before))
        outcome.expect_single_starts(starts([worker]), [before, *requested])
        outcome.jobs_lost += DURING_OUTAGE - len(requested)
        statuses, unpublished = await database_counts(database_url, script_id)
        outcome.expect(
            not {"queued", "running"} & set(statuses), f"jobs left unfinished: {statuses}"
        )
    outcome.report()
    for process in (worker, api):
        await stop(process)
