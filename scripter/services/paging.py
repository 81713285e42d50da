"""Cursor paging of small collections that are read whole (images, scripts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from scripter.domain.model import Aggregate

A = TypeVar("A", bound=Aggregate)


def newest_first_page(
    items: Iterable[A], *, before_id: int | None, limit: int
) -> tuple[list[A], int | None]:
    """Items with ids below ``before_id``, newest first, at most ``limit`` of them, and
    the cursor of the next page (None at the end)."""
    newest_first = sorted(
        (i for i in items if before_id is None or i.require_id < before_id),
        key=lambda i: i.require_id,
        reverse=True,
    )
    page = newest_first[:limit]
    more = len(newest_first) > limit
    return page, (page[-1].require_id if more and page else None)
