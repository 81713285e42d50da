"""Jobs in a scale-out deployment: one ``scripter api``, one ``scripter scheduler`` and
two ``scripter worker`` processes on one MariaDB, one RabbitMQ, one Docker engine and
a shared data directory (compose.yml's roles, as plain processes).

What this proves:

- 100 jobs posted through the api all run, spread over both workers by RabbitMQ:
  none is lost (every one succeeds, and its log holds its own output once), none runs
  twice (the engine created exactly one container per job, and exactly one worker
  says it started it). Which worker ran a job: the worker's log line
  ``job N started in container ...``.
- The scheduler process fires a schedule (every second) and the workers run its jobs.
- ``kill -9`` of a worker while its jobs run: the jobs go on in their containers
  (siblings on the engine, not children of the worker) and stay ``running`` while
  nobody watches; the restarted worker records the ones that ended meanwhile with
  their real exit codes and follows the rest to their end. Each ends with its true
  status (succeeded, or failed with its exit code) and one container.
- SIGTERM stops every process cleanly.

Everything it makes is its own and removed afterwards (``multiprocess.scale_out``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from scripter.services.job_runner import JOB_LABEL, NAMESPACE_LABEL
from tests.e2e.multiprocess import (
    MIGRATE_TIMEOUT,
    Deployment,
    Process,
    built_image_and_script,
    eventually,
    free_port,
    json_of,
    scale_out,
)

pytestmark = [pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.docker]

JOBS = 100
CONCURRENCY = 6
"""Jobs one worker runs at once: the 8 of the kill phase fit on either worker."""
BUILD_TIMEOUT = 60.0
JOBS_TIMEOUT = 150.0
STARTED = re.compile(r"job (\d+) started in container")

# Sleeps argv[1] seconds, prints "done <argv[2]>", exits with code argv[3].
MAIN_PY = (
    "import sys, time\n"
    "time.sleep(float(sys.argv[1]))\n"
    "print('done', sys.argv[2])\n"
    "sys.exit(int(sys.argv[3]))\n"
)


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    async with scale_out(tmp_path, SCRIPTER_WORKER_CONCURRENCY=str(CONCURRENCY)) as deployed:
        yield deployed


def started_jobs(worker: Process) -> list[int]:
    """The ids of the jobs this worker process started, in its log's order."""
    return [int(m.group(1)) for m in STARTED.finditer(worker.log())]


class ContainerCreations:
    """Counts the containers the engine creates for each job of a namespace, from its
    live event stream (its event history keeps only the last few hundred events)."""

    def __init__(self, namespace: str) -> None:
        self.counts: Counter[int] = Counter()
        self._stream = docker.from_env().events(
            filters={
                "type": "container",
                "event": "create",
                "label": f"{NAMESPACE_LABEL}={namespace}",
            },
            decode=True,
        )
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        with contextlib.suppress(Exception):  # ends when close() cuts the stream
            for event in self._stream:
                self.counts[int(event["Actor"]["Attributes"][JOB_LABEL])] += 1

    def of(self, job_ids: Iterable[int]) -> dict[int, int]:
        return {job_id: self.counts[job_id] for job_id in job_ids}

    def close(self) -> None:
        self._stream.close()
        self._thread.join(timeout=5)


@pytest.fixture
def creations(deployment: Deployment) -> Iterator[ContainerCreations]:
    followed = ContainerCreations(deployment.namespace)
    try:
        yield followed
    finally:
        followed.close()


async def test_jobs_spread_over_two_workers_and_survive_a_killed_worker(
    deployment: Deployment, creations: ContainerCreations
) -> None:
    await deployment.run("migrate", timeout=MIGRATE_TIMEOUT)
    port = free_port()
    api = await deployment.api(port)
    scheduler = await deployment.spawn("scheduler", "scheduler")
    workers = [await deployment.spawn("worker", "worker") for _ in range(2)]

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=30, auth=deployment.auth
    ) as http:

        def alive() -> None:
            deployment.check_alive(api, scheduler, *workers)

        async def jobs_of(script_id: int) -> dict[int, dict[str, Any]]:
            page = json_of(await http.get(f"/api/jobs?script_id={script_id}&limit=500"), 200)
            assert page["next_cursor"] is None
            return {job["id"]: job for job in page["items"]}

        async def until_final(ids: set[int], what: str, timeout: float) -> dict[int, Any]:
            async def probe() -> dict[int, Any] | None:
                alive()
                jobs = await jobs_of(script_id)
                done = {i: jobs[i] for i in ids if i in jobs and jobs[i]["finished_at"]}
                return done if len(done) == len(ids) else None

            return await eventually(probe, what, timeout)

        async def run(args: list[str]) -> int:
            job = json_of(
                await http.post(f"/api/scripts/{script_id}/runs", json={"args": args}), 202
            )
            return int(job["id"])

        async def log_of(job_id: int) -> str:
            return str((await http.get(f"/api/jobs/{job_id}/log")).text)

        # --- an image on the test base (built by a worker) and a script on it ---------
        script_id = await built_image_and_script(
            http,
            deployment,
            api,
            scheduler,
            *workers,
            name="scale-jobs",
            code=MAIN_PY,
            build_timeout=BUILD_TIMEOUT,
        )

        # --- 1. 100 jobs over two workers: none lost, none run twice ------------------
        ids = {await run(["0", f"job-{n}", "0"]): n for n in range(JOBS)}
        assert len(ids) == JOBS
        finished = await until_final(set(ids), f"{JOBS} jobs finished", JOBS_TIMEOUT)
        statuses = Counter(job["status"] for job in finished.values())
        assert statuses == {"succeeded": JOBS}, statuses
        for job_id, n in ids.items():
            assert await log_of(job_id) == f"done job-{n}\n", job_id

        by_worker = [started_jobs(worker) for worker in workers]
        assert all(by_worker), f"a worker ran no job: {[len(j) for j in by_worker]}"
        starts = Counter(job_id for jobs in by_worker for job_id in jobs)
        assert set(starts) == set(ids), "a job was started by no worker (or an unknown one)"
        assert max(starts.values()) == 1, [j for j, c in starts.items() if c > 1]
        assert creations.of(ids) == dict.fromkeys(ids, 1)

        # --- 2. the scheduler process fires a schedule; the workers run its jobs ------
        schedule = json_of(
            await http.post(
                f"/api/scripts/{script_id}/schedules",
                json={"cron": "* * * * * *", "args": ["0", "scheduled", "0"]},
            ),
            201,
        )

        async def scheduled_runs() -> list[dict[str, Any]] | None:
            alive()
            jobs = [j for j in (await jobs_of(script_id)).values() if j["trigger"] == "schedule"]
            done = [j for j in jobs if j["status"] == "succeeded"]
            return done if len(done) >= 2 else None

        await eventually(scheduled_runs, "2 scheduled jobs succeeded", 30.0)
        json_of(await http.delete(f"/api/schedules/{schedule['id']}"), 204)
        scheduled = {
            j["id"] for j in (await jobs_of(script_id)).values() if j["trigger"] == "schedule"
        }
        await until_final(scheduled, "the scheduled jobs finished", 30.0)

        # --- 3. kill -9 of a worker while its jobs run, then a restart ----------------
        # (sleep, exit code): short ones end while the worker is dead, long ones after
        # it is back. Posted in pairs, so that round-robin gives each worker some of both.
        plan = [(3, 0), (3, 3), (12, 0), (12, 4)] * 2
        kill_ids: dict[int, tuple[int, int, int]] = {}
        for n, (sleep, code) in enumerate(plan):
            kill_ids[await run([str(sleep), f"kill-{n}", str(code)])] = (n, sleep, code)

        async def all_running() -> bool | None:
            alive()
            jobs = await jobs_of(script_id)
            return True if all(jobs[i]["status"] == "running" for i in kill_ids) else None

        await eventually(all_running, "the 8 jobs running", 30.0)
        victim = max(workers, key=lambda w: len(set(started_jobs(w)) & set(kill_ids)))
        victim_jobs = set(started_jobs(victim)) & set(kill_ids)
        assert victim_jobs
        await deployment.kill(victim)
        workers.remove(victim)

        # Its short jobs end while no worker watches them: the containers exit, the
        # records still say running.
        short = {i for i in victim_jobs if kill_ids[i][1] == 3}
        client = docker.from_env()

        async def short_ones_exited() -> bool | None:
            listed = await asyncio.to_thread(
                client.containers.list,
                all=True,
                filters={"label": f"{NAMESPACE_LABEL}={deployment.namespace}", "status": "exited"},
            )
            exited = {int(c.labels[JOB_LABEL]) for c in listed}
            return True if short <= exited else None

        await eventually(short_ones_exited, "the killed worker's short jobs exited", 20.0)
        jobs = await jobs_of(script_id)
        assert {jobs[i]["status"] for i in victim_jobs} == {"running"}, (
            "a job of the killed worker was recorded while no worker watched it"
        )

        restarted = await deployment.spawn("worker", "worker")
        workers.append(restarted)
        finished = await until_final(set(kill_ids), "the 8 jobs ended after the restart", 40.0)
        for job_id, (n, _sleep, code) in kill_ids.items():
            job = finished[job_id]
            expected = "succeeded" if code == 0 else "failed"
            assert (job["status"], job["exit_code"]) == (expected, code), job
            assert await log_of(job_id) == f"done kill-{n}\n", job
        assert creations.of(kill_ids) == dict.fromkeys(kill_ids, 1)
        assert not started_jobs(restarted), "the restarted worker started a job again"

        # --- nothing lost overall; SIGTERM ends every process cleanly -------------------
        everything = await jobs_of(script_id)
        assert all(job["finished_at"] for job in everything.values())
        assert "lost" not in {job["status"] for job in everything.values()}

    for process in (*workers, scheduler, api):
        await deployment.stop(process)
