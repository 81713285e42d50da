"""Images through the REST API, with real builds on the Docker engine."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest

from scripter.config import ImagesConfig
from scripter.domain.scripts import Script
from tests.conftest import TEST_BASE_IMAGE
from tests.integration.app_fixtures import App
from tests.integration.refusals import refused

pytestmark = pytest.mark.docker

TRIVIAL = "FROM {base}\nRUN echo built-ok\n"


def snapshot(data: Path) -> dict[str, str]:
    """Every file under the data directory (but the database) with a hash of its content."""
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if p.is_file() and not p.name.startswith("scripter.db")
    }


async def create(app: App, name: str = "etl", **body: Any) -> dict[str, Any]:
    response = await app.client.post("/api/images", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def build(app: App, image_id: int) -> dict[str, Any]:
    response = await app.client.post(f"/api/images/{image_id}/build")
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "building"
    done = await app.wait_while(f"/api/images/{image_id}", "building")
    await settled(app)
    return done


async def settled(app: App) -> None:
    """Wait (bounded) until the worker has discarded the build's staged context: it
    does so after recording the result, and a test that compares the data directory
    before and after a request must not see it go in between."""
    staging = app.data / ".staging"
    async with asyncio.timeout(30):
        while staging.is_dir() and any(staging.iterdir()):
            await asyncio.sleep(0.05)


async def test_create_offers_the_default_dockerfile_and_stores_files(app: App):
    image = await create(
        app,
        description="nightly",
        requirements="six==1.16.0\n",
        files=[
            {"path": "conf/settings.ini", "content": "[a]\nb = 1\n"},
            {
                "path": "blob.bin",
                "content": base64.b64encode(b"\x00\xff").decode(),
                "encoding": "base64",
            },
        ],
    )
    assert image["status"] == "dormant"
    assert [f["path"] for f in image["files"]] == [
        "Dockerfile",
        "blob.bin",
        "conf/settings.ini",
        "requirements.txt",
    ]
    src = app.data / "images" / str(image["id"]) / "src"
    dockerfile = (src / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM scripter-test-base:bookworm\n")
    assert "python3 -m venv" in dockerfile and "pip install" in dockerfile
    assert (src / "blob.bin").read_bytes() == b"\x00\xff"
    read = await app.client.get(f"/api/images/{image['id']}/files/conf/settings.ini")
    assert read.status_code == 200 and read.content == b"[a]\nb = 1\n"


async def test_defaults_are_what_a_new_image_gets_with_the_configured_base(app: App):
    response = await app.client.get("/api/images/defaults")
    assert response.status_code == 200, response.text
    defaults = response.json()
    base = app.scripter.config.images.default_base_image
    assert base == TEST_BASE_IMAGE != ImagesConfig().default_base_image  # the configured one
    assert defaults["base_image"] == base
    assert defaults["dockerfile"].startswith(f"FROM {base}\n")
    image = await create(app)
    files = f"/api/images/{image['id']}/files"
    assert (await app.client.get(f"{files}/Dockerfile")).text == defaults["dockerfile"]
    assert (await app.client.get(f"{files}/requirements.txt")).text == defaults["requirements"]


async def test_build_installs_a_real_package_and_logs_every_line(app: App):
    dockerfile_suffix = "RUN python -c \"import six; print('six', six.__version__)\"\n"
    # A fresh comment defeats Docker's layer cache: pip must really run each time.
    image = await create(app, requirements=f"# run {uuid.uuid4().hex}\nsix==1.16.0\n")
    default = (await app.client.get(f"/api/images/{image['id']}/files/Dockerfile")).text
    put = await app.client.put(
        f"/api/images/{image['id']}/files/Dockerfile", content=default + dockerfile_suffix
    )
    assert put.status_code == 200, put.text
    done = await build(app, image["id"])
    log = (await app.client.get(f"/api/images/{image['id']}/build-log")).text
    assert done["status"] == "built", log
    assert done["tag"].endswith(f"/etl:{image['id']}")
    assert "Successfully installed six-1.16.0" in log
    assert "six 1.16.0" in log
    # The user's Dockerfile was not changed by the CA injection (it is staged).
    assert (await app.client.get(f"/api/images/{image['id']}/files/Dockerfile")).text.endswith(
        dockerfile_suffix
    )
    assert docker.from_env().images.get(done["tag"]).id == done["docker_image_id"]
    tail = await app.client.get(f"/api/images/{image['id']}/build-log", params={"offset": 10})
    assert tail.text == log[10:]
    assert tail.headers["x-next-offset"] == str(len(log.encode()))


async def test_a_dockerfile_syntax_error_fails_with_the_error(app: App):
    image = await create(app, dockerfile="FROMM nothing\n")
    done = await build(app, image["id"])
    assert done["status"] == "failed"
    assert "unknown instruction" in done["error"].lower()
    log = (await app.client.get(f"/api/images/{image['id']}/build-log")).text
    assert "unknown instruction" in log.lower()


async def test_a_failing_run_fails_and_files_become_editable_again(app: App):
    base = "scripter-test-base:bookworm"
    image = await create(app, dockerfile=f"FROM {base}\nRUN echo about-to-fail && exit 3\n")
    done = await build(app, image["id"])
    assert done["status"] == "failed"
    assert "returned a non-zero code: 3" in done["error"]
    assert done["files_editable"] is True
    log = (await app.client.get(f"/api/images/{image['id']}/build-log")).text
    assert "about-to-fail" in log
    fixed = await app.client.put(
        f"/api/images/{image['id']}/files/Dockerfile", content=TRIVIAL.format(base=base)
    )
    assert fixed.status_code == 200
    rebuilt = await build(app, image["id"])
    assert rebuilt["status"] == "built"
    new_log = (await app.client.get(f"/api/images/{image['id']}/build-log")).text
    assert "about-to-fail" not in new_log  # a rebuild starts a fresh log


async def test_destroy_then_rebuild(app: App):
    base = "scripter-test-base:bookworm"
    image = await create(app, dockerfile=TRIVIAL.format(base=base))
    built = await build(app, image["id"])
    assert built["status"] == "built"
    destroyed = await app.client.post(f"/api/images/{image['id']}/destroy")
    assert destroyed.status_code == 201, destroyed.text
    assert destroyed.json()["status"] == "dormant"
    # Neither names a Docker image any more.
    assert (destroyed.json()["tag"], destroyed.json()["docker_image_id"]) == (None, None)
    with pytest.raises(docker.errors.ImageNotFound):
        docker.from_env().images.get(built["docker_image_id"])
    with pytest.raises(docker.errors.ImageNotFound):
        docker.from_env().images.get(built["tag"])
    src = app.data / "images" / str(image["id"]) / "src" / "Dockerfile"
    assert src.is_file()  # the definition stays
    rebuilt = await build(app, image["id"])
    assert (rebuilt["status"], rebuilt["tag"]) == ("built", built["tag"])


async def test_a_name_docker_would_refuse_builds_under_a_derived_tag(app: App):
    # "etl-" is a valid name, but "<prefix>/etl-:<id>" is not a Docker reference.
    image = await create(app, name="etl-", dockerfile=TRIVIAL.format(base=TEST_BASE_IMAGE))
    done = await build(app, image["id"])
    log = (await app.client.get(f"/api/images/{image['id']}/build-log")).text
    assert done["status"] == "built", log
    assert done["name"] == "etl-"
    assert done["tag"] == f"{app.scripter.config.docker.image_prefix}/etl:{image['id']}"
    assert docker.from_env().images.get(done["tag"]).id == done["docker_image_id"]


async def test_delete_is_refused_while_a_script_uses_the_image(app: App):
    base = "scripter-test-base:bookworm"
    image = await create(app, dockerfile=TRIVIAL.format(base=base))
    built = await build(app, image["id"])
    now = app.scripter.clock.now()
    async with app.uow() as uow:
        for name in ("report", "cleanup"):
            await uow.scripts.add(
                Script(name=name, image_id=image["id"], created_at=now, updated_at=now)
            )
        await uow.commit()
    # refused() also proves that no row and no byte on disk changed.
    await refused(
        app,
        lambda: app.client.delete(f"/api/images/{image['id']}"),
        409,
        None,
        "used by scripts: cleanup, report",
    )
    assert docker.from_env().images.get(built["docker_image_id"])  # nothing removed
    assert (await app.client.get(f"/api/images/{image['id']}")).status_code == 200


async def test_delete_removes_record_folder_and_docker_image(app: App):
    base = "scripter-test-base:bookworm"
    image = await create(app, dockerfile=TRIVIAL.format(base=base))
    built = await build(app, image["id"])
    deleted = await app.client.delete(f"/api/images/{image['id']}")
    assert deleted.status_code == 204
    assert (await app.client.get(f"/api/images/{image['id']}")).status_code == 404
    assert not (app.data / "images" / str(image["id"])).exists()
    with pytest.raises(docker.errors.ImageNotFound):
        docker.from_env().images.get(built["docker_image_id"])


async def test_list_filters_by_status_newest_first_with_a_cursor(app: App):
    ids = [(await create(app, name=f"img{i}"))["id"] for i in range(5)]
    first = (await app.client.get("/api/images", params={"limit": 2})).json()
    assert [i["id"] for i in first["items"]] == [ids[4], ids[3]]
    second = (
        await app.client.get("/api/images", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [i["id"] for i in second["items"]] == [ids[2], ids[1]]
    last = (
        await app.client.get("/api/images", params={"limit": 2, "cursor": second["next_cursor"]})
    ).json()
    assert [i["id"] for i in last["items"]] == [ids[0]] and last["next_cursor"] is None
    built = (await app.client.get("/api/images", params={"status": "built"})).json()
    assert built["items"] == []
    bad = await app.client.get("/api/images", params={"status": "shiny"})
    assert bad.status_code == 400 and bad.json()["field"] == "status"


async def test_name_and_description_are_editable_in_any_status(app: App):
    image = await create(app)
    await create(app, name="taken")
    renamed = await app.client.patch(
        f"/api/images/{image['id']}", json={"name": "etl2", "description": "d"}
    )
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["description"]) == ("etl2", "d")
    clash = await app.client.patch(f"/api/images/{image['id']}", json={"name": "taken"})
    assert clash.status_code == 409 and clash.json()["field"] == "name"
