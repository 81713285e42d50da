"""What every SQL repository shares: statement execution, versioned updates, and the
translation of constraint violations into domain errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from sqlalchemy import Executable, Table, delete, exists, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scripter.domain.errors import ConcurrentUpdate, DomainError, NotFound
from scripter.domain.model import Aggregate

A = TypeVar("A", bound=Aggregate)

Track = Callable[[Aggregate], None]
"""Registers an aggregate with the unit of work, which collects its events on commit."""

# MariaDB error codes (asyncmy puts them first in the exception's args).
_MYSQL_DUPLICATE = {1062, 1586}
_MYSQL_FOREIGN_KEY = {1216, 1217, 1451, 1452}
# SQLite extended result codes (sqlite3 exceptions carry them since Python 3.11).
_SQLITE_UNIQUE = {1555, 2067}  # SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
_SQLITE_FOREIGN_KEY = {787}  # SQLITE_CONSTRAINT_FOREIGNKEY


def is_unique_violation(exc: IntegrityError) -> bool:
    code = _error_code(exc)
    return code in _MYSQL_DUPLICATE or code in _SQLITE_UNIQUE


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    code = _error_code(exc)
    return code in _MYSQL_FOREIGN_KEY or code in _SQLITE_FOREIGN_KEY


def _error_code(exc: IntegrityError) -> int | None:
    original = exc.orig
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code
    args = getattr(original, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def translate(
    exc: IntegrityError,
    *,
    unique: DomainError | None = None,
    foreign_key: DomainError | None = None,
) -> Exception:
    """The domain error for a constraint violation; anything unexpected stays as it is.

    Each table has at most one unique key a caller can break and at most one foreign
    key, so the kind of violation is enough to know which (SQLite names neither).
    Both databases undo only the failed statement: the transaction stays usable.
    """
    if unique is not None and is_unique_violation(exc):
        return unique
    if foreign_key is not None and is_foreign_key_violation(exc):
        return foreign_key
    return exc


class SqlRepository:
    """Core statements on the unit of work's session; no ORM mapping, no lazy loads."""

    table: Table
    noun: str
    """How messages name one row, e.g. "image 42 not found"."""

    def __init__(self, session: AsyncSession, track: Track) -> None:
        self._session = session
        self._track = track

    def _seen(self, aggregate: A) -> A:
        self._track(aggregate)
        return aggregate

    async def _execute(self, statement: Executable) -> CursorResult[Any]:
        return cast(CursorResult[Any], await self._session.execute(statement))

    async def _fetch_one(self, statement: Executable) -> Any:
        return (await self._execute(statement)).mappings().one_or_none()

    async def _fetch_all(self, statement: Executable) -> list[Any]:
        return list((await self._execute(statement)).mappings().all())

    def _not_found(self, row_id: int) -> NotFound:
        return NotFound(f"{self.noun} {row_id} not found")

    async def _get_row(self, row_id: int) -> Any:
        row = await self._fetch_one(select(self.table).where(self.table.c.id == row_id))
        if row is None:
            raise self._not_found(row_id)
        return row

    async def _get_rows(self, row_ids: Iterable[int]) -> list[Any]:
        """The rows of ``row_ids`` that exist, in one statement."""
        ids = sorted(set(row_ids))
        if not ids:
            return []
        return await self._fetch_all(select(self.table).where(self.table.c.id.in_(ids)))

    async def _insert_into(
        self,
        table: Table,
        values: dict[str, Any],
        *,
        unique: DomainError | None = None,
        foreign_key: DomainError | None = None,
    ) -> int:
        try:
            result = await self._execute(insert(table).values(values))
        except IntegrityError as exc:
            raise translate(exc, unique=unique, foreign_key=foreign_key) from exc
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    async def _insert_aggregate(
        self,
        aggregate: Aggregate,
        values: dict[str, Any],
        *,
        unique: DomainError | None = None,
        foreign_key: DomainError | None = None,
    ) -> None:
        aggregate.id = await self._insert_into(
            self.table, {**values, "version": 1}, unique=unique, foreign_key=foreign_key
        )
        aggregate.version = 1
        self._track(aggregate)

    async def _update_aggregate(
        self,
        aggregate: Aggregate,
        values: dict[str, Any],
        *,
        unique: DomainError | None = None,
        foreign_key: DomainError | None = None,
    ) -> None:
        """Optimistic locking: write only if nobody saved since we read, and say so."""
        row_id = aggregate.require_id
        table = self.table
        statement = (
            update(table)
            .where(table.c.id == row_id, table.c.version == aggregate.version)
            .values({**values, "version": aggregate.version + 1})
        )
        try:
            result = await self._execute(statement)
        except IntegrityError as exc:
            raise translate(exc, unique=unique, foreign_key=foreign_key) from exc
        self._track(aggregate)
        if result.rowcount == 0:
            still_there = await self._session.scalar(select(exists().where(table.c.id == row_id)))
            if not still_there:
                raise self._not_found(row_id)
            raise ConcurrentUpdate(
                f"{self.noun} {row_id} was changed by someone else; reload it and try again"
            )
        aggregate.version += 1

    async def _delete(self, row_id: int, *, foreign_key: DomainError | None = None) -> None:
        try:
            result = await self._execute(delete(self.table).where(self.table.c.id == row_id))
        except IntegrityError as exc:
            raise translate(exc, foreign_key=foreign_key) from exc
        if result.rowcount == 0:
            raise self._not_found(row_id)
