"""Fault: the data directory's disk fills up while a job writes its log.

The data directory is a small tmpfs (a disk that really fills: writes fail with
ENOSPC), and a ballast file fills most of it, as another writer on a shared disk
would. A job that prints without end fills the rest. What must hold:

- the job ends ``failed`` and its error says that the disk is full;
- its log is exactly the start of what it printed, up to where the disk ran out;
- meanwhile the app keeps serving: /healthz, the job and its log, and a write that
  needs the disk is refused with a clear 507 problem, writing nothing;
- once space is freed (the ballast goes), new writes and jobs work again.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.multiprocess import Deployment, scale_out
from tests.fault.private import small_tmpfs
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

DISK = "24m"
FREE_FOR_THE_JOB = 2 * 1024 * 1024
# Prints numbered 100-byte lines until a write fails; with "flood" as its first
# argument, otherwise it is the usual short job.
FLOOD_PY = (
    "import itertools, sys, time\n"
    "if sys.argv[1] != 'flood':\n"
    "    print('start', sys.argv[2], flush=True)\n"
    "    time.sleep(float(sys.argv[1]))\n"
    "    print('done', sys.argv[2])\n"
    "    sys.exit(int(sys.argv[3]))\n"
    "for i in itertools.count():\n"
    "    print(f'{i:09d} ' + 'x' * 89)\n"
)


def flood_output(size: int) -> bytes:
    """The first ``size`` bytes of what FLOOD_PY prints."""
    lines = (f"{i:09d} {'x' * 89}\n".encode() for i in itertools.count())
    out = b"".join(itertools.islice(lines, size // 100 + 1))
    return out[:size]


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    with small_tmpfs(tmp_path / "disk", DISK) as disk:
        async with scale_out(tmp_path, SCRIPTER_DATA_DIRECTORY=str(disk)) as deployed:
            yield deployed


async def test_a_full_disk_fails_the_job_clearly_and_the_app_keeps_serving(
    deployment: Deployment,
) -> None:
    outcome = Outcome("data directory's disk full while a job writes its log")
    disk = Path(deployment.env["SCRIPTER_DATA_DIRECTORY"])
    port, api, worker = await api_and_worker(deployment)
    async with api_client(deployment, port) as http:
        script_id = await image_and_script(http, deployment, api, worker, code=FLOOD_PY)

        # --- the fault: a ballast leaves the job little room; it floods its log -----------
        ballast = disk / "ballast"
        _fill(ballast, disk, leave=FREE_FOR_THE_JOB)
        flood = await run(http, script_id, "flood", "-", "0")
        found = await until_status(http, [flood], FINAL, "the flooding job ended", 60, worker)
        outcome.expect_job(found[flood], "failed", found[flood]["exit_code"], error="disk")
        outcome.expect(found[flood]["exit_code"] not in (None, 0), f"{found[flood]}")
        log = await log_of(http, flood)
        outcome.expect(len(log) > FREE_FOR_THE_JOB // 2, f"the log holds {len(log)} bytes")
        # Exactly what the job printed, up to where the disk ran out.
        outcome.expect_log(flood, flood_output(len(log)), log)

        # --- the app keeps serving ------------------------------------------------------
        health = await http.get("/healthz")
        outcome.expect(health.status_code == 200, f"healthz with a full disk: {health.text}")
        listed = await http.get("/api/jobs", params={"script_id": script_id})
        outcome.expect(listed.status_code == 200, f"job list: {listed.text}")
        refused = await http.post(
            "/api/scripts",
            json={
                "name": "while-full",
                "image_id": found[flood]["image_id"],
                "files": [{"path": "main.py", "content": "print('x' * 100)\n" * 2000}],
            },
        )
        outcome.expect(
            refused.status_code == 507 and "disk" in refused.json().get("detail", ""),
            f"a write on a full disk: {refused.status_code} {refused.text}",
        )
        scripts = (await http.get("/api/scripts")).json()
        names = [s["name"] for s in scripts.get("items", scripts)]
        outcome.expect("while-full" not in names, f"a refused script was saved: {names}")

        # --- space comes back: writes and jobs work again ---------------------------------
        ballast.unlink()
        after = await run(http, script_id, "0", "after", "0")
        found = await until_status(http, [after], FINAL, "a job after space came back", 30)
        outcome.expect_job(found[after], "succeeded", 0)
        outcome.expect_log(after, full_log("after"), await log_of(http, after))
        outcome.expect_single_starts(starts([worker]), [flood, after])
        created = await http.post(
            "/api/scripts",
            json={
                "name": "after-full",
                "image_id": found[after]["image_id"],
                "files": [{"path": "main.py", "content": "print(1)\n"}],
            },
        )
        outcome.expect(created.status_code == 201, f"a write after: {created.text}")
    outcome.report()
    for process in (worker, api):
        await stop(process)


def _fill(ballast: Path, disk: Path, *, leave: int) -> None:
    """A file that leaves about ``leave`` bytes free on ``disk``."""
    import os

    stats = os.statvfs(disk)
    size = stats.f_bavail * stats.f_frsize - leave
    with ballast.open("wb") as out:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            size -= out.write(chunk[: min(len(chunk), size)])
