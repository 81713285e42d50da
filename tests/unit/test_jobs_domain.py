from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scripter.domain.errors import IllegalTransition
from scripter.domain.events import JobCancelRequested, JobFinished, JobStarted
from scripter.domain.jobs import Job, JobStatus, log_file_name

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job() -> Job:
    return Job(id=3, script_id=1, revision=2, image_id=5, created_at=T0)


def test_run_to_success_records_duration_and_exit_code():
    j = job()
    j.start(T0, container_id="c1")
    j.finish(T0 + timedelta(seconds=2.5), JobStatus.SUCCEEDED, exit_code=0)
    assert j.duration_seconds == 2.5
    started, finished = j.events
    assert isinstance(started, JobStarted)
    assert isinstance(finished, JobFinished)
    assert (finished.status, finished.exit_code, finished.duration_seconds) == ("succeeded", 0, 2.5)


def test_second_start_is_refused_so_redelivery_is_harmless():
    j = job()
    j.start(T0, container_id="c1")
    with pytest.raises(IllegalTransition, match="only a queued job can start"):
        j.start(T0, container_id="c2")
    assert j.container_id == "c1"


def test_a_final_job_cannot_finish_again_or_be_cancelled():
    j = job()
    j.finish(T0, JobStatus.FAILED, exit_code=None, error="image gone")
    with pytest.raises(IllegalTransition):
        j.finish(T0, JobStatus.SUCCEEDED, exit_code=0)
    with pytest.raises(IllegalTransition):
        j.request_cancel(T0)


def test_cancel_of_a_running_job_is_requested_once():
    j = job()
    j.start(T0, container_id="c1")
    j.request_cancel(T0)
    j.request_cancel(T0)
    assert j.status == JobStatus.RUNNING and j.cancel_requested
    assert [type(e) for e in j.events] == [JobStarted, JobCancelRequested]


def test_a_queued_job_cancelled_ends_at_once_and_never_starts():
    j = job()
    j.request_cancel(T0)
    assert j.status == JobStatus.CANCELLED and j.finished_at == T0
    with pytest.raises(IllegalTransition):
        j.start(T0, container_id="c1")


def test_exit_codes_and_oom_decide_the_status():
    ok, bad, oom = job(), job(), job()
    for j in (ok, bad, oom):
        j.start(T0, container_id="c")
    ok.finish_from_exit(T0, 0, oom_killed=False, memory_mb=64)
    bad.finish_from_exit(T0, 3, oom_killed=False, memory_mb=64)
    oom.finish_from_exit(T0, 137, oom_killed=True, memory_mb=64)
    assert (ok.status, bad.status, bad.error) == (
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        "exit code 3",
    )
    assert oom.status == JobStatus.FAILED and oom.oom_killed
    assert oom.error == "killed by the kernel: out of memory (limit of 64 MB)"


def test_log_file_name_follows_the_seed():
    assert log_file_name(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), 42) == (
        "2026-03-04T05-06-07__42.log"
    )


def test_final_statuses():
    assert {s for s in JobStatus if s.is_final} == {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.TIMED_OUT,
        JobStatus.CANCELLED,
        JobStatus.LOST,
    }
