"""Fault: SIGTERM (a deploy, ``docker compose stop``, a host shutdown) while a request
is in flight and a job runs.

- The api, stopped while a slow client downloads a whole job log (it has read the
  first chunk, then reads nothing for a while, then the rest), refuses new
  connections at once but finishes that download, byte for byte, then exits 0.
- The worker, stopped while a job runs, exits 0 and leaves the job's container
  running; the next worker records the job with its true end and whole log, and
  does not start it again.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.multiprocess import (
    Deployment,
    eventually,
    free_port,
    json_of,
    scale_out,
)
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

pytestmark = [pytest.mark.fault, pytest.mark.mariadb, pytest.mark.rabbitmq, pytest.mark.docker]

BIG_LOG = 32 * 1024 * 1024
"""More than loopback socket buffers hold: the server is still sending when the slow
client pauses."""
PAUSE = 8.0
"""How long the slow client reads nothing after the SIGTERM: longer than a grace
period of a few seconds would allow."""
SHUTTING_DOWN = "Waiting for connections to close"
# With "big" as its first argument, prints argv[2] bytes of numbered 1000-byte lines.
BIG_PY = (
    "import sys, time\n"
    "if sys.argv[1] == 'big':\n"
    "    for i in range(int(sys.argv[2]) // 1000):\n"
    "        print(f'{i:09d} ' + 'x' * 989)\n"
    "    sys.exit(0)\n"
    "print('start', sys.argv[2], flush=True)\n"
    "time.sleep(float(sys.argv[1]))\n"
    "print('done', sys.argv[2])\n"
    "sys.exit(int(sys.argv[3]))\n"
)


def big_output(size: int) -> bytes:
    lines = (f"{i:09d} {'x' * 989}\n".encode() for i in itertools.count())
    return b"".join(itertools.islice(lines, size // 1000))


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    async with scale_out(tmp_path) as deployed:
        yield deployed


async def test_sigterm_finishes_requests_in_flight_and_leaves_jobs_recoverable(
    deployment: Deployment,
) -> None:
    outcome = Outcome("SIGTERM mid-download and mid-job (graceful shutdown)")
    port, api, worker = await api_and_worker(deployment)
    async with api_client(deployment, port) as http:
        script_id = await image_and_script(http, deployment, api, worker, code=BIG_PY)
        big = await run(http, script_id, "big", str(BIG_LOG), "0")
        found = await until_status(http, [big], FINAL, "the big log written", 60, api, worker)
        assert found[big]["status"] == "succeeded", found[big]
        running = await run(http, script_id, "6", "running", "0")
        await until_status(http, [running], {"running"}, "a job running", 30, api, worker)

        # --- the fault: SIGTERM with a download in flight and a job running -------------
        received = bytearray()
        async with http.stream("GET", f"/api/jobs/{big}/log") as download:
            assert download.status_code == 200, download.status_code
            chunks = download.aiter_raw()
            received += await anext(chunks)
            api.process.terminate()
            worker.process.terminate()

            async def api_draining() -> bool | None:
                return True if SHUTTING_DOWN in api.log() else None

            await eventually(api_draining, "the api waiting for its connections", 15)
            try:
                await http.get("/healthz", timeout=2)
                outcome.problems.append("the stopping api accepted a new connection")
            except httpx.TransportError:
                pass  # refused: it no longer listens
            await asyncio.sleep(PAUSE)  # a slow client: reads nothing for a while
            try:
                async for chunk in chunks:
                    received += chunk
            except httpx.TransportError as exc:
                outcome.problems.append(f"the download broke off: {exc!r}")
        expected = big_output(BIG_LOG)
        outcome.expect_log(big, expected, bytes(received))
        for process in (api, worker):
            returncode = await asyncio.wait_for(process.process.wait(), 30)
            outcome.expect(returncode == 0, f"{process.name} exited with {returncode}")

    # --- after: a new worker and api; the job that ran is recorded, once ------------------
    port = free_port()
    api = await deployment.api(port)
    next_worker = await deployment.spawn("worker", "worker")
    async with api_client(deployment, port) as http:
        found = await until_status(
            http, [running], FINAL, "the running job recorded", 60, api, next_worker
        )
        outcome.expect_job(found[running], "succeeded", 0)
        outcome.expect_log(running, full_log("running"), await log_of(http, running))
        outcome.expect_single_starts(starts([worker, next_worker]), [big, running])
        after = json_of(await http.get("/api/jobs", params={"script_id": script_id}), 200)
        unfinished = [j["id"] for j in after["items"] if j["status"] not in FINAL]
        outcome.expect(not unfinished, f"jobs left unfinished: {unfinished}")
    outcome.report()
    for process in (next_worker, api):
        await stop(process)
