"""``GET /api/images/{id}/files`` and ``GET /api/scripts/{id}/files``: the file list
follows writes and deletes, matches the detail's list, and an unknown id is a 404
problem that changes nothing."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from tests.integration.app_fixtures import App
from tests.integration.refusals import refused

pytestmark = pytest.mark.docker


async def listed(app: App, url: str) -> list[dict[str, Any]]:
    response = await app.client.get(url)
    assert response.status_code == 200, response.text
    files: list[dict[str, Any]] = response.json()
    return files


def sizes(files: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(f["path"], f["size"]) for f in files]


async def test_the_image_file_list_follows_writes_and_deletes(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    created = await client.post(
        "/api/images",
        json={
            "name": "etl",
            "dockerfile": "FROM x\n",
            "requirements": "six\n",
            "files": [{"path": "conf/a.ini", "content": "a=1\n"}],
        },
    )
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    url = f"/api/images/{image_id}/files"
    assert sizes(await listed(app, url)) == [
        ("Dockerfile", 7),
        ("conf/a.ini", 4),
        ("requirements.txt", 4),
    ]

    assert (await client.put(f"{url}/lib/b.py", content=b"print(2)\n")).status_code == 200
    assert (await client.put(f"{url}/Dockerfile", content=b"FROM y\nRUN z\n")).status_code == 200
    assert (await client.delete(f"{url}/conf/a.ini")).status_code == 204
    files = await listed(app, url)
    assert sizes(files) == [("Dockerfile", 13), ("lib/b.py", 9), ("requirements.txt", 4)]
    assert all(f.keys() == {"path", "size", "modified_at"} for f in files)
    detail = (await client.get(f"/api/images/{image_id}")).json()
    assert detail["files"] == files
    assert (await client.get(f"{url}/")).status_code == 200  # the trailing slash too


async def test_the_script_file_list_follows_writes_and_deletes(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    image = await client.post("/api/images", json={"name": "py"})
    assert image.status_code == 201, image.text
    created = await client.post(
        "/api/scripts",
        json={
            "name": "report",
            "image_id": image.json()["id"],
            "files": [
                {"path": "main.py", "content": "print(1)\n"},
                {"path": "data/in.csv", "content": "a,b\n"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    script_id = created.json()["id"]
    url = f"/api/scripts/{script_id}/files"
    assert sizes(await listed(app, url)) == [("data/in.csv", 4), ("main.py", 9)]

    assert (await client.put(f"{url}/lib/util.py", content=b"u")).status_code == 200
    assert (await client.delete(f"{url}/data/in.csv")).status_code == 204
    files = await listed(app, url)
    assert sizes(files) == [("lib/util.py", 1), ("main.py", 9)]
    assert (await client.get(f"/api/scripts/{script_id}")).json()["files"] == files


async def test_the_file_list_of_an_unknown_image_or_script_is_not_found(api_only_app: App):
    app = api_only_app
    for url in ("/api/images/999/files", "/api/scripts/999/files"):
        await refused(app, functools.partial(app.client.get, url), 404, None, "999")
    await refused(app, lambda: app.client.get("/api/images/0/files"), 400, "image_id", "")
