"""/api/scripts/{id}/schedules and /api/schedules on a real app (SQLite), and a
schedule firing every 2 seconds end to end: scheduler, worker, real containers."""

from __future__ import annotations

import asyncio
import functools
import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from httpx import Response

from scripter.bootstrap import Role
from scripter.domain.images import ImageStatus
from scripter.domain.schedules import FiringOutcome, ScheduleFiring
from scripter.domain.scripts import EnvVar
from tests.integration.app_fixtures import App, running_app
from tests.integration.refusals import refused
from tests.integration.test_jobs import add_script, remove_containers


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def create(app: App, script_id: int, **body: Any) -> dict[str, Any]:
    response = await app.client.post(f"/api/scripts/{script_id}/schedules", json=body)
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()
    return schedule


async def test_define_read_change_and_delete_a_schedule(api_only_app: App):
    app = api_only_app
    script_id = await add_script(app, "print(1)\n")
    before = app.scripter.clock.now()
    schedule = await create(
        app,
        script_id,
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        overlap_policy="skip",
        args=["--full"],
        env={"MODE": "nightly"},
    )
    assert schedule["cron"] == "30 2 * * *" and schedule["timezone"] == "Europe/Berlin"
    assert (schedule["enabled"], schedule["misfire_policy"], schedule["overlap_policy"]) == (
        True,
        "skip",
        "skip",
    )
    assert schedule["args"] == ["--full"] and schedule["env"] == {"MODE": "nightly"}
    assert schedule["description"] == "At 02:30 every day"
    next_run = when(schedule["next_run_at"])
    assert before < next_run <= before + timedelta(days=1)
    runs = schedule["next_runs"]
    assert len(runs) == 5 and when(runs[0]["utc"]) == next_run
    assert all(when(r["local"]) == when(r["utc"]) for r in runs)
    assert all(r["local"][11:16] in ("02:30", "03:00") for r in runs)

    listed = (await app.client.get(f"/api/scripts/{script_id}/schedules")).json()
    assert [s["id"] for s in listed] == [schedule["id"]]
    url = f"/api/schedules/{schedule['id']}"
    assert (await app.client.get(url)).json() == schedule

    disabled = (await app.client.patch(url, json={"enabled": False})).json()
    assert disabled["next_run_at"] is None and disabled["next_runs"] == []
    every_minute = (await app.client.patch(url, json={"enabled": True, "cron": "* * * * *"})).json()
    assert when(every_minute["next_run_at"]) - app.scripter.clock.now() <= timedelta(minutes=1)
    assert every_minute["args"] == ["--full"]  # untouched
    defaults = (await app.client.patch(url, json={"args": None, "env": {}})).json()
    assert defaults["args"] is None and defaults["env"] == {}
    assert defaults["next_run_at"] == every_minute["next_run_at"]  # kept

    history = (await app.client.get(f"{url}/history")).json()
    assert history == {"items": [], "next_cursor": None}

    assert (await app.client.delete(url)).status_code == 204
    assert (await app.client.get(url)).status_code == 404
    assert (await app.client.get(f"/api/scripts/{script_id}/schedules")).json() == []


async def test_default_timezone_comes_from_config(api_only_app: App):
    app = api_only_app
    script_id = await add_script(app, "print(1)\n")
    schedule = await create(app, script_id, cron="@hourly")
    assert schedule["timezone"] == app.scripter.config.scheduler.timezone == "UTC"
    assert schedule["cron"] == "0 * * * *"
    assert schedule["args"] is None


async def test_preview_shows_fire_times_across_dst_and_saves_nothing(api_only_app: App):
    app = api_only_app
    response = await app.client.post(
        "/api/schedules/preview",
        json={
            "cron": "30 2 * * *",
            "timezone": "Europe/Berlin",
            "count": 3,
            "after": "2026-10-24T12:00:00Z",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["cron"], body["timezone"]) == ("30 2 * * *", "Europe/Berlin")
    assert [t["utc"] for t in body["fire_times"]] == [
        "2026-10-25T00:30:00Z",
        "2026-10-26T01:30:00Z",
        "2026-10-27T01:30:00Z",
    ]
    assert [t["local"] for t in body["fire_times"]] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    spring = await app.client.post(
        "/api/schedules/preview",
        json={"cron": "0 30 2 * * *", "timezone": "Europe/Berlin", "after": "2026-03-28T12:00:00Z"},
    )
    locals_ = [t["local"] for t in spring.json()["fire_times"]]
    assert len(locals_) == 5  # the default count
    assert locals_[:2] == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
    # Refused previews change nothing either.
    await refused(
        app,
        lambda: app.client.post("/api/schedules/preview", json={"cron": "* * *"}),
        422,
        "cron",
        "cron has 3 fields",
    )
    await refused(
        app,
        lambda: app.client.post(
            "/api/schedules/preview", json={"cron": "* * * * *", "timezone": "Mars/Base"}
        ),
        422,
        "timezone",
        "unknown timezone 'Mars/Base'",
    )
    await refused(
        app,
        lambda: app.client.post("/api/schedules/preview", json={"cron": "* * * * *", "count": 101}),
        422,
        "count",
        "count must be 1 to 100",
    )


async def test_every_refusal_names_its_field_and_changes_nothing(api_only_app: App):
    app = api_only_app
    script_id = await add_script(app, "print(1)\n")
    schedule = await create(app, script_id, cron="0 3 * * *")
    url = f"/api/schedules/{schedule['id']}"
    on_script = f"/api/scripts/{script_id}/schedules"
    bad: list[tuple[dict[str, Any], str, str]] = [
        ({"cron": "61 * * * *"}, "cron", "the minute field '61' is not valid"),
        ({"cron": "* * * * * * *"}, "cron", "cron has 7 fields"),
        ({"cron": "0 0 30 2 *"}, "cron", "never fires"),
        ({"cron": "* * * * *", "timezone": "europe/berlin"}, "timezone", "did you mean"),
        ({"cron": "* * * * *", "misfire_policy": "never"}, "misfire_policy", "skip or run_once"),
        ({"cron": "* * * * *", "overlap_policy": "queue"}, "overlap_policy", "must be one of"),
        ({"cron": "* * * * *", "env": {"BAD-NAME": "1"}}, "env.BAD-NAME", "not a variable name"),
    ]
    for body, field, says in bad:
        post = functools.partial(app.client.post, on_script, json=body)
        await refused(app, post, 422, field, says)
        await refused(app, functools.partial(app.client.patch, url, json=body), 422, field, says)
    await refused(
        app,
        lambda: app.client.post("/api/scripts/999/schedules", json={"cron": "* * * * *"}),
        404,
        None,
        "script 999 not found",
    )
    await refused(app, lambda: app.client.get("/api/schedules/999/history"), 404, None, "999")
    await refused(app, lambda: app.client.delete("/api/schedules/999"), 404, None, "999")
    await refused(
        app, lambda: app.client.post(on_script, json={"cron": "* * * * *", "x": 1}), 400, None, "x"
    )


async def test_upcoming_lists_the_next_runs_of_every_script_soonest_first(api_only_app: App):
    app = api_only_app
    url = "/api/schedules/upcoming"
    assert (await app.client.get(url)).json() == []
    nightly_script = await add_script(app, "print(1)\n", name="nightly")
    hourly_script = await add_script(app, "print(2)\n", name="hourly")
    nightly = await create(app, nightly_script, cron="30 2 * * *", timezone="Europe/Berlin")
    hourly = await create(app, hourly_script, cron="@hourly")
    await create(app, hourly_script, cron="* * * * *", enabled=False)

    response = await app.client.get(url)
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "schedule_id": hourly["id"],
            "script_id": hourly_script,
            "script_name": "hourly",
            "next_run_at": hourly["next_run_at"],
            "cron": "0 * * * *",
            "timezone": "UTC",
        },
        {
            "schedule_id": nightly["id"],
            "script_id": nightly_script,
            "script_name": "nightly",
            "next_run_at": nightly["next_run_at"],
            "cron": "30 2 * * *",
            "timezone": "Europe/Berlin",
        },
    ]
    one = (await app.client.get(url, params={"limit": 1})).json()
    assert [run["schedule_id"] for run in one] == [hourly["id"]]
    assert len((await app.client.get(url, params={"limit": 100})).json()) == 2
    for limit in ("0", "101", "-1"):
        await refused(
            app,
            functools.partial(app.client.get, url, params={"limit": limit}),
            422,
            "limit",
            "limit must be 1 to 100",
        )
    await refused(
        app, functools.partial(app.client.get, url, params={"limit": "ten"}), 400, "limit", "limit"
    )


async def test_history_pages_newest_first_with_reasons(api_only_app: App):
    app = api_only_app
    script_id = await add_script(app, "print(1)\n")
    schedule = await create(app, script_id, cron="* * * * *")
    start = datetime.fromisoformat("2030-01-01T12:00:00+00:00")
    async with app.uow() as uow:
        for minute in range(3):
            fire_time = start + timedelta(minutes=minute)
            await uow.schedules.add_firing(
                ScheduleFiring(
                    schedule_id=schedule["id"],
                    fire_time=fire_time,
                    outcome=FiringOutcome.SKIPPED if minute == 1 else FiringOutcome.FIRED,
                    reason="the last run is not finished" if minute == 1 else None,
                    recorded_at=fire_time + timedelta(milliseconds=250),
                )
            )
        await uow.commit()
    url = f"/api/schedules/{schedule['id']}/history"
    first = (await app.client.get(url, params={"limit": 2})).json()
    assert [i["fire_time"] for i in first["items"]] == [
        "2030-01-01T12:02:00Z",
        "2030-01-01T12:01:00Z",
    ]
    skipped = first["items"][1]
    assert (skipped["outcome"], skipped["reason"]) == ("skipped", "the last run is not finished")
    assert skipped["lateness_seconds"] == 0.25
    assert first["next_cursor"] == "2030-01-01T12:01:00Z"
    rest = (await app.client.get(url, params={"limit": 2, "before": first["next_cursor"]})).json()
    assert [i["fire_time"] for i in rest["items"]] == ["2030-01-01T12:00:00Z"]
    assert rest["next_cursor"] is None


async def test_a_schedule_on_an_unbuilt_image_records_why_it_skipped(tmp_path: Path):
    async with running_app(tmp_path, {Role.API, Role.SCHEDULER}) as app:
        script_id = await add_script(app, "print(1)\n", image_status=ImageStatus.DORMANT)
        schedule = await create(app, script_id, cron="* * * * * *")
        history = await wait_for_firings(app, schedule["id"], 1)
        assert history[0]["outcome"] == "skipped"
        assert "no job started: image 'base' is dormant: build it" in history[0]["reason"]
        assert (await app.client.get("/api/jobs")).json()["items"] == []
        await app.client.patch(f"/api/schedules/{schedule['id']}", json={"enabled": False})


async def wait_for_firings(
    app: App, schedule_id: int, count: int, timeout: float = 30
) -> list[dict[str, Any]]:
    """The schedule's history, oldest first, once it has ``count`` entries (bounded)."""
    async with asyncio.timeout(timeout):
        while True:
            body = (await app.client.get(f"/api/schedules/{schedule_id}/history?limit=500")).json()
            if len(body["items"]) >= count:
                return list(reversed(body["items"]))
            await asyncio.sleep(0.1)


@pytest.mark.docker
async def test_a_six_field_schedule_runs_a_job_every_two_seconds(tmp_path: Path):
    """The whole path: scheduler -> outbox -> worker -> container, on the real engine.
    Only structure is asserted (one job per fire time, 2 s apart, all succeeded); the
    lateness is recorded in each firing and printed, never compared to a threshold."""
    async with running_app(tmp_path, {Role.API, Role.WORKER, Role.SCHEDULER}) as app:
        try:
            script_id = await add_script(app, "import sys\nprint('tick', sys.argv[1:])\n")
            schedule = await create(app, script_id, cron="*/2 * * * * *", args=["--from-cron"])
            await wait_for_firings(app, schedule["id"], 3)
            url = f"/api/schedules/{schedule['id']}"
            assert (await app.client.patch(url, json={"enabled": False})).status_code == 200
            history = await wait_for_firings(app, schedule["id"], 3)
            # Disabled: no fire time after this one, even a little later.
            await asyncio.sleep(2.5)
            assert await wait_for_firings(app, schedule["id"], 3) == history

            times = [when(f["fire_time"]) for f in history]
            assert all(b - a == timedelta(seconds=2) for a, b in itertools.pairwise(times))
            assert all(t.second % 2 == 0 and t.microsecond == 0 for t in times)
            assert [f["outcome"] for f in history] == ["fired"] * len(history)
            job_ids = [f["job_id"] for f in history]
            assert len(set(job_ids)) == len(job_ids)
            listed = (await app.client.get(f"/api/jobs?script_id={script_id}")).json()["items"]
            assert sorted(j["id"] for j in listed) == sorted(job_ids)
            for firing in history:
                job = await finished_job(app, firing["job_id"])
                assert job["status"] == "succeeded", job
                assert (job["trigger"], job["schedule_id"]) == ("schedule", schedule["id"])
                assert job["args"] == ["--from-cron"]
                log = (await app.client.get(f"/api/jobs/{job['id']}/log")).text
                assert "tick ['--from-cron']" in log
                fire_time = when(firing["fire_time"])
                print(
                    f"fire {firing['fire_time']}: job created "
                    f"{(when(job['created_at']) - fire_time).total_seconds():.3f} s, started "
                    f"{(when(job['started_at']) - fire_time).total_seconds():.3f} s after"
                )
                assert (
                    firing["lateness_seconds"]
                    == (when(job["created_at"]) - fire_time).total_seconds()
                )
        finally:
            remove_containers(app)


async def finished_job(app: App, job_id: int, timeout: float = 120) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            job: dict[str, Any] = (await app.client.get(f"/api/jobs/{job_id}")).json()
            if job["status"] not in ("queued", "running"):
                return job
            await asyncio.sleep(0.1)


# --- overrides of secret variables ------------------------------------------------------

SECRET = "schedule-secret-4f7a"
SCRIPT_ENV = [
    EnvVar(name="TOKEN", value="script-secret-9c1e", secret=True),
    EnvVar(name="MODE", value="fast"),
]


async def stored_env(app: App, schedule_id: int) -> dict[str, str]:
    async with app.uow() as uow:
        return (await uow.schedules.get(schedule_id)).env


async def test_overrides_of_secret_variables_are_returned_as_null(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    script_id = await add_script(app, "print(1)\n", env=SCRIPT_ENV)
    bodies: list[str] = []

    async def call(response: Response) -> Any:
        assert response.status_code in (200, 201), response.text
        bodies.append(response.text)
        return response.json()

    shown = {"TOKEN": None, "MODE": "slow", "EXTRA": "e"}
    created = await call(
        await client.post(
            f"/api/scripts/{script_id}/schedules",
            json={"cron": "0 3 * * *", "env": {"TOKEN": SECRET, "MODE": "slow", "EXTRA": "e"}},
        )
    )
    url = f"/api/schedules/{created['id']}"
    assert created["env"] == shown  # non-secret overrides as they were given
    assert (await call(await client.get(url)))["env"] == shown
    listed = await call(await client.get(f"/api/scripts/{script_id}/schedules"))
    assert [s["env"] for s in listed] == [shown]
    assert (await call(await client.patch(url, json={"enabled": False})))["env"] == shown
    await call(await client.get(f"{url}/history"))
    assert all(SECRET not in body for body in bodies)
    # Stored as given: its jobs run with it.
    assert (await stored_env(app, created["id"]))["TOKEN"] == SECRET


async def test_patching_back_what_get_returned_keeps_the_secret(api_only_app: App):
    app, client = api_only_app, api_only_app.client
    script_id = await add_script(app, "print(1)\n", env=SCRIPT_ENV)
    schedule = await create(app, script_id, cron="0 3 * * *", env={"TOKEN": SECRET, "A": "1"})
    url = f"/api/schedules/{schedule['id']}"
    env = (await client.get(url)).json()["env"]
    assert env == {"TOKEN": None, "A": "1"}
    # Sent back as it came, next to other changes.
    response = await client.patch(url, json={"cron": "0 4 * * *", "env": {**env, "B": "2"}})
    assert response.status_code == 200, response.text
    assert response.json()["env"] == {"TOKEN": None, "A": "1", "B": "2"}
    assert await stored_env(app, schedule["id"]) == {"TOKEN": SECRET, "A": "1", "B": "2"}
    # A value replaces it; leaving the name out removes it.
    replaced = (await client.patch(url, json={"env": {"TOKEN": "rotated"}})).json()
    assert replaced["env"] == {"TOKEN": None}
    assert await stored_env(app, schedule["id"]) == {"TOKEN": "rotated"}
    assert (await client.patch(url, json={"env": {}})).json()["env"] == {}
    assert await stored_env(app, schedule["id"]) == {}


async def test_null_without_a_stored_value_is_refused(api_only_app: App):
    app = api_only_app
    script_id = await add_script(app, "print(1)\n", env=SCRIPT_ENV)
    schedule = await create(app, script_id, cron="0 3 * * *", env={"MODE": "slow"})
    url = f"/api/schedules/{schedule['id']}"
    on_script = f"/api/scripts/{script_id}/schedules"
    says = "null keeps the value the schedule stores for TOKEN, and it stores none"
    await refused(
        app,
        lambda: app.client.post(on_script, json={"cron": "* * * * *", "env": {"TOKEN": None}}),
        422,
        "env.TOKEN",
        says,
    )
    await refused(
        app,
        lambda: app.client.patch(url, json={"cron": "0 5 * * *", "env": {"TOKEN": None}}),
        422,
        "env.TOKEN",
        says,
    )
    assert await stored_env(app, schedule["id"]) == {"MODE": "slow"}


async def test_a_variable_marked_secret_after_the_schedule_was_saved_is_hidden(
    api_only_app: App,
):
    app, client = api_only_app, api_only_app.client
    script_id = await add_script(app, "print(1)\n", env=SCRIPT_ENV)
    schedule = await create(app, script_id, cron="0 3 * * *", env={"MODE": "slow", "X": "1"})
    assert schedule["env"] == {"MODE": "slow", "X": "1"}
    marked = await client.patch(
        f"/api/scripts/{script_id}",
        json={
            "env": [
                {"name": "TOKEN", "secret": True},
                {"name": "MODE", "value": "fast", "secret": True},
            ]
        },
    )
    assert marked.status_code == 200, marked.text
    url = f"/api/schedules/{schedule['id']}"
    assert (await client.get(url)).json()["env"] == {"MODE": None, "X": "1"}
    listed = (await client.get(f"/api/scripts/{script_id}/schedules")).json()
    assert listed[0]["env"] == {"MODE": None, "X": "1"}


async def test_a_fired_job_runs_with_the_kept_secret_and_shows_it_masked(tmp_path: Path):
    async with running_app(tmp_path, {Role.API, Role.SCHEDULER}) as app:
        script_id = await add_script(app, "print(1)\n", env=SCRIPT_ENV)
        schedule = await create(
            app, script_id, cron="* * * * * *", enabled=False, env={"TOKEN": SECRET}
        )
        url = f"/api/schedules/{schedule['id']}"
        # Enabled with the env it was shown: the job it fires has the stored value.
        response = await app.client.patch(url, json={"enabled": True, "env": schedule["env"]})
        assert response.status_code == 200, response.text
        firing = (await wait_for_firings(app, schedule["id"], 1))[0]
        await app.client.patch(url, json={"enabled": False})
        assert firing["outcome"] == "fired", firing
        async with app.uow() as uow:
            assert (await uow.jobs.get(firing["job_id"])).env == {"TOKEN": SECRET}
        job = (await app.client.get(f"/api/jobs/{firing['job_id']}")).json()
        assert job["env"] == {"TOKEN": "****"}
