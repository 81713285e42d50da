"""``ScheduleService`` on in-memory fakes: next_run_at from now, refusals that change
nothing, preview, history pages, overrides of secret variables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scripter.domain.errors import InvalidInput, NotFound
from scripter.domain.images import Image, ImageStatus
from scripter.domain.schedules import FiringOutcome, MisfirePolicy, OverlapPolicy, ScheduleFiring
from scripter.domain.scripts import EnvVar, Script
from scripter.services.schedules import SchedulePatch, ScheduleService, ScheduleSettings
from tests.unit.fakes import FakeStore, FixedClock

T0 = datetime(2030, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)


class Setup:
    def __init__(self) -> None:
        self.clock = FixedClock(T0)
        self.store = FakeStore(self.clock)
        self.woken = 0
        self.service = ScheduleService(
            uow=self.store.uow,
            clock=self.clock,
            settings=ScheduleSettings(default_timezone="Europe/Berlin", upcoming=3),
            on_change=self.wake,
        )

    def wake(self) -> None:
        self.woken += 1

    async def script(self, env: list[EnvVar] | None = None) -> int:
        async with self.store.uow() as uow:
            image = await uow.images.add(
                Image(name="base", status=ImageStatus.BUILT, created_at=T0, updated_at=T0)
            )
            script = await uow.scripts.add(
                Script(
                    name="job",
                    image_id=image.require_id,
                    env=env or [],
                    created_at=T0,
                    updated_at=T0,
                )
            )
            await uow.commit()
        return script.require_id

    def snapshot(self) -> str:
        """Everything stored, by value (entities compare by identity)."""
        return repr((self.store.tables, self.store.outbox, self.store.commits))


@pytest.fixture
async def setup() -> Setup:
    return Setup()


async def test_create_computes_next_run_from_now_and_wakes_the_scheduler(setup: Setup):
    script_id = await setup.script()
    detail = await setup.service.create(script_id, cron="  */15  * * * *")
    schedule = detail.schedule
    assert schedule.cron == "*/15 * * * *"
    assert schedule.timezone == "Europe/Berlin"  # the configured default
    assert (schedule.misfire_policy, schedule.overlap_policy) == (
        MisfirePolicy.SKIP,
        OverlapPolicy.ALLOW,
    )
    assert schedule.args is None and schedule.env == {}
    assert schedule.next_run_at == datetime(2030, 1, 1, 12, 15, tzinfo=UTC)
    assert detail.upcoming == [
        datetime(2030, 1, 1, 12, 15, tzinfo=UTC),
        datetime(2030, 1, 1, 12, 30, tzinfo=UTC),
        datetime(2030, 1, 1, 12, 45, tzinfo=UTC),
    ]
    assert detail.description is not None
    assert setup.woken == 1
    assert [d.schedule.id for d in await setup.service.list_for_script(script_id)] == [schedule.id]


async def test_a_disabled_schedule_has_no_next_run(setup: Setup):
    script_id = await setup.script()
    detail = await setup.service.create(script_id, cron="0 3 * * *", enabled=False)
    assert detail.schedule.next_run_at is None and detail.upcoming == []


async def test_disabling_clears_and_enabling_recomputes_from_now(setup: Setup):
    script_id = await setup.script()
    schedule_id = (await setup.service.create(script_id, cron="* * * * *")).schedule.require_id
    off = await setup.service.update(schedule_id, SchedulePatch(enabled=False))
    assert off.schedule.next_run_at is None
    setup.clock.advance(hours=2)
    on = await setup.service.update(schedule_id, SchedulePatch(enabled=True))
    assert on.schedule.next_run_at == datetime(2030, 1, 1, 14, 1, tzinfo=UTC)
    assert setup.woken == 3


async def test_a_new_expression_or_timezone_recomputes_other_changes_keep_it(setup: Setup):
    script_id = await setup.script()
    schedule_id = (
        await setup.service.create(script_id, cron="0 3 * * *", timezone="UTC")
    ).schedule.require_id
    setup.clock.advance(minutes=30)
    tz = await setup.service.update(schedule_id, SchedulePatch(timezone="Europe/Berlin"))
    assert tz.schedule.next_run_at == datetime(2030, 1, 2, 2, 0, tzinfo=UTC)  # 03:00 CET
    kept = await setup.service.update(
        schedule_id,
        SchedulePatch(
            args=["--a"], env={"X": "1"}, misfire_policy="run_once", overlap_policy="skip"
        ),
    )
    assert kept.schedule.next_run_at == tz.schedule.next_run_at
    assert kept.schedule.args == ["--a"] and kept.schedule.env == {"X": "1"}
    assert kept.schedule.misfire_policy == MisfirePolicy.RUN_ONCE
    cron = await setup.service.update(schedule_id, SchedulePatch(cron="@hourly"))
    assert cron.schedule.cron == "0 * * * *"
    assert cron.schedule.next_run_at == datetime(2030, 1, 1, 13, 0, tzinfo=UTC)


async def test_an_update_that_changes_nothing_commits_nothing(setup: Setup):
    script_id = await setup.script()
    schedule_id = (await setup.service.create(script_id, cron="0 3 * * *")).schedule.require_id
    before = setup.snapshot()
    await setup.service.update(schedule_id, SchedulePatch(cron="0 3 * * *", enabled=True))
    assert setup.snapshot() == before


async def test_an_update_retries_when_the_scheduler_claimed_in_between(setup: Setup):
    script_id = await setup.script()
    schedule_id = (await setup.service.create(script_id, cron="* * * * *")).schedule.require_id
    store = setup.store
    claimed = False
    real_uow = store.uow

    def racing_uow(**kwargs: Any) -> Any:
        uow = real_uow(**kwargs)
        real_get = uow.schedules.get

        async def get_then_claim(schedule_id: int) -> Any:
            nonlocal claimed
            schedule = await real_get(schedule_id)
            if not claimed:  # a scheduler commits a claim right after our read
                claimed = True
                row = store.tables["schedules"][schedule_id]
                row.next_run_at += timedelta(minutes=1)
                row.version += 1
            return schedule

        uow.schedules.get = get_then_claim  # type: ignore[method-assign]
        return uow

    service = ScheduleService(uow=racing_uow, clock=setup.clock)
    detail = await service.update(schedule_id, SchedulePatch(env={"A": "b"}))
    assert claimed and detail.schedule.env == {"A": "b"}
    assert detail.schedule.next_run_at == datetime(2030, 1, 1, 12, 2, tzinfo=UTC)


async def test_delete_removes_it_and_its_history(setup: Setup):
    script_id = await setup.script()
    schedule_id = (await setup.service.create(script_id, cron="* * * * *")).schedule.require_id
    await setup.service.delete(schedule_id)
    with pytest.raises(NotFound):
        await setup.service.get(schedule_id)
    with pytest.raises(NotFound):
        await setup.service.delete(schedule_id)


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"cron": "* * *"}, "cron", "cron has 3 fields"),
        ({"cron": "0 25 * * *"}, "cron", "the hour field '25'"),
        ({"cron": "0 0 31 2 *"}, "cron", "never fires"),
        ({"cron": "* * * * *", "timezone": "Europe/Atlantis"}, "timezone", "unknown timezone"),
        ({"cron": "* * * * *", "misfire_policy": "later"}, "misfire_policy", "skip or run_once"),
        ({"cron": "* * * * *", "overlap_policy": "queue"}, "overlap_policy", "allow, skip"),
        ({"cron": "* * * * *", "env": {"1X": "v"}}, "env.1X", "not a variable name"),
        ({"cron": "* * * * *", "args": ["a\x00"]}, "args[0]", "NUL"),
    ],
)
async def test_refusals_name_the_field_and_change_nothing(
    setup: Setup, values: dict[str, Any], field: str, says: str
):
    script_id = await setup.script()
    schedule_id = (await setup.service.create(script_id, cron="0 3 * * *")).schedule.require_id
    before, woken = setup.snapshot(), setup.woken
    with pytest.raises(InvalidInput) as created:
        await setup.service.create(script_id, **values)
    patch = SchedulePatch(**values)
    with pytest.raises(InvalidInput) as updated:
        await setup.service.update(schedule_id, patch)
    for refusal in (created.value, updated.value):
        assert refusal.field == field and says in refusal.message
    assert setup.snapshot() == before and setup.woken == woken


async def test_a_schedule_of_a_missing_script_is_not_found(setup: Setup):
    before = setup.snapshot()
    with pytest.raises(NotFound):
        await setup.service.create(42, cron="* * * * *")
    with pytest.raises(NotFound):
        await setup.service.list_for_script(42)
    assert setup.snapshot() == before


def test_preview_counts_from_now_or_after_in_the_given_timezone():
    setup = Setup()
    preview = setup.service.preview("30 2 * * *", count=3)
    assert preview.timezone == "Europe/Berlin"
    assert preview.fire_times == [
        datetime(2030, 1, 2, 1, 30, tzinfo=UTC),
        datetime(2030, 1, 3, 1, 30, tzinfo=UTC),
        datetime(2030, 1, 4, 1, 30, tzinfo=UTC),
    ]
    fall = setup.service.preview(
        "30 2 * * *", "Europe/Berlin", count=3, after=datetime(2026, 10, 24, 12, tzinfo=UTC)
    )
    assert fall.fire_times == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]
    naive_is_utc = setup.service.preview("0 0 * * *", "UTC", count=1, after=datetime(2030, 5, 1))
    assert naive_is_utc.fire_times == [datetime(2030, 5, 2, tzinfo=UTC)]
    assert len(setup.service.preview("* * * * * *", "UTC", count=100).fire_times) == 100
    for count in (0, 101):
        with pytest.raises(InvalidInput) as refused:
            setup.service.preview("* * * * *", "UTC", count=count)
        assert refused.value.field == "count"


async def test_upcoming_lists_next_runs_of_all_scripts_with_their_names(setup: Setup):
    job_id = await setup.script()
    async with setup.store.uow() as uow:
        job = await uow.scripts.get(job_id)
        other = await uow.scripts.add(
            Script(name="report", image_id=job.image_id, created_at=T0, updated_at=T0)
        )
        await uow.commit()
    hourly = await setup.service.create(job_id, cron="0 * * * *", timezone="UTC")
    quarterly = await setup.service.create(other.require_id, cron="*/15 * * * *")
    await setup.service.create(job_id, cron="* * * * *", enabled=False)
    before = setup.snapshot()

    runs = await setup.service.upcoming()
    assert [(r.script_name, r.schedule.id, r.schedule.next_run_at) for r in runs] == [
        ("report", quarterly.schedule.id, datetime(2030, 1, 1, 12, 15, tzinfo=UTC)),
        ("job", hourly.schedule.id, datetime(2030, 1, 1, 13, tzinfo=UTC)),
    ]
    assert [r.script_name for r in await setup.service.upcoming(limit=1)] == ["report"]
    assert len(await setup.service.upcoming(limit=100)) == 2
    for limit in (0, 101):
        with pytest.raises(InvalidInput) as refused:
            await setup.service.upcoming(limit=limit)
        assert refused.value.field == "limit"
    assert setup.snapshot() == before


async def test_history_pages_newest_first(setup: Setup):
    script_id = await setup.script()
    schedule_id = (await setup.service.create(script_id, cron="* * * * *")).schedule.require_id
    async with setup.store.uow() as uow:
        for minute in range(5):
            await uow.schedules.add_firing(
                ScheduleFiring(
                    schedule_id=schedule_id,
                    fire_time=T0 + timedelta(minutes=minute),
                    outcome=FiringOutcome.SKIPPED if minute == 2 else FiringOutcome.FIRED,
                    reason="overlap" if minute == 2 else None,
                    recorded_at=T0 + timedelta(minutes=minute, seconds=1),
                )
            )
        await uow.commit()
    first, cursor = await setup.service.history(schedule_id, limit=2)
    assert [f.fire_time.minute for f in first] == [4, 3]
    assert cursor == first[-1].fire_time
    second, cursor = await setup.service.history(schedule_id, before=cursor, limit=2)
    assert [(f.fire_time.minute, f.outcome) for f in second] == [
        (2, FiringOutcome.SKIPPED),
        (1, FiringOutcome.FIRED),
    ]
    last, cursor = await setup.service.history(schedule_id, before=cursor, limit=2)
    assert [f.fire_time.minute for f in last] == [0] and cursor is None
    with pytest.raises(NotFound):
        await setup.service.history(999)


SECRET_ENV = [
    EnvVar(name="TOKEN", value="script-secret", secret=True),
    EnvVar(name="MODE", value="x"),
]


async def stored_env(setup: Setup, schedule_id: int) -> dict[str, str]:
    async with setup.store.uow() as uow:
        return (await uow.schedules.get(schedule_id)).env


async def test_overrides_of_secret_variables_are_shown_as_none_everywhere(setup: Setup):
    script_id = await setup.script(SECRET_ENV)
    created = await setup.service.create(
        script_id, cron="* * * * *", env={"TOKEN": "schedule-secret", "MODE": "slow", "X": "1"}
    )
    schedule_id = created.schedule.require_id
    shown = {"TOKEN": None, "MODE": "slow", "X": "1"}
    assert created.secret_names == frozenset({"TOKEN"})
    assert created.shown_env() == shown
    assert (await setup.service.get(schedule_id)).shown_env() == shown
    assert [d.shown_env() for d in await setup.service.list_for_script(script_id)] == [shown]
    updated = await setup.service.update(schedule_id, SchedulePatch(enabled=False))
    assert updated.shown_env() == shown
    # The service's callers still run with the real value.
    assert await stored_env(setup, schedule_id) == {
        "TOKEN": "schedule-secret",
        "MODE": "slow",
        "X": "1",
    }


async def test_a_variable_marked_secret_after_the_schedule_was_saved_is_hidden(setup: Setup):
    script_id = await setup.script([EnvVar(name="TOKEN", value="v")])
    schedule_id = (
        await setup.service.create(script_id, cron="* * * * *", env={"TOKEN": "plain"})
    ).schedule.require_id
    assert (await setup.service.get(schedule_id)).shown_env() == {"TOKEN": "plain"}
    async with setup.store.uow() as uow:
        script = await uow.scripts.get(script_id)
        script.env = [EnvVar(name="TOKEN", value="v", secret=True)]
        await uow.scripts.update(script)
        await uow.commit()
    assert (await setup.service.get(schedule_id)).shown_env() == {"TOKEN": None}


async def test_sending_back_what_was_shown_keeps_the_secret_and_commits_nothing(setup: Setup):
    script_id = await setup.script(SECRET_ENV)
    detail = await setup.service.create(
        script_id, cron="* * * * *", env={"TOKEN": "schedule-secret", "MODE": "slow"}
    )
    schedule_id = detail.schedule.require_id
    before, woken = setup.snapshot(), setup.woken
    again = await setup.service.update(schedule_id, SchedulePatch(env=detail.shown_env()))
    assert again.shown_env() == {"TOKEN": None, "MODE": "slow"}
    assert setup.snapshot() == before and setup.woken == woken
    # None keeps the stored value while other overrides change, or go.
    await setup.service.update(schedule_id, SchedulePatch(env={"TOKEN": None, "NEW": "n"}))
    assert await stored_env(setup, schedule_id) == {"TOKEN": "schedule-secret", "NEW": "n"}
    # A value replaces it; leaving the name out removes it.
    await setup.service.update(schedule_id, SchedulePatch(env={"TOKEN": "rotated"}))
    assert await stored_env(setup, schedule_id) == {"TOKEN": "rotated"}
    await setup.service.update(schedule_id, SchedulePatch(env={}))
    assert await stored_env(setup, schedule_id) == {}


async def test_none_without_a_stored_value_is_refused_and_changes_nothing(setup: Setup):
    script_id = await setup.script(SECRET_ENV)
    schedule_id = (
        await setup.service.create(script_id, cron="0 3 * * *", env={"MODE": "slow"})
    ).schedule.require_id
    before, woken = setup.snapshot(), setup.woken
    with pytest.raises(InvalidInput) as created:
        await setup.service.create(script_id, cron="0 3 * * *", env={"TOKEN": None})
    with pytest.raises(InvalidInput) as updated:
        await setup.service.update(
            schedule_id, SchedulePatch(cron="0 4 * * *", env={"MODE": None, "TOKEN": None})
        )
    for refusal in (created.value, updated.value):
        assert refusal.field == "env.TOKEN"
        assert "stores none" in refusal.message and "give a value" in refusal.message
    assert setup.snapshot() == before and setup.woken == woken
