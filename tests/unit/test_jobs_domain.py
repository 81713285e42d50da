from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scripter.domain.errors import IllegalTransition
from scripter.domain.events import JobCancelRequested, JobFinished, JobStarted
from scripter.domain.jobs import Job, JobStatus

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
        j.request_cancel()


def test_cancel_is_requested_once():
    j = job()
    j.request_cancel()
    j.request_cancel()
    assert [type(e) for e in j.events] == [JobCancelRequested]


def test_final_statuses():
    assert {s for s in JobStatus if s.is_final} == {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.TIMED_OUT,
        JobStatus.CANCELLED,
        JobStatus.LOST,
    }
