"""Shared building blocks of the aggregates."""

from __future__ import annotations

from dataclasses import dataclass, field

from scripter.domain.events import DomainEvent


@dataclass(kw_only=True, eq=False)
class Aggregate:
    """An entity that raises events; the unit of work collects them on commit.

    ``id`` is ``None`` until the repository has inserted the row. ``version`` is
    bumped on every save and checked by the repository (optimistic locking), so
    two workers handling the same redelivered message cannot both win.
    """

    id: int | None = None
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    def raise_event(self, event: DomainEvent) -> None:
        self.events.append(event)

    @property
    def require_id(self) -> int:
        if self.id is None:
            raise RuntimeError(f"{type(self).__name__} has not been saved yet")
        return self.id
