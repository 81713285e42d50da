"""Live logs and live events of real jobs in real containers, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.live_fixtures import LiveApp, as_app, live_worker_app, log_text
from tests.integration.test_jobs import add_script, leftover_containers

pytestmark = pytest.mark.docker


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_worker_app(tmp_path) as started:
        yield started


async def test_a_real_job_streams_live_and_the_events_stream_sees_it_start_and_end(
    app: LiveApp,
):
    helper = as_app(app)
    code = (
        "import sys, time\n"
        "for i in range(5):\n"
        "    print(f'tick {i} ✓', flush=True)\n"
        "    time.sleep(0.2)\n"
        "sys.stdout.write('no newline')\n"
        "raise SystemExit(4)\n"
    )
    try:
        script_id = await add_script(helper, code)
    finally:
        await helper.close()
    async with app.sse("/api/events/stream") as events:
        await app.until(lambda: app.scripter.live_feed.subscriber_count == 1, "subscribed")
        async with app.client() as client:
            job = (await client.post(f"/api/scripts/{script_id}/runs")).json()
        async with app.sse(f"/api/jobs/{job['id']}/log/stream") as stream:
            received = await stream.until("end")
        seen = await events.until("job.finished")
    expected = "".join(f"tick {i} ✓\n" for i in range(5)) + "no newline"
    assert log_text(received) == expected
    end = received[-1].json
    assert (end["status"], end["exit_code"], end["error"]) == ("failed", 4, "exit code 4")
    assert end["duration_seconds"] > 0
    mine = [e for e in seen if e.json.get("job_id") == job["id"]]
    assert [e.event for e in mine] == ["job.requested", "job.started", "job.finished"]
    assert mine[-1].json["status"] == "failed" and mine[-1].json["exit_code"] == 4
    # The runner removes the container right after recording the end.
    assert await leftover_containers(helper) == []
