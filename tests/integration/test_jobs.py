"""Jobs in real containers on the Docker engine: run, fail, time out, cancel, OOM,
log limit, restart recovery, retention, concurrency. No container is left behind."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import docker
import pytest
from litestar.testing import AsyncTestClient

from scripter.bootstrap import Role, bootstrap
from scripter.config import Config
from scripter.domain.images import Image, ImageStatus
from scripter.domain.scripts import EnvVar, ResourceLimits, Script, ScriptRevision
from scripter.http.app import create_app
from tests.access import auth_headers
from tests.conftest import TEST_BASE_IMAGE, namespace_containers, remove_namespace_containers
from tests.integration.app_fixtures import App, make_test_config, require_docker

pytestmark = pytest.mark.docker

JOB_TIMEOUT = 120.0


def config_for(data: Path, **env: str) -> Config:
    # Its own namespace per test (kept across a restart of the same data directory),
    # so containers are told apart from other tests' and from a user's.
    namespace = "scripter-test-" + hashlib.sha256(str(data).encode()).hexdigest()[:10]
    return make_test_config(data, SCRIPTER_DOCKER_IMAGE_PREFIX=namespace, **env)


async def start_app(data: Path, roles: set[Role], **env: str) -> tuple[App, Any]:
    scripter = bootstrap(config_for(data, **env))
    client = AsyncTestClient(create_app(scripter, roles=roles, migrate=True))
    await client.__aenter__()
    client.headers.update(auth_headers(data))
    return App(client=client, scripter=scripter, data=data), client


@pytest.fixture
async def jobs_app(tmp_path: Path) -> AsyncIterator[App]:
    async with app_with(tmp_path / "data") as app:
        yield app


def remove_containers(app: App) -> None:
    """Every container of this test's namespace (none should be left; see the test)."""
    remove_namespace_containers(app.scripter.config.docker.image_prefix)


async def leftover_containers(app: App, patience: float = 10.0) -> list[str]:
    """Containers of this test's namespace still there after ``patience`` seconds. A job
    is recorded finished first and its container removed right after (a crash in
    between must not lose the exit code), so a moment may pass between the two."""
    namespace = app.scripter.config.docker.image_prefix
    found: list[str] = []
    async with asyncio.timeout(patience + 5):
        for _ in range(int(patience / 0.1)):
            found = [str(c.name) for c in namespace_containers(namespace)]
            if not found:
                break
            await asyncio.sleep(0.1)
    return found


async def add_script(
    app: App,
    code: str,
    *,
    name: str = "job",
    extra_files: dict[str, bytes] | None = None,
    env: list[EnvVar] | None = None,
    args: list[str] | None = None,
    limits: ResourceLimits | None = None,
    timeout: int | None = 600,
    log_limit: int | None = None,
    keep_last: int | None = None,
    image_status: ImageStatus = ImageStatus.BUILT,
) -> int:
    """A script on an image that is the test base image itself (nothing to build)."""
    now = app.scripter.clock.now()
    files = {"main.py": code.encode(), **(extra_files or {})}
    limits = limits or ResourceLimits(memory_mb=256, cpus=1.0, pids=128)
    env = env or []
    async with app.uow() as uow:
        image = await uow.images.get_by_name("base")
        if image is None:
            image = await uow.images.add(
                Image(
                    name="base",
                    status=image_status,
                    tag=TEST_BASE_IMAGE,
                    docker_image_id="x",
                    created_at=now,
                    updated_at=now,
                )
            )
        script = await uow.scripts.add(
            Script(
                name=name,
                image_id=image.require_id,
                env=env,
                args=args or [],
                limits=limits,
                timeout_seconds=timeout,
                log_limit_bytes=log_limit,
                keep_last=keep_last,
                current_revision=1,
                created_at=now,
                updated_at=now,
            )
        )
        await uow.scripts.add_revision(revision(script, 1, files, now))
        await uow.commit()
    return script.require_id


def revision(script: Script, number: int, files: dict[str, bytes], now: Any) -> ScriptRevision:
    return ScriptRevision(
        script_id=script.require_id,
        number=number,
        content_hash=hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest(),
        files={p: base64.b64encode(c).decode() for p, c in files.items()},
        settings={
            "image_id": script.image_id,
            "entry_file": script.entry_file,
            "env": [{"name": v.name, "value": v.value, "secret": v.secret} for v in script.env],
            "args": script.args,
            "limits": {
                "memory_mb": script.limits.memory_mb,
                "cpus": script.limits.cpus,
                "pids": script.limits.pids,
            },
            "timeout_seconds": script.timeout_seconds,
            "network_mode": script.network_mode.value,
            "log_limit_bytes": script.log_limit_bytes,
        },
        created_at=now,
    )


async def run(app: App, script_id: int, **body: Any) -> dict[str, Any]:
    response = await app.client.post(f"/api/scripts/{script_id}/runs", json=body or None)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    assert job["status"] == "queued"
    return job


async def finished(app: App, job_id: int, timeout: float = JOB_TIMEOUT) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            job: dict[str, Any] = (await app.client.get(f"/api/jobs/{job_id}")).json()
            if job["status"] not in ("queued", "running"):
                return job
            await asyncio.sleep(0.1)


async def until_running(app: App, job_id: int) -> dict[str, Any]:
    async with asyncio.timeout(JOB_TIMEOUT):
        while True:
            job: dict[str, Any] = (await app.client.get(f"/api/jobs/{job_id}")).json()
            if job["status"] != "queued":
                return job
            await asyncio.sleep(0.05)


async def log_of(app: App, job_id: int) -> bytes:
    return (await app.client.get(f"/api/jobs/{job_id}/log")).content


async def test_a_script_that_succeeds(jobs_app: App):
    app = jobs_app
    script_id = await add_script(
        app, "import sys\nprint('hello from a job')\nprint('err', file=sys.stderr)\n"
    )
    job = await finished(app, (await run(app, script_id))["id"])
    assert job["status"] == "succeeded", job
    assert (job["exit_code"], job["revision"], job["trigger"]) == (0, 1, "api")
    assert job["duration_seconds"] > 0 and job["started_at"] and job["finished_at"]
    assert await log_of(app, job["id"]) == b"hello from a job\nerr\n"
    log_file = app.data / job["log_path"]
    assert log_file.parent == app.data / "scripts" / str(script_id) / "logs"
    assert log_file.name.endswith(f"__{job['id']}.log")
    assert await leftover_containers(app) == []


async def test_a_script_that_exits_3(jobs_app: App):
    app = jobs_app
    script_id = await add_script(app, "print('bye')\nraise SystemExit(3)\n")
    job = await finished(app, (await run(app, script_id))["id"])
    assert (job["status"], job["exit_code"], job["error"]) == ("failed", 3, "exit code 3")
    assert await leftover_containers(app) == []


async def test_unicode_and_a_long_line_without_newline_arrive_intact(jobs_app: App):
    app = jobs_app
    code = "import sys\nprint('héllo ✓ 日本')\nsys.stdout.write('x' * 100000)\n"
    script_id = await add_script(app, code)
    job = await finished(app, (await run(app, script_id))["id"])
    assert job["status"] == "succeeded"
    assert await log_of(app, job["id"]) == "héllo ✓ 日本\n".encode() + b"x" * 100000
    tail = await app.client.get(f"/api/jobs/{job['id']}/log", params={"offset": 100})
    assert tail.content == (await log_of(app, job["id"]))[100:]
    window = await app.client.get(f"/api/jobs/{job['id']}/log", params={"offset": 100, "limit": 10})
    assert window.content == b"x" * 10
    assert window.headers["x-log-size"] == str(len("héllo ✓ 日本\n".encode()) + 100000)
    assert window.headers["x-next-offset"] == "110"
    download = await app.client.get(f"/api/jobs/{job['id']}/log", params={"download": "true"})
    assert "attachment" in download.headers["content-disposition"]


async def test_args_and_env_reach_the_script_and_secrets_never_leave(jobs_app: App):
    app = jobs_app
    code = (
        "import os, sys\n"
        "print(sys.argv[1:])\n"
        "print(os.environ['GREETING'], os.environ['TOKEN'], os.environ['PYTHONUNBUFFERED'])\n"
    )
    script_id = await add_script(
        app,
        code,
        env=[
            EnvVar(name="GREETING", value="hi"),
            EnvVar(name="TOKEN", value="s3cr3t-value", secret=True),
        ],
        args=["default"],
    )
    job = await finished(
        app, (await run(app, script_id, args=["a", "b c"], env={"GREETING": "hey"}))["id"]
    )
    assert job["status"] == "succeeded", await log_of(app, job["id"])
    # Served masked; the file keeps what the job printed (tests/integration/test_job_security.py).
    assert await log_of(app, job["id"]) == b"['a', 'b c']\nhey **** 1\n"
    assert b"hey s3cr3t-value 1\n" in (app.data / job["log_path"]).read_bytes()
    default = await finished(app, (await run(app, script_id))["id"])
    assert (await log_of(app, default["id"])).startswith(b"['default']\n")
    for url in (f"/api/jobs/{job['id']}", "/api/jobs", f"/api/jobs?script_id={script_id}"):
        assert "s3cr3t-value" not in (await app.client.get(url)).text


async def test_timeout_stops_the_job(jobs_app: App):
    app = jobs_app
    code = "import time\nprint('start', flush=True)\ntime.sleep(60)\n"
    script_id = await add_script(app, code, timeout=2)
    job = await finished(app, (await run(app, script_id))["id"])
    assert job["status"] == "timed_out", job
    assert "timeout of 2 s" in job["error"]
    assert await log_of(app, job["id"]) == b"start\n"
    assert await leftover_containers(app) == []


async def test_cancel_while_running(jobs_app: App):
    app = jobs_app
    code = "import time\nprint('start', flush=True)\ntime.sleep(60)\n"
    script_id = await add_script(app, code)
    job = await run(app, script_id)
    assert (await until_running(app, job["id"]))["status"] == "running"
    cancel = await app.client.post(f"/api/jobs/{job['id']}/cancel")
    assert cancel.status_code == 202 and cancel.json()["cancel_requested"] is True
    done = await finished(app, job["id"], timeout=30)
    assert done["status"] == "cancelled" and done["error"] == "cancelled on request"
    assert await leftover_containers(app) == []
    again = await app.client.post(f"/api/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]


async def test_cancel_while_queued_never_starts(tmp_path: Path):
    require_docker()
    app, client = await start_app(tmp_path / "data", {Role.API})  # no worker
    try:
        script_id = await add_script(app, "print('never')\n")
        job = await run(app, script_id)
        cancelled = await app.client.post(f"/api/jobs/{job['id']}/cancel")
        assert cancelled.status_code == 202
        assert cancelled.json()["status"] == "cancelled"
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
    # A worker that starts later does not run it.
    app, client = await start_app(tmp_path / "data", {Role.API, Role.WORKER})
    try:
        await asyncio.sleep(1)
        after = (await app.client.get(f"/api/jobs/{job['id']}")).json()
        assert after["status"] == "cancelled" and after["started_at"] is None
        assert await leftover_containers(app) == []
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
        remove_containers(app)


async def test_an_oom_kill_is_recorded(jobs_app: App):
    app = jobs_app
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(8 * 1024 * 1024))\n"
    script_id = await add_script(app, code, limits=ResourceLimits(memory_mb=32, cpus=1.0, pids=64))
    job = await finished(app, (await run(app, script_id))["id"])
    assert job["status"] == "failed" and job["oom_killed"] is True, job
    assert "out of memory" in job["error"]
    assert await leftover_containers(app) == []


async def test_output_past_the_log_limit_is_cut_and_the_job_stopped(jobs_app: App):
    app = jobs_app
    code = (
        "import sys, time\n"
        "while True:\n"
        "    sys.stdout.write('y' * 1000 + '\\n')\n"
        "    time.sleep(0.001)\n"
    )
    script_id = await add_script(app, code, log_limit=20_000)
    job = await finished(app, (await run(app, script_id))["id"])
    assert job["status"] == "failed" and job["log_truncated"] is True, job
    log = await log_of(app, job["id"])
    body, _, notice = log.partition(b"\n[scripter] output cut")
    assert len(body) == 20_000 and b"limit of 20000 bytes" in notice
    assert await leftover_containers(app) == []


def cut_notice(limit: int) -> bytes:
    return f"\n[scripter] output cut: the log reached its limit of {limit} bytes.\n".encode()


async def test_output_far_past_the_limit_from_a_job_that_exits_at_once_is_cut(jobs_app: App):
    """All of it written, and the job gone, before the worker looks at the log size."""
    app = jobs_app
    code = "import sys\nsys.stdout.write('x' * 10 * 20_000)\n"
    script_id = await add_script(app, code, log_limit=20_000)
    job = await finished(app, (await run(app, script_id))["id"])
    assert (job["status"], job["exit_code"], job["log_truncated"]) == ("failed", 0, True), job
    assert job["error"] == "output passed the log limit of 20000 bytes"
    assert await log_of(app, job["id"]) == b"x" * 20_000 + cut_notice(20_000)
    assert await leftover_containers(app) == []


@asynccontextmanager
async def app_with(data: Path, **env: str) -> AsyncIterator[App]:
    """An api and worker with configuration ``env``; no container left afterwards."""
    require_docker()
    app, client = await start_app(data, {Role.API, Role.WORKER}, **env)
    try:
        yield app
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
        remove_containers(app)


# Ignores SIGTERM and floods its log (slowly enough not to fill the test's disk).
FLOOD_IGNORING_SIGTERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "while True:\n"
    "    sys.stdout.write('f' * 999 + '\\n')\n"
    "    time.sleep(0.001)\n"
)


async def test_the_log_limit_kills_a_job_that_ignores_sigterm_at_once(tmp_path: Path):
    """With a stop grace of an hour, only a kill without grace ends the job within the
    test (the grace is no wait in the test: a failure shows as the job never ending)."""
    async with app_with(tmp_path / "data", SCRIPTER_JOBS_STOP_GRACE_SECONDS="3600") as app:
        script_id = await add_script(app, FLOOD_IGNORING_SIGTERM, log_limit=20_000)
        job = await finished(app, (await run(app, script_id))["id"])
        assert (job["status"], job["exit_code"], job["log_truncated"]) == ("failed", 137, True)
        assert job["error"] == (
            "output passed the log limit of 20000 bytes; exit code 137: killed by SIGKILL"
        )
        log = await log_of(app, job["id"])
        assert log == (b"f" * 999 + b"\n") * 20 + cut_notice(20_000)
        assert await leftover_containers(app) == []


# On SIGTERM, says so and floods its log; until then it sleeps.
FLOOD_ON_SIGTERM = (
    "import signal, sys, time\n"
    "def flood(*_):\n"
    "    print('trapped SIGTERM', flush=True)\n"
    "    while True:\n"
    "        sys.stdout.write('f' * 999 + '\\n')\n"
    "        time.sleep(0.001)\n"
    "signal.signal(signal.SIGTERM, flood)\n"
    "print('start', flush=True)\n"
    "while True:\n"
    "    time.sleep(1)\n"
)


@pytest.mark.parametrize("ending", ["cancelled", "timed_out"])
async def test_a_job_flooding_its_log_in_the_stop_grace_is_killed_at_the_limit(
    tmp_path: Path, ending: str
):
    async with app_with(tmp_path / "data", SCRIPTER_JOBS_STOP_GRACE_SECONDS="3600") as app:
        timeout = 2 if ending == "timed_out" else 600
        script_id = await add_script(app, FLOOD_ON_SIGTERM, log_limit=20_000, timeout=timeout)
        job = await run(app, script_id)
        if ending == "cancelled":
            await until_log(app, job["id"], b"start\n")
            assert (await app.client.post(f"/api/jobs/{job['id']}/cancel")).status_code == 202
        done = await finished(app, job["id"])
        assert (done["status"], done["exit_code"], done["log_truncated"]) == (ending, 137, True)
        log = await log_of(app, job["id"])
        body, notice = log[:20_000], log[20_000:]
        assert body.startswith(b"start\ntrapped SIGTERM\nfff") and notice == cut_notice(20_000)
        assert await leftover_containers(app) == []


async def until_log(app: App, job_id: int, expected: bytes) -> None:
    async with asyncio.timeout(JOB_TIMEOUT):
        while not (await log_of(app, job_id)).startswith(expected):
            await asyncio.sleep(0.05)


# On SIGTERM, says so and sleeps on: only the SIGKILL after the grace ends it.
TRAPS_SIGTERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: print('trapped SIGTERM', flush=True))\n"
    "print('start', flush=True)\n"
    "while True:\n"
    "    time.sleep(1)\n"
)


@pytest.mark.parametrize("ending", ["cancelled", "timed_out"])
async def test_a_job_that_traps_sigterm_is_killed_after_the_grace(tmp_path: Path, ending: str):
    async with app_with(tmp_path / "data", SCRIPTER_JOBS_STOP_GRACE_SECONDS="1") as app:
        timeout = 2 if ending == "timed_out" else 600
        script_id = await add_script(app, TRAPS_SIGTERM, timeout=timeout)
        job = await run(app, script_id)
        await until_log(app, job["id"], b"start\n")
        if ending == "cancelled":
            assert (await app.client.post(f"/api/jobs/{job['id']}/cancel")).status_code == 202
        done = await finished(app, job["id"])
        assert (done["status"], done["exit_code"]) == (ending, 137), done
        assert await log_of(app, job["id"]) == b"start\ntrapped SIGTERM\n"
        assert await leftover_containers(app) == []


@pytest.mark.parametrize("ending", ["cancelled", "timed_out"])
async def test_a_stop_the_worker_did_not_live_to_record_keeps_its_reason(
    tmp_path: Path, ending: str
):
    """The worker dies, and the container is stopped as it would have stopped it (a
    cancel, or past the timeout) with nobody to record why: the next worker records
    that reason, not a plain failure with exit code 143."""
    require_docker()
    data = tmp_path / "data"
    app, client = await start_app(data, {Role.API, Role.WORKER})
    try:
        timeout = 2 if ending == "timed_out" else 600
        script_id = await add_script(app, "import time\ntime.sleep(600)\n", timeout=timeout)
        job = await until_running(app, (await run(app, script_id))["id"])
    finally:
        await app.close()
        await client.__aexit__(None, None, None)  # the worker goes; the job runs on
    app, client = await start_app(data, {Role.API})  # no worker
    try:
        if ending == "cancelled":
            cancel = await app.client.post(f"/api/jobs/{job['id']}/cancel")
            assert cancel.status_code == 202 and cancel.json()["status"] == "running"
        else:
            await asyncio.sleep(timeout + 1)  # past its deadline
        name = f"{app.scripter.config.docker.image_prefix}-job-{job['id']}"
        await asyncio.to_thread(docker.from_env().containers.get(name).stop, timeout=10)
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
    app, client = await start_app(data, {Role.API, Role.WORKER})
    try:
        done = await finished(app, job["id"])
        assert (done["status"], done["exit_code"]) == (ending, 143), done
        assert await leftover_containers(app) == []
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
        remove_containers(app)


async def test_editing_the_script_does_not_change_a_running_job(jobs_app: App):
    app = jobs_app
    code = "import time\ntime.sleep(2)\nprint(open('data.txt').read())\n"
    script_id = await add_script(app, code, extra_files={"data.txt": b"old"})
    job = await run(app, script_id)
    await until_running(app, job["id"])
    now = app.scripter.clock.now()
    async with app.uow() as uow:
        script = await uow.scripts.get(script_id)
        await uow.scripts.add_revision(
            revision(script, 2, {"main.py": code.encode(), "data.txt": b"new"}, now)
        )
        script.current_revision = 2
        await uow.scripts.update(script)
        await uow.commit()
    done = await finished(app, job["id"])
    assert done["revision"] == 1 and done["status"] == "succeeded", done
    assert await log_of(app, job["id"]) == b"old\n"
    second = await finished(app, (await run(app, script_id))["id"])
    assert (second["revision"], await log_of(app, second["id"])) == (2, b"new\n")


async def test_a_restarted_worker_finds_its_jobs(tmp_path: Path):
    """The worker goes away mid-job (its supervisors die, the containers run on); the
    next one re-attaches to the running job and records the one that ended meanwhile
    with its real exit code; their logs are whole."""
    require_docker()
    data = tmp_path / "data"
    app, client = await start_app(data, {Role.API, Role.WORKER})
    try:
        slow = await add_script(
            app, "import time\nprint('a', flush=True)\ntime.sleep(4)\nprint('b')\n", name="slow"
        )
        quick = await add_script(
            app,
            "import time\nprint('c', flush=True)\ntime.sleep(1)\nraise SystemExit(5)\n",
            name="quick",
        )
        slow_job = await run(app, slow)
        quick_job = await run(app, quick)
        await until_running(app, slow_job["id"])
        await until_running(app, quick_job["id"])
    finally:
        await app.close()
        await client.__aexit__(None, None, None)  # no graceful end for the jobs
    await asyncio.sleep(2)  # quick ends while no worker watches
    app, client = await start_app(data, {Role.API, Role.WORKER})
    try:
        quick_done = await finished(app, quick_job["id"])
        slow_done = await finished(app, slow_job["id"])
        assert (quick_done["status"], quick_done["exit_code"]) == ("failed", 5)
        assert (slow_done["status"], slow_done["exit_code"]) == ("succeeded", 0)
        assert await log_of(app, slow_job["id"]) == b"a\nb\n"
        assert await log_of(app, quick_job["id"]) == b"c\n"
        assert await leftover_containers(app) == []
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
        remove_containers(app)


async def test_a_job_whose_container_vanished_is_lost(tmp_path: Path):
    require_docker()
    data = tmp_path / "data"
    app, client = await start_app(data, {Role.API, Role.WORKER})
    try:
        script_id = await add_script(app, "import time\ntime.sleep(60)\n")
        job = await until_running(app, (await run(app, script_id))["id"])
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
    docker.from_env().containers.get(
        job["id"] and f"{app.scripter.config.docker.image_prefix}-job-{job['id']}"
    ).remove(force=True)
    app, client = await start_app(data, {Role.API, Role.WORKER})
    try:
        lost = await finished(app, job["id"])
        assert lost["status"] == "lost" and "vanished" in lost["error"]
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
        remove_containers(app)


async def test_concurrency_limit_queues_the_rest_in_order(tmp_path: Path):
    require_docker()
    app, client = await start_app(
        tmp_path / "data", {Role.API, Role.WORKER}, SCRIPTER_WORKER_CONCURRENCY="1"
    )
    try:
        script_id = await add_script(app, "import time\ntime.sleep(1)\n")
        ids = [(await run(app, script_id))["id"] for _ in range(3)]
        jobs = [await finished(app, i) for i in ids]
        assert all(j["status"] == "succeeded" for j in jobs)
        for earlier, later in itertools.pairwise(jobs):
            assert later["started_at"] >= earlier["finished_at"]
    finally:
        await app.close()
        await client.__aexit__(None, None, None)
        remove_containers(app)


async def job_ids(app: App, script_id: int, expected: list[int]) -> list[int]:
    """The script's job ids, newest first, once they equal ``expected`` (retention runs
    right after a job is recorded finished), or as they are after 10 s."""
    ids: list[int] = []
    for _ in range(100):
        listed = (await app.client.get("/api/jobs", params={"script_id": script_id})).json()
        ids = [j["id"] for j in listed["items"]]
        if ids == expected:
            break
        await asyncio.sleep(0.1)
    return ids


async def test_retention_keeps_the_newest_and_never_touches_running_jobs(jobs_app: App):
    app = jobs_app
    code = "import sys, time\nif sys.argv[1:] == ['slow']:\n    time.sleep(4)\nprint('x')\n"
    script_id = await add_script(app, code, keep_last=1)
    slow = await until_running(app, (await run(app, script_id, args=["slow"]))["id"])
    first = await finished(app, (await run(app, script_id, args=[]))["id"])
    second = await finished(app, (await run(app, script_id, args=[]))["id"])
    # The running one is older than both, and still there; the first is gone.
    assert await job_ids(app, script_id, [second["id"], slow["id"]]) == [second["id"], slow["id"]]
    assert (await app.client.get(f"/api/jobs/{first['id']}")).status_code == 404
    assert not (app.data / first["log_path"]).exists()
    assert (app.data / second["log_path"]).exists()
    await finished(app, slow["id"])
    # Now finished, the slow one is beyond the newest one: it goes too.
    assert await job_ids(app, script_id, [second["id"]]) == [second["id"]]


async def test_run_is_refused_while_the_image_is_not_built(jobs_app: App):
    app = jobs_app
    script_id = await add_script(app, "print(1)\n", image_status=ImageStatus.DORMANT)
    response = await app.client.post(f"/api/scripts/{script_id}/runs")
    assert response.status_code == 409 and "build it before running" in response.json()["detail"]
    bad = await app.client.post(f"/api/scripts/{script_id}/runs", json={"env": {"1BAD": "x"}})
    assert bad.status_code == 422 and bad.json()["field"] == "env.1BAD"
    assert (await app.client.get("/api/jobs")).json()["items"] == []


async def test_the_root_is_read_only_and_tmp_is_writable(jobs_app: App):
    app = jobs_app
    code = (
        "import os\n"
        "open('/tmp/scratch', 'w').write('ok')\n"
        "print(open('/tmp/scratch').read())\n"
        "for target in ('/etc/x', '/scripter/src/x'):\n"
        "    try:\n"
        "        open(target, 'w')\n"
        "    except OSError as e:\n"
        "        print(target, e.errno == 30 or e.errno == 13)\n"
    )
    script_id = await add_script(app, code)
    job = await finished(app, (await run(app, script_id))["id"])
    assert job["status"] == "succeeded", await log_of(app, job["id"])
    assert await log_of(app, job["id"]) == b"ok\n/etc/x True\n/scripter/src/x True\n"
