"""Keeping source files in step with the database: a change of files is written after
the database changes are flushed and before the commit; if the block fails (so nothing
was committed), the files are put back as they were."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import PurePosixPath

from scripter.domain.errors import InvalidInput, NotFound
from scripter.domain.ports import FileStore, SourceArea

log = logging.getLogger(__name__)


async def replace_all(
    store: FileStore,
    area: SourceArea,
    owner_id: int,
    before: Mapping[PurePosixPath, bytes | None],
    files: Mapping[str, bytes],
) -> None:
    """Make the owner's ``src/`` hold exactly ``files``, given what it held (``before``,
    as ``restoring`` read it)."""
    wanted = {PurePosixPath(p): content for p, content in files.items()}
    # Deletions first: a path that was a folder may become a file, or the reverse.
    for path in sorted(p for p, old in before.items() if old is not None and p not in wanted):
        await store.delete_file(area, owner_id, path)
    for path, content in wanted.items():
        if before.get(path) != content:
            await store.write_file(area, owner_id, path, content)


@contextlib.asynccontextmanager
async def restoring(
    store: FileStore, area: SourceArea, owner_id: int, paths: Iterable[PurePosixPath]
) -> AsyncIterator[dict[PurePosixPath, bytes | None]]:
    """Read the files at ``paths`` (None for a missing one) and yield them; if the
    block fails (so nothing was committed), put every one of them back as it was."""
    before: dict[PurePosixPath, bytes | None] = {}
    for path in paths:
        try:
            before[path] = await store.read_file(area, owner_id, path)
        except NotFound:
            before[path] = None
    try:
        yield before
    except BaseException:
        try:
            # Removals first, so that a folder can become a file again.
            for path in (p for p, content in before.items() if content is None):
                with contextlib.suppress(NotFound, InvalidInput):
                    await store.delete_file(area, owner_id, path)
            for path, content in before.items():
                if content is not None:
                    await store.write_file(area, owner_id, path, content)
        except Exception:
            log.exception("the files of %s %s could not be put back", area, owner_id)
        raise
