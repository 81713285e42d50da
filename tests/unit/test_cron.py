"""Cron parsing and fire times, across the daylight-saving changes of 2026 in
Europe/Berlin: spring-forward on Sunday 29 March (02:00 CET -> 03:00 CEST, 01:00
UTC) and fall-back on Sunday 25 October (03:00 CEST -> 02:00 CET, 01:00 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scripter.domain.cron import CronSchedule, normalize_cron, parse_timezone
from scripter.domain.errors import InvalidInput

BERLIN = ZoneInfo("Europe/Berlin")


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """A local Berlin time as an aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def local(times: list[datetime]) -> list[str]:
    return [t.astimezone(BERLIN).strftime("%m-%d %H:%M:%S %Z") for t in times]


# --- daily 02:30: once on the day it does not exist, once on the day it repeats ------


@pytest.mark.parametrize("cron", ["30 2 * * *", "0 30 2 * * *"])
def test_daily_time_in_the_spring_gap_fires_once_right_after_the_gap(cron: str):
    schedule = CronSchedule(cron, "Europe/Berlin")
    times = schedule.upcoming(utc(2026, 3, 27), 4)
    assert local(times) == [
        "03-27 02:30:00 CET",
        "03-28 02:30:00 CET",
        "03-29 03:00:00 CEST",  # 02:30 does not exist: the first instant after the gap
        "03-30 02:30:00 CEST",
    ]
    assert times[2] == utc(2026, 3, 29, 1, 0)


@pytest.mark.parametrize("cron", ["30 2 * * *", "0 30 2 * * *"])
def test_daily_time_that_happens_twice_fires_once_at_the_first(cron: str):
    schedule = CronSchedule(cron, "Europe/Berlin")
    times = schedule.upcoming(utc(2026, 10, 23), 4)
    assert local(times) == [
        "10-23 02:30:00 CEST",
        "10-24 02:30:00 CEST",
        "10-25 02:30:00 CEST",  # and not again at 02:30 CET, an hour later
        "10-26 02:30:00 CET",
    ]
    assert times[2] == utc(2026, 10, 25, 0, 30)


def test_starting_inside_the_repeated_hour_does_not_fire_the_repeat():
    # 02:10 CET, the second 02:10 of the day: today's 02:30 already fired (as CEST).
    second_pass = at(2026, 10, 25, 2, 10, fold=1)
    assert second_pass == utc(2026, 10, 25, 1, 10)
    schedule = CronSchedule("30 2 * * *", "Europe/Berlin")
    assert local(schedule.upcoming(second_pass, 1)) == ["10-26 02:30:00 CET"]
    # From between the two occurrences too.
    between = utc(2026, 10, 25, 0, 45)  # 02:45 CEST
    assert local(schedule.upcoming(between, 1)) == ["10-26 02:30:00 CET"]


def test_several_times_in_the_gap_fire_once():
    schedule = CronSchedule("0,30 2 * * *", "Europe/Berlin")
    times = schedule.upcoming(utc(2026, 3, 28, 12), 3)
    assert local(times) == ["03-29 03:00:00 CEST", "03-30 02:00:00 CEST", "03-30 02:30:00 CEST"]


# --- intervals follow real time --------------------------------------------------------


def every_quarter_hour_utc(start: datetime, end: datetime) -> list[datetime]:
    found, t = [], start
    while t <= end:
        found.append(t)
        t += timedelta(minutes=15)
    return found


@pytest.mark.parametrize(
    "day",
    [(2026, 3, 28, 22), (2026, 10, 24, 22)],
    ids=["spring-forward", "fall-back"],
)
def test_every_15_minutes_fires_at_every_real_quarter_hour_once(day: tuple[int, int, int, int]):
    schedule = CronSchedule("*/15 * * * *", "Europe/Berlin")
    start = utc(*day)
    times = schedule.upcoming(start, 6 * 4)
    # Berlin's offsets are whole hours, so each local quarter hour is a UTC one:
    # every real one, none twice, none missing, across the change.
    expected = every_quarter_hour_utc(start + timedelta(minutes=15), start + timedelta(hours=6))
    assert times == expected
    assert len(set(times)) == len(times)


def test_every_15_minutes_in_local_terms():
    schedule = CronSchedule("*/15 * * * *", "Europe/Berlin")
    spring = local(schedule.upcoming(at(2026, 3, 29, 1, 30), 3))
    assert spring == ["03-29 01:45:00 CET", "03-29 03:00:00 CEST", "03-29 03:15:00 CEST"]
    fall = local(schedule.upcoming(at(2026, 10, 25, 2, 30), 3))
    assert fall == ["10-25 02:45:00 CEST", "10-25 02:00:00 CET", "10-25 02:15:00 CET"]


def test_hourly_fires_25_times_on_fall_back_day_and_23_on_spring_day():
    schedule = CronSchedule("0 * * * *", "Europe/Berlin")

    def count(day: int, month: int) -> int:
        start = at(2026, month, day) - timedelta(seconds=1)
        end = at(2026, month, day + 1)
        return len([t for t in schedule.upcoming(start, 30) if t < end])

    assert count(25, 10) == 25
    assert count(29, 3) == 23
    assert count(1, 6) == 24


def test_six_fields_have_seconds():
    schedule = CronSchedule("*/2 * * * * *", "UTC")
    assert schedule.upcoming(utc(2030, 1, 1, 0, 0, 0, 500000), 3) == [
        utc(2030, 1, 1, 0, 0, 2),
        utc(2030, 1, 1, 0, 0, 4),
        utc(2030, 1, 1, 0, 0, 6),
    ]


def test_fire_times_are_strictly_after_the_start():
    schedule = CronSchedule("*/5 * * * *", "UTC")
    assert schedule.next_after(utc(2030, 1, 1, 0, 5)) == utc(2030, 1, 1, 0, 10)
    assert schedule.next_after(utc(2030, 1, 1, 0, 4, 59)) == utc(2030, 1, 1, 0, 5)


def test_other_timezones_and_utc():
    new_york = CronSchedule("30 2 * * *", "America/New_York")
    # US spring-forward 2026: Sunday 8 March, 02:00 EST -> 03:00 EDT (07:00 UTC).
    assert new_york.upcoming(utc(2026, 3, 7, 12), 2) == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]
    plain = CronSchedule("0 12 * * 1-5", "UTC")
    # 2030-01-04 is a Friday.
    assert plain.upcoming(utc(2030, 1, 4, 13), 2) == [utc(2030, 1, 7, 12), utc(2030, 1, 8, 12)]


# --- counting and looking back -----------------------------------------------------------


def test_last_at_or_before_and_count_between():
    schedule = CronSchedule("*/15 * * * *", "UTC")
    assert schedule.last_at_or_before(utc(2030, 1, 1, 10, 14)) == utc(2030, 1, 1, 10, 0)
    assert schedule.last_at_or_before(utc(2030, 1, 1, 10, 15)) == utc(2030, 1, 1, 10, 15)
    assert schedule.count_between(utc(2030, 1, 1), utc(2030, 1, 2)) == (97, False)
    assert schedule.count_between(utc(2030, 1, 1), utc(2030, 1, 2), limit=10) == (10, True)
    yearly = CronSchedule("@yearly", "UTC")
    assert yearly.last_at_or_before(utc(2030, 6, 1)) == utc(2030, 1, 1)
    leap = CronSchedule("0 0 29 2 *", "UTC")
    assert leap.last_at_or_before(utc(2030, 6, 1)) == utc(2028, 2, 29)


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "says"),
    [
        ("", "cron is empty"),
        ("* * *", "cron has 3 fields: give 5"),
        ("* * * * * * *", "cron has 7 fields"),
        ("61 * * * *", "the minute field '61' is not valid: use 0-59"),
        ("* 24 * * *", "the hour field '24' is not valid: use 0-23"),
        ("* * 0 * *", "the day-of-month field '0' is not valid"),
        ("* * * 13 *", "the month field '13' is not valid"),
        ("* * * * 8", "the day-of-week field '8' is not valid"),
        ("60 * * * * *", "the second field '60' is not valid"),
        ("*/0 * * * *", "the minute field '*/0' is not valid"),
        ("0 0 30 2 *", "never fires: no month '2' has a day '30'"),
        ("@reboot", "unknown alias '@reboot'"),
        ("x" * 300, "longer than 200 characters"),
    ],
)
def test_invalid_expressions_name_the_field_and_the_problem(cron: str, says: str):
    with pytest.raises(InvalidInput) as refused:
        CronSchedule(cron, "UTC")
    assert refused.value.field == "cron"
    assert says in refused.value.message


def test_expressions_are_normalised():
    assert normalize_cron("  */5   *  * * *  ") == "*/5 * * * *"
    assert normalize_cron("@daily") == "0 0 * * *"
    assert normalize_cron("@HOURLY") == "0 * * * *"
    assert normalize_cron("0 9 * JAN MON-FRI") == "0 9 * JAN MON-FRI"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("europe/berlin", "did you mean Europe/Berlin?"),
        ("Europe", "unknown timezone"),
        ("../etc/passwd", "unknown timezone"),
        ("", "IANA name"),
    ],
)
def test_unknown_timezones_are_refused(name: str, says: str):
    with pytest.raises(InvalidInput) as refused:
        parse_timezone(name)
    assert refused.value.field == "timezone"
    assert says in refused.value.message
    with pytest.raises(InvalidInput):
        CronSchedule("* * * * *", name)


def test_description_in_words():
    assert CronSchedule("0 30 2 * * *", "UTC").describe() == "At 02:30 every day"
