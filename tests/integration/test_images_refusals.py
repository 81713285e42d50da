"""Every refusal of the images API answers a problem body naming the cause, and
changes nothing: not the database, not a byte on disk."""

from __future__ import annotations

import base64
import functools
from typing import Any

import docker
import pytest

from tests.conftest import TEST_BASE_IMAGE
from tests.integration.app_fixtures import App
from tests.integration.refusals import refused
from tests.integration.test_images_api import settled

pytestmark = pytest.mark.docker


async def new_image(app: App, name: str = "etl") -> int:
    response = await app.client.post("/api/images", json={"name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_create_refusals(api_only_app: App):
    app = api_only_app
    await new_image(app, "taken")
    post = app.client.post
    cases: list[tuple[dict[str, Any], int, str | None, str]] = [
        ({"name": "has space"}, 422, "name", "letters, digits"),
        ({"name": "taken"}, 409, "name", "already exists"),
        (
            {"name": "x", "files": [{"path": "/etc/passwd", "content": ""}]},
            422,
            "files./etc/passwd",
            "absolute",
        ),
        ({"name": "x", "files": [{"path": "../up", "content": ""}]}, 422, "files.../up", "'..'"),
        ({"name": "x", "files": [{"path": "a\\b", "content": ""}]}, 422, None, "backslash"),
        ({"name": "x", "files": [{"path": "a\u0000b", "content": ""}]}, 422, None, "NUL"),
        ({"name": "x", "files": [{"path": "n" * 256, "content": ""}]}, 422, None, "over 255 bytes"),
        (
            {"name": "x", "files": [{"path": "b", "content": "!!", "encoding": "base64"}]},
            422,
            "files.b",
            "base64",
        ),
        ({"name": "x", "files": [{"path": "Dockerfile", "content": ""}]}, 422, None, "given twice"),
        (
            {
                "name": "x",
                "files": [{"path": "a.txt", "content": "first"}, {"path": "a.txt", "content": ""}],
            },
            422,
            "files.a.txt",
            "a.txt is given twice",
        ),
        (
            {"name": "x", "requirements": "r" * (5 * 1024 * 1024 + 1)},
            413,
            "files.requirements.txt",
            "limit",
        ),
        ({"name": "x", "colour": "red"}, 400, None, "colour"),
        ({"name": 5}, 400, "name", "Expected `str`"),
        ({"name": "x", "description": "d" * 2001}, 422, "description", "over 2000"),
    ]
    for body, status, field, says in cases:
        await refused(app, functools.partial(post, "/api/images", json=body), status, field, says)


async def test_file_refusals(api_only_app: App):
    app = api_only_app
    image_id = await new_image(app)
    src = app.data / "images" / str(image_id) / "src"
    outside = app.data.parent / "outside"
    outside.mkdir()
    (src / "escape").symlink_to(outside)
    url = f"/api/images/{image_id}/files"
    put, delete = app.client.put, app.client.delete
    await refused(
        app, lambda: put(f"{url}/escape/x.py", content=b"x"), 422, "path", "symbolic link"
    )
    await refused(app, lambda: put(f"{url}/a%5Cb", content=b"x"), 422, "path", "backslash")
    await refused(app, lambda: put(f"{url}/a%00b", content=b"x"), 422, "path", "NUL")
    await refused(app, lambda: put(f"{url}/{'n' * 256}", content=b"x"), 422, "path", "255 bytes")
    big = b"x" * (5 * 1024 * 1024 + 1)
    await refused(app, lambda: put(f"{url}/big.bin", content=big), 413, "content", "limit")
    await refused(app, lambda: delete(f"{url}/Dockerfile"), 422, "path", "cannot be deleted")
    await refused(app, lambda: delete(f"{url}/missing.txt"), 404, None, "not found")
    await refused(app, lambda: app.client.get(f"{url}/missing.txt"), 404, None, "not found")
    await refused(app, lambda: put("/api/images/999/files/a", content=b"x"), 404, None, "999")
    assert not (outside / "x.py").exists()


async def test_lifecycle_refusals(api_only_app: App):
    app = api_only_app
    image_id = await new_image(app)
    url = f"/api/images/{image_id}"
    await refused(app, lambda: app.client.post(f"{url}/destroy"), 409, None, "only a built image")
    building = await app.client.post(f"{url}/build")  # no worker: it stays building
    assert building.status_code == 202
    await refused(app, lambda: app.client.post(f"{url}/build"), 409, None, "already building")
    await refused(app, lambda: app.client.delete(url), 409, None, "is building")
    await refused(
        app,
        lambda: app.client.put(f"{url}/files/main.txt", content=b"x"),
        409,
        None,
        "dormant or failed",
    )
    await refused(
        app,
        lambda: app.client.delete(f"{url}/files/requirements.txt"),
        409,
        None,
        "dormant or failed",
    )
    renamed = await app.client.patch(url, json={"description": "still editable"})
    assert renamed.status_code == 200
    await refused(app, lambda: app.client.post("/api/images/999/build"), 404, None, "999")
    await refused(
        app,
        lambda: app.client.get("/api/images/999/build-log", params={"offset": -1}),
        400,
        "offset",
        "",
    )


async def test_file_edits_of_a_built_image_are_refused_saying_destroy_first(app: App):
    created = await app.client.post(
        "/api/images",
        json={"name": "etl", "dockerfile": f"FROM {TEST_BASE_IMAGE}\nRUN echo built-ok\n"},
    )
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    assert (await app.client.post(f"/api/images/{image_id}/build")).status_code == 202
    built = await app.wait_while(f"/api/images/{image_id}", "building")
    assert built["status"] == "built", built["error"]
    await settled(app)
    url = f"/api/images/{image_id}/files"
    put, delete = app.client.put, app.client.delete
    says = "is built: files can be changed only while it is dormant or failed (destroy it first)"
    await refused(app, lambda: put(f"{url}/Dockerfile", content=b"FROM other\n"), 409, None, says)
    await refused(app, lambda: put(f"{url}/new.txt", content=b"x"), 409, None, says)
    await refused(app, lambda: delete(f"{url}/requirements.txt"), 409, None, says)
    assert docker.from_env().images.get(built["tag"]).id == built["docker_image_id"]


async def test_binary_upload_roundtrip(api_only_app: App):
    app = api_only_app
    image_id = await new_image(app)
    blob = bytes(range(256))
    put = await app.client.put(f"/api/images/{image_id}/files/data/blob.bin", content=blob)
    assert put.status_code == 200 and put.json()["size"] == 256
    got = await app.client.get(f"/api/images/{image_id}/files/data/blob.bin")
    assert got.content == blob
    assert base64.b64encode(got.content)
