"""Cron expressions and their fire times in an IANA timezone, across daylight saving.

An expression has 5 fields (minute hour day-of-month month day-of-week) or 6 with a
leading seconds field; the aliases ``@yearly``, ``@monthly``, ``@weekly``,
``@daily`` and ``@hourly`` stand for their usual 5 fields. Fire times are computed
with ``cronsim`` and returned as aware UTC datetimes, strictly increasing.

Daylight saving (documented in docs/scheduling.md), as cronie does it:

- **Fixed-time expressions** (minute and hour fields do not start with ``*``, e.g.
  ``30 2 * * *`` or ``0 30 2 * * *``) follow the wall clock. A local time that
  does not exist (skipped by spring-forward) fires once, at the first instant after
  the gap (02:30 in Europe/Berlin on 2026-03-29 fires at 03:00 CEST). A local time
  that happens twice (fall-back) fires once, at its first occurrence (02:30 CEST
  on 2026-10-25, not again at 02:30 CET). Several local times that fall into the
  same gap fire once.
- **Interval expressions** (minute or hour starts with ``*``, e.g. ``*/15 * * * *``
  or ``0 * * * *``) follow real time: they fire at every real instant whose local
  time matches, so the repeated hour of fall-back fires again (those are different
  instants) and the skipped hour of spring-forward has no instants to fire at.

No instant is ever returned twice, whichever the mode.
"""

from __future__ import annotations

import functools
import itertools
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

from scripter.domain.clock import utc
from scripter.domain.errors import InvalidInput

MAX_CRON_LENGTH = 200
MAX_SCAN = 10_000
"""Most fire times counted one by one (e.g. the missed ones after a long downtime)."""

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_FIELDS = ("second", "minute", "hour", "day-of-month", "month", "day-of-week")
_ALLOWED = {
    "second": "0-59",
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31, L or LW",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 or SUN-SAT (0 and 7 are Sunday), with optional L or #n",
}
_FORMS = "a value, a range a-b, a list a,b, a step */n or a-b/n, or *"


@functools.cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA timezone ``name``, or ``InvalidInput(field='timezone')``."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("timezone must be an IANA name such as Europe/Berlin", field="timezone")
    if name not in _known_timezones():
        hint = ""
        matches = [z for z in _known_timezones() if z.lower() == name.strip().lower()]
        if matches:
            hint = f"; did you mean {matches[0]}?"
        raise InvalidInput(
            f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin or UTC{hint}",
            field="timezone",
        )
    return zoneinfo.ZoneInfo(name)


def normalize_cron(expression: str) -> str:
    """The expression with single spaces, aliases expanded; ``InvalidInput`` (field
    ``cron``) names the field at fault and what it allows."""
    if not isinstance(expression, str):
        raise InvalidInput("cron must be a string", field="cron")
    text = " ".join(expression.split())
    if not text:
        raise InvalidInput("cron is empty: give 5 fields (or 6 with seconds first)", field="cron")
    if len(text) > MAX_CRON_LENGTH:
        raise InvalidInput(f"cron is longer than {MAX_CRON_LENGTH} characters", field="cron")
    if text.startswith("@"):
        alias = ALIASES.get(text.lower())
        if alias is None:
            raise InvalidInput(
                f"unknown alias {text!r}: use one of {', '.join(ALIASES)}", field="cron"
            )
        text = alias
    parts = text.split(" ")
    if len(parts) not in (5, 6):
        raise InvalidInput(
            f"cron has {len(parts)} field{'s' if len(parts) != 1 else ''}: give 5 "
            "(minute hour day-of-month month day-of-week) or 6 (a seconds field first)",
            field="cron",
        )
    try:
        CronSim(text, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise InvalidInput(_describe(str(exc), parts), field="cron") from None
    return text


def _valid(text: str) -> bool:
    try:
        CronSim(text, datetime(2000, 1, 1))
    except CronSimError:
        return False
    return True


def _describe(message: str, parts: list[str]) -> str:
    """cronsim says "Bad hour": say which part and what the field allows."""
    named = dict(zip(_FIELDS[-len(parts) :], parts, strict=True))
    for name in _FIELDS:
        if message == f"Bad {name}" and name in named:
            if name == "day-of-month" and _valid(f"0 0 {named[name]} * *"):
                return f"cron never fires: no month {named['month']!r} has a day {named[name]!r}"
            return (
                f"the {name} field {named[name]!r} is not valid: use {_ALLOWED[name]} as {_FORMS}"
            )
    return f"cron is not valid: {message}"


_NEXT_MEMO = 64
"""``next_after`` answers kept per ``CronSchedule`` (a bound on its memory)."""


class CronSchedule:
    """An expression in a timezone: its fire times after any instant. Construction
    validates both (``InvalidInput`` with field ``cron`` or ``timezone``)."""

    def __init__(self, cron: str, timezone: str) -> None:
        self.cron = normalize_cron(cron)
        self.timezone = timezone
        self.zone = parse_timezone(timezone)
        fields = self.cron.split(" ")
        minute, hour = fields[-5], fields[-4]
        self.follows_wall_clock = not minute.startswith("*") and not hour.startswith("*")
        """Fixed-time (cronie's rule): a DST gap fires once after it, a repeat once."""
        self._next: dict[datetime, datetime | None] = {}
        """``next_after`` answers: a scheduler asks the same of every schedule that
        shares this expression and fire time (thousands due in the same second)."""

    def __repr__(self) -> str:
        return f"CronSchedule({self.cron!r}, {self.timezone!r})"

    def describe(self) -> str | None:
        """In words, e.g. "At 02:30 every day" (None if it cannot say)."""
        try:
            return CronSim(self.cron, datetime(2000, 1, 1)).explain()
        except Exception:
            return None

    def times_after(self, instant: datetime) -> Iterator[datetime]:
        """Fire times strictly after ``instant``, as aware UTC datetimes, increasing.
        Ends when the expression never matches again (cronsim gives up after 50
        years without a match)."""
        after = utc(instant)
        last = after
        for fire_time in self._candidates(after):
            if fire_time > last:
                last = fire_time
                yield fire_time

    def next_after(self, instant: datetime) -> datetime | None:
        if instant in self._next:
            return self._next[instant]
        found = next(self.times_after(instant), None)
        if len(self._next) < _NEXT_MEMO:
            self._next[instant] = found
        return found

    def upcoming(self, instant: datetime, count: int) -> list[datetime]:
        return list(itertools.islice(self.times_after(instant), count))

    def last_at_or_before(self, instant: datetime) -> datetime | None:
        """The latest fire time at or before ``instant`` (None if there is none within
        about 50 years). Searches windows of growing size, so a frequent expression
        costs a few steps and a rare one a few more."""
        end = utc(instant)
        window = timedelta(minutes=2)
        while window < timedelta(days=366 * 50):
            found = None
            for count, fire_time in enumerate(self.times_after(end - window)):
                if fire_time > end or count > MAX_SCAN:
                    break
                found = fire_time
            if found is not None:
                return found
            window *= 8
        return None

    def count_between(
        self, first: datetime, last: datetime, limit: int = MAX_SCAN
    ) -> tuple[int, bool]:
        """How many fire times lie in ``[first, last]``, counting at most ``limit``;
        the flag says the count stopped at the limit."""
        start = utc(first) - timedelta(microseconds=1)
        count = 0
        for fire_time in self.times_after(start):
            if fire_time > utc(last):
                return count, False
            count += 1
            if count >= limit:
                return count, True
        return count, False

    def _candidates(self, after: datetime) -> Iterator[datetime]:
        try:
            if self.follows_wall_clock:
                # Iterate naive local wall times and map each to a real instant.
                local = after.astimezone(self.zone).replace(tzinfo=None)
                for wall in CronSim(self.cron, local):
                    yield _resolve(wall, self.zone)
            else:
                # cronsim steps through real time when given an aware start (it keeps
                # its own DST fix-ups for fixed-time 5-field expressions, routed above).
                for aware in CronSim(self.cron, after.astimezone(self.zone)):
                    yield aware.astimezone(UTC)
        except (StopIteration, OverflowError):
            return


def _resolve(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The instant a naive local time stands for: its first occurrence if it happens
    twice, the end of the gap if it does not exist."""
    first = wall.replace(tzinfo=zone, fold=0)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == wall:
        return as_utc
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The first instant after the DST gap that swallowed ``wall``. (PEP 495: in a gap,
    fold=1 reads the time with the offset after the change, so lands before the gap;
    fold=0 with the offset before it, so lands after.)"""
    low = int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    high = int(wall.replace(tzinfo=zone, fold=0).astimezone(UTC).timestamp())
    after_offset = datetime.fromtimestamp(high, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
