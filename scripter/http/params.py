"""Bounds of the numbers a URL carries, so that no number reaches the database or
the file system that they cannot hold.

Without them a path id past SQL INTEGER made SQLite raise ``OverflowError`` (a 500),
and so did a byte offset past what ``seek`` takes. With them such a request is a 400
problem naming the parameter, and the OpenAPI document states the range.
"""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

MAX_ID = 2**31 - 1
"""Ids are SQL ``INTEGER`` (32 bits on MariaDB)."""
MAX_OFFSET = 2**53 - 1
"""A byte offset or count in a log: far beyond any file, and exact in JavaScript."""

Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
"""An id in the path."""
Number = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
"""A revision number in the path."""
OptionalId = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
"""An id in the query (a filter), if given."""
Cursor = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_ID, description="the next_cursor of the last page")
]
LogOffset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)]
LogLimit = Annotated[
    int | None, QueryParameter(ge=1, le=MAX_OFFSET, description="at most this many bytes")
]
