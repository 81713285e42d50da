"""Scripts through the REST API: real SQLite, real files. Every refusal answers a
problem body naming the field and changes nothing (``refused``)."""

from __future__ import annotations

import base64
import functools
from typing import Any

import pytest
from httpx import Response

from scripter.domain.jobs import Job, JobStatus
from scripter.domain.scripts import HELLO_WORLD, content_hash
from tests.integration.app_fixtures import App
from tests.integration.refusals import refused

pytestmark = pytest.mark.docker

SECRET = "s3cret-value-that-must-never-leak"
BLOB = bytes(range(256))
BIG = 5 * 1024 * 1024 + 1


async def new_image(app: App, name: str = "py") -> int:
    response = await app.client.post("/api/images", json={"name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def new_script(app: App, name: str = "etl", **body: Any) -> dict[str, Any]:
    if "image_id" not in body:
        body["image_id"] = await new_image(app, f"img-{name}")
    response = await app.client.post("/api/scripts", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def add_job(app: App, script_id: int, status: JobStatus) -> int:
    async with app.scripter.unit_of_work() as uow:
        job = await uow.jobs.add(
            Job(
                script_id=script_id,
                revision=1,
                image_id=1,
                status=status,
                created_at=app.scripter.clock.now(),
            )
        )
        await uow.commit()
    return job.require_id


def ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


# --- the whole flow ---------------------------------------------------------------------


async def test_create_read_update_files_and_delete(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    image_id = await new_image(app)
    created = await new_script(
        app,
        image_id=image_id,
        description="nightly",
        entry_file="run.py",
        files=[
            {"path": "run.py", "content": "print('hé')\n"},
            {
                "path": "data/blob.bin",
                "content": base64.b64encode(BLOB).decode(),
                "encoding": "base64",
            },
        ],
        env=[{"name": "PLAIN", "value": "p"}],
        args=["--all"],
        limits={"memory_mb": 64},
        timeout_seconds=None,
        network_mode="bridge",
        log_limit_bytes=4096,
        keep_last=3,
        keep_days=7,
    )
    script_id = created["id"]
    assert created["current_revision"] == 1
    assert created["limits"] == {"memory_mb": 64, "cpus": 1.0, "pids": 256}
    assert (created["timeout_seconds"], created["network_mode"]) == (None, "bridge")
    assert created["env"] == [{"name": "PLAIN", "secret": False, "value": "p", "is_set": True}]
    assert [(f["path"], f["size"]) for f in created["files"]] == [
        ("data/blob.bin", 256),
        ("run.py", len("print('hé')\n".encode())),
    ]
    src = app.data / "scripts" / str(script_id) / "src"
    assert (src / "data" / "blob.bin").read_bytes() == BLOB
    assert (src / "run.py").read_text() == "print('hé')\n"

    # Defaults: hello world, entry main.py, limits, no network.
    default = await new_script(app, "hello", image_id=image_id)
    assert [f["path"] for f in default["files"]] == ["main.py"]
    raw = await client.get(f"/api/scripts/{default['id']}/files/main.py")
    assert raw.content == HELLO_WORLD.encode()
    assert (default["entry_file"], default["network_mode"]) == ("main.py", "none")
    assert default["limits"] == {"memory_mb": 512, "cpus": 1.0, "pids": 256}

    # Lists: newest first, filtered, paged.
    other_image = await new_image(app, "other")
    third = await new_script(app, "third", image_id=other_image)
    listed = ok(await client.get("/api/scripts"))
    assert [s["id"] for s in listed["items"]] == [third["id"], default["id"], script_id]
    assert "files" not in listed["items"][0] or listed["items"][0]["files"] is None
    by_image = ok(await client.get("/api/scripts", params={"image_id": image_id}))
    assert [s["id"] for s in by_image["items"]] == [default["id"], script_id]
    page = ok(await client.get("/api/scripts", params={"limit": 2}))
    assert page["next_cursor"] == default["id"]
    rest = ok(await client.get("/api/scripts", params={"cursor": page["next_cursor"]}))
    assert [s["id"] for s in rest["items"]] == [script_id] and rest["next_cursor"] is None

    # PATCH: any subset; limits merge; null means none.
    patched = ok(
        await client.patch(
            f"/api/scripts/{script_id}",
            json={"name": "renamed", "limits": {"cpus": 0.5}, "keep_days": None},
        )
    )
    assert patched["name"] == "renamed" and patched["keep_days"] is None
    assert patched["limits"] == {"memory_mb": 64, "cpus": 0.5, "pids": 256}
    assert patched["current_revision"] == 2

    # Files: write, read, delete.
    written = ok(await client.put(f"/api/scripts/{script_id}/files/lib/util.py", content=b"u"))
    assert (written["path"], written["size"]) == ("lib/util.py", 1)
    got = await client.get(f"/api/scripts/{script_id}/files/lib/util.py")
    assert got.content == b"u"
    ok(await client.delete(f"/api/scripts/{script_id}/files/lib/util.py"), 204)
    assert not (src / "lib").exists()
    detail = ok(await client.get(f"/api/scripts/{script_id}"))
    assert detail["current_revision"] == 4
    assert [f["path"] for f in detail["files"]] == ["data/blob.bin", "run.py"]

    # Delete: record and folder, logs included.
    (src.parent / "logs").mkdir()
    (src.parent / "logs" / "old.log").write_text("old")
    ok(await client.delete(f"/api/scripts/{script_id}"), 204)
    assert not (app.data / "scripts" / str(script_id)).exists()
    assert (await client.get(f"/api/scripts/{script_id}")).status_code == 404
    assert (await client.get(f"/api/scripts/{script_id}/revisions")).status_code == 404


async def test_binary_files_round_trip(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    script_id = (await new_script(app))["id"]
    put = ok(await client.put(f"/api/scripts/{script_id}/files/blob.bin", content=BLOB))
    assert put["size"] == 256
    assert (await client.get(f"/api/scripts/{script_id}/files/blob.bin")).content == BLOB
    assert (app.data / "scripts" / str(script_id) / "src" / "blob.bin").read_bytes() == BLOB
    revision = ok(await client.get(f"/api/scripts/{script_id}/revisions/2"))
    files = {f["path"]: f for f in revision["files"]}
    assert files["blob.bin"]["encoding"] == "base64" and files["blob.bin"]["size"] == 256
    assert base64.b64decode(files["blob.bin"]["content"]) == BLOB
    assert files["main.py"] == {
        "path": "main.py",
        "size": len(HELLO_WORLD.encode()),
        "content": HELLO_WORLD,
        "encoding": "utf-8",
    }
    # The same bytes again make no revision.
    ok(await client.put(f"/api/scripts/{script_id}/files/blob.bin", content=BLOB))
    assert ok(await client.get(f"/api/scripts/{script_id}"))["current_revision"] == 2


async def test_revisions_list_read_and_restore(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    script = await new_script(app, files=[{"path": "main.py", "content": "v1\n"}], args=["a"])
    url = f"/api/scripts/{script['id']}"
    ok(await client.put(f"{url}/files/main.py", content=b"v2\n"))
    ok(await client.put(f"{url}/files/extra.txt", content=b"extra"))
    ok(await client.patch(url, json={"args": ["b"], "description": "not revisioned"}))
    listed = ok(await client.get(f"{url}/revisions"))
    assert [r["number"] for r in listed] == [4, 3, 2, 1]
    assert listed[3]["content_hash"] == content_hash({"main.py": b"v1\n"})
    assert listed[0]["content_hash"] == content_hash({"main.py": b"v2\n", "extra.txt": b"extra"})
    assert listed[0]["files"] == [{"path": "extra.txt", "size": 5}, {"path": "main.py", "size": 3}]
    first = ok(await client.get(f"{url}/revisions/1"))
    assert first["files"] == [
        {"path": "main.py", "size": 3, "content": "v1\n", "encoding": "utf-8"}
    ]
    assert first["settings"]["args"] == ["a"] and first["settings"]["entry_file"] == "main.py"

    restored = ok(await client.post(f"{url}/revisions/1/restore"))
    assert restored["current_revision"] == 5
    assert restored["args"] == ["a"] and restored["description"] == "not revisioned"
    assert [f["path"] for f in restored["files"]] == ["main.py"]
    src = app.data / "scripts" / str(script["id"]) / "src"
    assert sorted(p.name for p in src.iterdir()) == ["main.py"]
    assert (src / "main.py").read_bytes() == b"v1\n"
    newest = ok(await client.get(f"{url}/revisions/5"))
    assert newest["content_hash"] == first["content_hash"]
    assert newest["settings"] == first["settings"]
    # Restoring what is current adds nothing.
    again = ok(await client.post(f"{url}/revisions/5/restore"))
    assert again["current_revision"] == 5


async def test_patch_keeps_a_secret_sent_back_without_its_value(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    script = await new_script(
        app, env=[{"name": "TOKEN", "value": SECRET, "secret": True}, {"name": "A", "value": "1"}]
    )
    url = f"/api/scripts/{script['id']}"
    env = ok(await client.get(url))["env"]
    assert env[0] == {"name": "TOKEN", "secret": True, "value": None, "is_set": True}
    # The list as it came, plus one more variable.
    patched = ok(await client.patch(url, json={"env": [*env, {"name": "B", "value": "2"}]}))
    assert [v["name"] for v in patched["env"]] == ["TOKEN", "A", "B"]
    revision = await app.scripter.scripts.get_revision(script["id"], 2)
    stored = {v.name: v.value for v in revision.revision_settings().env}
    assert stored == {"TOKEN": SECRET, "A": "1", "B": "2"}


async def test_no_response_carries_a_secret_value(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    bodies: list[str] = []

    async def call(response: Response) -> Response:
        bodies.append(response.text)
        return response

    image_id = await new_image(app)
    created = await call(
        await client.post(
            "/api/scripts",
            json={
                "name": "etl",
                "image_id": image_id,
                "env": [{"name": "TOKEN", "value": SECRET, "secret": True}],
            },
        )
    )
    url = f"/api/scripts/{created.json()['id']}"
    await call(await client.get(url))
    await call(await client.get("/api/scripts"))
    await call(await client.patch(url, json={"args": ["x"]}))
    await call(await client.patch(url, json={"env": [{"name": "TOKEN", "secret": True}]}))
    await call(await client.put(f"{url}/files/b.py", content=b"b"))
    await call(await client.get(f"{url}/revisions"))
    for number in (1, 2, 3):
        await call(await client.get(f"{url}/revisions/{number}"))
    await call(await client.post(f"{url}/revisions/1/restore"))
    await call(await client.patch(url, json={"env": [{"name": "TOKEN", "value": None}]}))
    await call(await client.patch(url, json={"env": [{"name": "9", "value": SECRET}]}))
    await call(await client.get("/schema/openapi.json"))
    assert len(bodies) == 14
    assert all(SECRET not in body for body in bodies)
    # It is stored, though: jobs need it.
    assert SECRET in str(
        (await app.scripter.scripts.get_revision(int(url.split("/")[-1]), 1)).settings
    )


# --- refusals ---------------------------------------------------------------------------


async def test_create_refusals(api_only_app: App):
    app = api_only_app
    image_id = await new_image(app)
    await new_script(app, "taken", image_id=image_id)
    post = functools.partial(app.client.post, "/api/scripts")

    def body(**changes: Any) -> dict[str, Any]:
        return {"name": "new", "image_id": image_id, **changes}

    def file(path: str, content: str = "", encoding: str = "utf-8") -> list[dict[str, str]]:
        return [{"path": path, "content": content, "encoding": encoding}]

    cases: list[tuple[dict[str, Any], int, str | None, str]] = [
        (body(name="has space"), 422, "name", "letters, digits"),
        (body(name="TAKEN"), 409, "name", "already exists"),
        (body(image_id=999), 422, "image_id", "does not exist"),
        (body(description="d" * 2001), 422, "description", "over 2000"),
        (body(entry_file="run.py"), 422, "entry_file", "not one of"),
        (body(files=file("/etc/passwd")), 422, "files./etc/passwd", "absolute"),
        (body(files=file("../up")), 422, "files.../up", "'..'"),
        (body(files=file("a\\b")), 422, None, "backslash"),
        (body(files=file("a\u0000b")), 422, None, "NUL"),
        (body(files=file("main.py", "!!", "base64")), 422, "files.main.py", "base64"),
        (body(files=file("main.py") + file("main.py")), 422, "files.main.py", "given twice"),
        (body(files=file("main.py", "x" * BIG)), 413, "files.main.py", "limit"),
        (body(env=[{"name": "1A", "value": ""}]), 422, "env[0].name", "variable name"),
        (
            body(env=[{"name": "A", "value": ""}, {"name": "A", "value": ""}]),
            422,
            "env[1].name",
            "given twice",
        ),
        (body(env=[{"name": "A", "secret": True}]), 422, "env[0].value", "no stored value"),
        (body(env=[{"name": "A"}]), 422, "env[0].value", "needs a value"),
        (body(env=[{"name": f"V{i}", "value": ""} for i in range(201)]), 422, "env", "200"),
        (body(args=["a\u0000"]), 422, "args[0]", "NUL"),
        (body(limits={"memory_mb": 5}), 422, "limits.memory_mb", "from 6"),
        (body(limits={"cpus": 0}), 422, "limits.cpus", "more than 0"),
        (body(limits={"pids": 0}), 422, "limits.pids", "from 1"),
        (body(timeout_seconds=0), 422, "timeout_seconds", "from 1"),
        (body(timeout_seconds=7 * 24 * 3600 + 1), 422, "timeout_seconds", "604800"),
        (body(log_limit_bytes=1023), 422, "log_limit_bytes", "from 1024"),
        (body(keep_last=0), 422, "keep_last", "from 1"),
        (body(keep_days=0), 422, "keep_days", "from 1"),
        (body(network_mode="overlay"), 400, "network_mode", "enum"),
        (body(colour="red"), 400, None, "colour"),
        (body(limits={"memory_mb": "lots"}), 400, "limits.memory_mb", "Expected"),
        ({"name": "no-image"}, 400, None, "image_id"),
    ]
    for data, status, field, says in cases:
        await refused(app, functools.partial(post, json=data), status, field, says)


async def test_update_refusals(api_only_app: App):
    app = api_only_app
    await new_script(app, "taken")
    script = await new_script(app, env=[{"name": "A", "value": "1"}])
    url = f"/api/scripts/{script['id']}"
    patch = functools.partial(app.client.patch, url)
    cases: list[tuple[dict[str, Any], int, str | None, str]] = [
        ({"name": "Taken"}, 409, "name", "already exists"),
        ({"name": ""}, 422, "name", "letters"),
        ({"image_id": 999}, 422, "image_id", "does not exist"),
        ({"entry_file": "missing.py"}, 422, "entry_file", "not one of"),
        ({"env": [{"name": "B", "secret": True}]}, 422, "env[0].value", "no stored value"),
        ({"limits": {"memory_mb": 1}}, 422, "limits.memory_mb", "from 6"),
        ({"timeout_seconds": 0}, 422, "timeout_seconds", "from 1"),
        ({"keep_last": 0}, 422, "keep_last", "from 1"),
        ({"network_mode": "overlay"}, 400, "network_mode", "enum"),
        ({"id": 5}, 400, None, "id"),
    ]
    for data, status, field, says in cases:
        await refused(app, functools.partial(patch, json=data), status, field, says)
    await refused(
        app, lambda: app.client.patch("/api/scripts/999", json={"args": []}), 404, None, "999"
    )


async def test_file_refusals(api_only_app: App):
    app = api_only_app
    script_id = (await new_script(app))["id"]
    src = app.data / "scripts" / str(script_id) / "src"
    outside = app.data.parent / "outside"
    outside.mkdir()
    (src / "escape").symlink_to(outside)
    url = f"/api/scripts/{script_id}/files"
    put, delete, get = app.client.put, app.client.delete, app.client.get
    await refused(app, lambda: put(f"{url}/escape/x.py", content=b"x"), 422, "path", "symbolic")
    await refused(app, lambda: put(f"{url}/a%5Cb", content=b"x"), 422, "path", "backslash")
    await refused(app, lambda: put(f"{url}/a%00b", content=b"x"), 422, "path", "NUL")
    await refused(app, lambda: put(f"{url}/{'n' * 256}", content=b"x"), 422, "path", "255 bytes")
    await refused(app, lambda: put(f"{url}/main.py/x", content=b"x"), 422, "path", "not a folder")
    await refused(app, lambda: put(f"{url}/big.bin", content=b"x" * BIG), 413, "content", "limit")
    await refused(app, lambda: delete(f"{url}/main.py"), 422, "path", "entry file")
    await refused(app, lambda: delete(f"{url}/missing.py"), 404, None, "not found")
    await refused(app, lambda: get(f"{url}/missing.py"), 404, None, "not found")
    await refused(app, lambda: put("/api/scripts/999/files/a.py", content=b"x"), 404, None, "999")
    assert not (outside / "x.py").exists()


async def test_revision_refusals(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    script = await new_script(app)
    url = f"/api/scripts/{script['id']}"
    await refused(app, lambda: client.get(f"{url}/revisions/9"), 404, None, "no revision 9")
    await refused(app, lambda: client.post(f"{url}/revisions/9/restore"), 404, None, "revision 9")
    await refused(app, lambda: client.get("/api/scripts/999/revisions"), 404, None, "999")
    # Revision 1 runs on an image that is deleted once the script has moved away.
    first_image = script["image_id"]
    ok(await client.patch(url, json={"image_id": await new_image(app, "next")}))
    ok(await client.delete(f"/api/images/{first_image}"), 204)
    await refused(
        app, lambda: client.post(f"{url}/revisions/1/restore"), 409, "image_id", "no longer exists"
    )


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING])
async def test_delete_is_refused_while_a_job_is_unfinished(api_only_app: App, status: JobStatus):
    app = api_only_app
    script_id = (await new_script(app))["id"]
    job_id = await add_job(app, script_id, status)
    url = f"/api/scripts/{script_id}"
    await refused(app, lambda: app.client.delete(url), 409, None, "queued or running")
    async with app.scripter.unit_of_work() as uow:
        job = await uow.jobs.get(job_id)
        job.finish(app.scripter.clock.now(), JobStatus.CANCELLED, exit_code=None)
        await uow.jobs.update(job)
        await uow.commit()
    ok(await app.client.delete(url), 204)
    assert not (app.data / "scripts" / str(script_id)).exists()
    await refused(app, lambda: app.client.delete(url), 404, None, "not found")
