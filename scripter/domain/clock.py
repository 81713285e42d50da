"""Time as a port, so tests control it instead of sleeping through it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


def utc(dt: datetime) -> datetime:
    """Normalise an aware datetime to UTC; naive datetimes are taken to be UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
