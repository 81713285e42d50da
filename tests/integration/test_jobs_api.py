"""Jobs as an API client sees them: the Docker image a job ran, edits through the API
that a running job does not see, and the job list's status filter and cursor."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest

from scripter.domain.images import Image, ImageStatus
from scripter.domain.jobs import Job, JobStatus
from scripter.domain.scripts import Script
from tests.conftest import TEST_BASE_IMAGE
from tests.integration.app_fixtures import App
from tests.integration.test_jobs import (
    add_script,
    app_with,
    finished,
    log_of,
    run,
    until_running,
)

pytestmark = pytest.mark.docker


@pytest.fixture
async def worker_app(tmp_path: Path) -> AsyncIterator[App]:
    """API and worker on the real Docker engine, in a namespace of their own."""
    async with app_with(tmp_path / "data") as app:
        yield app


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_a_job_records_the_docker_image_id_it_ran(worker_app: App):
    app = worker_app
    script_id = await add_script(app, "print('ran')\n")
    queued = await run(app, script_id)
    assert queued["docker_image_id"] is None  # not known before its container starts
    job = await finished(app, queued["id"])
    assert job["status"] == "succeeded", job
    # The base image's own id, though the job named it by tag.
    assert job["image_tag"] == TEST_BASE_IMAGE
    assert job["docker_image_id"] == docker.from_env().images.get(TEST_BASE_IMAGE).id
    listed = ok(await app.client.get("/api/jobs", params={"script_id": script_id}))
    assert [j["docker_image_id"] for j in listed["items"]] == [job["docker_image_id"]]


async def test_editing_a_script_through_the_api_does_not_change_a_running_job(worker_app: App):
    app = worker_app
    now = app.scripter.clock.now()
    async with app.uow() as uow:
        base = Image(
            name="base",
            status=ImageStatus.BUILT,
            tag=TEST_BASE_IMAGE,
            docker_image_id="x",
            created_at=now,
            updated_at=now,
        )
        image_id = (await uow.images.add(base)).require_id
        await uow.commit()
    # It waits for the test's go (a file in its /tmp) before it reads its data file,
    # so the edit below surely lands while it runs.
    code = (
        "import os, time\n"
        "while not os.path.exists('/tmp/go'):\n"
        "    time.sleep(0.05)\n"
        "print(open('data.txt').read())\n"
    )
    script = ok(
        await app.client.post(
            "/api/scripts",
            json={
                "name": "reader",
                "image_id": image_id,
                "files": [
                    {"path": "main.py", "content": code},
                    {"path": "data.txt", "content": "old"},
                ],
                "timeout_seconds": 120,
            },
        ),
        201,
    )
    script_id = script["id"]
    job = await until_running(app, (await run(app, script_id))["id"])
    assert job["status"] == "running", job

    edited = ok(await app.client.put(f"/api/scripts/{script_id}/files/data.txt", content=b"new"))
    assert edited["path"] == "data.txt"
    assert ok(await app.client.get(f"/api/scripts/{script_id}"))["current_revision"] == 2
    assert ok(await app.client.get(f"/api/jobs/{job['id']}"))["status"] == "running"

    await go(app, job["id"])
    done = await finished(app, job["id"])
    assert (done["status"], done["revision"]) == ("succeeded", 1), done
    assert await log_of(app, job["id"]) == b"old\n"

    # The next job runs the edited revision.
    second = await until_running(app, (await run(app, script_id))["id"])
    await go(app, second["id"])
    second = await finished(app, second["id"])
    assert (second["status"], second["revision"]) == ("succeeded", 2), second
    assert await log_of(app, second["id"]) == b"new\n"


async def go(app: App, job_id: int) -> None:
    """Let the job's script go on: create its /tmp/go (inside its running container)."""
    name = f"{app.scripter.config.docker.image_prefix}-job-{job_id}"

    def touch() -> Any:
        return docker.from_env().containers.get(name).exec_run(["touch", "/tmp/go"])

    result = await asyncio.to_thread(touch)
    assert result.exit_code == 0, result.output


async def add_jobs(app: App, plan: list[tuple[int, JobStatus]]) -> list[int]:
    """Rows only (no worker runs in these tests): ids in creation order."""
    now = app.scripter.clock.now()
    ids = []
    async with app.uow() as uow:
        for script_id, status in plan:
            job = Job(script_id=script_id, revision=1, image_id=1, status=status, created_at=now)
            ids.append((await uow.jobs.add(job)).require_id)
        await uow.commit()
    return ids


async def add_bare_script(app: App, name: str) -> int:
    now = app.scripter.clock.now()
    async with app.uow() as uow:
        image = await uow.images.get_by_name("base") or await uow.images.add(
            Image(name="base", created_at=now, updated_at=now)
        )
        script = await uow.scripts.add(
            Script(name=name, image_id=image.require_id, created_at=now, updated_at=now)
        )
        await uow.commit()
    return script.require_id


async def pages(app: App, limit: int, **query: Any) -> list[list[int]]:
    """Every page of ``GET /api/jobs`` with ``query``, following ``next_cursor``."""
    found: list[list[int]] = []
    cursor = None
    async with asyncio.timeout(30):
        while True:
            params = {**query, "limit": limit, **({"cursor": cursor} if cursor else {})}
            page = ok(await app.client.get("/api/jobs", params=params))
            found.append([j["id"] for j in page["items"]])
            for item in page["items"]:
                if "status" in query:
                    assert item["status"] == query["status"]
                if "script_id" in query:
                    assert item["script_id"] == query["script_id"]
            cursor = page["next_cursor"]
            if cursor is None:
                return found
            assert cursor == found[-1][-1]  # the last id of the page


async def test_job_list_filters_by_status_and_pages_newest_first(api_only_app: App):
    app = api_only_app
    a = await add_bare_script(app, "a")
    b = await add_bare_script(app, "b")
    s, f, c = JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED
    plan = [(a, f), (a, s), (b, f), (a, f), (b, c), (a, f), (b, f), (a, s)]
    ids = await add_jobs(app, plan)
    failed = [i for i, (_, st) in zip(ids, plan, strict=True) if st == f][::-1]
    failed_of_a = [i for i, (sc, st) in zip(ids, plan, strict=True) if (sc, st) == (a, f)][::-1]

    assert await pages(app, 2, status="failed") == [failed[:2], failed[2:4], failed[4:]]
    assert await pages(app, 3, status="failed") == [failed[:3], failed[3:]]
    # Exactly one full page: the service looks one past the limit, so no cursor.
    assert await pages(app, 5, status="failed") == [failed]
    assert await pages(app, 2, status="failed", script_id=a) == [failed_of_a[:2], failed_of_a[2:]]
    assert await pages(app, 50, status="cancelled") == [[ids[4]]]
    assert await pages(app, 50, status="timed_out") == [[]]
    everything = await pages(app, 3)
    assert [i for page in everything for i in page] == ids[::-1]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"cursor": 0}, "cursor"),
        ({"cursor": "x"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"script_id": -1}, "script_id"),
    ],
)
async def test_bad_job_list_queries_are_refused_naming_the_parameter(
    api_only_app: App, query: dict[str, Any], field: str
):
    response = await api_only_app.client.get("/api/jobs", params=query)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field


async def test_a_worker_whose_engine_lacks_the_image_builds_it_then_runs_the_job(
    worker_app: App,
):
    """As on a worker on another host: the image was built (elsewhere), the record says
    so, and this engine has no such image."""
    app = worker_app
    client = docker.from_env()
    created = ok(
        await app.client.post(
            "/api/images",
            json={"name": "elsewhere", "dockerfile": f"FROM {TEST_BASE_IMAGE}\n"},
        ),
        201,
    )
    image_url = f"/api/images/{created['id']}"
    ok(await app.client.post(f"{image_url}/build"), 202)
    async with asyncio.timeout(120):
        while (image := ok(await app.client.get(image_url)))["status"] == "building":
            await asyncio.sleep(0.1)
    assert image["status"] == "built", image
    tag = image["tag"]
    try:
        client.images.remove(tag)  # what the other host's engine never had
        script = ok(
            await app.client.post(
                "/api/scripts",
                json={
                    "name": "needs-elsewhere",
                    "image_id": created["id"],
                    "files": [{"path": "main.py", "content": "print('ran here')\n"}],
                },
            ),
            201,
        )
        job = await finished(app, (await run(app, script["id"]))["id"])
        assert job["status"] == "succeeded", job
        log = (await log_of(app, job["id"])).decode()
        assert log.startswith(
            f"[scripter] image {tag} is not on this worker's Docker engine: building it here\n"
            f"[scripter] built {tag} (sha256:"
        ), log
        assert log.endswith("ran here\n"), log
        assert job["docker_image_id"] == client.images.get(tag).id
        assert ok(await app.client.get(image_url))["docker_image_id"] == image["docker_image_id"]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.images.remove(tag, force=True)
