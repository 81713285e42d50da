"""Live logs and live events over real HTTP (uvicorn on 127.0.0.1), with the real file
system and real watchfiles. The log files are written by the test itself, as a
job's container or a build would; jobs and builds end through the real unit of
work, outbox, relay and in-process bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest

from scripter.bootstrap import Role
from scripter.domain.events import WORK_QUEUES
from scripter.domain.jobs import JobStatus
from scripter.services.live_logs import LiveSettings
from tests.conftest import RABBITMQ_URL, require_rabbitmq
from tests.integration.live_fixtures import WAIT, LiveApp, live_app, log_text


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[LiveApp]:
    # A short heartbeat and partial-line hold, so those paths run within the tests.
    settings = LiveSettings(heartbeat_seconds=0.5, hold_partial_line_seconds=0.05)
    async with live_app(tmp_path / "data", {Role.API}, settings=settings) as started:
        yield started


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


async def test_a_finished_jobs_stream_sends_everything_and_end_at_once(app: LiveApp):
    job_id, log = await app.add_job()
    append(log, "first line\nsecond ✓ line\nno newline at the end".encode())
    await app.finish_job(job_id, exit_code=3)
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        events = await stream.until("end")
        assert await stream.next() is None  # closed after end
    assert log_text(events) == log.read_bytes().decode()
    end = events[-1]
    assert end.id == str(log.stat().st_size)
    assert end.json["status"] == "failed" and end.json["exit_code"] == 3
    assert end.json["error"] == "exit code 3" and end.json["duration_seconds"] >= 0
    assert app.tailer.watcher_count == 0  # a finished log needs no watcher


async def test_a_live_stream_follows_then_ends_with_the_jobs_status(app: LiveApp):
    job_id, log = await app.add_job()
    append(log, b"before\n")
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        first = await stream.log_until(7)
        assert log_text(first) == "before\n"
        for i in range(5):
            append(log, f"line {i}\n".encode())
            assert log_text(await stream.log_until(log.stat().st_size)) == f"line {i}\n"
        append(log, b"last words\n")
        await app.finish_job(job_id, exit_code=0)
        rest = await stream.until("end")
    assert log_text(rest) == "last words\n"
    assert rest[-1].json["status"] == "succeeded" and rest[-1].json["exit_code"] == 0
    assert rest[-1].id == str(log.stat().st_size)


async def test_resume_with_last_event_id_has_no_gap_and_no_duplicate(app: LiveApp):
    job_id, log = await app.add_job()
    for i in range(50):
        append(log, f"early {i}\n".encode())
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        seen = await stream.log_until(log.stat().st_size)
    first_part = log_text(seen)
    last_id = seen[-1].id
    assert last_id is not None
    for i in range(50):  # written while no client is connected
        append(log, f"late {i}\n".encode())
    # The browser sends the first URL again (?offset=0) and Last-Event-ID, which wins.
    async with app.sse(
        f"/api/jobs/{job_id}/log/stream?offset=0", headers={"Last-Event-ID": last_id}
    ) as stream:
        append(log, b"after reconnect\n")
        await app.finish_job(job_id)
        resumed = await stream.until("end")
    assert first_part + log_text(resumed) == log.read_bytes().decode()
    offsets = [int(e.id or 0) for e in seen + resumed]
    assert offsets == sorted(offsets) and len(set(offsets[:-1])) == len(offsets) - 1


async def test_offset_query_starts_mid_file(app: LiveApp):
    job_id, log = await app.add_job()
    append(log, b"0123456789\nabc\n")
    await app.finish_job(job_id)
    async with app.sse(f"/api/jobs/{job_id}/log/stream?offset=11") as stream:
        events = await stream.until("end")
    assert log_text(events) == "abc\n" and events[0].id == "15"


async def test_a_utf8_character_split_across_writes_arrives_whole(app: LiveApp):
    job_id, log = await app.add_job()
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        # "é" is C3 A9. The partial line is sent after the hold, but not its first byte.
        append(log, b"caf\xc3")
        first = await stream.next()
        assert first is not None and (first.text, first.id) == ("caf", "3")
        append(log, b"\xa9\n")
        second = await stream.next()
        assert second is not None and (second.text, second.id) == ("é\n", "6")
        # A four-byte character in three writes, with pauses longer than the hold.
        emoji = "🙂".encode()
        for part in (emoji[:1], emoji[1:3], emoji[3:] + b"!\n"):
            append(log, part)
            await asyncio.sleep(0.2)
        third = await stream.next()
        assert third is not None and (third.text, third.id) == ("🙂!\n", "12")
        await app.finish_job(job_id)
        assert (await stream.until("end"))[-1].id == "12"


async def test_disconnect_releases_the_watcher(app: LiveApp):
    job_id, log = await app.add_job()
    append(log, b"hello\n")
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        await stream.log_until(6)
        assert app.tailer.watcher_count == 1
        assert app.scripter.live_logs.end_watch_count == 1
    await app.until(lambda: app.tailer.watcher_count == 0, "the watcher is released")
    await app.until(lambda: app.scripter.live_logs.end_watch_count == 0, "end watch released")


async def test_a_client_gone_while_the_server_waits_on_its_socket_releases_it(app: LiveApp):
    """The stream is blocked in a send (the client stopped reading), not waiting for
    the file, when the client goes away."""
    job_id, log = await app.add_job()
    line = b"x" * 999 + b"\n"
    with log.open("ab") as handle:
        for _ in range(20_000):  # 20 MB: more than the socket buffers hold
            handle.write(line)
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        await stream.next()
        await asyncio.sleep(0.5)  # the server fills the socket and waits on it
        assert app.tailer.watcher_count == 1
    await app.until(lambda: app.tailer.watcher_count == 0, "the watcher is released")


async def test_many_clients_on_one_file_share_one_watcher(app: LiveApp):
    job_id, log = await app.add_job()
    other_job, other_log = await app.add_job()  # another script: another folder
    async with (
        app.sse(f"/api/jobs/{other_job}/log/stream") as other,
        app.sse(f"/api/jobs/{job_id}/log/stream") as s1,
        app.sse(f"/api/jobs/{job_id}/log/stream") as s2,
        app.sse(f"/api/jobs/{job_id}/log/stream") as s3,
        app.sse(f"/api/jobs/{job_id}/log/stream") as s4,
        app.sse(f"/api/jobs/{job_id}/log/stream") as s5,
    ):
        streams = [s1, s2, s3, s4, s5]
        append(log, b"ready\n")
        for stream in streams:
            await stream.log_until(6)
        assert app.tailer.watcher_count == 2  # one per folder, not one per client
        for i in range(20):
            append(log, f"line {i}\n".encode())
        await app.finish_job(job_id)
        received = [log_text(await s.until("end")) for s in streams]
        append(other_log, b"other\n")
        assert log_text(await other.log_until(6)) == "other\n"
    assert received == [log.read_bytes().decode()[6:]] * 5
    await app.until(lambda: app.tailer.watcher_count == 0, "the watchers are released")


async def test_a_slow_client_does_not_hold_up_a_fast_one(app: LiveApp):
    job_id, log = await app.add_job()
    async with (
        app.sse(f"/api/jobs/{job_id}/log/stream") as slow,
        app.sse(f"/api/jobs/{job_id}/log/stream") as fast,
    ):
        line = b"y" * 499 + b"\n"
        with log.open("ab") as handle:
            for _ in range(40_000):  # 20 MB, while the slow client reads nothing
                handle.write(line)
        await app.finish_job(job_id)
        fast_events = await fast.until("end")
        assert len(log_text(fast_events)) == 20_000_000
        # Only now does the slow one start reading: it still gets every byte.
        slow_events = await slow.until("end")
    assert log_text(slow_events) == log_text(fast_events)
    assert slow_events[-1].json == fast_events[-1].json


async def test_a_rebuild_truncating_the_build_log_resets_the_stream(app: LiveApp):
    image_id, log = await app.add_building_image()
    append(log, b"Step 1/2 : FROM base\nStep 2/2 : RUN true\n")
    async with app.sse(f"/api/images/{image_id}/build-log/stream") as stream:
        await stream.log_until(log.stat().st_size)
        log.write_bytes(b"Step 1/1\n")  # truncated and rewritten, as a new build does
        events = await stream.until("reset")
        assert events[-1].id == "0"
        assert log_text(await stream.log_until(9)) == "Step 1/1\n"
        append(log, b"Built\n")
        await app.finish_build(image_id)
        tail = await stream.until("end")
    assert log_text(tail) == "Built\n"
    assert tail[-1].json == {"status": "built", "error": None}


async def test_a_failed_build_ends_with_its_error(app: LiveApp):
    image_id, log = await app.add_building_image()
    async with app.sse(f"/api/images/{image_id}/build-log/stream") as stream:
        append(log, b"Step 1/1 : RUN false\n")
        await stream.log_until(log.stat().st_size)
        await app.finish_build(image_id, error="The command returned a non-zero code: 1")
        end = (await stream.until("end"))[-1]
    assert end.json == {"status": "failed", "error": "The command returned a non-zero code: 1"}


async def test_a_queued_jobs_stream_waits_for_its_log(app: LiveApp):
    job_id, log = await app.add_job(JobStatus.QUEUED)
    assert not log.parent.exists()
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        log.parent.mkdir(parents=True)  # as the worker does when the job starts
        append(log, b"started\n")
        assert log_text(await stream.log_until(8)) == "started\n"


async def test_idle_streams_get_heartbeats(app: LiveApp):
    job_id, _ = await app.add_job()
    async with app.sse(f"/api/jobs/{job_id}/log/stream") as stream:
        reading = asyncio.create_task(stream.next())
        try:
            await app.until(lambda: stream.comments.count("ping") >= 2, "two heartbeats")
            assert not reading.done()  # comments only, no event
        finally:
            reading.cancel()


async def test_bad_requests(app: LiveApp):
    job_id, _ = await app.add_job()
    async with app.client() as client:
        missing = await client.get("/api/jobs/999999/log/stream")
        assert missing.status_code == 404
        bad = await client.get(
            f"/api/jobs/{job_id}/log/stream", headers={"Last-Event-ID": "twelve"}
        )
        assert bad.status_code == 422 and bad.json()["field"] == "Last-Event-ID"
        negative = await client.get(f"/api/jobs/{job_id}/log/stream?offset=-1")
        assert negative.status_code == 400
        assert (await client.get("/api/images/999999/build-log/stream")).status_code == 404


async def test_streams_end_when_the_server_stops(tmp_path: Path):
    async with live_app(tmp_path / "data", {Role.API}) as app:
        job_id, log = await app.add_job()
        append(log, b"running\n")
        async with (
            app.sse(f"/api/jobs/{job_id}/log/stream") as logs,
            app.sse("/api/events/stream") as events,
        ):
            await logs.log_until(8)
            app.server.should_exit = True  # as on SIGINT / SIGTERM
            async with asyncio.timeout(WAIT):
                assert await logs.next() is None  # closed, without an end event
                assert await events.next() is None


async def test_the_events_stream_delivers_domain_events(app: LiveApp):
    async with app.sse("/api/events/stream") as stream:
        await app.until(lambda: app.scripter.live_feed.subscriber_count == 1, "subscribed")
        job_id, _ = await app.add_job()
        await app.finish_job(job_id, exit_code=0)
        events = await stream.until("job.finished")
    by_type = {e.event: e.json for e in events}
    assert by_type["job.started"]["job_id"] == job_id
    finished = by_type["job.finished"]
    assert (finished["type"], finished["job_id"], finished["status"]) == (
        "job.finished",
        job_id,
        "succeeded",
    )
    assert all(e.id for e in events)
    await app.until(lambda: app.scripter.live_feed.subscriber_count == 0, "unsubscribed")


async def test_a_reconnecting_events_client_is_told_to_resync(app: LiveApp):
    async with app.sse("/api/events/stream", headers={"Last-Event-ID": "abc"}) as stream:
        first = await stream.next()
    assert first is not None and first.event == "resync"


@pytest.mark.rabbitmq
async def test_the_events_stream_works_on_rabbitmq(tmp_path: Path):
    require_rabbitmq()
    prefix = f"test-{uuid.uuid4().hex}."
    try:
        async with (
            live_app(
                tmp_path / "data",
                {Role.API},
                SCRIPTER_BROKER_URL=RABBITMQ_URL,
                SCRIPTER_BROKER_EXCHANGE=f"{prefix}events",
                SCRIPTER_BROKER_QUEUE_PREFIX=prefix,
            ) as app,
            app.sse("/api/events/stream") as stream,
        ):
            await app.until(lambda: app.scripter.live_feed.subscriber_count == 1, "subscribed")
            # The bus starts in the background: publish once it is connected.
            async with asyncio.timeout(WAIT):
                while not await broker_answers(app):
                    await asyncio.sleep(0.05)
            job_id, _ = await app.add_job()
            await app.finish_job(job_id)
            events = await stream.until("job.finished")
        assert [e.json["job_id"] for e in events if e.event.startswith("job.")] == [
            job_id,
            job_id,
        ]
    finally:
        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            for queue in WORK_QUEUES:
                await channel.queue_delete(prefix + queue.name)
            await channel.exchange_delete(f"{prefix}events")


async def broker_answers(app: LiveApp) -> bool:
    try:
        await app.scripter.bus.ping()
    except Exception:
        return False
    return True
