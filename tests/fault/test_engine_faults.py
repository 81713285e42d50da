"""Faults of the worker's side: the worker killed with ``kill -9`` mid-job, and the
Docker engine restarted mid-job. Nothing may stay ``running``: every job ends with
its true status (its real exit code, its whole log), or ``lost`` with the reason.

Both run on a private Docker engine (tests/fault/private.py: its own dockerd, data
root and socket, the test base image copied in), which the test really stops and
starts again: the machine's engine is shared and never touched.

The ``kill -9`` part extends tests/e2e/test_scale_out_jobs.py (which proves that a
restarted worker records the jobs that ended meanwhile and follows the others) with
the case it leaves out: a container that vanished while no worker watched becomes
``lost`` with its reason.

The engine restart: dockerd, stopping without live-restore (the default), ends the
running containers with SIGTERM. The job that ran is recorded ``failed`` with exit
code 143 and "killed by SIGTERM", as soon as the engine answers again; a run
requested while the engine is down starts once it is back, once. With live-restore
on, the job runs through the restart and is recorded ``succeeded``, whole log.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scripter.services.job_runner import JOB_LABEL, NAMESPACE_LABEL
from tests.e2e.multiprocess import (
    Deployment,
    eventually,
    scale_out,
)
from tests.fault.private import PrivateDockerd, private_dockerd
from tests.fault.scenario import (
    FINAL,
    Outcome,
    api_and_worker,
    api_client,
    full_log,
    image_and_script,
    log_of,
    run,
    starts,
    stop,
    until_status,
)

pytestmark = [pytest.mark.fault, pytest.mark.mariadb, pytest.mark.rabbitmq]

REDELIVERED = re.compile(r"failed on job\.requested")
STREAM_BROKE = re.compile(r"docker event stream broke")


@pytest.fixture
async def engine() -> AsyncIterator[PrivateDockerd]:
    async with private_dockerd() as dockerd:
        yield dockerd


@pytest.fixture
async def deployment(tmp_path: Path, engine: PrivateDockerd) -> AsyncIterator[Deployment]:
    async with scale_out(tmp_path, SCRIPTER_DOCKER_HOST=engine.host) as deployed:
        yield deployed


async def test_a_killed_worker_and_a_restarted_engine_leave_no_job_running(
    deployment: Deployment, engine: PrivateDockerd
) -> None:
    port, api, worker = await api_and_worker(deployment)
    workers = [worker]
    docker = engine.client()

    async def containers(status: str | None = None) -> dict[int, str]:
        """Job id -> container id, of this deployment's job containers."""
        filters: dict[str, str | list[str] | bool] = {
            "label": f"{NAMESPACE_LABEL}={deployment.namespace}"
        }
        if status:
            filters["status"] = status
        # ignore_removed: the runner removes containers between the list and its inspects.
        listed = await asyncio.to_thread(
            docker.containers.list, all=True, filters=filters, ignore_removed=True
        )
        return {int(c.labels[JOB_LABEL]): str(c.id) for c in listed}

    try:
        async with api_client(deployment, port) as http:
            script_id = await image_and_script(http, deployment, api, worker)

            # --- 1. kill -9 of the worker mid-job -------------------------------------
            killed = Outcome("worker kill -9 mid-job (a container removed meanwhile)")
            short = await run(http, script_id, "3", "short", "3")
            long = await run(http, script_id, "8", "long", "0")
            gone = await run(http, script_id, "60", "gone", "0")
            plan = [short, long, gone]
            await until_status(http, plan, {"running"}, "three jobs running", 30, api, worker)
            await deployment.kill(worker)

            async def short_exited() -> bool | None:
                return True if short in await containers("exited") else None

            await eventually(short_exited, "the short job ended while no worker ran", 20)
            # Someone removes a job's container while no worker watches it.
            await asyncio.to_thread(
                docker.api.remove_container, (await containers())[gone], force=True
            )
            worker = await deployment.spawn("worker", "worker")
            workers.append(worker)
            found = await until_status(
                http, plan, FINAL, "the jobs recorded by the next worker", 40, api, worker
            )
            killed.expect_job(found[short], "failed", 3)
            killed.expect_job(found[long], "succeeded", 0)
            killed.expect_job(found[gone], "lost", None, error="vanished")
            killed.expect_log(short, full_log("short"), await log_of(http, short))
            killed.expect_log(long, full_log("long"), await log_of(http, long))
            killed.expect_log(gone, b"start gone\n", await log_of(http, gone))
            killed.expect_single_starts(starts(workers), plan)
            killed.report()

            # --- 2. the Docker engine restarts mid-job ----------------------------------
            restarted = Outcome("Docker engine restarted mid-job")
            running = await run(http, script_id, "60", "running", "0")
            await until_status(http, [running], {"running"}, "a job running", 30, api, worker)
            await engine.stop()
            during = await run(http, script_id, "0", "during", "0")

            async def start_refused() -> bool | None:
                return True if REDELIVERED.search(worker.log()) else None

            # The worker tried to start it on the stopped engine (and will again).
            await eventually(start_refused, "the worker trying the stopped engine", 30)
            health = await http.get("/healthz")
            restarted.expect(health.status_code == 503, f"healthz, engine down: {health.text}")
            await engine.start()
            found = await until_status(
                http, [running, during], FINAL, "the jobs after the engine restart", 60, worker
            )
            restarted.expect_job(found[running], "failed", 143, error="killed by SIGTERM")
            restarted.expect_job(found[during], "succeeded", 0)
            restarted.expect_log(running, b"start running\n", await log_of(http, running))
            restarted.expect_log(during, full_log("during"), await log_of(http, during))
            restarted.expect_single_starts(starts(workers), [running, during])

            async def removed() -> bool | None:
                # Recorded first, removed second: the removal may lag the record.
                return True if not await containers() else None

            await eventually(removed, "the job containers removed", 20)
            restarted.report()

            # --- 3. the same with live-restore: the job runs through the restart --------
            live = Outcome("Docker engine restarted mid-job (live-restore)")
            engine.live_restore = True
            await engine.restart()  # takes effect for the next stop
            through = await run(http, script_id, "6", "through", "0")
            await until_status(http, [through], {"running"}, "a job running", 30, worker)
            broke_before = len(STREAM_BROKE.findall(worker.log()))
            await engine.restart()

            async def worker_lost_the_engine() -> bool | None:
                return True if len(STREAM_BROKE.findall(worker.log())) > broke_before else None

            await eventually(worker_lost_the_engine, "the worker losing the engine", 30)
            found = await until_status(http, [through], FINAL, "the job through it", 60, worker)
            live.expect_job(found[through], "succeeded", 0)
            live.expect_log(through, full_log("through"), await log_of(http, through))
            live.expect_single_starts(starts(workers), [through])
            await eventually(removed, "the job container removed", 20)
            live.report()
    finally:
        docker.close()
    for process in (worker, api):
        await stop(process)
